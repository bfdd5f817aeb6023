"""The integrity service over real stores (SQLite files and PostgreSQL): signing keys, signed
checkpoints, inclusion proofs for every event, consistency proofs between every pair of
checkpoints, key rotation, and the checks that stop the server from signing a fork.

`LogWorld` is shared with the API, tamper and CLI tests of the integrity feature.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER, make_event
from trailkeeper.catalog import load_catalog
from trailkeeper.directory import admin
from trailkeeper.errors import Conflict, InvalidArguments, NotFound, StorageError
from trailkeeper.integrity import merkle
from trailkeeper.integrity.checkpoint import (
    Checkpoint,
    VerifierKey,
    generate_signing_key,
    parse_checkpoint,
    verify_checkpoint,
)
from trailkeeper.integrity.errors import IntegrityError, SignatureError
from trailkeeper.integrity.service import (
    KEY_CREATED,
    KEY_ROTATED,
    MAX_RANGE,
    IntegrityService,
    endorse_key,
    endorsed_key,
)
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

SERVICE = "tk.test"
T0 = 1_700_000_000

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


class LogWorld:
    """A migrated store with two organizations, a recorder and the integrity service."""

    def __init__(self, store: Store, url: str, clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.url = url
        self.now = float(T0 + 10_000)
        admin.create_organization(store, ORG, "Test Org", "testorg")
        admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
        admin.create_organization(store, OTHER_ORG, "Other Org", "otherorg")
        admin.create_workspace(store, WS_OTHER, OTHER_ORG, "Other", "other")
        self.recorder = Recorder(store, load_catalog())
        self.service = IntegrityService(
            store, SERVICE, record_event=self.record_event, clock=clock or self.clock
        )
        self.recorded: list[tuple[str, str, Mapping[str, Any]]] = []
        self._added = 0

    def clock(self) -> float:
        self.now += 1
        return self.now

    def record_event(self, action: str, org_id: str, details: Mapping[str, Any]) -> str:
        self.recorded.append((action, org_id, details))
        return self.recorder.record(organization_event(action, org_id, details))

    def add(self, count: int, prefix: str = "ev", location: str = WS_A) -> list[str]:
        ids = [f"{prefix}-{self._added + i}" for i in range(count)]
        self._added += count
        report = self.recorder.record_many(
            [
                make_event(id=event_id, date=T0 + i, actor=f"U0{i % 7}X", location=location)
                for i, event_id in enumerate(ids)
            ]
        )
        assert not report.rejected, report.rejected[:1]
        return ids

    def verifier(self, generation: int = -1) -> VerifierKey:
        return VerifierKey.from_vkey(self.store.signing_keys()[generation].vkey)

    def verifiers(self) -> list[VerifierKey]:
        return [VerifierKey.from_vkey(k.vkey) for k in self.store.signing_keys()]

    def trusted(self, org_id: str, size: int | None = None) -> Checkpoint:
        """A checkpoint of the store, verified against its published keys."""
        record = self.service.checkpoint_record(org_id, size)
        return verify_checkpoint(record.note, self.verifiers(), origin=self.service.origin(org_id))


def open_world(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> LogWorld:
    if backend == "postgres":
        url = str(request.getfixturevalue("postgres_schema_url"))
    else:
        url = f"sqlite:///{tmp_path / 'integrity.db'}"
    store = open_store(url)
    store.migrate()
    request.addfinalizer(store.close)
    return LogWorld(store, url)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> LogWorld:
    return open_world(str(request.param), tmp_path, request)


def check_inclusion(world: LogWorld, checkpoint: Checkpoint, event_id: str) -> int:
    proof = world.service.inclusion(ORG, event_id, checkpoint.tree_size)
    assert merkle.leaf_hash(proof.body) == proof.leaf_hash
    merkle.verify_inclusion(
        proof.leaf_hash, proof.leaf_index, checkpoint.tree_size, proof.proof, checkpoint.root_hash
    )
    return proof.leaf_index


# --- keys ---------------------------------------------------------------------------------------


def test_no_checkpoint_is_signed_before_a_key_exists(world: LogWorld) -> None:
    world.add(5)
    assert world.service.checkpoint_all().created == []
    with pytest.raises(NotFound, match="keys generate"):
        world.service.checkpoint(ORG)


def test_generating_the_first_key_is_recorded_in_every_organizations_log(world: LogWorld) -> None:
    record = world.service.generate_key()
    assert record.generation == 1
    assert record.endorsement is None
    assert record.name == f"{SERVICE}/audit"
    assert VerifierKey.from_vkey(record.vkey).key_id.hex() == record.key_id
    assert {(a, o) for a, o, _ in world.recorded} == {(KEY_CREATED, ORG), (KEY_CREATED, OTHER_ORG)}
    body = world.store.events_from(ORG, 0, 1)[0].body
    assert b'"action":"audit_logs_signing_key_created"' in body
    assert record.vkey.encode() in body
    assert b'"id":"USLACKUSER"' in body


def test_a_second_generate_is_refused(world: LogWorld) -> None:
    world.service.generate_key()
    with pytest.raises(Conflict, match="keys rotate"):
        world.service.generate_key()


def test_rotation_needs_a_key(world: LogWorld) -> None:
    with pytest.raises(NotFound):
        world.service.rotate_key()


def test_the_private_key_never_shows_in_a_repr_or_the_public_listing(world: LogWorld) -> None:
    record = world.service.generate_key()
    assert "PRIVATE" not in repr(record)
    assert record.private_key.startswith("PRIVATE+KEY+")
    assert [k.private_key for k in world.service.public_keys()] == [""]
    assert world.store.signing_keys(private=True)[0].private_key == record.private_key


def test_rotation_retires_the_old_key_records_it_and_signs_with_the_new(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(20)
    first = world.service.checkpoint(ORG)
    assert first is not None
    old, new = world.service.rotate_key()
    keys = world.store.signing_keys()
    assert [k.generation for k in keys] == [1, 2]
    assert keys[0].retired_at is not None
    assert keys[1].retired_at is None
    assert endorsed_key(str(new.endorsement), [world.verifier(0)]).to_vkey() == new.vkey
    # The rotation is in the log, and a checkpoint by the new key covers it at once.
    latest = world.service.checkpoint_record(ORG)
    assert latest.key_id == new.key_id
    rotation = world.store.events_from(ORG, latest.tree_size - 1, 1)[0].body
    assert b'"action":"audit_logs_signing_key_rotated"' in rotation
    assert old.vkey.encode() in rotation
    assert new.vkey.encode() in rotation
    # Old checkpoints still verify with the old (published) key, new ones only with the new.
    verify_checkpoint(first.note, [world.verifier(0)])
    with pytest.raises(SignatureError):
        verify_checkpoint(latest.note, [world.verifier(0)])
    verify_checkpoint(latest.note, [world.verifier(1)])
    assert (KEY_ROTATED, OTHER_ORG) in {(a, o) for a, o, _ in world.recorded}


def test_an_endorsement_by_an_untrusted_key_teaches_nothing() -> None:
    old, new, stranger = (generate_signing_key(f"k{i}") for i in range(3))
    note = endorse_key(old, new.verifier, T0)
    assert endorsed_key(note, [old.verifier]) == new.verifier
    with pytest.raises(SignatureError):
        endorsed_key(note, [stranger.verifier])
    not_an_endorsement = endorse_key(old, new.verifier, T0).replace("endorsement", "nonsense")
    with pytest.raises(IntegrityError):
        endorsed_key(not_an_endorsement, [old.verifier])


# --- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_is_made_only_when_the_tree_grew(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(10)
    first = world.service.checkpoint(ORG)
    assert first is not None
    assert first.tree_size == 11
    assert world.service.checkpoint(ORG) is None
    world.add(3)
    second = world.service.checkpoint(ORG)
    assert second is not None
    assert second.tree_size == 14
    checkpoint = world.trusted(ORG)
    assert checkpoint == Checkpoint(
        f"{SERVICE}/audit/{ORG}", 14, second.root_hash, second.timestamp
    )
    assert checkpoint.root_hash == merkle.root_hash(
        [merkle.leaf_hash(r.body) for r in world.store.events_from(ORG, 0, 100)]
    )


def test_checkpoint_all_covers_every_organization_with_events(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(4)
    world.add(2, prefix="other", location=WS_OTHER)
    run = world.service.checkpoint_all()
    assert sorted((c.org_id, c.tree_size) for c in run.created) == [(OTHER_ORG, 3), (ORG, 5)]
    assert run.refused == {}
    assert world.service.checkpoint_all().created == []


def test_checkpoints_are_found_by_size_and_listed_in_order(world: LogWorld) -> None:
    world.service.generate_key()
    sizes = []
    for _ in range(3):
        world.add(5)
        made = world.service.checkpoint(ORG)
        assert made is not None
        sizes.append(made.tree_size)
    assert [c.tree_size for c in world.service.checkpoints_up_to(ORG, 10**9)] == sizes
    assert [c.tree_size for c in world.service.checkpoints_up_to(ORG, sizes[1])] == sizes[:2]
    assert world.service.checkpoint_record(ORG, sizes[0]).tree_size == sizes[0]
    with pytest.raises(NotFound):
        world.service.checkpoint_record(ORG, sizes[0] + 1)
    with pytest.raises(NotFound):
        world.service.checkpoint_record(OTHER_ORG)


def test_a_forked_tree_is_never_signed(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(40)
    assert world.service.checkpoint(ORG) is not None
    world.add(40)
    # Rewrite history under the checkpoint: change a stored subtree both proofs would use.
    tamper_sql(world, "UPDATE merkle_nodes SET hash = {blob} WHERE org_id = {ph} AND level = 5")
    with pytest.raises(StorageError, match="refusing to sign"):
        world.service.checkpoint(ORG)
    assert world.service.checkpoint_all().refused.keys() == {ORG}


def test_a_frontier_that_disagrees_with_the_log_is_never_signed(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(10)
    tamper_sql(world, "UPDATE org_heads SET next_seq = next_seq + 1 WHERE org_id = {ph}")
    with pytest.raises(StorageError, match="refusing to sign"):
        world.service.checkpoint(ORG)


def test_a_truncated_log_is_never_signed(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(10)
    world.service.checkpoint(ORG)
    tamper_sql(world, "UPDATE org_heads SET next_seq = 5 WHERE org_id = {ph}")
    with pytest.raises(StorageError, match="history truncated"):
        world.service.checkpoint(ORG)


def tamper_sql(world: LogWorld, template: str) -> None:
    """Run one statement behind the store's back (`{ph}` = ORG, `{blob}` = 32 bytes of 0xAA)."""
    if world.url.startswith("sqlite:///"):
        conn = sqlite3.connect(world.url.removeprefix("sqlite:///"))
        sql = template.format(ph="?", blob="?")
        args: list[object] = [b"\xaa" * 32] if "{blob}" in template else []
        conn.execute(sql, [*args, ORG])
        conn.commit()
        conn.close()
        return
    import psycopg

    sql = template.format(ph="%s", blob="%s")
    args = [b"\xaa" * 32] if "{blob}" in template else []
    with psycopg.connect(world.url, autocommit=True) as conn:
        conn.execute(sql.encode(), [*args, ORG])


