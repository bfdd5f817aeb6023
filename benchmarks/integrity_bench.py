"""Micro-benchmark of the integrity core: proof generation from a stored-node table and
hashing / verification throughput. Run: `.venv/bin/python benchmarks/integrity_bench.py`.

The node table is a plain dict {NodeID: hash} standing in for the store's `merkle_node` rows,
filled exactly as a store would: from `CompactRange.append` as leaves arrive.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from trailkeeper.integrity.checkpoint import (
    Checkpoint,
    SigningKey,
    sign_checkpoint,
    verify_checkpoint,
)
from trailkeeper.integrity.merkle import (
    CompactRange,
    NodeID,
    consistency_proof_from_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

EVENT_BYTES = 300  # a typical canonical Slack-shaped audit event


def percentiles_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return (
        f"p50 {cut[49] * 1e3:.3f} ms  p95 {cut[94] * 1e3:.3f} ms  "
        f"p99 {cut[98] * 1e3:.3f} ms  max {ordered[-1] * 1e3:.3f} ms"
    )


def timed(action: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def event_bytes(index: int, bodies: list[bytes]) -> bytes:
    """A distinct stand-in for the canonical bytes of event `index`."""
    return index.to_bytes(8, "big") + bodies[index % len(bodies)]


def build(
    leaves: int, bodies: list[bytes]
) -> tuple[list[bytes], dict[NodeID, bytes], CompactRange]:
    start = time.perf_counter()
    hashes = [leaf_hash(event_bytes(i, bodies)) for i in range(leaves)]
    seconds = time.perf_counter() - start
    print(f"leaf_hash ({EVENT_BYTES} B events): {rate(leaves, seconds)}")
    frontier, table = CompactRange(), dict[NodeID, bytes]()
    start = time.perf_counter()
    for value in hashes:
        table.update(frontier.append(value))
    seconds = time.perf_counter() - start
    print(
        f"CompactRange.append + node-table insert: {rate(leaves, seconds)}"
        f"  ({len(table):,} nodes, {len(table) / leaves:.2f} per leaf)"
    )
    return hashes, table, frontier


def bench_proofs(size: int, table: dict[NodeID, bytes], samples: int, rng: random.Random) -> None:
    indices = [rng.randrange(size) for _ in range(samples)]
    inclusion = [timed(inclusion_proof_from_nodes, i, size, table) for i in indices]
    print(f"inclusion proof at {size:,} leaves (stored nodes): {percentiles_ms(inclusion)}")
    olds = [rng.randrange(1, size) for _ in range(samples)]
    consistency = [timed(consistency_proof_from_nodes, m, size, table) for m in olds]
    print(f"consistency proof m -> {size:,} (stored nodes): {percentiles_ms(consistency)}")


def bench_verify(
    bodies: list[bytes],
    table: dict[NodeID, bytes],
    root: bytes,
    size: int,
    samples: int,
    rng: random.Random,
) -> None:
    picks = rng.sample(range(size), samples)
    cases = [(i, event_bytes(i, bodies), inclusion_proof_from_nodes(i, size, table)) for i in picks]
    start = time.perf_counter()
    for index, data, proof in cases:
        verify_inclusion(leaf_hash(data), index, size, proof, root)
    seconds = time.perf_counter() - start
    print(f"leaf_hash + verify_inclusion at {size:,} leaves: {rate(samples, seconds)}")
    olds = [rng.randrange(1, size) for _ in range(samples)]
    old_roots = [CompactRange.from_nodes(m, table).root() for m in olds]
    proofs = [consistency_proof_from_nodes(m, size, table) for m in olds]
    start = time.perf_counter()
    for m, old_root, proof in zip(olds, old_roots, proofs, strict=True):
        verify_consistency(m, size, old_root, root, proof)
    print(f"verify_consistency to {size:,} leaves: {rate(samples, time.perf_counter() - start)}")


def bench_checkpoints(root: bytes, size: int, samples: int) -> None:
    key = SigningKey("bench.example/audit", bytes(32))
    checkpoint = Checkpoint("bench.example/audit/E0BENCH", size, root, 1_700_000_000)
    start = time.perf_counter()
    for _ in range(samples):
        text = sign_checkpoint(checkpoint, key)
    print(f"sign_checkpoint: {rate(samples, time.perf_counter() - start)}")
    start = time.perf_counter()
    for _ in range(samples):
        verify_checkpoint(text, [key.verifier], origin=checkpoint.origin)
    print(f"verify_checkpoint: {rate(samples, time.perf_counter() - start)}")


def bench_direct(hashes: list[bytes]) -> None:
    index = len(hashes) // 3
    seconds = timed(inclusion_proof, hashes, index)
    print(f"for comparison, direct O(n) inclusion_proof at {len(hashes):,}: {seconds * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=6962)
    parser.add_argument("--skip-direct", action="store_true", help="skip the O(n) comparison")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bodies = [rng.randbytes(EVENT_BYTES - 8) for _ in range(1_000)]
    hashes, table, frontier = build(args.leaves, bodies)
    bench_proofs(args.leaves, table, args.samples, rng)
    bench_verify(bodies, table, frontier.root(), args.leaves, args.samples, rng)
    bench_checkpoints(frontier.root(), args.leaves, min(args.samples, 2_000))
    if not args.skip_direct:
        bench_direct(hashes)


if __name__ == "__main__":
    main()
