"""A rate limiter shared by every node: the same token bucket, kept in Redis and run atomically.

With several `trailkeeper serve` processes behind a load balancer, each organization's calls are
counted once, whichever node answers them.
"""

from __future__ import annotations

import math
import time

import redis

from trailkeeper.errors import StorageError

# KEYS[1] bucket; ARGV: capacity, refill per second, now (seconds, float). Returns wait in ms.
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait_ms = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return wait_ms
"""


class RedisRateLimiter:
    """`RateLimiter` in Redis: `per_minute` calls a minute per key, bursts up to `per_minute`."""

    def __init__(self, url: str, per_minute: int, prefix: str = "trailkeeper:rate:") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2)
        self._script = self._client.register_script(_TOKEN_BUCKET)
        self._capacity = per_minute
        self._rate = per_minute / 60.0
        self._prefix = prefix

    def retry_after_s(self, key: str) -> int:
        """0 when the call may proceed (and is counted), else whole seconds to wait."""
        if self._capacity <= 0:
            return 0
        try:
            wait_ms = int(
                self._script(
                    keys=[self._prefix + key], args=[self._capacity, self._rate, time.time()]
                )
            )
        except redis.RedisError as exc:
            raise StorageError(f"rate limiter unavailable: {exc}") from exc
        return 0 if wait_ms <= 0 else max(1, math.ceil(wait_ms / 1000))

    def close(self) -> None:
        """Drop the connection pool."""
        self._client.close()
