"""Checking one incoming event against the catalog and Slack's event shape. No I/O.

Every rule here protects a reader: an event that would make `slack_sdk`'s typed model raise, or a
SIEM parser choke, is refused at the door with a reason instead of being served forever.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trailkeeper.catalog import SERVICE_GROUP, Catalog
from trailkeeper.events import TOP_LEVEL_KEYS, PreparedEvent, canonical_bytes

MIN_DATE = 1_000_000_000  # 2001-09-09; nothing older is an audit event of a live system
MAX_FUTURE_S = 300
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
USER_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,63}$")
MAX_TEXT = 4096
# A NUL in the canonical bytes: `\u0000` after an even number of backslashes (`\\u0000` is
# an escaped backslash followed by the text "u0000", not a NUL).
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
CONTEXT_KEYS = frozenset(
    {"location", "ua", "ip_address", "session_id", "app", "acting_agent", "agent_message"}
)
LOCATION_KEYS = frozenset({"type", "id", "name", "domain"})
# Keys of `details` that slack_sdk's typed model converts and that therefore must be objects.
OBJECT_DETAIL_KEYS = frozenset(
    {
        "inviter",
        "kicker",
        "old_retention_policy",
        "new_retention_policy",
        "who_can_post",
        "can_thread",
        "enable_at_here",
        "enable_at_channel",
        "can_huddle",
        "shared_with",
        "previous_profile",
        "new_profile",
        "space_file_id",
        "matched_rule",
        "request",
    }
)
OBJECT_LIST_DETAIL_KEYS = frozenset({"rules_checked", "attributes"})
JSON_LIST_DETAIL_KEYS = frozenset({"succeeded_users", "failed_users"})


class EventRejected(ValueError):
    """One event of a batch cannot be accepted; `reason` says why, for the producer."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ResolvedLocation:
    """The organization a `context.location` belongs to, with the location's directory names."""

    org_id: str
    name: str
    domain: str


LocationResolver = Callable[[str, str], ResolvedLocation | None]


def _need(condition: bool, reason: str) -> None:
    if not condition:
        raise EventRejected(reason)


def _as_dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventRejected(f"{where} must be an object")
    return value


