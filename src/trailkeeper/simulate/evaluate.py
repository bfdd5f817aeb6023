"""The evaluation harness (spec §7 protocol): per seed, simulate, replay through the real ingest
and detection path on a temporary SQLite store, read the anomalies back, run the peer
baselines on the same stream; seeds run in parallel processes.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trailkeeper.detect.enrichment import load_enrichment
from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.runner import DetectionRunner
from trailkeeper.detect.signals import parse_signal
from trailkeeper.recorder import Recorder
from trailkeeper.simulate.attacks import Campaign
from trailkeeper.simulate.baselines import run_baselines
from trailkeeper.simulate.datafiles import WorldFiles, write_world_files
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.records import JSON, Label
from trailkeeper.simulate.replay import (
    Detection,
    DetectionFactory,
    SignalCheck,
    read_anomalies,
    rejected_sample,
    replay,
)
from trailkeeper.simulate.stream import SimConfig, Stream, build_stream
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

PROFILES = {
    "ci": SimConfig(users=2000, days=30),
    "nightly": SimConfig(users=20000, days=45),
}
PROFILE_SEEDS = {"ci": 5, "nightly": 5}
RAM_DIR = "/dev/shm"  # noqa: S108 - a parent for private temporary directories


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation: the simulation, its seeds, the replay window and worker processes."""

    sim: SimConfig
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    window_s: int = 900
    workers: int = 2


@dataclass
class Cost:
    """What one seed cost: sizes, seconds per stage, detection state, ingest latencies."""

    events: int = 0
    signals: int = 0
    rejected: int = 0
    rejections: Sequence[str] = ()
    generate_s: float = 0.0
    ingest_s: float = 0.0
    detect_s: float = 0.0
    pipeline_event_s: float = 0.0
    pipeline_signal_s: float = 0.0
    baselines_s: float = 0.0
    cpu_s: float = 0.0
    state_bytes: int = 0
    active_actors: int = 0
    latencies_s: list[float] = field(default_factory=list)


@dataclass
class SeedRun:
    """Everything one seed produced, picklable for the parent process."""

    seed: int
    users: int
    scored_start: int
    end: int
    campaigns: list[Campaign]
    labels: dict[str, Label]
    joiners: dict[str, int]
    anomalies: list[Alarm]
    baselines: dict[str, list[Alarm]]
    cost: Cost


class PipelineDetection:
    """The real detection stack: enrichment from the world's files, pipeline, runner, recorder.

    Anomalies are dated at their triggering event (`clock=None`), as replays want; the CPU
    time spent inside the pipeline (this thread's, so other load on the machine does not
    count) is measured per input kind for the throughput figure.
    """

    def __init__(self, store: Store, files: WorldFiles) -> None:
        enrichment = load_enrichment(
            files.city_mmdb,
            files.asn_mmdb,
            files.tor_exits,
            files.cloud_ranges,
            files.ioc_list,
            vpn_ranges=files.vpn_ranges,
            suspicious_asns=files.suspicious_asns,
        )
        self.pipeline = DetectionPipeline(enrichment)
        self._busy = [0.0, 0.0]
        self._time("process", 0)
        self._time("process_signal", 1)
        self.runner = DetectionRunner(store, self.pipeline, Recorder(store))

    def _time(self, name: str, slot: int) -> None:
        inner: Callable[..., Any] = getattr(self.pipeline, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self._busy[slot] += time.thread_time() - start

        setattr(self.pipeline, name, timed)

    def run_once(self) -> int:
        """One round of the runner."""
        return self.runner.run_once()

    def state_bytes(self) -> int:
        """Bytes of the pipeline's state."""
        return self.pipeline.state_bytes()

    def active_actors(self) -> int:
        """Actors seen in the last 30 days."""
        return self.pipeline.active_actors()

    def busy_s(self) -> tuple[float, float]:
        """Seconds inside the pipeline for events and for signals."""
        return self._busy[0], self._busy[1]


def pipeline_detection(store: Store, files: WorldFiles) -> Detection:
    """The default detection factory: the real `trailkeeper.detect` stack."""
    return PipelineDetection(store, files)


def check_signal(signal: JSON) -> JSON:
    """Validate a signal as the HTTP edge does (freshness measured against its own date)."""
    return parse_signal(signal, int(signal["date"])).to_dict()


def _scratch_dir() -> str | None:
    """Where the throw-away stores go: RAM when there is some (fsync is the store's bottleneck).

    Only a parent for `TemporaryDirectory`, which creates a private (0700) directory in it.
    """
    return RAM_DIR if os.path.isdir(RAM_DIR) and os.access(RAM_DIR, os.W_OK) else None


def detect_stream(
    stream: Stream, cfg: EvalConfig, factory: DetectionFactory, check: SignalCheck, cost: Cost
) -> list[Alarm]:
    """Replay a stream on a throw-away store through detection; its anomalies, costs in `cost`."""
    with tempfile.TemporaryDirectory(prefix="tk-eval-", dir=_scratch_dir()) as tmp:
        files = write_world_files(stream.world, Path(tmp) / "data", stream.start)
        store = open_store(f"sqlite:///{tmp}/eval.db")
        try:
            store.migrate()
            detection = factory(store, files)
            stats = replay(stream, store, detection, check, cfg.window_s)
            anomalies = read_anomalies(store)
            cost.state_bytes = detection.state_bytes()
            cost.active_actors = detection.active_actors()
            cost.pipeline_event_s, cost.pipeline_signal_s = detection.busy_s()
        finally:
            store.close()
    cost.events, cost.signals, cost.rejected = stats.events, stats.signals, stats.rejected
    cost.rejections = rejected_sample(stats)
    cost.ingest_s, cost.detect_s = stats.ingest_s, stats.detect_s
    cost.latencies_s = stats.latencies_s
    return anomalies


def run_seed(
    cfg: EvalConfig,
    seed: int,
    factory: DetectionFactory = pipeline_detection,
    check: SignalCheck = check_signal,
) -> SeedRun:
    """Simulate one seed, replay it through detection, run the baselines."""
    cost = Cost()
    cpu, started = time.process_time(), time.perf_counter()
    stream = build_stream(cfg.sim, seed)
    cost.generate_s = time.perf_counter() - started
    anomalies = detect_stream(stream, cfg, factory, check, cost)
    started = time.perf_counter()
    baselines = run_baselines(stream.events, stream.signals, stream.world)
    cost.baselines_s = time.perf_counter() - started
    cost.cpu_s = time.process_time() - cpu
    joiners = {p.id: p.joined for p in stream.population.people if p.joined >= stream.start}
    people = len(stream.population.people)
    return SeedRun(
        seed, people, stream.scored_start, stream.end, stream.campaigns, dict(stream.labels),
        joiners, anomalies, baselines, cost,
    )  # fmt: skip


def evaluate(
    cfg: EvalConfig,
    factory: DetectionFactory = pipeline_detection,
    progress: Callable[[SeedRun], None] | None = None,
) -> list[SeedRun]:
    """Run every seed (in `cfg.workers` processes when there are several seeds)."""
    runs: list[SeedRun] = []
    if cfg.workers <= 1 or len(cfg.seeds) <= 1:
        for seed in cfg.seeds:
            runs.append(run_seed(cfg, seed, factory))
            if progress is not None:
                progress(runs[-1])
        return runs
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=context) as pool:
        futures = [pool.submit(run_seed, cfg, seed, factory) for seed in cfg.seeds]
        for future in futures:
            runs.append(future.result())
            if progress is not None:
                progress(runs[-1])
    return runs
