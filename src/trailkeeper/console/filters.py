"""The console's filter: read from a query string (bounded, never raising), shown back in the form
and the URL (so a view can be shared), and resolved into an `EventQuery` with its problems.

Times are UTC. A preset ("last 7 days") is relative to the moment the page is loaded; a `from` or
`to` makes the range custom. Values are bounded before anything looks at them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from trailkeeper.catalog import Catalog
from trailkeeper.console.search import EventQuery
from trailkeeper.errors import InvalidArguments

MAX_QUERY_BYTES = 8 * 1024
MAX_PARAMS = 64
MAX_VALUE_CHARS = 256
MAX_TEXT_CHARS = 200
MAX_ACTIONS = 30  # as /audit/v1/logs
MAX_SECONDS = 2**40  # as query.parse_time
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
DEFAULT_PRESET = "7d"
CUSTOM = "custom"
# name -> (label, seconds back from now; None: unbounded)
PRESETS: dict[str, tuple[str, int | None]] = {
    "15m": ("Last 15 minutes", 15 * 60),
    "1h": ("Last hour", 3600),
    "24h": ("Last 24 hours", 86400),
    "7d": ("Last 7 days", 7 * 86400),
    "30d": ("Last 30 days", 30 * 86400),
    "90d": ("Last 90 days", 90 * 86400),
    "all": ("All time", None),
    CUSTOM: ("Custom range", None),
}
_SESSION = re.compile(r"[0-9]{1,18}")
_TIME_FORMATS = (("%Y-%m-%dT%H:%M:%S", 1), ("%Y-%m-%dT%H:%M", 60), ("%Y-%m-%d", 86400))


@dataclass(frozen=True)
class ConsoleFilter:
    """The filter as the user wrote it: what the form and the URL show."""

    range: str = DEFAULT_PRESET
    start: str = ""
    end: str = ""
    action: str = ""
    actor: str = ""
    entity: str = ""
    workspace: str = ""
    ip: str = ""
    session: str = ""
    text: str = ""
    limit: int = DEFAULT_PAGE_SIZE

    def items(self) -> list[tuple[str, str]]:
        """(URL parameter, value) of every field that differs from the default."""
        default = ConsoleFilter()
        return [
            (PARAMETERS[f.name], str(getattr(self, f.name)))
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        ]

    def query_string(self, **extra: str) -> str:
        """The filter as a query string (plus extra parameters, e.g. a cursor)."""
        return urlencode([*self.items(), *((k, v) for k, v in extra.items() if v)])

    def but(self, **changes: Any) -> ConsoleFilter:
        """This filter with some fields changed (e.g. a link that filters by an actor)."""
        return replace(self, **changes)

    @property
    def is_custom(self) -> bool:
        """Whether the range comes from `from`/`to` rather than a preset."""
        return self.range == CUSTOM


# Field name -> URL parameter (`from`/`to` and `q` read better in a URL).
PARAMETERS = {f.name: f.name for f in fields(ConsoleFilter)} | {
    "start": "from",
    "end": "to",
    "text": "q",
}


@dataclass(frozen=True)
class Problem:
    """A field of the filter that cannot be used, and why (shown next to the field)."""

    field: str
    message: str


@dataclass(frozen=True)
class ResolvedFilter:
    """A filter, the query it means, and its problems (a filter with problems is not run)."""

    filter: ConsoleFilter
    query: EventQuery
    problems: tuple[Problem, ...] = ()

    def problem(self, name: str) -> str:
        """The problem of one field ('' if none), for the form."""
        return next((p.message for p in self.problems if p.field == name), "")


def query_params(raw_query: str) -> dict[str, str]:
    """The first value of each parameter of a query string; bounded in size and count."""
    if len(raw_query) > MAX_QUERY_BYTES:
        raise InvalidArguments("query string too long")
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    except ValueError as exc:
        raise InvalidArguments("too many parameters") from exc
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name, value)
    return found


def _clean(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """A value with surrounding space and control characters removed, cut at `limit` + 1 so
    that overlong values are still seen as too long."""
    kept = "".join(c for c in value[: limit * 4] if c.isprintable())
    return kept.strip()[: limit + 1]


def _preset(values: Mapping[str, str]) -> str:
    """The range's preset: the one named, else custom when `from`/`to` are given (a shared
    link), else the default."""
    if values["range"] in PRESETS:
        return values["range"]
    return CUSTOM if values["start"] or values["end"] else DEFAULT_PRESET


def parse_filter(params: Mapping[str, str]) -> ConsoleFilter:
    """The filter of a query string or form: bounded, never raising; checks come in `resolve`."""
    values = {name: _clean(params.get(param, "")) for name, param in PARAMETERS.items()}
    values["text"] = _clean(params.get("q", ""), MAX_TEXT_CHARS)
    preset = _preset(values)
    if preset != CUSTOM:  # a preset chosen in the form wins over leftover from/to values
        values["start"] = values["end"] = ""
    limit = int(values["limit"]) if values["limit"] in {str(n) for n in PAGE_SIZES} else 0
    return ConsoleFilter(
        range=preset,
        start=values["start"],
        end=values["end"],
        action=values["action"],
        actor=values["actor"],
        entity=values["entity"],
        workspace=values["workspace"],
        ip=values["ip"],
        session=values["session"],
        text=values["text"],
        limit=limit or DEFAULT_PAGE_SIZE,
    )


def parse_time(text: str) -> tuple[int, int] | None:
    """(first second, length in seconds) of `2024-05-01`, `2024-05-01T13:45[:10]` (UTC) or
    Unix seconds; None if it is none of these."""
    if text.isdigit() and len(text) <= 13:
        return (int(text), 1) if int(text) <= MAX_SECONDS else None
    for pattern, length in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(moment.timestamp()), length
    return None


TIME_HELP = "Use YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or Unix seconds."


def _bound(name: str, value: str, problems: list[Problem], *, upper: bool) -> int | None:
    """One end of a custom range; a day or minute ends at its last second."""
    parsed = parse_time(value) if value else None
    if value and parsed is None:
        problems.append(Problem(name, TIME_HELP))
    if parsed is None:
        return None
    return parsed[0] + (parsed[1] - 1 if upper else 0)


def _time_bounds(
    f: ConsoleFilter, now: int, problems: list[Problem]
) -> tuple[int | None, int | None]:
    if not f.is_custom:
        back = PRESETS[f.range][1]
        return (None if back is None else now - back), None
    oldest = _bound("start", f.start, problems, upper=False)
    latest = _bound("end", f.end, problems, upper=True)
    if oldest is not None and latest is not None and oldest > latest:
        problems.append(Problem("end", "The end is before the start."))
    return oldest, latest


def _actions(text: str, catalog: Catalog, problems: list[Problem]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if len(names) > MAX_ACTIONS:
        problems.append(Problem("action", f"At most {MAX_ACTIONS} actions at once."))
        return ()
    unknown = [n for n in names if not catalog.has_action(n)]
    if unknown:
        problems.append(Problem("action", f"Unknown action “{unknown[0][:80]}”."))
    return names


def _bounded(f: ConsoleFilter, problems: list[Problem]) -> None:
    for name in ("actor", "entity", "workspace", "ip", "session", "start", "end", "action"):
        if len(getattr(f, name)) > MAX_VALUE_CHARS:
            problems.append(Problem(name, f"At most {MAX_VALUE_CHARS} characters."))
    if len(f.text) > MAX_TEXT_CHARS:
        problems.append(Problem("text", f"At most {MAX_TEXT_CHARS} characters."))


def _actor(text: str, find_login: Callable[[str], str | None], problems: list[Problem]) -> str:
    """An actor filter by user id, or by email address through the directory."""
    if "@" not in text:
        return text
    found = find_login(text)
    if found is None:
        problems.append(Problem("actor", "No member of this organization has that email."))
        return text
    return found


def _checked(f: ConsoleFilter, problems: list[Problem]) -> tuple[str | None, int | None]:
    ip = f.ip or None
    if ip is not None:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            problems.append(Problem("ip", "Not an IP address."))
    session = None
    if f.session:
        if _SESSION.fullmatch(f.session):
            session = int(f.session)
        else:
            problems.append(Problem("session", "A session id is a number."))
    return ip, session


def resolve(
    f: ConsoleFilter, catalog: Catalog, now: int, find_login: Callable[[str], str | None]
) -> ResolvedFilter:
    """The query a filter means at `now`, and what is wrong with it."""
    problems: list[Problem] = []
    _bounded(f, problems)
    oldest, latest = _time_bounds(f, now, problems)
    ip, session = _checked(f, problems)
    query = EventQuery(
        oldest=oldest,
        latest=latest,
        actions=_actions(f.action, catalog, problems) if f.action else (),
        actor=_actor(f.actor, find_login, problems) if f.actor else None,
        entity=f.entity or None,
        workspace=f.workspace or None,
        ip=ip,
        session=session,
        text=f.text or None,
    )
    return ResolvedFilter(f, query, tuple(problems))


def format_time(seconds: int) -> str:
    """`2024-05-01 13:45:10 UTC` (or the number, if no calendar date has it)."""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(seconds)


def input_time(seconds: int | None) -> str:
    """A time as the form's `from`/`to` fields show it (`2024-05-01T13:45:10`, UTC)."""
    if seconds is None:
        return ""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(seconds)
