"""Reading the log: query parameters, opaque cursors and the page rule. No I/O.

A page is newest first, ordered by (date_create, seq) descending. A page cut at `limit` is
extended so that one second is never split across pages (Slack: "you may receive more than
`limit` results if several events share the exact same timestamp").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from trailkeeper.catalog import Catalog
from trailkeeper.errors import InvalidAction, InvalidArguments, InvalidCursor, InvalidRange
from trailkeeper.events import StoredRow

MAX_LIMIT = 9999  # Slack: "maximum 9999"
MAX_ACTIONS = 30  # Slack: at most 30 comma-separated actions
MAX_ID_LENGTH = 256
FUTURE_SLACK_S = 60  # an `oldest` later than now plus this is "in the future"


@dataclass(frozen=True)
class LogFilter:
    """The filters of a `/logs` request, all AND-combined; bounds are inclusive Unix seconds."""

    oldest: int | None = None
    latest: int | None = None
    actions: tuple[str, ...] = ()
    actor: str | None = None
    entity: str | None = None


@dataclass(frozen=True)
class Position:
    """Where the next page starts: strictly older than (date_create, seq).

    `seq` is None at a second boundary (everything of `date_create` was served); it is set only
    when one second holds more entries than a page may be extended by.
    """

    date_create: int
    seq: int | None = None


@dataclass(frozen=True)
class LogRequest:
    """A parsed `/logs` request."""

    filter: LogFilter
    limit: int
    cursor: str | None


@dataclass(frozen=True)
class Page:
    """Entries of one page and where the next one starts (None on the last page)."""

    rows: list[StoredRow]
    next_position: Position | None


def _param(params: Mapping[str, str], name: str) -> str | None:
    """A parameter's value; empty values count as absent (Sentinel sends `action=`)."""
    value = params.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_time(raw: str, *, upper: bool) -> int:
    """Unix seconds from an integer or decimal string; inclusive bounds round inward.

    `oldest=1700000003.5` admits only 1700000004 onwards; `latest=1700000003.99999` (Sumo Logic's
    paging) admits up to 1700000003.
    """
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidRange(f"not a number of seconds: {raw[:40]!r}") from exc
    if not value.is_finite() or value < 0 or value > 2**40:
        raise InvalidRange(f"out of range: {raw[:40]!r}")
    return int(math.floor(value) if upper else math.ceil(value))


def parse_limit(raw: str | None, default: int) -> int:
    """`limit` as an integer in 1..9999; out-of-range numbers are clamped, as Slack adjusts them."""
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidArguments(f"limit must be an integer: {raw[:40]!r}") from exc
    if not value.is_finite():
        raise InvalidArguments(f"limit must be an integer: {raw[:40]!r}")
    # Clamp before converting: int() of 1e999999999 would build a gigantic integer.
    return int(min(max(value, Decimal(1)), Decimal(MAX_LIMIT)))


def parse_actions(raw: str | None, catalog: Catalog) -> tuple[str, ...]:
    """A comma list of at most 30 known actions, duplicates removed, order kept."""
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if len(names) > MAX_ACTIONS:
        raise InvalidAction(f"at most {MAX_ACTIONS} actions may be given")
    for name in names:
        if not catalog.has_action(name):
            raise InvalidAction(f"unknown action {name[:80]!r}")
    return names


def _parse_id(params: Mapping[str, str], name: str) -> str | None:
    value = _param(params, name)
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise InvalidArguments(f"{name} is too long")
    return value


def parse_log_request(
    params: Mapping[str, str], catalog: Catalog, *, now: int, default_limit: int
) -> LogRequest:
    """Parse `/logs` query parameters; unknown parameters are ignored, as Slack does."""
    oldest_raw, latest_raw = _param(params, "oldest"), _param(params, "latest")
    oldest = parse_time(oldest_raw, upper=False) if oldest_raw is not None else None
    latest = parse_time(latest_raw, upper=True) if latest_raw is not None else None
    if oldest is not None and oldest > now + FUTURE_SLACK_S:
        raise InvalidRange("oldest is in the future")
    if oldest is not None and latest is not None and oldest > latest:
        raise InvalidRange("oldest is after latest")
    log_filter = LogFilter(
        oldest=oldest,
        latest=latest,
        actions=parse_actions(_param(params, "action"), catalog),
        actor=_parse_id(params, "actor"),
        entity=_parse_id(params, "entity"),
    )
    limit = parse_limit(_param(params, "limit"), default_limit)
    return LogRequest(filter=log_filter, limit=limit, cursor=_param(params, "cursor"))


# A scan returns rows matching the filter strictly below a position, newest first, at most n.
Scan = Callable[[LogFilter, Position | None, int], list[StoredRow]]


def read_page(
    scan: Scan, log_filter: LogFilter, start: Position | None, limit: int, max_extension: int
) -> Page:
    """One page under the never-split-a-second rule, and the position of the next page."""
    rows = scan(log_filter, start, limit + 1)
    if len(rows) <= limit:
        return Page(rows, None)
    page, last = rows[:limit], rows[limit - 1]
    if rows[limit].date_create != last.date_create:
        return Page(page, Position(last.date_create))
    same_second = replace(log_filter, oldest=last.date_create)
    rest = scan(same_second, Position(last.date_create, last.seq), max_extension + 1)
    if len(rest) > max_extension:
        page.extend(rest[:max_extension])
        return Page(page, Position(last.date_create, page[-1].seq))
    page.extend(rest)
    older = scan(log_filter, Position(last.date_create), 1)
    return Page(page, Position(last.date_create) if older else None)


# --- cursors ---------------------------------------------------------------------------------

_CURSOR_VERSION = 1
_CURSOR_LAYOUT = struct.Struct(">BqqQ")  # version, date_create, seq (-1: none), issued_at
_MAC_BYTES = 12


def _mac(key: bytes, org_id: str, payload: bytes) -> bytes:
    return hmac.new(key, org_id.encode() + b"\x00" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(position: Position, *, org_id: str, key: bytes, now: int) -> str:
    """An opaque, URL-safe cursor holding only a position, bound to its organization by a MAC."""
    seq = -1 if position.seq is None else position.seq
    payload = _CURSOR_LAYOUT.pack(_CURSOR_VERSION, position.date_create, seq, now)
    raw = payload + _mac(key, org_id, payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, org_id: str, key: bytes, now: int, ttl_s: int) -> Position:
    """The position in a cursor; padding and a literal `%3D` left by one decoding are tolerated."""
    text = cursor.strip().replace("%3D", "").replace("%3d", "").rstrip("=")
    if len(text) > 200:
        raise InvalidCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not valid base64") from exc
    size = _CURSOR_LAYOUT.size
    if len(raw) != size + _MAC_BYTES:
        raise InvalidCursor("cursor has the wrong length")
    payload, mac = raw[:size], raw[size:]
    if not hmac.compare_digest(mac, _mac(key, org_id, payload)):
        raise InvalidCursor("cursor was not issued for this organization or was altered")
    version, date_create, seq, issued_at = _CURSOR_LAYOUT.unpack(payload)
    if version != _CURSOR_VERSION:
        raise InvalidCursor("unsupported cursor version")
    if now - issued_at > ttl_s:
        raise InvalidCursor("cursor has expired")
    return Position(date_create, None if seq < 0 else seq)
