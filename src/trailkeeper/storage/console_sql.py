"""The console's SQL, shared by every backend: searches with the filters beyond Slack's (workspace,
IP address, session, free text), counts per action, events by id, the span of a log; and the
three columns every backend writes with each event for them (`console_columns`).

A backend mixes this in and supplies `_query` and `PH` (see `directory_sql`). Queries with only
Slack's filters run the very SQL of `/audit/v1/logs` (`scans.scan_sql`). Otherwise one indexed
equality filter (the most selective present) drives an ordered index walk, and the remaining
filters are checked on a bounded window of its rows, so no query reads more than `window` events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailkeeper.console.search import ActionCounts, EventQuery, SearchPage
from trailkeeper.events import StoredRow
from trailkeeper.query import Position
from trailkeeper.storage.scans import ORDER, scan_sql

COLUMNS = "date_create, seq, body"
# Written by the store with every event (`console_columns`), read only by the console.
CONSOLE_COLUMNS = "location_id, ip_address, session_id"
CONSOLE_TYPES = ["text", "text", "int8"]  # PostgreSQL COPY types
MAX_FIELD_CHARS = 256
MAX_SESSION = 2**63 - 1
MAX_IDS = 100
# Indexed equality filters, most selective first: the first one present drives the scan.
DRIVERS = (
    ("session", "session_id"),
    ("ip", "ip_address"),
    ("actor", "actor_id"),
    ("entity", "entity_id"),
    ("action", "action"),
    ("workspace", "location_id"),
)


def _text_field(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= MAX_FIELD_CHARS else None


def console_columns(body: bytes) -> tuple[str | None, str | None, int | None]:
    """(location id, IP address, session id) of an event's stored bytes, for CONSOLE_COLUMNS.

    Any bytes may be appended (the store's contract), so anything unexpected is None, never
    an error: one orjson parse per event, cheaper than three JSON extractions in SQL.
    """
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, None
    context = event.get("context") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return None, None, None
    location = context.get("location")
    place = _text_field(location.get("id")) if isinstance(location, dict) else None
    session = context.get("session_id")
    if not isinstance(session, int) or isinstance(session, bool) or not 0 <= session <= MAX_SESSION:
        session = None
    return place, _text_field(context.get("ip_address")), session


def _as_bytes(value: bytes | str) -> bytes:
    # A body edited by hand with SQL string functions reads back as TEXT: show it (integrity
    # verification flags the edit) rather than fail the page.
    return value.encode() if isinstance(value, str) else bytes(value)


def _escape_like(text: str) -> str:
    """`text` as a LIKE pattern matching itself anywhere (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _equalities(query: EventQuery) -> list[tuple[str, object]]:
    """(column, value) of the equality filters present, in driver order."""
    values: dict[str, object] = {
        "session": query.session,
        "ip": query.ip,
        "actor": query.actor,
        "entity": query.entity,
        "action": query.actions[0] if len(query.actions) == 1 else None,
        "workspace": query.workspace,
    }
    return [(column, values[name]) for name, column in DRIVERS if values[name] is not None]


@dataclass
class _Plan:
    """`where` walks one index in page order; `residual` is checked on each row of the walk."""

    where: list[str] = field(default_factory=list)
    args: list[object] = field(default_factory=list)
    residual: list[str] = field(default_factory=list)
    residual_args: list[object] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


class ConsoleSQL:
    """`ConsoleStore` in portable SQL."""

    PH = "?"

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def _unindexed(self, column: str) -> str:
        # A residual filter must not pick the index walked: without statistics (SQLite) or with
        # a LIMIT (PostgreSQL: an ordered walk of a big index "looks" cheap) the planner may
        # walk the residual filter's index and read far more than the window. An expression
        # over the column keeps it out of index choice: SQLite's unary +, PostgreSQL's
        # `|| ''` on text and `+ 0` on the session number.
        if self.PH == "?":
            return f"+{column}"
        return f"({column} + 0)" if column == "session_id" else f"({column} || '')"

    @property
    def _text_of_body(self) -> str:
        # SQLite's LIKE folds ASCII letters only, and a BLOB never matches text (so cast).
        # PostgreSQL folds with lower() on both sides, by the database's locale (translate()
        # to fold ASCII alone costs 40 times more).
        if self.PH == "?":
            return "CAST(body AS TEXT)"
        return "lower(convert_from(body, 'UTF8') COLLATE \"default\")"  # convert_from: "C"

    def _plan(self, org_id: str, query: EventQuery, below: Position | None) -> _Plan:
        ph, plan = self.PH, _Plan(where=[f"org_id = {self.PH}"], args=[org_id])
        equalities = _equalities(query)
        for index, (column, value) in enumerate(equalities):
            if index == 0:
                plan.where.append(f"{column} = {ph}")
                plan.args.append(value)
                continue
            plan.residual.append(f"{self._unindexed(column)} = {ph}")
            plan.residual_args.append(value)
            plan.columns.append(column)
        if len(query.actions) > 1:
            marks = ", ".join([ph] * len(query.actions))
            plan.residual.append(f"{self._unindexed('action')} IN ({marks})")
            plan.residual_args.extend(query.actions)
            plan.columns.append("action")
        if query.text is not None:
            pattern = f"lower({ph})" if ph != "?" else ph
            plan.residual.append(f"{self._text_of_body} LIKE {pattern} ESCAPE '\\'")
            plan.residual_args.append(_escape_like(query.text))
            plan.columns.append("body")
        self._bound(plan, query, below)
        return plan

    def _bound(self, plan: _Plan, query: EventQuery, below: Position | None) -> None:
        ph = self.PH
        if query.oldest is not None:
            plan.where.append(f"date_create >= {ph}")
            plan.args.append(query.oldest)
        if query.latest is not None:
            plan.where.append(f"date_create <= {ph}")
            plan.args.append(query.latest)
        if below is not None and below.seq is None:
            plan.where.append(f"date_create < {ph}")
            plan.args.append(below.date_create)
        elif below is not None:
            plan.where.append(f"date_create <= {ph} AND (date_create < {ph} OR seq < {ph})")
            plan.args.extend([below.date_create, below.date_create, below.seq])

    def _stored_rows(self, sql: str, args: Sequence[object]) -> list[StoredRow]:
        return [StoredRow(int(r[0]), int(r[1]), _as_bytes(r[2])) for r in self._query(sql, args)]

    def search_events(
        self, org_id: str, query: EventQuery, below: Position | None, limit: int, window: int
    ) -> SearchPage:
        """Up to `limit` matching rows strictly older than `below`, newest first, reading at most
        `window` rows of the driving index when some filters cannot use it."""
        if query.is_slack_query:
            sql, args = scan_sql(org_id, query.log_filter(), below, limit, self.PH)
            return SearchPage(self._stored_rows(sql, args))
        plan = self._plan(org_id, query, below)
        if not plan.residual:
            sql = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(plan.where)} {ORDER} LIMIT "
            return SearchPage(self._stored_rows(sql + self.PH, [*plan.args, limit]))
        end = self._window_end(plan, window)
        rows = self._stored_rows(*self._matches(plan, end, limit))
        if len(rows) >= limit or end is None:
            return SearchPage(rows)
        return SearchPage(rows, end)

    def _matches(self, plan: _Plan, end: Position | None, limit: int) -> tuple[str, list[object]]:
        """The residual filters over the driving index down to the window's end, in page order,
        stopping at `limit` matches (a subquery with its own LIMIT would make SQLite sort the
        whole window before the outer LIMIT)."""
        ph, where, args = self.PH, list(plan.where), list(plan.args)
        if end is not None:
            where.append(f"date_create >= {ph} AND (date_create > {ph} OR seq >= {ph})")
            args.extend([end.date_create, end.date_create, end.seq])
        sql = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join([*where, *plan.residual])} "
        return f"{sql}{ORDER} LIMIT {ph}", [*args, *plan.residual_args, limit]

    def _windowed_counts(self, plan: _Plan, window: int) -> tuple[str, list[object]]:
        """Counts per action over the newest `window` rows of the driving index that match."""
        ph = self.PH
        inner = ", ".join(dict.fromkeys(["action", *plan.columns]))
        sql = (
            f"SELECT action, count(*) FROM (SELECT {inner} FROM events "
            f"WHERE {' AND '.join(plan.where)} {ORDER} LIMIT {ph}) AS w "
            f"WHERE {' AND '.join(plan.residual) or '1 = 1'} GROUP BY action"
        )
        return sql, [*plan.args, window, *plan.residual_args]

    def _window_end(self, plan: _Plan, window: int) -> Position | None:
        """The last row of a full window when older rows remain beyond it (None otherwise)."""
        ph = self.PH
        rows = self._query(
            f"SELECT date_create, seq FROM events WHERE {' AND '.join(plan.where)} {ORDER} "
            f"LIMIT 2 OFFSET {ph}",
            [*plan.args, window - 1],
        )
        return Position(int(rows[0][0]), int(rows[0][1])) if len(rows) == 2 else None

    def count_actions(self, org_id: str, query: EventQuery, window: int) -> ActionCounts:
        """Matching events per action. With only time and action filters every event of the
        range is counted (one walk of the action index); otherwise the newest `window` events
        of the driving index are examined, and the counts say how far back they reach."""
        if query.is_slack_query and query.actor is None and query.entity is None:
            return ActionCounts(self._grouped(self._range_counts(org_id, query)))
        plan = self._plan(org_id, query, None)
        counts = self._grouped(self._windowed_counts(plan, window))
        end = self._window_end(plan, window)
        return ActionCounts(counts, end is None, None if end is None else end.date_create)

    def _range_counts(self, org_id: str, query: EventQuery) -> tuple[str, list[object]]:
        ph = self.PH
        where: list[str] = [f"org_id = {ph}"]
        args: list[object] = [org_id]
        if query.actions:
            where.append(f"action IN ({', '.join([ph] * len(query.actions))})")
            args.extend(query.actions)
        for op, bound in ((">=", query.oldest), ("<=", query.latest)):
            if bound is not None:
                where.append(f"date_create {op} {ph}")
                args.append(bound)
        sql = f"SELECT action, count(*) FROM events WHERE {' AND '.join(where)} GROUP BY action"
        return sql, args

    def _grouped(self, statement: tuple[str, list[object]]) -> tuple[tuple[str, int], ...]:
        rows = self._query(*statement)
        return tuple(sorted(((str(a), int(n)) for a, n in rows), key=lambda p: (-p[1], p[0])))

    def events_by_id(self, org_id: str, ids: Sequence[str]) -> list[StoredRow]:
        """The organization's events with these ids (at most 100), newest first."""
        wanted = list(dict.fromkeys(ids))[:MAX_IDS]
        if not wanted:
            return []
        marks = ", ".join([self.PH] * len(wanted))
        if self.PH == "?":
            sql = f"SELECT {COLUMNS} FROM events WHERE org_id = ? AND id IN ({marks}) {ORDER}"
        else:  # PostgreSQL finds an id's partition through `event_ids`
            sql = (
                "SELECT e.date_create, e.seq, e.body FROM event_ids i JOIN events e "
                "ON e.org_id = i.org_id AND e.date_create = i.date_create AND e.seq = i.seq "
                f"WHERE i.org_id = %s AND i.id IN ({marks}) ORDER BY 1 DESC, 2 DESC"
            )
        return self._stored_rows(sql, [org_id, *wanted])

    def event_span(self, org_id: str) -> tuple[int, int] | None:
        """The dates of the organization's oldest and newest events (None: no events)."""
        ph = self.PH
        rows = self._query(
            f"SELECT (SELECT min(date_create) FROM events WHERE org_id = {ph}), "
            f"(SELECT max(date_create) FROM events WHERE org_id = {ph})",
            [org_id, org_id],
        )
        if not rows or rows[0][0] is None:
            return None
        return int(rows[0][0]), int(rows[0][1])
