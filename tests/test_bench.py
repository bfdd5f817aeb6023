"""`trailkeeper bench`: its statistics, its synthetic events, its ceilings, and one real quick run.

Speed is never asserted here: the run is checked for reporting every figure with a number.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from trailkeeper.bench.cases import (
    COMBINED,
    ENTITY,
    FILTERS,
    ORG_ONLY,
    WINDOW,
    WINDOW_S,
    SampledRow,
    case_params,
)
from trailkeeper.bench.load import LatencyStats, percentile
from trailkeeper.bench.report import (
    BenchResult,
    Figure,
    HistoryInfo,
    IngestFigures,
    MachineInfo,
    ThroughputFigures,
    all_figures,
    render_report,
)
from trailkeeper.bench.runner import (
    HISTORY,
    INGEST,
    RAW_ORG_ID,
    BenchOptions,
    display_url,
    finish_database,
    prepare_database,
)
from trailkeeper.bench.synth import (
    COMMON_ACTION,
    RARE_ACTION,
    EventFactory,
    Timeline,
    batch_payload,
    ensure_directory,
    history_timeline,
    recover_history_timeline,
    synth_org,
)
from trailkeeper.bench.wrk import parse_wrk
from trailkeeper.catalog import Catalog
from trailkeeper.cli import cli
from trailkeeper.config import load_settings
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.errors import ConfigError
from trailkeeper.ingest import parse_batch
from trailkeeper.query import LogFilter
from trailkeeper.storage import open_store
from trailkeeper.storage.ceiling import discard_organizations, measure_raw_insert
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import prepare_event
from trailkeeper.web.audit_api import logs_body
from trailkeeper.web.minimal import MinimalLogsApp
from trailkeeper.web.services import CURSOR_SECRET, build_services

NOW = int(time.time())

# --- statistics ----------------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 95) == pytest.approx(3.85)


def test_percentile_of_one_value_is_that_value_and_of_none_is_nan() -> None:
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


def test_latency_stats_sort_samples_and_report_milliseconds() -> None:
    stats = LatencyStats.of([0.003, 0.001, 0.002])
    assert stats.count == 3
    assert stats.p50_ms == pytest.approx(2.0)
    assert stats.max_ms == pytest.approx(3.0)
    assert math.isnan(LatencyStats.of([]).p95_ms)


def test_a_figure_passes_or_falls_short_of_its_target() -> None:
    assert Figure("rate", 16_000, "events/s", 15_000).verdict == "PASS"
    assert Figure("rate", 14_000, "events/s", 15_000).verdict == "SHORT"
    assert Figure("p95", 4.0, "ms", 5.0, at_most=True).verdict == "PASS"
    assert Figure("p95", 6.0, "ms", 5.0, at_most=True).verdict == "SHORT"
    assert Figure("p95", math.nan, "ms", 5.0, at_most=True).verdict == "n/a"
    assert Figure("memory", 40.0, "MiB").verdict == ""


WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:8000/audit/v1/logs?limit=100
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.01ms    3.10ms  40.50ms   80.00%
    Req/Sec     2.66k   100.00     2.80k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%   15.00ms
     99%   25.10ms
  5321 requests in 2.00s, 30.12MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2660.50
Transfer/sec:     15.06MB
"""


def test_wrk_output_is_read_for_requests_errors_and_latency() -> None:
    result = parse_wrk(WRK_OUTPUT, 2.0)
    assert result.requests == 5321
    assert result.errors == 3
    assert result.requests_per_s == pytest.approx((5321 - 3) / 2.0)
    assert result.latency.p50_ms == pytest.approx(11.5)
    assert result.latency.p99_ms == pytest.approx(25.1)
    assert result.generator == "wrk"


def test_printed_database_urls_hide_credentials() -> None:
    assert display_url("postgresql://bench:secret@db:5432/tk") == "postgresql://…@db:5432/tk"
    assert display_url("sqlite:////tmp/bench.db") == "sqlite:////tmp/bench.db"


# --- synthetic events ----------------------------------------------------------------------------

SYNTH = synth_org("ESYNTH", "synth")


def _validate(catalog: Catalog, store: SQLiteStore, body: bytes) -> bytes:
    prepared = prepare_event(
        orjson.loads(body), catalog, LocationIndex(store), now=NOW, max_event_bytes=65536
    )
    return prepared.body


