"""Pinned RFC 6962 vectors (the CT / transparency-dev reference tree) and must-fail mutations.

The leaves, roots and the first proofs of each table are the public reference vectors used by
certificate-transparency and transparency-dev/merkle (`proof/verify_test.go`); the rest were
produced here and cross-checked against the literal recursive RFC definitions below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest

from trailkeeper.integrity.errors import (
    ConsistencyProofError,
    InclusionProofError,
    ProofError,
    TreeArgumentError,
)
from trailkeeper.integrity.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    consistency_proof_from_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    node_hash,
    node_table,
    root_from_inclusion_proof,
    root_from_nodes,
    root_hash,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]

LEAF_HASHES_HEX = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]

# ROOTS_HEX[n] = MTH of the first n leaves.
ROOTS_HEX = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (leaf index, tree size, proof) — 0-based index.
INCLUSION_VECTORS: list[tuple[int, int, list[str]]] = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        3,
        7,
        [
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
        ],
    ),
    (4, 5, ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (
        2,
        6,
        [
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        ],
    ),
]

# (old size, new size, proof).
CONSISTENCY_VECTORS: list[tuple[int, int, list[str]]] = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        3,
        7,
        [
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
        ],
    ),
    (4, 7, ["837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"]),
    (4, 8, ["6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        7,
        8,
        [
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (1, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
]

LEAF_HASHES = [bytes.fromhex(h) for h in LEAF_HASHES_HEX]
ROOTS = [bytes.fromhex(h) for h in ROOTS_HEX]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
NODES = node_table(LEAF_HASHES)


def unhex(proof: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in proof]


def flip(value: bytes, position: int = 0, mask: int = 0x08) -> bytes:
    return value[:position] + bytes([value[position] ^ mask]) + value[position + 1 :]


# --- The RFC 6962 §2.1 definitions, literally, as an independent oracle ----------------------


def ref_mth(data: Sequence[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:])).digest()


def ref_path(m: int, data: Sequence[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def ref_subproof(m: int, data: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if b else [ref_mth(data)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, data[:k], b), ref_mth(data[k:])]
    return [*ref_subproof(m - k, data[k:], False), ref_mth(data[:k])]


# --- Hashing and roots ------------------------------------------------------------------------


def test_leaf_and_node_hash_domain_separation() -> None:
    assert [leaf_hash(leaf) for leaf in LEAVES] == LEAF_HASHES
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_prefix(size: int) -> None:
    assert root_hash(LEAF_HASHES[:size]) == ROOTS[size]
    assert ref_mth(LEAVES[:size]) == ROOTS[size]
    frontier = CompactRange()
    frontier.extend(LEAF_HASHES[:size])
    assert frontier.root() == ROOTS[size]
    assert root_from_nodes(size, NODES) == ROOTS[size]


def test_eight_leaf_root_is_the_reference_value() -> None:
    assert root_hash(LEAF_HASHES).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


def test_subtree_hash_of_a_range() -> None:
    assert subtree_hash(LEAF_HASHES, 4, 7) == ref_mth(LEAVES[4:7])
    assert subtree_hash(LEAF_HASHES, 3, 3) == EMPTY_ROOT
    with pytest.raises(TreeArgumentError):
        subtree_hash(LEAF_HASHES, 5, 9)


def test_event_bytes_instead_of_leaf_hashes_are_refused() -> None:
    with pytest.raises(TreeArgumentError, match="leaf hashes"):
        root_hash(LEAVES)


# --- Inclusion --------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof_hex"), INCLUSION_VECTORS)
def test_inclusion_vector(index: int, size: int, proof_hex: list[str]) -> None:
    proof = unhex(proof_hex)
    assert inclusion_proof(LEAF_HASHES[:size], index) == proof
    assert inclusion_proof_from_nodes(index, size, NODES) == proof
    assert ref_path(index, LEAVES[:size]) == proof
    verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])
    assert root_from_inclusion_proof(LEAF_HASHES[index], index, size, proof) == ROOTS[size]


def inclusion_mutations(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """transparency-dev/merkle's must-fail probes, plus byte flips in leaf and root.

    No "size + 1": RFC 6962 roots do not encode the size, so a proof may also fit a nearby
    size with the same path shape. The signed checkpoint is what binds a size to its root.
    """
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size // 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, leaf_hash(b"WrongLeaf")),
        ("flipped leaf byte", index, size, proof, root, flip(leaf, 31)),
        ("flipped root byte", index, size, proof, flip(root, 7), leaf),
        ("empty root", index, size, proof, EMPTY_ROOT, leaf),
        ("random root", index, size, proof, SOME_HASH, leaf),
        ("short root", index, size, proof, root[:-1], leaf),
        ("extra element", index, size, [*proof, SOME_HASH], root, leaf),
        ("trailing root", index, size, [*proof, root], root, leaf),
        ("preceding root", index, size, [root, *proof], root, leaf),
        ("trailing garbage", index, size, [*proof, b""], root, leaf),
        ("preceding garbage", index, size, [b"", *proof], root, leaf),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i])
        probes.append((f"flipped proof[{i}]", index, size, wrong, root, leaf))
    if proof:
        probes.append(("truncated proof", index, size, proof[:-1], root, leaf))
        probes.append(("dropped first element", index, size, proof[1:], root, leaf))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", index, size, inserted, root, leaf))
        probes.append(
            ("swapped elements", index, size, [proof[1], proof[0], *proof[2:]], root, leaf)
        )
    return probes


@pytest.mark.parametrize(("index", "size", "proof_hex"), INCLUSION_VECTORS)
def test_inclusion_mutations_fail(index: int, size: int, proof_hex: list[str]) -> None:
    proof = unhex(proof_hex)
    probes = inclusion_mutations(index, size, proof, ROOTS[size], LEAF_HASHES[index])
    accepted = []
    for desc, i, n, p, root, leaf in probes:
        try:
            verify_inclusion(leaf, i, n, p, root)
        except InclusionProofError:
            continue
        accepted.append(desc)
    assert accepted == []


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 4), (8, 8)])
def test_inclusion_outside_the_tree_fails(index: int, size: int) -> None:
    with pytest.raises(InclusionProofError, match=r"outside|negative"):
        verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_a_root_does_not_bind_its_size_the_checkpoint_does() -> None:
    # Leaf 1's path is the same shape in trees of 5 and 6 leaves: the math alone accepts it.
    proof = unhex(INCLUSION_VECTORS[4][2])
    verify_inclusion(LEAF_HASHES[1], 1, 6, proof, ROOTS[5])


def test_inclusion_wrong_length_has_clear_message() -> None:
    index, size, proof_hex = INCLUSION_VECTORS[1]
    with pytest.raises(InclusionProofError, match="expected 3 hashes, got 2"):
        verify_inclusion(LEAF_HASHES[0], index, size, unhex(proof_hex)[:2], ROOTS[size])


def test_inclusion_generation_rejects_bad_index() -> None:
    with pytest.raises(TreeArgumentError):
        inclusion_proof(LEAF_HASHES, 8)
    with pytest.raises(TreeArgumentError):
        inclusion_proof([], 0)


# --- Consistency ------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "proof_hex"), CONSISTENCY_VECTORS)
def test_consistency_vector(old: int, new: int, proof_hex: list[str]) -> None:
    proof = unhex(proof_hex)
    assert consistency_proof(LEAF_HASHES, old, new) == proof
    assert consistency_proof_from_nodes(old, new, NODES) == proof
    assert ref_subproof(old, LEAVES[:new], True) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def consistency_mutations(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """transparency-dev/merkle's must-fail consistency probes, plus byte flips."""
    probes = [
        ("old - 1", old - 1, new, old_root, new_root, proof),
        ("old + 1", old + 1, new, old_root, new_root, proof),
        ("old ^ 2", old ^ 2, new, old_root, new_root, proof),
        ("new * 2", old, new * 2, old_root, new_root, proof),
        ("new // 2", old, new // 2, old_root, new_root, proof),
        ("wrong old root", old, new, SOME_HASH, new_root, proof),
        ("wrong new root", old, new, old_root, SOME_HASH, proof),
        ("flipped old root byte", old, new, flip(old_root, 9), new_root, proof),
        ("flipped new root byte", old, new, old_root, flip(new_root, 9), proof),
        ("swapped roots", old, new, new_root, old_root, proof),
        ("empty proof", old, new, old_root, new_root, []),
        ("extra element", old, new, old_root, new_root, [*proof, SOME_HASH]),
        ("trailing old root", old, new, old_root, new_root, [*proof, old_root]),
        ("trailing new root", old, new, old_root, new_root, [*proof, new_root]),
        ("preceding old root", old, new, old_root, new_root, [old_root, *proof]),
        ("preceding new root", old, new, old_root, new_root, [new_root, *proof]),
        ("preceding proof[0]", old, new, old_root, new_root, [proof[0], *proof]),
        ("trailing garbage", old, new, old_root, new_root, [*proof, b""]),
        ("truncated proof", old, new, old_root, new_root, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], mask=0x10)
        probes.append((f"flipped proof[{i}]", old, new, old_root, new_root, wrong))
    return probes


@pytest.mark.parametrize(("old", "new", "proof_hex"), CONSISTENCY_VECTORS)
def test_consistency_mutations_fail(old: int, new: int, proof_hex: list[str]) -> None:
    probes = consistency_mutations(old, new, ROOTS[old], ROOTS[new], unhex(proof_hex))
    accepted = []
    for desc, m, n, old_root, new_root, proof in probes:
        try:
            verify_consistency(m, n, old_root, new_root, proof)
        except ConsistencyProofError:
            continue
        accepted.append(desc)
    assert accepted == []


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof", "ok"),
    [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 5, EMPTY_ROOT, ROOTS[5], [], True),
        (1, 1, ROOTS[1], ROOTS[1], [], True),
        (8, 8, ROOTS[8], ROOTS[8], [], True),
        (0, 5, SOME_HASH, ROOTS[5], [], False),  # an empty tree has exactly one root
        (0, 5, EMPTY_ROOT, ROOTS[5], [EMPTY_ROOT], False),
        (8, 8, ROOTS[8], ROOTS[8], [ROOTS[8]], False),
        (8, 8, ROOTS[8], SOME_HASH, [], False),  # split view: two roots for one size
        (1, 0, ROOTS[1], EMPTY_ROOT, [], False),  # time travel
        (5, 3, ROOTS[5], ROOTS[3], [], False),
        (-1, 3, ROOTS[1], ROOTS[3], [], False),
        (1, 2, ROOTS[1], ROOTS[2], [], False),  # a real step with no proof
    ],
)
def test_consistency_edge_cases(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes], ok: bool
) -> None:
    if ok:
        verify_consistency(old, new, old_root, new_root, proof)
    else:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(old, new, old_root, new_root, proof)


