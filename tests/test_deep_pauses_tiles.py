"""Pausing recording (the gate's cache, who passes it, pausing and resuming over a real store),
the pause intervals a verifier reads back from the log, and the tile arithmetic proofs rely on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ORG, OTHER_ORG
from trailkeeper.errors import Conflict, InvalidArguments, LoggingPaused, NotFound
from trailkeeper.events import PreparedEvent
from trailkeeper.integrity import merkle
from trailkeeper.integrity.audit import PauseLog
from trailkeeper.integrity.errors import MissingNodeError, TreeStateError
from trailkeeper.integrity.merkle import NodeID
from trailkeeper.integrity.pauses import (
    LOG_OWN_ACTIONS,
    MAX_REASON_CHARS,
    PAUSED,
    RESUMED,
    RETRY_AFTER_S,
    SERVICE_ACTOR_ID,
    PauseGate,
    PauseRecord,
    is_log_own_event,
    pause_logging,
    resume_logging,
)
from trailkeeper.integrity.tiles import (
    TILE_WIDTH,
    advance_tree,
    advance_tree_leaves,
    frontier_nodes,
    is_stored,
    resolve_nodes,
    subtree_from_leaves,
    tile_of,
)
from trailkeeper.storage.sqlite import SQLiteStore

T0 = 1_700_000_000


def prepared(org_id: str = ORG, action: str = "user_login", actor: str = "U0ANN") -> PreparedEvent:
    return PreparedEvent(
        id=f"{org_id}-{action}-{actor}",
        org_id=org_id,
        date_create=T0,
        action=action,
        actor_id=actor,
        entity_id=None,
        body=b"{}",
    )


class CountingReader:
    """A pause source that counts how often the gate reads it."""

    def __init__(self, pauses: dict[str, PauseRecord] | None = None) -> None:
        self.current = dict(pauses or {})
        self.reads = 0

    def logging_pauses(self) -> dict[str, PauseRecord]:
        self.reads += 1
        return dict(self.current)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


PAUSE = PauseRecord(ORG, T0, "incident")


# --- the gate -------------------------------------------------------------------------------


def test_the_gate_reads_the_store_at_most_once_per_ttl() -> None:
    reader, clock = CountingReader(), Clock()
    gate = PauseGate(reader, ttl_s=2.0, clock=clock)
    for _ in range(5):
        gate.check_org(ORG)
    assert reader.reads == 1
    clock.now += 1.99
    gate.check_org(ORG)
    assert reader.reads == 1
    clock.now += 0.01
    gate.check_org(ORG)
    assert reader.reads == 2


def test_a_pause_is_seen_by_another_node_after_the_ttl() -> None:
    reader, clock = CountingReader(), Clock()
    gate = PauseGate(reader, ttl_s=2.0, clock=clock)
    gate.check_org(ORG)
    reader.current[ORG] = PAUSE
    gate.check_org(ORG)  # still the cached state: nothing paused
    clock.now += 2.0
    with pytest.raises(LoggingPaused) as caught:
        gate.check_org(ORG)
    assert (caught.value.org_id, caught.value.paused_at) == (ORG, T0)
    assert caught.value.retry_after_s == RETRY_AFTER_S


def test_forget_makes_the_next_check_read_the_store() -> None:
    reader = CountingReader()
    gate = PauseGate(reader, clock=Clock())
    gate.check_org(ORG)
    reader.current[ORG] = PAUSE
    gate.forget()
    with pytest.raises(LoggingPaused):
        gate.check_org(ORG)
    assert reader.reads == 2


@pytest.mark.parametrize(("action", "rereads"), [(PAUSED, True), (RESUMED, True), ("x", False)])
def test_committing_a_pause_or_resume_forgets_the_cached_state(action: str, rereads: bool) -> None:
    reader = CountingReader()
    gate = PauseGate(reader, clock=Clock())
    gate.pauses()
    gate.note_committed([prepared(action="user_login"), prepared(action=action)])
    gate.pauses()
    assert reader.reads == (2 if rereads else 1)


def test_only_the_paused_organization_is_refused() -> None:
    gate = PauseGate(CountingReader({ORG: PAUSE}), clock=Clock())
    gate.check([prepared(OTHER_ORG)])
    gate.check_org(OTHER_ORG)
    with pytest.raises(LoggingPaused, match=f"recording for {ORG} is paused"):
        gate.check([prepared(OTHER_ORG), prepared(ORG)])


def test_the_logs_own_events_pass_only_for_trusted_callers() -> None:
    gate = PauseGate(CountingReader({ORG: PAUSE}), clock=Clock())
    own = prepared(action=RESUMED, actor=SERVICE_ACTOR_ID)
    gate.check([own], own_allowed=True)
    with pytest.raises(LoggingPaused):
        gate.check([own])


@pytest.mark.parametrize("action", sorted(LOG_OWN_ACTIONS))
def test_every_own_action_is_the_logs_only_from_the_service_actor(action: str) -> None:
    assert is_log_own_event(prepared(action=action, actor=SERVICE_ACTOR_ID))
    assert not is_log_own_event(prepared(action=action, actor="U0MALLORY"))


def test_a_producer_cannot_slip_a_users_event_past_the_gate_as_the_service() -> None:
    gate = PauseGate(CountingReader({ORG: PAUSE}), clock=Clock())
    disguised = prepared(action="user_login", actor=SERVICE_ACTOR_ID)
    with pytest.raises(LoggingPaused):
        gate.check([disguised], own_allowed=True)


def test_an_empty_pause_table_never_looks_at_the_events() -> None:
    gate = PauseGate(CountingReader(), clock=Clock())
    gate.check(iter(()))
    gate.check(prepared(org) for org in (ORG, OTHER_ORG))


# --- pausing and resuming over a real store ---------------------------------------------------


class Journal:
    """The record_event callable: remembers each event, may be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, action: str, org_id: str, details: Mapping[str, Any]) -> object:
        if self.fail:
            raise RuntimeError("the recorder is down")
        self.events.append((action, org_id, dict(details)))
        return "ev"


