"""The committed-event relay round by round against a real nats-server: an empty log, batch
bounds per round, where it resumes when the stream or the recorded position is ahead, and a
recreated stream. Skips without JetStream, except in CI (CI=true), where it fails."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER, make_event
from trailkeeper.bus.messages import SEQ
from trailkeeper.bus.relay import CommittedRelay, RelayCounters
from trailkeeper.bus.streams import BusNames, delete_streams, ensure_streams
from trailkeeper.catalog import load_catalog
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

NATS_URL = os.environ.get("TRAILKEEPER_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def _reachable() -> None:
    nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


@pytest.fixture(scope="module")
def nats_url() -> str:
    try:
        asyncio.run(asyncio.wait_for(_reachable(), 10))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no nats-server with JetStream at {NATS_URL}; CI requires one ({exc})")
        pytest.skip(f"no nats-server with JetStream at {NATS_URL}")
    return NATS_URL


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[tuple[JetStreamContext, BusNames]]:
    tag = secrets.token_hex(5)
    names = BusNames(subject_prefix=f"tkrelay{tag}", stream_prefix=f"TKRELAY{tag}")
    nc = await nats.connect(nats_url)
    context = nc.jetstream()
    await ensure_streams(context, names)
    yield context, names
    await delete_streams(context, names)
    await nc.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'relay.db'}")
    s.migrate()
    admin.create_organization(s, ORG, "Test Org", "testorg")
    admin.create_workspace(s, WS_A, ORG, "Alpha", "alpha")
    admin.create_organization(s, OTHER_ORG, "Other Org", "otherorg")
    admin.create_workspace(s, WS_OTHER, OTHER_ORG, "Other", "other")
    yield s
    s.close()


def ingest(store: Store, count: int, location: str = WS_A) -> None:
    ingestor = Ingestor(store, load_catalog(), LocationIndex(store), max_event_bytes=64 * 1024)
    ingestor.ingest([make_event(details={"n": n}, location=location) for n in range(count)])


async def stream_seqs(js: JetStreamContext, names: BusNames, org_id: str) -> list[int]:
    info = await js.stream_info(names.committed_stream)
    seqs = []
    for stream_seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(names.committed_stream, stream_seq)
        if msg.subject == names.committed_subject(org_id):
            seqs.append(int((msg.headers or {})[SEQ]))
    return seqs


async def test_an_empty_log_relays_nothing_and_records_nothing(
    js: tuple[JetStreamContext, BusNames], store: Store
) -> None:
    context, names = js
    relay = CommittedRelay(context, store, names)
    assert await relay.relay_once() == 0
    assert store.get_position(names.relay_consumer, ORG) == 0
    assert relay.counters == RelayCounters(0, 0)


async def test_each_round_moves_at_most_a_batch_per_organization(
    js: tuple[JetStreamContext, BusNames], store: Store
) -> None:
    context, names = js
    ingest(store, 10)
    ingest(store, 3, WS_OTHER)
    relay = CommittedRelay(context, store, names, batch=4)
    rounds = [await relay.relay_once() for _ in range(4)]
    assert rounds == [7, 4, 2, 0]  # 4 + 3, then 4, then 2, then nothing
    assert store.get_position(names.relay_consumer, ORG) == 10
    assert store.get_position(names.relay_consumer, OTHER_ORG) == 3
    assert await stream_seqs(context, names, ORG) == list(range(10))


async def test_a_relay_resumes_past_what_the_stream_already_holds(
    js: tuple[JetStreamContext, BusNames], store: Store
) -> None:
    context, names = js
    ingest(store, 8)
    await CommittedRelay(context, store, names, batch=5).relay_once()  # publishes seq 0-4
    store.set_position(names.relay_consumer, ORG, 0)  # the record was lost
    restarted = CommittedRelay(context, store, names)
    assert await restarted.relay_once() == 3
    assert restarted.counters == RelayCounters(3, 0)
    assert await stream_seqs(context, names, ORG) == list(range(8))


async def test_a_recorded_position_ahead_of_the_stream_is_respected(
    js: tuple[JetStreamContext, BusNames], store: Store
) -> None:
    context, names = js
    ingest(store, 6)
    store.set_position(names.relay_consumer, ORG, 4)
    assert await CommittedRelay(context, store, names).relay_once() == 2
    assert await stream_seqs(context, names, ORG) == [4, 5]


async def test_a_recreated_stream_gets_the_log_again_from_the_recorded_position(
    js: tuple[JetStreamContext, BusNames], store: Store
) -> None:
    context, names = js
    ingest(store, 5)
    await CommittedRelay(context, store, names).relay_once()
    await delete_streams(context, names)
    await ensure_streams(context, names)
    store.set_position(names.relay_consumer, ORG, 0)
    again = CommittedRelay(context, store, names)
    assert await again.relay_once() == 5
    assert again.counters.duplicates == 0
    assert await stream_seqs(context, names, ORG) == list(range(5))
