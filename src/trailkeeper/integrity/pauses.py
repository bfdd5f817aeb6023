"""Pausing an organization's recording: the state every node reads, the gate ingest passes, and
the pause and resume themselves, each recorded in the organization's own log.

A pause is an interval of the log's history a reader must see, so it is written into the Merkle
chain: `audit_logging_paused` opens it and `audit_logging_resumed` closes it. Between the two,
ingest for the organization is refused with a retryable error (nothing acknowledged is lost);
only the log's own events (purges, key changes, the resume) are still recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from trailkeeper.errors import Conflict, InvalidArguments, LoggingPaused, NotFound
from trailkeeper.events import PreparedEvent

PAUSED = "audit_logging_paused"
RESUMED = "audit_logging_resumed"
RETRY_AFTER_S = 30  # what refused producers are told; a pause usually lasts minutes or more
CACHE_TTL_S = 2.0  # how long a node may act on a pause state it read (docs/integrity.md)
MAX_REASON_CHARS = 500
SERVICE_ACTOR_ID = "USLACKUSER"  # the actor of the log's own events (recorder.service_actor)
# What happens to the log itself is recorded during a pause too: a purge, a key change or the
# resume that ends it must never be refused (trailkeeper group of data/catalog.toml).
LOG_OWN_ACTIONS = frozenset(
    {
        "audit_logs_purged",
        PAUSED,
        RESUMED,
        "audit_logs_signing_key_created",
        "audit_logs_signing_key_rotated",
        "pref.ext_audit_log_retention_duration_changed",
    }
)


@dataclass(frozen=True)
class PauseRecord:
    """An organization whose recording is paused: since when, and the operator's reason."""

    org_id: str
    paused_at: int
    reason: str


class PauseReader(Protocol):
    """What the gate reads (every `storage.base.EventStore` has it)."""

    def logging_pauses(self) -> dict[str, PauseRecord]: ...


class PauseStore(PauseReader, Protocol):
    """What pausing and resuming need from a store (a subset of `storage.base.Store`)."""

    def pause_logging(self, record: PauseRecord) -> bool: ...

    def resume_logging(self, org_id: str) -> bool: ...

    def get_organization(self, org_id: str) -> Any: ...


RecordEvent = Callable[[str, str, Mapping[str, Any]], object]
"""Records one event about the log itself: (action, organization id, details)."""


def is_log_own_event(event: PreparedEvent) -> bool:
    """Is this one of the service's events about the log itself (recorded during a pause)?"""
    return event.actor_id == SERVICE_ACTOR_ID and event.action in LOG_OWN_ACTIONS


class PauseGate:
    """Refuses ingest for paused organizations, reading the store at most every `ttl_s`."""

    def __init__(
        self,
        store: PauseReader,
        *,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pauses: dict[str, PauseRecord] = {}
        self._read_at: float | None = None

    def pauses(self) -> dict[str, PauseRecord]:
        """Every paused organization, as last read (one statement per `ttl_s`, all orgs)."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._ttl_s:
                self._pauses = self._store.logging_pauses()
                self._read_at = now
            return self._pauses

    def forget(self) -> None:
        """Read the store again at the next check (this process paused or resumed)."""
        with self._lock:
            self._read_at = None

    def note_committed(self, events: Iterable[PreparedEvent]) -> None:
        """After a commit: a pause or resume recorded through this gate's path applies at once."""
        if any(e.action in (PAUSED, RESUMED) for e in events):
            self.forget()

    def check_org(self, org_id: str) -> None:
        """Raise `LoggingPaused` if the organization's recording is paused."""
        pause = self.pauses().get(org_id)
        if pause is not None:
            raise LoggingPaused(org_id, pause.paused_at, RETRY_AFTER_S)

    def check(self, events: Iterable[PreparedEvent], *, own_allowed: bool = False) -> None:
        """Raise `LoggingPaused` if any event is for a paused organization; with `own_allowed`
        (trusted in-process callers), the log's own events pass."""
        pauses = self.pauses()
        if not pauses:
            return
        for event in events:
            if event.org_id in pauses and not (own_allowed and is_log_own_event(event)):
                raise LoggingPaused(event.org_id, pauses[event.org_id].paused_at, RETRY_AFTER_S)


# ---------------------------------------------------------------------------------------------
# Pausing and resuming (operator)
# ---------------------------------------------------------------------------------------------


def _checked_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidArguments(f"the reason must be at most {MAX_REASON_CHARS} characters")
    return reason


def _details(reason: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**({"reason": reason} if reason else {}), **extra}


def pause_logging(
    store: PauseStore, record_event: RecordEvent, org_id: str, reason: str, now: int
) -> PauseRecord:
    """Stop accepting the organization's events; `audit_logging_paused` is recorded first
    thing after the switch, so it follows everything accepted before the pause."""
    reason = _checked_reason(reason)
    if store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    record = PauseRecord(org_id, now, reason)
    if not store.pause_logging(record):
        raise Conflict(f"recording for {org_id} is paused already")
    try:
        record_event(PAUSED, org_id, _details(reason, {}))
    except Exception:
        store.resume_logging(org_id)  # no pause the log does not show
        raise
    return record


def resume_logging(
    store: PauseStore, record_event: RecordEvent, org_id: str, reason: str, now: int
) -> PauseRecord:
    """Accept the organization's events again; `audit_logging_resumed` (with how long the
    pause lasted) is recorded before the first of them."""
    reason = _checked_reason(reason)
    pause = store.logging_pauses().get(org_id)
    if pause is None:
        if store.get_organization(org_id) is None:
            raise NotFound(f"no organization {org_id}")
        raise Conflict(f"recording for {org_id} is not paused")
    record_event(
        RESUMED,
        org_id,
        _details(reason, {"paused_at": pause.paused_at, "paused_s": max(0, now - pause.paused_at)}),
    )
    store.resume_logging(org_id)
    return pause
