"""Per-organization rate limiting: a token bucket per key, in memory. No I/O.

Slack's audit methods are Tier 3: about 50 calls a minute per organization, with room for bursts.
The bucket holds a minute's allowance and refills continuously.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    """Decides whether a call for `key` may proceed now."""

    def retry_after_s(self, key: str) -> int:
        """0 when the call may proceed (and is counted), else whole seconds to wait."""
        ...


class TokenBucketLimiter:
    """`per_minute` calls a minute per key, bursts up to `per_minute`; 0 disables the limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after_s(self, key: str) -> int:
        """Take one call from the key's bucket, or say how long until one is available."""
        if self._capacity <= 0:
            return 0
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - stamp) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))
