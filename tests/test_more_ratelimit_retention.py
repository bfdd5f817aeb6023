"""Properties of the token bucket over any pattern of calls and waits, and retention's exact
edges: the cutoff second, the bounds of a policy, the events every change and purge records,
and several organizations with different policies in one store.

test_ratelimit.py and test_operations.py pin the single examples; these are the edges around them.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_OTHER, make_event
from test_ratelimit import FakeClock, calls_allowed
from trailkeeper.catalog import Catalog
from trailkeeper.errors import InvalidArguments, NotFound
from trailkeeper.query import LogFilter
from trailkeeper.ratelimit import TokenBucketLimiter
from trailkeeper.recorder import SERVICE_ACTOR_ID, Recorder
from trailkeeper.retention import DAY_S, MAX_KEEP_DAYS, Purge, enforce, set_policy
from trailkeeper.storage.sqlite import SQLiteStore

# --- the token bucket -----------------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(st.floats(min_value=0, max_value=120, allow_nan=False), st.integers(0, 30)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(per_minute=st.integers(1, 600), steps=STEPS)
def test_no_pattern_of_calls_gets_more_than_the_burst_plus_the_refill(
    per_minute: int, steps: list[tuple[float, int]]
) -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute, clock=clock)
    allowed, elapsed = 0, 0.0
    for wait, attempts in steps:
        clock.advance(wait)
        elapsed += wait
        allowed += calls_allowed(limiter, "E0TEST", attempts)
        assert allowed <= per_minute + elapsed * per_minute / 60 + 1e-6


@settings(max_examples=200, deadline=None)
@given(per_minute=st.integers(1, 600), steps=STEPS)
def test_retry_after_is_honest_whatever_came_before(
    per_minute: int, steps: list[tuple[float, int]]
) -> None:
    """Waiting the seconds given lets the next call through; one second less would not."""
    clock = FakeClock()
    limiter = TokenBucketLimiter(per_minute, clock=clock)
    for wait, attempts in steps:
        clock.advance(wait)
        calls_allowed(limiter, "E0TEST", attempts)
    calls_allowed(limiter, "E0TEST", per_minute + 1)  # whatever is left: the bucket is now empty
    retry = limiter.retry_after_s("E0TEST")
    assert isinstance(retry, int)
    assert 1 <= retry <= math.ceil(60 / per_minute)
    if retry > 1:
        clock.advance(retry - 1)
        assert limiter.retry_after_s("E0TEST") >= 1
        clock.advance(1)
    else:
        clock.advance(retry)
    assert limiter.retry_after_s("E0TEST") == 0


@pytest.mark.parametrize("per_minute", [-1, -50])
def test_a_negative_allowance_disables_the_limit_like_zero(per_minute: int) -> None:
    limiter = TokenBucketLimiter(per_minute, clock=FakeClock())
    assert calls_allowed(limiter, "E0TEST", 1000) == 1000


def test_a_key_first_seen_late_still_gets_the_whole_burst() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(10, clock=clock)
    calls_allowed(limiter, "E0BUSY", 10)
    clock.advance(3600)
    assert calls_allowed(limiter, "E0LATE", 20) == 10
    assert calls_allowed(limiter, "E0BUSY", 20) == 10


def test_an_exhausted_organization_does_not_slow_the_others() -> None:
    limiter = TokenBucketLimiter(3, clock=FakeClock())
    for _ in range(100):
        limiter.retry_after_s("E0NOISY")
    assert [limiter.retry_after_s(f"E0QUIET{i}") for i in range(50)] == [0] * 50


def test_a_retry_after_rounds_a_fraction_of_a_second_up_to_one() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(600, clock=clock)  # a token every 0.1 s
    calls_allowed(limiter, "E0TEST", 600)
    assert limiter.retry_after_s("E0TEST") == 1
    clock.advance(0.1)
    assert limiter.retry_after_s("E0TEST") == 0


# --- retention ------------------------------------------------------------------------------------

NOW = BASE_TIME + 400 * DAY_S


def record(store: SQLiteStore, catalog: Catalog, dates: list[int], location: str = WS_A) -> None:
    events = [make_event(location=location, date=d, id=f"{location}-{d}") for d in dates]
    report = Recorder(store, catalog).record_many(events)
    assert not report.rejected, report.rejected[:1]


def decoded(store: SQLiteStore, org_id: str, action: str) -> list[dict[str, Any]]:
    rows = store.scan(org_id, LogFilter(actions=(action,)), None, 100)
    return [orjson.loads(r.body) for r in rows]


def dates_left(store: SQLiteStore, org_id: str) -> list[int]:
    rows = store.scan(org_id, LogFilter(actions=("user_login",)), None, 1000)
    return sorted(r.date_create for r in rows)


def test_the_cutoff_second_itself_is_kept_and_the_second_before_it_is_purged(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    cutoff = NOW - 30 * DAY_S
    record(directory, catalog, [cutoff - 1, cutoff, cutoff + 1])
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, 30)
    assert enforce(directory, recorder, NOW) == [Purge(ORG, cutoff, 30, 1)]
    assert dates_left(directory, ORG) == [cutoff, cutoff + 1]


def test_a_day_later_the_next_day_goes(directory: SQLiteStore, catalog: Catalog) -> None:
    days = [NOW - d * DAY_S for d in (3, 2, 1)]
    record(directory, catalog, days)
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, 2)
    assert [p.purged for p in enforce(directory, recorder, NOW)] == [1]
    assert [p.purged for p in enforce(directory, recorder, NOW + DAY_S)] == [1]
    assert dates_left(directory, ORG) == [NOW - DAY_S]


def test_each_organization_is_purged_by_its_own_policy_and_only_its_own_log(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    old = [NOW - d * DAY_S for d in (100, 40, 10)]
    record(directory, catalog, old)
    record(directory, catalog, old, location=WS_OTHER)
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, 30)
    set_policy(directory, recorder, OTHER_ORG, 60)
    purges = enforce(directory, recorder, NOW)
    # in organization id order: E0OTHER before E0TEST
    assert [(p.org_id, p.keep_days, p.purged) for p in purges] == [(OTHER_ORG, 60, 1), (ORG, 30, 2)]
    assert dates_left(directory, ORG) == old[2:]
    assert dates_left(directory, OTHER_ORG) == old[1:]
    assert [e["details"]["keep_days"] for e in decoded(directory, ORG, "audit_logs_purged")] == [30]
    other = decoded(directory, OTHER_ORG, "audit_logs_purged")
    assert [e["details"]["keep_days"] for e in other] == [60]


def test_an_organization_without_a_policy_keeps_everything_beside_one_that_purges(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    record(directory, catalog, [NOW - 3000 * DAY_S])
    record(directory, catalog, [NOW - 3000 * DAY_S], location=WS_OTHER)
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, OTHER_ORG, 1)
    assert [p.org_id for p in enforce(directory, recorder, NOW)] == [OTHER_ORG]
    assert dates_left(directory, ORG) == [NOW - 3000 * DAY_S]
    assert decoded(directory, ORG, "audit_logs_purged") == []


def test_the_purge_event_is_the_services_about_the_whole_organization(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    record(directory, catalog, [NOW - 10 * DAY_S, NOW - 9 * DAY_S])
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, 5)
    enforce(directory, recorder, NOW)
    (event,) = decoded(directory, ORG, "audit_logs_purged")
    assert event["details"] == {"keep_days": 5, "cutoff": NOW - 5 * DAY_S, "purged_events": 2}
    assert event["actor"]["user"]["id"] == SERVICE_ACTOR_ID
    assert event["entity"] == {"type": "enterprise", "enterprise": {"id": ORG}}
    assert event["context"]["location"]["type"] == "enterprise"
    assert event["context"]["session_id"] is None


def test_every_policy_change_records_the_previous_and_new_value(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    recorder = Recorder(directory, catalog)
    for keep in (30, 365, None, 1):
        set_policy(directory, recorder, ORG, keep)
    changes = decoded(directory, ORG, "pref.ext_audit_log_retention_duration_changed")
    pairs = [(e["details"]["previous_value"], e["details"]["new_value"]) for e in changes]
    assert list(reversed(pairs)) == [
        ("forever", "30 days"),
        ("30 days", "365 days"),
        ("365 days", "forever"),
        ("forever", "1 days"),
    ]
    assert directory.retention_policies() == {ORG: 1}


@pytest.mark.parametrize("keep", [1, MAX_KEEP_DAYS])
def test_the_bounds_of_a_policy_are_accepted(directory: SQLiteStore, keep: int) -> None:
    set_policy(directory, Recorder(directory), ORG, keep)
    assert directory.retention_policies() == {ORG: keep}


@pytest.mark.parametrize("keep", [0, -1, MAX_KEEP_DAYS + 1])
def test_a_policy_out_of_bounds_is_refused_and_nothing_is_recorded(
    directory: SQLiteStore, keep: int
) -> None:
    before = directory.count_events(ORG)
    with pytest.raises(InvalidArguments, match=f"between 1 and {MAX_KEEP_DAYS}"):
        set_policy(directory, Recorder(directory), ORG, keep)
    assert directory.retention_policies() == {}
    assert directory.count_events(ORG) == before


def test_a_policy_for_an_unknown_organization_names_it(directory: SQLiteStore) -> None:
    with pytest.raises(NotFound, match="E0NOWHERE"):
        set_policy(directory, Recorder(directory), "E0NOWHERE", 30)


def test_forever_after_a_purge_stops_further_purges_but_brings_nothing_back(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    record(directory, catalog, [NOW - 50 * DAY_S, NOW - 40 * DAY_S])
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, 45)
    enforce(directory, recorder, NOW)
    set_policy(directory, recorder, ORG, None)
    assert enforce(directory, recorder, NOW + 100 * DAY_S) == []
    assert dates_left(directory, ORG) == [NOW - 40 * DAY_S]
    assert len(decoded(directory, ORG, "audit_logs_purged")) == 1


def test_the_longest_policy_purges_nothing_of_a_recent_log(
    directory: SQLiteStore, catalog: Catalog
) -> None:
    record(directory, catalog, [BASE_TIME])
    recorder = Recorder(directory, catalog)
    set_policy(directory, recorder, ORG, MAX_KEEP_DAYS)
    assert enforce(directory, recorder, NOW) == []
    assert dates_left(directory, ORG) == [BASE_TIME]
