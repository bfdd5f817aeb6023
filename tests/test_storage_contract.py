"""The storage contract: what every backend of `Store` must do, run against each backend.

Backends are listed in `BACKENDS` (SQLite files under tmp_path; PostgreSQL in a fresh schema per
test, skipped locally without a server and required in CI; model: psycopg's `tests/fix_db.py`).
Backend differences are expressed as markers, never as forked test files.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from trailkeeper.directory.records import (
    READ_SCOPE,
    WRITE_SCOPE,
    Organization,
    TokenRecord,
    Workspace,
)
from trailkeeper.errors import StorageError
from trailkeeper.events import AppendOutcome, PreparedEvent, StoredRow
from trailkeeper.query import LogFilter, Position
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.storage.groupcommit import GroupCommitter
from trailkeeper.storage.sqlite import SQLiteStore

ORG_A = "E0STOREA"
ORG_B = "E0STOREB"
T0 = 1_700_000_000

# One entry per backend; a PostgreSQL entry will carry `marks=pytest.mark.postgres`.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_url(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database private to this test: a SQLite file, or a fresh PostgreSQL schema."""
    if backend_name == "postgres":
        return str(request.getfixturevalue("postgres_schema_url"))
    return f"sqlite:///{tmp_path / 'contract.db'}"


