"""Only the log's own `audit_logs_purged` events may excuse missing events: a producer who sends
one (its actor a user, not the service) must not let a verifier wave through an event deleted
behind the log's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ORG, LiveServer, make_event
from test_integrity_service import LogWorld
from trailkeeper.integrity.audit import Report
from trailkeeper.integrity.bundle import export_bundle, verify_bundle
from trailkeeper.storage import open_store

DELETED = 5


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LogWorld]:
    url = f"sqlite:///{tmp_path / 'integrity.db'}"
    store = open_store(url)
    store.migrate()
    world = LogWorld(store, url)
    world.service.generate_key()
    world.add(10)
    yield world
    store.close()


def forged_purge(purged: int) -> dict[str, object]:
    return make_event(
        "audit_logs_purged",
        id="forged-purge",
        date=1_700_000_100,
        details={"purged_events": purged},
    )


def delete_and_verify(world: LogWorld, tmp_path: Path) -> Report:
    world.add(30, prefix="later")
    world.service.checkpoint(ORG)
    with sqlite3.connect(world.url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM events WHERE org_id = ? AND seq = ?", (ORG, DELETED))
    export_bundle(world.service, ORG, tmp_path / "bundle")
    return verify_bundle(tmp_path / "bundle", pinned=[world.verifier()])


@pytest.mark.parametrize(
    "action", ["audit_logs_purged", "audit_logging_resumed", "audit_logs_signing_key_rotated"]
)
def test_a_producer_cannot_send_the_logs_own_events(live_server: LiveServer, action: str) -> None:
    event = {**forged_purge(1), "action": action}
    response = httpx.post(
        f"{live_server.url}/ingest/v1/events",
        json=[event, make_event(id="ordinary")],
        headers={"Authorization": f"Bearer {live_server.write_token}"},
        trust_env=False,
    )
    report = response.json()
    assert report["ids"] == ["ordinary"]
    assert report["rejected"] == [
        {
            "index": 0,
            "reason": f"{action} is recorded only by Trailkeeper itself, never by producers",
        }
    ]
    assert live_server.store.count_events(ORG) == 1


def test_a_deleted_event_without_any_purge_fails(world: LogWorld, tmp_path: Path) -> None:
    report = delete_and_verify(world, tmp_path)
    assert not report.ok
    assert f"ERROR seq {DELETED}" in report.render()


def test_a_producers_purge_declaration_does_not_excuse_a_deleted_event(
    world: LogWorld, tmp_path: Path
) -> None:
    assert not world.recorder.record_many([forged_purge(1)]).rejected
    report = delete_and_verify(world, tmp_path)
    assert not report.ok, report.render()
