"""`trailkeeper simulate` (a labelled synthetic stream to files) and `trailkeeper evaluate`
(replay through ingest and detection, print the spec §7 figures with PASS/SHORT).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
import orjson

from trailkeeper.simulate.evaluate import PROFILE_SEEDS, PROFILES, EvalConfig, SeedRun, evaluate
from trailkeeper.simulate.report import render_text, to_json
from trailkeeper.simulate.stream import SimConfig, build_stream, write_stream
from trailkeeper.simulate.summary import summarize


@click.command()
@click.option("--users", type=click.IntRange(50), default=2000, show_default=True)
@click.option("--days", type=click.IntRange(2), default=30, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--warmup-days", type=click.IntRange(1), help="Unscored days (default: days / 3).")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for events.ndjson, signals.ndjson, labels.ndjson, campaigns.json, data/.",
)
def simulate(*, users: int, days: int, seed: int, warmup_days: int | None, out: Path) -> None:
    """Write a deterministic, labelled synthetic audit stream (spec §3.2) and its data files.

    The same options and seed always give the same files. `data/` holds GeoLite2-format City
    and ASN databases and the Tor, cloud, VPN, IOC and suspicious-ASN lists of the synthetic
    world, for `TRAILKEEPER_DETECT_*` settings or `evaluate`.
    """
    started = time.perf_counter()
    stream = build_stream(SimConfig(users=users, days=days, warmup_days=warmup_days), seed)
    write_stream(stream, out)
    click.echo(
        f"{len(stream.events):,} events, {len(stream.signals):,} signals, "
        f"{len(stream.campaigns)} campaigns ({len(stream.labels):,} labelled items) "
        f"written to {out} in {time.perf_counter() - started:.1f} s"
    )


def _config(
    profile: str, users: int | None, days: int | None, knobs: tuple[float, float]
) -> SimConfig:
    base = PROFILES[profile]
    travel_x, vpn_share = knobs
    return SimConfig(
        users=users or base.users, days=days or base.days, travel_x=travel_x, vpn_share=vpn_share
    )


@click.command()
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="ci", show_default=True)
@click.option("--users", type=click.IntRange(50), help="Override the profile's users.")
@click.option("--days", type=click.IntRange(2), help="Override the profile's days.")
@click.option("--seeds", type=click.IntRange(1), help="Seeds 1..N (profile default: 5).")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=min(2, os.cpu_count() or 1),
    show_default=True,
    help="Seeds evaluated in parallel processes.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every figure as JSON here.",
)
@click.option(
    "--travel-x",
    type=click.FloatRange(0.0, 10.0),
    default=1.0,
    show_default=True,
    help="Robustness: multiply the trip rate (spec §7: total false alarms <= 2.0 at x4).",
)
@click.option(
    "--vpn-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.05,
    show_default=True,
    help="Robustness: share of commercial-VPN users (spec §7: <= 2.0 at 0.20).",
)
@click.option("--strict", is_flag=True, help="Exit with status 3 when any target is SHORT.")
def evaluate_command(
    *,
    profile: str,
    users: int | None,
    days: int | None,
    seeds: int | None,
    workers: int,
    json_path: Path | None,
    travel_x: float,
    vpn_share: float,
    strict: bool,
) -> None:
    """Measure detection quality (spec §7): replay simulated seeds through the real ingest and
    detection path and print every target with PASS/SHORT, plus the peer baselines.
    """
    sim = _config(profile, users, days, (travel_x, vpn_share))
    count = seeds or PROFILE_SEEDS[profile]
    cfg = EvalConfig(sim=sim, seeds=tuple(range(1, count + 1)), workers=workers)
    started = time.perf_counter()

    def progress(run: SeedRun) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"seed {run.seed}: {run.cost.events:,} events, {len(run.anomalies)} anomalies "
                   f"({elapsed:.0f} s)", err=True)  # fmt: skip

    runs = evaluate(cfg, progress=progress)
    meta = {
        "profile": profile,
        "users": sim.users,
        "days": sim.days,
        "warmup_days": sim.warmup,
        "travel_x": sim.travel_x,
        "vpn_share": sim.vpn_share,
        "seeds": list(cfg.seeds),
        "campaigns": sum(len(r.campaigns) for r in runs),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    summary = summarize(runs, meta)
    click.echo(render_text(summary), nl=False)
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(to_json(summary), option=orjson.OPT_INDENT_2))
    if strict and any(row.status == "SHORT" for row in summary.rows):
        sys.exit(3)


evaluate_command.name = "evaluate"
