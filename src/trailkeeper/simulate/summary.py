"""From seed runs to the figures of spec §7: every target row, recall per scenario and tier,
false alarms per reason, time to detect, cost, and the baselines at the same alert budget.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailkeeper.simulate.attacks import SCENARIO_NAMES, SCENARIOS, TIERS
from trailkeeper.simulate.evaluate import SeedRun
from trailkeeper.simulate.metrics import (
    DAY,
    Alarm,
    Estimate,
    Outcome,
    Scope,
    Scored,
    false_alarm_rate,
    false_alarms_by_reason,
    jitter,
    keep_at,
    match,
    outcomes,
    percentile,
    recall,
    threshold_at_budget,
    time_to_detect,
    within,
)

FA_GROUPS: dict[str, tuple[frozenset[str], float]] = {
    "tor": (frozenset({"tor"}), 0.05),
    "unexpected_scraping": (frozenset({"unexpected_scraping"}), 0.05),
    "session_fingerprint": (frozenset({"session_fingerprint"}), 0.05),
    "ip_address / asn": (frozenset({"ip_address", "asn"}), 0.5),
    "downloads + shares + deletions": (
        frozenset({"excessive_downloads", "excessive_file_shares", "unexpected_message_deletion"}),
        0.3,
    ),
    "unexpected_admin_action": (frozenset({"unexpected_admin_action"}), 0.1),
}
COMPARED = ("S1", "S2", "S3", "S4")
Hit = Callable[[Outcome], bool]


@dataclass(frozen=True)
class Row:
    """One §7 target: what was measured, the goal, and PASS / SHORT / REPORT (no goal) / n/a."""

    name: str
    measured: str
    target: str
    status: str
    value: float | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None


@dataclass
class Summary:
    """Everything the report prints."""

    meta: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    recall: list[dict[str, Any]] = field(default_factory=list)
    fa_reasons: dict[str, Estimate] = field(default_factory=dict)
    fa_causes: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    ttd: dict[str, dict[str, float]] = field(default_factory=dict)
    baselines: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)


def scope_of(run: SeedRun) -> Scope:
    """The scoring scope of a seed."""
    return Scope(run.seed, run.campaigns, run.labels, run.users, run.scored_start, run.end)


def pct(e: Estimate) -> str:
    """A proportion with its interval."""
    if e.n == 0 or math.isnan(e.value):
        return "n/a (n=0)"
    return f"{100 * e.value:.1f}% [{100 * e.low:.1f}-{100 * e.high:.1f}] n={e.n}"


def rate(e: Estimate) -> str:
    """A false-alarm rate with its interval."""
    if e.n == 0 or math.isnan(e.value):
        return "n/a"
    return f"{e.value:.3f} [{e.low:.3f}-{e.high:.3f}]"


def at_least(name: str, e: Estimate, goal: float | None, shown: str | None = None) -> Row:
    """A recall row: PASS when the point estimate reaches `goal` (None: report only)."""
    target = shown or ("report" if goal is None else f">= {100 * goal:.0f}%")
    if e.n == 0:
        status = "n/a"
    elif goal is None:
        status = "REPORT"
    else:
        status = "PASS" if e.value >= goal - 1e-9 else "SHORT"
    return Row(name, pct(e), target, status, e.value, (e.low, e.high), e.n)


def at_most(name: str, value: float, goal: float, shown: str, ci: Estimate | None = None) -> Row:
    """A cost or rate row: PASS when the value stays within `goal`."""
    status = "n/a" if math.isnan(value) else ("PASS" if value <= goal + 1e-12 else "SHORT")
    measured = rate(ci) if ci is not None else f"{value:,.3g}"
    return Row(name, measured, shown, status, value, (ci.low, ci.high) if ci else None)


def _rows_where(
    rows: Sequence[Outcome], scenario: str, test: Callable[[Outcome], bool]
) -> list[Outcome]:
    return [o for o in rows if o.campaign.scenario == scenario and test(o)]


def _variant(o: Outcome, key: str) -> str:
    return str(o.campaign.variant.get(key, ""))


def _tier(name: str) -> Hit:
    return lambda o: o.campaign.tier == name


def _is(key: str, *values: str) -> Hit:
    return lambda o: _variant(o, key) in values


def _big_exfil(o: Outcome) -> bool:
    return o.campaign.tier == "targeted" and float(_variant(o, "exfil_k") or 0) >= 10


def _blind_hijack(o: Outcome) -> bool:
    return o.campaign.tier == "targeted" and _variant(o, "fingerprint") == "absent"


# (row, scenario, which campaigns, goal or None for report-only, detection test or None: any)
RECALL_TARGETS: tuple[tuple[str, str, Hit, float | None, Hit | None], ...] = (
    ("Tor (S2, all tiers)", "S2", bool, 1.0, None),
    ("S1 naive credential theft within 5 min", "S1", _tier("naive"), 0.95, within(300)),
    ("S1 VPN tier by campaign end", "S1", _tier("vpn"), 0.80, None),
    ("S1 targeted with >= 10x exfiltration", "S1", _big_exfil, 0.90, None),
    ("S1 targeted, all", "S1", _tier("targeted"), None, None),
    ("S3 hijack, different ASN or client", "S3", lambda o: not _blind_hijack(o), 0.95, None),
    ("S3 same city, identical UA, no fingerprint", "S3", _blind_hijack, None, None),
    ("S4 exfiltration >= 10x baseline", "S4", _is("k", "10", "30"), 0.95, None),
    ("S4 exfiltration 3x baseline", "S4", _is("k", "3"), 0.60, None),
    ("S4 slow 2x/day for 7 days", "S4", _is("k", "slow"), None, None),
    ("S5 scraping with a script UA", "S5", _is("mode", "script"), 1.0, None),
    ("S5 scraping with a spoofed UA + volume", "S5", _is("mode", "spoofed"), 0.90, None),
    ("S6 admin escalation chain", "S6", bool, 0.90, None),
    ("S7 spray / stuffing", "S7", bool, None, None),
    ("S8 message purge", "S8", bool, None, None),
)


def recall_rows(out: Sequence[Outcome]) -> list[Row]:
    """The recall targets of spec §7."""
    rows = []
    for name, scenario, which, goal, test in RECALL_TARGETS:
        chosen = _rows_where(out, scenario, which)
        shown = "report (stretch >= 50%)" if name.startswith("S3 same city") else None
        rows.append(at_least(name, recall(chosen, test), goal, shown))
    return rows


def total_goal(meta: dict[str, Any]) -> float:
    """The total false-alarm goal: 1.0, or 2.0 under the §7 robustness settings."""
    stressed = meta.get("travel_x", 1.0) >= 4 or meta.get("vpn_share", 0.05) >= 0.2
    return 2.0 if stressed else 1.0


def fa_rows(scored: Sequence[Scored], goal: float = 1.0) -> list[Row]:
    """The false-alarm targets of spec §7 (`goal`: the total's)."""
    total = false_alarm_rate(scored)
    name = "False alarms, total (FA/1k users/day)"
    rows = [at_most(name, total.value, goal, f"<= {goal}", total)]
    for group, (reasons, limit) in FA_GROUPS.items():
        e = false_alarm_rate(scored, reasons)
        rows.append(at_most(f"False alarms: {group}", e.value, limit, f"<= {limit}", e))
    return rows


def cold_start_row(runs: Sequence[SeedRun], scored: Sequence[Scored], steady: float) -> Row:
    """False alarms on joiners in their first 14 days vs the steady-state rate (<= 2x)."""
    alarms, days = 0, 0.0
    for run, s in zip(runs, scored, strict=True):
        for uid, joined in run.joiners.items():
            lo, hi = max(joined, run.scored_start), min(joined + 14 * DAY, run.end)
            if hi > lo:
                days += (hi - lo) / DAY
                alarms += sum(1 for a in s.false if a.actor == uid and lo <= a.ts < hi)
    value = 1000 * alarms / days if days else math.nan
    limit = 2 * steady
    status = (
        "n/a" if not days else ("PASS" if value <= max(limit, 1e-12) or alarms == 0 else "SHORT")
    )
    shown = (
        f"{value:.3f} over {days:.0f} joiner-days" if days else "no joiners in the scored window"
    )
    return Row(
        "Cold start: joiners' first 14 days (FA/1k/day)",
        shown,
        f"<= 2x steady ({limit:.3f})",
        status,
        value,
    )


def cost_rows(runs: Sequence[SeedRun]) -> tuple[list[Row], dict[str, float]]:
    """Throughput, state and latency figures."""
    events = sum(r.cost.events for r in runs)
    signals = sum(r.cost.signals for r in runs)
    ev_s = sum(r.cost.pipeline_event_s for r in runs)
    sig_s = sum(r.cost.pipeline_signal_s for r in runs)
    replay_s = sum(r.cost.ingest_s + r.cost.detect_s for r in runs)
    per_user = [r.cost.state_bytes / max(1, r.cost.active_actors) for r in runs]
    latencies = [x for r in runs for x in r.cost.latencies_s]
    cost = {
        "pipeline_events_per_s": events / ev_s if ev_s else math.nan,
        "pipeline_signals_per_s": signals / sig_s if sig_s else math.nan,
        "replay_inputs_per_s": (events + signals) / replay_s if replay_s else math.nan,
        "state_bytes_per_active_user": max(per_user) if per_user else math.nan,
        "ingest_to_anomaly_p95_s": percentile(latencies, 95),
        "ingest_to_anomaly_p99_s": percentile(latencies, 99),
        "events": float(events),
        "signals": float(signals),
        "rejected": float(sum(r.cost.rejected for r in runs)),
        "generate_s": sum(r.cost.generate_s for r in runs),
        "ingest_s": sum(r.cost.ingest_s for r in runs),
        "detect_s": sum(r.cost.detect_s for r in runs),
        "baselines_s": sum(r.cost.baselines_s for r in runs),
        "cpu_s": sum(r.cost.cpu_s for r in runs),
    }
    speed = cost["pipeline_events_per_s"]
    status = "n/a" if math.isnan(speed) else ("PASS" if speed >= 5000 else "SHORT")
    state = cost["state_bytes_per_active_user"]
    rows = [
        Row("Events/s per core (pipeline incl. enrichment)", f"{speed:,.0f}", ">= 5,000", status),
        at_most("State bytes per active user", state, 4096, "<= 4,096"),
        at_most("Ingest -> anomaly latency p95 (s)", cost["ingest_to_anomaly_p95_s"], 60, "<= 60"),
    ]
    return rows, cost


def false_alarm_causes(
    scored: Sequence[Scored], top: int = 3
) -> dict[str, list[tuple[str, float]]]:
    """Per reason, the detector evidence (`detector:change`) behind its false alarms, by share."""
    causes: dict[str, Counter[str]] = {}
    for s in scored:
        for alarm in s.false:
            for reason in alarm.reasons:
                causes.setdefault(reason, Counter())[alarm.why or "?"] += 1
    return {
        reason: [(why, n / sum(c.values())) for why, n in c.most_common(top)]
        for reason, c in sorted(causes.items())
    }


def recall_table(out: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Recall (any reason and an expected reason) and time to detect per scenario and tier."""
    table = []
    for scenario in SCENARIOS:
        for tier in (*TIERS, "all"):
            rows = [
                o
                for o in out
                if o.campaign.scenario == scenario and tier in ("all", o.campaign.tier)
            ]
            table.append(
                {
                    "scenario": scenario,
                    "name": SCENARIO_NAMES[scenario],
                    "tier": tier,
                    "any": recall(rows),
                    "expected": recall(rows, lambda o: o.expected),
                    "ttd": time_to_detect(rows),
                }
            )
    return table


def _by_scenario(out: Sequence[Outcome]) -> dict[str, Estimate]:
    return {s: recall([o for o in out if o.campaign.scenario == s]) for s in SCENARIOS}


def _score(alarm: Alarm) -> float:
    return alarm.score + jitter(alarm)


def baseline_table(runs: Sequence[SeedRun], budget: float) -> list[dict[str, Any]]:
    """Each baseline natively, at Trailkeeper's budget, and at the §7 budget of 1.0."""
    table = []
    for name in runs[0].baselines if runs else ():
        scored = [match(r.baselines[name], scope_of(r)) for r in runs]
        entry: dict[str, Any] = {
            "name": name,
            "native": {"fa": false_alarm_rate(scored), "recall": _by_scenario(_outs(scored))},
        }
        for key, limit in (("same_budget", budget), ("budget_1", 1.0)):
            threshold = threshold_at_budget(scored, limit, _score)
            kept = [keep_at(s, threshold, _score) for s in scored]
            entry[key] = {
                "budget": limit,
                "threshold": threshold,
                "fa": false_alarm_rate(kept),
                "recall": _by_scenario(_outs(kept)),
            }
        table.append(entry)
    return table


def _outs(scored: Sequence[Scored]) -> list[Outcome]:
    return [o for s in scored for o in outcomes(s)]


def comparison_row(ours: dict[str, Estimate], baselines: Sequence[dict[str, Any]]) -> Row:
    """Higher recall than every baseline on S1-S4 at the same budget (and whether the 95%
    intervals are disjoint)."""
    worse, overlaps = [], []
    for b in baselines:
        for s in COMPARED:
            theirs: Estimate = b["same_budget"]["recall"][s]
            if not ours[s].value > theirs.value:
                worse.append(f"{b['name']} {s}")
            elif not ours[s].low > theirs.high:
                overlaps.append(f"{b['name']} {s}")
    pairs = len(baselines) * len(COMPARED)
    measured = "higher on all" if not worse else f"not higher on {len(worse)}/{pairs}: "
    if worse:
        measured += ", ".join(worse[:3]) + (", ..." if len(worse) > 3 else "")
    if not worse:
        measured += "; CIs disjoint" if not overlaps else f"; CIs overlap on {len(overlaps)}"
    status = "n/a" if not baselines else ("PASS" if not worse else "SHORT")
    return Row(
        "Recall vs every peer baseline, S1-S4, same budget", measured, "higher on every one", status
    )


def summarize(runs: Sequence[SeedRun], meta: dict[str, Any]) -> Summary:
    """Every figure of the evaluation."""
    scored = [match(r.anomalies, scope_of(r)) for r in runs]
    out = _outs(scored)
    summary = Summary(meta)
    summary.rows = fa_rows(scored, total_goal(meta))
    total = summary.rows[0].value or 0.0
    summary.rows += recall_rows(out)
    summary.baselines = baseline_table(runs, total)
    summary.rows.append(comparison_row(_by_scenario(out), summary.baselines))
    summary.rows.append(cold_start_row(runs, scored, total))
    cost, summary.cost = cost_rows(runs)
    summary.rows += cost
    summary.recall = recall_table(out)
    summary.fa_reasons = false_alarms_by_reason(scored)
    summary.fa_causes = false_alarm_causes(scored)
    summary.ttd = {
        s: time_to_detect([o for o in out if o.campaign.scenario == s]) for s in SCENARIOS
    }
    return summary
