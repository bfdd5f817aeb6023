"""Properties of the bounded state structures, against brute-force models (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.detect.state import BUCKET_S, RING, ActorState, RateCounter, RecentValues

T0 = 1_700_000_000 - 1_700_000_000 % 86_400

steps = st.lists(st.tuples(st.integers(0, 2 * 3600), st.integers(1, 5)), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_the_rolling_hour_equals_a_brute_force_count(moves: list[tuple[int, int]]) -> None:
    counter = RateCounter()
    now, seen = float(T0), []
    for gap, amount in moves:
        now += gap
        counter.add(now, amount)
        seen.append((now, amount))
        bucket = now // BUCKET_S
        expected = sum(a for t, a in seen if bucket - t // BUCKET_S < RING)
        assert counter.hour_count(now) == expected
        assert counter.bucket_count(now) == sum(a for t, a in seen if t // BUCKET_S == bucket)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=200))
def test_recent_values_never_exceed_their_capacity_and_keep_the_latest(keys: list[int]) -> None:
    values = RecentValues(6)
    for n, key in enumerate(keys):
        values.observe(key, T0 + n)
        assert len(values) <= 6
        assert values.last_seen(key) == T0 + n  # what was just seen is always remembered


def test_a_burst_cannot_raise_its_own_peak_and_the_peak_grows_slowly() -> None:
    counter = RateCounter()
    for minute in range(60 * 5):  # five hours at 100 calls a minute
        counter.add(T0 + 60 * minute, 100)
    assert counter.hour_count(T0 + 60 * 299) == 6000
    assert counter.peak_hour() < 100  # +25% (+10) per finished hour, from zero


def test_days_roll_into_a_decayed_past_and_today_is_excluded() -> None:
    counter = RateCounter()
    counter.add(T0 + 100, 4)
    counter.add(T0 + 86_400 + 100, 6)
    assert counter.past_sum(T0 + 86_400 + 200) == 4
    assert round(counter.past_sum(T0 + 2 * 86_400 + 10), 3) == round(4 * 0.5 ** (1 / 30) + 6, 3)


def test_a_finished_bulk_day_enters_the_baseline_capped() -> None:
    counter = RateCounter()
    counter.add(T0 + 100, 200, cap=12)
    counter.add(T0 + 86_400 + 100, 1, cap=12)
    assert counter.past_sum(T0 + 86_400 + 200) == 12


def test_an_actor_forgets_old_sessions_and_ended_ones() -> None:
    from trailkeeper.detect.state import SessionBinding

    actor = ActorState(T0)
    for sid in range(5):
        binding = SessionBinding("100.64.1.1", "ua", first_ts=T0 + sid)
        actor.bind_session(sid, binding)
    assert sorted(actor.sessions) == [2, 3, 4]
    actor.end_session(3)
    assert sorted(actor.sessions) == [2, 4]
