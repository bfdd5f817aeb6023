"""The evaluation report from hand-made seed runs: the figures `summarize` derives, the text
tables `render_text` prints (aligned, complete, PASS/SHORT counted) and JSON without NaN."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest

from trailkeeper.simulate.attacks import SCENARIOS, TIERS, Campaign
from trailkeeper.simulate.evaluate import Cost, SeedRun
from trailkeeper.simulate.metrics import Alarm, match
from trailkeeper.simulate.records import Label
from trailkeeper.simulate.report import (
    baseline_lines,
    cost_lines,
    reason_lines,
    recall_lines,
    render_text,
    target_lines,
    to_json,
)
from trailkeeper.simulate.summary import Row, Summary, cold_start_row, scope_of, summarize

DAY = 86_400
T0 = 1_767_571_200
SCORED = T0 + 3 * DAY
END = T0 + 9 * DAY
META = {"users": 1000, "days": 9, "warmup_days": 3, "seeds": [1], "campaigns": 3}


def campaign(cid: str, scenario: str, tier: str, victim: str, day: int) -> Campaign:
    start = T0 + day * DAY
    return Campaign(cid, scenario, tier, victim, (victim,), start, start + 1800)


CAMPAIGNS = [
    campaign("c1", "S2", "naive", "U0TOR", 4),
    campaign("c2", "S1", "vpn", "U0VPN", 5),
    campaign("c3", "S4", "targeted", "U0BIG", 6),
]


def cost(**overrides: Any) -> Cost:
    figures: dict[str, Any] = {
        "events": 20_000,
        "signals": 10_000,
        "pipeline_event_s": 2.0,
        "pipeline_signal_s": 1.0,
        "ingest_s": 3.0,
        "detect_s": 3.0,
        "state_bytes": 2_000_000,
        "active_actors": 1000,
        "latencies_s": [0.1, 0.2, 0.3],
        "cpu_s": 9.0,
    }
    return Cost(**(figures | overrides))


def seed_run(anomalies: list[Alarm], baselines: dict[str, list[Alarm]] | None = None) -> SeedRun:
    return SeedRun(
        seed=1,
        users=1000,
        scored_start=SCORED,
        end=END,
        campaigns=CAMPAIGNS,
        labels={"ev-tor": Label("c1", "S2", "access")},
        joiners={"U0NEW": SCORED + DAY},
        anomalies=anomalies,
        baselines=baselines if baselines is not None else {"BL-Test": []},
        cost=cost(),
    )


ANOMALIES = [
    Alarm("U0OTHER", T0 + 4 * DAY, ("tor",), ("ev-tor",), why="Tor"),
    Alarm("U0VPN", CAMPAIGNS[1].start + 120, ("ip_address",), why="IpAddress"),
    Alarm("U0NOBODY", SCORED + 3600, ("session_fingerprint",), session=5, why="SF:country"),
    Alarm("U0NOBODY", SCORED + 7200, ("session_fingerprint",), session=5, why="SF:country"),
    Alarm("U0NEW", SCORED + DAY + 60, ("excessive_downloads",), why="ExcessiveDownloads"),
]


@pytest.fixture(scope="module")
def summary() -> Summary:
    baseline = [Alarm("U0TOR", CAMPAIGNS[0].start, ("okta",), score=2.0)]
    return summarize([seed_run(ANOMALIES, {"BL-Test": baseline})], META)


def row(summary: Summary, name: str) -> Row:
    return next(r for r in summary.rows if r.name.startswith(name))


# --- the figures ---------------------------------------------------------------------------------


def test_false_alarms_count_episodes_per_thousand_users_per_scored_day(summary: Summary) -> None:
    total = row(summary, "False alarms, total")
    assert total.value == pytest.approx(2 / 6)  # two episodes, 1,000 users, 6 scored days
    assert total.status == "PASS"
    assert row(summary, "False alarms: session_fingerprint").status == "SHORT"  # 1/6 > 0.05
    assert row(summary, "False alarms: tor").value == 0.0


def test_recall_rows_see_the_detected_and_the_missed(summary: Summary) -> None:
    tor = row(summary, "Tor (S2")
    assert (tor.value, tor.status, tor.n) == (1.0, "PASS", 1)
    vpn = row(summary, "S1 VPN tier")
    assert (vpn.value, vpn.status) == (1.0, "PASS")
    assert row(summary, "S4 exfiltration 3x").status == "n/a"  # no campaign of that variant
    assert row(summary, "S6 admin escalation").measured == "n/a (n=0)"


def test_a_joiners_alarm_in_the_first_two_weeks_counts_for_the_cold_start(
    summary: Summary,
) -> None:
    cold = row(summary, "Cold start")
    assert cold.value == pytest.approx(1000 * 1 / 5)  # one alarm over 5 joiner-days
    assert cold.status == "SHORT"


def test_cold_start_without_joiners_in_the_window_is_not_applicable() -> None:
    run = seed_run([])
    run.joiners = {"U0OLD": T0 - 30 * DAY}
    assert cold_start_row([run], [match([], scope_of(run))], 1.0).status == "n/a"


def test_cost_figures_are_rates_over_the_summed_seconds(summary: Summary) -> None:
    assert summary.cost["pipeline_events_per_s"] == 10_000
    assert summary.cost["pipeline_signals_per_s"] == 10_000
    assert summary.cost["replay_inputs_per_s"] == 5_000
    assert summary.cost["state_bytes_per_active_user"] == 2_000
    assert summary.cost["ingest_to_anomaly_p95_s"] == 0.3
    assert row(summary, "Events/s per core").status == "PASS"
    assert row(summary, "State bytes").status == "PASS"


def test_the_false_alarm_evidence_is_shared_out_by_cause(summary: Summary) -> None:
    assert summary.fa_causes == {
        "excessive_downloads": [("ExcessiveDownloads", 1.0)],
        "session_fingerprint": [("SF:country", 1.0)],
    }


def test_the_baseline_is_scored_natively_and_at_both_budgets(summary: Summary) -> None:
    (entry,) = summary.baselines
    assert entry["name"] == "BL-Test"
    assert entry["native"]["recall"]["S2"].value == 1.0
    assert entry["same_budget"]["budget"] == pytest.approx(2 / 6)
    assert entry["budget_1"]["budget"] == 1.0
    assert row(summary, "Recall vs every peer baseline").status == "SHORT"  # tied on S2


# --- the text ------------------------------------------------------------------------------------


def test_the_header_names_the_size_seeds_and_campaigns(summary: Summary) -> None:
    first = render_text(summary).splitlines()[0]
    assert first == (
        "Trailkeeper detection quality: 1000 users x 9 days (scored after day 3), "
        "seeds [1], 3 campaigns"
    )


def test_robustness_settings_are_named_in_the_header() -> None:
    meta = META | {"travel_x": 4.0, "vpn_share": 0.05}
    text = render_text(summarize([seed_run([])], meta))
    assert text.splitlines()[0].endswith("; robustness: travel x4.0, VPN share 0.05")
    assert "<= 2.0" in text


def test_the_pass_and_short_tally_matches_the_rows(summary: Summary) -> None:
    passed = sum(r.status == "PASS" for r in summary.rows)
    short = sum(r.status == "SHORT" for r in summary.rows)
    assert f"\n{passed} PASS, {short} SHORT\n" in render_text(summary)


def test_tables_are_aligned_under_their_headers(summary: Summary) -> None:
    for lines in (target_lines(summary.rows), recall_lines(summary), baseline_lines(summary)):
        header, rule = lines[0], lines[1]
        starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
        columns = [
            i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")
        ]
        assert set(starts) <= set(columns) | {0}
        assert all(line == line.rstrip() for line in lines)


def test_recall_has_a_row_per_scenario_and_tier_plus_all(summary: Summary) -> None:
    lines = recall_lines(summary)
    assert len(lines) == 2 + len(SCENARIOS) * (len(TIERS) + 1)
    tor_naive = next(line for line in lines if line.startswith("S2 Tor") and " naive " in line)
    assert "100.0% [100.0-100.0] n=1" in tor_naive
    missing = next(line for line in lines if line.startswith("S6 admin escalation"))
    assert missing.split()[-2:] == ["-", "-"]  # no time to detect without a detection


def test_reasons_print_rates_and_evidence_or_none(summary: Summary) -> None:
    lines = reason_lines(summary)
    assert any(
        line.startswith("session_fingerprint") and "SF:country 100%" in line for line in lines
    )
    quiet = reason_lines(Summary(META))
    assert quiet[2].split() == ["(none)", "0"]


def test_the_baseline_table_has_trailkeeper_then_three_settings_each(summary: Summary) -> None:
    body = baseline_lines(summary)[2:]
    assert [line.split()[0] for line in body] == ["Trailkeeper", "BL-Test", "BL-Test", "BL-Test"]
    assert "native rules" in body[1]
    assert "same budget" in body[2]
    assert "budget 1.0" in body[3]


def test_cost_lines_use_thousands_separators(summary: Summary) -> None:
    lines = cost_lines(summary)
    assert lines[0].startswith("pipeline: 10,000 events/s and 10,000 signals/s per core")
    assert "inputs: 20,000 events, 10,000 signals, 0 rejected by ingest" in lines
    assert lines[3] == "ingest -> anomaly latency: p95 0.30 s, p99 0.30 s"


def test_the_text_ends_with_a_newline_and_has_every_section(summary: Summary) -> None:
    text = render_text(summary)
    assert text.endswith("\n")
    for title in ("Recall per scenario and tier", "False alarms per reason:", "Cost:"):
        assert title in text
    assert "Peer baselines on the same streams (recall; compared on S1, S2, S3, S4):" in text


# --- JSON ----------------------------------------------------------------------------------------


def test_json_keeps_every_row_and_section(summary: Summary) -> None:
    data = to_json(summary)
    assert [t["name"] for t in data["targets"]] == [r.name for r in summary.rows]
    first = summary.recall[0]["any"]
    assert data["recall"][0]["any"]["n"] == first.n
    assert data["recall"][0]["any"]["value"] == (None if math.isnan(first.value) else first.value)
    assert set(data) == {
        "meta",
        "targets",
        "recall",
        "false_alarms_by_reason",
        "false_alarm_evidence",
        "time_to_detect",
        "baselines",
        "cost",
    }
    assert orjson.loads(orjson.dumps(data))["meta"] == META


def test_json_has_no_nan_even_in_empty_estimates() -> None:
    quiet = summarize([seed_run([], {})], META)
    json.dumps(to_json(quiet), allow_nan=False)
