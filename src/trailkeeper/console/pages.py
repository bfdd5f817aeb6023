"""The console's pages as view models over the Store protocol: a page of the log, counts per
action, an event with its neighbourhood (the actor's recent activity, its session and address,
what an anomaly cites) and its inclusion-proof status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from trailkeeper.catalog import Catalog
from trailkeeper.console.anomalies import AnomalyView, anomaly_view, trigger_ids
from trailkeeper.console.filters import ConsoleFilter, format_time
from trailkeeper.console.search import ActionCounts, EventQuery
from trailkeeper.console.views import EventSummary, decode, describe, summarize
from trailkeeper.errors import NotFound, StorageError
from trailkeeper.events import StoredRow
from trailkeeper.integrity.checkpoint import (
    VerifierKey,
    verify_checkpoint,
    verify_checkpoint_inclusion,
)
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.query import Position
from trailkeeper.storage.base import Store

RELATED = 10  # events per neighbourhood list on the detail page


@dataclass(frozen=True)
class Reader:
    """One organization's log, read through the store with the console's bounds."""

    store: Store
    catalog: Catalog
    org_id: str
    window: int

    def page(self, query: EventQuery, start: Position | None, limit: int) -> LogPage:
        """One page of events (never more than `limit`), and where the next one starts."""
        found = self.store.search_events(self.org_id, query, start, limit + 1, self.window)
        rows = found.rows[:limit]
        if len(found.rows) > limit:
            last = rows[-1]
            return LogPage(self._summaries(rows), Position(last.date_create, last.seq))
        return LogPage(self._summaries(rows), found.searched_to, found.searched_to is not None)

    def anomalies(self, query: EventQuery, start: Position | None, limit: int) -> AnomalyPage:
        """One page of anomaly events matching the query (its actions are replaced)."""
        only = replace(query, actions=("anomaly",))
        found = self.store.search_events(self.org_id, only, start, limit + 1, self.window)
        rows = found.rows[:limit]
        views = [anomaly_view(r, self.catalog) for r in rows]
        if len(found.rows) > limit:
            return AnomalyPage(views, Position(rows[-1].date_create, rows[-1].seq))
        return AnomalyPage(views, found.searched_to, found.searched_to is not None)

    def counts(self, query: EventQuery) -> Chart:
        """Counts per action for the chart."""
        return chart(self.store.count_actions(self.org_id, query, self.window), self.catalog)

    def event(self, event_id: str) -> StoredRow | None:
        """One event by id."""
        found = self.store.events_by_id(self.org_id, [event_id])
        return found[0] if found else None

    def recent(self, query: EventQuery, exclude: str, limit: int = RELATED) -> list[EventSummary]:
        """The newest events matching `query`, but not the event `exclude`."""
        rows = self.store.search_events(self.org_id, query, None, limit + 1, self.window).rows
        summaries = self._summaries(rows)
        return [s for s in summaries if s.id != exclude][:limit]

    def by_ids(self, ids: tuple[str, ...]) -> list[EventSummary]:
        """Events by id, newest first (unknown ids are left out)."""
        return self._summaries(self.store.events_by_id(self.org_id, ids))

    def _summaries(self, rows: list[StoredRow]) -> list[EventSummary]:
        return [summarize(r, self.catalog) for r in rows]


@dataclass(frozen=True)
class LogPage:
    """Events of one page; `next_position` continues after them. `bounded`: the search read its
    whole window first, so `next_position` is where it stopped looking, not the last match."""

    events: list[EventSummary]
    next_position: Position | None
    bounded: bool = False

    @property
    def searched_to(self) -> str:
        """How far back a bounded search looked, as a time."""
        return format_time(self.next_position.date_create) if self.next_position else ""


@dataclass(frozen=True)
class AnomalyPage:
    """Anomalies of one page (see LogPage)."""

    anomalies: list[AnomalyView]
    next_position: Position | None
    bounded: bool = False


@dataclass(frozen=True)
class Bar:
    """One action's bar: its count and its length relative to the largest (0-1000)."""

    action: str
    description: str
    count: int
    length: int


@dataclass(frozen=True)
class Chart:
    """Counts per action as bars, and how far back they reach when incomplete."""

    bars: tuple[Bar, ...]
    total: int
    complete: bool
    counted_to: str = ""


