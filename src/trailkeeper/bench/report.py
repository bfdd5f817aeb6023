"""The figures of one benchmark run, their targets, and the table and JSON they are shown as.

Targets are the ones set for 1,000,000 events on a 2-core machine; every figure is printed next
to its target with PASS or SHORT, whatever the event count of the run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from trailkeeper.bench.load import CaseResult, IngestResult, ThroughputResult
from trailkeeper.storage.ceiling import RawInsertResult

INGEST_TARGET_EPS = 15_000.0
INGEST_RATIO_TARGET = 0.50
P95_TARGET_MS = {100: 5.0, 1000: 25.0}
THROUGHPUT_TARGET_RPS = 1_500.0
THROUGHPUT_RATIO_TARGET = 0.40


@dataclass(frozen=True)
class MachineInfo:
    """What the run was measured on."""

    cores: int
    cpu: str
    python: str
    system: str
    load_before: float  # 1-minute load average when the run started (NaN where unknown)
    load_after: float


@dataclass(frozen=True)
class HistoryInfo:
    """The synthetic store: its size, backend, and how it was made (None seconds: reused)."""

    events: int
    backend: str
    database: str
    load_seconds: float | None

    @property
    def load_events_per_s(self) -> float:
        """Bulk-load rate."""
        return self.events / self.load_seconds if self.load_seconds else math.nan


@dataclass(frozen=True)
class IngestFigures:
    """HTTP ingest next to its raw storage ceilings."""

    http: IngestResult
    raw: RawInsertResult
    raw_grouped: RawInsertResult
    clients: int
    batch: int


@dataclass(frozen=True)
class ThroughputFigures:
    """The app's read throughput next to the minimal handler's."""

    app: ThroughputResult
    minimal: ThroughputResult
    connections: int
    path: str


@dataclass(frozen=True)
class BenchResult:
    """Everything one run measured."""

    machine: MachineInfo
    history: HistoryInfo
    ingest: IngestFigures
    latency: list[CaseResult]
    throughput: ThroughputFigures
    peak_memory_kib: dict[str, int | None]
    generator: str
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    """One printed number, with its target (a floor, or a ceiling when `at_most`)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    at_most: bool = False

    @property
    def verdict(self) -> str:
        """PASS, SHORT, n/a (not measured) or empty (no target)."""
        if self.target is None:
            return ""
        if math.isnan(self.value):
            return "n/a"
        met = self.value <= self.target if self.at_most else self.value >= self.target
        return "PASS" if met else "SHORT"


def _number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:,.0f} {unit}"


def _target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    return ("<= " if figure.at_most else ">= ") + _number(figure.target, figure.unit)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan


def _rows_per_commit(raw: RawInsertResult) -> int:
    return round(raw.events / raw.batches) if raw.batches else 0


def ingest_figures(ingest: IngestFigures) -> list[Figure]:
    """HTTP ingest, the raw ceilings and the ratios."""
    http, raw, grouped = ingest.http.events_per_s, ingest.raw, ingest.raw_grouped
    name = f"HTTP ingest, durable acks, {ingest.clients} clients x {ingest.batch}"
    return [
        Figure(name, http, "events/s", INGEST_TARGET_EPS),
        Figure(f"raw insert, {_rows_per_commit(raw)} rows/commit", raw.events_per_s, "events/s"),
        Figure("  HTTP ingest / raw", _ratio(http, raw.events_per_s), "%", INGEST_RATIO_TARGET),
        Figure(
            f"raw insert, {_rows_per_commit(grouped)} rows/commit (grouped)",
            grouped.events_per_s,
            "events/s",
        ),
        Figure(
            "  HTTP ingest / raw grouped",
            _ratio(http, grouped.events_per_s),
            "%",
            INGEST_RATIO_TARGET,
        ),
    ]


def latency_figures(cases: list[CaseResult]) -> list[Figure]:
    """p50 and p95 of every latency case (p95 carries the target)."""
    figures = []
    for case in cases:
        label = f"/logs {case.name}, limit={case.limit}"
        figures.append(Figure(f"{label} p50", case.latency.p50_ms, "ms"))
        target = P95_TARGET_MS.get(case.limit)
        figures.append(Figure(f"{label} p95", case.latency.p95_ms, "ms", target, at_most=True))
    return figures


