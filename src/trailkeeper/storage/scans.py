"""The SQL of a log scan, shared by every backend: filters, a keyset bound, newest first.

Several actions become a UNION ALL of one ordered, limited scan per action, so each branch walks
its own (org_id, action, date_create, seq) index instead of sorting every matching row.
"""

from __future__ import annotations

from trailkeeper.query import LogFilter, Position

COLUMNS = "date_create, seq, body"
ORDER = "ORDER BY date_create DESC, seq DESC"


def _conditions(
    org_id: str, log_filter: LogFilter, below: Position | None, ph: str
) -> tuple[list[str], list[object]]:
    where: list[str] = [f"org_id = {ph}"]
    args: list[object] = [org_id]
    for column, value in (("actor_id", log_filter.actor), ("entity_id", log_filter.entity)):
        if value is not None:
            where.append(f"{column} = {ph}")
            args.append(value)
    if log_filter.oldest is not None:
        where.append(f"date_create >= {ph}")
        args.append(log_filter.oldest)
    if log_filter.latest is not None:
        where.append(f"date_create <= {ph}")
        args.append(log_filter.latest)
    if below is not None and below.seq is None:
        where.append(f"date_create < {ph}")
        args.append(below.date_create)
    elif below is not None:
        where.append(f"date_create <= {ph} AND (date_create < {ph} OR seq < {ph})")
        args.extend([below.date_create, below.date_create, below.seq])
    return where, args


def scan_sql(
    org_id: str, log_filter: LogFilter, below: Position | None, limit: int, ph: str = "?"
) -> tuple[str, list[object]]:
    """SQL and arguments for `Store.scan`; `ph` is the driver's placeholder."""
    where, args = _conditions(org_id, log_filter, below, ph)
    if len(log_filter.actions) <= 1:
        if log_filter.actions:
            where.append(f"action = {ph}")
            args.append(log_filter.actions[0])
        sql = f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} {ORDER} LIMIT {ph}"
        return sql, [*args, limit]
    branches: list[str] = []
    all_args: list[object] = []
    for action in log_filter.actions:
        branches.append(
            f"SELECT * FROM (SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} "
            f"AND action = {ph} {ORDER} LIMIT {ph}) AS b{len(branches)}"
        )
        all_args.extend([*args, action, limit])
    sql = f"SELECT {COLUMNS} FROM ({' UNION ALL '.join(branches)}) AS u {ORDER} LIMIT {ph}"
    return sql, [*all_args, limit]
