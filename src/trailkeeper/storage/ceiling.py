"""The raw storage ceiling of ingest: the same rows bulk-inserted straight into the same backend.

Fair by construction on SQLite: the same database file and `events` table (so the same indexes,
the same row count and the same warm page cache), a connection with the store writer's pragmas
(WAL, `synchronous=FULL`, default cache), and `executemany` of one batch per `BEGIN IMMEDIATE`
... `COMMIT`, as a durable ack needs. Rows go under a scratch organization and are deleted
afterwards, so the table returns to its size. Everything the real path adds on top (HTTP, JSON,
validation, the duplicate-id lookup, the head update, group commit) is what the ratio measures.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trailkeeper.errors import ConfigError, StorageError
from trailkeeper.events import PreparedEvent
from trailkeeper.storage.sqlite import BUSY_TIMEOUT_MS

INSERT = (
    "INSERT INTO events (org_id, seq, id, date_create, action, actor_id, entity_id, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


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


def _sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///"):
        scheme = url.split(":", 1)[0]
        raise ConfigError([f"no raw-insert ceiling for {scheme}:// databases yet"])
    return url.removeprefix("sqlite:///")


def _connect(path: str) -> sqlite3.Connection:
    """A connection configured as the store's writer is."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc
    return conn


def _rows(org_id: str, first_seq: int, batch: Sequence[PreparedEvent]) -> list[tuple[object, ...]]:
    return [
        (org_id, first_seq + n, e.id, e.date_create, e.action, e.actor_id, e.entity_id, e.body)
        for n, e in enumerate(batch)
    ]


def measure_raw_insert(
    url: str, batches: Iterable[Sequence[PreparedEvent]], org_id: str
) -> RawInsertResult:
    """Insert every batch under `org_id`, one committed transaction each; rows are kept.

    Rows are built before the clock starts, so only the database's work is timed.
    """
    prepared, seq = [], 0
    for batch in batches:
        prepared.append(_rows(org_id, seq, batch))
        seq += len(batch)
    conn = _connect(_sqlite_path(url))
    try:
        started = time.perf_counter()
        for rows in prepared:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
    except sqlite3.Error as exc:
        raise StorageError(f"raw insert failed: {exc}") from exc
    finally:
        conn.close()
    return RawInsertResult(seq, len(prepared), seconds)


def discard_events(url: str, org_ids: Sequence[str]) -> int:
    """Delete every event (and the sequence head) of these scratch organizations; rows deleted."""
    conn = _connect(_sqlite_path(url))
    try:
        conn.execute("BEGIN IMMEDIATE")
        deleted = 0
        for org_id in org_ids:
            deleted += conn.execute("DELETE FROM events WHERE org_id = ?", (org_id,)).rowcount
            conn.execute("DELETE FROM org_heads WHERE org_id = ?", (org_id,))
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StorageError(f"discarding scratch events failed: {exc}") from exc
    finally:
        conn.close()
    return deleted
