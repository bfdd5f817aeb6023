"""The JetStream edge against a real nats-server: ingest workers, dead letters, the relay.

Every test gets streams of its own (unique prefixes), deleted afterwards. Without a reachable
nats-server with JetStream these tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from click.testing import CliRunner
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy
from nats.js.errors import NotFoundError

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER, make_event
from trailkeeper.bus import messages
from trailkeeper.bus.lifecycle import run_loops
from trailkeeper.bus.messages import (
    INDEX,
    MSG_ID,
    REASON,
    SEQ,
    STREAM_SEQ,
    Delivery,
    MalformedMessage,
    decode_message,
    delivery_origin,
    derived_event_id,
    with_defaults,
)
from trailkeeper.bus.producer import ndjson_messages, publish_events
from trailkeeper.bus.relay import CommittedRelay, publish_committed
from trailkeeper.bus.streams import BusNames, delete_streams, ensure_streams
from trailkeeper.bus.worker import IngestWorker, consumer_config
from trailkeeper.catalog import load_catalog
from trailkeeper.cli import workers as workers_cli
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.errors import StorageError
from trailkeeper.events import AppendOutcome
from trailkeeper.ingest import Ingestor
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

NATS_URL = os.environ.get("TRAILKEEPER_TEST_NATS_URL", "nats://127.0.0.1:4222")
WAIT_S = 30.0
CLI = "from trailkeeper.cli.workers import {0}; {0}()"

# A worker that dies the hard way after its first commit and before acknowledging anything.
CRASHING_WORKER = """
import asyncio, os, signal, sys
import nats
from trailkeeper.bus.streams import BusNames
from trailkeeper.bus.worker import IngestWorker, consumer_config
from trailkeeper.catalog import load_catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor
from trailkeeper.storage import open_store

class DiesBeforeAck(IngestWorker):
    async def _acknowledge(self, msgs):
        os.kill(os.getpid(), signal.SIGKILL)

async def main(nats_url, db_url, subject_prefix, stream_prefix):
    store = open_store(db_url)
    nc = await nats.connect(nats_url)
    ingestor = Ingestor(store, load_catalog(), LocationIndex(store), max_event_bytes=65536)
    names = BusNames(subject_prefix, stream_prefix)
    worker = DiesBeforeAck(nc.jetstream(), store, ingestor, names, batch_events=100, ack_wait_s=1)
    await worker.run(asyncio.Event())

asyncio.run(main(*sys.argv[1:]))
"""


# --- fixtures ------------------------------------------------------------------------------------


async def _quiet(exc: Exception) -> None:
    pass


async def _probe(url: str) -> None:
    # max_reconnect_attempts=0 would mean "retry the first connection forever".
    nc = await nats.connect(
        url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1, error_cb=_quiet
    )
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The nats-server for these tests (TRAILKEEPER_TEST_NATS_URL or the local default)."""
    try:
        asyncio.run(asyncio.wait_for(_probe(NATS_URL), 10))
    except Exception as exc:
        problem = f"no nats-server with JetStream at {NATS_URL} ({type(exc).__name__} {exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI requires one")
        pytest.skip(problem)
    return NATS_URL


@dataclass
class Bus:
    """A connection and a private set of streams."""

    url: str
    nc: Client
    js: JetStreamContext
    names: BusNames


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    tag = secrets.token_hex(5)
    names = BusNames(subject_prefix=f"tktest{tag}", stream_prefix=f"TKTEST{tag}")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, names)
    yield Bus(nats_url, nc, js, names)
    await delete_streams(js, names)
    await nc.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bus.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bus.db'}"


