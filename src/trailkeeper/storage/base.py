"""The Store protocol: everything the core and the edges need from a database, and nothing more.

Every method is synchronous and thread-safe; `append` returns only after the events are durably
committed (backends group concurrent appends into one commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trailkeeper.console.search import ActionCounts, EventQuery, SearchPage
from trailkeeper.detect.records import SnapshotRecord
from trailkeeper.directory.accounts import (
    App,
    Installation,
    InstallationStanding,
    SignInSession,
    User,
)
from trailkeeper.directory.records import Organization, TokenRecord, Workspace
from trailkeeper.events import AppendOutcome, EventRecord, PreparedEvent, StoredRow
from trailkeeper.integrity.pauses import PauseRecord
from trailkeeper.integrity.service import CheckpointRecord, SigningKeyRecord
from trailkeeper.oauth.codes import AuthCode
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

    def import_purged_leaves(self, org_id: str, first_seq: int, hashes: Sequence[bytes]) -> None:
        """Store kept leaf hashes of purged events (copying a store) and advance the tree over
        them, as `import_events` does over event bytes: `first_seq` must be the organization's
        count, else `StorageError`."""
        ...

    def organizations_with_events(self) -> list[str]:
        """Ids of organizations that have at least one event."""
        ...

    def tree_state(self, org_id: str) -> tuple[int, bytes | None]:
        """The organization's event count and its serialized Merkle frontier (None if empty)."""
        ...

    def logging_pauses(self) -> dict[str, PauseRecord]:
        """Organizations whose recording an operator paused (ingest refuses their events)."""
        ...

    def pause_logging(self, record: PauseRecord) -> bool:
        """Pause an organization's recording; False if it is paused already."""
        ...

    def resume_logging(self, org_id: str) -> bool:
        """End an organization's pause; False if it was not paused."""
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

        Each deleted event's leaf hash is kept (`purged_leaves`) in the same transaction, so
        proofs and verification still cover it. Backends may drop whole partitions when every
        organization in one has expired it.
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

    def list_positions(self) -> list[tuple[str, str, int]]:
        """Every recorded position: (consumer, org_id, next_seq), by consumer and organization."""
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