@pytest.fixture
def synth_store(store: SQLiteStore) -> SQLiteStore:
    ensure_directory(store, SYNTH)
    return store


def test_synthetic_events_validate_and_keep_their_exact_bytes(
    catalog: Catalog, synth_store: SQLiteStore
) -> None:
    timeline = history_timeline(2000, NOW - 3600)
    events = EventFactory(SYNTH, seed=3, users=200).make_events(0, 2000, timeline)
    index = LocationIndex(synth_store)
    for event in events:
        prepared = prepare_event(
            orjson.loads(event.body), catalog, index, now=NOW, max_event_bytes=65536
        )
        assert prepared.body == event.body
        assert (prepared.org_id, prepared.id, prepared.date_create) == (
            event.org_id,
            event.id,
            event.date_create,
        )
        assert (prepared.action, prepared.actor_id, prepared.entity_id) == (
            event.action,
            event.actor_id,
            event.entity_id,
        )


def test_synthetic_events_are_the_same_for_the_same_seed_and_index() -> None:
    timeline = Timeline(NOW - 600, 600, 100)
    first = EventFactory(SYNTH, seed=5, users=50).make_events(10, 20, timeline)
    again = EventFactory(SYNTH, seed=5, users=50).make_events(10, 20, timeline)
    other = EventFactory(SYNTH, seed=6, users=50).make_events(10, 20, timeline)
    assert [e.body for e in first] == [e.body for e in again]
    assert [e.body for e in first] != [e.body for e in other]


def test_synthetic_history_is_oldest_first_and_spread_over_its_timeline() -> None:
    timeline = history_timeline(5000, NOW)
    events = EventFactory(SYNTH, seed=1, users=100).make_events(0, 5000, timeline)
    dates = [e.date_create for e in events]
    assert dates == sorted(dates)
    assert dates[0] == timeline.start
    assert dates[-1] <= NOW
    assert len({e.id for e in events}) == 5000


def test_the_action_mix_has_a_common_and_a_rare_action() -> None:
    timeline = history_timeline(20_000, NOW)
    events = EventFactory(SYNTH, seed=1, users=100).make_events(0, 20_000, timeline)
    counts = Counter(e.action for e in events)
    assert counts.most_common(1)[0][0] == COMMON_ACTION
    assert counts[RARE_ACTION] < counts[COMMON_ACTION] / 1000
    assert len({e.actor_id for e in events}) > 50
    assert len({e.entity_id for e in events}) > 500


def test_a_history_timeline_is_recovered_from_its_newest_event() -> None:
    for total in (3000, 20_000, 1_000_000):
        timeline = history_timeline(total, NOW)
        assert recover_history_timeline(total, timeline.date_of(total - 1)) == timeline


def test_a_batch_payload_is_a_batch_the_ingest_path_parses() -> None:
    events = EventFactory(SYNTH, seed=1, users=20).make_events(0, 500, Timeline(NOW, 60, 500))
    items = parse_batch(batch_payload(events), max_events=10_000)
    assert [item["id"] for item in items] == [e.id for e in events]  # type: ignore[index]


def test_every_case_but_the_time_window_starts_at_a_cursor() -> None:
    timeline = history_timeline(1_000_000, NOW)
    row = SampledRow("U0000001", "C0000002")
    rng = random.Random(1)
    params = {kind: case_params(kind, rng, row, "CURSOR", timeline) for kind in FILTERS}
    assert params[ORG_ONLY] == {"cursor": "CURSOR"}
    assert params[COMBINED] == {"action": COMMON_ACTION, "actor": "U0000001", "cursor": "CURSOR"}
    assert params[ENTITY]["entity"] == "C0000002"
    window = params[WINDOW]
    oldest, latest = int(window["oldest"]), int(window["latest"])
    assert latest - oldest == WINDOW_S - 1
    quarter = timeline.span_s // 4
    assert timeline.start + quarter <= oldest <= latest <= timeline.end - quarter


# --- the raw ceiling ------------------------------------------------------------------------------