def chart(counts: ActionCounts, catalog: Catalog) -> Chart:
    """The bars of a count (most frequent first, lengths scaled to the largest)."""
    top = max((n for _, n in counts.counts), default=0) or 1
    bars = tuple(
        Bar(action, describe(action, catalog), n, max(1, n * 1000 // top))
        for action, n in counts.counts
    )
    since = format_time(counts.counted_to) if counts.counted_to is not None else ""
    return Chart(bars, counts.total, counts.complete, since)


# --- the detail page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofStatus:
    """Whether the event is provably in a signed checkpoint of the organization's tree."""

    state: str  # verified | pending | failed | unavailable
    message: str
    leaf_index: int | None = None
    tree_size: int | None = None


def proof_status(integrity: IntegrityService, org_id: str, event_id: str) -> ProofStatus:
    """Build the event's inclusion proof and verify it against the latest signed checkpoint
    with the service's published keys (what `trailkeeper verify` does, server-side)."""
    try:
        proof = integrity.inclusion(org_id, event_id)
        keys = [VerifierKey.from_vkey(k.vkey) for k in integrity.public_keys()]
        checkpoint = verify_checkpoint(
            proof.checkpoint or "", keys, origin=integrity.origin(org_id)
        )
        verify_checkpoint_inclusion(checkpoint, proof.leaf_hash, proof.leaf_index, proof.proof)
    except NotFound as exc:
        return ProofStatus("pending", str(exc))
    except IntegrityError as exc:
        return ProofStatus("failed", str(exc)[:300])
    except StorageError as exc:
        return ProofStatus("unavailable", str(exc)[:300])
    message = f"Leaf {proof.leaf_index} of the signed checkpoint of {proof.tree_size} events."
    return ProofStatus("verified", message, proof.leaf_index, proof.tree_size)


@dataclass(frozen=True)
class Neighbourhood:
    """A list of related events and the filter that shows all of them in the log."""

    title: str
    filter: ConsoleFilter
    events: list[EventSummary]


@dataclass(frozen=True)
class EventDetail:
    """An event, its exact bytes, what is near it and whether its inclusion is proven."""

    event: EventSummary
    exact: str
    pretty: str
    proof: ProofStatus
    anomaly: AnomalyView | None = None
    triggers: list[EventSummary] = field(default_factory=list)
    related: list[Neighbourhood] = field(default_factory=list)


def _pretty(row: StoredRow) -> str:
    value = decode(row.body)
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) if value else ""


def _neighbourhoods(reader: Reader, event: EventSummary) -> list[Neighbourhood]:
    lists: list[tuple[str, ConsoleFilter, EventQuery]] = []
    if event.actor.id:
        title = f"Recent activity of {event.actor.label or event.actor.id}"
        lists.append((title, ConsoleFilter(range="all", actor=event.actor.id),
                      EventQuery(actor=event.actor.id)))  # fmt: skip
    if event.session_id.isdigit():
        lists.append(("Same session", ConsoleFilter(range="all", session=event.session_id),
                      EventQuery(session=int(event.session_id))))  # fmt: skip
    if event.ip:
        lists.append((f"Same IP address ({event.ip})", ConsoleFilter(range="all", ip=event.ip),
                      EventQuery(ip=event.ip)))  # fmt: skip
    return [Neighbourhood(t, f, reader.recent(q, event.id)) for t, f, q in lists]


def event_detail(
    reader: Reader, row: StoredRow, proof: Callable[[str], ProofStatus]
) -> EventDetail:
    """The detail page of a stored event."""
    event = summarize(row, reader.catalog)
    anomaly = anomaly_view(row, reader.catalog) if event.is_anomaly else None
    details = decode(row.body).get("details")
    triggers = trigger_ids(details) if isinstance(details, dict) and anomaly else ()
    return EventDetail(
        event=event,
        exact=row.body.decode("utf-8", "replace"),
        pretty=_pretty(row),
        proof=proof(event.id),
        anomaly=anomaly,
        triggers=reader.by_ids(triggers) if triggers else [],
        related=_neighbourhoods(reader, event),
    )
