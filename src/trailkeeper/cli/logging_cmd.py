"""`trailkeeper logging pause|resume|status`: stopping and restarting an organization's recording.

Each pause and resume is recorded in the organization's own log (`audit_logging_paused`,
`audit_logging_resumed`), so a reader of the log sees when recording stopped and for how long.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import click

from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.errors import NotFound
from trailkeeper.integrity.pauses import RecordEvent, pause_logging, resume_logging
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.storage.base import Store


def _operator() -> tuple[Store, RecordEvent]:
    settings = settings_from_env()
    store = migrated_store(settings)
    recorder = Recorder(store, load_catalog(settings.catalog_extensions))

    def record_event(action: str, org_id: str, details: Mapping[str, Any]) -> object:
        return recorder.record(organization_event(action, org_id, details))

    return store, record_event


def _when(stamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


@click.group("logging")
def logging_group() -> None:
    """Pause and resume recording of an organization's audit events."""


@logging_group.command("pause")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--reason", default="", help="Why (recorded in the log's paused event).")
def logging_pause(org_id: str, reason: str) -> None:
    """Refuse the organization's new events (retryable 503) until `logging resume`."""
    store, record_event = _operator()
    pause = pause_logging(store, record_event, org_id, reason, int(time.time()))
    click.echo(f"{org_id}: recording paused at {_when(pause.paused_at)}")


@logging_group.command("resume")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--reason", default="", help="Why (recorded in the log's resumed event).")
def logging_resume(org_id: str, reason: str) -> None:
    """Accept the organization's events again."""
    store, record_event = _operator()
    now = int(time.time())
    pause = resume_logging(store, record_event, org_id, reason, now)
    click.echo(f"{org_id}: recording resumed after {now - pause.paused_at} s paused")


@logging_group.command("status")
@click.option("--org", "org_id", default=None, help="One organization (default: every one).")
def logging_status(org_id: str | None) -> None:
    """Which organizations are recording and which are paused (since when, why)."""
    store = migrated_store(settings_from_env())
    pauses = store.logging_pauses()
    orgs = [org_id] if org_id else [o.id for o in store.list_organizations()]
    if org_id and store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    for org in orgs:
        pause = pauses.get(org)
        if pause is None:
            click.echo(f"{org}\trecording")
        else:
            click.echo(f"{org}\tpaused since {_when(pause.paused_at)}\t{pause.reason}".rstrip())
