"""What detectors look at and what they report: `Observation` (one committed event or one
platform signal, enriched) and `Finding` (one detector's verdict, before controls and de-dup).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trailkeeper.detect.activity import (
    INVITED_JOINS,
    LOGIN_FAILED,
    READS,
    is_read_method,
    method_metric,
    metric_of,
)
from trailkeeper.detect.clients import ClientInfo
from trailkeeper.detect.enrichment import IpInfo
from trailkeeper.detect.signals import Signal

APP_PREFIX = "app:"


@dataclass(slots=True)
class Observation:
    """One thing an actor did, with what enrichment says about where and with what from."""

    org_id: str
    ts: float
    action: str
    actor: dict[str, Any]
    context: dict[str, Any]
    ip: str
    ua: str
    session_id: int | None
    ip_info: IpInfo
    client: ClientInfo
    event_id: str | None = None
    app: dict[str, Any] | None = None
    entity: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    count: float = 1.0
    api_method: str = ""
    target_id: str | None = None
    fingerprint: str = ""
    is_signal: bool = False

    @property
    def actor_id(self) -> str:
        """The user id of the actor."""
        return str(self.actor.get("id", ""))

    @property
    def is_app(self) -> bool:
        """Did an app's token do this (context.app present)?"""
        return self.app is not None

    @property
    def actor_key(self) -> str:
        """Whose state this updates: the app for app tokens, else the user."""
        if self.app is not None:
            return APP_PREFIX + str(self.app.get("id", ""))
        return self.actor_id

    @property
    def metric(self) -> tuple[str, float] | None:
        """The volume metric this counts toward (downloads, shares, deletions) and by how much
        (a signal's calls times the method's weight), if any."""
        if not self.is_signal:
            return metric_of(self.action)
        found = method_metric(self.api_method)
        return None if found is None else (found[0], found[1] * self.count)

    @property
    def read_target(self) -> str | None:
        """The id of what was read, for scraping breadth (None if not a read)."""
        if self.is_signal:
            return self.target_id if is_read_method(self.api_method) else None
        if self.action not in READS or self.details.get("inviter"):
            return None
        kind = self.entity.get("type")
        obj = self.entity.get(kind) if isinstance(kind, str) else None
        return str(obj.get("id")) if isinstance(obj, Mapping) and obj.get("id") else None

    @property
    def is_read(self) -> bool:
        """Does this read content (reads, downloads, read API calls)?"""
        if self.is_signal:
            return is_read_method(self.api_method)
        return self.action in READS or (self.metric is not None and self.metric[0] == "downloads")

    @property
    def context_is_actors(self) -> bool:
        """Does the context describe the actor's own authenticated use? Not for an inviter's
        join of this user, nor for a failed login (whoever tried, it was not the actor)."""
        if self.action == LOGIN_FAILED:
            return False
        return not (self.action in INVITED_JOINS and self.details.get("inviter"))

    @property
    def entity_user_id(self) -> str | None:
        """The user id of a user entity (whom a role change or reset was about)."""
        if self.entity.get("type") != "user":
            return None
        obj = self.entity.get("user")
        return str(obj.get("id")) if isinstance(obj, Mapping) and obj.get("id") else None


@dataclass(slots=True)
class Finding:
    """One detector's verdict on one observation, with Slack's details and our evidence.

    `intrinsic` findings (Tor, IOC, suspicious ASN) need no baseline and fire during warm-up.
    `group` decides merging: findings of one observation in the "identity" group become one
    anomaly (Slack's multi-reason entries); every other group is emitted on its own.
    """

    reasons: tuple[str, ...]
    detector: str
    score: float
    baseline: dict[str, Any] = field(default_factory=dict)
    window_s: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    app_entity: bool = False
    intrinsic: bool = False
    group: str = "identity"
    event_ids: list[str] = field(default_factory=list)
    previous_ip: str = ""
    previous_ua: str = ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _session(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def event_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a Slack-shaped event an observation needs (no enrichment yet)."""
    context = _dict(event.get("context"))
    actor = _dict(_dict(event.get("actor")).get("user"))
    app = context.get("app")
    return {
        "ts": float(event.get("date_create") or 0),
        "action": str(event.get("action") or ""),
        "actor": actor,
        "context": context,
        "ip": str(context.get("ip_address") or ""),
        "ua": str(context.get("ua") or ""),
        "session_id": _session(context.get("session_id")),
        "event_id": str(event["id"]) if event.get("id") is not None else None,
        "app": app if isinstance(app, dict) and app.get("id") else None,
        "entity": _dict(event.get("entity")),
        "details": _dict(event.get("details")),
    }


def signal_context(org_id: str, signal: Signal) -> dict[str, Any]:
    """An audit-event context for an anomaly triggered by a signal."""
    location_id = signal.workspace_id or org_id
    kind = "workspace" if location_id.startswith("T") else "enterprise"
    context: dict[str, Any] = {
        "location": {"type": kind, "id": location_id},
        "ua": signal.ua,
        "ip_address": signal.ip_address,
        "session_id": signal.session_id,
    }
    if signal.app_id:
        context["app"] = {"id": signal.app_id}
    return context


def signal_fields(org_id: str, signal: Signal) -> dict[str, Any]:
    """The observation fields of a platform signal (no enrichment yet)."""
    context = signal_context(org_id, signal)
    return {
        "ts": float(signal.date),
        "action": "signal:" + signal.api_method,
        "actor": {"id": signal.actor_id},
        "context": context,
        "ip": signal.ip_address,
        "ua": signal.ua,
        "session_id": signal.session_id,
        "app": context.get("app"),
        "count": float(signal.count),
        "api_method": signal.api_method,
        "target_id": signal.target_id,
        "fingerprint": signal.client_fingerprint or "",
        "is_signal": True,
    }
