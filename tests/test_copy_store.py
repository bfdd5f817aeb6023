"""`trailkeeper copy` moves a whole store, between real SQLite and real PostgreSQL both ways:
every durable kind arrives, a server over the copy honours the source's OAuth tokens, cursors,
signing key and checkpoints, a purged log rebuilds its tree, a paused organization stays paused;
what a copy must refuse, it refuses before writing anything."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from conftest import ORG, WS_A, LiveServer, make_event, serve_in_thread
from oauth_world import CATALOG, Site, populate, recording_change
from test_integrity_cli import Switchboard
from trailkeeper.cli import cli
from trailkeeper.config import Settings
from trailkeeper.detect.records import SnapshotRecord
from trailkeeper.directory import admin
from trailkeeper.directory.installations import install
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.errors import StorageError
from trailkeeper.integrity.pauses import PauseRecord
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.retention import DAY_S, enforce, set_policy
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.transfer import KINDS, copy_store
from trailkeeper.web.app import create_app

SERVICE = "tk.copy"
NOW = int(time.time())
DIRECTIONS = [
    pytest.param(("sqlite", "postgres"), id="sqlite-to-postgres", marks=pytest.mark.postgres),
    pytest.param(("postgres", "sqlite"), id="postgres-to-sqlite", marks=pytest.mark.postgres),
]


def url_of(backend: str, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_schema_url"))
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture(params=DIRECTIONS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """A migrated source and an empty migrated target, on the two backends of the direction."""
    source_backend, target_backend = request.param
    source = open_store(url_of(source_backend, "source.db", tmp_path, request))
    target = open_store(url_of(target_backend, "target.db", tmp_path, request))
    source.migrate()
    target.migrate()
    admin.create_organization(source, ORG, "Test Org", "testorg")
    admin.create_workspace(source, WS_A, ORG, "Alpha", "alpha")
    yield source, target
    source.close()
    target.close()


def integrity(store: Store) -> IntegrityService:
    recorder = Recorder(store, CATALOG)

    def record_event(action: str, org_id: str, details: Any) -> object:
        return recorder.record(organization_event(action, org_id, details))

    return IntegrityService(store, SERVICE, record_event=record_event)


def record(store: Store, count: int, days_old: int = 0, prefix: str = "e") -> None:
    events = [make_event(id=f"{prefix}{i}", date=NOW - days_old * DAY_S + i) for i in range(count)]
    assert not Recorder(store, CATALOG).record_many(events).rejected


def furnish(store: Store) -> None:
    """One of every durable kind: people, an app installed with its token, rotated keys,
    checkpoints, secrets, detection state, a pause, positions, and a log with purged holes."""
    world = populate(store)
    change = recording_change(store, world.owner)
    scopes = (frozenset({READ_SCOPE}), frozenset[str]())
    installed = install(store, world.app, None, scopes, change)
    admin.issue_token(store, ORG, frozenset({READ_SCOPE}), "oauth", installation_id=installed.id)
    record(store, 20, days_old=100, prefix="old")
    record(store, 20)
    set_policy(store, Recorder(store, CATALOG), ORG, 30)
    enforce(store, Recorder(store, CATALOG), NOW)
    service = integrity(store)
    service.generate_key()
    service.checkpoint_all()
    service.rotate_key()
    service.checkpoint_all()
    store.secret("cursor-mac")
    store.put_detect_controls(ORG, '{"mode": "shadow"}', NOW)
    store.save_detect_snapshot("detect", SnapshotRecord(ORG, 5, 2, NOW, b"\x00state"))
    store.add_signals(ORG, ['{"type": "login_failed"}'] * 3, NOW)
    store.set_position("relay", ORG, 12)
    store.pause_logging(PauseRecord(ORG, NOW, "migration"))


def test_every_durable_kind_arrives_and_verifies(pair: tuple[Store, Store]) -> None:
    source, target = pair
    furnish(source)
    report = copy_store(source, target)
    for kind in KINDS:
        assert kind.read(target) == kind.read(source), kind.name
        assert report.counts[kind.name] == len(kind.read(source)), kind.name
    assert report.counts["signing keys"] == 2
    assert [k.private_key for k in target.signing_keys(private=True)] == [
        k.private_key for k in source.signing_keys(private=True)
    ]
    assert report.purged == {ORG: 20}
    assert report.events == {ORG: source.count_events(ORG) - 20}
    assert target.tree_state(ORG) == source.tree_state(ORG)
    size = source.count_events(ORG)
    assert target.purged_leaves(ORG, [(0, size)]) == source.purged_leaves(ORG, [(0, size)])


def test_the_copied_log_keeps_growing_under_the_copied_checkpoints(
    pair: tuple[Store, Store],
) -> None:
    source, target = pair
    furnish(source)
    assert copy_store(source, target).total_purged == 20
    target.resume_logging(ORG)
    record(target, 5, prefix="after")
    made = integrity(target).checkpoint(ORG)  # must prove it extends the copied checkpoint
    assert made is not None
    assert made.tree_size == target.count_events(ORG)
    assert made.key_name == source.signing_keys()[-1].name


def test_copy_refuses_a_target_with_a_signing_key_of_its_own(pair: tuple[Store, Store]) -> None:
    source, target = pair
    integrity(source).generate_key()
    admin.create_organization(target, "E0OTHER", "Other", "other")
    integrity(target).generate_key()
    before = target.list_organizations()
    with pytest.raises(StorageError, match="signing key of its own"):
        copy_store(source, target)
    assert target.list_organizations() == before


def test_copy_refuses_a_log_purged_before_leaf_hashes_were_kept(tmp_path: Path) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    source.migrate()
    admin.create_organization(source, ORG, "Test Org", "testorg")
    admin.create_workspace(source, WS_A, ORG, "Alpha", "alpha")
    record(source, 3, days_old=100)
    record(source, 3, prefix="new")
    recorder = Recorder(source, CATALOG)
    set_policy(source, recorder, ORG, 30)
    enforce(source, recorder, NOW)
    source.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as a purge from before 0011 left it
        conn.execute("DELETE FROM purged_leaves WHERE seq = 1")
    result = copy_command(f"sqlite:///{tmp_path / 'old.db'}", f"sqlite:///{tmp_path / 'new.db'}")
    assert result.exit_code == 1
    assert "seq 1 was purged before leaf hashes were kept" in result.stderr
    assert "Traceback" not in result.output


def copy_command(source_url: str, target_url: str) -> Result:
    return CliRunner().invoke(cli, ["copy", "--from", source_url, "--to", target_url])


# --- a server over the copy ------------------------------------------------------------------


class Operator:
    """The CLI against the source database, as the operator runs it before moving."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.env = {"TRAILKEEPER_DATABASE_URL": self.url, "TRAILKEEPER_SERVICE_NAME": SERVICE}

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(cli, list(args), env=self.env)
        assert result.exit_code == 0, result.output
        return result


