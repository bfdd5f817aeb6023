"""RFC 6962 proofs from leaf hashes (§2.1.1 PATH, §2.1.2 PROOF) and their verification
(RFC 9162 §2.1.3.2 inclusion, §2.1.4.2 consistency), modelled on sigstore-python's
`_internal/merkle.py`. Pure; proofs a store serves from its kept subtrees are planned in `merkle`.
"""

from __future__ import annotations

from collections.abc import Sequence

from trailkeeper.integrity.errors import (
    ConsistencyProofError,
    InclusionProofError,
    ProofError,
    TreeArgumentError,
)
from trailkeeper.integrity.treehash import (
    EMPTY_ROOT,
    HASH_SIZE,
    check_hashes,
    largest_power_of_two_below,
    node_hash,
    subtree_root,
)

# ---------------------------------------------------------------------------------------------
# Direct proof generation from leaf hashes (RFC 6962 §2.1.1 PATH, §2.1.2 PROOF) — O(n)
# ---------------------------------------------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) for n = len(leaf_hashes), ordered leaf-sibling first (RFC 6962 §2.1.1)."""
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise TreeArgumentError(f"leaf index {index} is outside a tree of size {size}")
    check_hashes(leaf_hashes, "leaf_hashes")
    return _path(leaf_hashes, index, 0, size)


def _path(leaves: Sequence[bytes], m: int, begin: int, end: int) -> list[bytes]:
    # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      for m < k
    # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])  for m >= k
    if end - begin == 1:
        return []
    mid = begin + largest_power_of_two_below(end - begin)
    if m < mid:
        return [*_path(leaves, m, begin, mid), subtree_root(leaves, mid, end)]
    return [*_path(leaves, m, mid, end), subtree_root(leaves, begin, mid)]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) over the first new_size leaf hashes (RFC 6962 §2.1.2).

    Empty when old_size is 0 or equal to new_size (nothing to prove beyond the roots).
    """
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise TreeArgumentError(
            f"need 0 <= old_size ({old_size}) <= new_size ({new_size}) <= {len(leaf_hashes)}"
        )
    check_hashes(leaf_hashes[:new_size], "leaf_hashes")
    if old_size == 0:
        return []
    return _subproof(leaf_hashes, old_size, 0, new_size, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, begin: int, end: int, complete: bool) -> list[bytes]:
    # SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
    # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          for m <= k
    # SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  for m > k
    if m == end - begin:
        return [] if complete else [subtree_root(leaves, begin, end)]
    k = largest_power_of_two_below(end - begin)
    if m <= k:
        return [
            *_subproof(leaves, m, begin, begin + k, complete),
            subtree_root(leaves, begin + k, end),
        ]
    return [
        *_subproof(leaves, m - k, begin + k, end, False),
        subtree_root(leaves, begin, begin + k),
    ]


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
