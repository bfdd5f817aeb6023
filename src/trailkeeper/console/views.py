"""What the console shows of an event: a summary read from its stored bytes (whatever their shape),
the catalog's actions grouped for the action picker, and events grouped by day. No I/O.

Every value is a plain string, cut to a display length; templates escape them (Jinja2 autoescape).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from trailkeeper.catalog import Catalog
from trailkeeper.console.filters import format_time
from trailkeeper.events import StoredRow

SHORT = 120  # characters of a value in a table cell
LONG = 2000  # characters of a value on the detail page


def text_of(value: object, limit: int = SHORT) -> str:
    """A value as display text: strings as they are, None as '', anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def decode(body: bytes) -> dict[str, Any]:
    """An event's JSON object ({} for bytes that are not one: a tampered row still displays)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Party:
    """An actor or entity as shown: its type, id, a human label and (for people) an email."""

    type: str
    id: str
    label: str
    email: str = ""


def actor_of(event: Mapping[str, Any]) -> Party:
    """Who acted."""
    actor = _object(event.get("actor"))
    user = _object(actor.get("user"))
    return Party(
        text_of(actor.get("type")),
        text_of(user.get("id")),
        text_of(user.get("name")),
        text_of(user.get("email")),
    )


def entity_of(event: Mapping[str, Any]) -> Party:
    """What was acted on: the object keyed by the entity's type."""
    entity = _object(event.get("entity"))
    kind = text_of(entity.get("type"))
    obj = _object(entity.get(kind)) if kind else {}
    label = obj.get("name") or obj.get("title") or obj.get("email") or obj.get("domain")
    return Party(kind, text_of(obj.get("id")), text_of(label), text_of(obj.get("email")))


@dataclass(frozen=True)
class EventSummary:
    """One event as a row of the log."""

    id: str
    date_create: int
    when: str
    action: str
    description: str
    actor: Party
    entity: Party
    location_type: str
    location_id: str
    location_name: str
    ip: str
    ua: str
    session_id: str
    reasons: tuple[str, ...]

    @property
    def is_anomaly(self) -> bool:
        """An anomaly event (it links to its triggering events)."""
        return self.action == "anomaly"


def _reasons(event: Mapping[str, Any]) -> tuple[str, ...]:
    reasons = _object(event.get("details")).get("reason")
    if not isinstance(reasons, list):
        return ()
    return tuple(text_of(r, 60) for r in reasons[:20])


def describe(action: str, catalog: Catalog) -> str:
    """The catalog's one-line description of an action ('' for unknown ones)."""
    return catalog.action(action).description if catalog.has_action(action) else ""


def summarize(row: StoredRow, catalog: Catalog) -> EventSummary:
    """The summary of a stored row."""
    event = decode(row.body)
    context = _object(event.get("context"))
    location = _object(context.get("location"))
    action = text_of(event.get("action"), 80)
    return EventSummary(
        id=text_of(event.get("id"), 128),
        date_create=row.date_create,
        when=format_time(row.date_create),
        action=action,
        description=describe(action, catalog),
        actor=actor_of(event),
        entity=entity_of(event),
        location_type=text_of(location.get("type")),
        location_id=text_of(location.get("id")),
        location_name=text_of(location.get("name")),
        ip=text_of(context.get("ip_address"), 64),
        ua=text_of(context.get("ua")),
        session_id=text_of(context.get("session_id"), 32),
        reasons=_reasons(event),
    )


@dataclass(frozen=True)
class ActionOption:
    """An action in the picker."""

    name: str
    description: str


@dataclass(frozen=True)
class ActionGroup:
    """A group of actions, as `/audit/v1/actions` groups them."""

    name: str
    actions: tuple[ActionOption, ...]


def action_groups(catalog: Catalog) -> tuple[ActionGroup, ...]:
    """The catalog's actions by group, in `/actions` order (an action listed in two groups is
    offered in the first only, so the picker holds no duplicate values)."""
    seen: set[str] = set()
    groups = []
    for group, specs in catalog.groups.items():
        fresh = [s for s in specs if s.name not in seen]
        seen.update(s.name for s in fresh)
        if fresh:
            options = tuple(ActionOption(s.name, s.description) for s in fresh)
            groups.append(ActionGroup(group, options))
    return tuple(groups)


@dataclass(frozen=True)
class Day:
    """Events of one UTC day, newest first: a step of a timeline."""

    date: str
    items: tuple[Any, ...]


def by_day(items: Iterable[Any]) -> list[Day]:
    """Items with a `when` (`YYYY-MM-DD …`) grouped by day, keeping their order."""
    days: list[Day] = []
    for item in items:
        date = str(item.when)[:10]
        if days and days[-1].date == date:
            days[-1] = Day(date, (*days[-1].items, item))
        else:
            days.append(Day(date, (item,)))
    return days
