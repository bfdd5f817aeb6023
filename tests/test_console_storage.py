"""The console's queries (storage/console_sql.py) on SQLite and PostgreSQL, held to a model: every
filter combination, paged and windowed the way the console pages it, returns exactly the events
a plain Python filter picks, in the log's order; counts, ids and spans likewise.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailkeeper.console.search import EventQuery
from trailkeeper.events import EventRecord, PreparedEvent, canonical_bytes
from trailkeeper.query import LogFilter, Position
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.storage.console_sql import console_columns
from trailkeeper.storage.migrate import migrations_for
from trailkeeper.storage.scans import scan_sql
from trailkeeper.storage.sqlite import SQLiteStore

ORG, OTHER = "E0CONSOLE", "E0ELSE"
T0 = 1_700_000_000
ACTIONS = ("user_login", "file_downloaded", "user_logout", "anomaly")
ACTORS = ("U0ANN", "U0BOB", "U0CY")
PLACES = ("T0ONE", "T0TWO", ORG)
IPS = ("81.2.69.160", "2a02:db8::1", "10.0.0.7")
SESSIONS = (111, 222, None)
NAMES = ("Ann O'Hara", "Bob 50%_off", "Cy Ümlaut")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def event_value(n: int, rng: random.Random) -> dict[str, Any]:
    actor = rng.randrange(3)
    place = rng.choice(PLACES)
    return {
        "id": f"ev-{n:05d}",
        "date_create": T0 + n // 3,  # three events a second: pages split seconds
        "action": rng.choice(ACTIONS),
        "actor": {"type": "user", "user": {"id": ACTORS[actor], "name": NAMES[actor]}},
        "entity": {"type": "file", "file": {"id": f"F{n % 7}", "name": f"doc-{n % 7}.pdf"}},
        "context": {
            "location": {"type": "enterprise" if place == ORG else "workspace", "id": place},
            "ip_address": rng.choice(IPS),
            "session_id": rng.choice(SESSIONS),
            "ua": "Mozilla/5.0",
        },
        "details": {"note": "nul \u0000 byte and \\u0000 text"} if n % 11 == 0 else {},
    }


def prepared(org_id: str, value: dict[str, Any]) -> PreparedEvent:
    return PreparedEvent(
        org_id, value["id"], value["date_create"], value["action"],
        value["actor"]["user"]["id"], value["entity"]["file"]["id"], canonical_bytes(value),
    )  # fmt: skip


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_schema_url"))
    else:
        url = f"sqlite:///{tmp_path / 'console.db'}"
    opened = open_store(url)
    opened.migrate()
    yield opened
    opened.close()


@pytest.fixture
def history(store: Store) -> list[dict[str, Any]]:
    """300 events of ORG (and some of another organization), newest first."""
    rng = random.Random(5)
    values = [event_value(n, rng) for n in range(300)]
    store.append([prepared(ORG, v) for v in values])
    store.append([prepared(OTHER, {**v, "id": "x" + v["id"]}) for v in values[:50]])
    history = History(values[::-1])
    history.folds_all = not isinstance(store, SQLiteStore)
    return history


def picks(q: EventQuery, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's events for a query, newest first."""
    folding = str.lower if getattr(history, "folds_all", False) else fold
    return [e for e in history if matches(q, e, folding)]


class History(list[dict[str, Any]]):
    """The events, newest first (a short repr keeps hypothesis's reports readable)."""

    folds_all = False  # PostgreSQL's lower() folds every letter, SQLite's LIKE ASCII only

    def __repr__(self) -> str:
        return f"History({len(self)} events)"


def fold(text: str) -> str:
    """SQLite's LIKE folds ASCII letters only (PostgreSQL folds all: see `picks`)."""
    return "".join(c.lower() if c.isascii() else c for c in text)


def matches(q: EventQuery, e: dict[str, Any], fold: Callable[[str], str] = fold) -> bool:
    """The model: what each filter means, in plain Python."""
    context = e["context"]
    checks = [
        q.oldest is None or e["date_create"] >= q.oldest,
        q.latest is None or e["date_create"] <= q.latest,
        not q.actions or e["action"] in q.actions,
        q.actor is None or e["actor"]["user"]["id"] == q.actor,
        q.entity is None or e["entity"]["file"]["id"] == q.entity,
        q.workspace is None or context["location"]["id"] == q.workspace,
        q.ip is None or context["ip_address"] == q.ip,
        q.session is None or context["session_id"] == q.session,
        q.text is None or fold(q.text) in fold(orjson.dumps(e).decode()),
    ]
    return all(checks)


