"""End-to-end cost of tamper evidence on real stores: what the Merkle tree adds to ingest, proof
latency at 1M events per organization, and exporting + verifying a 1M-event bundle offline.

    .venv/bin/python benchmarks/integrity_e2e_bench.py                       # SQLite only
    .venv/bin/python benchmarks/integrity_e2e_bench.py --postgres postgresql://postgres@127.0.0.1/postgres

The "without tree" ingest runs patch the store's `advance_tree` to a no-op for the measurement
only (the stored frontier is then garbage): the difference is what maintaining the tree costs.
Events come from `trailkeeper.bench.synth` (realistic Slack-shaped bodies, ~600 bytes).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg

from trailkeeper.bench.synth import (
    EventFactory,
    ensure_directory,
    history_timeline,
    synth_org,
)
from trailkeeper.catalog import load_catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor
from trailkeeper.integrity import tiles
from trailkeeper.integrity.bundle import export_bundle, verify_bundle
from trailkeeper.integrity.checkpoint import VerifierKey
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.storage import open_store, postgres, sqlite
from trailkeeper.storage.base import Store

ORG_ID = "E0BENCH"


def no_tree(frontier: bytes | None, bodies: Any, expected_size: int) -> tiles.TreeAdvance:
    """Stand-in for `advance_tree` that hashes and stores nothing (measurement only)."""
    return tiles.TreeAdvance(frontier or b"\x01" + bytes(8), [])


@contextlib.contextmanager
def tree_disabled(enabled: bool) -> Iterator[None]:
    if enabled:
        yield
        return
    saved = sqlite.advance_tree, postgres.advance_tree
    sqlite.advance_tree = postgres.advance_tree = no_tree  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite.advance_tree, postgres.advance_tree = saved  # type: ignore[assignment]


@contextlib.contextmanager
def fresh_store(kind: str, pg_url: str | None, workdir: Path) -> Iterator[Store]:
    if kind == "sqlite":
        path = workdir / f"bench-{secrets.token_hex(4)}.db"
        store = open_store(f"sqlite:///{path}")
    else:
        assert pg_url is not None
        schema = f"tk_bench_{secrets.token_hex(4)}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}".encode())
        sep = "&" if "?" in pg_url else "?"
        store = open_store(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    store.migrate()
    try:
        yield store
    finally:
        store.close()
        if kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            with psycopg.connect(str(pg_url), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def percentiles(samples: list[float]) -> str:
    cut = statistics.quantiles(sorted(samples), n=100, method="inclusive")
    return (
        f"p50 {cut[49] * 1e3:.2f} ms  p95 {cut[94] * 1e3:.2f} ms  p99 {cut[98] * 1e3:.2f} ms"
        f"  max {max(samples) * 1e3:.2f} ms  (n={len(samples)})"
    )


# --- ingest cost --------------------------------------------------------------------------------


def ingest_rates(
    kind: str, pg_url: str | None, workdir: Path, events: int, batch: int, *, tree: bool, full: bool
) -> tuple[float, float]:
    """(events per wall second, events per CPU second of this process) appending `events` events
    in batches (full: through validation, from decoded JSON)."""
    synth = synth_org(ORG_ID, "bench")
    factory = EventFactory(synth, seed=11)
    timeline = history_timeline(events, int(time.time()) - 60)
    chunks = range(0, events, batch)
    prepared = [factory.make_events(s, min(batch, events - s), timeline) for s in chunks]
    items = [[orjson.loads(e.body) for e in chunk] for chunk in prepared] if full else []
    with fresh_store(kind, pg_url, workdir) as store, tree_disabled(tree):
        ensure_directory(store, synth)
        ingestor = Ingestor(store, load_catalog(), LocationIndex(store), max_event_bytes=1 << 20)
        wall, cpu = time.perf_counter(), time.process_time()
        for n, chunk in enumerate(prepared):
            if full:
                report = ingestor.ingest(items[n])
                assert not report.rejected, report.rejected[:1]
            else:
                store.append(chunk)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return events / wall, events / cpu


def bench_tree_work(events: int) -> None:
    """The tree's own work in an append, without any database: hashing and node bookkeeping."""
    synth = synth_org(ORG_ID, "bench")
    factory = EventFactory(synth, seed=11)
    timeline = history_timeline(events, int(time.time()) - 60)
    bodies = [e.body for e in factory.make_events(0, events, timeline)]
    best, nodes = float("inf"), 0
    for _ in range(5):
        frontier: bytes | None = None
        cpu = time.process_time()
        for start in range(0, events, 1000):
            advance = tiles.advance_tree(frontier, bodies[start : start + 1000], start)
            frontier = advance.frontier
            nodes += len(advance.nodes)
        best = min(best, time.process_time() - cpu)
    print(
        f"tree work alone (advance_tree, {events:,} events of ~{len(bodies[0])} B in batches of"
        f" 1000): {best / events * 1e6:.2f} µs CPU/event, {nodes / 5 / events:.3f} node rows/event"
    )


