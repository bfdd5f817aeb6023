"""Benchmark arithmetic and rendering: figures and their targets, ratios, the report's lines
and JSON, `wrk` output in every unit, specs across the process boundary, and the timeline."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.bench.load import (
    CaseResult,
    Endpoint,
    IngestResult,
    IngestSpec,
    LatencyCase,
    LatencySpec,
    LatencyStats,
    ProtocolError,
    ThroughputResult,
    ThroughputSpec,
    _stats,
    decode_spec,
    encode_spec,
    percentile,
)
from trailkeeper.bench.report import (
    BenchResult,
    HistoryInfo,
    IngestFigures,
    MachineInfo,
    ThroughputFigures,
    ingest_figures,
    latency_figures,
    memory_figures,
    render_report,
    result_json,
    throughput_figures,
)
from trailkeeper.bench.synth import (
    Timeline,
    _zipf_cum_weights,
    history_timeline,
    recover_history_timeline,
)
from trailkeeper.bench.wrk import parse_wrk
from trailkeeper.storage.ceiling import RawInsertResult

NOW = 1_700_000_000
STATS = LatencyStats.of([0.002, 0.004, 0.006])
EP = Endpoint("127.0.0.1", 8123, "xoxp-1")


def ingest(http_eps: float = 12_000.0, raw_eps: float = 20_000.0) -> IngestFigures:
    return IngestFigures(
        IngestResult(int(http_eps), 10, 0, 1.0, STATS),
        RawInsertResult(int(raw_eps), 40, 1.0),
        RawInsertResult(int(raw_eps * 2), 4, 1.0),
        clients=8,
        batch=500,
    )


def result(**overrides: object) -> BenchResult:
    fields: dict[str, object] = {
        "machine": MachineInfo(2, "Test CPU", "3.11.9", "Linux", 0.25, 1.5),
        "history": HistoryInfo(1_000_000, "sqlite", "sqlite:///bench.db", 50.0),
        "ingest": ingest(),
        "latency": [
            CaseResult("org only", 100, STATS, 0, 100.0),
            CaseResult("org only", 1000, LatencyStats.of([0.030]), 0, 1000.0),
            CaseResult("actor", 100, STATS, 1, 12.5),
            CaseResult("actor", 1000, STATS, 0, 12.5),
        ],
        "throughput": ThroughputFigures(
            ThroughputResult(3000, 0, 2.0, STATS), ThroughputResult(5000, 0, 2.0, STATS), 16, "/p"
        ),
        "peak_memory_kib": {"read": 204_800, "ingest": None},
        "generator": "python-asyncio",
        "seconds": 61.4,
        "notes": ["wrk not found"],
    }
    return BenchResult(**(fields | overrides))  # type: ignore[arg-type]


# --- figures -------------------------------------------------------------------------------------


def test_ingest_ratios_compare_http_with_each_raw_ceiling() -> None:
    http, raw, ratio, grouped, grouped_ratio = ingest_figures(ingest())
    assert http.name == "HTTP ingest, durable acks, 8 clients x 500"
    assert (http.value, http.verdict) == (12_000, "SHORT")
    assert raw.name == "raw insert, 500 rows/commit"
    assert ratio.value == pytest.approx(0.6)
    assert ratio.verdict == "PASS"
    assert grouped.name == "raw insert, 10000 rows/commit (grouped)"
    assert grouped_ratio.value == pytest.approx(0.3)
    assert grouped_ratio.verdict == "SHORT"


def test_a_ratio_over_nothing_is_not_applicable() -> None:
    figures = ingest_figures(ingest(raw_eps=0.0))
    assert math.isnan(figures[2].value)
    assert figures[2].verdict == "n/a"
    assert figures[1].name == "raw insert, 0 rows/commit"


def test_latency_targets_depend_on_the_page_size() -> None:
    cases = [CaseResult("x", limit, STATS, 0, 1.0) for limit in (100, 1000, 50)]
    p95s = [f for f in latency_figures(cases) if f.name.endswith("p95")]
    assert [(f.target, f.at_most) for f in p95s] == [(5.0, True), (25.0, True), (None, True)]
    assert [f.verdict for f in p95s] == ["SHORT", "PASS", ""]  # p95 is 5.8 ms
    assert all(f.target is None for f in latency_figures(cases) if f.name.endswith("p50"))


def test_throughput_is_judged_absolutely_and_against_the_minimal_handler() -> None:
    app, minimal, ratio = throughput_figures(result().throughput)
    assert (app.value, app.verdict) == (1500.0, "PASS")
    assert (minimal.value, minimal.verdict) == (2500.0, "")
    assert ratio.value == pytest.approx(0.6)
    assert app.name == "/p under 16 connections"


def test_peak_memory_is_shown_in_mib_or_not_at_all() -> None:
    read, ingest_run = memory_figures({"read": 204_800, "ingest": None})
    assert read.value == 200.0
    assert math.isnan(ingest_run.value)


def test_results_with_zero_seconds_report_zero_rates() -> None:
    assert IngestResult(10, 1, 0, 0.0, STATS).events_per_s == 0.0
    assert ThroughputResult(10, 2, 0.0, STATS).requests_per_s == 0.0
    assert ThroughputResult(10, 2, 2.0, STATS).requests_per_s == 4.0
    assert math.isnan(HistoryInfo(5, "sqlite", "x", None).load_events_per_s)


# --- the report ----------------------------------------------------------------------------------


def test_the_report_describes_the_machine_store_and_history() -> None:
    lines = render_report(result()).splitlines()
    assert lines[0] == "Trailkeeper bench"
    assert lines[1] == "machine:   2 cores, Test CPU; Python 3.11.9; Linux"
    assert lines[2] == "load:      1-minute load average 0.2 before, 1.5 after"
    assert lines[3] == "store:     1,000,000 events, sqlite (sqlite:///bench.db)"
    assert lines[4] == "history:   bulk-loaded via Store.append in 50.0 s (20,000 events/s)"
    assert lines[-2:] == ["note: wrk not found", "total bench time: 61 s"]


def test_the_report_formats_each_unit() -> None:
    text = render_report(result())
    assert "12,000 events/s" in text
    assert ">= 15,000 events/s" in text
    assert "60%" in text  # a ratio
    assert "200.0 MiB" in text
    assert "1,500 req/s" in text


def test_the_latency_grid_has_a_row_per_filter_and_a_column_per_limit() -> None:
    text = render_report(result())
    grid = text.split("rows = mean entries per page)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "limit=100, p95 <= 5 ms" in grid[0]
    assert "limit=1000, p95 <= 25 ms" in grid[0]
    assert [line.split()[0] for line in grid[2:]] == ["org", "actor"]
    org = grid[2].split("|")
    assert org[1].split() == ["4.00", "5.80", "SHORT", "100"]
    assert org[2].split() == ["30.00", "30.00", "SHORT", "1000"]


def test_the_report_table_aligns_numbers_right() -> None:
    text = render_report(result())
    table = text.split("\n\n")[1].splitlines()
    ends = {line.index(" events/s") for line in table if "events/s" in line and ">=" not in line}
    assert len(ends) == 1


def test_result_json_has_the_raw_run_and_every_figure_with_its_verdict() -> None:
    data = orjson.loads(result_json(result()))
    assert data["history"]["events"] == 1_000_000
    verdicts = {f["name"]: f["verdict"] for f in data["figures"]}
    assert verdicts["  HTTP ingest / raw"] == "PASS"
    assert verdicts["peak memory (VmHWM), ingest server"] == ""
    assert data["figures"][-1]["value"] is None  # NaN becomes null


# --- wrk -----------------------------------------------------------------------------------------


def test_wrk_latencies_in_every_unit_become_milliseconds() -> None:
    text = (
        "  Latency   850.00us  1.00ms  1.20s  90%\n"
        "     50%  850.00us\n"
        "     99%    1.50s\n"
        "  1000 requests in 1.00s, 1MB read\n"
        "  Socket errors: connect 1, read 2, write 3, timeout 4\n"
    )
    parsed = parse_wrk(text, 1.0)
    assert parsed.latency.p50_ms == pytest.approx(0.85)
    assert parsed.latency.p99_ms == pytest.approx(1500.0)
    assert parsed.latency.max_ms == pytest.approx(0.85)  # the average column, as wrk prints it
    assert parsed.errors == 10
    assert parsed.requests_per_s == 990.0
    assert math.isnan(parsed.latency.p95_ms)


def test_wrk_output_without_a_request_count_is_refused() -> None:
    with pytest.raises(ProtocolError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n", 1.0)


def test_wrk_output_without_a_distribution_has_no_percentiles() -> None:
    parsed = parse_wrk("  12 requests in 1.00s, 1KB read\n", 1.0)
    assert (parsed.requests, parsed.errors) == (12, 0)
    assert math.isnan(parsed.latency.p50_ms)


# --- specs across the process boundary -----------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        IngestSpec(EP, "E0BENCH", "bench", 7, Timeline(NOW, 3600, 5000), 500, 8),
        LatencySpec(EP, [LatencyCase("actor", 100, ["/a?x=1", "/b"])], warmup=3),
        ThroughputSpec(EP, "/audit/v1/logs?limit=100", 32, 5.0, 1.0),
    ],
)
def test_a_spec_survives_encoding(spec: IngestSpec | LatencySpec | ThroughputSpec) -> None:
    assert decode_spec(encode_spec(spec)) == spec


def test_an_unknown_phase_is_refused() -> None:
    raw = orjson.dumps({"phase": "soak", "endpoint": {"host": "h", "port": 1, "token": "t"}})
    with pytest.raises(ValueError, match="unknown phase"):
        decode_spec(raw)


def test_statistics_come_back_with_nan_for_null() -> None:
    data = orjson.loads(orjson.dumps(LatencyStats.of([]).__dict__))
    stats = _stats(data)
    assert stats.count == 0
    assert all(math.isnan(v) for v in (stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms))


# --- arithmetic ----------------------------------------------------------------------------------


@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=60), st.floats(0, 100))
def test_an_interpolated_percentile_lies_between_its_neighbours(
    values: list[float], q: float
) -> None:
    ordered = sorted(values)
    p = percentile(ordered, q)
    assert ordered[0] <= p <= ordered[-1]
    assert percentile(ordered, 50) <= percentile(ordered, 100)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert percentile([1.0, 2.0, 10.0, 20.0], 50) == 6.0
    assert LatencyStats.of([0.010, 0.001]).p50_ms == pytest.approx(5.5)


@given(st.integers(1, 5_000_000), st.integers(NOW - 10**8, NOW))
def test_a_timeline_is_recovered_from_its_newest_date(total: int, end: int) -> None:
    timeline = history_timeline(total, end)
    assert timeline.end == end
    assert recover_history_timeline(total, timeline.date_of(total - 1)) == timeline


@given(st.integers(1, 10_000), st.integers(1, 10**6))
def test_timeline_dates_grow_and_stay_inside_the_span(total: int, span: int) -> None:
    timeline = Timeline(NOW, span, total)
    dates = [timeline.date_of(i) for i in (0, total // 3, total // 2, total - 1)]
    assert dates == sorted(dates)
    assert dates[0] == NOW
    assert dates[-1] < timeline.end


def test_zipf_weights_are_cumulative_and_favour_the_first_ranks() -> None:
    weights = _zipf_cum_weights(100)
    steps = [b - a for a, b in zip([0.0, *weights[:-1]], weights, strict=True)]
    assert steps == sorted(steps, reverse=True)
    assert steps[0] == 1.0
    assert weights[9] / weights[-1] > 0.2  # the top tenth draws a good share