def collect(store: Store, q: EventQuery, limit: int, window: int) -> list[str]:
    """Every matching id, paged as the console pages: limit + 1, then the last row or the place
    a bounded search stopped."""
    ids: list[str] = []
    below: Position | None = None
    for _ in range(1000):
        page = store.search_events(ORG, q, below, limit + 1, window)
        rows = page.rows[:limit]
        ids += [orjson.loads(r.body)["id"] for r in rows]
        if len(page.rows) > limit:
            below = Position(rows[-1].date_create, rows[-1].seq)
        elif page.searched_to is not None:
            below = page.searched_to
        else:
            return ids
    raise AssertionError("paging did not end")


queries = st.builds(
    EventQuery,
    oldest=st.none() | st.integers(T0, T0 + 100),
    latest=st.none() | st.integers(T0 + 20, T0 + 120),
    actions=st.lists(st.sampled_from(ACTIONS), max_size=2, unique=True).map(tuple),
    actor=st.none() | st.sampled_from(ACTORS),
    entity=st.none() | st.sampled_from(("F1", "F3")),
    workspace=st.none() | st.sampled_from(PLACES),
    ip=st.none() | st.sampled_from(IPS),
    session=st.none() | st.sampled_from((111, 222)),
    text=st.none() | st.sampled_from(("doc-3", "ANN O'", "50%_", "ümlaut", "Ümlaut", "%", "_off")),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=queries, limit=st.integers(1, 40), window=st.sampled_from((7, 50, 10_000)))
def test_every_filter_combination_pages_to_exactly_the_models_events(
    store: Store, history: list[dict[str, Any]], q: EventQuery, limit: int, window: int
) -> None:
    expected = [e["id"] for e in picks(q, history)]
    assert collect(store, q, limit, window) == expected


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=queries)
def test_counts_per_action_match_the_model_when_complete(
    store: Store, history: list[dict[str, Any]], q: EventQuery
) -> None:
    counts = store.count_actions(ORG, q, 10_000)
    assert counts.complete
    assert dict(counts.counts) == Counter(e["action"] for e in picks(q, history))
    assert [n for _, n in counts.counts] == sorted((n for _, n in counts.counts), reverse=True)


def test_counts_over_a_window_say_how_far_back_they_reach(
    store: Store, history: list[dict[str, Any]]
) -> None:
    q = EventQuery(workspace="T0ONE")
    counts = store.count_actions(ORG, q, 20)
    newest = picks(q, history)[:20]
    assert not counts.complete
    assert counts.total == 20
    assert dict(counts.counts) == Counter(e["action"] for e in newest)
    assert counts.counted_to == newest[-1]["date_create"]


def test_only_time_and_action_filters_count_the_whole_range(
    store: Store, history: list[dict[str, Any]]
) -> None:
    counts = store.count_actions(ORG, EventQuery(actions=("user_login", "anomaly")), 10)
    assert counts.complete
    assert counts.total == sum(e["action"] in ("user_login", "anomaly") for e in history)


def test_a_bounded_search_says_where_it_stopped(
    store: Store, history: list[dict[str, Any]]
) -> None:
    page = store.search_events(ORG, EventQuery(text="no such text"), None, 10, 25)
    assert page.rows == []
    assert page.searched_to is not None
    assert page.searched_to.date_create == history[24]["date_create"]
    whole = store.search_events(ORG, EventQuery(text="no such text"), None, 10, 10_000)
    assert whole.searched_to is None


def test_text_is_matched_literally_and_case_insensitively_for_ascii(
    store: Store, history: list[dict[str, Any]]
) -> None:
    assert collect(store, EventQuery(text="50%_OFF"), 100, 1000) == [
        e["id"] for e in history if e["actor"]["user"]["id"] == "U0BOB"
    ]
    assert collect(store, EventQuery(text="5_%"), 100, 1000) == []


def test_events_by_id_and_the_span_of_a_log(store: Store, history: list[dict[str, Any]]) -> None:
    wanted = [history[5]["id"], history[0]["id"], "ev-missing", history[5]["id"]]
    rows = store.events_by_id(ORG, wanted)
    assert [orjson.loads(r.body)["id"] for r in rows] == [history[0]["id"], history[5]["id"]]
    assert store.events_by_id(OTHER, [history[0]["id"]]) == []
    assert store.events_by_id(ORG, []) == []
    assert store.event_span(ORG) == (history[-1]["date_create"], history[0]["date_create"])
    assert store.event_span("E0NOBODY") is None


def test_slack_only_queries_run_the_apis_own_scan(
    store: Store, history: list[dict[str, Any]]
) -> None:
    q = EventQuery(actions=("user_login", "file_downloaded"), actor="U0ANN", oldest=T0 + 10)
    console = store.search_events(ORG, q, None, 30, 5)
    assert console.rows == store.scan(ORG, q.log_filter(), None, 30)
    assert console.searched_to is None


def test_copied_events_get_the_derived_columns_too(
    store: Store, history: list[dict[str, Any]], tmp_path: Path
) -> None:
    copy = SQLiteStore(str(tmp_path / "copy.db"))
    copy.migrate()
    copy.import_events(store.events_from(ORG, 0, 1000))
    q = EventQuery(ip="10.0.0.7", session=222)
    assert collect(copy, q, 50, 1000) == collect(store, q, 50, 1000)
    assert collect(copy, q, 50, 1000)
    copy.close()


