"""The SQLite backend: one WAL file, one writer connection with group commit, a reader per thread.

Durability: WAL with `synchronous=FULL`, so an acknowledged append survives power loss. Other
processes (the `ingest` command next to a running server) append safely: sequence numbers are
allocated inside the `BEGIN IMMEDIATE` transaction that inserts the events.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from trailkeeper.errors import StorageError
from trailkeeper.events import AppendOutcome, EventRecord, PreparedEvent, StoredRow
from trailkeeper.integrity.tiles import TreeAdvance, advance_tree, advance_tree_leaves
from trailkeeper.integrity.treehash import leaf_hash
from trailkeeper.query import LogFilter, Position
from trailkeeper.storage.accounts_sql import AccountsSQL
from trailkeeper.storage.console_sql import CONSOLE_COLUMNS, ConsoleSQL, console_columns
from trailkeeper.storage.detect_sql import DetectSQL
from trailkeeper.storage.directory_sql import SQLDirectory
from trailkeeper.storage.groupcommit import GroupCommitter
from trailkeeper.storage.integrity_sql import IntegritySQL
from trailkeeper.storage.migrate import migrations_for, pending
from trailkeeper.storage.scans import scan_sql

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
ID_CHUNK = 500


def split_statements(script: str) -> list[str]:
    """The statements of an SQL script, for running them one by one inside a transaction."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements


RECORD_COLUMNS = "org_id, seq, id, date_create, action, actor_id, entity_id, body"
# An event row as appended: its record, then the columns the console filters on.
INSERT_EVENT = (
    f"INSERT INTO events ({RECORD_COLUMNS}, {CONSOLE_COLUMNS}) VALUES ({', '.join('?' * 11)})"
)


def _blob(value: bytes | str) -> bytes:
    # Bodies are written as BLOBs; a row edited by hand with SQL string functions comes back as
    # TEXT. Serve its bytes (integrity verification will flag the edit) rather than fail.
    return value if isinstance(value, bytes) else value.encode()


def record_from_row(row: Sequence[Any]) -> EventRecord:
    """An event record from a row of RECORD_COLUMNS."""
    return EventRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _blob(row[7]))


def check_continuation(org_id: str, expected: int, seqs: Sequence[int]) -> None:
    """A copied organization must continue its sequence exactly: no fork, no hole."""
    if list(seqs) != list(range(expected, expected + len(seqs))):
        raise StorageError(f"import for {org_id} must continue at seq {expected} without gaps")


def _record_row(r: EventRecord) -> tuple[object, ...]:
    return (r.org_id, r.seq, r.id, r.date_create, r.action, r.actor_id, r.entity_id, r.body)


def _import_records(conn: sqlite3.Connection, records: Sequence[EventRecord]) -> None:
    by_org: dict[str, list[EventRecord]] = {}
    for record in records:
        by_org.setdefault(record.org_id, []).append(record)
    for org_id, items in sorted(by_org.items()):
        expected = _head(conn, org_id)
        check_continuation(org_id, expected, [r.seq for r in items])
        conn.executemany(
            INSERT_EVENT,
            [(*_record_row(r), *console_columns(r.body)) for r in items],
        )
        _advance_head(conn, org_id, expected, [r.body for r in items])


def _head(conn: sqlite3.Connection, org_id: str) -> int:
    row = conn.execute("SELECT next_seq FROM org_heads WHERE org_id = ?", (org_id,)).fetchone()
    return int(row[0]) if row else 0


def _advance_head(
    conn: sqlite3.Connection, org_id: str, first_seq: int, bodies: list[bytes]
) -> None:
    """Move the organization's sequence head and Merkle frontier past the new events."""
    row = conn.execute("SELECT frontier FROM org_heads WHERE org_id = ?", (org_id,)).fetchone()
    frontier = row[0] if row else None
    if frontier is None and first_seq > 0:  # a log from before the tree existed: build it once
        older = conn.execute(
            "SELECT body FROM events WHERE org_id = ? AND seq < ? ORDER BY seq", (org_id, first_seq)
        ).fetchall()
        bodies = [bytes(r[0]) for r in older] + bodies
        first_seq = 0
    advance = advance_tree(frontier, bodies, first_seq)
    _store_advance(conn, org_id, first_seq + len(bodies), advance)