def throughput_figures(throughput: ThroughputFigures) -> list[Figure]:
    """The app's requests/s, the minimal handler's, and their ratio."""
    app, minimal = throughput.app.requests_per_s, throughput.minimal.requests_per_s
    return [
        Figure(
            f"{throughput.path} under {throughput.connections} connections",
            app,
            "req/s",
            THROUGHPUT_TARGET_RPS,
        ),
        Figure("minimal ASGI handler, same query", minimal, "req/s"),
        Figure("  app / minimal", _ratio(app, minimal), "%", THROUGHPUT_RATIO_TARGET),
    ]


def memory_figures(peaks: dict[str, int | None]) -> list[Figure]:
    """Peak resident memory of every server run."""
    return [
        Figure(
            f"peak memory (VmHWM), {name} server", math.nan if kib is None else kib / 1024, "MiB"
        )
        for name, kib in peaks.items()
    ]


def all_figures(result: BenchResult) -> list[Figure]:
    """Every figure of a run, in report order."""
    return [
        *ingest_figures(result.ingest),
        *latency_figures(result.latency),
        *throughput_figures(result.throughput),
        *memory_figures(result.peak_memory_kib),
    ]


def _table(figures: list[Figure]) -> list[str]:
    cells = [(f.name, _number(f.value, f.unit), _target(f), f.verdict) for f in figures]
    header = ("figure", "measured", "target", "verdict")
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(3)]
    return [
        f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip()
        for a, b, c, d in [header, *cells]
    ]


def _latency_grid(cases: list[CaseResult]) -> list[str]:
    limits = sorted({c.limit for c in cases})
    names = list(dict.fromkeys(c.name for c in cases))
    by_key = {(c.name, c.limit): c for c in cases}
    width = max(len(n) for n in [*names, "filter"])
    top, head = " " * width, f"{'filter':<{width}}"
    for limit in limits:
        bound = P95_TARGET_MS.get(limit)
        title = f"limit={limit}" + (f", p95 <= {bound:g} ms" if bound is not None else "")
        top += f" | {title:^31}"
        head += f" | {'p50':>7} {'p95':>7} {'verdict':>7} {'rows':>6}"
    lines = [top, head]
    for name in names:
        line = f"{name:<{width}}"
        for limit in limits:
            case = by_key[(name, limit)]
            fig = Figure("", case.latency.p95_ms, "ms", P95_TARGET_MS.get(limit), at_most=True)
            line += (
                f" | {case.latency.p50_ms:>7.2f} {case.latency.p95_ms:>7.2f}"
                f" {fig.verdict:>7} {case.mean_entries:>6.0f}"
            )
        lines.append(line)
    return lines


def render_report(result: BenchResult) -> str:
    """The human-readable report: context, the main table, and the latency grid."""
    m, h = result.machine, result.history
    made = (
        f"bulk-loaded via Store.append in {h.load_seconds:.1f} s "
        f"({h.load_events_per_s:,.0f} events/s)"
        if h.load_seconds is not None
        else "reused from an earlier run (--reuse)"
    )
    requests = result.latency[0].latency.count if result.latency else 0
    lines = [
        "Trailkeeper bench",
        f"machine:   {m.cores} cores, {m.cpu}; Python {m.python}; {m.system}",
        f"load:      1-minute load average {m.load_before:.1f} before, {m.load_after:.1f} after",
        f"store:     {h.events:,} events, {h.backend} ({h.database})",
        f"history:   {made}",
        f"generator: {result.generator}, in a separate process from the server",
        "",
        *_table(ingest_figures(result.ingest)),
        "",
        f"/audit/v1/logs latency over HTTP keep-alive, ms ({requests} requests per cell;"
        " rows = mean entries per page)",
        *_latency_grid(result.latency),
        "",
        *_table(throughput_figures(result.throughput) + memory_figures(result.peak_memory_kib)),
        "",
        *[f"note: {n}" for n in result.notes],
        f"total bench time: {result.seconds:.0f} s",
    ]
    return "\n".join(lines)


def result_json(result: BenchResult) -> bytes:
    """The run as JSON: the raw measurements and the figures with their verdicts."""
    data: dict[str, Any] = asdict(result)
    data["figures"] = [{**asdict(f), "verdict": f.verdict} for f in all_figures(result)]
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)
