"""The ingest worker: JetStream messages -> the HTTP path's validation -> one append -> acks.

A message is acknowledged only after the append holding its events has committed, so a crash at
any point leaves it in the stream to be redelivered; an event sent without an id gets one derived
from its message, so a redelivered copy is recognized by the store and not stored twice. A message
for an organization whose recording is paused is parked: held unacknowledged (in progress, which
spends none of its deliveries) until the pause ends, while other organizations' messages flow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from trailkeeper.bus.lifecycle import pause
from trailkeeper.bus.messages import (
    MSG_ID,
    DeadLetter,
    Delivery,
    MalformedMessage,
    deadletter_headers,
    decode_message,
    delivery_origin,
    estimated_events,
    with_defaults,
)
from trailkeeper.bus.streams import BusNames
from trailkeeper.errors import StorageError
from trailkeeper.events import AppendOutcome, PreparedEvent
from trailkeeper.ingest import Ingestor
from trailkeeper.storage.base import EventStore

log = logging.getLogger(__name__)

DEFAULT_BATCH_EVENTS = 5000
DEFAULT_ACK_WAIT_S = 30.0
DEFAULT_MAX_DELIVER = 20
MAX_ACK_PENDING = 100_000
FETCH_TIMEOUT_S = 1.0
FIRST_FETCH_MESSAGES = 100
IDLE_FETCHES_PER_CHECK = 30  # empty fetches (about 30 s) between checks that the consumer exists
PUBLISH_TIMEOUT_S = 10.0
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0
REPORT_EVERY_S = 10.0
UNKNOWN_ORG = "_"  # dead-letter subject token for a message whose subject names no organization


@dataclass
class WorkerCounters:
    """What a worker has done since it started."""

    messages: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0

    def summary(self) -> str:
        """One log line."""
        return (
            f"processed {self.messages} messages ({self.events} events): stored {self.stored}, "
            f"duplicates {self.duplicates}, dead-lettered {self.dead_lettered}"
        )


@dataclass
class Chunk:
    """A fetched batch, validated: the events to append and the refusals to dead-letter."""

    msgs: Sequence[Msg]
    events: list[PreparedEvent] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    pieces: int = 0


def delivery_of(msg: Msg) -> Delivery:
    """The parts of a fetched message the worker uses."""
    meta = msg.metadata
    headers = msg.headers or {}
    return Delivery(
        subject=msg.subject,
        data=msg.data,
        stream_seq=meta.sequence.stream,
        stored_at=int(meta.timestamp.timestamp()),
        msg_id=headers.get(MSG_ID),
    )


def consumer_config(names: BusNames, ack_wait_s: float, max_deliver: int) -> ConsumerConfig:
    """The durable pull consumer every worker shares: explicit acks, bounded redelivery."""
    return ConsumerConfig(
        durable_name=names.worker_durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=max_deliver,
        max_ack_pending=MAX_ACK_PENDING,
        filter_subject=names.all_subjects("ingest"),
    )


class IngestWorker:
    """One member of the shared durable pull consumer of the ingest stream."""

    def __init__(
        self,
        js: JetStreamContext,
        store: EventStore,
        ingestor: Ingestor,
        names: BusNames | None = None,
        *,
        batch_events: int = DEFAULT_BATCH_EVENTS,
        max_events_per_message: int = 10_000,
        ack_wait_s: float = DEFAULT_ACK_WAIT_S,
        max_deliver: int = DEFAULT_MAX_DELIVER,
    ) -> None:
        self._js = js
        self._store = store
        self._ingestor = ingestor
        self._names = names or BusNames()
        self._batch_events = batch_events
        self._max_events_per_message = max_events_per_message
        self._ack_wait_s = ack_wait_s
        self._max_deliver = max_deliver
        self._events_per_message: float | None = None  # running average: messages to fetch
        self._identity = ""
        self._idle_fetches = 0
        self._stop = asyncio.Event()
        self._parked: list[Msg] = []  # messages of paused organizations, held unacknowledged
        self._parked_held = 0.0
        self.counters = WorkerCounters()

    async def run(self, stop: asyncio.Event) -> WorkerCounters:
        """Consume until `stop` is set; the messages in hand are committed and acked first."""
        self._stop = stop
        sub = await self._subscribe()
        self._identity = await self._stream_identity()
        reported = (time.monotonic(), 0)
        try:
            while not stop.is_set():
                ready = await self._unpark()
                groups = self._groups([*ready, *await self._fetch(sub)])
                held_since = time.monotonic()
                for n, group in enumerate(groups):
                    if time.monotonic() - held_since > self._ack_wait_s / 3:
                        await self._hold([msg for later in groups[n:] for msg in later])
                        held_since = time.monotonic()
                    await self._commit(group)
                reported = self._report(reported)
        finally:
            await self._release(self._parked)
            await sub.unsubscribe()
        log.info("ingest worker stopped: %s", self.counters.summary())
        return self.counters

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        # Binds to the consumer when it exists: whoever created it chose its ack_wait.
        config = consumer_config(self._names, self._ack_wait_s, self._max_deliver)
        sub = await self._js.pull_subscribe(
            self._names.all_subjects("ingest"),
            durable=self._names.worker_durable,
            stream=self._names.ingest_stream,
            config=config,
        )
        self._ack_wait_s = (await sub.consumer_info()).config.ack_wait or self._ack_wait_s
        return sub

    async def _stream_identity(self) -> str:
        # Sequence numbers restart when a stream is deleted and created again; its creation
        # time tells the two apart, so derived ids of the new stream are new ids.
        info = await self._js.stream_info(self._names.ingest_stream)
        created = info.created.isoformat() if info.created else ""
        return f"{self._names.ingest_stream}@{created}"

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        if self._events_per_message is None:  # sizes unknown yet: a small first fetch
            wanted = FIRST_FETCH_MESSAGES
        else:
            wanted = round(self._batch_events / self._events_per_message)
        try:
            return await sub.fetch(max(1, min(self._batch_events, wanted)), timeout=FETCH_TIMEOUT_S)
        except TimeoutError:
            self._idle_fetches += 1
            if self._idle_fetches % IDLE_FETCHES_PER_CHECK == 0:
                # A deleted consumer or stream only looks idle; NotFoundError ends the worker,
                # and its supervisor's restart creates them again.
                await sub.consumer_info()
            return []

    def _groups(self, msgs: Sequence[Msg]) -> list[list[Msg]]:
        """Consecutive messages of about `batch_events` events each (at least one message)."""
        groups: list[list[Msg]] = []
        size = self._batch_events
        for msg in msgs:
            events = estimated_events(msg.data)
            if size + events > self._batch_events:
                groups.append([])
                size = 0
            groups[-1].append(msg)
            size += events
            average = self._events_per_message or events
            self._events_per_message = 0.9 * average + 0.1 * events
        return groups

    # --- organizations whose recording is paused --------------------------------------------

    async def _paused_orgs(self) -> set[str]:
        return set(await asyncio.to_thread(self._ingestor.pauses.pauses))

    async def _park_paused(self, msgs: Sequence[Msg]) -> list[Msg]:
        """The messages to commit now; those of paused organizations are parked."""
        paused = await self._paused_orgs()
        if not paused:
            return list(msgs)
        if not self._parked:
            self._parked_held = time.monotonic()
        parked = [m for m in msgs if self._names.org_of(m.subject) in paused]
        if parked:
            log.info("recording paused: %d messages parked until it resumes", len(parked))
            # A copy redelivered meanwhile replaces the parked one (whose ack is void now).
            again = {m.metadata.sequence.stream for m in parked}
            self._parked = [m for m in self._parked if m.metadata.sequence.stream not in again]
        self._parked.extend(parked)
        return [m for m in msgs if self._names.org_of(m.subject) not in paused]

    async def _unpark(self) -> list[Msg]:
        """Parked messages whose organization resumed; the others' ack_wait is restarted."""
        if not self._parked:
            return []
        paused = await self._paused_orgs()
        ready = [m for m in self._parked if self._names.org_of(m.subject) not in paused]
        self._parked = [m for m in self._parked if self._names.org_of(m.subject) in paused]
        if self._parked and time.monotonic() - self._parked_held > self._ack_wait_s / 3:
            await self._hold(self._parked)
            self._parked_held = time.monotonic()
        return ready

    # --- validation and commit ------------------------------------------------------------

    def _prepare(self, msgs: Sequence[Msg]) -> Chunk:
        chunk = Chunk(msgs)
        for msg in msgs:
            self._prepare_delivery(delivery_of(msg), chunk)
        return chunk

    def _prepare_delivery(self, delivery: Delivery, chunk: Chunk) -> None:
        org_id = self._names.org_of(delivery.subject)
        if org_id is None:
            reason = f"subject {delivery.subject[:100]!r} names no organization"
            chunk.dead.append(
                DeadLetter(UNKNOWN_ORG, delivery.data, reason, delivery.stream_seq, None)
            )
            return
        try:
            pieces = decode_message(delivery.data, max_events=self._max_events_per_message)
        except MalformedMessage as exc:
            chunk.dead.append(
                DeadLetter(org_id, delivery.data, exc.reason, delivery.stream_seq, None)
            )
            return
        chunk.pieces += len(pieces)
        origin = delivery_origin(delivery, self._identity)
        items, indexes = [], []
        for index, piece in enumerate(pieces):
            if piece.error is not None:
                chunk.dead.append(
                    DeadLetter(org_id, piece.raw, piece.error, delivery.stream_seq, index)
                )
                continue
            items.append(with_defaults(piece.item, org_id, origin, index, delivery.stored_at))
            indexes.append(index)
        prepared, rejected = self._ingestor.prepare(items, org_scope=org_id)
        chunk.events.extend(prepared)
        for rejection in rejected:
            index = indexes[rejection.index]
            chunk.dead.append(
                DeadLetter(org_id, pieces[index].raw, rejection.reason, delivery.stream_seq, index)
            )

    async def _commit(self, msgs: Sequence[Msg]) -> None:
        # One step at a time, in stream order. Overlapping validation with the previous append
        # measured slower: the append then waits for the GIL after every SQLite step.
        msgs = await self._park_paused(msgs)
        if not msgs:
            return
        chunk = await asyncio.to_thread(self._prepare, msgs)
        outcomes = await self._append(chunk)
        if outcomes is None:
            await self._release(chunk.msgs)
            return
        if not await self._publish_dead_letters(chunk.dead):
            await self._release(chunk.msgs)
            return
        await self._acknowledge(chunk.msgs)
        duplicates = sum(1 for o in outcomes if o.duplicate)
        self.counters.messages += len(chunk.msgs)
        self.counters.events += chunk.pieces
        self.counters.stored += len(outcomes) - duplicates
        self.counters.duplicates += duplicates
        self.counters.dead_lettered += len(chunk.dead)

    async def _append(self, chunk: Chunk) -> list[AppendOutcome] | None:
        """The append's outcomes; None when stopping while the store keeps failing."""
        delay = RETRY_FIRST_S
        while True:
            try:
                return await asyncio.to_thread(self._store.append, chunk.events)
            except StorageError as exc:
                if self._stop.is_set():
                    log.warning("append failed while stopping (%s); messages released", exc)
                    return None
                log.warning("append failed (%s); retrying in %.1f s, messages held", exc, delay)
            await self._hold(chunk.msgs)
            await pause(self._stop, delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _publish_dead_letters(self, letters: Sequence[DeadLetter]) -> bool:
        if not letters:
            return True
        try:
            futures = [
                await self._js.publish_async(
                    self._names.deadletter_subject(letter.org_id),
                    letter.payload,
                    headers=deadletter_headers(letter, self._identity),
                )
                for letter in letters
            ]
            await asyncio.wait_for(asyncio.gather(*futures), PUBLISH_TIMEOUT_S)
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("dead-letter publish failed (%s); messages released", exc)
            return False
        return True

    async def _acknowledge(self, msgs: Sequence[Msg]) -> None:
        for msg in msgs:
            await msg.ack()

    async def _hold(self, msgs: Sequence[Msg]) -> None:
        # Fetched messages still waiting for their turn: restart their ack_wait, or JetStream
        # would hand them to another worker meanwhile.
        for msg in msgs:
            await msg.in_progress()

    async def _release(self, msgs: Sequence[Msg]) -> None:
        # Their events may be committed already: the redelivered copies are duplicates.
        for msg in msgs:
            await msg.nak(delay=RETRY_FIRST_S)

    def _report(self, last: tuple[float, int]) -> tuple[float, int]:
        now, done = time.monotonic(), self.counters.messages
        if now - last[0] < REPORT_EVERY_S:
            return last
        if done != last[1]:
            log.info("ingest worker: %s", self.counters.summary())
        return now, done
