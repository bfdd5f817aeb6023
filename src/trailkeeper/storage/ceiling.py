"""The raw storage ceiling of ingest: the same rows bulk-inserted straight into the same backend.

Fair by construction: the same database and `events` table (so the same indexes, the same row
count and the same warm cache), a connection set up as the store's writer is (SQLite: WAL,
`synchronous=FULL`, its page cache size; PostgreSQL: its defaults, `synchronous_commit=on`),
the store's own insert mechanism (SQLite `executemany`, PostgreSQL binary COPY), and one
transaction per batch, as a durable ack needs. Rows go under a scratch organization and are
deleted afterwards. What the real path adds on top (HTTP, JSON, validation, the duplicate-id
lookup, the sequence head, the Merkle tree, group commit) is what the ratio to this ceiling
measures.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trailkeeper.errors import ConfigError, StorageError
from trailkeeper.events import PreparedEvent
from trailkeeper.storage.sqlite import BUSY_TIMEOUT_MS, RECORD_COLUMNS

# As `SQLiteStore._connect` sets it (a test keeps the two in step).
WRITER_CACHE_SIZE = -65536
INSERT = f"INSERT INTO events ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# The directory stays: scratch organizations keep their workspaces between runs.
KEPT_TABLES = frozenset({"organizations", "workspaces"})
Row = tuple[object, ...]


@dataclass(frozen=True)
class RawInsertResult:
    """`events` rows inserted in `batches` committed transactions, in `seconds`."""

    events: int
    batches: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        """Insert rate."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _rows(org_id: str, first_seq: int, batch: Sequence[PreparedEvent]) -> list[Row]:
    return [
        (org_id, first_seq + n, e.id, e.date_create, e.action, e.actor_id, e.entity_id, e.body)
        for n, e in enumerate(batch)
    ]


def _numbered(batches: Iterable[Sequence[PreparedEvent]], org_id: str) -> list[list[Row]]:
    numbered, seq = [], 0
    for batch in batches:
        numbered.append(_rows(org_id, seq, batch))
        seq += len(batch)
    return numbered


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ConfigError([f"no raw-insert ceiling for {url.split(':', 1)[0]}:// databases"])
    return url.removeprefix("sqlite:///")


def _sqlite_connect(url: str) -> sqlite3.Connection:
    """A connection configured as the SQLite store's writer is."""
    path = _sqlite_path(url)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA cache_size = {WRITER_CACHE_SIZE}")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc
    return conn


def _sqlite_insert(url: str, numbered: list[list[Row]]) -> float:
    conn = _sqlite_connect(url)
    try:
        started = time.perf_counter()
        for rows in numbered:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
        return time.perf_counter() - started
    except sqlite3.Error as exc:
        raise StorageError(f"raw insert failed: {exc}") from exc
    finally:
        conn.close()


def _postgres_insert(url: str, numbered: list[list[Row]]) -> float:
    import psycopg

    from trailkeeper.storage.postgres import EVENT_COLUMNS, EVENT_TYPES

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            for rows in numbered:
                with conn.transaction(), conn.cursor() as cur:
                    copy_sql = f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                    with cur.copy(copy_sql) as copy:
                        copy.set_types(EVENT_TYPES)
                        for row in rows:
                            copy.write_row(row)
            return time.perf_counter() - started
    except psycopg.Error as exc:
        raise StorageError(f"raw insert failed: {exc}") from exc


def measure_raw_insert(
    url: str, batches: Iterable[Sequence[PreparedEvent]], org_id: str
) -> RawInsertResult:
    """Insert every batch under `org_id`, one committed transaction each; rows are kept.

    Rows are numbered before the clock starts, so only the database's work is timed.
    """
    numbered = _numbered(batches, org_id)
    insert = _postgres_insert if _is_postgres(url) else _sqlite_insert
    seconds = insert(url, numbered)
    return RawInsertResult(sum(len(rows) for rows in numbered), len(numbered), seconds)


def _sqlite_org_tables(conn: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        name
        for name in names
        if name not in KEPT_TABLES
        and any(col[1] == "org_id" for col in conn.execute(f'PRAGMA table_info("{name}")'))
    ]


def _sqlite_discard(url: str, org_ids: Sequence[str]) -> int:
    conn = _sqlite_connect(url)
    try:
        conn.execute("BEGIN IMMEDIATE")
        deleted = 0
        for table in _sqlite_org_tables(conn):
            for org_id in org_ids:
                deleted += conn.execute(
                    f'DELETE FROM "{table}" WHERE org_id = ?', (org_id,)
                ).rowcount
        conn.execute("COMMIT")
        return deleted
    except sqlite3.Error as exc:
        raise StorageError(f"discarding scratch organizations failed: {exc}") from exc
    finally:
        conn.close()


PG_ORG_TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""


def _postgres_discard(url: str, org_ids: Sequence[str]) -> int:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            tables: list[Any] = [r[0] for r in conn.execute(PG_ORG_TABLES).fetchall()]
            deleted = 0
            for table in tables:
                if table in KEPT_TABLES:
                    continue
                sql = f'DELETE FROM "{table}" WHERE org_id = ANY(%s)'
                deleted += conn.execute(sql, (list(org_ids),)).rowcount
            return deleted
    except psycopg.Error as exc:
        raise StorageError(f"discarding scratch organizations failed: {exc}") from exc


def discard_organizations(url: str, org_ids: Sequence[str]) -> int:
    """Delete every row of these scratch organizations outside the directory; rows deleted.

    Tables are found by their `org_id` column, so data added by later migrations (sequence heads,
    Merkle nodes, checkpoints, ...) goes too and a kept database returns to its history alone.
    """
    if _is_postgres(url):
        return _postgres_discard(url, org_ids)
    return _sqlite_discard(url, org_ids)
