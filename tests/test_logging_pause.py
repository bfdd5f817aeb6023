"""Pausing an organization's recording: the CLI, the store on both backends, ingest refused with a
retryable 503 over HTTP (events and signals), in process and on the JetStream worker, accepted
again after the resume, and the pause itself in the verified Merkle chain."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER, LiveServer, make_event
from test_bus import (  # noqa: F401  (bus, nats_url, sqlite_store, sqlite_url: fixtures)
    Bus,
    bus,
    ingest_drained,
    nats_url,
    numbered,
    sqlite_store,
    sqlite_url,
    stored_numbers,
    worker_for,
)
from test_bus import eventually as bus_eventually
from test_integrity_cli import Operator
from test_integrity_service import BACKENDS, T0, LogWorld, open_world
from trailkeeper.bus.producer import publish_events
from trailkeeper.errors import Conflict, InvalidArguments, LoggingPaused, NotFound
from trailkeeper.integrity.bundle import verify_bundle
from trailkeeper.integrity.pauses import (
    RETRY_AFTER_S,
    PauseGate,
    PauseRecord,
    pause_logging,
    resume_logging,
)
from trailkeeper.query import LogFilter
from trailkeeper.recorder import Recorder
from trailkeeper.retention import enforce, set_policy
from trailkeeper.storage.base import Store

PAUSE_ACTIONS = ("audit_logging_paused", "audit_logging_resumed")


def actions(store: Store, org_id: str = ORG) -> list[str]:
    return [r.action for r in store.events_from(org_id, 0, 10_000)]


def details_of(store: Store, action: str) -> dict[str, Any]:
    rows = store.scan(ORG, LogFilter(actions=(action,)), None, 1)
    return dict(orjson.loads(rows[0].body)["details"])


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> LogWorld:
    return open_world(str(request.param), tmp_path, request)


# --- the store and the in-process path, on both backends ----------------------------------------


def test_the_store_keeps_one_pause_per_organization(world: LogWorld) -> None:
    store = world.store
    assert store.logging_pauses() == {}
    assert store.pause_logging(PauseRecord(ORG, 100, "maintenance"))
    assert not store.pause_logging(PauseRecord(ORG, 200, "again"))
    assert store.logging_pauses() == {ORG: PauseRecord(ORG, 100, "maintenance")}
    assert store.resume_logging(ORG)
    assert not store.resume_logging(ORG)
    assert store.logging_pauses() == {}


def test_a_paused_organization_refuses_events_in_process_and_records_the_interval(
    world: LogWorld,
) -> None:
    world.add(3)
    pause_logging(world.store, world.record_event, ORG, "migration", 1_000)
    with pytest.raises(LoggingPaused) as refused:
        world.recorder.record(make_event(id="during", location=WS_A))
    assert refused.value.retry_after_s == RETRY_AFTER_S
    world.recorder.record(make_event(id="other-org", location=WS_OTHER))  # others unaffected
    resume_logging(world.store, world.record_event, ORG, "done", 1_090)
    world.recorder.record(make_event(id="after", location=WS_A))
    assert actions(world.store)[-3:] == [*PAUSE_ACTIONS, "user_login"]
    assert "during" not in [r.id for r in world.store.events_from(ORG, 0, 100)]
    assert details_of(world.store, "audit_logging_paused") == {"reason": "migration"}
    assert details_of(world.store, "audit_logging_resumed") == {
        "reason": "done",
        "paused_at": 1_000,
        "paused_s": 90,
    }


def test_the_logs_own_events_are_still_recorded_during_a_pause(world: LogWorld) -> None:
    world.add(5)
    set_policy(world.store, world.recorder, ORG, 1)
    pause_logging(world.store, world.record_event, ORG, "", 1_000)
    purges = enforce(world.store, world.recorder, now=T0 + 10 + 86_400)
    assert [p.purged for p in purges] == [5]
    world.service.generate_key()  # recorded in every organization's log, the paused one too
    assert actions(world.store)[-3:] == [
        "audit_logging_paused",
        "audit_logs_purged",
        "audit_logs_signing_key_created",
    ]


def test_pausing_and_resuming_refuse_what_makes_no_sense(world: LogWorld) -> None:
    with pytest.raises(NotFound):
        pause_logging(world.store, world.record_event, "E0NOPE", "", 1)
    with pytest.raises(NotFound):
        resume_logging(world.store, world.record_event, "E0NOPE", "", 1)
    with pytest.raises(Conflict, match="not paused"):
        resume_logging(world.store, world.record_event, ORG, "", 1)
    with pytest.raises(InvalidArguments, match="at most 500"):
        pause_logging(world.store, world.record_event, ORG, "x" * 501, 1)
    pause_logging(world.store, world.record_event, ORG, "", 1)
    with pytest.raises(Conflict, match="paused already"):
        pause_logging(world.store, world.record_event, ORG, "", 2)
    assert actions(world.store).count("audit_logging_paused") == 1


def test_a_pause_that_cannot_be_recorded_does_not_stay(world: LogWorld) -> None:
    def broken(action: str, org_id: str, details: Any) -> object:
        raise RuntimeError("recording failed")

    with pytest.raises(RuntimeError):
        pause_logging(world.store, broken, ORG, "", 1)
    assert world.store.logging_pauses() == {}


def test_the_gate_reads_the_store_at_most_once_per_ttl(world: LogWorld) -> None:
    now = [0.0]
    gate = PauseGate(world.store, ttl_s=2.0, clock=lambda: now[0])
    gate.check_org(ORG)
    world.store.pause_logging(PauseRecord(ORG, 5, ""))  # another node pauses
    gate.check_org(ORG)  # still the cached state
    now[0] = 2.0
    with pytest.raises(LoggingPaused):
        gate.check_org(ORG)
    world.store.resume_logging(ORG)
    gate.forget()
    gate.check_org(ORG)


# --- the command line (SQLite) ------------------------------------------------------------------


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    op = Operator(tmp_path)
    yield op
    op.close()


def test_the_cli_pauses_shows_and_resumes_and_every_command_has_h(operator: Operator) -> None:
    for args in (["logging"], ["logging", "pause"], ["logging", "resume"], ["logging", "status"]):
        assert operator.run(*args, "-h").exit_code == 0
    assert operator.run("logging", "status").stdout == f"{ORG}\trecording\n"
    paused = operator.run("logging", "pause", "--org", ORG, "--reason", "disk swap")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.startswith(f"{ORG}: recording paused at ")
    status = operator.run("logging", "status", "--org", ORG)
    assert status.stdout.startswith(f"{ORG}\tpaused since ")
    assert status.stdout.rstrip().endswith("\tdisk swap")
    with pytest.raises(LoggingPaused):
        operator.add(1)
    resumed = operator.run("logging", "resume", "--org", ORG, "--reason", "swapped")
    assert resumed.exit_code == 0, resumed.output
    assert "recording resumed after" in resumed.stdout
    operator.recorder = Recorder(operator.store)  # a new process: no cached pause state
    operator.add(1)
    assert actions(operator.store) == [*PAUSE_ACTIONS, "user_login"]


def test_cli_mistakes_are_one_line_and_exit_1(operator: Operator) -> None:
    for args, message in (
        (["resume", "--org", ORG], f"error: recording for {ORG} is not paused"),
        (["pause", "--org", "E0NOPE"], "error: no organization E0NOPE"),
        (["status", "--org", "E0NOPE"], "error: no organization E0NOPE"),
    ):
        result = operator.run("logging", *args)
        assert (result.exit_code, result.stderr.strip()) == (1, message)
    assert operator.run("logging", "pause").exit_code == 2  # --org is required


def test_a_paused_interval_is_in_the_verified_chain(operator: Operator, tmp_path: Path) -> None:
    assert operator.run("keys", "generate").exit_code == 0
    operator.add(20)
    assert operator.run("logging", "pause", "--org", ORG, "--reason", "audit").exit_code == 0
    assert operator.run("logging", "resume", "--org", ORG).exit_code == 0
    operator.add(20)
    assert operator.run("checkpoint").exit_code == 0
    assert operator.run("export", "--org", ORG, "--out", str(tmp_path / "b")).exit_code == 0
    report = verify_bundle(tmp_path / "b")
    assert report.ok, report.render()
    lines = (tmp_path / "b" / "events.jsonl").read_bytes().splitlines()
    found = [orjson.loads(line)["action"] for line in lines]
    assert found.index("audit_logging_paused") == 21  # key created, 20 events, then the pause
    assert found.index("audit_logging_resumed") == 22
    assert re.search(
        r"^INFO recording was paused from \S+Z \(seq 21\) to \S+Z \(seq 22\): events sent"
        r" meanwhile were refused, not stored$",
        report.render(),
        re.MULTILINE,
    )


def test_verify_says_when_recording_is_paused_still(operator: Operator, tmp_path: Path) -> None:
    assert operator.run("keys", "generate").exit_code == 0
    operator.add(3)
    assert operator.run("logging", "pause", "--org", ORG).exit_code == 0
    assert operator.run("checkpoint").exit_code == 0
    assert operator.run("export", "--org", ORG, "--out", str(tmp_path / "b")).exit_code == 0
    report = verify_bundle(tmp_path / "b")
    assert report.ok
    assert "INFO recording is paused since " in report.render()
    assert "(seq 4)" in report.render()


# --- over HTTP: events and signals --------------------------------------------------------------


def post(server: LiveServer, path: str, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.write_token}"}
    return httpx.post(server.url + path, content=orjson.dumps(body), headers=headers, timeout=30)


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """The server's pause cache lives at most a couple of seconds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_ingest_is_refused_while_paused_with_a_retryable_503_and_accepted_after(
    live_server: LiveServer,
) -> None:
    store = live_server.store
    assert post(live_server, "/ingest/v1/events", [make_event(id="before")]).status_code == 200
    pause_logging(store, lambda *_: None, ORG, "", int(time.time()))
    answers: list[httpx.Response] = []

    def refused() -> bool:
        event = make_event(id=f"try-{len(answers)}")
        answers.append(post(live_server, "/ingest/v1/events", [event]))
        return answers[-1].status_code == 503

    eventually(refused, "the pause to reach the server")
    response = answers[-1]
    assert response.content == b'{"ok":false,"error":"service_unavailable"}'
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"].startswith("application/json")
    signals = post(live_server, "/ingest/v1/signals", [{"type": "login_failed"}])
    assert (signals.status_code, signals.headers["Retry-After"]) == (503, str(RETRY_AFTER_S))
    logs = httpx.get(
        live_server.url + "/audit/v1/logs",
        headers={"Authorization": f"Bearer {live_server.read_token}"},
        timeout=30,
    )
    assert logs.status_code == 200  # reads are unaffected
    store.resume_logging(ORG)
    eventually(
        lambda: post(live_server, "/ingest/v1/events", [make_event(id="after")]).status_code == 200,
        "the resume to reach the server",
    )
    stored = [r.id for r in store.events_from(ORG, 0, 100)]
    refused_id = f"try-{len(answers) - 1}"  # the one answered 503 was not stored
    assert refused_id not in stored
    assert (stored[0], stored[-1]) == ("before", "after")


