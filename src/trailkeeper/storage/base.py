"""The Store protocol: everything the core and the edges need from a database, and nothing more.

Every method is synchronous and thread-safe; `append` returns only after the events are durably
committed (backends group concurrent appends into one commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trailkeeper.directory.records import Organization, TokenRecord, Workspace
from trailkeeper.events import AppendOutcome, EventRecord, PreparedEvent, StoredRow
from trailkeeper.query import LogFilter, Position


class EventStore(Protocol):
    """The append-only log of every organization."""

    def append(self, events: Sequence[PreparedEvent]) -> list[AppendOutcome]:
        """Durably add events; each gets the next gap-free sequence number of its organization.

        An event whose id its organization already has is not added again: its outcome is the
        existing sequence number, marked duplicate.
        """
        ...

    def scan(
        self, org_id: str, log_filter: LogFilter, below: Position | None, limit: int
    ) -> list[StoredRow]:
        """An organization's rows matching the filter, strictly older than `below`, newest first."""
        ...

    def count_events(self, org_id: str) -> int:
        """How many events an organization has (its next sequence number)."""
        ...

    def events_from(self, org_id: str, start_seq: int, limit: int) -> list[EventRecord]:
        """An organization's events with seq >= start_seq, in sequence order, at most `limit`."""
        ...

    def import_events(self, records: Sequence[EventRecord]) -> None:
        """Store events with their original sequence numbers (copying a store).

        Each organization's records must continue its sequence exactly (first seq == its count,
        no gaps), else `StorageError`.
        """
        ...

    def organizations_with_events(self) -> list[str]:
        """Ids of organizations that have at least one event."""
        ...

    def tree_state(self, org_id: str) -> tuple[int, bytes | None]:
        """The organization's event count and its serialized Merkle frontier (None if empty)."""
        ...

    def stored_nodes(
        self, org_id: str, nodes: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Stored Merkle subtree hashes by (level, index); missing ones are simply absent."""
        ...


class RetentionStore(Protocol):
    """How long each organization keeps its events, and removing what has expired."""

    def set_retention(self, org_id: str, keep_days: int | None) -> None:
        """Keep the organization's events `keep_days` days (None: forever)."""
        ...

    def retention_policies(self) -> dict[str, int]:
        """Organizations with a finite retention, and their days."""
        ...

    def purge(self, cutoffs: dict[str, int]) -> dict[str, int]:
        """Delete each organization's events with date_create < its cutoff; counts per org.

        Backends may drop whole partitions when every organization in one has expired it.
        """
        ...


class PositionStore(Protocol):
    """Where consumers of the committed log (relays, detectors) have got to, per organization."""

    def get_position(self, consumer: str, org_id: str) -> int:
        """The next sequence number `consumer` will read for `org_id` (0 at first)."""
        ...

    def set_position(self, consumer: str, org_id: str, next_seq: int) -> None:
        """Record that `consumer` has handled everything below `next_seq`."""
        ...


class DirectoryStore(Protocol):
    """Organizations, workspaces and tokens."""

    def put_organization(self, org: Organization) -> None:
        """Create or update an organization."""
        ...

    def get_organization(self, org_id: str) -> Organization | None:
        """An organization by id."""
        ...

    def list_organizations(self) -> list[Organization]:
        """Every organization, by id."""
        ...

    def put_workspace(self, workspace: Workspace) -> None:
        """Create or update a workspace."""
        ...

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        """A workspace by id."""
        ...

    def list_workspaces(self, org_id: str) -> list[Workspace]:
        """The workspaces of an organization, by id."""
        ...

    def add_token(self, record: TokenRecord) -> None:
        """Store a new token record (hash only)."""
        ...

    def find_token(self, token_hash: bytes) -> TokenRecord | None:
        """The token with this hash, revoked or not."""
        ...

    def list_tokens(self, org_id: str | None = None) -> list[TokenRecord]:
        """Tokens, optionally of one organization, oldest first."""
        ...

    def revoke_token(self, token_id: str, at: int) -> bool:
        """Revoke a token; False when no active token has that id."""
        ...

    def touch_token(self, token_id: str, at: int) -> None:
        """Record that a token was used."""
        ...


class Store(EventStore, DirectoryStore, PositionStore, RetentionStore, Protocol):
    """A whole backend: the log, the directory and a few shared secrets."""

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied."""
        ...

    def secret(self, name: str) -> bytes:
        """A random 32-byte secret shared by every process on this database (created on demand)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
