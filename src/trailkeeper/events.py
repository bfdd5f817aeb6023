"""Audit events as values: the stored form of an event and its canonical bytes. No I/O.

An event is an actor taking an action on an entity within a context, plus optional details
(Slack's event shape). Once accepted it is kept as its canonical JSON bytes and never re-encoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

# Slack's own key order for an entry; nested objects are serialized with sorted keys.
TOP_LEVEL_KEYS = ("id", "date_create", "action", "actor", "entity", "context", "details")


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The one byte form of an event: compact JSON, Slack's top-level order, nested keys sorted.

    The same event value always yields the same bytes, whatever key order the producer used;
    these bytes are what `/audit/v1/logs` serves and what the integrity tree hashes.
    """
    parts = []
    for key in TOP_LEVEL_KEYS:
        if key in event:
            value = orjson.dumps(event[key], option=orjson.OPT_SORT_KEYS)
            parts.append(b'"' + key.encode() + b'":' + value)
    return b"{" + b",".join(parts) + b"}"


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A validated event, ready to append: its organization, index keys and canonical bytes."""

    org_id: str
    id: str
    date_create: int
    action: str
    actor_id: str
    entity_id: str | None
    body: bytes
    id_supplied: bool = False


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A whole stored event, in its organization's sequence: what relays and copies move."""

    org_id: str
    seq: int
    id: str
    date_create: int
    action: str
    actor_id: str
    entity_id: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One event as read back: its position in the organization's order and its bytes."""

    date_create: int
    seq: int
    body: bytes


@dataclass(frozen=True, slots=True)
class AppendOutcome:
    """What became of one appended event: its sequence number, and whether it was already there."""

    id: str
    seq: int
    duplicate: bool
