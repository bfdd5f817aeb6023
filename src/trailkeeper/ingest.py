"""Ingest: a payload becomes validated events, appended durably; rejects are reported per event.

Both edges use this one path: the HTTP ingest API, the `trailkeeper ingest` command and the
in-process `Recorder`. An organization whose recording is paused has its events refused here
(`LoggingPaused`, retryable) before anything is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from trailkeeper.catalog import Catalog
from trailkeeper.errors import InvalidPayload
from trailkeeper.events import PreparedEvent
from trailkeeper.integrity.pauses import PauseGate
from trailkeeper.storage.base import EventStore
from trailkeeper.validation import EventRejected, LocationResolver, prepare_event


@dataclass(frozen=True)
class Rejection:
    """Why the event at `index` of a batch was refused."""

    index: int
    reason: str


@dataclass
class IngestReport:
    """The outcome of one batch: accepted ids (new and already stored) and rejections."""

    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Events newly stored by this batch."""
        return len(self.accepted) - len(self.duplicates)


def parse_batch(body: bytes, *, max_events: int) -> list[object]:
    """A JSON array of events, or newline-delimited JSON, as a list of decoded items."""
    text = body.strip()
    if not text:
        raise InvalidPayload("empty body")
    if text.startswith(b"["):
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidPayload(
                f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
    else:
        items = [
            _ndjson_line(line, n) for n, line in enumerate(body.splitlines(), 1) if line.strip()
        ]
    if len(items) > max_events:
        raise InvalidPayload(f"at most {max_events} events per batch")
    return list(items)


def _ndjson_line(line: bytes, number: int) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(f"line {number} is not valid JSON: {exc.msg}") from exc


class Ingestor:
    """Validates batches against the catalog and appends them to the store."""

    def __init__(
        self,
        store: EventStore,
        catalog: Catalog,
        resolve: LocationResolver,
        *,
        max_event_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._resolve = resolve
        self._max_event_bytes = max_event_bytes
        self._clock = clock
        self.pauses = PauseGate(store)

    def prepare(
        self, items: Iterable[object], org_scope: str | None = None
    ) -> tuple[list[PreparedEvent], list[Rejection]]:
        """Validate each item; `org_scope` confines the batch to one organization (a token's)."""
        now = int(self._clock())
        prepared, rejected = [], []
        for index, item in enumerate(items):
            try:
                prepared.append(
                    prepare_event(
                        item,
                        self._catalog,
                        self._resolve,
                        now=now,
                        max_event_bytes=self._max_event_bytes,
                        org_scope=org_scope,
                    )
                )
            except EventRejected as exc:
                rejected.append(Rejection(index, exc.reason))
        return prepared, rejected

    def ingest(self, items: Sequence[object], org_scope: str | None = None) -> IngestReport:
        """Validate and durably store a batch; returns only after the commit.

        Without `org_scope` the caller is trusted (in-process): the log's own events about
        itself (purges, key changes, pause and resume) pass even a paused organization.
        """
        prepared, rejected = self.prepare(items, org_scope)
        return self.commit(prepared, rejected, own_allowed=org_scope is None)

    def commit(
        self,
        prepared: Sequence[PreparedEvent],
        rejected: list[Rejection],
        *,
        own_allowed: bool = False,
    ) -> IngestReport:
        """Durably store validated events and report on the whole batch (`LoggingPaused`, and
        nothing stored, if one is for an organization whose recording is paused)."""
        self.pauses.check(prepared, own_allowed=own_allowed)
        outcomes = self._store.append(prepared)
        self.pauses.note_committed(prepared)
        report = IngestReport(rejected=rejected)
        for outcome in outcomes:
            report.accepted.append(outcome.id)
            if outcome.duplicate:
                report.duplicates.append(outcome.id)
        return report
