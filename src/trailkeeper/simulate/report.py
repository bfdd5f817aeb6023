"""Rendering an evaluation: the §7 target table with PASS/SHORT, recall per scenario and tier,
false alarms per reason, the peer baselines at the same budget, cost; as text or JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from trailkeeper.simulate.metrics import Estimate
from trailkeeper.simulate.summary import COMPARED, Row, Summary, pct, rate


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def target_lines(rows: Sequence[Row]) -> list[str]:
    """The §7 targets, one per line, with the measured value and PASS/SHORT/REPORT."""
    return _table(
        ("target (spec §7)", "measured [95% CI]", "goal", "status"),
        [(r.name, r.measured, r.target, r.status) for r in rows],
    )


def recall_lines(summary: Summary) -> list[str]:
    """Recall per scenario and tier, any reason and an expected reason, with time to detect."""
    rows = []
    for r in summary.recall:
        ttd = r["ttd"]
        median = "-" if math.isnan(ttd["median_s"]) else f"{ttd['median_s']:.0f}"
        p95 = "-" if math.isnan(ttd["p95_s"]) else f"{ttd['p95_s']:.0f}"
        rows.append(
            (f"{r['scenario']} {r['name']}", r["tier"], pct(r["any"]), pct(r["expected"]),
             median, p95)
        )  # fmt: skip
    header = ("scenario", "tier", "recall, any reason", "recall, expected reason", "TTD med s")
    return _table((*header, "TTD p95 s"), rows)


def reason_lines(summary: Summary) -> list[str]:
    """False alarms per reason, with the detector evidence behind them."""
    rows = []
    for reason, e in sorted(summary.fa_reasons.items()):
        causes = summary.fa_causes.get(reason, [])
        rows.append(
            (reason, rate(e), ", ".join(f"{why} {100 * share:.0f}%" for why, share in causes))
        )
    header = ("reason", "false alarms / 1k users / day [95% CI]", "evidence (share)")
    return _table(header, rows or [("(none)", "0", "")])


def _short(e: Estimate) -> str:
    return "n/a" if e.n == 0 else f"{100 * e.value:.0f}%"


def baseline_lines(summary: Summary) -> list[str]:
    """Each baseline natively and at the same budget as Trailkeeper, recall per scenario."""
    ours = {r["scenario"]: r["any"] for r in summary.recall if r["tier"] == "all"}
    scenarios = [r["scenario"] for r in summary.recall if r["tier"] == "all"]
    header = ("detector", "setting", "FA/1k/day", *scenarios)
    total = summary.rows[0]
    rows = [
        (
            "Trailkeeper",
            "default",
            total.measured.split(" ")[0],
            *(_short(ours[s]) for s in scenarios),
        )
    ]
    for b in summary.baselines:
        for key, label in (("native", "native rules"), ("same_budget", "same budget"),
                           ("budget_1", "budget 1.0")):  # fmt: skip
            entry = b[key]
            recall = [_short(entry["recall"][s]) for s in scenarios]
            rows.append((b["name"], label, f"{entry['fa'].value:.3f}", *recall))
    return _table(header, rows)


def cost_lines(summary: Summary) -> list[str]:
    """Throughput and sizes."""
    c = summary.cost
    return [
        f"pipeline: {c['pipeline_events_per_s']:,.0f} events/s and "
        f"{c['pipeline_signals_per_s']:,.0f} signals/s per core (CPU time, enrichment included)",
        f"replay end to end (ingest + runner + store): {c['replay_inputs_per_s']:,.0f} inputs/s",
        f"state: {c['state_bytes_per_active_user']:,.0f} bytes per active user (worst seed)",
        f"ingest -> anomaly latency: p95 {c['ingest_to_anomaly_p95_s']:.2f} s, "
        f"p99 {c['ingest_to_anomaly_p99_s']:.2f} s",
        f"inputs: {c['events']:,.0f} events, {c['signals']:,.0f} signals, "
        f"{c['rejected']:,.0f} rejected by ingest",
        f"seconds: generate {c['generate_s']:.0f}, ingest {c['ingest_s']:.0f}, "
        f"detect {c['detect_s']:.0f}, baselines {c['baselines_s']:.0f} (wall, summed over seeds); "
        f"{c['cpu_s']:.0f} CPU-seconds in the seed processes",
    ]


def render_text(summary: Summary) -> str:
    """The whole report as text."""
    meta = summary.meta
    head = (
        f"Trailkeeper detection quality: {meta['users']} users x {meta['days']} days "
        f"(scored after day {meta['warmup_days']}), seeds {meta['seeds']}, "
        f"{meta['campaigns']} campaigns"
    )
    if meta.get("travel_x", 1.0) != 1.0 or meta.get("vpn_share", 0.05) != 0.05:
        head += f"; robustness: travel x{meta['travel_x']}, VPN share {meta['vpn_share']}"
    passed = sum(r.status == "PASS" for r in summary.rows)
    short = sum(r.status == "SHORT" for r in summary.rows)
    parts = [
        head,
        "",
        *target_lines(summary.rows),
        f"{passed} PASS, {short} SHORT",
        "",
        "Recall per scenario and tier (campaign detected by start .. end + 1 h):",
        *recall_lines(summary),
        "",
        "False alarms per reason:",
        *reason_lines(summary),
        "",
        f"Peer baselines on the same streams (recall; compared on {', '.join(COMPARED)}):",
        *baseline_lines(summary),
        "",
        "Cost:",
        *cost_lines(summary),
    ]
    return "\n".join(parts) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Estimate):
        return _plain(value.as_dict())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def to_json(summary: Summary) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    data: dict[str, Any] = _plain(
        {
            "meta": summary.meta,
            "targets": [asdict(r) for r in summary.rows],
            "recall": summary.recall,
            "false_alarms_by_reason": summary.fa_reasons,
            "false_alarm_evidence": summary.fa_causes,
            "time_to_detect": summary.ttd,
            "baselines": summary.baselines,
            "cost": summary.cost,
        }
    )
    return data
