"""Per-organization controls of detection, like Slack's: trusted networks, exempt members,
per-reason switches and sensitivity, shadow mode. Every change is itself an audit event.

`OrgControls` is a frozen value; `update_controls` stores a new value and records what changed
(`pref.anomaly_event_response_changed` for settings and trusted networks,
`user_anomaly_event_response_allowlist_changed` per exempted or re-included member).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from trailkeeper.detect.sources import RangeTable, build_range_table
from trailkeeper.errors import InvalidArguments
from trailkeeper.recorder import organization_event

# Slack's reason codes that Trailkeeper emits (spec/slack-audit-api.md §4.2).
REASONS = (
    "tor",
    "ip_address",
    "asn",
    "session_fingerprint",
    "user_agent",
    "unexpected_user_agent",
    "unexpected_client",
    "spoofed_user_agent",
    "excessive_downloads",
    "excessive_file_shares",
    "unexpected_scraping",
    "unexpected_api_call_volume",
    "unexpected_admin_action",
    "unexpected_message_deletion",
    "unexpected_credential_testing",
)
# A level multiplies the detector's thresholds: "high" sensitivity alerts at half the volume.
LEVELS = {"low": 2.0, "medium": 1.0, "high": 0.5}
MAX_TRUSTED = 1000
PREF_ACTION = "pref.anomaly_event_response_changed"
EXEMPT_ACTION = "user_anomaly_event_response_allowlist_changed"


@dataclass(frozen=True)
class OrgControls:
    """How detection behaves for one organization (the defaults: everything on, medium)."""

    enabled: bool = True
    shadow: bool = False
    disabled_reasons: frozenset[str] = frozenset()
    sensitivity: Mapping[str, str] = field(default_factory=dict)
    trusted_cidrs: tuple[str, ...] = ()
    trusted_asns: tuple[int, ...] = ()
    exempt_users: frozenset[str] = frozenset()

    @functools.cached_property
    def _trusted(self) -> RangeTable:
        return build_range_table("\n".join(self.trusted_cidrs))

    def is_trusted(self, ip: str | None, asn: int | None) -> bool:
        """Is traffic from this address or ASN on the organization's allow-list?"""
        if asn is not None and asn in self.trusted_asns:
            return True
        if not ip or not self.trusted_cidrs:
            return False
        try:
            return self._trusted.label_of(ipaddress.ip_address(ip)) is not None
        except ValueError:
            return False

    def allows(self, reason: str) -> bool:
        """Is this reason switched on?"""
        return self.enabled and reason not in self.disabled_reasons

    def factor(self, reason: str) -> float:
        """The threshold multiplier of a reason's sensitivity level."""
        return LEVELS[self.sensitivity.get(reason, "medium")]

    @property
    def mode(self) -> str:
        """on, shadow or off."""
        if not self.enabled:
            return "off"
        return "shadow" if self.shadow else "on"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (API bodies and storage)."""
        return {
            "mode": self.mode,
            "disabled_reasons": sorted(self.disabled_reasons),
            "sensitivity": dict(sorted(self.sensitivity.items())),
            "trusted_cidr": list(self.trusted_cidrs),
            "trusted_asn": list(self.trusted_asns),
            "exempt_users": sorted(self.exempt_users),
        }


DEFAULT_CONTROLS = OrgControls()


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArguments(f"`{what}` must be a list of strings")
    if len(value) > MAX_TRUSTED:
        raise InvalidArguments(f"`{what}` may hold at most {MAX_TRUSTED} items")
    return value


def _cidrs(values: Iterable[str]) -> tuple[str, ...]:
    out = []
    for text in values:
        try:
            out.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError as exc:
            raise InvalidArguments(f"`trusted_cidr` has an invalid network {text[:60]!r}") from exc
    return tuple(dict.fromkeys(out))


def _asns(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise InvalidArguments("`trusted_asn` must be a list of AS numbers")
    out = []
    for item in value[: MAX_TRUSTED + 1]:
        text = str(item).upper().removeprefix("AS")
        if isinstance(item, bool) or not text.isdigit() or not 0 < int(text) < 2**32:
            raise InvalidArguments("`trusted_asn` must be a list of AS numbers")
        out.append(int(text))
    if len(out) > MAX_TRUSTED:
        raise InvalidArguments(f"`trusted_asn` may hold at most {MAX_TRUSTED} items")
    return tuple(dict.fromkeys(out))


def _reasons(values: list[str]) -> frozenset[str]:
    unknown = sorted(set(values) - set(REASONS))
    if unknown:
        raise InvalidArguments(f"unknown reason {unknown[0][:60]!r}")
    return frozenset(values)


def _sensitivity(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidArguments("`sensitivity` must map reasons to low, medium or high")
    _reasons(list(value))
    if not all(level in LEVELS for level in value.values()):
        raise InvalidArguments("`sensitivity` levels are low, medium or high")
    return {k: v for k, v in value.items() if v != "medium"}


def _mode(value: object) -> tuple[bool, bool]:
    if value not in ("on", "shadow", "off"):
        raise InvalidArguments("`mode` must be on, shadow or off")
    return value != "off", value == "shadow"


UPDATERS: dict[str, Callable[[OrgControls, Any], OrgControls]] = {
    "mode": lambda c, v: replace(c, enabled=_mode(v)[0], shadow=_mode(v)[1]),
    "disabled_reasons": lambda c, v: replace(
        c, disabled_reasons=_reasons(_strings(v, "disabled_reasons"))
    ),
    "sensitivity": lambda c, v: replace(c, sensitivity=_sensitivity(v)),
    "trusted_cidr": lambda c, v: replace(c, trusted_cidrs=_cidrs(_strings(v, "trusted_cidr"))),
    "trusted_asn": lambda c, v: replace(c, trusted_asns=_asns(v)),
    "exempt_users": lambda c, v: replace(c, exempt_users=frozenset(_strings(v, "exempt_users"))),
}


def apply_changes(current: OrgControls, changes: Mapping[str, Any]) -> OrgControls:
    """`current` with the given fields replaced (the JSON names of `to_dict`); validated."""
    unknown = sorted(set(changes) - set(UPDATERS))
    if unknown:
        raise InvalidArguments(f"unknown control {unknown[0][:60]!r}")
    for name, value in changes.items():
        current = UPDATERS[name](current, value)
    return current


def controls_from_json(text: str | None) -> OrgControls:
    """Stored controls back (defaults when nothing is stored)."""
    if not text:
        return DEFAULT_CONTROLS
    return apply_changes(DEFAULT_CONTROLS, orjson.loads(text))


def _settings_value(c: OrgControls) -> dict[str, list[str]]:
    # Slack's previous_value/new_value: an object whose values are lists of strings.
    return {
        "mode": [c.mode],
        "disabled_reasons": sorted(c.disabled_reasons),
        "sensitivity": [f"{k}={v}" for k, v in sorted(c.sensitivity.items())],
        "trusted_cidr": list(c.trusted_cidrs),
        "trusted_asn": [str(a) for a in c.trusted_asns],
    }


def _user_entity(user_id: str) -> dict[str, Any]:
    return {"type": "user", "user": {"id": user_id}}


def control_events(org_id: str, old: OrgControls, new: OrgControls) -> list[dict[str, Any]]:
    """The audit events that record a change of controls (none when nothing changed)."""
    events = []
    before, after = _settings_value(old), _settings_value(new)
    if before != after:
        events.append(
            organization_event(PREF_ACTION, org_id, {"previous_value": before, "new_value": after})
        )
    for user_id, exempt in sorted(
        [(u, True) for u in new.exempt_users - old.exempt_users]
        + [(u, False) for u in old.exempt_users - new.exempt_users]
    ):
        event = organization_event(
            EXEMPT_ACTION,
            org_id,
            {
                "previous_value": "included" if exempt else "exempt",
                "new_value": "exempt" if exempt else "included",
            },
        )
        event["entity"] = _user_entity(user_id)
        events.append(event)
    return events


class ControlsStore(Protocol):
    """What controls need from the store."""

    def get_detect_controls(self, org_id: str) -> str | None: ...

    def put_detect_controls(self, org_id: str, controls_json: str) -> None: ...


RecordEvents = Callable[[list[dict[str, Any]]], object]


def update_controls(
    store: ControlsStore,
    record: RecordEvents,
    org_id: str,
    changes: Mapping[str, Any],
) -> OrgControls:
    """Apply changes to an organization's controls, store them and record the change events."""
    old = controls_from_json(store.get_detect_controls(org_id))
    new = apply_changes(old, changes)
    events = control_events(org_id, old, new)
    if events:
        store.put_detect_controls(org_id, orjson.dumps(new.to_dict()).decode())
        record(events)
    return new


class CachedControls:
    """A controls provider over the store, re-read at most every `ttl_s` per organization."""

    def __init__(
        self, store: ControlsStore, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, OrgControls]] = {}
        self._lock = threading.Lock()

    def __call__(self, org_id: str) -> OrgControls:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(org_id)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        controls = controls_from_json(self._store.get_detect_controls(org_id))
        with self._lock:
            self._cache[org_id] = (now, controls)
        return controls

    def invalidate(self, org_id: str | None = None) -> None:
        """Forget cached controls (all organizations when `org_id` is None)."""
        with self._lock:
            if org_id is None:
                self._cache.clear()
            else:
                self._cache.pop(org_id, None)
