"""Copying a whole store to another (e.g. SQLite to PostgreSQL), verified byte for byte.

Events keep their ids, sequence numbers and exact bytes, so the copy serves identical pages and
rebuilds an identical Merkle tree; tokens move as hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trailkeeper.errors import StorageError
from trailkeeper.storage.base import Store

CHUNK = 5_000


@dataclass
class CopyReport:
    """Counts of what was copied, per kind and per organization."""

    organizations: int = 0
    workspaces: int = 0
    tokens: int = 0
    events: dict[str, int] = field(default_factory=dict)

    @property
    def total_events(self) -> int:
        """Events copied across organizations."""
        return sum(self.events.values())


def copy_directory(source: Store, target: Store, report: CopyReport) -> None:
    """Organizations, workspaces, retention and tokens (hashes only)."""
    existing = {t.id for t in target.list_tokens()}
    policies = source.retention_policies()
    for org in source.list_organizations():
        target.put_organization(org)
        report.organizations += 1
        for workspace in source.list_workspaces(org.id):
            target.put_workspace(workspace)
            report.workspaces += 1
        if org.id in policies:
            target.set_retention(org.id, policies[org.id])
    for token in source.list_tokens():
        if token.id not in existing:
            target.add_token(token)
            report.tokens += 1


def copy_events(
    source: Store, target: Store, org_id: str, progress: Callable[[int], None] = lambda n: None
) -> int:
    """Every event of one organization, then a byte-for-byte comparison of both logs."""
    if target.count_events(org_id):
        raise StorageError(f"target already has events of {org_id}; copy into an empty store")
    copied, start = 0, 0
    first = source.events_from(org_id, 0, 1)
    if first and first[0].seq != 0:
        raise StorageError(f"{org_id} has purged events (retention); its tree cannot be rebuilt")
    while batch := source.events_from(org_id, start, CHUNK):
        target.import_events(batch)
        copied += len(batch)
        start = batch[-1].seq + 1
        progress(len(batch))
    verify_copy(source, target, org_id)
    return copied


def verify_copy(source: Store, target: Store, org_id: str) -> None:
    """Both stores hold the same events, byte for byte, and the same Merkle tree."""
    start = 0
    while batch := source.events_from(org_id, start, CHUNK):
        if target.events_from(org_id, start, CHUNK) != batch:
            raise StorageError(f"copy of {org_id} differs from the source near seq {start}")
        start = batch[-1].seq + 1
    if source.tree_state(org_id) != target.tree_state(org_id):
        raise StorageError(f"copy of {org_id} has a different Merkle tree than the source")


def copy_store(
    source: Store, target: Store, progress: Callable[[int], None] = lambda n: None
) -> CopyReport:
    """Copy the directory and every organization's events, verifying each."""
    report = CopyReport()
    copy_directory(source, target, report)
    for org_id in source.organizations_with_events():
        report.events[org_id] = copy_events(source, target, org_id, progress)
    return report
