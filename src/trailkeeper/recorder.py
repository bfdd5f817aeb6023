"""Recording events from Python: in-process through a store, or remotely through the ingest API.

Both go through the same validation as every other path. `Recorder` is for code running next to
the database (and for Trailkeeper's own events about the log); `IngestClient` is for the
platform's services, holding a token with `auditlogs:write`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import httpx
import orjson

from trailkeeper.catalog import Catalog, load_catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.errors import (
    InvalidAuthentication,
    InvalidPayload,
    RateLimited,
    ServiceUnavailable,
    StorageError,
)
from trailkeeper.ingest import Ingestor, IngestReport
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.validation import EventRejected

# Slack's placeholder for events that have no human actor; Trailkeeper acts under it.
SERVICE_ACTOR_ID = "USLACKUSER"


def service_actor() -> dict[str, Any]:
    """The actor of events Trailkeeper records about itself (retention purges, key rotation)."""
    return {"type": "user", "user": {"id": SERVICE_ACTOR_ID, "name": "Trailkeeper"}}


def organization_event(
    action: str, org_id: str, details: Mapping[str, Any] | None = None, *, ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """An event by the service about a whole organization (entity and location: the enterprise)."""
    event: dict[str, Any] = {
        "action": action,
        "actor": service_actor(),
        "entity": {"type": "enterprise", "enterprise": {"id": org_id}},
        "context": {
            "location": {"type": "enterprise", "id": org_id},
            "ua": "trailkeeper",
            "ip_address": ip,
            "session_id": None,
        },
    }
    if details:
        event["details"] = dict(details)
    return event


class Recorder:
    """Records events into a store through the normal ingest path."""

    def __init__(self, store: Store, catalog: Catalog | None = None) -> None:
        self.store = store
        self._ingestor = Ingestor(
            store, catalog or load_catalog(), LocationIndex(store), max_event_bytes=1 << 20
        )

    @classmethod
    def open(cls, database_url: str) -> Recorder:
        """A recorder on the database at `database_url` (migrations applied)."""
        store = open_store(database_url)
        store.migrate()
        return cls(store)

    def record(self, event: Mapping[str, Any]) -> str:
        """Durably record one event and return its id; `EventRejected` says what is wrong."""
        report = self._ingestor.ingest([dict(event)])
        if report.rejected:
            raise EventRejected(report.rejected[0].reason)
        return report.accepted[0]

    def paused_organizations(self) -> Collection[str]:
        """Organizations whose recording is paused, as this recorder's ingest sees them now."""
        return self._ingestor.pauses.pauses().keys()

    def record_many(self, events: Sequence[Mapping[str, Any]]) -> IngestReport:
        """Durably record a batch; rejected events are reported, the rest stored."""
        return self._ingestor.ingest([dict(e) for e in events])


BACKOFF_S = 0.2
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response, default_s: float) -> float:
    """The server's `Retry-After` in seconds (bounded to an hour), or `default_s`."""
    try:
        return min(max(float(response.headers["Retry-After"]), 0.0), 3600.0)
    except (KeyError, ValueError):
        return default_s


def _report_or_raise(response: httpx.Response) -> dict[str, Any]:
    """The ingest report of a committed batch, or the error the refusal stands for."""
    try:
        result = response.json()
    except ValueError:
        result = None
    if not isinstance(result, dict):
        raise StorageError(f"ingest answered {response.status_code} without a JSON report")
    if response.status_code < 400 or "accepted" in result:
        return result
    error = str(result.get("error", response.status_code))
    wait = int(_retry_after(response, 1.0))
    if response.status_code == 429:
        raise RateLimited(wait)
    if response.status_code == 503:
        raise ServiceUnavailable(f"ingest refused for now: {error}", wait)
    if response.status_code in (401, 403):
        raise InvalidAuthentication(f"ingest refused: {error}")
    if response.status_code >= 500:
        raise StorageError(f"ingest failed: {error}")
    raise InvalidPayload(f"ingest refused: {error}")


class IngestClient:
    """Posts batches to a Trailkeeper server's `POST /ingest/v1/events`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}"},
        )
        self._retries = retries
        self._sleep = sleep

    def send(self, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Send a batch; returns the server's report once the batch is durably committed.

        Transport errors, 429 and 5xx are retried (after `Retry-After` when the server gives
        one); give every event an `id` so a retry after a lost answer cannot store an event twice.
        A refusal raises what it means: `RateLimited` or `ServiceUnavailable` (retry later, the
        batch was not stored), `InvalidAuthentication`, or `InvalidPayload`.
        """
        body = orjson.dumps(list(events))
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._client.post(
                    "/ingest/v1/events", content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError:
                if last:
                    raise
                self._sleep(BACKOFF_S * 2**attempt)
                continue
            if response.status_code in RETRYABLE_STATUSES and not last:
                self._sleep(_retry_after(response, BACKOFF_S * 2**attempt))
                continue
            return _report_or_raise(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
