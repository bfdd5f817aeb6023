"""Publishing events to the ingest stream, as a producer would: NDJSON messages, acks awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from nats.aio.client import Client

from trailkeeper.bus.streams import BusNames

DEFAULT_EVENTS_PER_MESSAGE = 100
MAX_MESSAGE_BYTES = 512 * 1024  # well under the server's max_payload (1 MiB by default)
PUBLISH_TIMEOUT_S = 60.0


def ndjson_messages(
    events: Iterable[Mapping[str, Any] | bytes], *, events_per_message: int, max_bytes: int
) -> Iterator[bytes]:
    """Events packed into NDJSON messages of at most `events_per_message` events and about
    `max_bytes` bytes (a single larger event still goes alone). Bytes are taken as one event."""
    lines: list[bytes] = []
    size = 0
    for event in events:
        line = event if isinstance(event, bytes) else orjson.dumps(event)
        if lines and (len(lines) >= events_per_message or size + len(line) + 1 > max_bytes):
            yield b"\n".join(lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line) + 1
    if lines:
        yield b"\n".join(lines)


async def publish_events(
    nc: Client,
    org_id: str,
    events: Iterable[Mapping[str, Any] | bytes],
    *,
    names: BusNames | None = None,
    events_per_message: int = DEFAULT_EVENTS_PER_MESSAGE,
    timeout_s: float = PUBLISH_TIMEOUT_S,
) -> int:
    """Publish an organization's events and wait until the stream holds them all.

    Returns the number of messages. Events without an `id` get one derived from their message,
    so a worker's redelivery is harmless; a producer that may retry a publish should give its
    events ids (or a `Nats-Msg-Id`), or a retried message is a second copy.
    """
    subject = (names or BusNames()).ingest_subject(org_id)
    js = nc.jetstream()
    max_bytes = min(MAX_MESSAGE_BYTES, nc.max_payload or MAX_MESSAGE_BYTES)
    futures = [
        await js.publish_async(subject, payload)
        for payload in ndjson_messages(
            events, events_per_message=events_per_message, max_bytes=max_bytes
        )
    ]
    await asyncio.wait_for(asyncio.gather(*futures), timeout_s)
    return len(futures)
