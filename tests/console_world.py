"""Shared by the console tests: the demo organization's last three days (~10,000 events through
the normal ingest path), people who can sign in, an installed app with its token, an operator's
token, anomalies citing real events, a hostile event, and a signed checkpoint.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from conftest import serve_in_thread
from oauth_world import CATALOG, PASSWORD_HASH, recording_change
from trailkeeper import demo
from trailkeeper.config import Settings, load_settings
from trailkeeper.directory import admin, apps, installations, users
from trailkeeper.directory.accounts import App, Installation, User
from trailkeeper.directory.activity import ChangeContext, discard_events
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.events import StoredRow
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.query import LogFilter
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.storage.base import Store
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.web.app import create_app

DAYS = 3
SERVICE = "trailkeeper.local"
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
HOSTILE_ACTOR = "U0HOSTILE"


@dataclass
class ConsoleWorld:
    """The demo organization, its people, app, tokens and anomalies."""

    store: Store
    org_id: str
    owner: User
    admin: User
    member: User
    app: App
    installation: Installation
    app_token: str
    operator_token: str
    operator_token_id: str
    anomaly_ids: list[str]
    trigger_ids: list[str]
    hostile_id: str
    newest: int

    def events(self, **log_filter: Any) -> list[dict[str, Any]]:
        """Decoded events of the organization through the store's own scan, newest first."""
        rows: list[StoredRow] = self.store.scan(self.org_id, LogFilter(**log_filter), None, 10**6)
        return [orjson.loads(r.body) for r in rows]


def _people(store: Store, organization: demo.DemoOrganization) -> dict[str, User]:
    """Everyone of the demo organization; the first owner, admin and member can sign in."""
    change = ChangeContext(None, recording_change(store).origin, discard_events, int(time.time()))
    chosen: dict[str, User] = {}
    for person in organization.users:
        spec = users.UserSpec(person.id, organization.id, person.name, person.email, person.role)
        created = users.create_user(store, spec, change)
        if person.role in ("owner", "admin", "member") and person.role not in chosen:
            chosen[person.role] = replace(created, password_hash=PASSWORD_HASH)
            store.put_user(chosen[person.role])
    return chosen


def _history(store: Store, organization: demo.DemoOrganization, now: int) -> None:
    admin.create_organization(store, organization.id, organization.name, organization.domain)
    for ws in organization.workspaces:
        admin.create_workspace(store, ws.id, organization.id, ws.name, ws.domain)
    events = demo.demo_events(organization, end=now, days=DAYS, seed=7)
    recorder = Recorder(store, CATALOG)
    for start in range(0, len(events), 5000):
        report = recorder.record_many(events[start : start + 5000])
        assert not report.rejected, report.rejected[:1]