def test_pausing_records_the_reason_and_resuming_how_long_it_lasted(
    directory: SQLiteStore,
) -> None:
    journal = Journal()
    record = pause_logging(directory, journal, ORG, "  legal hold  ", T0)
    assert record == PauseRecord(ORG, T0, "legal hold")
    assert directory.logging_pauses() == {ORG: record}
    assert resume_logging(directory, journal, ORG, "", T0 + 90) == record
    assert directory.logging_pauses() == {}
    assert journal.events == [
        (PAUSED, ORG, {"reason": "legal hold"}),
        (RESUMED, ORG, {"paused_at": T0, "paused_s": 90}),
    ]


def test_a_resume_before_the_pause_by_a_skewed_clock_lasts_zero_seconds(
    directory: SQLiteStore,
) -> None:
    journal = Journal()
    pause_logging(directory, journal, ORG, "", T0)
    resume_logging(directory, journal, ORG, "done", T0 - 5)
    assert journal.events[-1] == (RESUMED, ORG, {"reason": "done", "paused_at": T0, "paused_s": 0})


def test_pausing_twice_is_a_conflict_and_records_nothing_more(directory: SQLiteStore) -> None:
    journal = Journal()
    pause_logging(directory, journal, ORG, "", T0)
    with pytest.raises(Conflict, match="paused already"):
        pause_logging(directory, journal, ORG, "", T0 + 1)
    assert len(journal.events) == 1


def test_resuming_what_is_not_paused_is_a_conflict(directory: SQLiteStore) -> None:
    with pytest.raises(Conflict, match="is not paused"):
        resume_logging(directory, Journal(), ORG, "", T0)


@pytest.mark.parametrize("operation", [pause_logging, resume_logging])
def test_an_unknown_organization_is_not_found(directory: SQLiteStore, operation: Any) -> None:
    with pytest.raises(NotFound, match="no organization E0NOPE"):
        operation(directory, Journal(), "E0NOPE", "", T0)


