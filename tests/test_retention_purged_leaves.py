"""Retention keeps each purged event's leaf hash: proofs, leaf ranges, verification and bundles
stay complete across a purge, on both backends, and a tampered kept hash is caught."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conftest import ORG, WS_A, make_event
from test_integrity_service import (
    BACKENDS,
    T0,
    LogWorld,
    check_inclusion,
    open_world,
    tamper_sql,
)
from test_integrity_tamper import EVENTS, Tamper, errors, offline, signed_tree, synthetic
from test_integrity_tamper import tamper as tamper  # noqa: PLC0414  (the fixture)
from trailkeeper.errors import StorageError
from trailkeeper.integrity import merkle
from trailkeeper.integrity.audit import LogAuditor
from trailkeeper.integrity.bundle import export_bundle
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.retention import enforce, set_policy
from trailkeeper.storage import open_store

PURGED = 20  # ev-0 … ev-19: seq 1 … 20 (seq 0 is the key's creation)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> LogWorld:
    return open_world(str(request.param), tmp_path, request)


def purge_first(world: LogWorld, count: int) -> None:
    set_policy(world.store, world.recorder, ORG, 1)
    purges = enforce(world.store, world.recorder, now=T0 + count + 86_400)
    assert [p.purged for p in purges] == [count]


# --- the store and the service ------------------------------------------------------------------


def test_a_purge_keeps_the_leaf_hash_of_every_event_it_deletes(world: LogWorld) -> None:
    world.service.generate_key()
    world.add(40)
    before = {r.seq: merkle.leaf_hash(r.body) for r in world.store.events_from(ORG, 0, 100)}
    purge_first(world, PURGED)
    kept = world.store.purged_leaves(ORG, [(0, 100)])
    assert kept == {seq: before[seq] for seq in range(1, PURGED + 1)}
    assert world.store.purged_leaves(ORG, [(5, 7), (19, 30)]) == {
        s: before[s] for s in (5, 6, 19, 20)
    }
    assert world.service.leaf_hashes(ORG, 0, 41) == [before[s] for s in range(41)]


def test_proofs_still_work_across_a_purged_range(world: LogWorld) -> None:
    world.service.generate_key()
    ids = world.add(40)
    old = world.service.checkpoint(ORG)
    assert old is not None
    purge_first(world, PURGED)
    new = world.service.checkpoint(ORG)  # checks consistency with `old` across the purge
    assert new is not None
    first, second, proof = world.service.consistency(ORG, old.tree_size, new.tree_size)
    merkle.verify_consistency(first, second, old.root_hash, new.root_hash, proof)
    # ev-20 (seq 21) shares its tile [16, 32) with five purged events.
    assert check_inclusion(world, world.trusted(ORG), ids[20]) == 21


def test_an_event_gone_without_a_kept_hash_still_refuses_its_proofs(world: LogWorld) -> None:
    world.service.generate_key()
    ids = world.add(40)
    world.service.checkpoint(ORG)
    purge_first(world, PURGED)
    tamper_sql(world, "DELETE FROM purged_leaves WHERE org_id = {ph} AND seq = 18")
    with pytest.raises(StorageError, match="cannot build the proof"):
        world.service.inclusion(ORG, ids[20])


def test_postgres_keeps_leaf_hashes_when_it_drops_a_whole_partition(
    postgres_schema_url: str,
) -> None:
    store = open_store(postgres_schema_url)
    store.migrate()
    try:
        world = LogWorld(store, postgres_schema_url)
        world.add(10)  # January 2023 (T0 is November 2023): a month of their own
        world.recorder.record_many(
            [make_event(id=f"old-{i}", date=1_673_000_000 + i, location=WS_A) for i in range(5)]
        )
        old = {r.id: merkle.leaf_hash(r.body) for r in store.events_from(ORG, 10, 5)}
        set_policy(store, world.recorder, ORG, 1)
        purges = enforce(store, world.recorder, now=1_675_300_000)  # cutoff: February 2023
        assert [p.purged for p in purges] == [5]
        assert store.purged_leaves(ORG, [(0, 100)]) == {10 + i: old[f"old-{i}"] for i in range(5)}
    finally:
        store.close()


# --- verification online and offline ------------------------------------------------------------


def purged_tamper(tamper: Tamper) -> None:
    purge_first(tamper.world, PURGED)
    assert tamper.world.service.checkpoint(ORG) is not None


def test_online_verification_is_complete_after_a_purge(tamper: Tamper) -> None:
    purged_tamper(tamper)
    report = tamper.verify()
    assert report.ok, report.render()
    assert (report.events_verified, report.purged_verified) == (EVENTS + 3 - PURGED, PURGED)


def test_a_tampered_kept_leaf_hash_is_caught_and_named_with_a_ledger(tamper: Tamper) -> None:
    purged_tamper(tamper)
    assert tamper.verify().ok  # the reader keeps a ledger of what it verified
    tamper.sql(
        "UPDATE purged_leaves SET hash = ? WHERE org_id = ? AND seq = ?", b"\x07" * 32, ORG, 9
    )
    report = tamper.verify()
    assert not report.ok
    assert (
        9,
        None,
        "the leaf hash kept for this purged event differs from the one this reader verified before",
    ) in errors(report)


def test_a_tampered_kept_leaf_hash_is_caught_by_a_first_time_reader(
    tamper: Tamper, tmp_path: Path
) -> None:
    purged_tamper(tamper)
    tamper.sql(
        "UPDATE purged_leaves SET hash = ? WHERE org_id = ? AND seq = ?", b"\x07" * 32, ORG, 9
    )
    report = tamper.verify(tmp_path / "fresh" / "verify.json")
    assert not report.ok
    assert [e[0] for e in errors(report)] == [0]  # its tile [0, 16) no longer matches


def test_an_undeclared_kept_hash_is_an_error(tamper: Tamper) -> None:
    """Deleting an event and planting its hash as if purged must not pass for a purge."""
    body = tamper.body(60)
    tamper.sql(
        "INSERT INTO purged_leaves (org_id, seq, hash) VALUES (?, ?, ?)",
        ORG,
        60,
        merkle.leaf_hash(body),
    )
    tamper.delete(60)
    report = tamper.verify()
    assert not report.ok
    assert "1 events purged with their leaf hashes kept and 0 missing" in report.render()


def test_a_log_purged_before_leaf_hashes_were_kept_verifies_as_before(tamper: Tamper) -> None:
    purged_tamper(tamper)
    tamper.sql("DELETE FROM purged_leaves WHERE org_id = ?", ORG)
    report = tamper.verify()
    assert report.ok, report.render()
    assert f"{PURGED} events are gone, as many as retention purges" in report.render()


# --- bundles ------------------------------------------------------------------------------------


def test_a_bundle_carries_kept_hashes_and_an_edit_of_one_fails_it(
    tamper: Tamper, tmp_path: Path
) -> None:
    purged_tamper(tamper)
    target = tmp_path / "bundle"
    export_bundle(tamper.world.service, ORG, target)
    assert offline(tamper, target).ok
    lines = (target / "purged.txt").read_text().splitlines()
    seq, _, value = lines[3].partition(" ")
    assert base64.b64decode(value) == tamper.world.store.purged_leaves(ORG, [(4, 5)])[4]
    lines[3] = f"{seq} {base64.b64encode(b'x' * 32).decode()}"
    (target / "purged.txt").write_text("\n".join(lines) + "\n")
    report = offline(tamper, target)
    assert not report.ok
    assert 0 in [e[0] for e in errors(report)]  # the tile [0, 16) holding seq 4


def test_an_older_bundle_without_kept_hashes_still_verifies(tamper: Tamper, tmp_path: Path) -> None:
    purged_tamper(tamper)
    target = tmp_path / "bundle"
    export_bundle(tamper.world.service, ORG, target)
    (target / "purged.txt").unlink()
    report = offline(tamper, target)
    assert report.ok, report.render()
    assert f"{PURGED} events are gone" in report.render()


def test_an_unreadable_kept_hash_file_cannot_be_checked(tamper: Tamper, tmp_path: Path) -> None:
    purged_tamper(tamper)
    target = tmp_path / "bundle"
    export_bundle(tamper.world.service, ORG, target)
    (target / "purged.txt").write_text("seven not-base64!\n")
    with pytest.raises(IntegrityError, match=r"purged\.txt line 1"):
        offline(tamper, target)


# --- the auditor alone --------------------------------------------------------------------------


def test_the_auditor_checks_kept_hashes_like_leaves() -> None:
    bodies = synthetic(40, purge_at=39, purged=3)
    auditor = LogAuditor(signed_tree(bodies))
    for seq, body in enumerate(bodies):
        if seq in (20, 21, 22):
            auditor.feed_purged(seq, merkle.leaf_hash(body))
        else:
            auditor.feed(seq, body)
    report = auditor.finish()
    assert report.ok, report.render()
    assert (report.events_verified, report.purged_verified) == (37, 3)


def test_a_kept_hash_of_the_wrong_size_is_an_error() -> None:
    bodies = synthetic(20, purge_at=19, purged=1)
    auditor = LogAuditor(signed_tree(bodies))
    for seq, body in enumerate(bodies):
        if seq == 4:
            auditor.feed_purged(seq, b"short")
        else:
            auditor.feed(seq, body)
    report = auditor.finish()
    assert not report.ok
    assert "the kept leaf hash of this purged event is not 32 bytes" in report.render()
