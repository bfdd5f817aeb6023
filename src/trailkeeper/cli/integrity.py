"""`trailkeeper keys|checkpoint|export|verify|monitor`: tamper evidence from the command line.

`keys`, `checkpoint` and `export` work on the configured database (operator side); `verify` and
`monitor` trust nothing but the keys and state file they are given (reader side). Exit codes:
0 verified, 1 verification failed or an alert, 2 could not check (unreachable, unreadable).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import httpx

from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.integrity.audit import Report
from trailkeeper.integrity.bundle import export_bundle, verify_bundle
from trailkeeper.integrity.checkpoint import VerifierKey
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.integrity.verifier import (
    ProofClient,
    StateFile,
    default_state_path,
    monitor_once,
    run_monitor,
    verify_online,
)
from trailkeeper.recorder import Recorder, organization_event

T = TypeVar("T")
CANNOT_CHECK = 2


def _service() -> IntegrityService:
    settings = settings_from_env()
    store = migrated_store(settings)
    recorder = Recorder(store, load_catalog(settings.catalog_extensions))

    def record_event(action: str, org_id: str, details: Mapping[str, Any]) -> object:
        return recorder.record(organization_event(action, org_id, details))

    return IntegrityService(store, settings.service_name, record_event=record_event)


def _when(stamp: int | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else "-"


def _cannot_check(message: str) -> NoReturn:
    click.echo(f"error: cannot check: {message}", err=True)
    sys.exit(CANNOT_CHECK)


def _checked(action: Callable[[], T]) -> T:
    """Run a check; unreadable input or an unreachable server is exit 2, not a traceback."""
    try:
        return action()
    except httpx.HTTPError as exc:
        _cannot_check(f"{type(exc).__name__}: {exc}")
    except (IntegrityError, OSError, ValueError, KeyError) as exc:
        _cannot_check(str(exc))


# --- keys and checkpoints (operator) --------------------------------------------------------


@click.group()
def keys() -> None:
    """Manage the Ed25519 keys that sign checkpoints (kept in the database)."""


@keys.command("generate")
def keys_generate() -> None:
    """Create the first signing key and print its public key (vkey) alone on stdout."""
    record = _service().generate_key()
    click.echo(f"created signing key {record.key_id} (generation 1)", err=True)
    click.echo(record.vkey)


@keys.command("rotate")
def keys_rotate() -> None:
    """Replace the signing key; the old public key stays published and endorses the new one."""
    old, new = _service().rotate_key()
    click.echo(f"retired {old.key_id}; now signing with {new.key_id}", err=True)
    click.echo(new.vkey)


@keys.command("list")
def keys_list() -> None:
    """List every signing key: generation, public key, created and retired times."""
    for k in _service().public_keys():
        state = f"retired {_when(k.retired_at)}" if k.retired_at else "active"
        click.echo(f"{k.generation}\t{k.vkey}\tcreated {_when(k.created_at)}\t{state}")


@click.command()
@click.option("--org", "org_id", default=None, help="Only this organization (default: all).")
def checkpoint(org_id: str | None) -> None:
    """Sign a checkpoint now for every organization whose log grew since its last one."""
    service = _service()
    if org_id is not None:
        made = service.checkpoint(org_id)
        created = [made] if made else []
        refused: dict[str, str] = {}
    else:
        run = service.checkpoint_all()
        created, refused = run.created, run.refused
    for record in created:
        click.echo(f"{record.org_id}\tsize {record.tree_size}\tsigned by {record.key_id}")
    for org, reason in refused.items():
        click.echo(f"error: {org}: {reason}", err=True)
    if not created and not refused:
        click.echo("no log grew since its last checkpoint")
    if refused:
        sys.exit(1)


@click.command()
@click.option("--org", "org_id", required=True, help="Organization to export.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="New directory.")
@click.option(
    "--no-checkpoint", is_flag=True, help="Do not sign a checkpoint first (export up to the last)."
)
def export(org_id: str, out: Path, no_checkpoint: bool) -> None:
    """Write a bundle (events, checkpoints, proofs) that `trailkeeper verify --bundle` checks
    offline."""
    service = _service()
    if not no_checkpoint:
        service.checkpoint(org_id)
    summary = export_bundle(service, org_id, out)
    click.echo(
        f"exported {summary.events} events of {summary.origin} up to tree size {summary.tree_size}"
        f" ({summary.checkpoints} checkpoints, {summary.missing} purged) to {out}"
    )


# --- verify and monitor (reader) -------------------------------------------------------------


def _pinned(vkeys: tuple[str, ...], key_file: Path | None) -> list[VerifierKey]:
    texts = list(vkeys)
    if key_file is not None:
        texts += [line.strip() for line in key_file.read_text().splitlines() if line.strip()]
    return [VerifierKey.from_vkey(text) for text in texts]


def _token(token: str | None, token_file: Path | None) -> str:
    if token_file is not None:
        return token_file.read_text().strip()
    if not token:
        raise click.UsageError("give --token or --token-file with --url")
    return token


def _print(report: Report) -> None:
    click.echo(report.render(), err=not report.ok)


_key_option = click.option(
    "--key", "vkeys", multiple=True, help="A trusted verifier key (vkey); repeatable."
)
_key_file_option = click.option(
    "--key-file", type=click.Path(exists=True, path_type=Path), help="File of vkeys, one a line."
)
_state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path),
    default=None,
    help="State file (default: $XDG_STATE_HOME/trailkeeper/verify.json).",
)
_origin_option = click.option("--origin", default=None, help="The log origin expected.")
_token_options = (
    click.option("--token", default=None, help="Bearer token with auditlogs:read."),
    click.option("--token-file", type=click.Path(exists=True, path_type=Path), default=None),
)


@click.command()
@click.option("--url", default=None, help="Server base URL (online mode).")
@_token_options[0]
@_token_options[1]
@click.option(
    "--bundle",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="An export bundle directory (offline mode).",
)
@_key_option
@_key_file_option
@_state_option
@click.option("--no-state", is_flag=True, help="Neither read nor update a state file.")
@_origin_option
def verify(
    *,
    url: str | None,
    token: str | None,
    token_file: Path | None,
    bundle: Path | None,
    vkeys: tuple[str, ...],
    key_file: Path | None,
    state_path: Path | None,
    no_state: bool,
    origin: str | None,
) -> None:
    """Verify a log: signatures, every event's bytes and inclusion, consistency with the last
    checkpoint this reader saw. Online with --url and a token, offline with --bundle."""
    if (url is None) == (bundle is None):
        raise click.UsageError("give exactly one of --url (online) and --bundle (offline)")
    pinned = _checked(lambda: _pinned(vkeys, key_file))
    if bundle is not None:
        path = state_path or default_state_path()
        state = None if no_state else _checked(lambda: StateFile(path))
        report = _checked(lambda: verify_bundle(bundle, pinned=pinned, state=state, origin=origin))
    else:
        if no_state:
            raise click.UsageError("online verification needs a state file")
        secret = _token(token, token_file)
        state = _checked(lambda: StateFile(state_path or default_state_path()))
        client = ProofClient(str(url), secret)
        try:
            report = _checked(lambda: verify_online(client, state, pinned=pinned, origin=origin))
        finally:
            client.close()
    _print(report)
    sys.exit(0 if report.ok else 1)


@click.command()
@click.option("--url", required=True, help="Server base URL.")
@_token_options[0]
@_token_options[1]
@_key_option
@_key_file_option
@_state_option
@_origin_option
@click.option(
    "--interval", "interval_s", type=click.FloatRange(0.1), default=60.0, show_default=True
)
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after N polls.")
def monitor(
    *,
    url: str,
    token: str | None,
    token_file: Path | None,
    vkeys: tuple[str, ...],
    key_file: Path | None,
    state_path: Path | None,
    origin: str | None,
    interval_s: float,
    count: int | None,
) -> None:
    """Poll the log's checkpoints; each must be signed by a trusted key and extend the last one
    seen. Exits 1 with an ALERT at the first inconsistency."""
    pinned = _checked(lambda: _pinned(vkeys, key_file))
    state = _checked(lambda: StateFile(state_path or default_state_path()))
    client = ProofClient(url, _token(token, token_file))
    unchecked: list[str] = []

    def poll() -> Report:
        unchecked.clear()
        try:
            return monitor_once(client, state, pinned=pinned, origin=origin)
        except (httpx.HTTPError, IntegrityError, ValueError, KeyError) as exc:
            unchecked.append(str(exc) or type(exc).__name__)  # a later poll tries again
            report = Report()
            report.add("warning", f"could not poll: {unchecked[0]}")
            return report

    def show(report: Report) -> None:
        if unchecked:
            click.echo(f"{_when(int(time.time()))} {report.findings[0].line()}", err=True)
        elif report.ok:
            click.echo(f"{_when(int(time.time()))} ok: {report.origin} size {report.tree_size}")
        else:
            click.echo("ALERT: " + report.render(), err=True)

    try:
        final = run_monitor(poll, interval_s=interval_s, count=count, on_report=show)
    finally:
        client.close()
    if final.ok and unchecked:
        sys.exit(CANNOT_CHECK)
    sys.exit(0 if final.ok else 1)
