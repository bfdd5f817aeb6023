"""Metric arithmetic beyond the worked examples: properties of the bootstrap, episodes,
percentiles and budgets (hypothesis), and the edges of matching and rates on tiny inputs."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.simulate.attacks import Campaign
from trailkeeper.simulate.metrics import (
    DAY,
    GRACE_S,
    Alarm,
    Estimate,
    Scope,
    Scored,
    bootstrap,
    episodes,
    false_alarm_rate,
    false_alarms_by_reason,
    first_hit,
    keep_at,
    match,
    outcomes,
    percentile,
    recall,
    threshold_at_budget,
    time_to_detect,
)
from trailkeeper.simulate.records import Label

T0 = 1_767_571_200
SCORED = T0 + 2 * DAY
END = T0 + 7 * DAY
THEFT = Campaign("c1", "S1", "naive", "U0VIC", ("U0VIC",), T0 + 3 * DAY, T0 + 3 * DAY + 900)
SPRAY = Campaign("c2", "S7", "vpn", "U0TWO", ("U0TWO", "U0PAL"), T0 + 4 * DAY, T0 + 4 * DAY + 60)


def scope(
    campaigns: tuple[Campaign, ...] = (THEFT, SPRAY),
    labels: dict[str, Label] | None = None,
    users: int = 1000,
    end: int = END,
) -> Scope:
    return Scope(1, campaigns, labels or {}, users, SCORED, end)


def unit_lists(max_size: int = 40) -> st.SearchStrategy[list[tuple[float, float]]]:
    unit = st.tuples(st.integers(0, 20).map(float), st.integers(1, 5).map(float))
    return st.lists(unit, min_size=1, max_size=max_size)


alarm_times = st.lists(st.integers(0, 10 * DAY), min_size=1, max_size=30)


# --- the bootstrap -------------------------------------------------------------------------------


@given(unit_lists())
@settings(max_examples=60, deadline=None)
def test_bootstrap_bounds_lie_within_the_unit_ratios(units: list[tuple[float, float]]) -> None:
    e = bootstrap(units, rounds=200)
    ratios = [n / d for n, d in units]
    assert e.n == len(units)
    assert e.value == pytest.approx(sum(n for n, _ in units) / sum(d for _, d in units))
    assert min(ratios) - 1e-9 <= e.low <= e.high <= max(ratios) + 1e-9


@given(st.lists(st.booleans(), min_size=2, max_size=60))
@settings(max_examples=60, deadline=None)
def test_a_recall_interval_is_a_sub_interval_of_zero_to_one(hits: list[bool]) -> None:
    e = bootstrap([(float(h), 1.0) for h in hits], rounds=200)
    assert 0.0 <= e.low <= e.high <= 1.0
    assert e.value == sum(hits) / len(hits)


def test_the_bootstrap_seed_changes_the_draws_not_the_value() -> None:
    units = [(float(k % 4 == 0), 1.0) for k in range(40)]
    a, b = bootstrap(units, seed=1), bootstrap(units, seed=2)
    assert a.value == b.value
    assert bootstrap(units, seed=1) == a


def test_a_larger_sample_gives_a_narrower_interval() -> None:
    few = bootstrap([(float(k % 2), 1.0) for k in range(10)])
    many = bootstrap([(float(k % 2), 1.0) for k in range(1000)])
    assert many.high - many.low < few.high - few.low
    assert few.value == many.value == 0.5


def test_units_without_a_denominator_have_no_ratio() -> None:
    e = bootstrap([(1.0, 0.0), (2.0, 0.0)], rounds=50)
    assert math.isnan(e.value)
    assert e.n == 2


def test_an_estimate_renders_as_a_plain_dict() -> None:
    assert Estimate(0.5, 0.25, 0.75, 8).as_dict() == {
        "value": 0.5,
        "low": 0.25,
        "high": 0.75,
        "n": 8,
    }


# --- episodes ------------------------------------------------------------------------------------


@given(alarm_times, st.integers(0, 2**32))
@settings(max_examples=80, deadline=None)
def test_episodes_do_not_depend_on_input_order(times: list[int], seed: int) -> None:
    alarms = [Alarm("U0X", T0 + t, ("r",), session=t % 2) for t in times]
    shuffled = alarms[:]
    random.Random(seed).shuffle(shuffled)
    assert sorted(episodes(alarms), key=repr) == sorted(episodes(shuffled), key=repr)


@given(alarm_times)
@settings(max_examples=80, deadline=None)
def test_every_alarm_falls_in_an_episode_opened_within_the_window_before_it(
    times: list[int],
) -> None:
    alarms = [Alarm("U0X", T0 + t, ("r",)) for t in times]
    starts = [a.ts for a in episodes(alarms)]
    assert starts == sorted(starts)
    assert all(b - a > DAY for a, b in itertools.pairwise(starts))
    for a in alarms:
        assert any(0 <= a.ts - s <= DAY for s in starts)
    assert starts[0] == min(a.ts for a in alarms)


def test_episodes_are_kept_apart_by_actor_reason_set_and_session() -> None:
    base = Alarm("U0X", T0, ("ip_address",), session=1)
    variants = [
        Alarm("U0Y", T0 + 1, ("ip_address",), session=1),
        Alarm("U0X", T0 + 2, ("ip_address", "asn"), session=1),
        Alarm("U0X", T0 + 3, ("ip_address",), session=2),
        Alarm("U0X", T0 + 4, ("ip_address",), session=None),
    ]
    repeat = Alarm("U0X", T0 + 5, ("ip_address",), session=1)
    assert episodes([base, *variants, repeat]) == [base, *variants]


def test_an_episode_reopens_just_after_its_window() -> None:
    first = Alarm("U0X", T0, ("r",))
    at_edge = Alarm("U0X", T0 + DAY, ("r",))
    past_edge = Alarm("U0X", T0 + DAY + 1, ("r",))
    assert episodes([first, at_edge]) == [first]
    assert episodes([first, past_edge]) == [first, past_edge]
    assert episodes([first, past_edge], window_s=2 * DAY) == [first]


# --- percentiles ---------------------------------------------------------------------------------


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.floats(0, 100),
    st.floats(0, 100),
)
def test_a_nearest_rank_percentile_is_a_member_and_grows_with_q(
    values: list[float], q1: float, q2: float
) -> None:
    low, high = sorted((q1, q2))
    assert percentile(values, low) in values
    assert percentile(values, low) <= percentile(values, high)
    assert percentile(values, 100) == max(values)
    assert percentile(values, 0) == min(values)


def test_time_to_detect_without_detections_is_undefined() -> None:
    rows = outcomes(match([], scope()))
    ttd = time_to_detect(rows)
    assert math.isnan(ttd["median_s"])
    assert math.isnan(ttd["p95_s"])
    assert ttd["n"] == 0.0


# --- matching ------------------------------------------------------------------------------------


def test_the_grace_hour_ends_exactly_an_hour_after_the_span() -> None:
    inside = Alarm("U0NOBODY", END + GRACE_S - 1, ("tor",))
    outside = Alarm("U0NOBODY", END + GRACE_S, ("tor",))
    scored = match([inside, outside], scope(()))
    assert scored.false == [inside]


def test_labelled_evidence_in_the_warm_up_is_not_scored() -> None:
    labels = {"ev": Label("c1", "S1", "access")}
    early = Alarm("U0VIC", SCORED - 1, ("ip_address",), ("ev",))
    assert match([early], scope(labels=labels)).hits == {"c1": [], "c2": []}


def test_every_actor_of_a_campaign_counts_not_only_the_victim() -> None:
    accomplice = Alarm("U0PAL", SPRAY.start + 30, ("ip_address",))
    scored = match([accomplice], scope())
    assert scored.hits["c2"] == [accomplice]
    assert scored.false == []


def test_one_alarm_can_detect_two_campaigns() -> None:
    labels = {"ev": Label("c1", "S1", "exfil")}
    both = Alarm("U0TWO", SPRAY.start + 10, ("ip_address",), ("ev",))
    scored = match([both], scope(labels=labels))
    assert scored.hits == {"c1": [both], "c2": [both]}


def test_unknown_evidence_ids_do_not_match() -> None:
    stray = Alarm("U0NOBODY", T0 + 5 * DAY, ("tor",), ("not-a-label",))
    assert match([stray], scope()).false == [stray]


def test_evidence_before_the_campaign_starts_gives_a_zero_time_to_detect() -> None:
    labels = {"ev": Label("c1", "S1", "access")}
    eager = Alarm("U0ELSE", THEFT.start - 600, ("ip_address",), ("ev",))
    (theft, _) = outcomes(match([eager], scope(labels=labels)))
    assert theft.detected
    assert theft.ttd_s == 0.0


def test_the_expected_reason_may_come_later_than_the_first_alarm() -> None:
    alarms = [
        Alarm("U0VIC", THEFT.start + 100, ("session_fingerprint",)),
        Alarm("U0VIC", THEFT.start + 50, ("tor",)),
    ]
    (theft, spray) = outcomes(match(alarms, scope()))
    assert theft.detected
    assert not theft.expected  # neither reason is an S1 reason
    assert theft.ttd_s == 50
    assert first_hit(alarms, frozenset({"session_fingerprint"})) == alarms[0]
    assert first_hit(alarms, frozenset({"user_agent"})) is None
    assert not spray.detected


def test_recall_accepts_a_custom_hit_test() -> None:
    rows = outcomes(match([Alarm("U0VIC", THEFT.start + 5, ("ip_address",))], scope()))
    assert recall(rows).value == 0.5
    assert recall(rows, lambda o: o.expected).value == 0.5
    assert recall(rows, lambda o: o.campaign.scenario == "S7").value == 0.5
    assert recall([], lambda o: True).n == 0


# --- rates and budgets ---------------------------------------------------------------------------


def test_a_partial_last_day_is_its_own_unit_with_a_partial_weight() -> None:
    half_day_end = SCORED + 2 * DAY + DAY // 2  # 2.5 scored days
    false = [Alarm(f"U0F{k}", SCORED + 2 * DAY + 60 * k, ("asn",)) for k in range(5)]
    rate = false_alarm_rate([match(false, scope((), end=half_day_end, users=500))])
    assert rate.n == 3
    assert rate.value == pytest.approx(5 / (500 * 2.5 / 1000))


def test_rates_pool_seeds_as_separate_units() -> None:
    one = match([Alarm("U0A", SCORED + 10, ("asn",))], scope(()))
    quiet = match([], scope(()))
    pooled = false_alarm_rate([one, quiet])
    assert pooled.n == 10  # five scored days per seed
    assert pooled.value == pytest.approx(1 / (2 * 1000 * 5 / 1000))


def test_an_alarm_with_several_reasons_counts_for_each_reason() -> None:
    scored = match([Alarm("U0A", SCORED + 10, ("ip_address", "asn"))], scope(()))
    by_reason = false_alarms_by_reason([scored])
    assert set(by_reason) == {"asn", "ip_address"}
    assert by_reason["asn"].value == by_reason["ip_address"].value > 0


@given(st.lists(st.floats(0, 100), min_size=1, max_size=40), st.floats(0.0, 20.0))
@settings(max_examples=80, deadline=None)
def test_a_tuned_threshold_keeps_the_false_alarms_within_budget(
    scores: list[float], budget: float
) -> None:
    false = [Alarm(f"U0F{k}", SCORED + k, ("x",), score=s) for k, s in enumerate(scores)]
    scored = Scored(scope(()), {}, false)
    threshold = threshold_at_budget([scored], budget, lambda a: a.score)
    kept = keep_at(scored, threshold, lambda a: a.score)
    allowed = math.floor(budget * 1000 * 5 / 1000)
    assert len(kept.false) <= allowed
    if len(set(scores)) == len(scores):
        assert len(kept.false) == min(allowed, len(scores))


def test_keeping_alarms_at_a_threshold_keeps_the_scope() -> None:
    scored = match([Alarm("U0A", SCORED + 10, ("asn",), score=2.0)], scope())
    kept = keep_at(scored, 3.0, lambda a: a.score)
    assert kept.scope is scored.scope
    assert kept.false == []
    assert set(kept.hits) == {"c1", "c2"}