def _open_with_directory(url: str) -> Store:
    store = open_store(url)
    store.migrate()
    admin.create_organization(store, ORG, "Test Org", "testorg")
    admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
    admin.create_organization(store, OTHER_ORG, "Other Org", "otherorg")
    admin.create_workspace(store, WS_OTHER, OTHER_ORG, "Other", "other")
    return store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A store on each backend, with two organizations."""
    s = _open_with_directory(db_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    s = _open_with_directory(sqlite_url)
    yield s
    s.close()


# --- helpers -------------------------------------------------------------------------------------


def ingestor_for(store: Store) -> Ingestor:
    return Ingestor(store, load_catalog(), LocationIndex(store), max_event_bytes=64 * 1024)


def numbered(count: int, start: int = 0, **kwargs: Any) -> list[dict[str, Any]]:
    """Valid events carrying their number in details.n (no ids unless given)."""
    return [make_event(details={"n": n}, **kwargs) for n in range(start, start + count)]


def stored_numbers(store: Store, org_id: str) -> list[int]:
    """details.n of the organization's events, after checking their seq runs 0, 1, 2 ..."""
    records = store.events_from(org_id, 0, 1_000_000)
    assert [r.seq for r in records] == list(range(len(records)))
    return sorted(orjson.loads(r.body)["details"]["n"] for r in records)


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, task: asyncio.Task[Any] | None = None
) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        result = check()
        if await result if not isinstance(result, bool) else result:
            return
        if task is not None and task.done():
            task.result()  # raises the loop's failure
            pytest.fail(f"stopped before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def run_until(
    loop: Callable[[asyncio.Event], Awaitable[Any]],
    check: Callable[[], bool | Awaitable[bool]],
    what: str,
) -> Any:
    """Run a worker or relay until `check` holds, then stop it gracefully; its counters."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    try:
        await eventually(check, what, task)
    finally:
        stop.set()
    return await asyncio.wait_for(task, WAIT_S)


def worker_for(bus: Bus, store: Store, **options: Any) -> IngestWorker:
    return IngestWorker(bus.js, store, ingestor_for(store), bus.names, **options)


async def ingest_drained(bus: Bus) -> bool:
    info = await bus.js.stream_info(bus.names.ingest_stream)
    return info.state.messages == 0


async def stream_count(bus: Bus, stream: str) -> int:
    return int((await bus.js.stream_info(stream)).state.messages)


async def read_subject(bus: Bus, subject: str, expected: int) -> list[Msg]:
    """Every message on `subject`, in stream order, through an ordered consumer."""
    sub = await bus.js.subscribe(subject, ordered_consumer=True)
    got: list[Msg] = []
    try:
        while len(got) < expected:
            got.append(await sub.next_msg(timeout=5))
        with contextlib.suppress(TimeoutError):
            got.append(await sub.next_msg(timeout=0.3))  # there must be nothing more
    finally:
        await sub.unsubscribe()
    return got


Spawn = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a process; any still running at teardown (a failed test) is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(command, **kwargs))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT_S)


def cli_process(
    spawn: Spawn, name: str, bus: Bus, db_url: str, *args: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRAILKEEPER_DATABASE_URL": db_url, "TRAILKEEPER_NATS_URL": bus.url}
    prefixes = [
        "--subject-prefix",
        bus.names.subject_prefix,
        "--stream-prefix",
        bus.names.stream_prefix,
    ]
    command = [sys.executable, "-c", CLI.format(name), *prefixes, *args]
    return spawn(command, env=env, stderr=subprocess.PIPE)


def stop_gracefully(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 0, err.decode()
    return err.decode()


# --- message formats (no server) -----------------------------------------------------------------


def test_a_message_holds_an_object_an_array_or_ndjson_lines() -> None:
    one = b'{"action": "user_login"}'
    pretty = b'{\n  "action": "user_login"\n}\n'
    assert [p.item for p in decode_message(one, max_events=10)] == [{"action": "user_login"}]
    assert [p.item for p in decode_message(pretty, max_events=10)] == [{"action": "user_login"}]
    array = decode_message(b'[{"a":1}, {"b":2}]', max_events=10)
    assert [p.raw for p in array] == [b'{"a":1}', b'{"b":2}']
    lines = decode_message(b'{"a":1}\n\n{oops\n{"b":2}\n', max_events=10)
    assert [p.raw for p in lines] == [b'{"a":1}', b"{oops", b'{"b":2}']
    assert [p.error is None for p in lines] == [True, False, True]
    assert lines[1].error is not None
    assert lines[1].error.startswith("line 3 is not valid JSON")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"  \n", "empty message"),
        (b"hello world", "message is not JSON"),
        (b'[{"a":1},', "message is not valid JSON"),
        (b"{}\n{}\n{}", "at most 2 events per message"),
    ],
)
def test_a_message_without_a_readable_event_is_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_message(data, max_events=2)
    assert caught.value.reason.startswith(reason)


def test_derived_ids_name_the_message_and_the_index() -> None:
    by_seq = Delivery("s", b"", stream_seq=7, stored_at=0, msg_id=None)
    by_msg_id = Delivery("s", b"", stream_seq=9, stored_at=0, msg_id="batch-1")
    assert delivery_origin(by_seq, "S@t") == "S@t#7"
    assert delivery_origin(by_msg_id, "S@t") == "msg-id:batch-1"
    first = derived_event_id(ORG, "S@t#7", 0)
    assert first == derived_event_id(ORG, "S@t#7", 0)
    others = {
        derived_event_id(ORG, "S@t#7", 1),
        derived_event_id(ORG, "S@t#8", 0),
        derived_event_id(ORG, "S@u#7", 0),
        derived_event_id(OTHER_ORG, "S@t#7", 0),
    }
    assert first not in others
    assert len(others) == 4


def test_defaults_fill_only_what_is_missing_and_never_touch_the_event() -> None:
    event = make_event(date=None)
    filled = with_defaults(event, ORG, "S@t#1", 0, 1_700_000_123)
    assert isinstance(filled, dict)
    assert filled["date_create"] == 1_700_000_123
    assert filled["id"] == derived_event_id(ORG, "S@t#1", 0)
    assert "id" not in event
    assert "date_create" not in event
    complete = make_event(id="given")
    assert with_defaults(complete, ORG, "S@t#1", 0, 1) is complete
    assert with_defaults([1], ORG, "S@t#1", 0, 1) == [1]


def test_header_values_are_single_bounded_lines() -> None:
    assert messages.header_value("a\r\nb\tc") == "a b c"
    assert len(messages.header_value("x" * 5000)) == messages.MAX_HEADER_CHARS


def test_only_a_single_token_after_ingest_names_an_organization() -> None:
    names = BusNames(subject_prefix="tk")
    assert names.org_of("tk.ingest.E0ABC") == "E0ABC"
    assert names.org_of("tk.ingest.") is None
    assert names.org_of("tk.committed.E0ABC") is None
    with pytest.raises(ValueError, match="subject token"):
        names.ingest_subject("E0.ABC")


def test_producer_messages_respect_the_event_and_byte_limits() -> None:
    events = [{"n": n} for n in range(5)]
    assert list(ndjson_messages(events, events_per_message=2, max_bytes=1000)) == [
        b'{"n":0}\n{"n":1}',
        b'{"n":2}\n{"n":3}',
        b'{"n":4}',
    ]
    by_bytes = list(ndjson_messages([b"x" * 10] * 3, events_per_message=100, max_bytes=25))
    assert by_bytes == [b"x" * 10 + b"\n" + b"x" * 10, b"x" * 10]


async def test_when_one_loop_fails_the_others_stop_gracefully_and_the_failure_is_raised() -> None:
    finished: list[str] = []

    async def steady(stop: asyncio.Event) -> None:
        await stop.wait()
        finished.append("steady finished its batch")

    async def failing(stop: asyncio.Event) -> None:
        raise StorageError("disk gone")

    with pytest.raises(StorageError, match="disk gone"):
        await asyncio.wait_for(run_loops([steady, failing], asyncio.Event()), 5)
    assert finished == ["steady finished its batch"]


# --- streams -------------------------------------------------------------------------------------


async def test_streams_are_created_idempotently_and_brought_to_the_configuration(
    bus: Bus,
) -> None:
    await ensure_streams(bus.js, bus.names)  # a second worker starting
    await ensure_streams(bus.js, bus.names, duplicate_window_s=60)  # an older configuration
    changed = await bus.js.stream_info(bus.names.committed_stream)
    assert changed.config.duplicate_window == 60
    await ensure_streams(bus.js, bus.names)
    ingest = await bus.js.stream_info(bus.names.ingest_stream)
    assert ingest.config.retention == RetentionPolicy.WORK_QUEUE
    assert ingest.config.subjects == [f"{bus.names.subject_prefix}.ingest.*"]
    committed = await bus.js.stream_info(bus.names.committed_stream)
    assert committed.config.duplicate_window == 120
    dead = await bus.js.stream_info(bus.names.deadletter_stream)
    assert dead.config.subjects == [f"{bus.names.subject_prefix}.deadletter.*"]


# --- the ingest worker ---------------------------------------------------------------------------


async def test_published_events_are_stored_exactly_once_with_gap_free_seq(
    bus: Bus, store: Store
) -> None:
    await publish_events(bus.nc, ORG, numbered(150), names=bus.names, events_per_message=7)
    with_ids = numbered(3, start=150)
    for n, event in enumerate(with_ids):
        event["id"] = f"given-{n}"
    await bus.js.publish(bus.names.ingest_subject(ORG), orjson.dumps(with_ids))
    await bus.js.publish(bus.names.ingest_subject(ORG), orjson.dumps(numbered(1, start=153)[0]))
    pretty = orjson.dumps(numbered(1, start=154)[0], option=orjson.OPT_INDENT_2)
    await bus.js.publish(bus.names.ingest_subject(ORG), pretty)
    other = numbered(20, location=WS_OTHER)
    await publish_events(bus.nc, OTHER_ORG, other, names=bus.names, events_per_message=1)

    counters = await run_until(
        worker_for(bus, store, batch_events=40).run,
        lambda: store.count_events(ORG) == 155 and store.count_events(OTHER_ORG) == 20,
        "every event stored",
    )

    assert stored_numbers(store, ORG) == list(range(155))
    assert stored_numbers(store, OTHER_ORG) == list(range(20))
    assert (counters.stored, counters.duplicates, counters.dead_lettered) == (175, 0, 0)
    assert {r.id for r in store.events_from(ORG, 150, 3)} == {"given-0", "given-1", "given-2"}
    await eventually(lambda: ingest_drained(bus), "every message acknowledged")


async def test_an_event_without_a_date_gets_the_time_the_stream_stored_it(
    bus: Bus, sqlite_store: Store
) -> None:
    before = int(time.time())
    await publish_events(bus.nc, ORG, numbered(1, date=None), names=bus.names)
    after = int(time.time())
    await run_until(
        worker_for(bus, sqlite_store).run, lambda: sqlite_store.count_events(ORG) == 1, "stored"
    )
    (record,) = sqlite_store.events_from(ORG, 0, 10)
    assert before <= record.date_create <= after + 1


async def test_refused_events_are_dead_lettered_with_the_reason_and_nothing_else_is_lost(
    bus: Bus, sqlite_store: Store
) -> None:
    subject = bus.names.ingest_subject(ORG)
    wrong_action = orjson.dumps(make_event("no_such_action"))
    lines = [orjson.dumps(numbered(1)[0]), wrong_action, orjson.dumps(numbered(1, 1)[0])]
    await bus.js.publish(subject, b"\n".join([*lines, b"{not json"]))
    await bus.js.publish(subject, b"this is not json")
    foreign = orjson.dumps(make_event(location=WS_OTHER))
    await bus.js.publish(subject, foreign)
    await bus.js.publish(subject, orjson.dumps([numbered(1, 2)[0], {"bogus": 1}]))

    counters = await run_until(
        worker_for(bus, sqlite_store).run, lambda: ingest_drained(bus), "every message handled"
    )

    assert stored_numbers(sqlite_store, ORG) == [0, 1, 2]
    assert counters.dead_lettered == 5
    letters = await read_subject(bus, bus.names.deadletter_subject(ORG), 5)
    got = {(int(m.headers[STREAM_SEQ]), m.headers.get(INDEX)): m for m in letters if m.headers}
    expected = {
        (1, "1"): (wrong_action, "unknown action 'no_such_action'"),
        (1, "3"): (b"{not json", "line 4 is not valid JSON"),
        (2, None): (b"this is not json", "message is not JSON"),
        (3, "0"): (foreign, "context.location belongs to another organization"),
        (4, "1"): (b'{"bogus":1}', "the event has unknown field 'bogus'"),
    }
    assert set(got) == set(expected)
    for key, (payload, reason) in expected.items():
        assert got[key].data == payload
        assert got[key].headers is not None
        assert got[key].headers[REASON].startswith(reason)


class ForgetsToAck(IngestWorker):
    """Commits, then never acknowledges: every message is redelivered after ack_wait."""

    async def _acknowledge(self, msgs: Any) -> None:
        return None


async def test_redelivered_messages_create_no_duplicates(bus: Bus, store: Store) -> None:
    await publish_events(bus.nc, ORG, numbered(60), names=bus.names, events_per_message=4)
    await bus.js.publish(bus.names.ingest_subject(ORG), orjson.dumps({"bogus": True}))
    ingestor = ingestor_for(store)
    first = ForgetsToAck(bus.js, store, ingestor, bus.names, batch_events=16, ack_wait_s=1)
    await run_until(first.run, lambda: store.count_events(ORG) == 60, "the first delivery")

    second = await run_until(
        worker_for(bus, store).run, lambda: ingest_drained(bus), "every redelivery handled"
    )

    assert stored_numbers(store, ORG) == list(range(60))
    assert (second.stored, second.duplicates) == (0, 60)
    # The refusal was published twice; the dead-letter stream kept it once.
    assert await stream_count(bus, bus.names.deadletter_stream) == 1


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_worker_killed_between_commit_and_ack_loses_nothing_and_duplicates_nothing(
    bus: Bus, store: Store, db_url: str, spawn: Spawn
) -> None:
    await publish_events(bus.nc, ORG, numbered(300), names=bus.names, events_per_message=3)
    crashing = spawn(
        [
            sys.executable,
            "-c",
            CRASHING_WORKER,
            bus.url,
            db_url,
            bus.names.subject_prefix,
            bus.names.stream_prefix,
        ]
    )
    assert await asyncio.to_thread(crashing.wait, WAIT_S) == -signal.SIGKILL
    committed_before_crash = store.count_events(ORG)
    assert 0 < committed_before_crash < 300

    counters = await run_until(
        worker_for(bus, store).run, lambda: ingest_drained(bus), "every message handled"
    )

    assert stored_numbers(store, ORG) == list(range(300))
    assert counters.duplicates == committed_before_crash
    assert counters.stored == 300 - committed_before_crash


async def test_the_cli_worker_killed_mid_stream_and_restarted_stores_everything_once(
    bus: Bus, sqlite_store: Store, sqlite_url: str, spawn: Spawn
) -> None:
    total = 3000
    await publish_events(bus.nc, ORG, numbered(total), names=bus.names, events_per_message=50)
    # The operator's choice of consumer settings, kept by the workers: redeliver after 1 s.
    await bus.js.add_consumer(bus.names.ingest_stream, consumer_config(bus.names, 1, 20))
    first = cli_process(spawn, "ingest_worker", bus, sqlite_url, "--batch", "500")
    await eventually(lambda: sqlite_store.count_events(ORG) > 0, "a first commit")
    first.kill()
    first.wait(WAIT_S)

    second = cli_process(spawn, "ingest_worker", bus, sqlite_url, "--batch", "500", "--relay")
    await eventually(lambda: sqlite_store.count_events(ORG) == total, "every event stored")
    committed = bus.names.committed_stream
    await eventually(lambda: _equals(stream_count(bus, committed), total), "every event relayed")
    log = stop_gracefully(second)

    assert stored_numbers(sqlite_store, ORG) == list(range(total))
    assert "ingest worker stopped" in log
    assert "relay stopped" in log
    await eventually(lambda: ingest_drained(bus), "every message acknowledged")


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


async def test_two_workers_share_the_work(bus: Bus, store: Store) -> None:
    await publish_events(bus.nc, ORG, numbered(1000), names=bus.names, events_per_message=1)
    stop = asyncio.Event()
    workers = [worker_for(bus, store, batch_events=50) for _ in range(2)]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        await eventually(lambda: store.count_events(ORG) == 1000, "every event stored")
    finally:
        stop.set()
    first, second = await asyncio.gather(*tasks)

    assert first.messages > 0
    assert second.messages > 0
    assert first.stored + second.stored == 1000
    assert stored_numbers(store, ORG) == list(range(1000))


async def test_a_worker_whose_consumer_was_deleted_stops_instead_of_idling(
    bus: Bus, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trailkeeper.bus.worker.IDLE_FETCHES_PER_CHECK", 1)
    worker = worker_for(bus, sqlite_store)
    running = asyncio.create_task(worker.run(asyncio.Event()))
    await eventually(lambda: _consumer_exists(bus), "the consumer created")
    await delete_streams(bus.js, bus.names)  # an operator removing the streams

    with pytest.raises(NotFoundError):
        await asyncio.wait_for(running, WAIT_S)


async def _consumer_exists(bus: Bus) -> bool:
    try:
        await bus.js.consumer_info(bus.names.ingest_stream, bus.names.worker_durable)
    except NotFoundError:
        return False
    return True


class FailsTwice:
    """A store whose first two appends fail, as when the database restarts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0

    def append(self, events: Any) -> list[AppendOutcome]:
        self.calls += 1
        if self.calls <= 2:
            raise StorageError("database is restarting")
        return self.store.append(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_a_failing_store_holds_the_messages_until_an_append_succeeds(
    bus: Bus, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trailkeeper.bus.worker.RETRY_FIRST_S", 0.05)
    await publish_events(bus.nc, ORG, numbered(30), names=bus.names)
    flaky = FailsTwice(sqlite_store)
    worker = IngestWorker(bus.js, flaky, ingestor_for(sqlite_store), bus.names)  # type: ignore[arg-type]

    counters = await run_until(worker.run, lambda: ingest_drained(bus), "the messages handled")

    assert flaky.calls == 3
    assert counters.stored == 30
    assert stored_numbers(sqlite_store, ORG) == list(range(30))


class SlowStore:
    """A store whose appends take 0.15 s."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, events: Any) -> list[AppendOutcome]:
        time.sleep(0.15)
        return self.store.append(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_messages_waiting_their_turn_in_a_long_batch_are_not_redelivered(
    bus: Bus, sqlite_store: Store
) -> None:
    await bus.js.add_consumer(bus.names.ingest_stream, consumer_config(bus.names, 1, 20))
    # Ten one-event messages teach the worker to fetch ten messages at a time; the next ten
    # hold ten events each: one fetch, ten commits of 0.15 s, past the 1 s ack_wait.
    await publish_events(bus.nc, ORG, numbered(10), names=bus.names, events_per_message=1)
    await publish_events(bus.nc, ORG, numbered(100, 10), names=bus.names, events_per_message=10)
    slow = SlowStore(sqlite_store)
    holder = IngestWorker(bus.js, slow, ingestor_for(sqlite_store), bus.names, batch_events=10)  # type: ignore[arg-type]
    stop = asyncio.Event()
    holding = asyncio.create_task(holder.run(stop))
    await eventually(lambda: sqlite_store.count_events(ORG) > 10, "the long batch begun", holding)
    # A second worker gets whatever JetStream redelivers meanwhile.
    other = await run_until(
        worker_for(bus, sqlite_store).run, lambda: ingest_drained(bus), "every message handled"
    )
    stop.set()
    counters = await holding

    assert (counters.stored, counters.duplicates, other.messages) == (110, 0, 0)
    assert stored_numbers(sqlite_store, ORG) == list(range(110))


# --- the relay -----------------------------------------------------------------------------------


def positions_reached(store: Store, names: BusNames, targets: dict[str, int]) -> Callable[[], bool]:
    return lambda: all(
        store.get_position(names.relay_consumer, org) == n for org, n in targets.items()
    )


async def assert_published_once_in_order(bus: Bus, store: Store, org_id: str, count: int) -> None:
    msgs = await read_subject(bus, bus.names.committed_subject(org_id), count)
    records = store.events_from(org_id, 0, count + 1)
    assert len(msgs) == len(records) == count
    for msg, record in zip(msgs, records, strict=True):
        assert msg.headers is not None
        assert msg.headers[SEQ] == str(record.seq)
        assert msg.headers[MSG_ID] == f"{org_id}:{record.seq}"
        assert msg.headers[messages.EVENT_ID] == record.id
        assert msg.data == record.body


async def test_the_relay_publishes_every_committed_event_once_in_seq_order(
    bus: Bus, store: Store
) -> None:
    ingestor = ingestor_for(store)
    ingestor.ingest(numbered(250))
    ingestor.ingest(numbered(40, location=WS_OTHER))
    relay = CommittedRelay(bus.js, store, bus.names, batch=100)

    counters = await run_until(
        relay.run, positions_reached(store, bus.names, {ORG: 250, OTHER_ORG: 40}), "relayed"
    )

    assert (counters.published, counters.duplicates) == (290, 0)
    await assert_published_once_in_order(bus, store, ORG, 250)
    await assert_published_once_in_order(bus, store, OTHER_ORG, 40)


async def test_the_relay_resumes_after_a_restart_without_gaps_or_repeats(
    bus: Bus, sqlite_store: Store
) -> None:
    ingestor = ingestor_for(sqlite_store)
    ingestor.ingest(numbered(100))
    targets = positions_reached(sqlite_store, bus.names, {ORG: 100})
    await run_until(CommittedRelay(bus.js, sqlite_store, bus.names, batch=30).run, targets, "100")
    ingestor.ingest(numbered(50, start=100))
    # A crash after publishing and before recording the position: the record lags behind.
    sqlite_store.set_position(bus.names.relay_consumer, ORG, 60)

    restarted = CommittedRelay(bus.js, sqlite_store, bus.names, batch=30)
    targets = positions_reached(sqlite_store, bus.names, {ORG: 150})
    counters = await run_until(restarted.run, targets, "150")

    assert (counters.published, counters.duplicates) == (50, 0)
    await assert_published_once_in_order(bus, sqlite_store, ORG, 150)


async def test_a_republished_committed_event_is_dropped_by_the_duplicate_window(
    bus: Bus, store: Store
) -> None:
    ingestor_for(store).ingest(numbered(10))
    records = store.events_from(ORG, 0, 10)
    assert await publish_committed(bus.js, bus.names, records) == 0
    assert await publish_committed(bus.js, bus.names, records[3:]) == 7
    await assert_published_once_in_order(bus, store, ORG, 10)


async def test_the_relay_command_publishes_and_stops_on_sigterm(
    bus: Bus, sqlite_store: Store, sqlite_url: str, spawn: Spawn
) -> None:
    ingestor_for(sqlite_store).ingest(numbered(25))
    relay = cli_process(spawn, "relay", bus, sqlite_url)
    committed = bus.names.committed_stream
    await eventually(lambda: _equals(stream_count(bus, committed), 25), "every event relayed")
    assert "relay stopped: published 25 events" in stop_gracefully(relay)
    await assert_published_once_in_order(bus, sqlite_store, ORG, 25)


# --- the command line ----------------------------------------------------------------------------


def test_an_unreachable_nats_is_one_line_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_cli, "FIRST_CONNECT_DEADLINE_S", 0.5)
    env = {"TRAILKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(
        workers_cli.ingest_worker, ["--nats-url", "nats://127.0.0.1:1"], env=env
    )
    assert result.exit_code == 1
    assert "cannot reach NATS at nats://127.0.0.1:1" in result.output
