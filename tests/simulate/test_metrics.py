"""Metric arithmetic on hand-made alarms and campaigns."""

from __future__ import annotations

import math

import pytest

from trailkeeper.simulate.attacks import Campaign
from trailkeeper.simulate.metrics import (
    Alarm,
    Estimate,
    Scope,
    bootstrap,
    episodes,
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
from trailkeeper.simulate.records import Label

DAY = 86_400
T0 = 1_767_571_200
TOR = Campaign("c1", "S2", "naive", "U0VIC", ("U0VIC",), T0 + 3 * DAY, T0 + 3 * DAY + 600)
HIJACK = Campaign("c2", "S3", "vpn", "U0TWO", ("U0TWO",), T0 + 4 * DAY, T0 + 4 * DAY + 3600)
LABELS = {"ev-tor": Label("c1", "S2", "access")}


def scope(campaigns: tuple[Campaign, ...] = (TOR, HIJACK), users: int = 1000) -> Scope:
    return Scope(1, campaigns, LABELS, users, T0 + 2 * DAY, T0 + 7 * DAY)


def test_alarms_match_campaigns_by_evidence_or_by_actor_and_time() -> None:
    by_evidence = Alarm("U0ELSE", T0 + 5 * DAY, ("ip_address",), ("ev-tor",))
    by_actor = Alarm("U0TWO", HIJACK.end + 1800, ("session_fingerprint",))
    too_late = Alarm("U0TWO", HIJACK.end + 7200, ("session_fingerprint",))
    stranger = Alarm("U0NOBODY", T0 + 3 * DAY, ("tor",))
    scored = match([by_evidence, by_actor, too_late, stranger], scope())
    assert scored.hits == {"c1": [by_evidence], "c2": [by_actor]}
    assert sorted(scored.false, key=lambda a: a.ts) == [stranger, too_late]


def test_warm_up_alarms_are_not_scored() -> None:
    early = Alarm("U0NOBODY", T0 + DAY, ("tor",))
    assert match([early], scope()).false == []


def test_outcomes_record_detection_expected_reason_and_time() -> None:
    alarms = [
        Alarm("U0VIC", TOR.start + 40, ("ip_address",)),
        Alarm("U0VIC", TOR.start + 90, ("tor",)),
    ]
    rows = {o.campaign.id: o for o in outcomes(match(alarms, scope()))}
    assert rows["c1"].detected
    assert rows["c1"].expected
    assert rows["c1"].ttd_s == 40
    assert not rows["c2"].detected
    assert rows["c2"].ttd_s is None
    assert within(60)(rows["c1"])
    assert not within(30)(rows["c1"])


def test_recall_is_the_share_of_campaigns_detected() -> None:
    rows = outcomes(match([Alarm("U0VIC", TOR.start, ("tor",))], scope()))
    e = recall(rows)
    assert e.value == 0.5
    assert e.n == 2
    assert 0.0 <= e.low <= e.value <= e.high <= 1.0


def test_false_alarm_rate_is_per_thousand_users_per_scored_day() -> None:
    # 10 false alarms over 1,000 users and 5 scored days: 2 per 1k users per day.
    false = [Alarm(f"U0X{k}", T0 + 2 * DAY + k * 3600 * 11, ("ip_address",)) for k in range(10)]
    rate = false_alarm_rate([match(false, scope(()))])
    assert rate.value == pytest.approx(2.0)
    assert rate.n == 5
    assert false_alarm_rate([match(false, scope(()))], frozenset({"tor"})).value == 0.0
    assert set(false_alarms_by_reason([match(false, scope(()))])) == {"ip_address"}


def test_bootstrap_of_a_constant_has_a_degenerate_interval() -> None:
    assert bootstrap([(1.0, 1.0)] * 10) == Estimate(1.0, 1.0, 1.0, 10)
    assert math.isnan(bootstrap([]).value)


def test_bootstrap_is_deterministic() -> None:
    units = [(float(k % 3 == 0), 1.0) for k in range(30)]
    assert bootstrap(units) == bootstrap(units)


def test_percentiles_and_time_to_detect() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([5, 1, 3, 2, 4], 95) == 5
    assert math.isnan(percentile([], 50))
    rows = outcomes(match([Alarm("U0VIC", TOR.start + 10, ("tor",))], scope()))
    assert time_to_detect(rows) == {"median_s": 10, "p95_s": 10, "n": 1.0}


def test_a_budget_keeps_the_highest_scoring_alarms() -> None:
    false = [Alarm(f"U0F{k}", T0 + 3 * DAY + k, ("x",), score=float(k)) for k in range(10)]
    hit = Alarm("U0VIC", TOR.start, ("x",), score=3.5)
    scored = [match([*false, hit], scope())]
    # 1,000 users x 5 days: a budget of 0.6 allows 3 false alarms (scores 9, 8, 7).
    threshold = threshold_at_budget(scored, 0.6, lambda a: a.score)
    kept = keep_at(scored[0], threshold, lambda a: a.score)
    assert [a.score for a in kept.false] == [7.0, 8.0, 9.0]
    assert kept.hits["c1"] == []
    everything = threshold_at_budget(scored, 100.0, lambda a: a.score)
    assert keep_at(scored[0], everything, lambda a: a.score).hits["c1"] == [hit]


def test_jitter_breaks_ties_stably_and_slightly() -> None:
    a, b = Alarm("U0A", T0, ("x",)), Alarm("U0B", T0, ("x",))
    assert jitter(a) == jitter(Alarm("U0A", T0, ("x",)))
    assert jitter(a) != jitter(b)
    assert 0 <= jitter(a) < 1e-6


def test_hourly_repeats_are_one_false_alarm_per_episode() -> None:
    repeats = [
        Alarm("U0X", T0 + 3 * DAY + k * 3600, ("session_fingerprint",), session=7)
        for k in range(30)
    ]
    other_session = Alarm("U0X", T0 + 3 * DAY, ("session_fingerprint",), session=8)
    scored = match([*repeats, other_session], scope(()))
    assert [a.ts for a in scored.false] == [T0 + 3 * DAY, T0 + 3 * DAY, T0 + 4 * DAY + 3600]
    assert episodes(repeats[:3]) == repeats[:1]