def test_the_reason_is_bounded_after_trimming(directory: SQLiteStore) -> None:
    padded = " " * 10 + "r" * MAX_REASON_CHARS + " " * 10
    assert pause_logging(directory, Journal(), ORG, padded, T0).reason == "r" * MAX_REASON_CHARS
    with pytest.raises(InvalidArguments, match=f"at most {MAX_REASON_CHARS} characters"):
        pause_logging(directory, Journal(), OTHER_ORG, "r" * (MAX_REASON_CHARS + 1), T0)
    assert OTHER_ORG not in directory.logging_pauses()


def test_a_pause_the_log_cannot_record_is_undone(directory: SQLiteStore) -> None:
    with pytest.raises(RuntimeError, match="recorder is down"):
        pause_logging(directory, Journal(fail=True), ORG, "", T0)
    assert directory.logging_pauses() == {}


def test_a_resume_the_log_cannot_record_leaves_the_pause_in_place(
    directory: SQLiteStore,
) -> None:
    pause_logging(directory, Journal(), ORG, "", T0)
    with pytest.raises(RuntimeError):
        resume_logging(directory, Journal(fail=True), ORG, "", T0 + 1)
    assert ORG in directory.logging_pauses()


def test_a_gate_over_the_store_refuses_after_a_pause_and_accepts_after_resume(
    directory: SQLiteStore,
) -> None:
    gate = PauseGate(directory, ttl_s=3600)
    gate.check_org(ORG)
    pause_logging(directory, Journal(), ORG, "", T0)
    gate.note_committed([prepared(action=PAUSED, actor=SERVICE_ACTOR_ID)])
    with pytest.raises(LoggingPaused):
        gate.check_org(ORG)
    resume_logging(directory, Journal(), ORG, "", T0 + 1)
    gate.note_committed([prepared(action=RESUMED, actor=SERVICE_ACTOR_ID)])
    gate.check_org(ORG)


# --- the pause intervals a verifier reads back --------------------------------------------------


def body(action: str, when: int) -> bytes:
    return orjson.dumps({"action": action, "date_create": when})


def test_a_closed_pause_is_one_interval_with_both_ends() -> None:
    log = PauseLog()
    log.note(3, body(PAUSED, 1_700_000_000))
    log.note(9, body(RESUMED, 1_700_003_600))
    [finding] = log.findings()
    assert finding.severity == "info"
    assert finding.message == (
        "recording was paused from 2023-11-14T22:13:20Z (seq 3) to 2023-11-14T23:13:20Z"
        " (seq 9): events sent meanwhile were refused, not stored"
    )


def test_an_open_pause_is_reported_as_ongoing() -> None:
    log = PauseLog()
    log.note(3, body(PAUSED, 1_700_000_000))
    assert [f.message for f in log.findings()] == [
        "recording is paused since 2023-11-14T22:13:20Z (seq 3)"
    ]


def test_a_resume_without_a_pause_and_a_second_pause_are_ignored() -> None:
    log = PauseLog()
    log.note(1, body(RESUMED, T0))
    log.note(2, body(PAUSED, T0 + 10))
    log.note(3, body(PAUSED, T0 + 20))
    log.note(4, body(RESUMED, T0 + 30))
    [finding] = log.findings()
    assert "(seq 2)" in finding.message
    assert "(seq 4)" in finding.message


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"action": "audit_logging_paused", "date_create": "soon"}'],
)
def test_unreadable_pause_events_are_skipped(raw: bytes) -> None:
    log = PauseLog()
    log.note(1, raw)
    assert log.findings() == []


def test_several_pauses_are_listed_in_order() -> None:
    log = PauseLog()
    for seq, action in enumerate([PAUSED, RESUMED, PAUSED, RESUMED, PAUSED]):
        log.note(seq, body(action, T0 + seq))
    messages = [f.message for f in log.findings()]
    assert [m.split(" (seq ")[1][0] for m in messages] == ["0", "2", "4"]
    assert messages[-1].startswith("recording is paused since")


# --- tiles --------------------------------------------------------------------------------------


def leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(b"event %d" % i) for i in range(count)]


@pytest.mark.parametrize(
    ("level", "index", "expected"), [(0, 0, (0, 16)), (0, 17, (16, 32)), (2, 5, (16, 32))]
)
def test_a_low_node_lies_in_the_tile_of_its_first_leaf(
    level: int, index: int, expected: tuple[int, int]
) -> None:
    node = NodeID(level, index)
    assert not is_stored(node)
    assert tile_of(node) == expected


