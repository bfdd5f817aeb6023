"""`trailkeeper copy` and `trailkeeper retention ...`: moving a store, and keeping it in bounds."""

from __future__ import annotations

import sys
import time

import click

from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.recorder import Recorder
from trailkeeper.retention import enforce, set_policy
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.transfer import CopyReport, copy_store


@click.command("copy")
@click.option("--from", "source_url", required=True, help="Source database URL.")
@click.option("--to", "target_url", required=True, help="Target database URL (its logs empty).")
def copy(source_url: str, target_url: str) -> None:
    """Copy a whole store (e.g. SQLite to PostgreSQL) and verify it.

    Moves the directory, users, apps, installations and tokens (as hashes), signing keys and
    checkpoints, shared secrets (cursors stay valid), detection controls, snapshots and signals,
    logging pauses, consumer positions, and every log byte for byte (purged stretches as their
    kept leaf hashes; each Merkle tree is checked). Not moved: authorization codes, sign-in
    sessions and attempts, anomalies held back by shadow mode. Refused if the target already
    has a log the source has, or a signing key of its own; stop servers on the source first.
    """
    source, target = open_store(source_url), open_store(target_url)
    try:
        source.migrate()
        target.migrate()
        report = _copy_with_progress(source, target)
    finally:
        source.close()
        target.close()
    for kind, count in report.counts.items():
        click.echo(f"{kind}: {count}")
    click.echo(f"kept leaf hashes of purged events: {report.total_purged}")
    click.echo(
        f"copied {report.total_events} events of {len(report.events)} organizations; every "
        "event verified byte-identical, every Merkle tree identical"
    )


def _copy_with_progress(source: Store, target: Store) -> CopyReport:
    total = sum(source.count_events(org) for org in source.organizations_with_events())
    with click.progressbar(length=total, label="copying logs", file=sys.stderr) as bar:
        return copy_store(source, target, bar.update)


@click.group()
def retention() -> None:
    """How long each organization keeps its audit log."""


@retention.command("set")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--keep-days", type=click.IntRange(1, 36_500), default=None, help="Days to keep.")
@click.option("--forever", is_flag=True, help="Keep everything (the default policy).")
def retention_set(org_id: str, keep_days: int | None, forever: bool) -> None:
    """Set an organization's retention: --keep-days N or --forever (recorded in its log)."""
    if forever == (keep_days is not None):
        raise click.UsageError("give exactly one of --keep-days N and --forever")
    store = migrated_store(settings_from_env())
    set_policy(store, Recorder(store), org_id, keep_days)
    click.echo(f"{org_id}: keep {'forever' if forever else f'{keep_days} days'}")


@retention.command("show")
def retention_show() -> None:
    """List organizations with a finite retention."""
    store = migrated_store(settings_from_env())
    for org_id, days in store.retention_policies().items():
        click.echo(f"{org_id}\t{days} days")


@retention.command("enforce")
def retention_enforce() -> None:
    """Delete expired events now (run it from cron); each purge is recorded in the log."""
    store = migrated_store(settings_from_env())
    purges = enforce(store, Recorder(store), int(time.time()))
    for p in purges:
        click.echo(f"{p.org_id}: purged {p.purged} events older than {p.keep_days} days")
    if not purges:
        click.echo("nothing to purge")