def _store_advance(
    conn: sqlite3.Connection, org_id: str, next_seq: int, advance: TreeAdvance
) -> None:
    """Keep the advanced tree's new nodes and move the organization's head to `next_seq`."""
    conn.executemany(
        "INSERT INTO merkle_nodes VALUES (?, ?, ?, ?)",
        [(org_id, level, index, value) for level, index, value in advance.nodes],
    )
    conn.execute(
        "INSERT INTO org_heads (org_id, next_seq, frontier) VALUES (?, ?, ?) "
        "ON CONFLICT(org_id) DO UPDATE SET next_seq = excluded.next_seq, "
        "frontier = excluded.frontier",
        (org_id, next_seq, advance.frontier),
    )


def _import_leaves(
    conn: sqlite3.Connection, org_id: str, first_seq: int, hashes: Sequence[bytes]
) -> None:
    """Kept leaf hashes of a copied purged stretch: stored, and the tree advanced over them."""
    check_continuation(org_id, _head(conn, org_id), range(first_seq, first_seq + len(hashes)))
    conn.executemany(
        "INSERT INTO purged_leaves (org_id, seq, hash) VALUES (?, ?, ?)",
        [(org_id, first_seq + i, value) for i, value in enumerate(hashes)],
    )
    row = conn.execute("SELECT frontier FROM org_heads WHERE org_id = ?", (org_id,)).fetchone()
    advance = advance_tree_leaves(row[0] if row else None, hashes, first_seq)
    _store_advance(conn, org_id, first_seq + len(hashes), advance)


def _keep_purged_leaves(conn: sqlite3.Connection, org_id: str, cutoff: int) -> None:
    """Keep the leaf hash of each event about to be purged (docs/integrity.md, Retention)."""
    rows = conn.execute(
        "SELECT seq, body FROM events WHERE org_id = ? AND date_create < ?", (org_id, cutoff)
    )
    conn.executemany(
        "INSERT OR IGNORE INTO purged_leaves (org_id, seq, hash) VALUES (?, ?, ?)",
        ((org_id, seq, leaf_hash(_blob(body))) for seq, body in rows),
    )


