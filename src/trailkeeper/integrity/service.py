"""Signing keys, signed checkpoints and proofs over a store: what the integrity API and CLI serve.

Reads the tree a store keeps (the frontier in org_heads, complete subtrees of height >= 4, event
bytes for the rest: `integrity.tiles`) and turns it into C2SP checkpoints, RFC 6962 proofs and
verification pages. Talks to the store through `ServiceStore`, a structural protocol that every
`storage.base.Store` satisfies, so this module imports no storage code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from trailkeeper.directory.records import Organization
from trailkeeper.errors import Conflict, InvalidArguments, NotFound, StorageError
from trailkeeper.events import EventRecord
from trailkeeper.integrity import merkle
from trailkeeper.integrity.checkpoint import (
    Checkpoint,
    SigningKey,
    VerifierKey,
    checkpoint_origin,
    generate_signing_key,
    sign_checkpoint,
    sign_note,
    verify_note,
)
from trailkeeper.integrity.errors import IntegrityError, MissingNodeError, ProofError
from trailkeeper.integrity.merkle import CompactRange, NodeID
from trailkeeper.integrity.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    is_stored,
    resolve_nodes,
    tile_of,
)

log = logging.getLogger("trailkeeper.integrity")

MAX_RANGE = 10_000  # leaves or entries per page: bounded work per request
ENDORSEMENT_HEADER = "trailkeeper signing key endorsement"
KEY_CREATED = "audit_logs_signing_key_created"
KEY_ROTATED = "audit_logs_signing_key_rotated"


@dataclass(frozen=True)
class SigningKeyRecord:
    """A stored signing key. `generation` counts rotations (1 = first key; the highest signs).

    `endorsement` is a signed note by the previous key naming this one (None for the first
    key): a verifier that trusts the old key learns the new one from it.
    """

    generation: int
    name: str
    key_id: str
    vkey: str
    private_key: str = field(repr=False)
    created_at: int
    retired_at: int | None = None
    endorsement: str | None = None

    def signing_key(self) -> SigningKey:
        """The private key (parsed from its `PRIVATE+KEY+…` string)."""
        return SigningKey.from_private_string(self.private_key)


@dataclass(frozen=True)
class CheckpointRecord:
    """A signed checkpoint of one organization's tree, as stored (`note` is the signed text)."""

    org_id: str
    tree_size: int
    root_hash: bytes
    timestamp: int
    key_name: str
    key_id: str
    note: str


@dataclass(frozen=True)
class InclusionProof:
    """Leaf `leaf_index` (the event's seq) of the tree of `tree_size` leaves, with its bytes."""

    event_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]
    body: bytes
    checkpoint: str | None


@dataclass(frozen=True)
class EntriesPage:
    """Stored events with seq in a range, the stored tile hashes (level 4) inside it, and the
    kept leaf hashes of events purged from it (by seq)."""

    log_size: int
    records: list[EventRecord]
    tiles: dict[int, bytes]
    purged: dict[int, bytes] = field(default_factory=dict)


@dataclass
class CheckpointRun:
    """What one round of checkpointing did: new checkpoints, and organizations refused."""

    created: list[CheckpointRecord] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


