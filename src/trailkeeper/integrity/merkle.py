"""RFC 6962 Merkle tree hashing, proofs and the incremental frontier for an append-only log.

Pure functions over 32-byte SHA-256 hashes; no I/O. One tree per organization: leaf `i` is
`leaf_hash(canonical bytes of the event with sequence i)`. Generation follows RFC 6962 §2.1,
verification RFC 9162 §2.1.3.2 / §2.1.4.2 (modelled on sigstore-python's `_internal/merkle.py`).

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

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from trailkeeper.integrity.errors import (
    ConsistencyProofError,
    InclusionProofError,
    MissingNodeError,
    ProofError,
    TreeArgumentError,
    TreeStateError,
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

HASH_SIZE = 32
# RFC 6962 §2.1: domain separation between leaves and interior nodes (second-preimage defence).
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# RFC 6962 §2.1: "The hash of an empty list is the hash of an empty string: MTH({}) = SHA-256()".
EMPTY_ROOT = hashlib.sha256(b"").digest()

_FRONTIER_VERSION = 1
_FRONTIER_HEADER = 1 + 8  # version byte + uint64 tree size
_MAX_TREE_SIZE = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------
# Hashing (RFC 6962 §2.1)
# ---------------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """MTH({d0}) = SHA-256(0x00 || d0) — the hash of one leaf's stored bytes (RFC 6962 §2.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || MTH(left) || MTH(right)) — an interior node (RFC 6962 §2.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """RFC 6962 §2.1: "k is the largest power of two smaller than n (i.e., k < n <= 2k)"."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise TreeArgumentError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_hashes(values: Sequence[bytes], what: str) -> None:
    for position, value in enumerate(values):
        if len(value) != HASH_SIZE:
            raise TreeArgumentError(
                f"{what}[{position}] must be {HASH_SIZE} bytes, got {len(value)}"
                " (pass leaf hashes, not event bytes)"
            )


def _mth(hashes: Sequence[bytes], begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) over leaf hashes, bottom-up.

    Pairing neighbours level by level and promoting an odd last node unchanged is the same
    function as RFC 6962's recursive split at the largest power of two below n.
    """
    level = list(hashes[begin:end])
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of a whole tree given its leaf hashes (RFC 6962 §2.1); EMPTY_ROOT if n = 0."""
    _check_hashes(leaf_hashes, "leaf_hashes")
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def subtree_hash(leaf_hashes: Sequence[bytes], begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) for any range of leaf hashes (the hash of any RFC 6962 subtree)."""
    if not 0 <= begin <= end <= len(leaf_hashes):
        raise TreeArgumentError(f"range [{begin}, {end}) is outside {len(leaf_hashes)} leaves")
    _check_hashes(leaf_hashes[begin:end], "leaf_hashes")
    return _mth(leaf_hashes, begin, end)


# ---------------------------------------------------------------------------------------------
# Direct proof generation from leaf hashes (RFC 6962 §2.1.1 PATH, §2.1.2 PROOF) — O(n)
# ---------------------------------------------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for n = len(leaf_hashes), ordered leaf-sibling first (RFC 6962 §2.1.1)."""
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise TreeArgumentError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes(leaf_hashes, "leaf_hashes")
    return _path(leaf_hashes, index, 0, size)