class WalCheckpointer:
    """Moves the WAL into the database file from a thread of its own.

    With SQLite's automatic checkpoint, a commit that crosses the threshold also copies the WAL
    into the database and fsyncs it, inside the ingest acknowledgement. Here commits only append
    to the WAL (still fsynced: durability is unchanged) and this thread checkpoints passively
    once the WAL has grown, without blocking writers.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], interval_s: float = 1.0) -> None:
        self._connect = connect
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = self._connect()
        try:
            while not self._stopped.wait(self._interval_s):
                self._checkpoint(conn, "PASSIVE")
            self._checkpoint(conn, "PASSIVE")
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, mode: str) -> None:
        # Busy or closing: the next round (or the next process) checkpoints.
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA wal_checkpoint({mode})")

    def stop(self) -> None:
        """Checkpoint once more and end the thread."""
        self._stopped.set()
        self._thread.join(timeout=10)


class SQLiteStore(SQLDirectory, IntegritySQL, AccountsSQL, DetectSQL, ConsoleSQL):
    """`Store` on a SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._wlock = threading.RLock()
        self._writer = self._connect()
        # 64 MiB of page cache for the writer: the random-id unique index otherwise leaves the
        # default 2 MiB cache early and halves append throughput on a growing table.
        self._writer.execute("PRAGMA cache_size = -65536")
        # Idle reader connections, shared by whichever threads read (worker threads come and go).
        # One reader per thread that reads; a retired worker thread's connection is closed.
        self._local = threading.local()
        self._readers: set[sqlite3.Connection] = set()
        self._committer: GroupCommitter[Sequence[PreparedEvent], list[AppendOutcome]] = (
            GroupCommitter(self._commit_batches)
        )
        # Checkpoints run beside commits, not inside them (see WalCheckpointer).
        self._writer.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpointer = WalCheckpointer(self._connect) if path != ":memory:" else None

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from exc
        return conn

    # --- connections and transactions -----------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader connection, closed when the thread ends (worker threads retire)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            self._readers.add(conn)
            weakref.finalize(threading.current_thread(), self._drop_reader, conn)
        yield conn

    def _drop_reader(self, conn: sqlite3.Connection) -> None:
        self._readers.discard(conn)
        conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._wlock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            with self._transaction() as conn:
                return fn(conn)
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite write failed: {exc}") from exc

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        try:
            with self._reader() as conn:
                return conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from exc

    # --- lifecycle --------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction; safe when several processes start."""

        def apply(conn: sqlite3.Connection) -> list[str]:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
            )
            applied = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            names = []
            for migration in pending(migrations_for("sqlite"), applied):
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, strftime('%s','now'))",
                    (migration.name,),
                )
                names.append(migration.name)
            return names

        return self._write(apply)

    def secret(self, name: str) -> bytes:
        """A shared random secret, created by whichever process asks first."""

        def get_or_create(conn: sqlite3.Connection) -> bytes:
            conn.execute(
                "INSERT OR IGNORE INTO secrets VALUES (?, ?)", (name, secrets.token_bytes(32))
            )
            return bytes(
                conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()[0]
            )

        rows = self._read("SELECT value FROM secrets WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else self._write(get_or_create)

    def list_secrets(self) -> dict[str, bytes]:
        """Every secret, by name."""
        return {name: bytes(value) for name, value in self._read("SELECT name, value FROM secrets")}

    def put_secret(self, name: str, value: bytes) -> None:
        """Create or replace a secret."""
        self._execute(
            "INSERT INTO secrets (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def close(self) -> None:
        """Close every connection this store opened (checkpointing the WAL first)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        for conn in list(self._readers):
            self._drop_reader(conn)
        with self._wlock:
            self._writer.close()

    # --- events -----------------------------------------------------------------------------

    def append(self, events: Sequence[PreparedEvent]) -> list[AppendOutcome]:
        """Durably append events (group-committed with concurrent callers)."""
        if not events:
            return []
        return self._committer.submit(events)

    def _commit_batches(
        self, batches: Sequence[Sequence[PreparedEvent]]
    ) -> list[list[AppendOutcome]]:
        return self._write(lambda conn: [self._append_batch(conn, b) for b in batches])

    def _existing_ids(
        self, conn: sqlite3.Connection, org_id: str, ids: list[str]
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT id, seq FROM events WHERE org_id = ? AND id IN ({marks})", (org_id, *chunk)
            )
            found.update(dict(rows.fetchall()))
        return found

    def _append_batch(
        self, conn: sqlite3.Connection, batch: Sequence[PreparedEvent]
    ) -> list[AppendOutcome]:
        outcomes: list[AppendOutcome | None] = [None] * len(batch)
        by_org: dict[str, list[int]] = {}
        for i, event in enumerate(batch):
            by_org.setdefault(event.org_id, []).append(i)
        for org_id, indexes in by_org.items():
            self._append_org(conn, org_id, [(i, batch[i]) for i in indexes], outcomes)
        return [o for o in outcomes if o is not None]

    def _append_org(
        self,
        conn: sqlite3.Connection,
        org_id: str,
        items: list[tuple[int, PreparedEvent]],
        outcomes: list[AppendOutcome | None],
    ) -> None:
        supplied = [e.id for _, e in items if e.id_supplied]
        known = self._existing_ids(conn, org_id, supplied) if supplied else {}
        first_seq = next_seq = _head(conn, org_id)
        rows = []
        for i, event in items:
            if event.id in known:
                outcomes[i] = AppendOutcome(event.id, known[event.id], duplicate=True)
                continue
            known[event.id] = next_seq
            rows.append(
                (
                    org_id,
                    next_seq,
                    event.id,
                    event.date_create,
                    event.action,
                    event.actor_id,
                    event.entity_id,
                    event.body,
                    *console_columns(event.body),
                )
            )
            outcomes[i] = AppendOutcome(event.id, next_seq, duplicate=False)
            next_seq += 1
        conn.executemany(INSERT_EVENT, rows)
        _advance_head(conn, org_id, first_seq, [r[7] for r in rows])

    def scan(
        self, org_id: str, log_filter: LogFilter, below: Position | None, limit: int
    ) -> list[StoredRow]:
        """Matching rows of one organization, newest first, strictly below `below`."""
        sql, args = scan_sql(org_id, log_filter, below, limit)
        return [StoredRow(r[0], r[1], _blob(r[2])) for r in self._read(sql, args)]

    def count_events(self, org_id: str) -> int:
        """The organization's next sequence number, i.e. how many events it has."""
        rows = self._read("SELECT next_seq FROM org_heads WHERE org_id = ?", (org_id,))
        return int(rows[0][0]) if rows else 0

    def events_from(self, org_id: str, start_seq: int, limit: int) -> list[EventRecord]:
        """An organization's events from `start_seq` on, in sequence order."""
        rows = self._read(
            f"SELECT {RECORD_COLUMNS} FROM events WHERE org_id = ? AND seq >= ? "
            "ORDER BY seq LIMIT ?",
            (org_id, start_seq, limit),
        )
        return [record_from_row(r) for r in rows]

    def import_events(self, records: Sequence[EventRecord]) -> None:
        """Store events with their original sequence numbers, continuing each organization."""
        self._write(lambda conn: _import_records(conn, records))

    def import_purged_leaves(self, org_id: str, first_seq: int, hashes: Sequence[bytes]) -> None:
        """Store kept leaf hashes of purged events and advance the tree over them."""
        self._write(lambda conn: _import_leaves(conn, org_id, first_seq, hashes))

    def tree_state(self, org_id: str) -> tuple[int, bytes | None]:
        """The organization's event count and serialized Merkle frontier."""
        rows = self._read("SELECT next_seq, frontier FROM org_heads WHERE org_id = ?", (org_id,))
        if not rows:
            return 0, None
        return int(rows[0][0]), None if rows[0][1] is None else bytes(rows[0][1])

    def organizations_with_events(self) -> list[str]:
        """Organizations that have events."""
        return [
            r[0]
            for r in self._read("SELECT org_id FROM org_heads WHERE next_seq > 0 ORDER BY org_id")
        ]

    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        """Delete each organization's events older than its cutoff."""

        def delete(conn: sqlite3.Connection) -> dict[str, int]:
            for org, cutoff in cutoffs.items():
                _keep_purged_leaves(conn, org, cutoff)
            return {
                org: conn.execute(
                    "DELETE FROM events WHERE org_id = ? AND date_create < ?", (org, cutoff)
                ).rowcount
                for org, cutoff in cutoffs.items()
            }

        return self._write(delete)

    # --- consumer positions -------------------------------------------------------------------

    def get_position(self, consumer: str, org_id: str) -> int:
        """The next sequence number `consumer` reads for `org_id`."""
        rows = self._read(
            "SELECT next_seq FROM consumer_positions WHERE consumer = ? AND org_id = ?",
            (consumer, org_id),
        )
        return int(rows[0][0]) if rows else 0

    def set_position(self, consumer: str, org_id: str, next_seq: int) -> None:
        """Record how far `consumer` has read."""
        self._execute(
            "INSERT INTO consumer_positions VALUES (?, ?, ?) ON CONFLICT "
            "(consumer, org_id) DO UPDATE SET next_seq = excluded.next_seq",
            (consumer, org_id, next_seq),
        )

    def list_positions(self) -> list[tuple[str, str, int]]:
        """Every recorded position: (consumer, org_id, next_seq)."""
        rows = self._read(
            "SELECT consumer, org_id, next_seq FROM consumer_positions ORDER BY consumer, org_id"
        )
        return [(str(c), str(o), int(n)) for c, o, n in rows]

    # --- directory (SQLDirectory) ---------------------------------------------------------

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        return self._read(sql, args)

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        return self._write(lambda c: c.execute(sql, args).rowcount)