def bench_ingest(
    kind: str, pg_url: str | None, workdir: Path, events: int, batch: int, repeats: int
) -> None:
    for full in (False, True):
        path = "Ingestor.ingest (validation + append)" if full else "Store.append"
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(repeats):  # alternate the modes; keep the best of each (least disturbed)
            for tree in (False, True):
                runs[tree].append(
                    ingest_rates(kind, pg_url, workdir, events, batch, tree=tree, full=full)
                )
        for axis, label in ((0, "wall"), (1, "CPU of this process")):
            with_tree = max(r[axis] for r in runs[True])
            without = max(r[axis] for r in runs[False])
            added_us = (1 / with_tree - 1 / without) * 1e6
            print(
                f"[{kind}] {path}, {events:,} events, batches of {batch}, best of {repeats},"
                f" {label}: without tree {without:,.0f}/s, with tree {with_tree:,.0f}/s"
                f" -> cost {100 * (1 - with_tree / without):.1f}% ({added_us:.1f} µs/event)"
            )


# --- 1M events: proofs, export, offline verification --------------------------------------------


def load_million(store: Store, events: int) -> IntegrityService:
    synth = synth_org(ORG_ID, "bench")
    ensure_directory(store, synth)
    factory = EventFactory(synth, seed=7)
    timeline = history_timeline(events, int(time.time()) - 60)
    started = time.perf_counter()
    for start in range(0, events, 10_000):
        store.append(factory.make_events(start, min(10_000, events - start), timeline))
    print(f"  loaded {events:,} events in {time.perf_counter() - started:.1f} s (tree maintained)")
    recorder = Recorder(store, load_catalog())
    service = IntegrityService(
        store,
        "bench.local",
        record_event=lambda a, o, d: recorder.record(organization_event(a, o, d)),
    )
    service.generate_key()
    started = time.perf_counter()
    service.checkpoint(ORG_ID)
    took_ms = (time.perf_counter() - started) * 1e3
    print(f"  checkpoint of {store.tree_state(ORG_ID)[0]:,} leaves: {took_ms:.1f} ms")
    return service


CPU_SAMPLES: list[float] = []


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call; its CPU seconds (this thread) go to CPU_SAMPLES."""
    cpu, started = time.thread_time(), time.perf_counter()
    action()
    CPU_SAMPLES.append(time.thread_time() - cpu)
    return time.perf_counter() - started


def wall_and_cpu(samples: list[float]) -> str:
    """Percentiles of wall time, then of this process's CPU time for the same calls (the part
    a busy machine cannot inflate; on PostgreSQL it excludes the server's work)."""
    cpu = CPU_SAMPLES[-len(samples) :]
    return f"{percentiles(samples)}\n{'':34}CPU: {percentiles(cpu)}"


def bench_proofs(service: IntegrityService, samples: int) -> None:
    store = service.store
    size = store.tree_state(ORG_ID)[0]
    rng = random.Random(5)
    ids = [store.events_from(ORG_ID, rng.randrange(size), 1)[0].id for _ in range(samples)]
    for event_id in ids[:50]:  # warm the connection / page cache
        service.inclusion(ORG_ID, event_id)
    print(
        "  inclusion proof by event id:    "
        + wall_and_cpu([timed(lambda i=i: service.inclusion(ORG_ID, i)) for i in ids])
    )
    firsts = [rng.randrange(1, size) for _ in range(samples)]
    print(
        "  consistency proof (m -> latest): "
        + wall_and_cpu([timed(lambda m=m: service.consistency(ORG_ID, m)) for m in firsts])
    )
    starts = [rng.randrange(size - 8192) for _ in range(samples // 10)]
    print(
        "  entries page (8192 events):     "
        + percentiles([timed(lambda s=s: service.entries(ORG_ID, s, s + 8192)) for s in starts])
    )


def bench_bundle(service: IntegrityService, workdir: Path) -> None:
    target = workdir / f"bundle-{secrets.token_hex(4)}"
    seconds = timed(lambda: export_bundle(service, ORG_ID, target))
    size_mb = sum(p.stat().st_size for p in target.iterdir()) / 1e6
    print(f"  export bundle: {seconds:.1f} s ({size_mb:,.0f} MB)")
    key = VerifierKey.from_vkey(service.public_keys()[0].vkey)
    started = time.perf_counter()
    report = verify_bundle(target, pinned=[key])
    seconds = time.perf_counter() - started
    assert report.ok, report.render()
    print(f"  verify bundle offline: {seconds:.1f} s ({report.events_verified:,} events verified)")


def bench_million(
    kind: str, pg_url: str | None, workdir: Path, events: int, samples: int, bundle: bool
) -> None:
    with fresh_store(kind, pg_url, workdir) as store:
        print(f"[{kind}] {events:,} events in one organization")
        service = load_million(store, events)
        bench_proofs(service, samples)
        if bundle:
            bench_bundle(service, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=None, help="also measure PostgreSQL at this URL")
    parser.add_argument("--events", type=int, default=1_000_000, help="events for proofs/export")
    parser.add_argument("--ingest-events", type=int, default=100_000)
    parser.add_argument(
        "--batch", type=int, default=1000, help="events per append in the ingest runs"
    )
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed")
    parser.add_argument("--repeats", type=int, default=5, help="ingest runs per mode")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    if not args.skip_ingest:
        bench_tree_work(args.ingest_events)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        for kind in backends:
            if not args.skip_ingest:
                bench_ingest(
                    kind, args.postgres, workdir, args.ingest_events, args.batch, args.repeats
                )
            if not args.skip_million:
                bench_million(
                    kind, args.postgres, workdir, args.events, args.samples, bundle=kind == "sqlite"
                )


if __name__ == "__main__":
    main()
