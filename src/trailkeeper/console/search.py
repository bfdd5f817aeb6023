"""The console's questions to the store, as values: an event query with the filters beyond Slack's,
a page of search results (and how far a bounded search got), counts per action. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkeeper.events import StoredRow
from trailkeeper.query import LogFilter, Position


@dataclass(frozen=True)
class EventQuery:
    """What the console asks for: Slack's filters plus workspace, IP, session and free text.

    Bounds are inclusive Unix seconds; every filter present must match (AND). `workspace` is the
    event's `context.location.id` (a workspace or the enterprise); `text` is a substring of the
    stored JSON, matched case-insensitively for ASCII letters.
    """

    oldest: int | None = None
    latest: int | None = None
    actions: tuple[str, ...] = ()
    actor: str | None = None
    entity: str | None = None
    workspace: str | None = None
    ip: str | None = None
    session: int | None = None
    text: str | None = None

    @property
    def is_slack_query(self) -> bool:
        """Only the filters `/audit/v1/logs` has: the store's own `scan` answers it."""
        return (self.workspace, self.ip, self.session, self.text) == (None, None, None, None)

    def log_filter(self) -> LogFilter:
        """Slack's part of the query."""
        return LogFilter(self.oldest, self.latest, self.actions, self.actor, self.entity)


@dataclass(frozen=True)
class SearchPage:
    """Matching rows, newest first. `searched_to` is set when a bounded search examined its whole
    window before finding enough rows: rows older than it have not been looked at yet."""

    rows: list[StoredRow]
    searched_to: Position | None = None


@dataclass(frozen=True)
class ActionCounts:
    """Events per action, most frequent first. Incomplete counts cover only the newest matching
    events, back to `counted_to` (a date_create)."""

    counts: tuple[tuple[str, int], ...]
    complete: bool = True
    counted_to: int | None = None

    @property
    def total(self) -> int:
        """Events counted."""
        return sum(n for _, n in self.counts)