class ServiceStore(Protocol):
    """What the service needs from a store (a subset of `storage.base.Store`)."""

    def tree_state(self, org_id: str) -> tuple[int, bytes | None]: ...

    def node_hashes(
        self, org_id: str, nodes: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]: ...

    def organizations_with_events(self) -> list[str]: ...

    def list_organizations(self) -> list[Organization]: ...

    def add_signing_key(self, record: SigningKeyRecord) -> bool: ...

    def signing_keys(self, *, private: bool = False) -> list[SigningKeyRecord]: ...

    def retire_signing_keys(self, below_generation: int, at: int) -> int: ...

    def add_checkpoint(self, record: CheckpointRecord) -> bool: ...

    def latest_checkpoint(self, org_id: str) -> CheckpointRecord | None: ...

    def checkpoint_at(self, org_id: str, tree_size: int) -> CheckpointRecord | None: ...

    def list_checkpoints(self, org_id: str, max_size: int) -> list[CheckpointRecord]: ...

    def event_seq(self, org_id: str, event_id: str) -> int | None: ...

    def events_in(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> list[EventRecord]: ...

    def stored_level(self, org_id: str, level: int, start: int, end: int) -> dict[int, bytes]: ...

    def purged_leaves(self, org_id: str, ranges: Sequence[tuple[int, int]]) -> dict[int, bytes]: ...


RecordEvent = Callable[[str, str, Mapping[str, Any]], object]
"""Records one event about the log itself: (action, organization id, details)."""


# ---------------------------------------------------------------------------------------------
# Key endorsements: how a verifier that trusts the old key learns the new one
# ---------------------------------------------------------------------------------------------


def endorse_key(old: SigningKey, new: VerifierKey, now: int) -> str:
    """A note signed by `old` saying `new` signs this log's checkpoints from `now` on."""
    return sign_note(f"{ENDORSEMENT_HEADER}\n{new.to_vkey()}\ntime {now}\n", [old])


def endorsed_key(note: str, trusted: Iterable[VerifierKey]) -> VerifierKey:
    """The key an endorsement names, once a trusted key's signature on it verifies."""
    signed, _ = verify_note(note, trusted)
    lines = signed.text.split("\n")
    if len(lines) < 3 or lines[0] != ENDORSEMENT_HEADER:
        raise IntegrityError("not a signing key endorsement")
    return VerifierKey.from_vkey(lines[1])


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


class IntegrityService:
    """Keys, checkpoints and proofs of every organization's log on one store."""

    def __init__(
        self,
        store: ServiceStore,
        service_name: str,
        *,
        record_event: RecordEvent,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.service_name = service_name
        self._record_event = record_event
        self._clock = clock

    @property
    def key_name(self) -> str:
        """The name in signature lines: one service key signs every organization's tree."""
        return f"{self.service_name}/audit"

    def origin(self, org_id: str) -> str:
        """The checkpoint origin of an organization's log."""
        return checkpoint_origin(self.service_name, org_id)

    # --- keys ---------------------------------------------------------------------------------

    def public_keys(self) -> list[SigningKeyRecord]:
        """Every key ever used, oldest first (retired ones stay: old checkpoints need them);
        their `private_key` is empty."""
        return self.store.signing_keys()

    def active_key(self) -> SigningKeyRecord | None:
        """The key that signs new checkpoints (the highest generation), if any."""
        keys = self.store.signing_keys(private=True)
        return keys[-1] if keys else None

    def generate_key(self) -> SigningKeyRecord:
        """Create the first signing key; recorded in every organization's log."""
        if self.store.signing_keys():
            raise Conflict("a signing key exists already; replace it: `trailkeeper keys rotate`")
        record = self._new_key(1, None)
        self._announce(KEY_CREATED, record, None)
        return record

    def rotate_key(self) -> tuple[SigningKeyRecord, SigningKeyRecord]:
        """Replace the active key; the old one is retired, still published, and endorses it.

        The rotation is recorded in every organization's log and a checkpoint signed by the new
        key is made at once, so the record of the rotation is itself covered by a checkpoint.
        """
        old = self.active_key()
        if old is None:
            raise NotFound("no signing key yet; create one with `trailkeeper keys generate`")
        record = self._new_key(old.generation + 1, old)
        self.store.retire_signing_keys(record.generation, record.created_at)
        self._announce(KEY_ROTATED, record, old)
        self.checkpoint_all()
        return old, record

    def _new_key(self, generation: int, previous: SigningKeyRecord | None) -> SigningKeyRecord:
        now = int(self._clock())
        key = generate_signing_key(self.key_name)
        endorsement = None
        if previous is not None:
            endorsement = endorse_key(previous.signing_key(), key.verifier, now)
        record = SigningKeyRecord(
            generation=generation,
            name=key.name,
            key_id=key.key_id.hex(),
            vkey=key.verifier.to_vkey(),
            private_key=key.to_private_string(),
            created_at=now,
            endorsement=endorsement,
        )
        if not self.store.add_signing_key(record):
            raise Conflict("another process changed the signing key at the same time; retry")
        return record

    def _announce(
        self, action: str, record: SigningKeyRecord, previous: SigningKeyRecord | None
    ) -> None:
        details: dict[str, Any] = {
            "key_name": record.name,
            "key_id": record.key_id,
            "public_key": record.vkey,
        }
        if previous is not None:
            details["previous_key_id"] = previous.key_id
            details["previous_public_key"] = previous.vkey
        for org in self.store.list_organizations():
            self._record_event(action, org.id, details)

    # --- checkpoints --------------------------------------------------------------------------

    def checkpoint(self, org_id: str) -> CheckpointRecord | None:
        """Sign the organization's tree if it grew since its last checkpoint; else None.

        Never signs a fork: the new tree must be consistent with the last checkpoint, checked
        with a proof built from the store (StorageError otherwise).
        """
        key = self.active_key()
        if key is None:
            raise NotFound("no signing key yet; create one with `trailkeeper keys generate`")
        size, frontier = self.store.tree_state(org_id)
        last = self.store.latest_checkpoint(org_id)
        if last is not None and last.tree_size > size:
            raise StorageError(
                f"{org_id}: the log has {size} events but its last checkpoint {last.tree_size}"
                " (history truncated?); refusing to sign"
            )
        if size == 0 or (last is not None and last.tree_size == size):
            return None
        root = self._frontier_root(org_id, size, frontier)
        if last is not None:
            self._check_extends(org_id, last, size, root)
        signer = key.signing_key()
        body = Checkpoint(self.origin(org_id), size, root, int(self._clock()))
        record = CheckpointRecord(
            org_id=org_id,
            tree_size=size,
            root_hash=root,
            timestamp=int(body.timestamp or 0),
            key_name=signer.name,
            key_id=signer.key_id.hex(),
            note=sign_checkpoint(body, signer),
        )
        return record if self.store.add_checkpoint(record) else None

    def _frontier_root(self, org_id: str, size: int, frontier: bytes | None) -> bytes:
        try:
            tree = CompactRange.from_bytes(frontier or b"")
        except IntegrityError as exc:
            raise StorageError(f"{org_id}: stored Merkle frontier is unreadable: {exc}") from exc
        if tree.size != size:
            raise StorageError(
                f"{org_id}: the Merkle frontier has {tree.size} leaves but the log {size} events;"
                " refusing to sign"
            )
        return tree.root()

    def _check_extends(self, org_id: str, last: CheckpointRecord, size: int, root: bytes) -> None:
        try:
            proof = self._consistency_hashes(org_id, last.tree_size, size)
        except StorageError as exc:  # events gone without a kept leaf hash: nothing to compare
            log.warning("%s: cannot check the tree against the last checkpoint: %s", org_id, exc)
            return
        try:
            merkle.verify_consistency(last.tree_size, size, last.root_hash, root, proof)
        except ProofError as exc:
            raise StorageError(
                f"{org_id}: the stored tree no longer extends the checkpoint of size"
                f" {last.tree_size} (history changed?); refusing to sign: {exc}"
            ) from exc

    def checkpoint_all(self) -> CheckpointRun:
        """Checkpoint every organization whose tree grew; one refusal does not stop the rest."""
        run = CheckpointRun()
        if self.active_key() is None:
            return run
        for org_id in self.store.organizations_with_events():
            try:
                created = self.checkpoint(org_id)
            except (StorageError, IntegrityError) as exc:
                log.error("checkpoint refused for %s: %s", org_id, exc)
                run.refused[org_id] = str(exc)
                continue
            if created is not None:
                run.created.append(created)
        return run

    def checkpoint_record(self, org_id: str, tree_size: int | None = None) -> CheckpointRecord:
        """The latest checkpoint, or the one of exactly `tree_size` leaves (NotFound if none)."""
        if tree_size is None:
            found = self.store.latest_checkpoint(org_id)
        else:
            found = self.store.checkpoint_at(org_id, tree_size)
        if found is None:
            which = "yet" if tree_size is None else f"of size {tree_size}"
            raise NotFound(f"no checkpoint {which} for this organization")
        return found

    # --- proofs -------------------------------------------------------------------------------

    def log_size(self, org_id: str) -> int:
        """How many events the organization's tree holds now."""
        return self.store.tree_state(org_id)[0]

    def inclusion(self, org_id: str, event_id: str, tree_size: int | None = None) -> InclusionProof:
        """Inclusion proof of an event, by default against the latest checkpoint."""
        seq = self.store.event_seq(org_id, event_id)
        if seq is None:
            raise NotFound("no event with this id in the organization's log")
        note = None
        if tree_size is None:
            latest = self.checkpoint_record(org_id)
            if latest.tree_size <= seq:
                raise NotFound("the event is not covered by a checkpoint yet; retry later")
            tree_size, note = latest.tree_size, latest.note
        else:
            self._check_size(org_id, tree_size, minimum=seq + 1)
            at = self.store.checkpoint_at(org_id, tree_size)
            note = at.note if at else None
        plan = merkle.inclusion_plan(seq, tree_size)
        bodies = _BodyReader(self.store, org_id)
        nodes = self._resolve(org_id, [*merkle.required_nodes(plan), NodeID(0, seq)], bodies)
        body = bodies.body(seq)
        if body is None or merkle.leaf_hash(body) != nodes[NodeID(0, seq)]:
            raise StorageError("the event's bytes could not be read back")
        return InclusionProof(
            event_id=event_id,
            leaf_index=seq,
            tree_size=tree_size,
            leaf_hash=nodes[NodeID(0, seq)],
            proof=merkle.resolve_plan(plan, nodes),
            body=body,
            checkpoint=note,
        )

    def consistency(
        self, org_id: str, first: int, second: int | None = None
    ) -> tuple[int, int, list[bytes]]:
        """(first, second, proof) that the tree of `first` leaves is a prefix of `second`'s;
        `second` defaults to the latest checkpoint's size."""
        if second is None:  # a checkpointed size is within the log: no need to ask
            second = self.checkpoint_record(org_id).tree_size
        else:
            self._check_size(org_id, second, minimum=0)
        if first < 0 or first > second:
            raise InvalidArguments("need 0 <= first <= second")
        return first, second, self._consistency_hashes(org_id, first, second)

    def _consistency_hashes(self, org_id: str, first: int, second: int) -> list[bytes]:
        plan = merkle.consistency_plan(first, second)
        nodes = self._resolve(org_id, merkle.required_nodes(plan), _BodyReader(self.store, org_id))
        return merkle.resolve_plan(plan, nodes)

    def _check_size(self, org_id: str, tree_size: int, *, minimum: int) -> None:
        size = self.log_size(org_id)
        if not minimum <= tree_size <= size:
            raise InvalidArguments(f"tree size must be between {minimum} and {size}")

    def _resolve(
        self, org_id: str, needed: Iterable[NodeID], bodies: _BodyReader
    ) -> dict[NodeID, bytes]:
        wanted = set(needed)
        keys = [(n.level, n.index) for n in wanted if is_stored(n)]
        rows = self.store.node_hashes(org_id, keys)
        stored = {NodeID(level, index): value for (level, index), value in rows.items()}
        low = [n for n in wanted if not is_stored(n)]
        bodies.prefetch(sorted({tile_of(n) for n in low}))
        bodies.fill_gaps(sorted({(n.begin, n.end) for n in low}))
        try:
            return resolve_nodes(wanted, stored, bodies.read)
        except MissingNodeError as exc:
            raise StorageError(
                f"cannot build the proof: {exc} (events purged, or the store was altered)"
            ) from exc

    # --- pages for verifiers ------------------------------------------------------------------

    def leaf_hashes(self, org_id: str, start: int, end: int) -> list[bytes | None]:
        """Leaf hashes of seq [start, end) recomputed from the stored bytes, or kept when the
        event was purged (None: neither)."""
        _check_range(start, end)
        end = min(end, self.log_size(org_id))
        records = self._records(org_id, start, end)
        found = {r.seq: merkle.leaf_hash(r.body) for r in records if r.seq < end}
        if len(found) < end - start:
            kept = self.store.purged_leaves(org_id, [(start, end)])
            found = {**kept, **found}
        return [found.get(seq) for seq in range(start, max(start, end))]

    def entries(self, org_id: str, start: int, end: int) -> EntriesPage:
        """Stored events with seq in [start, end) — whatever rows exist, in or beyond the tree —
        the kept leaf hashes of purged events, and the stored hashes of the complete tiles."""
        _check_range(start, end)
        records = self._records(org_id, start, end)
        purged = self.store.purged_leaves(org_id, [(start, end)])
        first_tile = -(-start // TILE_WIDTH)
        tiles = self.store.stored_level(org_id, TILE_HEIGHT, first_tile, end // TILE_WIDTH)
        return EntriesPage(self.log_size(org_id), records, tiles, purged)

    def _records(self, org_id: str, start: int, end: int) -> list[EventRecord]:
        return self.store.events_in(org_id, [(start, end)])

    def checkpoints_up_to(self, org_id: str, tree_size: int) -> list[CheckpointRecord]:
        """Every checkpoint of the organization up to `tree_size` leaves, smallest first."""
        return self.store.list_checkpoints(org_id, tree_size)


def _check_range(start: int, end: int) -> None:
    if start < 0 or end <= start:
        raise InvalidArguments("need 0 <= start < end")
    if end - start > MAX_RANGE:
        raise InvalidArguments(f"at most {MAX_RANGE} leaves per request")


class _BodyReader:
    """Leaf hashes for `tiles.resolve_nodes`: the tiles a proof needs, read in one statement,
    and the kept hashes of purged events only where an event is missing."""

    def __init__(self, store: ServiceStore, org_id: str) -> None:
        self._store = store
        self._org_id = org_id
        self._bodies: dict[int, bytes] = {}
        self._purged: dict[int, bytes] = {}

    def prefetch(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Read the events of these seq ranges at once."""
        for record in self._store.events_in(self._org_id, ranges):
            self._bodies[record.seq] = record.body

    def fill_gaps(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Read the kept leaf hashes of ranges that lack an event (purged by retention)."""
        gaps = [(b, e) for b, e in ranges if any(s not in self._bodies for s in range(b, e))]
        if gaps:
            self._purged.update(self._store.purged_leaves(self._org_id, gaps))

    def _leaf(self, seq: int) -> bytes | None:
        body = self._bodies.get(seq)
        return merkle.leaf_hash(body) if body is not None else self._purged.get(seq)

    def read(self, begin: int, end: int) -> list[bytes]:
        """Leaf hashes of seq begin, begin+1, … up to `end` or the first unknown leaf."""
        leaves: list[bytes] = []
        while begin + len(leaves) < end and (leaf := self._leaf(begin + len(leaves))) is not None:
            leaves.append(leaf)
        return leaves

    def body(self, seq: int) -> bytes | None:
        """The bytes of `seq`, if a read covered it."""
        return self._bodies.get(seq)