class IntegrityStore(Protocol):
    """Signing keys and signed checkpoints of the Merkle trees, and the lookups proofs need."""

    def add_signing_key(self, record: SigningKeyRecord) -> bool:
        """Store a key under its generation; False if that generation exists (a race lost)."""
        ...

    def signing_keys(self, *, private: bool = False) -> list[SigningKeyRecord]:
        """Every signing key, oldest generation first (retired ones included); the private key
        strings are empty unless `private`."""
        ...

    def retire_signing_keys(self, below_generation: int, at: int) -> int:
        """Mark every still-active key older than `below_generation` retired at `at`."""
        ...

    def add_checkpoint(self, record: CheckpointRecord) -> bool:
        """Store a checkpoint; False if the organization has one of that size already."""
        ...

    def latest_checkpoint(self, org_id: str) -> CheckpointRecord | None:
        """The organization's checkpoint of the largest tree."""
        ...

    def checkpoint_at(self, org_id: str, tree_size: int) -> CheckpointRecord | None:
        """The organization's checkpoint of exactly `tree_size` leaves."""
        ...

    def list_checkpoints(self, org_id: str, max_size: int) -> list[CheckpointRecord]:
        """The organization's checkpoints of at most `max_size` leaves, smallest first."""
        ...

    def event_seq(self, org_id: str, event_id: str) -> int | None:
        """The sequence number (leaf index) of an event, by id."""
        ...

    def node_hashes(
        self, org_id: str, nodes: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """Stored Merkle subtree hashes by (level, index), fast for a proof's few nodes."""
        ...

    def events_in(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> list[EventRecord]:
        """The organization's stored events with seq in any of the [start, end) ranges, in
        sequence order."""
        ...

    def stored_level(self, org_id: str, level: int, start: int, end: int) -> dict[int, bytes]:
        """Stored Merkle nodes of one level with index in [start, end), by index."""
        ...

    def purged_leaves(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> dict[int, bytes]:
        """Kept leaf hashes of purged events with seq in any of the [start, end) ranges."""
        ...


class AccountStore(Protocol):
    """Users, apps, installations, authorization codes, sign-in sessions and attempts."""

    def put_user(self, user: User) -> None:
        """Create or replace a user (its login, the lower-cased email, is unique)."""
        ...

    def get_user(self, user_id: str) -> User | None:
        """A user by id."""
        ...

    def find_user_by_login(self, login: str) -> User | None:
        """The user whose lower-cased email is `login`."""
        ...

    def list_users(self, org_id: str) -> list[User]:
        """The users of an organization, by id."""
        ...

    def put_app(self, app: App) -> None:
        """Create or replace an app."""
        ...

    def get_app(self, app_id: str) -> App | None:
        """An app by id."""
        ...

    def find_app_by_client_id(self, client_id: str) -> App | None:
        """The app with this client id."""
        ...

    def list_apps(self) -> list[App]:
        """Every app, oldest first."""
        ...

    def add_installation(self, installation: Installation) -> None:
        """Store a new installation."""
        ...

    def get_installation(self, installation_id: str) -> Installation | None:
        """An installation by id."""
        ...

    def list_installations(self, app_id: str, org_id: str | None = None) -> list[Installation]:
        """An app's installations (revoked included), optionally on one organization."""
        ...

    def revoke_installation(self, installation_id: str, at: int) -> bool:
        """Uninstall and revoke the installation's tokens; False if it was not in force."""
        ...

    def installation_standing(self, installation_id: str) -> InstallationStanding | None:
        """What decides whether the installation's tokens still work (None: unknown)."""
        ...

    def add_auth_code(self, code: AuthCode) -> None:
        """Store a new authorization code (its hash)."""
        ...

    def find_auth_code(self, code_hash: bytes) -> AuthCode | None:
        """The code with this hash, redeemed or not."""
        ...

    def redeem_auth_code(self, code_hash: bytes, at: int, token_id: str) -> bool:
        """Atomically mark a code redeemed by `token_id`; False if it already was."""
        ...

    def add_session(self, session: SignInSession) -> None:
        """Store a new sign-in session (the hash of its cookie)."""
        ...

    def find_session(self, id_hash: bytes) -> SignInSession | None:
        """The session whose cookie hashes to `id_hash`, expired or not."""
        ...

    def delete_session(self, id_hash: bytes) -> None:
        """End one session."""
        ...

    def delete_user_sessions(self, user_id: str) -> int:
        """End every session of a user; how many there were."""
        ...

    def add_signin_attempt(self, key: str, attempt: str, at: int) -> None:
        """Count one sign-in attempt under `key`."""
        ...

    def signin_attempts(self, key: str, since: int) -> list[int]:
        """When `key`'s counted attempts were made, at or after `since`, oldest first."""
        ...

    def forget_signin_attempt(self, attempt: str) -> None:
        """Stop counting one attempt."""
        ...

    def clear_signin_attempts(self, key: str) -> None:
        """Forget every attempt under `key`."""
        ...


class DetectStore(Protocol):
    """Anomaly detection's own tables: controls, signals kept briefly, snapshots, shadow."""

    def get_detect_controls(self, org_id: str) -> str | None:
        """The organization's detection controls as JSON text (None: defaults)."""
        ...

    def put_detect_controls(self, org_id: str, controls_json: str, at: int = 0) -> None:
        """Store the organization's detection controls."""
        ...

    def add_signals(self, org_id: str, bodies: Sequence[str], received_at: int) -> int:
        """Keep a batch of activity signals (JSON texts) of one organization."""
        ...

    def signals_after(self, org_id: str, after_id: int, limit: int) -> list[tuple[int, str]]:
        """The organization's signals with id > after_id, oldest first: (id, JSON text)."""
        ...

    def organizations_with_signals(self) -> list[str]:
        """Organizations that have signals kept."""
        ...

    def signal_records(self, org_id: str, after_id: int, limit: int) -> list[tuple[int, int, str]]:
        """Like `signals_after`, with when each arrived: (id, received_at, JSON text)."""
        ...

    def import_signals(self, org_id: str, records: Sequence[tuple[int, int, str]]) -> int:
        """Keep signals under their original ids (copying a store; consumer positions name
        them); ids given later continue above the largest. An id already kept is skipped."""
        ...

    def purge_signals(self, before: int) -> int:
        """Drop signals received before `before` (Unix seconds)."""
        ...

    def save_detect_snapshot(self, consumer: str, record: SnapshotRecord) -> None:
        """Store (replace) a consumer's snapshot of one organization's detection state."""
        ...

    def detect_snapshots(self, consumer: str) -> list[SnapshotRecord]:
        """Every snapshot a consumer saved, by organization."""
        ...

    def detect_snapshot_consumers(self) -> list[str]:
        """The consumers that saved snapshots, by name."""
        ...

    def add_shadow_anomalies(self, org_id: str, bodies: Sequence[str], at: int) -> int:
        """Keep anomalies that shadow mode held back from the log (JSON texts)."""
        ...

    def shadow_anomalies(self, org_id: str, limit: int) -> list[str]:
        """The organization's held-back anomalies, newest first."""
        ...

    def purge_shadow(self, before: int) -> int:
        """Drop held-back anomalies recorded before `before`."""
        ...


class ConsoleStore(Protocol):
    """The admin console's reads: searches beyond Slack's filters, counts, events by id."""

    def search_events(
        self, org_id: str, query: EventQuery, below: Position | None, limit: int, window: int
    ) -> SearchPage:
        """Up to `limit` matching rows older than `below`, newest first; filters no index serves
        are checked on at most `window` rows (`searched_to` says where such a search stopped)."""
        ...

    def count_actions(self, org_id: str, query: EventQuery, window: int) -> ActionCounts:
        """Matching events per action (over at most `window` rows unless only time and action
        filters are given)."""
        ...

    def events_by_id(self, org_id: str, ids: Sequence[str]) -> list[StoredRow]:
        """The organization's events with these ids (at most 100), newest first."""
        ...

    def event_span(self, org_id: str) -> tuple[int, int] | None:
        """The dates of the organization's oldest and newest events (None: no events)."""
        ...


class Store(
    EventStore,
    DirectoryStore,
    PositionStore,
    RetentionStore,
    IntegrityStore,
    AccountStore,
    DetectStore,
    ConsoleStore,
    Protocol,
):
    """A whole backend: the log, the directory and a few shared secrets."""

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied."""
        ...

    def secret(self, name: str) -> bytes:
        """A random 32-byte secret shared by every process on this database (created on demand)."""
        ...

    def list_secrets(self) -> dict[str, bytes]:
        """Every secret, by name (copying a store)."""
        ...

    def put_secret(self, name: str, value: bytes) -> None:
        """Create or replace a secret (copying a store)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