def _raw_ceiling_round_trip(url: str) -> None:
    store = open_store(url)
    store.migrate()
    ensure_directory(store, SYNTH)
    events = EventFactory(SYNTH, seed=1, users=20).make_events(0, 1200, Timeline(NOW, 60, 1200))
    store.append(events[:200])  # a real organization next to the scratch one
    batches = [events[i : i + 500] for i in range(200, 1200, 500)]
    result = measure_raw_insert(url, batches, RAW_ORG_ID)
    assert (result.events, result.batches) == (1000, 2)
    assert result.events_per_s > 0
    rows = store.scan(RAW_ORG_ID, LogFilter(), None, 5000)
    assert [r.body for r in reversed(rows)] == [e.body for e in events[200:]]
    assert discard_organizations(url, [RAW_ORG_ID]) >= 1000
    assert store.scan(RAW_ORG_ID, LogFilter(), None, 10) == []
    assert store.count_events(SYNTH.org.id) == 200
    store.close()


def test_the_raw_ceiling_inserts_the_same_rows_and_discards_them_on_sqlite(tmp_path: Path) -> None:
    _raw_ceiling_round_trip(f"sqlite:///{tmp_path / 'ceiling.db'}")


@pytest.mark.postgres
def test_the_raw_ceiling_inserts_the_same_rows_and_discards_them_on_postgres(
    postgres_schema_url: str,
) -> None:
    _raw_ceiling_round_trip(postgres_schema_url)


def test_the_raw_ceiling_connects_as_the_sqlite_store_writer_does(tmp_path: Path) -> None:
    from trailkeeper.storage.ceiling import _sqlite_connect

    path = tmp_path / "pragmas.db"
    store = SQLiteStore(str(path))
    ceiling = _sqlite_connect(f"sqlite:///{path}")
    for pragma in ("journal_mode", "synchronous", "cache_size", "busy_timeout"):
        sql = f"PRAGMA {pragma}"
        assert ceiling.execute(sql).fetchone() == store._writer.execute(sql).fetchone(), pragma
    ceiling.close()
    store.close()


def test_discarding_an_organization_removes_its_sequence_and_tree_but_not_its_directory(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'discard.db'}"
    store = open_store(url)
    store.migrate()
    ensure_directory(store, SYNTH)
    events = EventFactory(SYNTH, seed=1, users=20).make_events(0, 300, Timeline(NOW, 60, 300))
    store.append(events)
    discard_organizations(url, [SYNTH.org.id])
    assert store.count_events(SYNTH.org.id) == 0
    assert store.get_organization(SYNTH.org.id) is not None
    store.append(events)  # appending again starts a fresh sequence and tree
    assert store.count_events(SYNTH.org.id) == 300
    store.close()


# --- the minimal handler -------------------------------------------------------------------------


def test_the_minimal_handler_serves_the_bytes_the_app_serves(
    catalog: Catalog, synth_store: SQLiteStore, tmp_path: Path
) -> None:
    events = EventFactory(SYNTH, seed=1, users=20).make_events(0, 300, history_timeline(300, NOW))
    synth_store.append(events)
    settings = load_settings({}, data_dir=str(tmp_path), rate_limit_per_minute=0)
    services = build_services(settings, synth_store, catalog, clock=lambda: NOW)
    token, _ = admin.issue_token(synth_store, SYNTH.org.id, frozenset({READ_SCOPE}))
    key = synth_store.secret(CURSOR_SECRET)
    minimal = MinimalLogsApp(synth_store, SYNTH.org.id, key, settings, clock=lambda: NOW)
    headers = {"authorization": f"Bearer {token}"}
    for limit in (1, 100, 1000):
        expected = logs_body(services, headers, {"limit": str(limit)})
        assert minimal.page_body(limit) == expected


# --- the store of a run --------------------------------------------------------------------------


def test_a_kept_bench_database_is_reused_at_the_same_size(tmp_path: Path) -> None:
    options = BenchOptions(events=3000, keep=True, bench_dir=tmp_path)
    lines: list[str] = []
    first = prepare_database(options, lines.append)
    assert first.load_seconds is not None
    finish_database(first, options)
    reused = prepare_database(BenchOptions(events=3000, reuse=True, bench_dir=tmp_path), print)
    assert reused.load_seconds is None
    assert reused.timeline == first.timeline
    assert any("loaded 3,000" in line for line in lines)


