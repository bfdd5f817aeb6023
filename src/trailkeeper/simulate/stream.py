"""The labelled stream of spec §3.2: events, signals, labels and campaigns, deterministic by seed.

`build_stream(config, seed)` is pure; `write_stream` renders it as NDJSON plus the world's data
files (what `trailkeeper simulate --out DIR` writes).
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path

import orjson

from trailkeeper.simulate.attacks import Campaign
from trailkeeper.simulate.behaviour import Behaviour, BehaviourConfig
from trailkeeper.simulate.datafiles import WorldFiles, write_world_files
from trailkeeper.simulate.population import DAY, Population, PopulationConfig, build_population
from trailkeeper.simulate.presence import Sessions
from trailkeeper.simulate.records import JSON, Emitter, Label
from trailkeeper.simulate.scenarios import inject_campaigns
from trailkeeper.simulate.world import World, build_world

DEFAULT_START = 1_767_571_200  # Monday 2026-01-05 00:00 UTC


@dataclass(frozen=True)
class SimConfig:
    """Size and knobs of one simulation (spec §3.2 defaults; CI profile: 2,000 users, 30 days)."""

    users: int = 2000
    days: int = 30
    warmup_days: int | None = None
    campaigns_per_cell: int | None = None
    travel_x: float = 1.0
    vpn_share: float = 0.05
    legit_bulk_rate: float = 0.01
    usage_sample: float = 0.25
    start: int = DEFAULT_START

    @property
    def warmup(self) -> int:
        """Days before scoring starts (default: a third of the run, at least one)."""
        return self.warmup_days if self.warmup_days is not None else max(1, self.days // 3)

    @property
    def per_cell(self) -> int:
        """Campaigns per scenario x tier (default: one per 500 users, at least one)."""
        return self.campaigns_per_cell or max(1, self.users // 500)


@dataclass
class Stream:
    """A simulated organization's labelled audit stream."""

    config: SimConfig
    seed: int
    world: World
    population: Population
    events: list[JSON]
    signals: list[JSON]
    labels: dict[str, Label]
    campaigns: list[Campaign]

    @property
    def start(self) -> int:
        """First second of the simulated span."""
        return self.population.start

    @property
    def end(self) -> int:
        """End (exclusive) of the simulated span."""
        return self.population.end

    @property
    def scored_start(self) -> int:
        """First second of the scored window (after warm-up)."""
        return self.start + self.config.warmup * DAY

    def items(self) -> Iterator[tuple[int, str, JSON]]:
        """Events and signals merged in time order: (time, "event" | "signal", item)."""
        events = ((e["date_create"], 0, n, "event", e) for n, e in enumerate(self.events))
        signals = ((s["date"], 1, n, "signal", s) for n, s in enumerate(self.signals))
        for ts, _, _, kind, item in heapq.merge(events, signals):
            yield ts, kind, item


def build_stream(config: SimConfig, seed: int) -> Stream:
    """The labelled stream for a configuration and seed (same inputs, same stream)."""
    if config.users < 50 or config.days < 2:
        raise ValueError("simulate at least 50 users over at least 2 days")
    was_enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of small dicts: cyclic GC passes only cost time
    try:
        return _build(config, seed)
    finally:
        if was_enabled:
            gc.enable()


def _build(config: SimConfig, seed: int) -> Stream:
    world = build_world(seed)
    pop_cfg = PopulationConfig(
        config.users,
        config.start,
        config.days,
        travel_x=config.travel_x,
        vpn_share=config.vpn_share,
    )
    population = build_population(world, pop_cfg, seed)
    em = Emitter(seed)
    sessions = Sessions(population.start, population.end)
    habits = BehaviourConfig(config.legit_bulk_rate, config.usage_sample)
    behaviour = Behaviour(em, world, population, sessions, seed, habits)
    behaviour.run()
    scored_start = config.start + config.warmup * DAY
    campaigns = inject_campaigns(behaviour, scored_start, config.per_cell, seed)
    em.events.sort(key=itemgetter("date_create"))
    em.signals.sort(key=itemgetter("date"))
    return Stream(config, seed, world, population, em.events, em.signals, em.labels, campaigns)


def campaign_record(c: Campaign) -> JSON:
    """A campaign as a JSON object (the sidecar `campaigns` table)."""
    record = asdict(c)
    record["variant"] = dict(c.variant)
    record["expected_reasons"] = sorted(c.expected_reasons)
    return record


def write_stream(stream: Stream, out: str | Path) -> WorldFiles:
    """Write events, signals, labels, campaigns, a manifest and the world's data files."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    _ndjson(directory / "events.ndjson", stream.events)
    _ndjson(directory / "signals.ndjson", stream.signals)
    labels = [{"id": k, **asdict(v)} for k, v in sorted(stream.labels.items())]
    _ndjson(directory / "labels.ndjson", labels)
    campaigns = [campaign_record(c) for c in stream.campaigns]
    (directory / "campaigns.json").write_bytes(orjson.dumps(campaigns, option=orjson.OPT_INDENT_2))
    files = write_world_files(stream.world, directory / "data", stream.start)
    manifest = {
        "seed": stream.seed,
        "config": asdict(stream.config),
        "start": stream.start,
        "scored_start": stream.scored_start,
        "end": stream.end,
        "events": len(stream.events),
        "signals": len(stream.signals),
        "campaigns": len(stream.campaigns),
        "data_files": asdict(files),
    }
    (directory / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return files


def _ndjson(path: Path, items: list[JSON]) -> None:
    with path.open("wb") as fh:
        for item in items:
            fh.write(orjson.dumps(item) + b"\n")
