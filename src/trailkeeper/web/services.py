"""What the web edge needs at hand, built once per app: store, catalog, ingest, limits, keys."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from trailkeeper.catalog import Catalog
from trailkeeper.config import Settings
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.tokens import Grant, authorize
from trailkeeper.errors import RateLimited
from trailkeeper.ingest import Ingestor
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.ratelimit import RateLimiter, TokenBucketLimiter
from trailkeeper.recorder import organization_event
from trailkeeper.storage.base import Store

TOUCH_INTERVAL_S = 60
VALIDATION_THREADS = 2
POSTGRES_READ_THREADS = 8  # the store's connection pool
CURSOR_SECRET = "cursor-mac"


@dataclass
class Services:
    """The collaborators of every handler."""

    settings: Settings
    store: Store
    catalog: Catalog
    ingestor: Ingestor
    limiter: RateLimiter
    cursor_key: bytes
    integrity: IntegrityService
    clock: Callable[[], float] = time.time
    # At most two threads validate ingest batches at once (see ingest_api.ingest_batch).
    validation_limiter: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(VALIDATION_THREADS)
    )
    # At most `settings.read_threads` threads serve /logs at once (see audit_api.logs): with
    # more, 32 concurrent readers halved the throughput on 2 cores (GIL hand-offs between cores).
    read_limiter: anyio.CapacityLimiter = field(init=False)
    _touched: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.read_limiter = anyio.CapacityLimiter(read_threads(self.settings))

    def grant(self, token: str, scope: str) -> Grant:
        """Authorize a token for a scope and note its use (at most once a minute)."""
        grant = authorize(token, scope, self.store.find_token, self.store.installation_standing)
        now = self.clock()
        if now - self._touched.get(grant.token_id, 0.0) >= TOUCH_INTERVAL_S:
            self._touched[grant.token_id] = now
            self.store.touch_token(grant.token_id, int(now))
        return grant

    def check_rate(self, org_id: str) -> None:
        """Raise `RateLimited` when the organization has no calls left."""
        wait = self.limiter.retry_after_s(org_id)
        if wait:
            raise RateLimited(wait)


def read_threads(settings: Settings) -> int:
    """How many threads serve reads at once: the setting, or by backend when it is 0 (auto)."""
    if settings.read_threads:
        return settings.read_threads
    if settings.resolved_database_url.startswith(("postgresql://", "postgres://")):
        return POSTGRES_READ_THREADS
    return os.cpu_count() or 2


def limiter_for(settings: Settings) -> RateLimiter:
    """The per-organization limiter: in Redis when configured (shared by nodes), else in memory."""
    if settings.redis_url:
        from trailkeeper.storage.redis_ratelimit import RedisRateLimiter

        return RedisRateLimiter(settings.redis_url, settings.rate_limit_per_minute)
    return TokenBucketLimiter(settings.rate_limit_per_minute)


def build_services(
    settings: Settings,
    store: Store,
    catalog: Catalog,
    limiter: RateLimiter | None = None,
    clock: Callable[[], float] = time.time,
) -> Services:
    """Wire the services of an app from settings and a migrated store."""
    ingestor = Ingestor(
        store, catalog, LocationIndex(store), max_event_bytes=settings.max_event_bytes, clock=clock
    )

    def record_event(action: str, org_id: str, details: Mapping[str, Any]) -> object:
        return ingestor.ingest([organization_event(action, org_id, details)])

    return Services(
        settings=settings,
        store=store,
        catalog=catalog,
        ingestor=ingestor,
        limiter=limiter or limiter_for(settings),
        cursor_key=store.secret(CURSOR_SECRET),
        integrity=IntegrityService(
            store, settings.service_name, record_event=record_event, clock=clock
        ),
        clock=clock,
    )