def test_a_foreign_database_with_other_bench_history_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    first = prepare_database(BenchOptions(events=3000, database_url=url), print)
    finish_database(first, BenchOptions(database_url=url))
    assert (tmp_path / "mine.db").exists()  # never deleted: the bench did not choose the file
    with pytest.raises(ConfigError):
        prepare_database(BenchOptions(events=4000, database_url=url, reuse=True), print)


# --- one real run --------------------------------------------------------------------------------

NUMBER = r"\d[\d,]*(\.\d+)?"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    """`trailkeeper bench --quick` on a small store, with its printed report and JSON."""
    tmp = tmp_path_factory.mktemp("bench")
    json_path = tmp / "bench.json"
    args = [
        "bench",
        "--quick",
        "--events=3000",
        "--ingest-events=1000",
        "--duration-s=1",
        "--samples=5",
        "--clients=4",
        "--no-wrk",
        f"--bench-dir={tmp}",
        f"--json={json_path}",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, orjson.loads(json_path.read_bytes())


def test_a_quick_run_prints_every_figure_with_a_number(
    quick_run: tuple[str, dict[str, object]],
) -> None:
    report, _ = quick_run
    for label in (
        "HTTP ingest, durable acks",
        "raw insert, 500 rows/commit",
        "HTTP ingest / raw",
        "raw insert, 1000 rows/commit (grouped)",
        "/audit/v1/logs?limit=100 under 4 connections",
        "minimal ASGI handler, same query",
        "app / minimal",
        "peak memory (VmHWM), ingest server",
        "peak memory (VmHWM), read server",
        "peak memory (VmHWM), minimal server",
    ):
        line = next((ln for ln in report.splitlines() if ln.strip().startswith(label)), None)
        assert line is not None, f"{label!r} missing from:\n{report}"
        assert re.search(NUMBER, line.strip().removeprefix(label)), line
    for name in FILTERS:
        row = next(ln for ln in report.splitlines() if ln.startswith(name))
        assert len(re.findall(r"\d+\.\d\d", row)) == 4, row  # p50 and p95 at both page sizes
    assert "cores" in report
    assert "3,000 events" in report


def test_a_quick_run_writes_every_figure_as_a_number_to_json(
    quick_run: tuple[str, dict[str, object]],
) -> None:
    _, data = quick_run
    figures = data["figures"]
    assert isinstance(figures, list)
    assert len(figures) == 5 + 2 * 2 * len(FILTERS) + 3 + 3
    for figure in figures:
        assert isinstance(figure["value"], float | int), figure
        assert figure["verdict"] in ("PASS", "SHORT", "")


def test_a_quick_run_leaves_no_database_behind(
    quick_run: tuple[str, dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    bench_dirs = list(tmp_path_factory.getbasetemp().glob("bench*"))
    assert bench_dirs
    assert not list(bench_dirs[0].glob("*.db"))


def test_the_report_renders_a_result_without_a_run() -> None:
    from trailkeeper.bench.load import CaseResult, IngestResult, ThroughputResult
    from trailkeeper.storage.ceiling import RawInsertResult

    stats = LatencyStats.of([0.001, 0.002])
    result = BenchResult(
        machine=MachineInfo(2, "cpu", "3.11", "Linux", 0.5, 0.7),
        history=HistoryInfo(1000, "sqlite", "sqlite:///x.db", None),
        ingest=IngestFigures(
            IngestResult(1000, 2, 0, 0.1, stats),
            RawInsertResult(1000, 2, 0.05),
            RawInsertResult(1000, 1, 0.04),
            8,
            500,
        ),
        latency=[CaseResult(name, 100, stats, 0, 100.0) for name in (HISTORY.org.id, "x")],
        throughput=ThroughputFigures(
            ThroughputResult(100, 0, 1.0, stats), ThroughputResult(200, 0, 1.0, stats), 4, "/p"
        ),
        peak_memory_kib={"read": None},
        generator="python-asyncio",
        seconds=1.0,
    )
    text = render_report(result)
    assert "reused from an earlier run" in text
    assert "n/a" in text  # the unknown peak memory
    assert {f.verdict for f in all_figures(result)} <= {"PASS", "SHORT", "", "n/a"}
    assert INGEST.org.id != HISTORY.org.id
