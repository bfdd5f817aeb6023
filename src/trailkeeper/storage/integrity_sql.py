"""The integrity tables' SQL, shared by every backend: signing keys, checkpoints, node ranges,
purged leaves and logging pauses.

A backend mixes this in and supplies `_query`, `_execute` and `PH` (see `directory_sql`).
The private signing key is stored in `signing_keys.private_key`: whoever can read the database
can sign checkpoints (docs/integrity.md says what that does and does not allow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.events import EventRecord
from trailkeeper.integrity.pauses import PauseRecord
from trailkeeper.integrity.service import CheckpointRecord, SigningKeyRecord

KEY_COLUMNS = "generation, name, key_id, vkey, private_key, created_at, retired_at, endorsement"
CHECKPOINT_COLUMNS = "org_id, tree_size, root_hash, timestamp, key_name, key_id, note"
NODE_CHUNK = 200  # point lookups per statement (SQLite allows 500 compound SELECT terms)
EVENT_COLUMNS = "org_id, seq, id, date_create, action, actor_id, entity_id, body"


def _blob(value: Any) -> bytes:
    """Stored event bytes; SQLite hands back TEXT if someone rewrote a body with a string
    function (`replace(body, …)`): serve it as its UTF-8 bytes so verifiers see the change."""
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def key_from_row(row: Sequence[Any]) -> SigningKeyRecord:
    """A signing key from a row of KEY_COLUMNS."""
    return SigningKeyRecord(
        generation=int(row[0]),
        name=row[1],
        key_id=row[2],
        vkey=row[3],
        private_key=row[4],
        created_at=int(row[5]),
        retired_at=None if row[6] is None else int(row[6]),
        endorsement=row[7],
    )


def checkpoint_from_row(row: Sequence[Any]) -> CheckpointRecord:
    """A checkpoint from a row of CHECKPOINT_COLUMNS."""
    return CheckpointRecord(
        org_id=row[0],
        tree_size=int(row[1]),
        root_hash=bytes(row[2]),
        timestamp=int(row[3]),
        key_name=row[4],
        key_id=row[5],
        note=row[6],
    )


class IntegritySQL:
    """`IntegrityStore` in portable SQL."""

    PH = "?"

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        raise NotImplementedError

    def _placeholders(self, n: int) -> str:
        return ", ".join([self.PH] * n)

    # --- signing keys -------------------------------------------------------------------------

    def add_signing_key(self, record: SigningKeyRecord) -> bool:
        """Store a key under its generation; False if that generation exists (a race lost)."""
        r = record
        return (
            self._execute(
                f"INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ({self._placeholders(8)}) "
                "ON CONFLICT (generation) DO NOTHING",
                (
                    r.generation,
                    r.name,
                    r.key_id,
                    r.vkey,
                    r.private_key,
                    r.created_at,
                    r.retired_at,
                    r.endorsement,
                ),
            )
            > 0
        )

    def signing_keys(self, *, private: bool = False) -> list[SigningKeyRecord]:
        """Every signing key, oldest generation first; `private_key` is read only if asked, so
        a database role without access to that column can still list the public keys."""
        columns = KEY_COLUMNS if private else KEY_COLUMNS.replace("private_key", "''")
        rows = self._query(f"SELECT {columns} FROM signing_keys ORDER BY generation")
        return [key_from_row(r) for r in rows]

    def retire_signing_keys(self, below_generation: int, at: int) -> int:
        """Mark every still-active key older than `below_generation` retired at `at`."""
        return self._execute(
            f"UPDATE signing_keys SET retired_at = {self.PH} "
            f"WHERE generation < {self.PH} AND retired_at IS NULL",
            (at, below_generation),
        )

    # --- checkpoints --------------------------------------------------------------------------

    def add_checkpoint(self, record: CheckpointRecord) -> bool:
        """Store a checkpoint; False if the organization has one of that size already."""
        r = record
        return (
            self._execute(
                f"INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES ({self._placeholders(7)}) "
                "ON CONFLICT (org_id, tree_size) DO NOTHING",
                (r.org_id, r.tree_size, r.root_hash, r.timestamp, r.key_name, r.key_id, r.note),
            )
            > 0
        )

    def latest_checkpoint(self, org_id: str) -> CheckpointRecord | None:
        """The organization's checkpoint of the largest tree."""
        rows = self._query(
            f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE org_id = {self.PH} "
            "ORDER BY tree_size DESC LIMIT 1",
            (org_id,),
        )
        return checkpoint_from_row(rows[0]) if rows else None

    def checkpoint_at(self, org_id: str, tree_size: int) -> CheckpointRecord | None:
        """The organization's checkpoint of exactly `tree_size` leaves."""
        rows = self._query(
            f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints "
            f"WHERE org_id = {self.PH} AND tree_size = {self.PH}",
            (org_id, tree_size),
        )
        return checkpoint_from_row(rows[0]) if rows else None

    def list_checkpoints(self, org_id: str, max_size: int) -> list[CheckpointRecord]:
        """The organization's checkpoints of at most `max_size` leaves, smallest first."""
        rows = self._query(
            f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints "
            f"WHERE org_id = {self.PH} AND tree_size <= {self.PH} ORDER BY tree_size",
            (org_id, max_size),
        )
        return [checkpoint_from_row(r) for r in rows]

    # --- lookups proofs need ------------------------------------------------------------------

    def event_seq(self, org_id: str, event_id: str) -> int | None:
        """The sequence number (leaf index) of an event, by id."""
        # PostgreSQL keeps ids in `event_ids` (a partitioned table cannot enforce uniqueness);
        # SQLite's `events` carries its own unique (org_id, id) index.
        table = "event_ids" if self.PH == "%s" else "events"
        rows = self._query(
            f"SELECT seq FROM {table} WHERE org_id = {self.PH} AND id = {self.PH}",
            (org_id, event_id),
        )
        return int(rows[0][0]) if rows else None

    def events_in(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> list[EventRecord]:
        """The organization's stored events with seq in any of the [start, end) ranges, in
        sequence order (one statement, however many ranges: a proof reads a few tiles)."""
        # Bounded ranges (unlike `events_from`'s open one) keep PostgreSQL's plan an ordered
        # index walk of just these rows, whatever its statistics say.
        if not ranges:
            return []
        if self.PH == "%s":
            columns = ", ".join(f"e.{c}" for c in EVENT_COLUMNS.split(", "))
            one = (
                f"SELECT {columns} FROM event_ids i JOIN events e ON e.org_id = i.org_id "
                "AND e.date_create = i.date_create AND e.seq = i.seq "
                "WHERE i.org_id = %s AND i.seq >= %s AND i.seq < %s"
            )
        else:
            one = f"SELECT {EVENT_COLUMNS} FROM events WHERE org_id = ? AND seq >= ? AND seq < ?"
        sql = " UNION ALL ".join([one] * len(ranges)) + " ORDER BY 2"
        args = [v for begin, end in ranges for v in (org_id, begin, end)]
        return [
            EventRecord(r[0], int(r[1]), r[2], int(r[3]), r[4], r[5], r[6], _blob(r[7]))
            for r in self._query(sql, args)
        ]

    def node_hashes(
        self, org_id: str, nodes: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Stored Merkle subtree hashes by (level, index), one primary-key lookup each."""
        # A UNION ALL of point lookups: SQLite plans a long OR of (level, idx) pairs (or a
        # row-value IN) as a scan of the organization's whole node table, ~20x slower at 50k
        # events and growing with the log; PostgreSQL's unnest join is ~6x slower too.
        found: dict[tuple[int, int], bytes] = {}
        lookup = (
            f"SELECT level, idx, hash FROM merkle_nodes "
            f"WHERE org_id = {self.PH} AND level = {self.PH} AND idx = {self.PH}"
        )
        for start in range(0, len(nodes), NODE_CHUNK):
            chunk = nodes[start : start + NODE_CHUNK]
            args = [v for level, index in chunk for v in (org_id, level, index)]
            for level, index, value in self._query(" UNION ALL ".join([lookup] * len(chunk)), args):
                found[(int(level), int(index))] = bytes(value)
        return found

    def stored_level(self, org_id: str, level: int, start: int, end: int) -> dict[int, bytes]:
        """Stored Merkle nodes of one level with index in [start, end), by index."""
        rows = self._query(
            f"SELECT idx, hash FROM merkle_nodes WHERE org_id = {self.PH} AND level = {self.PH} "
            f"AND idx >= {self.PH} AND idx < {self.PH}",
            (org_id, level, start, end),
        )
        return {int(index): bytes(value) for index, value in rows}

    def purged_leaves(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> dict[int, bytes]:
        """Kept leaf hashes of purged events with seq in any of the [start, end) ranges."""
        if not ranges:
            return {}
        one = (
            f"SELECT seq, hash FROM purged_leaves WHERE org_id = {self.PH} "
            f"AND seq >= {self.PH} AND seq < {self.PH}"
        )
        args = [v for begin, end in ranges for v in (org_id, begin, end)]
        rows = self._query(" UNION ALL ".join([one] * len(ranges)), args)
        return {int(seq): bytes(value) for seq, value in rows}

    # --- logging pauses -----------------------------------------------------------------------

    def logging_pauses(self) -> dict[str, PauseRecord]:
        """Every organization whose recording is paused (one small table, read whole)."""
        rows = self._query("SELECT org_id, paused_at, reason FROM logging_pauses")
        return {org: PauseRecord(org, int(at), reason) for org, at, reason in rows}

    def pause_logging(self, record: PauseRecord) -> bool:
        """Pause an organization's recording; False if it is paused already."""
        return (
            self._execute(
                f"INSERT INTO logging_pauses (org_id, paused_at, reason) "
                f"VALUES ({self._placeholders(3)}) ON CONFLICT (org_id) DO NOTHING",
                (record.org_id, record.paused_at, record.reason),
            )
            > 0
        )

    def resume_logging(self, org_id: str) -> bool:
        """End an organization's pause; False if it was not paused."""
        return self._execute(f"DELETE FROM logging_pauses WHERE org_id = {self.PH}", (org_id,)) > 0
