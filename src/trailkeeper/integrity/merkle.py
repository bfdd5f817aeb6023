"""RFC 6962 Merkle trees of an append-only log: the stored-subtree scheme and the frontier.

Pure functions over 32-byte SHA-256 hashes; no I/O. One tree per organization: leaf `i` is
`leaf_hash(canonical bytes of the event with sequence i)`. Tree hashing (RFC 6962 §2.1) lives in
`treehash`, proofs from leaf hashes and their verification (RFC 9162 §2.1.3.2 / §2.1.4.2) in
`proofs`; this module re-exports both, so `from trailkeeper.integrity.merkle import …` covers all.

Storage scheme for fast proofs (what a store should implement)
--------------------------------------------------------------
Every *complete* perfect subtree is named by `NodeID(level, index)`: it covers leaves
`[index * 2**level, (index + 1) * 2**level)`; level 0 is the leaf hashes themselves. In an
append-only tree such a node, once complete, never changes, so a store keeps an insert-only table

    merkle_node(org_id, level, idx, hash BYTEA(32), PRIMARY KEY (org_id, level, idx))

and, per organization, the serialized frontier (`CompactRange.to_bytes()`, ≤ 9 + 64*32 bytes).
Appending leaf `n`: `CompactRange.append(h)` returns exactly the nodes that became complete
(`completed_nodes(n)`: `(0, n)` plus one node per trailing 1-bit of `n`, ~2 on average), which
are inserted in the same transaction as the event; nothing is re-read. Total ~2 rows per event.

A proof for any tree size `s` ≤ current size (so historical checkpoints work too) needs only
nodes complete at `s`: `inclusion_plan(i, s)` / `consistency_plan(m, s)` / `root_nodes(s)`
list them (≤ 2·log2(s) ids), the store fetches them in one query (`required_nodes(plan)`),
and `resolve_plan(plan, fetched)` assembles the proof (a few hashes to fold the one right-edge
subtree that is not perfect). A store without the table can use `nodes_from_leaves` (O(n)).

Serve the leaf hash recomputed from the event bytes being served, never the stored level-0 row:
otherwise an edited event would still "verify" (cf. immudb#2063, peers.md §1.9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from trailkeeper.integrity.errors import MissingNodeError, TreeArgumentError, TreeStateError
from trailkeeper.integrity.proofs import (
    consistency_proof,
    inclusion_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from trailkeeper.integrity.treehash import (
    EMPTY_ROOT,
    HASH_SIZE,
    check_hash,
    check_hashes,
    fold_subtrees,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_hash,
    subtree_hash,
    subtree_root,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeID",
    "NodeSource",
    "ProofPlan",
    "ProofStep",
    "TreeState",
    "completed_nodes",
    "consistency_plan",
    "consistency_proof",
    "consistency_proof_from_nodes",
    "fold_subtrees",
    "inclusion_plan",
    "inclusion_proof",
    "inclusion_proof_from_nodes",
    "leaf_hash",
    "node_hash",
    "node_table",
    "nodes_from_leaves",
    "range_nodes",
    "required_nodes",
    "resolve_plan",
    "root_from_inclusion_proof",
    "root_from_nodes",
    "root_hash",
    "root_nodes",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

_FRONTIER_VERSION = 1
_FRONTIER_HEADER = 1 + 8  # version byte + uint64 tree size
_MAX_TREE_SIZE = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------
# Stored-node scheme: which complete subtrees a proof needs (pure, O(log n))
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class NodeID:
    """A perfect subtree: `level` (0 = leaf) and its `index` among nodes of that level."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        """First leaf covered."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf covered."""
        return (self.index + 1) << self.level


ProofStep: TypeAlias = tuple[NodeID, ...]
"""One proof hash: MTH of these adjacent perfect subtrees, left to right (usually just one)."""

ProofPlan: TypeAlias = tuple[ProofStep, ...]
"""The proof, hash by hash in proof order, as the stored nodes each hash is made of."""


def completed_nodes(leaf_index: int) -> tuple[NodeID, ...]:
    """Nodes that become complete when leaf `leaf_index` is appended, bottom-up.

    `(0, n)`, then its parent while the child just completed is a right child (a 1-bit of n).
    """
    if leaf_index < 0:
        raise TreeArgumentError(f"negative leaf index {leaf_index}")
    nodes = [NodeID(0, leaf_index)]
    level, index = 0, leaf_index
    while index & 1:
        level, index = level + 1, index >> 1
        nodes.append(NodeID(level, index))
    return tuple(nodes)


