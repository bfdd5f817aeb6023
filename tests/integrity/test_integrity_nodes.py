"""The stored-node scheme: which (level, index) nodes proofs need and appends complete, and the
CompactRange frontier (append, root, serialization, rebuild from a node table)."""

from __future__ import annotations

import hashlib

import pytest

from trailkeeper.integrity.errors import MissingNodeError, TreeArgumentError, TreeStateError
from trailkeeper.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    NodeID,
    TreeState,
    completed_nodes,
    consistency_plan,
    consistency_proof,
    consistency_proof_from_nodes,
    fold_subtrees,
    inclusion_plan,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    node_hash,
    node_table,
    nodes_from_leaves,
    range_nodes,
    required_nodes,
    resolve_plan,
    root_from_nodes,
    root_hash,
    root_nodes,
)


def make_leaves(count: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(count)]


def n(level: int, index: int) -> NodeID:
    return NodeID(level, index)


LEAVES_64 = make_leaves(64)
NODES_64 = node_table(LEAVES_64)


# --- Pinned plans -----------------------------------------------------------------------------


def test_node_ids_cover_leaf_ranges() -> None:
    assert (n(3, 2).begin, n(3, 2).end) == (16, 24)
    assert (n(0, 5).begin, n(0, 5).end) == (5, 6)


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        (0, [n(0, 0)]),
        (1, [n(0, 1), n(1, 0)]),
        (2, [n(0, 2)]),
        (3, [n(0, 3), n(1, 1), n(2, 0)]),
        (6, [n(0, 6)]),
        (7, [n(0, 7), n(1, 3), n(2, 1), n(3, 0)]),
        (11, [n(0, 11), n(1, 5), n(2, 2)]),
    ],
)
def test_completed_nodes(leaf: int, expected: list[NodeID]) -> None:
    assert list(completed_nodes(leaf)) == expected


@pytest.mark.parametrize(
    ("begin", "end", "expected"),
    [
        (0, 0, []),
        (0, 1, [n(0, 0)]),
        (0, 7, [n(2, 0), n(1, 2), n(0, 6)]),
        (4, 7, [n(1, 2), n(0, 6)]),
        (8, 16, [n(3, 1)]),
        (0, 13, [n(3, 0), n(2, 2), n(0, 12)]),
    ],
)
def test_range_nodes(begin: int, end: int, expected: list[NodeID]) -> None:
    assert list(range_nodes(begin, end)) == expected


@pytest.mark.parametrize(("begin", "end"), [(1, 3), (2, 5), (4, 3), (-1, 2), (6, 10)])
def test_range_nodes_rejects_non_subtrees(begin: int, end: int) -> None:
    with pytest.raises(TreeArgumentError):
        range_nodes(begin, end)


def test_inclusion_plan_pinned() -> None:
    # Leaf 0 of 7: siblings [1,2), [2,4), then the right-edge subtree [4,7) = (1,2) + (0,6).
    assert inclusion_plan(0, 7) == ((n(0, 1),), (n(1, 1),), (n(1, 2), n(0, 6)))
    assert inclusion_plan(6, 7) == ((n(1, 2),), (n(2, 0),))
    assert inclusion_plan(5, 8) == ((n(0, 4),), (n(1, 3),), (n(2, 0),))
    assert inclusion_plan(0, 1) == ()


def test_consistency_plan_pinned() -> None:
    # 6 -> 8 (RFC 6962 §2.1.3's example shape): [4,6), [6,8), [0,4).
    assert consistency_plan(6, 8) == ((n(1, 2),), (n(1, 3),), (n(2, 0),))
    # 3 -> 7: leaf 2, leaf 3, [0,2), then the right-edge subtree [4,7).
    assert consistency_plan(3, 7) == ((n(0, 2),), (n(0, 3),), (n(1, 0),), (n(1, 2), n(0, 6)))
    assert consistency_plan(4, 8) == ((n(2, 1),),)
    assert consistency_plan(0, 5) == ()
    assert consistency_plan(5, 5) == ()


def test_plans_reject_impossible_requests() -> None:
    for index, size in [(7, 7), (-1, 3), (0, 0)]:
        with pytest.raises(TreeArgumentError):
            inclusion_plan(index, size)
    for old, new in [(5, 4), (-1, 3)]:
        with pytest.raises(TreeArgumentError):
            consistency_plan(old, new)
    with pytest.raises(TreeArgumentError):
        completed_nodes(-1)


def test_required_nodes_is_a_sorted_batch() -> None:
    plan = inclusion_plan(0, 7) + consistency_plan(3, 7)
    ids = required_nodes(plan)
    assert ids == sorted(set(ids))
    assert set(ids) == {node for step in plan for node in step}


# --- Exhaustive agreement with the direct algorithm -------------------------------------------


def test_every_proof_up_to_64_leaves_matches_the_direct_algorithm() -> None:
    for size in range(1, 65):
        for index in range(size):
            direct = inclusion_proof(LEAVES_64[:size], index)
            assert inclusion_proof_from_nodes(index, size, NODES_64) == direct
        for old in range(size + 1):
            direct = consistency_proof(LEAVES_64, old, size)
            assert consistency_proof_from_nodes(old, size, NODES_64) == direct
        assert root_from_nodes(size, NODES_64) == root_hash(LEAVES_64[:size])


def test_plans_only_need_nodes_complete_at_that_size() -> None:
    for size in range(1, 65):
        for index in range(size):
            assert all(node.end <= size for node in required_nodes(inclusion_plan(index, size)))
        for old in range(size + 1):
            assert all(node.end <= size for node in required_nodes(consistency_plan(old, size)))


