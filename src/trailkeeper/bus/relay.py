"""The relay: committed events, tailed from the store like an outbox, published to JetStream.

For each organization it reads the events past its recorded position, publishes each to
`<prefix>.committed.<org>` with `Nats-Msg-Id: <org>:<seq>`, waits for every publish ack, and only
then records the new position. A crash before the record repeats a publish; JetStream's duplicate
window drops the repeat, and the resume point also skips what the stream already holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from trailkeeper.bus.lifecycle import pause
from trailkeeper.bus.messages import SEQ, committed_headers
from trailkeeper.bus.streams import BusNames
from trailkeeper.errors import StorageError
from trailkeeper.events import EventRecord
from trailkeeper.storage.base import EventStore, PositionStore

log = logging.getLogger(__name__)

DEFAULT_RELAY_BATCH = 1000
DEFAULT_POLL_S = 0.2
PUBLISH_TIMEOUT_S = 30.0
RETRY_S = 1.0
REPORT_EVERY_S = 10.0


class RelayStore(EventStore, PositionStore, Protocol):
    """What the relay needs of a store: the log and consumer positions."""


@dataclass
class RelayCounters:
    """What a relay has published since it started (duplicates: dropped by JetStream)."""

    published: int = 0
    duplicates: int = 0

    def summary(self) -> str:
        """One log line."""
        return f"published {self.published} events, {self.duplicates} already in the stream"


async def publish_committed(
    js: JetStreamContext,
    names: BusNames,
    records: Sequence[EventRecord],
    *,
    timeout_s: float = PUBLISH_TIMEOUT_S,
) -> int:
    """Publish events in order and wait for every ack; returns how many were duplicates."""
    futures = [
        await js.publish_async(
            names.committed_subject(record.org_id),
            record.body,
            headers=committed_headers(record.org_id, record.seq, record.id),
        )
        for record in records
    ]
    acks = await asyncio.wait_for(asyncio.gather(*futures), timeout_s)
    return sum(1 for ack in acks if ack.duplicate)


class CommittedRelay:
    """Publishes every organization's committed events once, in sequence order."""

    def __init__(
        self,
        js: JetStreamContext,
        store: RelayStore,
        names: BusNames | None = None,
        *,
        batch: int = DEFAULT_RELAY_BATCH,
        poll_s: float = DEFAULT_POLL_S,
    ) -> None:
        self._js = js
        self._store = store
        self._names = names or BusNames()
        self._batch = batch
        self._poll_s = poll_s
        self._next: dict[str, int] = {}
        self.counters = RelayCounters()

    async def run(self, stop: asyncio.Event) -> RelayCounters:
        """Relay until `stop` is set, polling every `poll_s` when there is nothing new."""
        reported = (time.monotonic(), 0)
        while not stop.is_set():
            try:
                moved = await self.relay_once()
            except (TimeoutError, StorageError, nats.errors.Error) as exc:
                log.warning("relay round failed (%s); retrying in %.1f s", exc, RETRY_S)
                await pause(stop, RETRY_S)
                continue
            if not moved:
                await pause(stop, self._poll_s)
            reported = self._report(reported)
        log.info("relay stopped: %s", self.counters.summary())
        return self.counters

    async def relay_once(self) -> int:
        """One round over the organizations: how many events were published."""
        moved = 0
        for org_id in await asyncio.to_thread(self._store.organizations_with_events):
            moved += await self._relay_org(org_id)
        return moved

    async def _relay_org(self, org_id: str) -> int:
        start = await self._resume_point(org_id)
        records = await asyncio.to_thread(self._store.events_from, org_id, start, self._batch)
        if not records:
            return 0
        duplicates = await publish_committed(self._js, self._names, records)
        next_seq = records[-1].seq + 1
        await asyncio.to_thread(
            self._store.set_position, self._names.relay_consumer, org_id, next_seq
        )
        self._next[org_id] = next_seq
        self.counters.published += len(records) - duplicates
        self.counters.duplicates += duplicates
        return len(records)

    async def _resume_point(self, org_id: str) -> int:
        """Where to go on: past the recorded position and past what the stream already holds."""
        if org_id in self._next:
            return self._next[org_id]
        recorded = await asyncio.to_thread(
            self._store.get_position, self._names.relay_consumer, org_id
        )
        published = await self._last_published(org_id)
        self._next[org_id] = max(recorded, published + 1)
        return self._next[org_id]

    async def _last_published(self, org_id: str) -> int:
        """The seq of the organization's last message in the committed stream (-1: none)."""
        try:
            last = await self._js.get_last_msg(
                self._names.committed_stream, self._names.committed_subject(org_id)
            )
        except NotFoundError:
            return -1
        return int((last.headers or {}).get(SEQ, -1))

    def _report(self, last: tuple[float, int]) -> tuple[float, int]:
        now, done = time.monotonic(), self.counters.published
        if now - last[0] < REPORT_EVERY_S:
            return last
        if done != last[1]:
            log.info("relay: %s", self.counters.summary())
        return now, done
