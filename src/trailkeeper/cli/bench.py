"""`trailkeeper bench`: build a synthetic store, measure ingest, reads and memory, print figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from trailkeeper.bench import BenchError
from trailkeeper.bench.report import render_report, result_json
from trailkeeper.bench.runner import BenchOptions, default_bench_dir, quick_options, run_bench


def _options(quick: bool, **chosen: Any) -> BenchOptions:
    """Options from the command line: what was given overrides the (quick) defaults."""
    given = {k: v for k, v in chosen.items() if v is not None}
    return quick_options(**given) if quick else BenchOptions(**given)


@click.command()
@click.option(
    "--events",
    type=click.IntRange(min=1000),
    default=None,
    help="Events in the synthetic history (default 1,000,000; 20,000 with --quick).",
)
@click.option(
    "--database-url",
    default=None,
    help="Store to benchmark (default: a fresh SQLite file in the bench directory).",
)
@click.option("--keep", is_flag=True, help="Keep the bench database afterwards.")
@click.option(
    "--reuse",
    is_flag=True,
    help="Reuse a kept bench database of the same size instead of rebuilding it.",
)
@click.option("--quick", is_flag=True, help="A small run of seconds (what the tests run).")
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent connections of the read throughput phase (default 32).",
)
@click.option(
    "--ingest-clients",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent clients posting ingest batches (default 8).",
)
@click.option(
    "--ingest-events",
    type=click.IntRange(min=1),
    default=None,
    help="Events posted over HTTP, and inserted raw (default 200,000).",
)
@click.option(
    "--duration-s",
    type=click.FloatRange(min=0.5),
    default=None,
    help="Seconds of load per throughput measurement (default 10).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=None,
    help="Requests per latency case (default 300).",
)
@click.option(
    "--no-wrk",
    "no_wrk",
    is_flag=True,
    help="Use the built-in Python load generator even when wrk is installed.",
)
@click.option(
    "--bench-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where bench databases and server logs go (default {default_bench_dir()}).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results as JSON to this file.",
)
def bench(
    *,
    events: int | None,
    database_url: str | None,
    keep: bool,
    reuse: bool,
    quick: bool,
    clients: int | None,
    ingest_clients: int | None,
    ingest_events: int | None,
    duration_s: float | None,
    samples: int | None,
    no_wrk: bool,
    bench_dir: Path | None,
    json_path: Path | None,
) -> None:
    """Measure ingest, /audit/v1/logs latency and throughput, and memory, against targets."""
    options = _options(
        quick,
        events=events,
        duration_s=duration_s,
        database_url=database_url,
        keep=keep or None,
        reuse=reuse or None,
        clients=clients,
        ingest_clients=ingest_clients,
        ingest_events=ingest_events,
        samples=samples,
        use_wrk=False if no_wrk else None,
        bench_dir=bench_dir,
    )
    try:
        result = run_bench(options, lambda line: click.echo(line, err=True))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(render_report(result))
    if json_path is not None:
        json_path.write_bytes(result_json(result))
        click.echo(f"results written to {json_path}", err=True)
