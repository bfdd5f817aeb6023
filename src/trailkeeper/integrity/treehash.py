"""RFC 6962 §2.1 tree hashing: leaf and node hashes, and the hash of any run of leaves. Pure.

The shared ground of `proofs` (generating and verifying audit paths) and `merkle` (the stored
subtrees and the frontier of an append-only log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from trailkeeper.integrity.errors import TreeArgumentError

HASH_SIZE = 32
# RFC 6962 §2.1: domain separation between leaves and interior nodes (second-preimage defence).
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
# RFC 6962 §2.1: "The hash of an empty list is the hash of an empty string: MTH({}) = SHA-256()".
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d0}) = SHA-256(0x00 || d0) — the hash of one leaf's stored bytes (RFC 6962 §2.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || MTH(left) || MTH(right)) — an interior node (RFC 6962 §2.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """RFC 6962 §2.1: "k is the largest power of two smaller than n (i.e., k < n <= 2k)"."""
    return 1 << ((n - 1).bit_length() - 1)


def check_hash(value: bytes, what: str) -> None:
    """Raise TreeArgumentError unless `value` is one 32-byte hash."""
    if len(value) != HASH_SIZE:
        raise TreeArgumentError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def check_hashes(values: Sequence[bytes], what: str) -> None:
    """Raise TreeArgumentError naming the first of `values` that is not a 32-byte hash."""
    for position, value in enumerate(values):
        if len(value) != HASH_SIZE:
            raise TreeArgumentError(
                f"{what}[{position}] must be {HASH_SIZE} bytes, got {len(value)}"
                " (pass leaf hashes, not event bytes)"
            )


def subtree_root(hashes: Sequence[bytes], begin: int, end: int) -> bytes:
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
    check_hashes(leaf_hashes, "leaf_hashes")
    return subtree_root(leaf_hashes, 0, len(leaf_hashes))


def subtree_hash(leaf_hashes: Sequence[bytes], begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) for any range of leaf hashes (the hash of any RFC 6962 subtree)."""
    if not 0 <= begin <= end <= len(leaf_hashes):
        raise TreeArgumentError(f"range [{begin}, {end}) is outside {len(leaf_hashes)} leaves")
    check_hashes(leaf_hashes[begin:end], "leaf_hashes")
    return subtree_root(leaf_hashes, begin, end)


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
