"""The message formats of the bus: decoding an ingest message, derived event ids, headers. No I/O.

An ingest message carries one event (a JSON object), a JSON array of events, or NDJSON lines.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

# Header names. `Nats-Msg-Id` is JetStream's own: a second message with the same id inside the
# stream's duplicate window is acknowledged but not stored (JetStream message deduplication).
MSG_ID = "Nats-Msg-Id"
REASON = "Trailkeeper-Reason"
STREAM_SEQ = "Trailkeeper-Stream-Seq"
INDEX = "Trailkeeper-Index"
SEQ = "Trailkeeper-Seq"
EVENT_ID = "Trailkeeper-Event-Id"

# A fixed namespace, so ids derived here never collide with other name-based (v5) UUIDs.
EVENT_ID_NAMESPACE = uuid.UUID("5d1d3c9e-7a0b-4c57-9d8e-2f7e0b6a4c11")
MAX_HEADER_CHARS = 1000


class MalformedMessage(ValueError):
    """A whole message cannot be read as events; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the worker needs of one fetched message, detached from the connection."""

    subject: str
    data: bytes
    stream_seq: int
    stored_at: int  # Unix seconds at which the stream stored the message
    msg_id: str | None  # the producer's Nats-Msg-Id, when it set one


@dataclass(frozen=True, slots=True)
class Piece:
    """One event of a message: its bytes as sent, its decoded value, or why it cannot be read."""

    raw: bytes
    item: object
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refused event (`index` set) or message (`index` None), with the reason."""

    org_id: str
    payload: bytes
    reason: str
    stream_seq: int
    index: int | None


def decode_message(data: bytes, *, max_events: int) -> list[Piece]:
    """The events of a message, in order; MalformedMessage when it holds no readable event."""
    text = data.strip()
    if not text:
        raise MalformedMessage("empty message")
    if text.startswith(b"["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise MalformedMessage(f"message is not valid JSON: {exc.msg} at {exc.pos}") from exc
        # An array's elements have no bytes of their own: a refused one is re-encoded.
        pieces = [Piece(orjson.dumps(item), item) for item in items]
    else:
        pieces = _single_or_lines(text)
    if len(pieces) > max_events:
        raise MalformedMessage(f"at most {max_events} events per message")
    return pieces


def estimated_events(data: bytes) -> int:
    """About how many events a message holds, without decoding it (every event has an action)."""
    return max(1, data.count(b'"action"'))


def _single_or_lines(text: bytes) -> list[Piece]:
    try:
        return [Piece(text, orjson.loads(text))]
    except orjson.JSONDecodeError:
        pass
    pieces = [_line(line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if all(p.error is not None for p in pieces):
        raise MalformedMessage("message is not JSON: not an event, an array of events or NDJSON")
    return pieces


def _line(line: bytes, number: int) -> Piece:
    try:
        return Piece(line, orjson.loads(line))
    except orjson.JSONDecodeError as exc:
        return Piece(line, None, f"line {number} is not valid JSON: {exc.msg}")


def delivery_origin(delivery: Delivery, stream_identity: str) -> str:
    """What names a message across redeliveries: the producer's message id, else its place.

    `stream_identity` (stream name and creation time) keeps sequence numbers of a deleted and
    recreated stream from naming the same origin twice.
    """
    if delivery.msg_id:
        return f"msg-id:{delivery.msg_id}"
    return f"{stream_identity}#{delivery.stream_seq}"


def derived_event_id(org_id: str, origin: str, index: int) -> str:
    """The id of an event sent without one: the same message and index always give the same id,
    so a redelivered message is recognized by the store (UUID version 5, RFC 9562 §5.5)."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{org_id}\n{origin}\n{index}"))


def with_defaults(item: object, org_id: str, origin: str, index: int, date_create: int) -> object:
    """The event with a derived id and the stream's store time filled in where it has none.

    Never mutates `item`: a refused event is dead-lettered as it was sent.
    """
    if not isinstance(item, dict):
        return item
    missing: dict[str, Any] = {}
    if item.get("id") is None:
        missing["id"] = derived_event_id(org_id, origin, index)
    if "date_create" not in item:
        missing["date_create"] = date_create
    return {**item, **missing} if missing else item


def header_value(text: str) -> str:
    """Text fit for a NATS header value: one line, bounded."""
    return " ".join(text.split())[:MAX_HEADER_CHARS]


def deadletter_headers(letter: DeadLetter, stream_identity: str) -> dict[str, str]:
    """Headers of a dead letter; its message id makes a redelivered refusal a duplicate."""
    where = "all" if letter.index is None else str(letter.index)
    headers = {
        REASON: header_value(letter.reason),
        STREAM_SEQ: str(letter.stream_seq),
        MSG_ID: f"{stream_identity}#{letter.stream_seq}/{where}",
    }
    if letter.index is not None:
        headers[INDEX] = str(letter.index)
    return headers


def committed_headers(org_id: str, seq: int, event_id: str) -> dict[str, str]:
    """Headers of a committed event; `<org>:<seq>` makes a re-publish a duplicate."""
    return {MSG_ID: f"{org_id}:{seq}", SEQ: str(seq), EVENT_ID: event_id}