def page(site: Site, token: str, cursor: str = "") -> dict[str, Any]:
    response = site.audit(token).logs(limit=5, cursor=cursor or None)
    assert response.status_code == 200, response.body
    assert response.body is not None
    return dict(response.body)


@pytest.mark.postgres
def test_a_server_over_the_copy_honours_what_the_source_issued(
    tmp_path: Path, settings: Settings, postgres_schema_url: str
) -> None:
    source_path = tmp_path / "source.db"
    source = SQLiteStore(str(source_path))
    source.migrate()
    admin.create_organization(source, ORG, "Test Org", "testorg")
    admin.create_workspace(source, WS_A, ORG, "Alpha", "alpha")
    quiet = replace(settings, service_name=SERVICE, checkpoint_interval_s=0)
    board = Switchboard({"source": create_app(quiet, source)}, "source")
    server, thread, url = serve_in_thread(board)
    try:
        site = Site(LiveServer(url, source, "", "", ""), populate(source))
        token = site.token()  # a real OAuth install: the token names its installation
        writer, _ = admin.issue_token(source, ORG, frozenset({WRITE_SCOPE}), "producer")
        record(source, 30)
        operator = Operator(source_path)
        vkey = operator.run("keys", "generate").stdout.strip()
        operator.run("logging", "pause", "--org", ORG, "--reason", "moving to PostgreSQL")
        operator.run("checkpoint")
        state = str(tmp_path / "reader.json")
        verify = ("verify", "--url", url, "--token", token, "--key", vkey, "--state", state)
        assert "verified" in operator.run(*verify).stdout
        first = page(site, token)
        cursor = first["response_metadata"]["next_cursor"]
        second = page(site, token, cursor)

        copied = copy_command(operator.url, postgres_schema_url)
        assert copied.exit_code == 0, copied.output
        assert "installations: 1\n" in copied.stdout
        assert "signing keys: 1\n" in copied.stdout
        target = open_store(postgres_schema_url)
        board.apps["target"] = create_app(quiet, target)
        board.current = "target"

        assert page(site, token)["entries"] == first["entries"]
        # The source's cursor passes the copied MAC key (a fresh one would answer invalid_cursor).
        assert page(site, token, cursor)["entries"] == second["entries"]
        assert "verified" in operator.run(*verify).stdout  # same key, same pinned checkpoints
        with httpx.Client(base_url=url, trust_env=False) as client:
            refused = client.post(
                "/ingest/v1/events",
                content=orjson.dumps([make_event(id="while-paused")]),
                headers={"Authorization": f"Bearer {writer}"},
            )
        assert refused.status_code == 503
        target.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        source.close()