def anomaly_event(actor: dict[str, Any], trigger: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """An anomaly in the detector's shape (docs/anomalies.md), citing `ids`."""
    return {
        "action": "anomaly",
        "date_create": trigger["date_create"] + 1,
        "actor": actor,
        "entity": {"type": "user", "user": actor["user"]},
        "context": {
            **trigger["context"],
            "ip_address": "198.18.0.10",
            "ua": "python-requests/2.32",
        },
        "details": {
            "reason": ["excessive_downloads"] if len(ids) > 1 else ["ip_address", "user_agent"],
            "action_timestamp": trigger["date_create"] * 1_000_000,
            "location": "Amsterdam, North Holland",
            "previous_ip_address": trigger["context"].get("ip_address", ""),
            "previous_ua": trigger["context"].get("ua", ""),
            "ip_address_details": ["cloud-asn", "new-asn"],
            "trailkeeper_evidence": {
                "detector": "ExcessiveDownloadsDetector" if len(ids) > 1 else "IpAddressDetector",
                "score": 4.5,
                "baseline": {"daily_mean": 3.2, "threshold": 15},
                "window_s": 3600,
                "event_ids": ids,
            },
        },
    }


def _anomalies(world_store: Store, org_id: str) -> tuple[list[str], list[str]]:
    rows = world_store.scan(org_id, LogFilter(actions=("file_downloaded",)), None, 200)
    downloads = [orjson.loads(r.body) for r in rows]
    by_actor = Counter(d["actor"]["user"]["id"] for d in downloads)
    actor_id = by_actor.most_common(1)[0][0]
    mine = [d for d in downloads if d["actor"]["user"]["id"] == actor_id][:5]
    assert len(mine) == 5
    ids = [d["id"] for d in mine]
    events = [
        anomaly_event(mine[0]["actor"], mine[0], ids),
        anomaly_event(mine[-1]["actor"], mine[-1], ids[-1:]),
    ]
    report = Recorder(world_store, CATALOG).record_many(events)
    assert not report.rejected, report.rejected[:1]
    return list(report.accepted), ids


def _hostile(store: Store, org_id: str, workspace: str, at: int) -> str:
    """An event whose every free-text field carries markup and script."""
    who = {"id": HOSTILE_ACTOR, "name": HOSTILE, "email": "x@example.com", "team": workspace}
    event = {
        "action": "file_downloaded",
        "date_create": at,
        "actor": {"type": "user", "user": who},
        "entity": {"type": "file", "file": {"id": "F0HOSTILE", "name": HOSTILE, "title": HOSTILE}},
        "context": {
            "location": {"type": "workspace", "id": workspace},
            "ua": HOSTILE,
            "ip_address": "203.0.113.66",
            "session_id": 4242,
        },
        "details": {"note": HOSTILE, "javascript": "javascript:alert(1)"},
    }
    return Recorder(store, CATALOG).record(event)


def build_world(store: Store, now: int | None = None) -> ConsoleWorld:
    """The whole world in `store` (about two seconds)."""
    now = int(time.time()) if now is None else now
    organization = demo.demo_organization(7)
    _history(store, organization, now)
    people = _people(store, organization)
    scopes = ([READ_SCOPE], ["users:read"])
    app, _ = apps.create_app(store, "Acme SIEM", ["https://siem.example/oauth"], scopes, now=now)
    change = recording_change(store, people["owner"])
    installed = installations.install(
        store, app, None, (frozenset({READ_SCOPE}), frozenset({"users:read"})), change
    )
    app_token, _ = admin.issue_token(
        store, organization.id, frozenset({READ_SCOPE}), "Acme SIEM", installation_id=installed.id
    )
    operator, record = admin.issue_token(
        store, organization.id, frozenset({READ_SCOPE}), "SIEM collector (operator)"
    )
    anomaly_ids, trigger_ids = _anomalies(store, organization.id)
    hostile = _hostile(store, organization.id, organization.workspaces[0].id, now - 30)
    sign_checkpoint(store, organization.id)
    return ConsoleWorld(
        store, organization.id, people["owner"], people["admin"], people["member"], app,
        installed, app_token, operator, record.id, anomaly_ids, trigger_ids, hostile, now,
    )  # fmt: skip


def sign_checkpoint(store: Store, org_id: str) -> None:
    """A signing key (once) and a checkpoint of the log as it is now."""
    recorder = Recorder(store, CATALOG)
    service = IntegrityService(
        store, SERVICE, record_event=lambda a, o, d: recorder.record(organization_event(a, o, d))
    )
    if not store.signing_keys():
        service.generate_key()
    service.checkpoint(org_id)


def console_settings(path: Path, **overrides: Any) -> Settings:
    return load_settings(
        {},
        data_dir=str(path),
        rate_limit_per_minute=0,
        detect="off",
        checkpoint_interval_s=0,
        **overrides,
    )


@dataclass
class RunningConsole:
    url: str
    world: ConsoleWorld


@contextmanager
def running_console(path: Path, **overrides: Any) -> Iterator[RunningConsole]:
    """A live server over a fresh world (stopped and closed afterwards)."""
    store = SQLiteStore(str(path / "console.db"))
    store.migrate()
    world = build_world(store)
    server, thread, url = serve_in_thread(create_app(console_settings(path, **overrides), store))
    try:
        yield RunningConsole(url, world)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