def test_nodes_of_a_whole_tile_and_above_are_stored() -> None:
    assert is_stored(NodeID(4, 0))
    assert is_stored(NodeID(9, 3))
    assert not is_stored(NodeID(3, 99))


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=30))
def test_appending_in_two_steps_keeps_the_same_nodes_as_in_one(first: int, more: int) -> None:
    hashes = leaves(first + more)
    once = advance_tree_leaves(None, hashes, 0)
    step = advance_tree_leaves(None, hashes[:first], 0)
    then = advance_tree_leaves(step.frontier, hashes[first:], first)
    assert then.frontier == once.frontier
    assert step.nodes + then.nodes == once.nodes
    assert all(level >= 4 for level, _, _ in once.nodes)
    assert len(once.nodes) == sum((first + more) >> h for h in range(4, 7))


def test_advancing_from_bodies_equals_advancing_from_their_leaf_hashes() -> None:
    bodies = [b"event %d" % i for i in range(20)]
    assert advance_tree(None, bodies, 0) == advance_tree_leaves(None, leaves(20), 0)


def test_a_frontier_that_disagrees_with_the_log_is_refused() -> None:
    frontier = advance_tree_leaves(None, leaves(5), 0).frontier
    with pytest.raises(TreeStateError, match="tree has 5 leaves but the log has 6 events"):
        advance_tree_leaves(frontier, leaves(1), 6)
    with pytest.raises(TreeStateError, match="tree has 0 leaves but the log has 1 events"):
        advance_tree(None, [b"x"], 1)


def test_a_subtree_from_leaves_is_the_rfc_6962_hash_of_its_range() -> None:
    hashes = leaves(16)
    node = NodeID(2, 1)  # leaves [4, 8)
    assert subtree_from_leaves(node, hashes, 0) == merkle.root_hash(hashes[4:8])
    assert subtree_from_leaves(node, hashes[4:], 4) == merkle.root_hash(hashes[4:8])


def test_a_subtree_whose_leaves_are_not_all_there_is_missing() -> None:
    with pytest.raises(MissingNodeError, match=r"leaves \[4, 8\) are not all available"):
        subtree_from_leaves(NodeID(2, 1), leaves(6), 0)


def test_resolving_reads_each_tile_once_and_takes_stored_nodes_as_given() -> None:
    hashes = leaves(40)
    reads: list[tuple[int, int]] = []

    def read_leaves(begin: int, end: int) -> list[bytes]:
        reads.append((begin, end))
        return hashes[begin:end]

    high = NodeID(4, 1)
    needed = [NodeID(0, 3), NodeID(1, 5), NodeID(2, 9), high]
    resolved = resolve_nodes(needed, {high: b"h" * 32}, read_leaves)
    assert reads == [(0, 16), (32, 48)]
    assert resolved[high] == b"h" * 32
    assert resolved[NodeID(0, 3)] == hashes[3]
    assert resolved[NodeID(2, 9)] == merkle.root_hash(hashes[36:40])


def test_a_stored_node_the_store_lacks_is_missing() -> None:
    with pytest.raises(MissingNodeError, match=r"stored node \(level 5, index 0\) is missing"):
        resolve_nodes([NodeID(5, 0)], {}, lambda begin, end: [])


def test_a_low_node_past_the_end_of_the_log_is_missing() -> None:
    with pytest.raises(MissingNodeError):
        resolve_nodes([NodeID(1, 10)], {}, lambda begin, end: leaves(18)[begin:end])


@given(st.integers(min_value=1, max_value=200))
def test_the_frontier_nodes_fold_to_the_root(size: int) -> None:
    hashes = leaves(size)
    nodes = frontier_nodes(size)
    assert nodes[0].begin == 0
    assert nodes[-1].end == size
    values = [merkle.root_hash(hashes[n.begin : n.end]) for n in nodes]
    assert merkle.fold_subtrees(values) == merkle.root_hash(hashes)
    assert TILE_WIDTH == 16