def test_the_derived_columns_match_the_stored_bytes(
    store: Store, history: list[dict[str, Any]]
) -> None:
    records: list[EventRecord] = store.events_from(ORG, 0, 1000)
    for record in records[:40]:
        context = orjson.loads(record.body)["context"]
        found = store.search_events(
            ORG,
            EventQuery(ip=context["ip_address"], workspace=context["location"]["id"]),
            Position(record.date_create, record.seq + 1),
            1,
            10_000,
        ).rows
        assert found
        assert found[0].seq == record.seq


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (EventQuery(ip="10.0.0.7"), "events_org_ip"),
        (EventQuery(session=111, ip="10.0.0.7"), "events_org_session"),
        (EventQuery(workspace="T0ONE", oldest=T0), "events_org_location"),
        (EventQuery(workspace="T0ONE", actions=("user_login",)), "events_org_action"),
        (EventQuery(actor="U0ANN", ip="10.0.0.7", text="x"), "events_org_ip"),
    ],
)
def test_sqlite_walks_the_index_of_the_most_selective_filter(
    tmp_path: Path, query: EventQuery, index: str
) -> None:
    sqlite = SQLiteStore(str(tmp_path / "plans.db"))
    sqlite.migrate()
    statements: list[str] = []
    sqlite._query = _recording(sqlite._query, statements)  # type: ignore[method-assign]
    sqlite.search_events(ORG, query, None, 10, 100)
    sqlite.count_actions(ORG, query, 100)
    assert len(statements) >= 2
    for sql, args in statements:
        plan = sqlite._read("EXPLAIN QUERY PLAN " + sql, args)
        steps = " ".join(str(row[3]) for row in plan)
        assert index in steps, (sql, steps)
        assert "TEMP B-TREE FOR ORDER BY" not in steps, (sql, steps)
    sqlite.close()


def _recording(query: Callable[..., Any], log: list[Any]) -> Callable[..., Any]:
    def run(sql: str, args: Any = ()) -> Any:
        log.append((sql, list(args)))
        return query(sql, args)

    return run


def test_the_apis_scan_sql_is_untouched_by_the_console() -> None:
    sql, _ = scan_sql(ORG, LogFilter(actor="U0ANN"), None, 10)
    assert "location_id" not in sql
    assert "ip_address" not in sql
    assert "LIKE" not in sql


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"context":{"location":{"id":"T1"},"ip_address":"::1","session_id":7}}',
            ("T1", "::1", 7),
        ),
        (b"\xff\xfe not json", (None, None, None)),
        (b"[1, 2]", (None, None, None)),
        (b'{"context": "x"}', (None, None, None)),
        (b'{"context":{"location":"T1","ip_address":5,"session_id":true}}', (None, None, None)),
        (b'{"context":{"session_id":-1,"ip_address":"' + b"9" * 300 + b'"}}', (None, None, None)),
    ],
)
def test_the_console_columns_of_any_bytes(body: bytes, expected: tuple[object, ...]) -> None:
    assert console_columns(body) == expected


def test_any_bytes_still_append_and_the_columns_stay_empty(store: Store) -> None:
    odd = PreparedEvent(ORG, "odd", T0, "user_login", "U0ANN", None, b"\x00\xff not json")
    assert store.append([odd])[0].duplicate is False
    assert store.events_by_id(ORG, ["odd"])[0].body == odd.body
    assert store.search_events(ORG, EventQuery(ip="10.0.0.7"), None, 5, 100).rows == []


def test_the_migration_fills_the_columns_of_events_appended_before_it(
    store: Store, history: list[dict[str, Any]]
) -> None:
    run: Callable[[str], Any] = store._execute  # type: ignore[attr-defined]
    run("UPDATE events SET location_id = NULL, ip_address = NULL, session_id = NULL")
    q = EventQuery(ip="10.0.0.7", session=222)
    assert collect(store, q, 50, 1000) == []
    backend = "sqlite" if isinstance(store, SQLiteStore) else "postgres"
    migration = next(m for m in migrations_for(backend) if m.name.endswith("_console"))
    backfill = migration.sql[migration.sql.index("UPDATE") : migration.sql.index("CREATE INDEX")]
    if backend == "postgres":  # the UPDATE needs the function created just before it
        backfill = migration.sql[migration.sql.index("CREATE FUNCTION") : migration.sql.index(
            "CREATE INDEX")]  # fmt: skip
        store._with_conn(lambda c: c.execute(backfill.encode()))  # type: ignore[attr-defined]
    else:
        run(backfill.strip().rstrip(";"))
    assert collect(store, q, 50, 1000) == [e["id"] for e in picks(q, history)]
