"""The detection tables' SQL, shared by every backend: controls, signals, snapshots, shadow.

A backend mixes this in and supplies `_query`, `_execute` and `PH` (see `directory_sql`).
Batches are written as one multi-row INSERT, so a batch costs one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.detect.records import SnapshotRecord

ROWS_PER_INSERT = 200


class DetectSQL:
    """`DetectStore` in portable SQL."""

    PH = "?"

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        raise NotImplementedError

    def _rows(self, n_rows: int, n_cols: int) -> str:
        row = "(" + ", ".join([self.PH] * n_cols) + ")"
        return ", ".join([row] * n_rows)

    def _insert_many(
        self, table: str, columns: str, rows: Sequence[tuple[object, ...]], *, ids: bool = False
    ) -> int:
        """Multi-row INSERTs; with `ids`, rows carry their own identity ids (skipped if kept)."""
        override = " OVERRIDING SYSTEM VALUE" if ids and self.PH == "%s" else ""
        tail = " ON CONFLICT (id) DO NOTHING" if ids else ""
        done = 0
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            args = [value for row in chunk for value in row]
            done += self._execute(
                f"INSERT INTO {table} ({columns}){override} "
                f"VALUES {self._rows(len(chunk), len(chunk[0]))}{tail}",
                args,
            )
        return done

    # --- controls -----------------------------------------------------------------------------

    def get_detect_controls(self, org_id: str) -> str | None:
        """The organization's detection controls as JSON text (None: defaults)."""
        rows = self._query(
            f"SELECT controls FROM detect_controls WHERE org_id = {self.PH}", (org_id,)
        )
        return str(rows[0][0]) if rows else None

    def put_detect_controls(self, org_id: str, controls_json: str, at: int = 0) -> None:
        """Store the organization's detection controls."""
        self._execute(
            f"INSERT INTO detect_controls (org_id, controls, updated_at) "
            f"VALUES ({self.PH}, {self.PH}, {self.PH}) ON CONFLICT (org_id) DO UPDATE SET "
            "controls = excluded.controls, updated_at = excluded.updated_at",
            (org_id, controls_json, at),
        )

    # --- signals ------------------------------------------------------------------------------

    def add_signals(self, org_id: str, bodies: Sequence[str], received_at: int) -> int:
        """Keep a batch of activity signals (JSON texts) of one organization."""
        if not bodies:
            return 0
        rows = [(org_id, received_at, body) for body in bodies]
        return self._insert_many("detect_signals", "org_id, received_at, body", rows)

    def signals_after(self, org_id: str, after_id: int, limit: int) -> list[tuple[int, str]]:
        """The organization's signals with id > after_id, oldest first: (id, JSON text)."""
        rows = self._query(
            f"SELECT id, body FROM detect_signals WHERE org_id = {self.PH} AND id > {self.PH} "
            f"ORDER BY id LIMIT {self.PH}",
            (org_id, after_id, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def organizations_with_signals(self) -> list[str]:
        """Organizations that have signals kept."""
        return [r[0] for r in self._query("SELECT DISTINCT org_id FROM detect_signals")]

    def signal_records(self, org_id: str, after_id: int, limit: int) -> list[tuple[int, int, str]]:
        """Like `signals_after`, with when each arrived: (id, received_at, JSON text)."""
        rows = self._query(
            f"SELECT id, received_at, body FROM detect_signals WHERE org_id = {self.PH} "
            f"AND id > {self.PH} ORDER BY id LIMIT {self.PH}",
            (org_id, after_id, limit),
        )
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    def import_signals(self, org_id: str, records: Sequence[tuple[int, int, str]]) -> int:
        """Keep signals under their original ids; new signals then get larger ids (SQLite's
        AUTOINCREMENT follows explicit ids; PostgreSQL's identity is moved past them)."""
        if not records:
            return 0
        rows = [(sid, org_id, at, body) for sid, at, body in records]
        done = self._insert_many("detect_signals", "id, org_id, received_at, body", rows, ids=True)
        if self.PH == "%s":
            self._execute(
                "SELECT setval(pg_get_serial_sequence('detect_signals', 'id'), "
                "(SELECT max(id) FROM detect_signals))"
            )
        return done

    def purge_signals(self, before: int) -> int:
        """Drop signals received before `before` (Unix seconds)."""
        return self._execute(f"DELETE FROM detect_signals WHERE received_at < {self.PH}", (before,))

    # --- snapshots ----------------------------------------------------------------------------

    def save_detect_snapshot(self, consumer: str, record: SnapshotRecord) -> None:
        """Store (replace) a consumer's snapshot of one organization's detection state."""
        r = record
        self._execute(
            "INSERT INTO detect_snapshots "
            "(consumer, org_id, next_seq, next_signal, taken_at, state) "
            f"VALUES ({', '.join([self.PH] * 6)}) ON CONFLICT (consumer, org_id) DO UPDATE SET "
            "next_seq = excluded.next_seq, next_signal = excluded.next_signal, "
            "taken_at = excluded.taken_at, state = excluded.state",
            (consumer, r.org_id, r.next_seq, r.next_signal, r.taken_at, r.state),
        )

    def detect_snapshots(self, consumer: str) -> list[SnapshotRecord]:
        """Every snapshot a consumer saved, by organization."""
        rows = self._query(
            "SELECT org_id, next_seq, next_signal, taken_at, state FROM detect_snapshots "
            f"WHERE consumer = {self.PH} ORDER BY org_id",
            (consumer,),
        )
        return [SnapshotRecord(r[0], int(r[1]), int(r[2]), int(r[3]), bytes(r[4])) for r in rows]

    def detect_snapshot_consumers(self) -> list[str]:
        """The consumers that saved snapshots, by name."""
        rows = self._query("SELECT DISTINCT consumer FROM detect_snapshots ORDER BY consumer")
        return [str(r[0]) for r in rows]

    # --- shadow mode --------------------------------------------------------------------------

    def add_shadow_anomalies(self, org_id: str, bodies: Sequence[str], at: int) -> int:
        """Keep anomalies that shadow mode held back from the log (JSON texts)."""
        if not bodies:
            return 0
        rows = [(org_id, at, body) for body in bodies]
        return self._insert_many("detect_shadow", "org_id, created_at, body", rows)

    def shadow_anomalies(self, org_id: str, limit: int) -> list[str]:
        """The organization's held-back anomalies, newest first."""
        rows = self._query(
            f"SELECT body FROM detect_shadow WHERE org_id = {self.PH} ORDER BY id DESC "
            f"LIMIT {self.PH}",
            (org_id, limit),
        )
        return [str(r[0]) for r in rows]

    def purge_shadow(self, before: int) -> int:
        """Drop held-back anomalies recorded before `before`."""
        return self._execute(f"DELETE FROM detect_shadow WHERE created_at < {self.PH}", (before,))