def _as_str(value: object, where: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise EventRejected(f"{where} must be a non-empty string")
    if pattern is not None and not pattern.fullmatch(value):
        raise EventRejected(f"{where} is malformed")
    return value


def _no_unknown(obj: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise EventRejected(f"{where} has unknown field {str(unknown[0])[:60]!r}")


def _text(value: object, where: str, *, limit: int = MAX_TEXT) -> None:
    if value is None:
        return
    _need(isinstance(value, str), f"{where} must be a string")
    _need(len(str(value)) <= limit, f"{where} is longer than {limit} characters")


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_fields(obj: object, checks: Mapping[str, Callable[[object], bool]], where: str) -> None:
    for key, value in _as_dict(obj, where).items():
        check = checks.get(key)
        if check is None:
            raise EventRejected(f"{where} has unknown field {str(key)[:60]!r}")
        _need(check(value), f"{where}.{key} has the wrong type")


def check_actor(actor: object, catalog: Catalog) -> str:
    """The actor's user id; the actor must be `{"type":"user","user":{...}}` (always a user)."""
    actor = _as_dict(actor, "actor")
    _need(actor.get("type") == "user", 'actor.type must be "user"')
    _no_unknown(actor, frozenset({"type", "user"}), "actor")
    user = _as_dict(actor.get("user"), "actor.user")
    _check_fields(user, catalog.field_checks("user") or {}, "actor.user")
    return _as_str(user.get("id"), "actor.user.id (a user id like U123ABC)", USER_ID_PATTERN)


def check_entity(entity: object, catalog: Catalog) -> str | None:
    """The entity's id (None for types without one, e.g. message); the object keyed by its type."""
    entity = _as_dict(entity, "entity")
    kind = _as_str(entity.get("type"), "entity.type")
    checks = catalog.field_checks(kind)
    if checks is None:
        raise EventRejected(f"unknown entity type {kind[:60]!r}")
    _need(set(entity) == {"type", kind}, f"entity must hold exactly one object keyed {kind!r}")
    obj = _as_dict(entity[kind], f"entity.{kind}")
    _check_fields(obj, checks, f"entity.{kind}")
    if "id" in checks:
        return _as_str(obj.get("id"), f"entity.{kind}.id")
    return None


def _check_app(app: object) -> None:
    for key, value in _as_dict(app, "context.app").items():
        if key in ("scopes", "scopes_bot"):
            _need(_is_str_list(value), f"context.app.{key} must be a list of strings")
        elif key in ("is_distributed", "is_directory_approved", "is_workflow_app"):
            _need(isinstance(value, bool) or value is None, f"context.app.{key} must be a bool")
        else:
            _text(value, f"context.app.{key}")


def _session_id(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)  # the docs' example uses a string; clients expect a number
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    raise EventRejected("context.session_id must be a non-negative integer or null")


def _check_location(location: object, resolve: LocationResolver) -> tuple[str, dict[str, Any]]:
    location = _as_dict(location, "context.location")
    _no_unknown(location, LOCATION_KEYS, "context.location")
    kind = location.get("type")
    _need(
        kind in ("workspace", "enterprise"),
        'context.location.type must be "workspace" or "enterprise"',
    )
    loc_id = _as_str(location.get("id"), "context.location.id")[:64]
    resolved = resolve(str(kind), loc_id)
    if resolved is None:
        raise EventRejected(f"unknown {kind} {loc_id!r} in context.location")
    _text(location.get("name"), "context.location.name")
    _text(location.get("domain"), "context.location.domain")
    return resolved.org_id, {
        "type": kind,
        "id": loc_id,
        "name": location.get("name") or resolved.name,
        "domain": location.get("domain") or resolved.domain,
    }


def check_context(context: object, resolve: LocationResolver) -> tuple[str, dict[str, Any]]:
    """The organization of the event and its normalized context."""
    context = _as_dict(context, "context")
    _no_unknown(context, CONTEXT_KEYS, "context")
    org_id, location = _check_location(context.get("location"), resolve)
    _text(context.get("ua"), "context.ua")
    _text(context.get("acting_agent"), "context.acting_agent")
    ip = context.get("ip_address")
    if ip not in (None, ""):
        _need(isinstance(ip, str) and _is_ip(ip), "context.ip_address must be an IP address")
    if context.get("app") is not None:
        _check_app(context["app"])
    if context.get("agent_message") is not None:
        _as_dict(context["agent_message"], "context.agent_message")
    normalized = {**context, "location": location}
    normalized["session_id"] = _session_id(context.get("session_id"))
    return org_id, normalized


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_details(details: object, action: str) -> None:
    """`details` is free-form per action, but keys typed objects by slack_sdk must be objects."""
    details = _as_dict(details, "details")
    for key in OBJECT_DETAIL_KEYS & details.keys():
        if details[key] is not None:
            _as_dict(details[key], f"details.{key}")
    for key in OBJECT_LIST_DETAIL_KEYS & details.keys():
        value = details[key]
        _need(
            value is None or (isinstance(value, list) and all(isinstance(v, dict) for v in value)),
            f"details.{key} must be a list of objects",
        )
    for key in JSON_LIST_DETAIL_KEYS & details.keys():
        _need(_is_list_or_json_list(details[key]), f"details.{key} must be a list (or JSON list)")
    if action == "anomaly":
        _need(
            _is_str_list(details.get("reason")),
            "details.reason of an anomaly must be a list of strings",
        )


def _is_list_or_json_list(value: object) -> bool:
    if value is None or isinstance(value, list):
        return True
    if isinstance(value, str):
        try:
            return isinstance(orjson.loads(value), list)
        except orjson.JSONDecodeError:
            return False
    return False


def _event_id(raw: dict[str, Any]) -> tuple[str, bool]:
    if raw.get("id") is None:
        return str(uuid.uuid4()), False
    pattern_help = "id (1-128 letters, digits and _ . : -)"
    return _as_str(raw["id"], pattern_help, ID_PATTERN), True


def _date_create(raw: dict[str, Any], now: int) -> int:
    date = raw.get("date_create")
    if date is None:
        return now
    if not isinstance(date, int) or isinstance(date, bool):
        raise EventRejected("date_create must be an integer")
    _need(MIN_DATE <= date <= now + MAX_FUTURE_S, "date_create is out of range")
    return date


def prepare_event(
    raw: object,
    catalog: Catalog,
    resolve: LocationResolver,
    *,
    now: int,
    max_event_bytes: int,
    org_scope: str | None = None,
) -> PreparedEvent:
    """Validate one event, fill `id`/`date_create` and location names, and freeze its bytes."""
    event = _as_dict(raw, "an event")
    _no_unknown(event, frozenset(TOP_LEVEL_KEYS), "the event")
    event_id, supplied = _event_id(event)
    date = _date_create(event, now)
    action = event.get("action")
    if not isinstance(action, str) or not catalog.has_action(action):
        raise EventRejected(f"unknown action {str(action)[:80]!r}")
    actor_id = check_actor(event.get("actor"), catalog)
    entity_id = check_entity(event.get("entity"), catalog)
    org_id, context = check_context(event.get("context"), resolve)
    _need(
        org_scope is None or org_id == org_scope,
        "context.location belongs to another organization",
    )
    _need(
        org_scope is None or catalog.action(action).group != SERVICE_GROUP,
        f"{action} is recorded only by Trailkeeper itself, never by producers",
    )
    details = event.get("details")
    if details is not None or action == "anomaly":
        check_details({} if details is None else details, action)
    value = {**event, "id": event_id, "date_create": date, "context": context}
    if value.get("details") is None:
        value.pop("details", None)
    try:
        body = canonical_bytes(value)
    except TypeError as exc:  # orjson: integers beyond 64 bits (only in-process callers)
        raise EventRejected(f"the event cannot be stored: {exc}") from exc
    _need(len(body) <= max_event_bytes, f"event is larger than {max_event_bytes} bytes")
    # NUL is never audit data, and PostgreSQL's text and jsonb cannot hold it.
    _need(NUL_ESCAPE.search(body) is None, "strings must not contain NUL (\\u0000) characters")
    return PreparedEvent(
        org_id=org_id,
        id=event_id,
        date_create=date,
        action=action,
        actor_id=actor_id,
        entity_id=entity_id,
        body=body,
        id_supplied=supplied,
    )
