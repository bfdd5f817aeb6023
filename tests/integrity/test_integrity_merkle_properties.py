"""Hypothesis properties: random trees of 1..300 leaves — every proof verifies, single mutations
fail, the frontier tracks root_hash, and stored-node proofs equal the direct algorithm's."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.integrity.errors import ConsistencyProofError, InclusionProofError
from trailkeeper.integrity.merkle import (
    CompactRange,
    NodeID,
    consistency_proof,
    consistency_proof_from_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    node_table,
    root_from_nodes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 300


@dataclass(frozen=True)
class Tree:
    leaves: list[bytes]
    roots: list[bytes]  # roots[s] = root of the first s leaves
    nodes: dict[NodeID, bytes]

    @property
    def size(self) -> int:
        return len(self.leaves)


@st.composite
def trees(draw: st.DrawFn, min_size: int = 1) -> Tree:
    size = draw(st.integers(min_value=min_size, max_value=MAX_LEAVES))
    salt = draw(st.binary(max_size=8))
    leaves = [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)]  # distinct leaves
    frontier = CompactRange()
    roots = [frontier.root()]
    for value in leaves:
        frontier.append(value)
        roots.append(frontier.root())
    return Tree(leaves, roots, node_table(leaves))


def flip_bit(value: bytes, bit: int) -> bytes:
    position, mask = (bit // 8) % len(value), 1 << (bit % 8)
    return value[:position] + bytes([value[position] ^ mask]) + value[position + 1 :]


@settings(max_examples=40, deadline=None)
@given(trees())
def test_every_inclusion_proof_verifies(tree: Tree) -> None:
    root = tree.roots[tree.size]
    for index in range(tree.size):
        proof = inclusion_proof(tree.leaves, index)
        assert inclusion_proof_from_nodes(index, tree.size, tree.nodes) == proof
        verify_inclusion(tree.leaves[index], index, tree.size, proof, root)


@settings(max_examples=40, deadline=None)
@given(trees())
def test_every_consistency_proof_to_the_head_verifies(tree: Tree) -> None:
    new = tree.size
    for old in range(new + 1):
        proof = consistency_proof(tree.leaves, old, new)
        assert consistency_proof_from_nodes(old, new, tree.nodes) == proof
        verify_consistency(old, new, tree.roots[old], tree.roots[new], proof)


@settings(max_examples=60, deadline=None)
@given(tree=trees(), data=st.data())
def test_historical_proofs_from_the_node_table(tree: Tree, data: st.DataObject) -> None:
    new = data.draw(st.integers(1, tree.size), label="new")
    old = data.draw(st.integers(0, new), label="old")
    index = data.draw(st.integers(0, new - 1), label="index")
    proof = consistency_proof_from_nodes(old, new, tree.nodes)
    assert proof == consistency_proof(tree.leaves, old, new)
    verify_consistency(old, new, tree.roots[old], tree.roots[new], proof)
    inclusion = inclusion_proof_from_nodes(index, new, tree.nodes)
    assert inclusion == inclusion_proof(tree.leaves[:new], index)
    verify_inclusion(tree.leaves[index], index, new, inclusion, tree.roots[new])
    assert root_from_nodes(new, tree.nodes) == tree.roots[new]


INCLUSION_MUTATIONS = ["leaf", "root", "proof", "index", "truncate", "extend", "insert", "drop"]


@settings(max_examples=300, deadline=None)
@given(tree=trees(), data=st.data())
def test_single_inclusion_mutation_fails(tree: Tree, data: st.DataObject) -> None:
    size = tree.size
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = tree.leaves[index], tree.roots[size]
    proof = inclusion_proof(tree.leaves, index)
    kinds = [k for k in INCLUSION_MUTATIONS if proof or k not in ("proof", "truncate", "drop")]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, max(len(proof) - 1, 0)), label="at")
    if kind == "leaf":
        leaf = flip_bit(leaf, bit)
    elif kind == "root":
        root = flip_bit(root, bit)
    elif kind == "proof":
        proof[at] = flip_bit(proof[at], bit)
    elif kind == "index":
        other = data.draw(st.integers(0, 2 * size).filter(lambda i: i != index), label="other")
        index = other
    elif kind == "truncate":
        proof = proof[:-1]
    elif kind == "extend":
        proof = [*proof, leaf_hash(bytes([bit]))]
    elif kind == "insert":
        proof.insert(at, leaf_hash(bytes([bit])))
    else:
        del proof[at]
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except InclusionProofError:
        return
    raise AssertionError(f"mutation {kind!r} was accepted")


CONSISTENCY_MUTATIONS = ["old_root", "new_root", "proof", "old_size", "truncate", "extend"]


@settings(max_examples=300, deadline=None)
@given(tree=trees(min_size=2), data=st.data())
def test_single_consistency_mutation_fails(tree: Tree, data: st.DataObject) -> None:
    new = tree.size
    old = data.draw(st.integers(1, new - 1), label="old")
    old_root, new_root = tree.roots[old], tree.roots[new]
    proof = consistency_proof(tree.leaves, old, new)
    kind = data.draw(st.sampled_from(CONSISTENCY_MUTATIONS), label="kind")
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="at")
    if kind == "old_root":
        old_root = flip_bit(old_root, bit)
    elif kind == "new_root":
        new_root = flip_bit(new_root, bit)
    elif kind == "proof":
        proof[at] = flip_bit(proof[at], bit)
    elif kind == "old_size":
        old = data.draw(st.integers(0, new).filter(lambda m: m != old), label="other")
    elif kind == "truncate":
        proof = proof[:-1]
    else:
        proof = [*proof, leaf_hash(bytes([bit]))]
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ConsistencyProofError:
        return
    raise AssertionError(f"mutation {kind!r} was accepted")


@settings(max_examples=60, deadline=None)
@given(tree=trees(min_size=2), data=st.data())
def test_forked_history_fails_consistency(tree: Tree, data: st.DataObject) -> None:
    """A log that alters any leaf below an old checkpoint cannot prove it grew from it."""
    new = tree.size
    old = data.draw(st.integers(1, new - 1), label="old")
    victim = data.draw(st.integers(0, old - 1), label="victim")
    forged = list(tree.leaves)
    forged[victim] = leaf_hash(b"forged" + forged[victim])
    proof = consistency_proof(forged, old, new)
    try:
        verify_consistency(old, new, tree.roots[old], root_hash(forged), proof)
    except ConsistencyProofError:
        return
    raise AssertionError("a forked history was accepted")


@settings(max_examples=40, deadline=None)
@given(trees())
def test_frontier_root_equals_root_hash_for_every_prefix(tree: Tree) -> None:
    frontier = CompactRange()
    for size in range(1, tree.size + 1):
        frontier.append(tree.leaves[size - 1])
        assert frontier.root() == root_hash(tree.leaves[:size]) == tree.roots[size]
        if size % 37 == 0:
            assert CompactRange.from_bytes(frontier.to_bytes()) == frontier
    assert CompactRange.from_nodes(tree.size, tree.nodes) == frontier


def test_wrong_index_or_old_size_never_verifies_up_to_32_leaves() -> None:
    """Exhaustive: a valid proof presented for any other index / old size is rejected."""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(32)]
    roots = [root_hash(leaves[:size]) for size in range(33)]
    for new in range(1, 33):
        for index in range(new):
            proof = inclusion_proof(leaves[:new], index)
            for other in (j for j in range(new + 2) if j != index):
                try:
                    verify_inclusion(leaves[index], other, new, proof, roots[new])
                except InclusionProofError:
                    continue
                raise AssertionError(f"leaf {index} proof accepted as {other} of {new}")
        for old in range(1, new):
            proof = consistency_proof(leaves, old, new)
            for other in (m for m in range(new + 1) if m != old):
                try:
                    verify_consistency(other, new, roots[old], roots[new], proof)
                except ConsistencyProofError:
                    continue
                raise AssertionError(f"{old}->{new} proof accepted as {other}->{new}")
