"""Copying a whole store to another (e.g. SQLite to PostgreSQL), verified.

A copy moves everything durable a server needs to behave the same on the target: the directory,
accounts (tokens, app secrets and passwords as hashes), signing keys (private halves and retired
ones) and checkpoints, the shared secrets (cursors keep working), detection controls, snapshots
and kept signals, logging pauses, consumer positions, and every log. Events keep their ids,
sequence numbers and exact bytes; purged stretches move as their kept leaf hashes, so the target
rebuilds the same Merkle tree. Short-lived rows are not copied: authorization codes, sign-in
sessions and attempts, and anomalies shadow mode held back (see docs/deployment.md).

Records the target already holds are treated by kind: state a store can update (organizations,
workspaces, retention, users, apps, secrets, detection controls and snapshots, positions) takes
the source's values; history that is only ever added (tokens, installations, signing keys,
checkpoints, pauses, signals) is added when missing and an existing record left alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailkeeper.errors import StorageError
from trailkeeper.events import EventRecord
from trailkeeper.storage.base import Store

CHUNK = 5_000
LEAF_CHUNK = 50_000
LARGEST_TREE = 2**62
Progress = Callable[[int], None]


@dataclass
class CopyReport:
    """What the target holds from the source: records per kind, events and kept leaf hashes
    per organization."""

    counts: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    purged: dict[str, int] = field(default_factory=dict)

    @property
    def total_events(self) -> int:
        """Events copied across organizations."""
        return sum(self.events.values())

    @property
    def total_purged(self) -> int:
        """Kept leaf hashes of purged events copied across organizations."""
        return sum(self.purged.values())


@dataclass(frozen=True)
class Kind:
    """One kind of durable record: how to read all of it, write it, and what must match after."""

    name: str
    read: Callable[[Store], Sequence[Any]]
    write: Callable[[Store, Any], object]
    key: Callable[[Any], Hashable] = lambda record: record
    batched: bool = False  # `write` takes every record at once

    def write_all(self, target: Store, records: Sequence[Any]) -> None:
        """Write the records one by one, or all at once if the kind is batched."""
        if self.batched:
            self.write(target, records)
            return
        for record in records:
            self.write(target, record)


def _orgs(store: Store) -> list[str]:
    return [org.id for org in store.list_organizations()]


def _retention(store: Store) -> list[tuple[str, int | None]]:
    policies = store.retention_policies()
    return [(org_id, policies.get(org_id)) for org_id in _orgs(store)]


def _installations(store: Store) -> list[Any]:
    return [i for app in store.list_apps() for i in store.list_installations(app.id)]


def _add_installation(store: Store, installation: Any) -> None:
    if store.get_installation(installation.id) is None:
        store.add_installation(installation)


def _add_token(store: Store, token: Any) -> None:
    if store.find_token(token.token_hash) is None:
        store.add_token(token)


def _checkpoints(store: Store) -> list[Any]:
    orgs = sorted(set(_orgs(store)) | set(store.organizations_with_events()))
    return [c for org in orgs for c in store.list_checkpoints(org, LARGEST_TREE)]


def _controls(store: Store) -> list[tuple[str, str]]:
    found = ((org, store.get_detect_controls(org)) for org in _orgs(store))
    return [(org, controls) for org, controls in found if controls is not None]


def _put_controls(store: Store, controls: tuple[str, str]) -> None:
    store.put_detect_controls(*controls, at=int(time.time()))


def _snapshots(store: Store) -> list[tuple[str, Any]]:
    consumers = store.detect_snapshot_consumers()
    return [(c, record) for c in consumers for record in store.detect_snapshots(c)]


Signal = tuple[str, tuple[int, int, str]]  # (org_id, (id, received_at, JSON text))


def _signals(store: Store) -> list[Signal]:
    found: list[Signal] = []
    for org in sorted(store.organizations_with_signals()):
        after = 0
        while batch := store.signal_records(org, after, CHUNK):
            found.extend((org, record) for record in batch)
            after = batch[-1][0]
    return found


def _import_signals(store: Store, signals: Sequence[Signal]) -> None:
    by_org: dict[str, list[tuple[int, int, str]]] = {}
    for org, record in signals:
        by_org.setdefault(org, []).append(record)
    for org, records in by_org.items():
        store.import_signals(org, records)


KINDS = (
    Kind("organizations", lambda s: s.list_organizations(), lambda t, o: t.put_organization(o)),
    Kind(
        "workspaces",
        lambda s: [w for org in _orgs(s) for w in s.list_workspaces(org)],
        lambda t, w: t.put_workspace(w),
    ),
    Kind("retention policies", _retention, lambda t, p: t.set_retention(*p)),
    Kind(
        "users",
        lambda s: [u for org in _orgs(s) for u in s.list_users(org)],
        lambda t, u: t.put_user(u),
    ),
    Kind("apps", lambda s: s.list_apps(), lambda t, a: t.put_app(a)),
    Kind("installations", _installations, _add_installation, lambda i: i.id),
    Kind("tokens", lambda s: s.list_tokens(), _add_token, lambda t: (t.id, t.token_hash)),
    Kind(
        "signing keys",
        lambda s: s.signing_keys(private=True),
        lambda t, k: t.add_signing_key(k),
        lambda k: (k.generation, k.vkey),
    ),
    Kind("checkpoints", _checkpoints, lambda t, c: t.add_checkpoint(c)),
    Kind("secrets", lambda s: sorted(s.list_secrets().items()), lambda t, i: t.put_secret(*i)),
    Kind("detection controls", _controls, _put_controls),
    Kind("detection snapshots", _snapshots, lambda t, s: t.save_detect_snapshot(*s)),
    Kind("detection signals", _signals, _import_signals, batched=True),
    Kind(
        "logging pauses",
        lambda s: list(s.logging_pauses().values()),
        lambda t, p: t.pause_logging(p),
    ),
    Kind("consumer positions", lambda s: s.list_positions(), lambda t, p: t.set_position(*p)),
)


def check_target(source: Store, target: Store) -> None:
    """Refuse, before writing anything, a target that holds a log the source has or signs with
    a different key under one of the source's key generations."""
    for org_id in source.organizations_with_events():
        if target.count_events(org_id):
            raise StorageError(f"target already has events of {org_id}; copy into an empty store")
    theirs = {key.generation: key.vkey for key in target.signing_keys()}
    for key in source.signing_keys():
        if theirs.get(key.generation, key.vkey) != key.vkey:
            raise StorageError(
                f"target has a signing key of its own (generation {key.generation}); copy into "
                "a store no server has run on"
            )