def test_completed_nodes_build_exactly_the_complete_subtrees() -> None:
    seen: set[NodeID] = set()
    for size in range(1, 65):
        seen.update(completed_nodes(size - 1))
        expected = {
            NodeID(level, index)
            for level in range(7)
            for index in range(size >> level)  # every node with end <= size
        }
        assert seen == expected
        assert len(seen) == 2 * size - size.bit_count()
    assert set(NODES_64) == seen


def test_plan_size_is_logarithmic_at_a_million_leaves() -> None:
    size = 1_000_000
    for index in (0, 1, 524_287, 524_288, 999_999):
        plan = inclusion_plan(index, size)
        assert len(plan) <= 20
        assert len(required_nodes(plan)) <= 2 * 20
        assert all(node.end <= size for node in required_nodes(plan))
    assert len(required_nodes(consistency_plan(999_983, size))) <= 2 * 20


# --- Node sources -----------------------------------------------------------------------------


def test_missing_node_is_reported() -> None:
    partial = dict(NODES_64)
    del partial[NodeID(1, 1)]
    with pytest.raises(MissingNodeError, match="level 1, index 1"):
        inclusion_proof_from_nodes(0, 8, partial)
    corrupt = dict(NODES_64)
    corrupt[NodeID(1, 1)] = b"short"
    with pytest.raises(MissingNodeError):
        inclusion_proof_from_nodes(0, 8, corrupt)


def test_callable_node_source() -> None:
    assert inclusion_proof_from_nodes(5, 13, NODES_64.__getitem__) == inclusion_proof(
        LEAVES_64[:13], 5
    )


def test_leaf_range_fallback_gives_the_same_proofs() -> None:
    def read(begin: int, end: int) -> list[bytes]:
        return LEAVES_64[begin:end]

    plan = inclusion_plan(9, 27)
    nodes = nodes_from_leaves(required_nodes(plan), read)
    assert resolve_plan(plan, nodes) == inclusion_proof(LEAVES_64[:27], 9)
    with pytest.raises(MissingNodeError):
        nodes_from_leaves([NodeID(7, 0)], read)  # 128 leaves needed, 64 exist


def test_fold_subtrees() -> None:
    a, b, c = make_leaves(3)
    assert fold_subtrees([]) == EMPTY_ROOT
    assert fold_subtrees([a]) == a
    assert fold_subtrees([a, b, c]) == node_hash(a, node_hash(b, c))


# --- CompactRange -----------------------------------------------------------------------------


def test_append_reports_completed_nodes_with_their_hashes() -> None:
    frontier = CompactRange()
    table: dict[NodeID, bytes] = {}
    for index, value in enumerate(LEAVES_64):
        completed = frontier.append(value)
        assert [node for node, _ in completed] == list(completed_nodes(index))
        table.update(completed)
        assert frontier.size == index + 1
        assert frontier.nodes() == root_nodes(index + 1)
        assert frontier.hashes == tuple(table[node] for node in frontier.nodes())
    assert table == NODES_64


def test_frontier_root_for_every_prefix() -> None:
    frontier = TreeState()
    assert frontier.root() == EMPTY_ROOT
    for size in range(1, 65):
        frontier.append(LEAVES_64[size - 1])
        assert frontier.root() == root_hash(LEAVES_64[:size])


def test_serialization_round_trip() -> None:
    for size in (0, 1, 2, 7, 8, 63, 64):
        frontier = CompactRange()
        frontier.extend(LEAVES_64[:size])
        data = frontier.to_bytes()
        assert len(data) == 9 + 32 * size.bit_count()
        assert CompactRange.from_bytes(data) == frontier
        assert CompactRange.from_nodes(size, NODES_64) == frontier


def test_serialization_is_pinned() -> None:
    frontier = CompactRange()
    frontier.extend(LEAVES_64[:3])
    expected = (
        b"\x01" + (3).to_bytes(8, "big") + node_hash(LEAVES_64[0], LEAVES_64[1]) + LEAVES_64[2]
    )
    assert frontier.to_bytes() == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01" + bytes(7),  # short header
        b"\x02" + bytes(8),  # unknown version
        b"\x01" + (1).to_bytes(8, "big"),  # size 1 needs one hash
        b"\x01" + (0).to_bytes(8, "big") + bytes(32),  # size 0 has no hashes
        b"\x01" + (3).to_bytes(8, "big") + bytes(63),  # truncated hash
    ],
)
def test_malformed_serialization_is_refused(data: bytes) -> None:
    with pytest.raises(TreeStateError):
        CompactRange.from_bytes(data)


def test_constructor_validates_shape() -> None:
    with pytest.raises(TreeStateError):
        CompactRange(3, [bytes(32)])
    with pytest.raises(TreeStateError):
        CompactRange(1, [bytes(31)])
    with pytest.raises(TreeStateError):
        CompactRange(-1)


def test_append_refuses_non_hashes() -> None:
    with pytest.raises(TreeArgumentError):
        CompactRange().append(b"raw event bytes")


def test_copy_is_independent() -> None:
    frontier = CompactRange()
    frontier.extend(LEAVES_64[:5])
    trial = frontier.copy()
    trial.append(hashlib.sha256(b"x").digest())
    assert frontier.size == 5
    assert trial.size == 6
    assert frontier != trial
    assert "size=5" in repr(frontier)
