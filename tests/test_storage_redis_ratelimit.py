"""The Redis token bucket shared by nodes, against a real Redis: bursts, waits, separate keys,
limiters sharing one bucket, a disabled limit, and an unreachable server as a StorageError.
Skips without Redis, except in CI (CI=true), where it fails."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import redis

from trailkeeper.errors import StorageError
from trailkeeper.storage.redis_ratelimit import RedisRateLimiter

REDIS_URL = os.environ.get("TRAILKEEPER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Redis at {REDIS_URL}; CI requires one ({exc})")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A private key prefix, its keys deleted afterwards."""
    tag = f"tktest:{secrets.token_hex(6)}:"
    yield tag
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{tag}*"):
        client.delete(key)
    client.close()


def limiter(url: str, per_minute: int, prefix: str) -> RedisRateLimiter:
    return RedisRateLimiter(url, per_minute, prefix=prefix)


def test_a_burst_of_the_minute_allowance_passes_then_the_next_call_waits(
    redis_url: str, prefix: str
) -> None:
    bucket = limiter(redis_url, 5, prefix)
    assert [bucket.retry_after_s("E0A") for _ in range(5)] == [0] * 5
    wait = bucket.retry_after_s("E0A")
    assert 1 <= wait <= 12  # one token per 12 s at 5 a minute
    bucket.close()


def test_each_key_has_its_own_bucket(redis_url: str, prefix: str) -> None:
    bucket = limiter(redis_url, 2, prefix)
    assert [bucket.retry_after_s("E0A") for _ in range(2)] == [0, 0]
    assert bucket.retry_after_s("E0A") > 0
    assert bucket.retry_after_s("E0B") == 0
    bucket.close()


def test_two_limiters_on_one_prefix_share_the_bucket(redis_url: str, prefix: str) -> None:
    node_a, node_b = limiter(redis_url, 4, prefix), limiter(redis_url, 4, prefix)
    allowed = [node.retry_after_s("E0A") == 0 for node in (node_a, node_b) * 4]
    assert allowed.count(True) == 4
    node_a.close()
    node_b.close()


def test_the_bucket_expires_from_redis_after_it_would_have_refilled(
    redis_url: str, prefix: str
) -> None:
    bucket = limiter(redis_url, 60, prefix)
    bucket.retry_after_s("E0A")
    ttl = redis.Redis.from_url(redis_url).ttl(f"{prefix}E0A")
    assert 60 < ttl <= 120  # capacity / rate (60 s) plus a minute
    bucket.close()


def test_zero_per_minute_never_limits_nor_touches_redis(redis_url: str, prefix: str) -> None:
    bucket = limiter(redis_url, 0, prefix)
    assert all(bucket.retry_after_s("E0A") == 0 for _ in range(50))
    assert redis.Redis.from_url(redis_url).exists(f"{prefix}E0A") == 0
    bucket.close()


def test_an_unreachable_redis_is_a_storage_error() -> None:
    bucket = RedisRateLimiter("redis://127.0.0.1:1/0", 10)
    with pytest.raises(StorageError, match="rate limiter unavailable"):
        bucket.retry_after_s("E0A")
    bucket.close()