def copy_kind(kind: Kind, source: Store, target: Store) -> int:
    """Write every record of one kind to the target, then check the target holds them all."""
    records = kind.read(source)
    kind.write_all(target, records)
    wanted = {kind.key(record) for record in records}
    missing = wanted - {kind.key(record) for record in kind.read(target)}
    if missing:
        raise StorageError(
            f"copy of {kind.name} differs: {len(missing)} of {len(wanted)} not on the target "
            "as on the source"
        )
    return len(records)


def runs(batch: Sequence[EventRecord]) -> list[list[EventRecord]]:
    """Events in sequence order split where seq jumps (a purged stretch between)."""
    found: list[list[EventRecord]] = []
    for record in batch:
        if found and found[-1][-1].seq + 1 == record.seq:
            found[-1].append(record)
        else:
            found.append([record])
    return found


def copy_purged(source: Store, target: Store, org_id: str, begin: int, end: int) -> int:
    """The kept leaf hashes of purged seqs [begin, end); how many."""
    for start in range(begin, end, LEAF_CHUNK):
        stop = min(end, start + LEAF_CHUNK)
        kept = source.purged_leaves(org_id, [(start, stop)])
        if len(kept) != stop - start:
            lost = next(seq for seq in range(start, stop) if seq not in kept)
            raise StorageError(
                f"{org_id}: seq {lost} was purged before leaf hashes were kept; its tree "
                "cannot be rebuilt"
            )
        target.import_purged_leaves(org_id, start, [kept[seq] for seq in range(start, stop)])
    return end - begin


@dataclass
class LogCopy:
    """One organization's log moving over: events and purged stretches, in sequence order."""

    source: Store
    target: Store
    org_id: str
    progress: Progress
    head: int = 0
    events: int = 0
    purged: int = 0

    def run(self) -> None:
        """Copy up to the source's count, then verify."""
        size = self.source.count_events(self.org_id)
        while self.head < size:
            batch = self.source.events_from(self.org_id, self.head, CHUNK)
            for run in runs(batch):
                self._purged_until(run[0].seq)
                self.target.import_events(run)
                self._advance(len(run))
                self.events += len(run)
            if not batch:
                self._purged_until(size)
        verify_log(self.source, self.target, self.org_id)

    def _purged_until(self, seq: int) -> None:
        count = copy_purged(self.source, self.target, self.org_id, self.head, seq)
        self.purged += count
        self._advance(count)

    def _advance(self, count: int) -> None:
        self.head += count
        if count:
            self.progress(count)


def verify_log(source: Store, target: Store, org_id: str) -> None:
    """Both stores hold the same events, byte for byte, and the same Merkle tree (which covers
    the kept leaf hashes of purged events too)."""
    start = 0
    while batch := source.events_from(org_id, start, CHUNK):
        if target.events_from(org_id, start, CHUNK) != batch:
            raise StorageError(f"copy of {org_id} differs from the source near seq {start}")
        start = batch[-1].seq + 1
    if source.tree_state(org_id) != target.tree_state(org_id):
        raise StorageError(f"copy of {org_id} has a different Merkle tree than the source")


def copy_store(source: Store, target: Store, progress: Progress = lambda n: None) -> CopyReport:
    """Copy every kind of durable record and every organization's log, verifying each."""
    check_target(source, target)
    report = CopyReport()
    for kind in KINDS:
        report.counts[kind.name] = copy_kind(kind, source, target)
    for org_id in source.organizations_with_events():
        log = LogCopy(source, target, org_id, progress)
        log.run()
        report.events[org_id], report.purged[org_id] = log.events, log.purged
    return report