def _path(leaves: Sequence[bytes], m: int, begin: int, end: int) -> list[bytes]:
    # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      for m < k
    # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])  for m >= k
    if end - begin == 1:
        return []
    mid = begin + _largest_power_of_two_below(end - begin)
    if m < mid:
        return [*_path(leaves, m, begin, mid), _mth(leaves, mid, end)]
    return [*_path(leaves, m, mid, end), _mth(leaves, begin, mid)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) over the first new_size leaf hashes (RFC 6962 §2.1.2).

    Empty when old_size is 0 or equal to new_size (nothing to prove beyond the roots).
    """
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise TreeArgumentError(
            f"need 0 <= old_size ({old_size}) <= new_size ({new_size}) <= {len(leaf_hashes)}"
        )
    _check_hashes(leaf_hashes[:new_size], "leaf_hashes")
    if old_size == 0:
        return []
    return _subproof(leaf_hashes, old_size, 0, new_size, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, begin: int, end: int, complete: bool) -> list[bytes]:
    # SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
    # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          for m <= k
    # SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  for m > k
    if m == end - begin:
        return [] if complete else [_mth(leaves, begin, end)]
    k = _largest_power_of_two_below(end - begin)
    if m <= k:
        return [*_subproof(leaves, m, begin, begin + k, complete), _mth(leaves, begin + k, end)]
    return [*_subproof(leaves, m - k, begin + k, end, False), _mth(leaves, begin, begin + k)]


# ---------------------------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
# ---------------------------------------------------------------------------------------------


def _require_hash(value: bytes, what: str, error: type[ProofError]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _require_proof_hashes(proof: Sequence[bytes], error: type[ProofError]) -> None:
    for position, value in enumerate(proof):
        _require_hash(value, f"proof[{position}]", error)


def _inclusion_proof_length(index: int, size: int) -> int:
    """Hashes in PATH(index, D[size]): levels below where the paths to index and size-1 split
    ("inner", siblings on both sides) plus the left siblings above it ("border")."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    """Hashes in PROOF(old_size, D[new_size]) for 0 < old_size < new_size."""
    shift = (old_size & -old_size).bit_length() - 1  # trailing zero bits of old_size
    inner = (((old_size - 1) ^ (new_size - 1)).bit_length()) - shift
    border = ((old_size - 1) >> (inner + shift)).bit_count()
    seed = 0 if old_size == 1 << shift else 1  # old root is itself a node of the new tree
    return seed + inner + border


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4); checks its shape."""
    _require_hash(leaf_hash, "leaf hash", InclusionProofError)
    _require_proof_hashes(proof, InclusionProofError)
    if index < 0 or tree_size < 0:
        raise InclusionProofError(f"negative leaf index {index} or tree size {tree_size}")
    if index >= tree_size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    expected = _inclusion_proof_length(index, tree_size)
    if len(proof) != expected:
        raise InclusionProofError(
            f"wrong inclusion proof length for leaf {index} of {tree_size}: "
            f"expected {expected} hashes, got {len(proof)}"
        )
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:  # step 4a (unreachable after the length check; kept as in the RFC)
            raise InclusionProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # step 4b: p is a left sibling
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:  # skip levels where the node has no right sibling
                fn, sn = fn >> 1, sn >> 1
        else:  # p is a right sibling
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:  # step 5 (likewise guarded by the length check)
        raise InclusionProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise InclusionProofError unless `proof` shows leaf `index` of tree `tree_size`, whose
    root is `root`, has hash `leaf_hash` (RFC 9162 §2.1.3.2)."""
    _require_hash(root, "root hash", InclusionProofError)
    calculated = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if calculated != root:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of {tree_size} leads to root {calculated.hex()},"
            f" expected {root.hex()}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ConsistencyProofError unless `proof` shows the tree (old_size, old_root) is a
    prefix of (new_size, new_root) (RFC 9162 §2.1.4.2).

    Both roots are checked — the immudb CVE-2022-36111 bug was skipping part of this check.
    For old_size 0 the proof must be empty and old_root must be EMPTY_ROOT; for equal sizes
    the proof must be empty and the roots equal (two roots for one size is a split view).
    """
    _require_hash(old_root, "old root", ConsistencyProofError)
    _require_hash(new_root, "new root", ConsistencyProofError)
    _require_proof_hashes(proof, ConsistencyProofError)
    if old_size < 0 or new_size < old_size:
        raise ConsistencyProofError(
            f"tree sizes must satisfy 0 <= old ({old_size}) <= new ({new_size})"
        )
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    expected = _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"wrong consistency proof length for {old_size} -> {new_size}: "
            f"expected {expected} hashes, got {len(proof)}"
        )
    old_calculated, new_calculated = _consistency_roots(old_size, new_size, old_root, proof)
    if old_calculated != old_root:
        raise ConsistencyProofError(
            f"consistency proof {old_size} -> {new_size} leads to old root"
            f" {old_calculated.hex()}, expected {old_root.hex()}"
        )
    if new_calculated != new_root:
        raise ConsistencyProofError(
            f"consistency proof {old_size} -> {new_size} leads to new root"
            f" {new_calculated.hex()}, expected {new_root.hex()}"
        )


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    if proof:
        raise ConsistencyProofError(
            f"consistency proof {old_size} -> {new_size} must be empty, got {len(proof)} hashes"
        )
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ConsistencyProofError("the root of an empty tree must be SHA-256 of nothing")
    if old_size == new_size and old_root != new_root:
        raise ConsistencyProofError(
            f"two different roots for tree size {new_size}: {old_root.hex()} and"
            f" {new_root.hex()} (split view)"
        )


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-6: rebuild (old root, new root) from a consistency proof."""
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)  # step 2
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a (unreachable after the length check; kept as in the RFC)
            raise ConsistencyProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:  # 6b
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c
    if sn != 0:  # step 7 (likewise guarded by the length check)
        raise ConsistencyProofError("consistency proof is shorter than the path to the root")
    return fr, sr


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
        mid = begin + _largest_power_of_two_below(end - begin)
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
        mid = begin + _largest_power_of_two_below(end - begin)
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


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """MTH of adjacent perfect subtrees given left to right with non-increasing sizes.

    RFC 6962 splits at the largest power of two, so the fold is right-to-left:
    h0 · (h1 · (… · hk)). Empty input gives EMPTY_ROOT.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


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
        _check_hashes(leaves, "leaves")
        result[node] = _mth(leaves, 0, len(leaves))
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
        _check_hash(leaf_hash, "leaf hash")
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