def test_other_organizations_keep_recording_over_http(live_server: LiveServer) -> None:
    store = live_server.store
    pause_logging(store, lambda *_: None, OTHER_ORG, "", int(time.time()))
    response = post(live_server, "/ingest/v1/events", [make_event(id="mine")])
    assert response.status_code == 200, response.text


# --- the JetStream worker -----------------------------------------------------------------------


async def test_the_worker_parks_a_paused_organizations_messages_and_loses_none(
    bus: Bus,  # noqa: F811
    sqlite_store: Store,  # noqa: F811
) -> None:
    store = sqlite_store
    store.pause_logging(PauseRecord(ORG, 1, "test"))
    await publish_events(bus.nc, ORG, numbered(10), names=bus.names, events_per_message=1)
    await publish_events(
        bus.nc, OTHER_ORG, numbered(10, location=WS_OTHER), names=bus.names, events_per_message=1
    )
    worker = worker_for(bus, store, batch_events=5, ack_wait_s=4.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await bus_eventually(lambda: store.count_events(OTHER_ORG) == 10, "the other org", task)
        await asyncio.sleep(5)  # longer than ack_wait: parked messages must be held, not lost
        assert store.count_events(ORG) == 0
        store.resume_logging(ORG)
        await bus_eventually(lambda: store.count_events(ORG) == 10, "the resumed org", task)
        await bus_eventually(lambda: ingest_drained(bus), "every message acknowledged", task)
    finally:
        stop.set()
    counters = await asyncio.wait_for(task, 30)
    assert stored_numbers(store, ORG) == list(range(10))
    assert (counters.messages, counters.stored, counters.duplicates) == (20, 20, 0)
    assert counters.dead_lettered == 0
