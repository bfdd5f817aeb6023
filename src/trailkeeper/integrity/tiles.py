"""Which Merkle nodes a store keeps, and how proofs get the rest back from event bytes. Pure.

A store keeps only complete subtrees of height >= TILE_HEIGHT (about one row per 8 events) plus
each organization's frontier. A proof node below that height spans at most 2**TILE_HEIGHT leaves,
and is recomputed from the stored event bytes of its tile: leaf hashes always come from the bytes
actually served, so an event edited in the database can never still verify. The one exception is
an event retention purged: its leaf hash, kept when it was deleted, stands in for its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from trailkeeper.integrity.errors import MissingNodeError, TreeStateError
from trailkeeper.integrity.merkle import CompactRange, NodeID, leaf_hash, node_hash, range_nodes

TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT

StoredNode = tuple[int, int, bytes]  # (level, index, hash)


@dataclass(frozen=True)
class TreeAdvance:
    """The outcome of appending leaves: the new frontier and the nodes a store must keep."""

    frontier: bytes
    nodes: list[StoredNode]


def is_stored(node: NodeID) -> bool:
    """Does the store keep this node (rather than recompute it from event bytes)?"""
    return node.level >= TILE_HEIGHT


def advance_tree(
    frontier: bytes | None, bodies: Iterable[bytes], expected_size: int
) -> TreeAdvance:
    """Append events (their stored bytes, in sequence order) to an organization's tree.

    `expected_size` is the organization's event count before these: a frontier that disagrees
    means the stored tree and the log have diverged, which must never be papered over.
    """
    return advance_tree_leaves(frontier, (leaf_hash(body) for body in bodies), expected_size)


def advance_tree_leaves(
    frontier: bytes | None, leaf_hashes: Iterable[bytes], expected_size: int
) -> TreeAdvance:
    """`advance_tree` from leaf hashes: how a copy rebuilds the tree over purged events, whose
    kept leaf hashes stand in for their bytes."""
    tree = CompactRange.from_bytes(frontier) if frontier else CompactRange()
    if tree.size != expected_size:
        raise TreeStateError(f"tree has {tree.size} leaves but the log has {expected_size} events")
    kept: list[StoredNode] = []
    for leaf in leaf_hashes:
        for node, value in tree.append(leaf):
            if is_stored(node):
                kept.append((node.level, node.index, value))
    return TreeAdvance(tree.to_bytes(), kept)


def tile_of(node: NodeID) -> tuple[int, int]:
    """The leaf range [begin, end) of the tile containing a node below the stored height."""
    begin = (node.begin // TILE_WIDTH) * TILE_WIDTH
    return begin, begin + TILE_WIDTH


def subtree_from_leaves(node: NodeID, leaf_hashes: Sequence[bytes], first_leaf: int) -> bytes:
    """The hash of a perfect subtree from leaf hashes that start at leaf index `first_leaf`."""
    offset = node.begin - first_leaf
    leaves = leaf_hashes[offset : offset + (node.end - node.begin)]
    if len(leaves) != node.end - node.begin:
        raise MissingNodeError(f"leaves [{node.begin}, {node.end}) are not all available")
    level_hashes = list(leaves)
    while len(level_hashes) > 1:
        pairs = range(0, len(level_hashes), 2)
        level_hashes = [node_hash(level_hashes[i], level_hashes[i + 1]) for i in pairs]
    return level_hashes[0]


def resolve_nodes(
    needed: Iterable[NodeID],
    stored: Mapping[NodeID, bytes],
    read_leaves: Callable[[int, int], Sequence[bytes]],
) -> dict[NodeID, bytes]:
    """Hashes of every needed node: stored ones as given, low ones recomputed tile by tile.

    `read_leaves(begin, end)` returns the leaf hashes of seq begin, begin+1, … (fewer at the end
    of the log or at the first leaf it cannot know): recomputed from the stored event bytes, or
    the hash kept when retention purged the event.
    """
    result: dict[NodeID, bytes] = {}
    tiles: dict[tuple[int, int], list[bytes]] = {}
    for node in needed:
        if is_stored(node):
            if node not in stored:
                raise MissingNodeError(
                    f"stored node (level {node.level}, index {node.index}) is missing"
                )
            result[node] = stored[node]
            continue
        begin, end = tile_of(node)
        if (begin, end) not in tiles:
            tiles[(begin, end)] = list(read_leaves(begin, end))
        result[node] = subtree_from_leaves(node, tiles[(begin, end)], begin)
    return result


def frontier_nodes(size: int) -> tuple[NodeID, ...]:
    """The subtrees whose fold is the root at `size` (used to compute historical roots)."""
    return range_nodes(0, size)