def test_consistency_wrong_length_has_clear_message() -> None:
    old, new, proof_hex = CONSISTENCY_VECTORS[0]
    with pytest.raises(ConsistencyProofError, match="expected 3 hashes, got 4"):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], [*unhex(proof_hex), SOME_HASH])


def test_consistency_generation_rejects_bad_sizes() -> None:
    with pytest.raises(TreeArgumentError):
        consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(TreeArgumentError):
        consistency_proof(LEAF_HASHES, 2, 9)
    assert consistency_proof(LEAF_HASHES, 0, 8) == []
    assert consistency_proof(LEAF_HASHES, 8, 8) == []


# --- A log that rewrites history is caught ----------------------------------------------------


def swapped(leaves: list[bytes]) -> list[bytes]:
    return [leaves[0], leaves[2], leaves[1], *leaves[3:]]


def dropped(leaves: list[bytes]) -> list[bytes]:
    return [*leaves[:3], *leaves[4:], leaf_hash(b"filler")]


def inserted(leaves: list[bytes]) -> list[bytes]:
    return [*leaves[:2], leaf_hash(b"forged"), *leaves[2:-1]]


def edited(leaves: list[bytes]) -> list[bytes]:
    return [*leaves[:4], leaf_hash(LEAVES[4] + b"!"), *leaves[5:]]


