"""Activity signals: what the platform saw that the audit log does not record (API calls, reads).

A signal is metadata only: who, which session, from where, with which client, which API method,
how many calls, and optionally the id of what was read. Unknown keys are refused, so message
content cannot be sent even by mistake. Signals feed detectors and are kept briefly; they are
never served by `/audit/v1/logs`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_COUNT = 1_000_000
MAX_FUTURE_S = 300
MAX_AGE_S = 86_400
USER_ID = re.compile(r"[A-Z][A-Z0-9]{1,63}")
APP_ID = re.compile(r"A[A-Z0-9]{1,63}")
OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")
FINGERPRINT = re.compile(r"[A-Za-z0-9_.:,;+/=-]{1,200}")
KEYS = frozenset(
    {
        "actor_id",
        "app_id",
        "session_id",
        "ip_address",
        "ua",
        "api_method",
        "count",
        "date",
        "target_id",
        "client_fingerprint",
        "workspace_id",
    }
)


class SignalRejected(ValueError):
    """One signal of a batch cannot be accepted; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Signal:
    """One validated activity signal of one organization."""

    date: int
    actor_id: str
    api_method: str
    count: int = 1
    app_id: str | None = None
    session_id: int | None = None
    ip_address: str = ""
    ua: str = ""
    target_id: str | None = None
    client_fingerprint: str | None = None
    workspace_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (also what is stored)."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


def _text(raw: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SignalRejected(f"{key} is malformed")
    return value


def _session(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    raise SignalRejected("session_id must be a non-negative integer or null")


def _ip(value: object) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise SignalRejected("ip_address must be a string")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise SignalRejected("ip_address must be an IP address") from exc


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SignalRejected(f"{key} must be an integer between {low} and {high}")
    return value


def parse_signal(raw: object, now: int) -> Signal:
    """Validate one signal; `date` defaults to `now` and must be within the last day."""
    if not isinstance(raw, dict):
        raise SignalRejected("a signal must be an object")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise SignalRejected(f"unknown field {str(unknown[0])[:60]!r}")
    actor = _text(raw, "actor_id", USER_ID)
    if actor is None:
        raise SignalRejected("actor_id (a user id like U123ABC) is required")
    method = _text(raw, "api_method", METHOD)
    if method is None:
        raise SignalRejected("api_method (e.g. conversations.history) is required")
    ua = raw.get("ua") or ""
    if not isinstance(ua, str) or len(ua) > 1024:
        raise SignalRejected("ua must be a string of at most 1024 characters")
    return Signal(
        date=_int(raw, "date", now, now - MAX_AGE_S, now + MAX_FUTURE_S),
        actor_id=actor,
        api_method=method,
        count=_int(raw, "count", 1, 1, MAX_COUNT),
        app_id=_text(raw, "app_id", APP_ID),
        session_id=_session(raw.get("session_id")),
        ip_address=_ip(raw.get("ip_address")),
        ua=ua,
        target_id=_text(raw, "target_id", OBJECT_ID),
        client_fingerprint=_text(raw, "client_fingerprint", FINGERPRINT),
        workspace_id=_text(raw, "workspace_id", OBJECT_ID),
    )


def signal_from_dict(raw: Mapping[str, Any]) -> Signal:
    """A stored signal back (trusted: it was validated on the way in)."""
    return Signal(**{k: raw[k] for k in KEYS if k in raw})
