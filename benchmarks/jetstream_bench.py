"""End-to-end JetStream ingest: publish N events, time until worker processes have committed all.

Run: `.venv/bin/python benchmarks/jetstream_bench.py [--events 200000] [--events-per-message 100]
[--database-url postgresql://...] [--relay]`. A real nats-server with JetStream must be running.

The worker is the real `ingest-worker` command in a process of its own; the clock starts at the
first publish and stops when the store holds every event (with `--relay`: when the committed
stream holds every event too). The workers' CPU time is reported as well: events per CPU-second
is the figure that holds on a machine busy with other work. Streams get unique names and are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import nats
import orjson

from trailkeeper.bench.synth import EventFactory, ensure_directory, history_timeline, synth_org
from trailkeeper.bus.producer import publish_events
from trailkeeper.bus.streams import BusNames, delete_streams, ensure_streams
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

ORG_ID = "E0JSBENCH"
WORKER = "from trailkeeper.cli.workers import ingest_worker; ingest_worker()"


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The URL to benchmark on: a temporary SQLite file, or a private schema of a PostgreSQL."""
    if not url:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    schema = f"tk_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def make_bodies(store: Store, total: int, with_ids: bool) -> list[bytes]:
    synth = synth_org(ORG_ID, "jsbench")
    ensure_directory(store, synth)
    events = EventFactory(synth, seed=7).make_events(
        0, total, history_timeline(total, int(time.time()))
    )
    if with_ids:
        return [e.body for e in events]
    return [
        orjson.dumps({k: v for k, v in orjson.loads(e.body).items() if k != "id"}) for e in events
    ]


def start_worker(
    args: argparse.Namespace, url: str, names: BusNames, with_relay: bool
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRAILKEEPER_DATABASE_URL": url, "TRAILKEEPER_LOG_LEVEL": "warning"}
    command = [
        sys.executable,
        "-c",
        WORKER,
        "--nats-url",
        args.nats_url,
        "--batch",
        str(args.batch),
    ]
    command += ["--subject-prefix", names.subject_prefix, "--stream-prefix", names.stream_prefix]
    if args.relay and with_relay:
        command.append("--relay")
    return subprocess.Popen(command, env=env)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to see past a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_for_consumer(js: nats.js.JetStreamContext, names: BusNames) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            await js.consumer_info(names.ingest_stream, names.worker_durable)
            return
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the worker did not start")


async def committed_count(js: nats.js.JetStreamContext, names: BusNames) -> int:
    return int((await js.stream_info(names.committed_stream)).state.messages)


async def run(args: argparse.Namespace) -> None:
    tag = secrets.token_hex(4)
    names = BusNames(subject_prefix=f"tkbench{tag}", stream_prefix=f"TKBENCH{tag}")
    nc = await nats.connect(args.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, names)
    with database(args.database_url) as url:
        store = open_store(url)
        store.migrate()
        bodies = make_bodies(store, args.events, not args.no_ids)
        workers = [start_worker(args, url, names, n == 0) for n in range(args.workers)]
        try:
            await wait_for_consumer(js, names)
            cpu_before = sum(cpu_seconds(w.pid) for w in workers)
            await measure(args, nc, js, store, bodies, names, url)
            cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
            print(
                f"  worker CPU {cpu:.1f} s: {len(bodies) / cpu:,.0f} events per CPU-second "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
            )
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
            store.close()
            await delete_streams(js, names)
            await nc.close()


async def measure(
    args: argparse.Namespace,
    nc: nats.aio.client.Client,
    js: nats.js.JetStreamContext,
    store: Store,
    bodies: list[bytes],
    names: BusNames,
    url: str,
) -> None:
    total = len(bodies)
    started = time.perf_counter()
    publishing = asyncio.create_task(
        publish_events(nc, ORG_ID, bodies, names=names, events_per_message=args.events_per_message)
    )
    while await asyncio.to_thread(store.count_events, ORG_ID) < total:
        await asyncio.sleep(0.05)
    committed_s = time.perf_counter() - started
    messages = await publishing
    relayed_s = None
    if args.relay:
        while await committed_count(js, names) < total:
            await asyncio.sleep(0.05)
        relayed_s = time.perf_counter() - started
    backend = url.split(":", 1)[0]
    print(
        f"JetStream ingest, {args.workers} worker process(es), {backend}, {messages} messages "
        f"of up to {args.events_per_message} events, batch {args.batch}, "
        f"{'producer ids' if not args.no_ids else 'derived ids'}"
    )
    print(f"  {total} events committed in {committed_s:.2f} s: {total / committed_s:,.0f} events/s")
    if relayed_s is not None:
        print(
            f"  ... and on the committed stream in {relayed_s:.2f} s: "
            f"{total / relayed_s:,.0f} events/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--events-per-message", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5000, help="the worker's --batch")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--relay", action="store_true", help="run the (first) worker with --relay")
    parser.add_argument("--no-ids", action="store_true", help="events without ids (derived)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
