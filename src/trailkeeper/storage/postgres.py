"""The PostgreSQL backend: psycopg 3 with a pool for reads, one writer connection per process.

Appends are group-committed and written with binary COPY. Each organization's sequence comes from
its `org_heads` row, locked FOR UPDATE inside the appending transaction (organizations locked in
sorted order), so any number of nodes append without gaps, forks or deadlocks.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from trailkeeper.errors import StorageError
from trailkeeper.events import AppendOutcome, EventRecord, PreparedEvent, StoredRow
from trailkeeper.integrity.tiles import TreeAdvance, advance_tree, advance_tree_leaves
from trailkeeper.query import LogFilter, Position
from trailkeeper.storage.accounts_sql import AccountsSQL
from trailkeeper.storage.console_sql import (
    CONSOLE_COLUMNS,
    CONSOLE_TYPES,
    ConsoleSQL,
    console_columns,
)
from trailkeeper.storage.detect_sql import DetectSQL
from trailkeeper.storage.directory_sql import SQLDirectory
from trailkeeper.storage.groupcommit import GroupCommitter
from trailkeeper.storage.integrity_sql import IntegritySQL
from trailkeeper.storage.migrate import migrations_for, pending
from trailkeeper.storage.partitions import month_partition, months_ahead, partition_bounds
from trailkeeper.storage.scans import scan_sql
from trailkeeper.storage.sqlite import RECORD_COLUMNS, check_continuation, record_from_row

T = TypeVar("T")
MONTHS_AHEAD = 3
MIGRATION_LOCK = 7_254_031  # pg_advisory_xact_lock key: one migrator at a time
EVENT_COLUMNS = "org_id, seq, id, date_create, action, actor_id, entity_id, body"
EVENT_TYPES = ["text", "int8", "text", "int8", "text", "text", "text", "bytea"]
ID_TYPES = ["text", "text", "int8", "int8"]
NODE_TYPES = ["text", "int4", "int8", "bytea"]
LEAF_TYPES = ["text", "int8", "bytea"]
# An event row as appended: its record, then the columns the console filters on.
APPEND_COLUMNS = f"{EVENT_COLUMNS}, {CONSOLE_COLUMNS}"
APPEND_TYPES = [*EVENT_TYPES, *CONSOLE_TYPES]
# Before a purge deletes events, their RFC 6962 leaf hashes (SHA-256(0x00 || bytes)) are kept.
KEEP_PURGED_LEAVES = (
    "INSERT INTO purged_leaves (org_id, seq, hash) "
    "SELECT org_id, seq, sha256('\\x00'::bytea || body)"
)


class PostgresStore(SQLDirectory, IntegritySQL, AccountsSQL, DetectSQL, ConsoleSQL):
    """`Store` on PostgreSQL."""

    PH = "%s"

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        try:
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=pool_size,
                open=True,
                kwargs={"autocommit": True},
                timeout=30,
            )
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc}") from exc
        self._writer: psycopg.Connection[Any] | None = None
        self._known_partitions: set[str] = set()
        self._partition_lock = threading.Lock()
        self._committer: GroupCommitter[Sequence[PreparedEvent], list[AppendOutcome]] = (
            GroupCommitter(self._commit_batches)
        )

    # --- plumbing -----------------------------------------------------------------------------

    def _with_conn(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            with self._pool.connection() as conn:
                return fn(conn)
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL failed: {exc}") from exc

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        return self._with_conn(lambda c: c.execute(sql, args).fetchall())

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        return self._with_conn(lambda c: c.execute(sql, args).rowcount)

    def _writer_conn(self) -> psycopg.Connection[Any]:
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = psycopg.connect(self.url, autocommit=False)
        return self._writer

    # --- lifecycle ----------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations under an advisory lock, then create partitions ahead."""

        def apply(conn: psycopg.Connection[Any]) -> list[str]:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
                names = []
                for migration in pending(migrations_for("postgres"), applied):
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (name) VALUES (%s)", (migration.name,)
                    )
                    names.append(migration.name)
                return names

        names = self._with_conn(apply)
        self.create_partitions_ahead()
        return names

    def create_partitions_ahead(self, now: int | None = None) -> list[str]:
        """Make sure this month's partition and the next few exist; return their names."""
        parts = months_ahead(int(time.time()) if now is None else now, MONTHS_AHEAD)
        for part in parts:
            self._ensure_partition(part.start)
        return [p.name for p in parts]

    def _ensure_partition(self, timestamp: int) -> None:
        part = month_partition(timestamp)
        if part.name in self._known_partitions:
            return
        sql = (
            f"CREATE TABLE IF NOT EXISTS {part.name} PARTITION OF events "
            f"FOR VALUES FROM ({part.start}) TO ({part.end})"
        )
        with self._partition_lock:
            try:
                self._execute(sql)
            except StorageError as exc:
                # Two nodes creating the same partition at once: the loser's error is harmless.
                if not isinstance(
                    exc.__cause__, pg_errors.DuplicateTable | pg_errors.UniqueViolation
                ):
                    raise
            self._known_partitions.add(part.name)

    def secret(self, name: str) -> bytes:
        """A shared random secret, created by whichever node asks first."""
        self._execute(
            "INSERT INTO secrets (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (name, secrets.token_bytes(32)),
        )
        return bytes(self._query("SELECT value FROM secrets WHERE name = %s", (name,))[0][0])

    def list_secrets(self) -> dict[str, bytes]:
        """Every secret, by name."""
        rows = self._query("SELECT name, value FROM secrets")
        return {name: bytes(value) for name, value in rows}

    def put_secret(self, name: str, value: bytes) -> None:
        """Create or replace a secret."""
        self._execute(
            "INSERT INTO secrets (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def close(self) -> None:
        """Close the pool and the writer connection."""
        self._pool.close()
        if self._writer is not None:
            self._writer.close()

    # --- events -------------------------------------------------------------------------------

    def append(self, events: Sequence[PreparedEvent]) -> list[AppendOutcome]:
        """Durably append events (group-committed with concurrent callers)."""
        if not events:
            return []
        for timestamp in {month_partition(e.date_create).start for e in events}:
            self._ensure_partition(timestamp)
        return self._committer.submit(events)

    def _commit_batches(
        self, batches: Sequence[Sequence[PreparedEvent]]
    ) -> list[list[AppendOutcome]]:
        conn = self._writer_conn()
        try:
            with conn.transaction():
                return _AppendTransaction(conn, batches).run()
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL append failed: {exc}") from exc

    def scan(
        self, org_id: str, log_filter: LogFilter, below: Position | None, limit: int
    ) -> list[StoredRow]:
        """Matching rows of one organization, newest first, strictly below `below`."""
        sql, args = scan_sql(org_id, log_filter, below, limit, ph="%s")
        return [StoredRow(r[0], r[1], bytes(r[2])) for r in self._query(sql, args)]

    def count_events(self, org_id: str) -> int:
        """The organization's next sequence number, i.e. how many events it has."""
        rows = self._query("SELECT next_seq FROM org_heads WHERE org_id = %s", (org_id,))
        return int(rows[0][0]) if rows else 0

    def events_from(self, org_id: str, start_seq: int, limit: int) -> list[EventRecord]:
        """An organization's events from `start_seq` on, in sequence order."""
        columns = ", ".join(f"e.{c.strip()}" for c in RECORD_COLUMNS.split(","))
        rows = self._query(
            f"SELECT {columns} FROM event_ids i JOIN events e ON e.org_id = i.org_id "
            "AND e.date_create = i.date_create AND e.seq = i.seq "
            "WHERE i.org_id = %s AND i.seq >= %s ORDER BY i.seq LIMIT %s",
            (org_id, start_seq, limit),
        )
        return [record_from_row(r) for r in rows]

    def import_events(self, records: Sequence[EventRecord]) -> None:
        """Store events with their original sequence numbers, continuing each organization."""
        for timestamp in {month_partition(r.date_create).start for r in records}:
            self._ensure_partition(timestamp)
        self._import(lambda conn: _import_records(conn, records))

    def import_purged_leaves(self, org_id: str, first_seq: int, hashes: Sequence[bytes]) -> None:
        """Store kept leaf hashes of purged events and advance the tree over them."""

        def write(conn: psycopg.Connection[Any]) -> None:
            tx = _AppendTransaction(conn, [])
            tx.lock_heads([org_id])
            check_continuation(org_id, tx.heads[org_id], range(first_seq, first_seq + len(hashes)))
            tx.write_leaves(org_id, hashes)

        self._import(write)

    def _import(self, fn: Callable[[psycopg.Connection[Any]], None]) -> None:
        """One import transaction on the writer connection, appends held off meanwhile."""
        conn = self._writer_conn()
        with self._committer.exclusive():
            try:
                with conn.transaction():
                    fn(conn)
            except psycopg.Error as exc:
                raise StorageError(f"PostgreSQL import failed: {exc}") from exc

    def tree_state(self, org_id: str) -> tuple[int, bytes | None]:
        """The organization's event count and serialized Merkle frontier."""
        rows = self._query("SELECT next_seq, frontier FROM org_heads WHERE org_id = %s", (org_id,))
        if not rows:
            return 0, None
        return int(rows[0][0]), None if rows[0][1] is None else bytes(rows[0][1])

    def organizations_with_events(self) -> list[str]:
        """Organizations that have events."""
        rows = self._query("SELECT org_id FROM org_heads WHERE next_seq > 0 ORDER BY org_id")
        return [r[0] for r in rows]

    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        """Drop whole partitions every organization in them has expired; delete ranges otherwise."""
        counts = dict.fromkeys(cutoffs, 0)
        for name, (start, end) in self._partitions():
            if start < max(cutoffs.values(), default=0):
                self._purge_partition(name, end, cutoffs, counts)
        return counts

    def _partitions(self) -> list[tuple[str, tuple[int, int]]]:
        rows = self._query(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'events' AND p.relnamespace = c.relnamespace "
            "AND p.relnamespace = to_regnamespace(current_schema())::oid ORDER BY 1"
        )
        return [(name, partition_bounds(bound)) for name, bound in rows]

    def _purge_partition(
        self, name: str, end: int, cutoffs: dict[str, int], counts: dict[str, int]
    ) -> None:
        conn = self._writer_conn()
        with self._committer.exclusive(), conn.transaction():
            per_org = dict(
                conn.execute(f"SELECT org_id, count(*) FROM {name} GROUP BY org_id").fetchall()
            )
            if per_org and all(cutoffs.get(org, 0) >= end for org in per_org):
                conn.execute(f"{KEEP_PURGED_LEAVES} FROM {name} ON CONFLICT DO NOTHING")
                conn.execute(
                    f"DELETE FROM event_ids i USING {name} e WHERE i.org_id = e.org_id "
                    "AND i.id = e.id"
                )
                conn.execute(f"DROP TABLE {name}")
                self._known_partitions.discard(name)
                for org, count in per_org.items():
                    counts[org] += int(count)
                return
            for org, cutoff in cutoffs.items():
                if org in per_org:
                    conn.execute(
                        f"{KEEP_PURGED_LEAVES} FROM {name} "
                        "WHERE org_id = %s AND date_create < %s ON CONFLICT DO NOTHING",
                        (org, cutoff),
                    )
                    conn.execute(
                        "DELETE FROM event_ids WHERE org_id = %s AND date_create < %s "
                        "AND date_create < %s",
                        (org, cutoff, end),
                    )
                    deleted = conn.execute(
                        f"DELETE FROM {name} WHERE org_id = %s AND date_create < %s", (org, cutoff)
                    ).rowcount
                    counts[org] += deleted

    def get_position(self, consumer: str, org_id: str) -> int:
        """The next sequence number `consumer` reads for `org_id`."""
        rows = self._query(
            "SELECT next_seq FROM consumer_positions WHERE consumer = %s AND org_id = %s",
            (consumer, org_id),
        )
        return int(rows[0][0]) if rows else 0

    def set_position(self, consumer: str, org_id: str, next_seq: int) -> None:
        """Record how far `consumer` has read."""
        self._execute(
            "INSERT INTO consumer_positions VALUES (%s, %s, %s) ON CONFLICT "
            "(consumer, org_id) DO UPDATE SET next_seq = excluded.next_seq",
            (consumer, org_id, next_seq),
        )

    def list_positions(self) -> list[tuple[str, str, int]]:
        """Every recorded position: (consumer, org_id, next_seq)."""
        rows = self._query(
            "SELECT consumer, org_id, next_seq FROM consumer_positions ORDER BY consumer, org_id"
        )
        return [(str(c), str(o), int(n)) for c, o, n in rows]


def _import_records(conn: psycopg.Connection[Any], records: Sequence[EventRecord]) -> None:
    by_org: dict[str, list[EventRecord]] = {}
    for record in records:
        by_org.setdefault(record.org_id, []).append(record)
    tx = _AppendTransaction(conn, [])
    tx.lock_heads(sorted(by_org))
    for org_id, items in by_org.items():
        check_continuation(org_id, tx.heads[org_id], [r.seq for r in items])
        tx.heads[org_id] += len(items)
        tx.new_bodies.setdefault(org_id, []).extend(r.body for r in items)
        for r in items:
            tx.event_rows.append(
                (r.org_id, r.seq, r.id, r.date_create, r.action, r.actor_id, r.entity_id, r.body,
                 *console_columns(r.body))
            )  # fmt: skip
            tx.id_rows.append((r.org_id, r.id, r.seq, r.date_create))
    tx.write()


class _AppendTransaction:
    """One group commit: lock the heads, skip known ids, number the events, COPY them in."""

    def __init__(
        self, conn: psycopg.Connection[Any], batches: Sequence[Sequence[PreparedEvent]]
    ) -> None:
        self.conn = conn
        self.batches = batches
        self.heads: dict[str, int] = {}
        self.first: dict[str, int] = {}
        self.frontiers: dict[str, bytes | None] = {}
        self.new_bodies: dict[str, list[bytes]] = {}
        self.known: dict[tuple[str, str], int] = {}
        self.event_rows: list[tuple[object, ...]] = []
        self.id_rows: list[tuple[object, ...]] = []

    def run(self) -> list[list[AppendOutcome]]:
        self.lock_heads(sorted({e.org_id for b in self.batches for e in b}))
        self._load_known_ids()
        results = [[self._number(e) for e in batch] for batch in self.batches]
        self.write()
        return results

    def write(self) -> None:
        """COPY the numbered rows in and advance the heads."""
        self._copy("events", APPEND_COLUMNS, APPEND_TYPES, self.event_rows)
        self._copy("event_ids", "org_id, id, seq, date_create", ID_TYPES, self.id_rows)
        head_rows: list[tuple[object, ...]] = []
        node_rows: list[tuple[object, ...]] = []
        for org_id, seq in self.heads.items():
            advance = self._advance(org_id)
            head_rows.append((seq, advance.frontier, org_id))
            node_rows.extend((org_id, level, index, value) for level, index, value in advance.nodes)
        self._copy("merkle_nodes", "org_id, level, idx, hash", NODE_TYPES, node_rows)
        with self.conn.cursor() as cur:
            cur.executemany(
                "UPDATE org_heads SET next_seq = %s, frontier = %s WHERE org_id = %s", head_rows
            )

    def write_leaves(self, org_id: str, hashes: Sequence[bytes]) -> None:
        """COPY kept leaf hashes of a purged stretch in and advance the (locked) head over them."""
        first = self.heads[org_id]
        leaves = [(org_id, first + i, value) for i, value in enumerate(hashes)]
        self._copy("purged_leaves", "org_id, seq, hash", LEAF_TYPES, leaves)
        advance = advance_tree_leaves(self.frontiers[org_id], hashes, first)
        nodes = [(org_id, level, index, value) for level, index, value in advance.nodes]
        self._copy("merkle_nodes", "org_id, level, idx, hash", NODE_TYPES, nodes)
        self.conn.execute(
            "UPDATE org_heads SET next_seq = %s, frontier = %s WHERE org_id = %s",
            (first + len(hashes), advance.frontier, org_id),
        )

    def _advance(self, org_id: str) -> TreeAdvance:
        """The organization's Merkle frontier moved past this transaction's events."""
        first, frontier = self.first[org_id], self.frontiers[org_id]
        bodies = self.new_bodies.get(org_id, [])
        if frontier is None and first > 0:  # a log from before the tree existed: build it once
            older = self.conn.execute(
                "SELECT e.body FROM event_ids i JOIN events e ON e.org_id = i.org_id AND "
                "e.date_create = i.date_create AND e.seq = i.seq WHERE i.org_id = %s "
                "AND i.seq < %s ORDER BY i.seq",
                (org_id, first),
            ).fetchall()
            bodies = [bytes(r[0]) for r in older] + bodies
            first = 0
        return advance_tree(frontier, bodies, first)

    def lock_heads(self, orgs: list[str]) -> None:
        self.conn.execute(
            "INSERT INTO org_heads (org_id, next_seq) SELECT unnest(%s::text[]), 0 "
            "ON CONFLICT DO NOTHING",
            (orgs,),
        )
        rows = self.conn.execute(
            "SELECT org_id, next_seq, frontier FROM org_heads WHERE org_id = ANY(%s) "
            "ORDER BY org_id FOR UPDATE",
            (orgs,),
        ).fetchall()
        self.heads = {org: int(seq) for org, seq, _ in rows}
        self.first = dict(self.heads)
        self.frontiers = {org: None if f is None else bytes(f) for org, _, f in rows}

    def _load_known_ids(self) -> None:
        wanted: dict[str, list[str]] = {}
        for batch in self.batches:
            for event in batch:
                if event.id_supplied:
                    wanted.setdefault(event.org_id, []).append(event.id)
        for org_id, ids in wanted.items():
            rows = self.conn.execute(
                "SELECT id, seq FROM event_ids WHERE org_id = %s AND id = ANY(%s)", (org_id, ids)
            ).fetchall()
            self.known.update({(org_id, i): int(s) for i, s in rows})

    def _number(self, event: PreparedEvent) -> AppendOutcome:
        key = (event.org_id, event.id)
        if key in self.known:
            return AppendOutcome(event.id, self.known[key], duplicate=True)
        seq = self.heads[event.org_id]
        self.heads[event.org_id] = seq + 1
        self.known[key] = seq
        self.event_rows.append(
            (
                event.org_id,
                seq,
                event.id,
                event.date_create,
                event.action,
                event.actor_id,
                event.entity_id,
                event.body,
                *console_columns(event.body),
            )
        )
        self.id_rows.append((event.org_id, event.id, seq, event.date_create))
        self.new_bodies.setdefault(event.org_id, []).append(event.body)
        return AppendOutcome(event.id, seq, duplicate=False)

    def _copy(
        self, table: str, columns: str, types: list[str], rows: Sequence[tuple[object, ...]]
    ) -> None:
        if not rows:
            return
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
