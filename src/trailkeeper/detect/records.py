"""What detection keeps in the store, as frozen values (the Store protocol speaks these)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SnapshotRecord:
    """One organization's detection state as of a position in its log and signal stream.

    On start the runner restores `state` and resumes reading at `next_seq` / `next_signal`, so
    state and positions always agree (events after the snapshot are simply processed again;
    anomaly ids are deterministic, so nothing is stored twice).
    """

    org_id: str
    next_seq: int
    next_signal: int
    taken_at: int
    state: bytes