# --- proofs -------------------------------------------------------------------------------------


def test_every_event_has_an_inclusion_proof_against_every_later_checkpoint(
    world: LogWorld,
) -> None:
    world.service.generate_key()
    ids = ["placeholder"]  # seq 0 is the key's creation event
    checkpoints = []
    for batch in (1, 16, 17, 100, 63, 99):
        ids += world.add(batch)
        made = world.service.checkpoint(ORG)
        assert made is not None
        checkpoints.append(world.trusted(ORG, made.tree_size))
    ids[0] = str(world.store.events_from(ORG, 0, 1)[0].id)
    assert checkpoints[-1].tree_size == len(ids) == 297
    for checkpoint in checkpoints:
        for seq, event_id in enumerate(ids[: checkpoint.tree_size]):
            assert check_inclusion(world, checkpoint, event_id) == seq


def test_an_inclusion_proof_defaults_to_the_latest_checkpoint_and_carries_it(
    world: LogWorld,
) -> None:
    world.service.generate_key()
    ids = world.add(30)
    world.service.checkpoint(ORG)
    proof = world.service.inclusion(ORG, ids[7])
    assert proof.leaf_index == 8
    assert proof.tree_size == 31
    assert proof.checkpoint is not None
    checkpoint = verify_checkpoint(proof.checkpoint, world.verifiers())
    merkle.verify_inclusion(merkle.leaf_hash(proof.body), 8, 31, proof.proof, checkpoint.root_hash)
    assert proof.body == world.store.events_from(ORG, 8, 1)[0].body


