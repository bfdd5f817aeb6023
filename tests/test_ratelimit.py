"""The per-organization token bucket, driven by a fake clock (no sleeping, no timing)."""

from __future__ import annotations

import threading

import pytest

from trailkeeper.ratelimit import RateLimiter, TokenBucketLimiter


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def calls_allowed(limiter: TokenBucketLimiter, key: str, attempts: int) -> int:
    return sum(limiter.retry_after_s(key) == 0 for _ in range(attempts))


def test_a_burst_up_to_the_minute_allowance_is_allowed() -> None:
    limiter = TokenBucketLimiter(50, clock=FakeClock())
    assert [limiter.retry_after_s("E0TEST") for _ in range(50)] == [0] * 50


def test_the_call_after_the_burst_must_wait_a_whole_number_of_seconds() -> None:
    limiter = TokenBucketLimiter(50, clock=FakeClock())
    calls_allowed(limiter, "E0TEST", 50)
    wait = limiter.retry_after_s("E0TEST")
    assert isinstance(wait, int)
    assert wait >= 1
    assert wait == 2  # one token takes 60/50 = 1.2 s, rounded up for Retry-After


@pytest.mark.parametrize(("per_minute", "wait"), [(60, 1), (30, 2), (1, 60), (120, 1)])
def test_retry_after_is_the_time_until_the_next_token(per_minute: int, wait: int) -> None:
    limiter = TokenBucketLimiter(per_minute, clock=FakeClock())
    calls_allowed(limiter, "E0TEST", per_minute)
    assert limiter.retry_after_s("E0TEST") == wait


def test_waiting_retry_after_seconds_lets_the_next_call_through() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(50, clock=clock)
    calls_allowed(limiter, "E0TEST", 50)
    wait = limiter.retry_after_s("E0TEST")
    clock.advance(wait)
    assert limiter.retry_after_s("E0TEST") == 0


def test_refused_calls_do_not_use_up_tokens() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(60, clock=clock)
    calls_allowed(limiter, "E0TEST", 60)
    assert calls_allowed(limiter, "E0TEST", 100) == 0
    clock.advance(1)
    assert limiter.retry_after_s("E0TEST") == 0


def test_the_bucket_refills_continuously() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(60, clock=clock)
    calls_allowed(limiter, "E0TEST", 60)
    clock.advance(10)
    assert calls_allowed(limiter, "E0TEST", 20) == 10


def test_a_full_minute_restores_the_whole_burst_but_no_more() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(50, clock=clock)
    calls_allowed(limiter, "E0TEST", 50)
    clock.advance(600)
    assert calls_allowed(limiter, "E0TEST", 80) == 50


def test_sustained_rate_matches_the_allowance() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(60, clock=clock)
    allowed = 0
    for _ in range(600):  # ten minutes, one attempt every second, after an initial burst
        allowed += calls_allowed(limiter, "E0TEST", 5)
        clock.advance(1)
    assert allowed == 60 + 599


def test_each_organization_has_its_own_bucket() -> None:
    limiter = TokenBucketLimiter(5, clock=FakeClock())
    assert calls_allowed(limiter, "E0ONE", 10) == 5
    assert limiter.retry_after_s("E0ONE") >= 1
    assert calls_allowed(limiter, "E0TWO", 10) == 5


def test_zero_per_minute_disables_the_limit() -> None:
    limiter = TokenBucketLimiter(0, clock=FakeClock())
    assert all(limiter.retry_after_s("E0TEST") == 0 for _ in range(10_000))


def test_the_bucket_is_a_rate_limiter() -> None:
    limiter: RateLimiter = TokenBucketLimiter(1, clock=FakeClock())
    assert limiter.retry_after_s("E0TEST") == 0


def test_concurrent_callers_never_get_more_than_the_allowance() -> None:
    limiter = TokenBucketLimiter(100, clock=FakeClock())
    allowed: list[int] = []
    lock = threading.Lock()

    def caller() -> None:
        count = calls_allowed(limiter, "E0TEST", 50)
        with lock:
            allowed.append(count)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 100