@pytest.fixture
def backend_factory(backend_url: str) -> Iterator[Callable[[], Store]]:
    """Opens more stores on the same database (another process, as far as the store can tell)."""
    opened: list[Store] = []

    def make() -> Store:
        store = open_store(backend_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def backend_store(backend_factory: Callable[[], Store]) -> Store:
    """A migrated store of the parametrized backend."""
    store = backend_factory()
    store.migrate()
    return store


def ev(
    org: str,
    event_id: str,
    *,
    date: int = T0,
    action: str = "user_login",
    actor: str = "U0ANN",
    entity: str | None = "U0ANN",
    supplied: bool = True,
    body: bytes | None = None,
) -> PreparedEvent:
    """A prepared event; the body is recognisable canonical-looking JSON."""
    if body is None:
        body = orjson.dumps(
            {"id": event_id, "date_create": date, "action": action, "actor": actor, "org": org}
        )
    return PreparedEvent(
        org_id=org,
        id=event_id,
        date_create=date,
        action=action,
        actor_id=actor,
        entity_id=entity,
        body=body,
        id_supplied=supplied,
    )


def ids_of(rows: Sequence[StoredRow]) -> list[str]:
    return [orjson.loads(r.body)["id"] for r in rows]


def all_rows(store: Store, org: str, log_filter: LogFilter | None = None) -> list[StoredRow]:
    return store.scan(org, log_filter or LogFilter(), None, 1_000_000)


# --- append -----------------------------------------------------------------------------------


def test_append_nothing_returns_nothing(backend_store: Store) -> None:
    assert backend_store.append([]) == []
    assert backend_store.count_events(ORG_A) == 0


def test_append_outcomes_in_order_with_gap_free_seq_per_org(backend_store: Store) -> None:
    batch = [ev(ORG_A, "a0"), ev(ORG_B, "b0"), ev(ORG_A, "a1"), ev(ORG_A, "a2"), ev(ORG_B, "b1")]
    outcomes = backend_store.append(batch)
    assert outcomes == [
        AppendOutcome("a0", 0, duplicate=False),
        AppendOutcome("b0", 0, duplicate=False),
        AppendOutcome("a1", 1, duplicate=False),
        AppendOutcome("a2", 2, duplicate=False),
        AppendOutcome("b1", 1, duplicate=False),
    ]
    more = backend_store.append([ev(ORG_B, "b2"), ev(ORG_A, "a3")])
    assert [(o.id, o.seq) for o in more] == [("b2", 2), ("a3", 3)]
    assert backend_store.count_events(ORG_A) == 4
    assert backend_store.count_events(ORG_B) == 3
    assert backend_store.count_events("E0NOBODY") == 0
    assert sorted(r.seq for r in all_rows(backend_store, ORG_A)) == [0, 1, 2, 3]
    assert sorted(r.seq for r in all_rows(backend_store, ORG_B)) == [0, 1, 2]


def test_duplicate_id_in_same_batch_stored_once(backend_store: Store) -> None:
    outcomes = backend_store.append(
        [ev(ORG_A, "x"), ev(ORG_A, "y"), ev(ORG_A, "x", body=b'{"other":1}')]
    )
    assert outcomes == [
        AppendOutcome("x", 0, duplicate=False),
        AppendOutcome("y", 1, duplicate=False),
        AppendOutcome("x", 0, duplicate=True),
    ]
    assert backend_store.count_events(ORG_A) == 2
    assert sorted(ids_of(all_rows(backend_store, ORG_A))) == ["x", "y"]


def test_duplicate_id_across_batches_returns_original_seq(backend_store: Store) -> None:
    first = backend_store.append([ev(ORG_A, "e1"), ev(ORG_A, "e2"), ev(ORG_A, "e3")])
    original = all_rows(backend_store, ORG_A)
    again = backend_store.append([ev(ORG_A, "e2", body=b'{"changed":true}'), ev(ORG_A, "e4")])
    assert again == [AppendOutcome("e2", 1, duplicate=True), AppendOutcome("e4", 3, False)]
    assert [o.seq for o in first] == [0, 1, 2]
    assert backend_store.count_events(ORG_A) == 4
    rows = all_rows(backend_store, ORG_A)
    # The stored event is immutable: the resend's different bytes were not written anywhere.
    assert {r.seq: r.body for r in rows if r.seq < 3} == {r.seq: r.body for r in original}


def test_all_duplicates_batch_changes_nothing(backend_store: Store) -> None:
    backend_store.append([ev(ORG_A, "d1"), ev(ORG_A, "d2")])
    again = backend_store.append([ev(ORG_A, "d2"), ev(ORG_A, "d1")])
    assert again == [AppendOutcome("d2", 1, True), AppendOutcome("d1", 0, True)]
    assert backend_store.count_events(ORG_A) == 2
    assert backend_store.append([ev(ORG_A, "d3")])[0].seq == 2


def test_same_id_in_two_orgs_is_two_events(backend_store: Store) -> None:
    outcomes = backend_store.append([ev(ORG_A, "shared"), ev(ORG_B, "shared")])
    assert outcomes == [AppendOutcome("shared", 0, False), AppendOutcome("shared", 0, False)]
    assert backend_store.count_events(ORG_A) == 1
    assert backend_store.count_events(ORG_B) == 1


def test_supplied_id_matching_a_generated_one_is_a_duplicate(backend_store: Store) -> None:
    backend_store.append([ev(ORG_A, "gen-1", supplied=False)])
    outcomes = backend_store.append([ev(ORG_A, "gen-1", supplied=True)])
    assert outcomes == [AppendOutcome("gen-1", 0, duplicate=True)]
    assert backend_store.count_events(ORG_A) == 1


def test_generated_ids_are_not_looked_up(backend_store: Store) -> None:
    """A generated id is trusted to be new: a (practically impossible) clash is a storage failure,
    never silently reported as a duplicate of some other event, and nothing of the batch is kept."""
    backend_store.append([ev(ORG_A, "clash")])
    with pytest.raises(StorageError):
        backend_store.append([ev(ORG_A, "fresh"), ev(ORG_A, "clash", supplied=False)])
    assert backend_store.count_events(ORG_A) == 1
    assert ids_of(all_rows(backend_store, ORG_A)) == ["clash"]
    assert backend_store.append([ev(ORG_A, "next")])[0].seq == 1


def test_sqlite_generated_ids_skip_the_existing_id_query(store: SQLiteStore) -> None:
    statements: list[str] = []
    store._writer.set_trace_callback(statements.append)
    try:
        store.append([ev(ORG_A, f"g{i}", supplied=False) for i in range(5)])
        lookups = [s for s in statements if "SELECT id, seq FROM events" in s]
        assert lookups == []
        store.append([ev(ORG_A, "s1"), ev(ORG_A, "g9", supplied=False)])
        lookups = [s for s in statements if "SELECT id, seq FROM events" in s]
        assert len(lookups) == 1
        assert "'s1'" in lookups[0]
        assert "'g9'" not in lookups[0]
    finally:
        store._writer.set_trace_callback(None)


def test_bytes_read_back_are_bytes_appended(backend_store: Store) -> None:
    # Bodies reaching a store are canonical JSON without NUL characters (validation refuses
    # them); backends may read them (the console's derived columns do).
    bodies = [
        b'{"id":"b1","date_create":1700000000,"action":"user_login"}',
        '{"id":"b2","text":"caf\u00e9 \u2603 \U0001f600"}'.encode(),
        b'{"id":"b3","ctl":"\\u0001","space":"  ","esc":"\\"q\\""}',
        b"{" + b'"pad":"' + b"x" * 70_000 + b'"}',
    ]
    events = [ev(ORG_A, f"b{i}", date=T0 + i, body=b) for i, b in enumerate(bodies)]
    backend_store.append(events)
    rows = all_rows(backend_store, ORG_A)
    assert {r.seq: r.body for r in rows} == dict(enumerate(bodies))
    for r in rows:
        assert type(r.body) is bytes


# --- scan -------------------------------------------------------------------------------------


@pytest.fixture
def scan_store(backend_store: Store) -> Store:
    """ORG_A: 12 events over 4 seconds with assorted actions/actors/entities; ORG_B: noise."""
    spec = [
        # id, date offset, action, actor, entity
        ("s0", 0, "user_login", "U1", "U1"),
        ("s1", 2, "user_logout", "U2", "U2"),
        ("s2", 1, "file_downloaded", "U1", "F1"),
        ("s3", 2, "user_login", "U3", "U3"),
        ("s4", 0, "file_downloaded", "U2", "F2"),
        ("s5", 3, "user_login", "U1", "U1"),
        ("s6", 1, "user_logout", "U1", "U1"),
        ("s7", 2, "file_downloaded", "U3", "F1"),
        ("s8", 3, "user_logout", "U2", None),
        ("s9", 1, "user_login", "U2", "U2"),
        ("s10", 3, "file_downloaded", "U1", "F1"),
        ("s11", 2, "user_login", "U1", "U1"),
    ]
    backend_store.append(
        [
            ev(ORG_A, i, date=T0 + d, action=a, actor=actor, entity=ent)
            for i, d, a, actor, ent in spec
        ]
    )
    backend_store.append(
        [ev(ORG_B, f"noise{i}", date=T0 + i % 4, actor="U1", entity="U1") for i in range(6)]
    )
    return backend_store


def expected(store: Store, keep: Callable[[dict[str, object]], bool]) -> list[str]:
    """Ids of ORG_A rows satisfying `keep`, in page order, computed in Python from a full scan."""
    rows = all_rows(store, ORG_A)
    return [str(orjson.loads(r.body)["id"]) for r in rows if keep(orjson.loads(r.body))]


def test_scan_order_is_date_desc_then_seq_desc(scan_store: Store) -> None:
    rows = all_rows(scan_store, ORG_A)
    assert len(rows) == 12
    keys = [(r.date_create, r.seq) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert ids_of(rows) == [
        "s10", "s8", "s5",  # T0+3: seq 10, 8, 5
        "s11", "s7", "s3", "s1",  # T0+2
        "s9", "s6", "s2",  # T0+1
        "s4", "s0",  # T0
    ]  # fmt: skip
    assert all(orjson.loads(r.body)["org"] == ORG_A for r in rows)


def test_scan_limit(scan_store: Store) -> None:
    assert ids_of(scan_store.scan(ORG_A, LogFilter(), None, 3)) == ["s10", "s8", "s5"]
    assert ids_of(scan_store.scan(ORG_A, LogFilter(), None, 1)) == ["s10"]


def test_scan_unknown_org_is_empty(scan_store: Store) -> None:
    assert scan_store.scan("E0NOBODY", LogFilter(), None, 100) == []


def test_scan_filter_actor(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(actor="U1"), None, 100)
    assert ids_of(rows) == ["s10", "s5", "s11", "s6", "s2", "s0"]


def test_scan_filter_entity(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(entity="F1"), None, 100)
    assert ids_of(rows) == ["s10", "s7", "s2"]
    assert scan_store.scan(ORG_A, LogFilter(entity="F9"), None, 100) == []


def test_scan_filter_single_action(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(actions=("user_logout",)), None, 100)
    assert ids_of(rows) == ["s8", "s1", "s6"]


def test_scan_filter_several_actions(scan_store: Store) -> None:
    both = LogFilter(actions=("user_logout", "file_downloaded"))
    rows = scan_store.scan(ORG_A, both, None, 100)
    assert ids_of(rows) == expected(
        scan_store, lambda e: e["action"] in ("user_logout", "file_downloaded")
    )
    assert ids_of(rows) == ["s10", "s8", "s7", "s1", "s6", "s2", "s4"]
    # The overall limit applies to the union, not per action.
    assert ids_of(scan_store.scan(ORG_A, both, None, 3)) == ["s10", "s8", "s7"]
    # An action nobody used contributes nothing.
    three = LogFilter(actions=("user_logout", "anomaly", "file_downloaded"))
    assert ids_of(scan_store.scan(ORG_A, three, None, 100)) == ids_of(rows)


def test_scan_oldest_latest_inclusive(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(oldest=T0 + 1, latest=T0 + 2), None, 100)
    assert ids_of(rows) == ["s11", "s7", "s3", "s1", "s9", "s6", "s2"]
    assert ids_of(scan_store.scan(ORG_A, LogFilter(oldest=T0 + 3), None, 100)) == [
        "s10",
        "s8",
        "s5",
    ]
    assert ids_of(scan_store.scan(ORG_A, LogFilter(latest=T0), None, 100)) == ["s4", "s0"]
    assert scan_store.scan(ORG_A, LogFilter(oldest=T0 + 4), None, 100) == []


def test_scan_combined_filters(scan_store: Store) -> None:
    f = LogFilter(oldest=T0 + 1, latest=T0 + 3, actions=("user_login",), actor="U1")
    assert ids_of(scan_store.scan(ORG_A, f, None, 100)) == ["s5", "s11"]
    f = LogFilter(actions=("user_login", "file_downloaded"), actor="U1", entity="F1", oldest=T0 + 2)
    assert ids_of(scan_store.scan(ORG_A, f, None, 100)) == ["s10"]
    f = LogFilter(actions=("user_login", "user_logout"), actor="U2", latest=T0 + 2)
    assert ids_of(scan_store.scan(ORG_A, f, None, 100)) == ["s1", "s9"]


def test_scan_below_date_only(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(), Position(T0 + 2), 100)
    assert ids_of(rows) == ["s9", "s6", "s2", "s4", "s0"]


def test_scan_below_date_and_seq(scan_store: Store) -> None:
    rows = scan_store.scan(ORG_A, LogFilter(), Position(T0 + 2, 7), 100)
    assert ids_of(rows) == ["s3", "s1", "s9", "s6", "s2", "s4", "s0"]
    rows = scan_store.scan(ORG_A, LogFilter(), Position(T0 + 2, 1), 2)
    assert ids_of(rows) == ["s9", "s6"]
    rows = scan_store.scan(ORG_A, LogFilter(actions=("user_login",)), Position(T0 + 2, 11), 100)
    assert ids_of(rows) == ["s3", "s9", "s0"]
    both = LogFilter(actions=("user_logout", "file_downloaded"))
    assert ids_of(scan_store.scan(ORG_A, both, Position(T0 + 3, 10), 2)) == ["s8", "s7"]


def test_scan_walk_with_positions_covers_everything_once(scan_store: Store) -> None:
    seen: list[str] = []
    below: Position | None = None
    while True:
        rows = scan_store.scan(ORG_A, LogFilter(), below, 2)
        if not rows:
            break
        seen += ids_of(rows)
        below = Position(rows[-1].date_create, rows[-1].seq)
    assert seen == ids_of(all_rows(scan_store, ORG_A))


# --- concurrency --------------------------------------------------------------------------------


def _hammer(stores: Sequence[Store], threads: int, batches: int, per_batch: int) -> list[str]:
    """Append from `threads` threads (spread over `stores`); returns every error seen."""
    errors: list[str] = []
    outcomes: list[list[AppendOutcome]] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        store = stores[t % len(stores)]
        start.wait()
        for b in range(batches):
            batch = [
                ev(ORG_A if (t + i) % 2 else ORG_B, f"t{t}-b{b}-e{i}", date=T0 + b)
                for i in range(per_batch)
            ]
            try:
                result = store.append(batch)
            except Exception as exc:  # pragma: no cover - reported below
                with lock:
                    errors.append(repr(exc))
                return
            with lock:
                outcomes.append(result)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool)
    if not errors:
        assert sum(len(o) for o in outcomes) == threads * batches * per_batch
        assert not any(o.duplicate for batch in outcomes for o in batch)
    return errors


def _check_gap_free(store: Store, total: int) -> None:
    seen_ids: set[str] = set()
    grand = 0
    for org in (ORG_A, ORG_B):
        rows = all_rows(store, org)
        seqs = sorted(r.seq for r in rows)
        assert seqs == list(range(len(rows))), f"{org}: sequence has gaps or repeats"
        assert store.count_events(org) == len(rows)
        ids = ids_of(rows)
        assert len(set(ids)) == len(ids)
        seen_ids |= set(ids)
        grand += len(rows)
    assert grand == total
    assert len(seen_ids) == total


def test_concurrent_appends_stay_gap_free(backend_store: Store) -> None:
    errors = _hammer([backend_store], threads=8, batches=50, per_batch=3)
    assert errors == []
    _check_gap_free(backend_store, 8 * 50 * 3)


def test_two_store_instances_on_one_database_stay_gap_free(
    backend_store: Store, backend_factory: Callable[[], Store]
) -> None:
    """Two stores on one database, as a server and the `ingest` command in two processes."""
    other = backend_factory()
    other.migrate()
    errors = _hammer([backend_store, other], threads=6, batches=25, per_batch=4)
    assert errors == []
    _check_gap_free(backend_store, 6 * 25 * 4)
    _check_gap_free(other, 6 * 25 * 4)


def test_concurrent_duplicates_are_stored_once(backend_store: Store) -> None:
    """Many threads sending the same supplied ids at once: one copy each, the same seq for all."""
    results: list[list[AppendOutcome]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work() -> None:
        start.wait()
        for round_ in range(10):
            out = backend_store.append([ev(ORG_A, f"same-{round_}-{i}") for i in range(3)])
            with lock:
                results.append(out)

    pool = [threading.Thread(target=work) for _ in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert backend_store.count_events(ORG_A) == 30
    by_id: dict[str, set[int]] = {}
    fresh: dict[str, int] = {}
    for out in results:
        for o in out:
            by_id.setdefault(o.id, set()).add(o.seq)
            if not o.duplicate:
                fresh[o.id] = fresh.get(o.id, 0) + 1
    assert all(len(seqs) == 1 for seqs in by_id.values())
    assert fresh == dict.fromkeys(by_id, 1)
    _check_gap_free_single(backend_store, ORG_A, 30)


def _check_gap_free_single(store: Store, org: str, n: int) -> None:
    assert sorted(r.seq for r in all_rows(store, org)) == list(range(n))


# --- lifecycle --------------------------------------------------------------------------------


def test_migrate_is_idempotent(backend_factory: Callable[[], Store]) -> None:
    store = backend_factory()
    first = store.migrate()
    assert first
    assert first == sorted(first)
    assert store.migrate() == []
    store.append([ev(ORG_A, "kept")])
    again = backend_factory()
    assert again.migrate() == []
    assert again.count_events(ORG_A) == 1


def test_secret_is_stable_and_shared(
    backend_store: Store, backend_factory: Callable[[], Store]
) -> None:
    one = backend_store.secret("cursor-mac")
    assert isinstance(one, bytes)
    assert len(one) == 32
    assert backend_store.secret("cursor-mac") == one
    other = backend_factory()
    assert other.secret("cursor-mac") == one
    assert other.secret("another") != one
    assert backend_store.secret("another") == other.secret("another")


def test_secret_created_concurrently_is_one_value(
    backend_store: Store, backend_factory: Callable[[], Store]
) -> None:
    stores = [backend_store, backend_factory(), backend_factory()]
    got: list[bytes] = []
    start = threading.Barrier(6)

    def work(s: Store) -> None:
        start.wait()
        got.append(s.secret("race"))

    pool = [threading.Thread(target=work, args=(stores[i % 3],)) for i in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    assert len(got) == 6
    assert len(set(got)) == 1


# --- directory --------------------------------------------------------------------------------


def test_organizations(backend_store: Store) -> None:
    assert backend_store.get_organization("E0ONE") is None
    assert backend_store.list_organizations() == []
    backend_store.put_organization(Organization("E0TWO", "Two", "two"))
    backend_store.put_organization(Organization("E0ONE", "One", "one"))
    assert backend_store.get_organization("E0ONE") == Organization("E0ONE", "One", "one")
    assert [o.id for o in backend_store.list_organizations()] == ["E0ONE", "E0TWO"]
    backend_store.put_organization(Organization("E0ONE", "Renamed", "renamed"))
    assert backend_store.get_organization("E0ONE") == Organization("E0ONE", "Renamed", "renamed")
    assert len(backend_store.list_organizations()) == 2


def test_workspaces(backend_store: Store) -> None:
    backend_store.put_organization(Organization("E0ONE", "One", "one"))
    backend_store.put_organization(Organization("E0TWO", "Two", "two"))
    assert backend_store.get_workspace("T0A") is None
    backend_store.put_workspace(Workspace("T0B", "E0ONE", "Bee", "bee"))
    backend_store.put_workspace(Workspace("T0A", "E0ONE", "Ay", "ay"))
    backend_store.put_workspace(Workspace("T0C", "E0TWO", "Sea", "sea"))
    assert backend_store.get_workspace("T0A") == Workspace("T0A", "E0ONE", "Ay", "ay")
    assert [w.id for w in backend_store.list_workspaces("E0ONE")] == ["T0A", "T0B"]
    assert [w.id for w in backend_store.list_workspaces("E0TWO")] == ["T0C"]
    assert backend_store.list_workspaces("E0NONE") == []
    backend_store.put_workspace(Workspace("T0A", "E0TWO", "Moved", "moved"))
    assert backend_store.get_workspace("T0A") == Workspace("T0A", "E0TWO", "Moved", "moved")
    assert [w.id for w in backend_store.list_workspaces("E0ONE")] == ["T0B"]


def _token(tid: str, org: str, digest: bytes, created: int, **kw: object) -> TokenRecord:
    return TokenRecord(
        id=tid,
        org_id=org,
        token_hash=digest,
        scopes=frozenset({READ_SCOPE}),
        label=f"label {tid}",
        created_at=created,
        **kw,  # type: ignore[arg-type]
    )


def test_tokens(backend_store: Store) -> None:
    backend_store.put_organization(Organization("E0ONE", "One", "one"))
    backend_store.put_organization(Organization("E0TWO", "Two", "two"))
    t1 = _token("tok_1", "E0ONE", b"\x01" * 32, 300)
    t2 = TokenRecord(
        id="tok_2",
        org_id="E0TWO",
        token_hash=b"\x02" * 32,
        scopes=frozenset({READ_SCOPE, WRITE_SCOPE}),
        label="",
        created_at=100,
        workspace_id="T0WS",
        installation_id="I0INST",
    )
    t3 = _token("tok_3", "E0ONE", b"\x03" * 32, 200)
    for t in (t1, t2, t3):
        backend_store.add_token(t)
    assert backend_store.find_token(b"\x01" * 32) == t1
    assert backend_store.find_token(b"\x02" * 32) == t2
    assert backend_store.find_token(b"\x09" * 32) is None
    assert [t.id for t in backend_store.list_tokens()] == ["tok_2", "tok_3", "tok_1"]
    assert [t.id for t in backend_store.list_tokens("E0ONE")] == ["tok_3", "tok_1"]
    assert backend_store.list_tokens("E0NONE") == []

    backend_store.touch_token("tok_1", 400)
    assert backend_store.find_token(b"\x01" * 32).last_used_at == 400  # type: ignore[union-attr]
    assert backend_store.revoke_token("tok_1", 500) is True
    revoked = backend_store.find_token(b"\x01" * 32)
    assert revoked is not None
    assert revoked.revoked_at == 500
    assert not revoked.is_active
    # Revoking again, or revoking an unknown id, reports that nothing active had that id.
    assert backend_store.revoke_token("tok_1", 600) is False
    assert backend_store.find_token(b"\x01" * 32).revoked_at == 500  # type: ignore[union-attr]
    assert backend_store.revoke_token("tok_nope", 600) is False
    assert backend_store.find_token(b"\x03" * 32).is_active  # type: ignore[union-attr]


def test_token_hash_is_unique(backend_store: Store) -> None:
    backend_store.put_organization(Organization("E0ONE", "One", "one"))
    backend_store.add_token(_token("tok_1", "E0ONE", b"\x01" * 32, 1))
    with pytest.raises(StorageError):
        backend_store.add_token(_token("tok_2", "E0ONE", b"\x01" * 32, 2))


def test_directory_seen_by_a_second_store(
    backend_store: Store, backend_factory: Callable[[], Store]
) -> None:
    other = backend_factory()
    backend_store.put_organization(Organization("E0ONE", "One", "one"))
    backend_store.add_token(_token("tok_1", "E0ONE", b"\x01" * 32, 1))
    assert other.get_organization("E0ONE") is not None
    assert other.revoke_token("tok_1", 5) is True
    assert backend_store.find_token(b"\x01" * 32).revoked_at == 5  # type: ignore[union-attr]


def test_events_seen_by_a_second_store_at_once(
    backend_store: Store, backend_factory: Callable[[], Store]
) -> None:
    reader = backend_factory()
    assert reader.count_events(ORG_A) == 0  # the reader has looked before the write
    backend_store.append([ev(ORG_A, "now")])
    assert reader.count_events(ORG_A) == 1
    assert ids_of(all_rows(reader, ORG_A)) == ["now"]


# --- group commit (the machinery under `append`) ------------------------------------------------


def test_group_commit_shares_commits_between_callers() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def commit(batches: Sequence[int]) -> list[int]:
        calls.append(len(batches))
        gate.wait(5)
        return [b * 10 for b in batches]

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    results: dict[int, int] = {}

    def submit(n: int) -> None:
        results[n] = committer.submit(n)

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    while not calls:
        threading.Event().wait(0.001)
    rest = [threading.Thread(target=submit, args=(n,)) for n in range(1, 6)]
    for t in rest:
        t.start()
    while len(committer._queue) < 5:
        threading.Event().wait(0.001)
    gate.set()
    for t in [first, *rest]:
        t.join(timeout=10)
    assert results == {n: n * 10 for n in range(6)}
    assert calls == [1, 5]


def test_group_commit_isolates_a_failing_batch() -> None:
    def commit(batches: Sequence[int]) -> list[int]:
        if any(b < 0 for b in batches):
            raise ValueError("bad batch")
        return list(batches)

    committer: GroupCommitter[int, int] = GroupCommitter(commit)
    # Queue two batches by hand so they share one group; the bad one must not fail the good one.
    from trailkeeper.storage.groupcommit import _Ticket

    good, bad = _Ticket(7), _Ticket(-1)
    committer._queue.extend([good, bad])
    assert committer.submit(3) == 3
    assert (good.done, good.result, good.error) == (True, 7, None)
    assert bad.done
    assert isinstance(bad.error, ValueError)
    with pytest.raises(ValueError, match="bad batch"):
        committer.submit(-5)


def test_sqlite_store_rejects_an_unopenable_path(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorageError):
        SQLiteStore(str(tmp_path / "dir.db"))


def test_sqlite_durability_pragmas(store: SQLiteStore) -> None:
    path = store.path
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store._writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