def test_an_event_newer_than_the_last_checkpoint_has_no_default_proof(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(3)
    world.service.checkpoint(ORG)
    later = world.add(1)
    with pytest.raises(NotFound, match="not covered"):
        world.service.inclusion(ORG, later[0])
    proof = world.service.inclusion(ORG, later[0], tree_size=5)  # an explicit size works
    assert proof.tree_size == 5
    assert proof.checkpoint is None


def test_inclusion_refuses_unknown_ids_foreign_ids_and_bad_sizes(world: LogWorld) -> None:
    world.service.generate_key()
    ids = world.add(5)
    other = world.add(1, prefix="other", location=WS_OTHER)
    world.service.checkpoint_all()
    with pytest.raises(NotFound):
        world.service.inclusion(ORG, "no-such-event")
    with pytest.raises(NotFound):
        world.service.inclusion(ORG, other[0])  # another organization's event
    with pytest.raises(InvalidArguments):
        world.service.inclusion(ORG, ids[3], tree_size=4)  # seq 4 is not in a tree of 4
    with pytest.raises(InvalidArguments):
        world.service.inclusion(ORG, ids[3], tree_size=99)


def test_consistency_proofs_hold_between_every_pair_of_checkpoints(world: LogWorld) -> None:
    world.service.generate_key()
    checkpoints = []
    for batch in (2, 14, 1, 33, 16, 64, 5):
        world.add(batch)
        made = world.service.checkpoint(ORG)
        assert made is not None
        checkpoints.append(world.trusted(ORG, made.tree_size))
    for older in checkpoints:
        for newer in checkpoints:
            if older.tree_size > newer.tree_size:
                continue
            first, second, proof = world.service.consistency(ORG, older.tree_size, newer.tree_size)
            assert (first, second) == (older.tree_size, newer.tree_size)
            merkle.verify_consistency(first, second, older.root_hash, newer.root_hash, proof)
    # `second` defaults to the latest checkpoint.
    assert world.service.consistency(ORG, 3)[1] == checkpoints[-1].tree_size


def test_consistency_refuses_reversed_or_oversized_ranges(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(5)
    world.service.checkpoint(ORG)
    with pytest.raises(InvalidArguments):
        world.service.consistency(ORG, 5, 3)
    with pytest.raises(InvalidArguments):
        world.service.consistency(ORG, 1, 999)
    with pytest.raises(NotFound):
        world.service.consistency(OTHER_ORG, 0)


def test_leaf_hashes_are_recomputed_from_the_stored_bytes(world: LogWorld) -> None:
    world.add(20)
    records = world.store.events_from(ORG, 0, 100)
    assert world.service.leaf_hashes(ORG, 3, 9) == [merkle.leaf_hash(r.body) for r in records[3:9]]
    assert len(world.service.leaf_hashes(ORG, 15, 50)) == 5  # clipped to the log
    for start, end in ((5, 5), (-1, 3), (0, MAX_RANGE + 1)):
        with pytest.raises(InvalidArguments):
            world.service.leaf_hashes(ORG, start, end)


def test_entries_carry_whole_tiles_of_stored_hashes(world: LogWorld) -> None:
    world.add(70)
    page = world.service.entries(ORG, 0, 64)
    assert [r.seq for r in page.records] == list(range(64))
    assert sorted(page.tiles) == [0, 1, 2, 3]
    leaves = [merkle.leaf_hash(r.body) for r in page.records]
    assert page.tiles[2] == merkle.root_hash(leaves[32:48])
    assert page.log_size == 70
    assert sorted(world.service.entries(ORG, 8, 60).tiles) == [1, 2]  # whole tiles only


def test_a_proof_that_needs_a_missing_event_is_refused_not_faked(world: LogWorld) -> None:
    world.service.generate_key()
    ids = world.add(40)
    world.service.checkpoint(ORG)
    tamper_sql(
        world,
        "DELETE FROM events WHERE org_id = {ph} AND seq = 21",
    )
    with pytest.raises(StorageError, match="cannot build the proof"):
        world.service.inclusion(ORG, ids[22])
    assert check_inclusion(world, world.trusted(ORG), ids[5]) == 6  # other tiles still prove


# --- concurrency --------------------------------------------------------------------------------


def test_checkpoints_taken_during_concurrent_appends_on_two_nodes_are_all_consistent(
    world: LogWorld,
) -> None:
    world.service.generate_key()
    node = open_store(world.url)  # a second process on the same database
    node_recorder = Recorder(node, load_catalog())
    node_service = IntegrityService(node, SERVICE, record_event=world.record_event)
    errors: list[BaseException] = []
    stop = threading.Event()

    def append(worker: int) -> None:
        recorder = node_recorder if worker % 2 else world.recorder
        try:
            for round_ in range(12):
                events = [make_event(id=f"w{worker}r{round_}e{n}", date=T0 + n) for n in range(7)]
                assert recorder.record_many(events).stored == 7
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def checkpoint(service: IntegrityService) -> None:
        while not stop.is_set():
            try:
                service.checkpoint(ORG)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    writers = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    signers = [
        threading.Thread(target=checkpoint, args=(s,)) for s in (world.service, node_service)
    ]
    for thread in signers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in signers:
        thread.join()
    node.close()
    world.service.checkpoint(ORG)
    assert errors == []
    checkpoints = [parse_checkpoint(c.note) for c in world.service.checkpoints_up_to(ORG, 10**9)]
    assert len(checkpoints) > 1
    assert checkpoints[-1].tree_size == 1 + 4 * 12 * 7
    records = world.store.events_from(ORG, 0, 10_000)
    assert [r.seq for r in records] == list(range(1 + 4 * 12 * 7))
    leaves = [merkle.leaf_hash(r.body) for r in records]
    for checkpoint in checkpoints:
        assert checkpoint.root_hash == merkle.root_hash(leaves[: checkpoint.tree_size])


def test_two_nodes_cannot_both_create_or_rotate_the_key(
    world: LogWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    second_store = open_store(world.url)
    try:
        second = IntegrityService(second_store, SERVICE, record_event=world.record_event)
        world.service.generate_key()
        with pytest.raises(Conflict):
            second.generate_key()
        stale = second_store.signing_keys(private=True)
        world.service.rotate_key()
        # A node that still believes generation 1 is current loses the race at the database.
        monkeypatch.setattr(second_store, "signing_keys", lambda **_: stale)
        with pytest.raises(Conflict, match="at the same time"):
            second.rotate_key()
    finally:
        second_store.close()
    assert [k.generation for k in world.store.signing_keys()] == [1, 2]
