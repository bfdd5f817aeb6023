"""One benchmark run: prepare the store, then measure ingest, reads and memory, phase by phase.

Phases never overlap, so none competes with another for the cores: the raw ceilings (no server),
HTTP ingest (its own server), read latency and throughput (a second server), and the minimal
handler (a third). The load generator always runs in a process of its own.
"""

from __future__ import annotations

import math
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Any

from trailkeeper.bench.cases import FILTERS, LIMITS, latency_cases
from trailkeeper.bench.load import (
    PYTHON_GENERATOR,
    CaseResult,
    Endpoint,
    IngestResult,
    IngestSpec,
    LatencySpec,
    ThroughputResult,
    ThroughputSpec,
    ingest_batches,
    ingest_in_subprocess,
    latency_in_subprocess,
    throughput_in_subprocess,
)
from trailkeeper.bench.report import (
    BenchResult,
    HistoryInfo,
    IngestFigures,
    MachineInfo,
    ThroughputFigures,
)
from trailkeeper.bench.server import (
    DETECT_VARIABLE,
    HOST,
    app_command,
    minimal_command,
    running_server,
    server_env,
)
from trailkeeper.bench.synth import (
    BULK_BATCH,
    EventFactory,
    Timeline,
    bulk_load,
    ensure_directory,
    history_timeline,
    recover_history_timeline,
    synth_org,
)
from trailkeeper.bench.wrk import run_wrk, wrk_path
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.errors import ConfigError
from trailkeeper.query import LogFilter
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.storage.ceiling import RawInsertResult, discard_organizations, measure_raw_insert
from trailkeeper.web.services import CURSOR_SECRET

HISTORY = synth_org("EBENCH", "bench")
INGEST = synth_org("EBENCHIN", "benchin")
RAW_ORG_ID = "EBENCHRAW"
HISTORY_SEED, INGEST_SEED = 1, 2
THROUGHPUT_PATH = "/audit/v1/logs?limit=100"

Echo = Callable[[str], None]


def default_bench_dir() -> Path:
    """Where bench databases and server logs go unless told otherwise."""
    return Path(tempfile.gettempdir()) / "trailkeeper-bench"


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how hard; `quick_options` is the test suite's small run."""

    events: int = 1_000_000
    database_url: str | None = None
    keep: bool = False
    reuse: bool = False
    clients: int = 32
    ingest_clients: int = 8
    ingest_events: int = 200_000
    batch: int = 500
    duration_s: float = 10.0
    warmup_s: float = 1.0
    samples: int = 300
    use_wrk: bool = True
    bench_dir: Path = field(default_factory=default_bench_dir)


def quick_options(**overrides: Any) -> BenchOptions:
    """A run of seconds: a small store, a few requests per case, two seconds of load."""
    base = BenchOptions(
        events=20_000, ingest_events=4_000, duration_s=2.0, warmup_s=0.3, samples=25, clients=16
    )
    return replace(base, **overrides)


@dataclass(frozen=True)
class BenchDatabase:
    """The store under test; `owned_path` is set when the bench chose (and may delete) the file."""

    url: str
    owned_path: Path | None
    timeline: Timeline
    load_seconds: float | None


# --- the store --------------------------------------------------------------------------------


def _location(options: BenchOptions) -> tuple[str, Path | None]:
    if options.database_url:
        return options.database_url, None
    # A kept database has a stable name, for --reuse; a throwaway one is private to this process.
    kept = options.keep or options.reuse
    name = f"bench-{options.events}.db" if kept else f"bench-{options.events}-{os.getpid()}.db"
    path = options.bench_dir / name
    return f"sqlite:///{path}", path


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _open(url: str) -> Store:
    store = open_store(url)
    store.migrate()
    return store