HISTORY_REWRITES: list[Callable[[list[bytes]], list[bytes]]] = [swapped, dropped, inserted, edited]


@pytest.mark.parametrize("rewrite", HISTORY_REWRITES, ids=lambda f: f.__name__)
def test_rewritten_history_fails_consistency_with_old_checkpoint(
    rewrite: Callable[[list[bytes]], list[bytes]],
) -> None:
    forged = rewrite(list(LEAF_HASHES))
    assert len(forged) == 8
    assert root_hash(forged) != ROOTS[8]
    old = 5  # a monitor holds the honest checkpoint for size 5
    proof = consistency_proof(forged, old, 8)
    with pytest.raises(ProofError):
        verify_consistency(old, 8, ROOTS[old], root_hash(forged), proof)


@pytest.mark.parametrize("rewrite", HISTORY_REWRITES, ids=lambda f: f.__name__)
def test_rewritten_history_fails_inclusion_of_the_original_leaf(
    rewrite: Callable[[list[bytes]], list[bytes]],
) -> None:
    forged = rewrite(list(LEAF_HASHES))
    changed = [i for i in range(8) if forged[i] != LEAF_HASHES[i]]
    for index in changed:
        with pytest.raises(InclusionProofError):
            verify_inclusion(
                LEAF_HASHES[index], index, 8, inclusion_proof(forged, index), root_hash(forged)
            )
        with pytest.raises(InclusionProofError):  # the tampered event against the honest root
            verify_inclusion(forged[index], index, 8, inclusion_proof(forged, index), ROOTS[8])
