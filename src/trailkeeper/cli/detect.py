"""`trailkeeper anomaly ...`: detection controls, held-back anomalies, the data files, and the
detection worker (for deployments that run it outside the server)."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click
import orjson

from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.detect.controls import LEVELS, REASONS, controls_from_json, update_controls
from trailkeeper.detect.service import build_runner, enrichment_from
from trailkeeper.recorder import Recorder

REASON = click.Choice(REASONS)


@click.group()
def anomaly() -> None:
    """Anomaly detection: controls, shadow mode, data files and the detection worker."""


@anomaly.group()
def controls() -> None:
    """An organization's detection controls (every change is recorded in its log)."""


@controls.command("show")
@click.option("--org", "org_id", required=True, help="Organization id.")
def controls_show(org_id: str) -> None:
    """Print the organization's controls as JSON."""
    store = migrated_store(settings_from_env())
    current = controls_from_json(store.get_detect_controls(org_id))
    click.echo(orjson.dumps(current.to_dict(), option=orjson.OPT_INDENT_2).decode())


def _sensitivities(current: dict[str, str], pairs: tuple[str, ...]) -> dict[str, str]:
    out = dict(current)
    for pair in pairs:
        reason, _, level = pair.partition("=")
        if reason not in REASONS or level not in LEVELS:
            raise click.BadParameter(f"{pair!r}: expected REASON=low|medium|high")
        out[reason] = level
    return out


def _edit(values: list[Any], add: tuple[Any, ...], remove: tuple[Any, ...]) -> list[Any]:
    kept = [v for v in values if v not in remove]
    return kept + [v for v in add if v not in kept]


@controls.command("set")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--mode", type=click.Choice(["on", "shadow", "off"]), help="Detection mode.")
@click.option("--disable", multiple=True, type=REASON, help="Switch a reason off.")
@click.option("--enable", multiple=True, type=REASON, help="Switch a reason back on.")
@click.option("--sensitivity", multiple=True, help="REASON=low|medium|high.")
@click.option("--trust-cidr", multiple=True, help="Add a trusted network.")
@click.option("--untrust-cidr", multiple=True, help="Remove a trusted network.")
@click.option("--trust-asn", multiple=True, type=int, help="Add a trusted AS number.")
@click.option("--untrust-asn", multiple=True, type=int, help="Remove a trusted AS number.")
@click.option("--exempt", multiple=True, help="Exempt a member (user id) from detection.")
@click.option("--include", multiple=True, help="End a member's exemption.")
def controls_set(org_id: str, mode: str | None, **edits: tuple[Any, ...]) -> None:
    """Change the organization's controls; the change is recorded in its audit log."""
    store = migrated_store(settings_from_env())
    current = controls_from_json(store.get_detect_controls(org_id)).to_dict()
    changes: dict[str, Any] = {
        "disabled_reasons": _edit(current["disabled_reasons"], edits["disable"], edits["enable"]),
        "sensitivity": _sensitivities(current["sensitivity"], edits["sensitivity"]),
        "trusted_cidr": _edit(current["trusted_cidr"], edits["trust_cidr"], edits["untrust_cidr"]),
        "trusted_asn": _edit(current["trusted_asn"], edits["trust_asn"], edits["untrust_asn"]),
        "exempt_users": _edit(current["exempt_users"], edits["exempt"], edits["include"]),
    }
    if mode:
        changes["mode"] = mode
    if store.get_organization(org_id) is None:
        raise click.UsageError(f"no organization {org_id}")
    new = update_controls(store, Recorder(store).record_many, org_id, changes)
    click.echo(orjson.dumps(new.to_dict(), option=orjson.OPT_INDENT_2).decode())


@anomaly.command("shadow")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, help="How many.")
def shadow(org_id: str, limit: int) -> None:
    """List anomalies that shadow mode kept out of the log, newest first (JSON lines)."""
    store = migrated_store(settings_from_env())
    for body in store.shadow_anomalies(org_id, limit):
        click.echo(body)


@anomaly.command("data")
def data() -> None:
    """Show the enrichment data files, their age, and staleness warnings."""
    enrichment = enrichment_from(settings_from_env())
    for file in enrichment.files:
        click.echo(f"{file.kind}\t{file.path}\t{file.entries} entries")
    if not enrichment.paths.configured():
        click.echo("no data files configured (TRAILKEEPER_DETECT_* settings)")
    for warning in enrichment.staleness_warnings():
        click.echo(f"warning: {warning}", err=True)


@anomaly.command("run")
def run() -> None:
    """Run detection as a worker over the configured database until interrupted.

    For deployments with `TRAILKEEPER_DETECT=off` on the API servers: run exactly one worker
    per database (it keeps positions and snapshots under the consumer `detect:anomaly`).
    """
    settings = settings_from_env()
    store = migrated_store(settings)
    runner = build_runner(settings, store, Recorder(store))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    runner.start()
    click.echo("detection running; Ctrl-C to stop", err=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()


@anomaly.command("backfill")
@click.option("--org", "org_id", required=True, help="Organization id.")
def backfill(org_id: str) -> None:
    """Run detection over the organization's whole history and record what it finds.

    Anomalies are dated at their triggering events; warm-up applies from the first event.
    Anomaly ids are deterministic, so running it twice records nothing new.
    """
    settings = settings_from_env()
    store = migrated_store(settings)
    consumer = f"detect:backfill:{org_id}"
    runner = build_runner(settings, store, Recorder(store), consumer=consumer, clock=None)
    total = runner.replay(org_id)
    click.echo(f"{org_id}: {total} events examined, {runner.recorded} anomalies recorded")