def range_nodes(begin: int, end: int) -> tuple[NodeID, ...]:
    """The perfect subtrees, left to right, whose fold is MTH(D[begin:end]).

    `begin` must be a multiple of the smallest power of two ≥ end - begin, which holds for
    every subtree RFC 6962's recursion visits (and for [0, n)). Empty for an empty range.
    """
    if not 0 <= begin <= end:
        raise TreeArgumentError(f"bad range [{begin}, {end})")
    width = end - begin
    if width and begin % (1 << (width - 1).bit_length()):
        raise TreeArgumentError(f"range [{begin}, {end}) is not an RFC 6962 subtree")
    nodes = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        nodes.append(NodeID(level, begin >> level))
        begin += 1 << level
    return tuple(nodes)


def root_nodes(size: int) -> tuple[NodeID, ...]:
    """The complete subtrees whose fold is the root of a tree of `size` leaves (the frontier)."""
    return range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Nodes making up PATH(index, D[size]) (RFC 6962 §2.1.1), in proof order (bottom-up)."""
    if not 0 <= index < size:
        raise TreeArgumentError(f"leaf index {index} is outside a tree of size {size}")
    ranges = []
    begin, end = 0, size
    while end - begin > 1:  # walk down from the root, noting the sibling subtree at each level
        mid = begin + largest_power_of_two_below(end - begin)
        if index < mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((begin, mid))
            begin = mid
    return tuple(range_nodes(b, e) for b, e in reversed(ranges))


def consistency_plan(old_size: int, new_size: int) -> ProofPlan:
    """Nodes making up PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2), in proof order."""
    if not 0 <= old_size <= new_size:
        raise TreeArgumentError(f"need 0 <= old_size ({old_size}) <= new_size ({new_size})")
    if old_size in (0, new_size):
        return ()
    ranges = []
    begin, end, m, complete = 0, new_size, old_size, True
    while m != end - begin:  # SUBPROOF(m, D[begin:end], complete), walked top-down
        mid = begin + largest_power_of_two_below(end - begin)
        if m <= mid - begin:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((begin, mid))
            m, begin, complete = m - (mid - begin), mid, False
    if not complete:
        ranges.append((begin, end))
    return tuple(range_nodes(b, e) for b, e in reversed(ranges))


def required_nodes(plan: Iterable[ProofStep]) -> list[NodeID]:
    """Distinct node ids a plan (or several plans' steps) reads, sorted — one batch fetch."""
    return sorted({node for step in plan for node in step})


NodeSource: TypeAlias = Mapping[NodeID, bytes] | Callable[[NodeID], bytes]
"""Stored complete-subtree hashes: a mapping (e.g. one batch query's rows) or a lookup."""


def _lookup(nodes: NodeSource, node: NodeID) -> bytes:
    try:
        value = nodes[node] if isinstance(nodes, Mapping) else nodes(node)
    except LookupError as exc:
        raise MissingNodeError(
            f"stored node (level {node.level}, index {node.index}) is missing"
        ) from exc
    if len(value) != HASH_SIZE:
        raise MissingNodeError(
            f"stored node (level {node.level}, index {node.index}) is {len(value)} bytes, not 32"
        )
    return value


def resolve_plan(plan: ProofPlan, nodes: NodeSource) -> list[bytes]:
    """Turn a plan into proof hashes using stored complete-subtree hashes."""
    return [fold_subtrees([_lookup(nodes, node) for node in step]) for step in plan]


def inclusion_proof_from_nodes(index: int, size: int, nodes: NodeSource) -> list[bytes]:
    """Inclusion proof for leaf `index` in the tree of `size` leaves, from stored nodes."""
    return resolve_plan(inclusion_plan(index, size), nodes)


def consistency_proof_from_nodes(old_size: int, new_size: int, nodes: NodeSource) -> list[bytes]:
    """Consistency proof old_size -> new_size, from stored nodes."""
    return resolve_plan(consistency_plan(old_size, new_size), nodes)


def root_from_nodes(size: int, nodes: NodeSource) -> bytes:
    """Root hash of the tree of `size` leaves (any historical size), from stored nodes."""
    return fold_subtrees([_lookup(nodes, node) for node in root_nodes(size)])


def nodes_from_leaves(
    node_ids: Iterable[NodeID], read_leaves: Callable[[int, int], Sequence[bytes]]
) -> dict[NodeID, bytes]:
    """Compute node hashes from leaf hashes read by range `read_leaves(begin, end)` — the O(n)
    fallback for a store that keeps no node table (returns a mapping for `resolve_plan`)."""
    result: dict[NodeID, bytes] = {}
    for node in node_ids:
        leaves = read_leaves(node.begin, node.end)
        if len(leaves) != node.end - node.begin:
            raise MissingNodeError(f"leaves [{node.begin}, {node.end}) are not all available")
        check_hashes(leaves, "leaves")
        result[node] = subtree_root(leaves, 0, len(leaves))
    return result


def node_table(leaf_hashes: Iterable[bytes]) -> dict[NodeID, bytes]:
    """Every complete-subtree hash of a tree — what a store's node table holds (backfill/tests)."""
    frontier = CompactRange()
    table: dict[NodeID, bytes] = {}
    for value in leaf_hashes:
        table.update(frontier.append(value))
    return table


# ---------------------------------------------------------------------------------------------
# The frontier (compact range [0, n)): O(log n) state, O(1) amortized append
# ---------------------------------------------------------------------------------------------


class CompactRange:
    """Right-edge perfect-subtree hashes of a tree of `size` leaves (Trillian's compact range).

    Holds one hash per 1-bit of `size`, largest subtree first (`root_nodes(size)`); `append`
    merges equal-sized neighbours and reports the nodes it completed so a store can keep them.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if not 0 <= size <= _MAX_TREE_SIZE:
            raise TreeStateError(f"tree size {size} out of range")
        if len(hashes) != size.bit_count():
            raise TreeStateError(
                f"a tree of size {size} has {size.bit_count()} frontier hashes, got {len(hashes)}"
            )
        for value in hashes:
            if len(value) != HASH_SIZE:
                raise TreeStateError(f"frontier hash of {len(value)} bytes, expected {HASH_SIZE}")
        self._size = size
        self._hashes = [bytes(value) for value in hashes]

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Frontier hashes, aligned with `self.nodes()`."""
        return tuple(self._hashes)

    def nodes(self) -> tuple[NodeID, ...]:
        """Ids of the frontier's subtrees, left to right."""
        return root_nodes(self._size)

    def append(self, leaf_hash: bytes) -> list[tuple[NodeID, bytes]]:
        """Add the next leaf; return the (node, hash) pairs completed by it, bottom-up."""
        check_hash(leaf_hash, "leaf hash")
        if self._size == _MAX_TREE_SIZE:
            raise TreeStateError("tree is full")
        level, index, current = 0, self._size, leaf_hash
        completed = [(NodeID(0, index), current)]
        while index & 1:  # a right child completes its parent with the frontier's last hash
            current = node_hash(self._hashes.pop(), current)
            level, index = level + 1, index >> 1
            completed.append((NodeID(level, index), current))
        self._hashes.append(current)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[NodeID, bytes]]:
        """Append several leaves; return every node completed, in completion order."""
        completed: list[tuple[NodeID, bytes]] = []
        for value in leaf_hashes:
            completed.extend(self.append(value))
        return completed

    def root(self) -> bytes:
        """MTH of the whole tree so far (EMPTY_ROOT when empty)."""
        return fold_subtrees(self._hashes)

    def copy(self) -> CompactRange:
        """An independent copy (e.g. to try an append before committing it)."""
        return CompactRange(self._size, self._hashes)

    def to_bytes(self) -> bytes:
        """Version byte 0x01 || uint64 big-endian size || frontier hashes (32 bytes each)."""
        header = bytes([_FRONTIER_VERSION]) + self._size.to_bytes(8, "big")
        return header + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Inverse of `to_bytes`; raises TreeStateError on any malformation."""
        if len(data) < _FRONTIER_HEADER or data[0] != _FRONTIER_VERSION:
            raise TreeStateError("not a serialized frontier (bad length or version byte)")
        size = int.from_bytes(data[1:_FRONTIER_HEADER], "big")
        body = data[_FRONTIER_HEADER:]
        if len(body) != size.bit_count() * HASH_SIZE:
            raise TreeStateError(
                f"frontier for size {size} needs {size.bit_count() * HASH_SIZE} hash bytes,"
                f" got {len(body)}"
            )
        hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls(size, hashes)

    @classmethod
    def from_nodes(cls, size: int, nodes: NodeSource) -> CompactRange:
        """Rebuild the frontier for `size` from a node store (e.g. after losing the state row)."""
        if size < 0:
            raise TreeArgumentError(f"negative tree size {size}")
        return cls(size, [_lookup(nodes, node) for node in root_nodes(size)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__: ClassVar[None]  # type: ignore[assignment]  # mutable, so unhashable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


TreeState = CompactRange
"""Alias: the per-organization tree state a store persists (`to_bytes`) is the frontier."""
