"""The shared scan SQL against a model: on random rows, filters, keyset bounds and limits,
`scan_sql` selects exactly what a plain Python filter-sort-slice selects. Also the monthly
partition arithmetic and the migration listing, as pure functions."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.query import LogFilter, Position
from trailkeeper.storage.migrate import Migration, migrations_for, pending
from trailkeeper.storage.partitions import month_partition, months_ahead, partition_bounds
from trailkeeper.storage.scans import scan_sql

ORGS = ("E0A", "E0B")
ACTIONS = ("user_login", "file_downloaded", "user_logout")
PEOPLE = ("U1", "U2", "U3")


@dataclass(frozen=True)
class Row:
    org_id: str
    seq: int
    date_create: int
    action: str
    actor_id: str
    entity_id: str


def rows_strategy() -> st.SearchStrategy[list[Row]]:
    one = st.tuples(
        st.sampled_from(ORGS),
        st.integers(0, 20),
        st.sampled_from(ACTIONS),
        st.sampled_from(PEOPLE),
        st.sampled_from(PEOPLE),
    )
    return st.lists(one, max_size=40).map(
        lambda items: [Row(o, n, d, a, u, e) for n, (o, d, a, u, e) in enumerate(items)]
    )


filters = st.builds(
    LogFilter,
    oldest=st.none() | st.integers(0, 20),
    latest=st.none() | st.integers(0, 20),
    actions=st.lists(st.sampled_from(ACTIONS), max_size=3, unique=True).map(tuple),
    actor=st.none() | st.sampled_from(PEOPLE),
    entity=st.none() | st.sampled_from(PEOPLE),
)
positions = st.none() | st.builds(Position, st.integers(0, 21), st.none() | st.integers(0, 40))


def database(rows: list[Row]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE events (org_id TEXT, seq INTEGER, date_create INTEGER, action TEXT, "
        "actor_id TEXT, entity_id TEXT, body BLOB)"
    )
    conn.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.org_id, r.seq, r.date_create, r.action, r.actor_id, r.entity_id, b"") for r in rows],
    )
    return conn


def model(rows: list[Row], org: str, f: LogFilter, below: Position | None, limit: int) -> list[int]:
    def keep(r: Row) -> bool:
        return (
            r.org_id == org
            and (not f.actions or r.action in f.actions)
            and f.actor in (None, r.actor_id)
            and f.entity in (None, r.entity_id)
            and (f.oldest is None or r.date_create >= f.oldest)
            and (f.latest is None or r.date_create <= f.latest)
            and _before(r, below)
        )

    chosen = sorted(
        (r for r in rows if keep(r)), key=lambda r: (r.date_create, r.seq), reverse=True
    )
    return [r.seq for r in chosen[:limit]]


def _before(r: Row, below: Position | None) -> bool:
    if below is None:
        return True
    if below.seq is None:
        return r.date_create < below.date_create
    return (r.date_create, r.seq) < (below.date_create, below.seq)


@given(rows_strategy(), st.sampled_from(ORGS), filters, positions, st.integers(1, 15))
@settings(max_examples=300, deadline=None)
def test_the_scan_selects_what_the_model_selects(
    rows: list[Row], org: str, log_filter: LogFilter, below: Position | None, limit: int
) -> None:
    sql, args = scan_sql(org, log_filter, below, limit)
    found = [seq for _, seq, _ in database(rows).execute(sql, args)]
    assert found == model(rows, org, log_filter, below, limit)


def test_placeholders_match_the_arguments_for_every_shape() -> None:
    full = LogFilter(1, 2, ("a", "b", "c"), "U1", "U2")
    for log_filter in (LogFilter(), LogFilter(actions=("a",)), full):
        for below in (None, Position(5), Position(5, 3)):
            sql, args = scan_sql("E0A", log_filter, below, 10, ph="%s")
            assert sql.count("%s") == len(args)
            assert "?" not in sql


def test_several_actions_scan_one_limited_branch_each() -> None:
    sql, args = scan_sql("E0A", LogFilter(actions=("a", "b", "c")), None, 7)
    assert sql.count("UNION ALL") == 2
    assert sql.count("LIMIT ?") == 4
    assert args.count(7) == 4


# --- partitions ----------------------------------------------------------------------------------


@given(st.integers(0, 4_102_444_799))  # up to the end of 2099
def test_a_timestamp_lies_in_its_months_partition(ts: int) -> None:
    part = month_partition(ts)
    assert part.start <= ts < part.end
    first = datetime.fromtimestamp(part.start, UTC)
    assert (first.day, first.hour, first.minute, first.second) == (1, 0, 0, 0)
    assert part.name == f"events_p{first.year:04d}{first.month:02d}"
    assert month_partition(part.end).start == part.end


def test_december_rolls_over_into_january() -> None:
    december = month_partition(int(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()))
    assert december.name == "events_p202512"
    assert datetime.fromtimestamp(december.end, UTC) == datetime(2026, 1, 1, tzinfo=UTC)


def test_months_ahead_are_contiguous_and_ordered() -> None:
    parts = months_ahead(int(datetime(2024, 11, 15, tzinfo=UTC).timestamp()), 3)
    assert [p.name for p in parts] == [
        "events_p202411",
        "events_p202412",
        "events_p202501",
        "events_p202502",
    ]
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    assert parts == sorted(parts)


@pytest.mark.parametrize(
    "text",
    [
        "FOR VALUES FROM ('1735689600') TO ('1738368000')",
        "FOR VALUES FROM (1735689600) TO (1738368000)",
    ],
)
def test_partition_bounds_read_postgres_bound_text(text: str) -> None:
    assert partition_bounds(text) == (1_735_689_600, 1_738_368_000)


# --- migrations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_are_numbered_sql_in_order(backend: str) -> None:
    found = migrations_for(backend)
    assert found
    names = [m.name for m in found]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert all(m.sql.strip() for m in found)


def test_pending_keeps_order_and_skips_what_is_applied() -> None:
    all_of = [Migration("0001_a", ""), Migration("0002_b", ""), Migration("0003_c", "")]
    assert pending(all_of, {"0002_b"}) == [all_of[0], all_of[2]]
    assert pending(all_of, {m.name for m in all_of}) == []
    assert pending(all_of, {"9999_unknown"}) == all_of