def _load_history(store: Store, options: BenchOptions, echo: Echo) -> tuple[float, Timeline]:
    ensure_directory(store, HISTORY)
    timeline = history_timeline(options.events, int(time.time()) - 3600)
    factory = EventFactory(HISTORY, seed=HISTORY_SEED)
    step = max(options.events // 10, BULK_BATCH)
    marks = {"next": step}

    def progress(done: int) -> None:
        if done >= marks["next"] or done == options.events:
            echo(f"  loaded {done:,} / {options.events:,} events")
            marks["next"] = done + step

    echo(f"bulk-loading {options.events:,} synthetic events via Store.append ...")
    loaded = bulk_load(store, factory, timeline, progress=progress)
    echo(f"  took {loaded.seconds:.1f} s ({loaded.events_per_s:,.0f} events/s)")
    return loaded.seconds, timeline


def _existing_history(store: Store, options: BenchOptions, owned: Path | None) -> int:
    existing = store.count_events(HISTORY.org.id)
    if not existing or (options.reuse and existing == options.events):
        return existing
    if owned is None:
        raise ConfigError(
            [f"the database already holds {existing:,} bench events; use a fresh database"]
        )
    return -1  # an interrupted or other-sized bench database of ours: rebuild it


def prepare_database(options: BenchOptions, echo: Echo) -> BenchDatabase:
    """The store with the synthetic history: reused when asked and of the right size, else built."""
    url, owned = _location(options)
    if owned is not None and not options.reuse:
        _remove_sqlite_files(owned)
    store = _open(url)
    try:
        existing = _existing_history(store, options, owned)
        if existing < 0 and owned is not None:
            store.close()
            _remove_sqlite_files(owned)
            store, existing = _open(url), 0
        seconds: float | None = None
        if existing:
            newest = store.scan(HISTORY.org.id, LogFilter(), None, 1)[0].date_create
            timeline = recover_history_timeline(options.events, newest)
            echo(f"reusing {url} ({existing:,} events)")
        else:
            seconds, timeline = _load_history(store, options, echo)
        ensure_directory(store, INGEST)
    finally:
        store.close()
    discard_organizations(url, [INGEST.org.id, RAW_ORG_ID])  # leftovers of an earlier run
    return BenchDatabase(url, owned, timeline, seconds)


def finish_database(db: BenchDatabase, options: BenchOptions) -> None:
    """Delete a database the bench made, or put a kept one back to its history alone."""
    if db.owned_path is not None and not (options.keep or options.reuse):
        _remove_sqlite_files(db.owned_path)
    else:
        discard_organizations(db.url, [INGEST.org.id, RAW_ORG_ID])


@dataclass(frozen=True)
class Credentials:
    """A read token of the history organization, a write token of the ingest one, the cursor key."""

    read_token: str
    write_token: str
    cursor_key: bytes


def issue_credentials(url: str) -> Credentials:
    """Fresh tokens for this run (stored hashed, like any other)."""
    store = _open(url)
    try:
        read, _ = admin.issue_token(store, HISTORY.org.id, frozenset({READ_SCOPE}), "bench read")
        write, _ = admin.issue_token(store, INGEST.org.id, frozenset({WRITE_SCOPE}), "bench write")
        return Credentials(read, write, store.secret(CURSOR_SECRET))
    finally:
        store.close()


# --- ingest -----------------------------------------------------------------------------------


def ingest_spec(options: BenchOptions) -> IngestSpec:
    """The ingest run (events dated over the last ten minutes); its endpoint is set later."""
    now = int(time.time())
    return IngestSpec(
        endpoint=Endpoint(HOST, 0, ""),
        org_id=INGEST.org.id,
        domain=INGEST.org.domain,
        seed=INGEST_SEED,
        timeline=Timeline(now - 600, 600, options.ingest_events),
        batch=options.batch,
        clients=options.ingest_clients,
    )


def measure_ceilings(url: str, spec: IngestSpec) -> tuple[RawInsertResult, RawInsertResult]:
    """Raw inserts of the ingest run's rows: one commit per batch, then one per client group."""
    batches = list(ingest_batches(spec))
    raw = measure_raw_insert(url, batches, RAW_ORG_ID)
    discard_organizations(url, [RAW_ORG_ID])
    groups = [
        list(chain.from_iterable(batches[i : i + spec.clients]))
        for i in range(0, len(batches), spec.clients)
    ]
    grouped = measure_raw_insert(url, groups, RAW_ORG_ID)
    discard_organizations(url, [RAW_ORG_ID])
    return raw, grouped


def measure_http_ingest(
    url: str, spec: IngestSpec, token: str, log_dir: Path
) -> tuple[IngestResult, int | None]:
    """The ingest run over HTTP against a fresh server; with the server's peak memory."""
    with running_server("ingest", app_command(), url, log_dir) as run:
        result = ingest_in_subprocess(replace(spec, endpoint=Endpoint(HOST, run.port, token)))
    return result, run.peak_memory_kib


# --- reads ------------------------------------------------------------------------------------


def _throughput(spec: ThroughputSpec, options: BenchOptions) -> ThroughputResult:
    wrk = wrk_path() if options.use_wrk else None
    return run_wrk(spec, wrk) if wrk else throughput_in_subprocess(spec)


def _throughput_spec(port: int, token: str, options: BenchOptions) -> ThroughputSpec:
    endpoint = Endpoint(HOST, port, token)
    return ThroughputSpec(
        endpoint, THROUGHPUT_PATH, options.clients, options.duration_s, options.warmup_s
    )


def measure_reads(
    db: BenchDatabase, credentials: Credentials, options: BenchOptions, log_dir: Path
) -> tuple[list[CaseResult], ThroughputResult, int | None]:
    """Latency cases, then throughput, against one fresh server; with its peak memory."""
    cases = latency_cases(
        db.url, HISTORY.org.id, db.timeline, credentials.cursor_key, options.samples
    )
    with running_server("read", app_command(), db.url, log_dir) as run:
        endpoint = Endpoint(HOST, run.port, credentials.read_token)
        warmup = max(2, options.samples // 10)
        latency = latency_in_subprocess(LatencySpec(endpoint, cases, warmup))
        throughput = _throughput(
            _throughput_spec(run.port, credentials.read_token, options), options
        )
    return latency, throughput, run.peak_memory_kib


def measure_minimal(
    db: BenchDatabase, credentials: Credentials, options: BenchOptions, log_dir: Path
) -> tuple[ThroughputResult, int | None]:
    """The minimal handler's throughput on the same query, with its peak memory."""
    with running_server("minimal", minimal_command(HISTORY.org.id), db.url, log_dir) as run:
        result = _throughput(_throughput_spec(run.port, credentials.read_token, options), options)
    return result, run.peak_memory_kib


# --- the whole run ----------------------------------------------------------------------------


def load_average() -> float:
    """The 1-minute load average, NaN where the system has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan


def machine_info(load_before: float) -> MachineInfo:
    """Cores, CPU model, Python, OS and load of this machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    cores = os.cpu_count() or 1
    return MachineInfo(cores, cpu, platform.python_version(), system, load_before, load_average())


def _notes(
    options: BenchOptions, machine: MachineInfo, ingest: IngestResult, latency: list[CaseResult]
) -> list[str]:
    detect = server_env("", 0)[DETECT_VARIABLE]
    notes = [f"servers ran with {DETECT_VARIABLE}={detect} (in-process anomaly detection)"]
    busiest = max(machine.load_before, machine.load_after)
    if busiest > machine.cores / 2:
        notes.append(
            f"the machine was busy (load average up to {busiest:.1f} on {machine.cores} cores):"
            " other processes competed for the CPU, so figures understate an idle machine"
        )
    if options.events != 1_000_000:
        notes.append(f"targets are set for 1,000,000 events; this run has {options.events:,}")
    if ingest.errors:
        notes.append(f"{ingest.errors} ingest requests failed")
    failed = sum(c.errors for c in latency)
    if failed:
        notes.append(f"{failed} latency requests failed")
    return notes


def display_url(url: str) -> str:
    """A database URL without its credentials, for printing."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}…@{rest.rpartition('@')[2]}" if "@" in rest else url


def _generator(options: BenchOptions) -> str:
    if options.use_wrk and wrk_path():
        return f"wrk (throughput), {PYTHON_GENERATOR} (ingest, latency)"
    return PYTHON_GENERATOR


def run_bench(options: BenchOptions, echo: Echo) -> BenchResult:
    """Build or reuse the store, measure every figure, clean up, and return the result."""
    started, log_dir, load_before = time.perf_counter(), options.bench_dir / "logs", load_average()
    db = prepare_database(options, echo)
    try:
        credentials = issue_credentials(db.url)
        spec = ingest_spec(options)
        echo(f"raw insert ceilings ({spec.timeline.total:,} rows) ...")
        raw, grouped = measure_ceilings(db.url, spec)
        echo(f"HTTP ingest ({spec.timeline.total:,} events, {spec.clients} clients) ...")
        http, ingest_peak = measure_http_ingest(db.url, spec, credentials.write_token, log_dir)
        echo(f"read latency ({len(FILTERS) * len(LIMITS)} cases) and throughput ...")
        latency, app, read_peak = measure_reads(db, credentials, options, log_dir)
        echo("minimal handler throughput ...")
        minimal, minimal_peak = measure_minimal(db, credentials, options, log_dir)
    finally:
        finish_database(db, options)
    backend, machine = db.url.split(":", 1)[0], machine_info(load_before)
    return BenchResult(
        machine=machine,
        history=HistoryInfo(options.events, backend, display_url(db.url), db.load_seconds),
        ingest=IngestFigures(http, raw, grouped, spec.clients, spec.batch),
        latency=latency,
        throughput=ThroughputFigures(app, minimal, options.clients, THROUGHPUT_PATH),
        peak_memory_kib={"ingest": ingest_peak, "read": read_peak, "minimal": minimal_peak},
        generator=_generator(options),
        seconds=time.perf_counter() - started,
        notes=_notes(options, machine, http, latency),
    )
