"""The §7 rows: PASS/SHORT/REPORT decisions, the robustness goal, the baseline comparison."""

from __future__ import annotations

import math

from trailkeeper.simulate.metrics import Estimate
from trailkeeper.simulate.report import to_json
from trailkeeper.simulate.summary import (
    Summary,
    at_least,
    at_most,
    comparison_row,
    pct,
    total_goal,
)


def estimate(value: float, low: float | None = None, high: float | None = None) -> Estimate:
    return Estimate(value, value if low is None else low, value if high is None else high, 20)


def test_recall_rows_pass_at_the_goal_and_fall_short_below_it() -> None:
    assert at_least("x", estimate(0.95), 0.95).status == "PASS"
    assert at_least("x", estimate(0.90), 0.95).status == "SHORT"
    assert at_least("x", estimate(0.50), None).status == "REPORT"
    assert at_least("x", Estimate(math.nan, math.nan, math.nan, 0), 0.9).status == "n/a"


def test_rate_and_cost_rows_pass_within_the_goal() -> None:
    assert at_most("fa", 0.99, 1.0, "<= 1.0").status == "PASS"
    assert at_most("fa", 1.01, 1.0, "<= 1.0").status == "SHORT"
    assert at_most("fa", math.nan, 1.0, "<= 1.0").status == "n/a"


def test_percentages_show_their_interval_and_size() -> None:
    assert pct(Estimate(0.5, 0.25, 0.75, 8)) == "50.0% [25.0-75.0] n=8"


def test_robustness_settings_relax_the_total_goal_to_two() -> None:
    assert total_goal({}) == 1.0
    assert total_goal({"travel_x": 4.0}) == 2.0
    assert total_goal({"vpn_share": 0.2}) == 2.0


def baseline(recalls: dict[str, Estimate]) -> dict[str, object]:
    return {"name": "BL-X", "same_budget": {"recall": recalls}}


def test_comparison_passes_only_when_higher_on_every_compared_scenario() -> None:
    ours = {s: estimate(0.9, 0.8, 1.0) for s in ("S1", "S2", "S3", "S4")}
    weaker = {s: estimate(0.2, 0.1, 0.3) for s in ours}
    row = comparison_row(ours, [baseline(weaker)])
    assert row.status == "PASS"
    assert "CIs disjoint" in row.measured
    tied = {**weaker, "S3": estimate(0.9)}
    row = comparison_row(ours, [baseline(tied)])
    assert row.status == "SHORT"
    assert "BL-X S3" in row.measured


def test_json_has_no_nan_or_infinity() -> None:
    summary = Summary({"users": 1}, cost={"p95": math.nan, "threshold": -math.inf})
    data = to_json(summary)
    assert data["cost"] == {"p95": None, "threshold": None}
