"""The benchmark's raw HTTP/1.1 client and load phases against a scripted local server:
fragmented and keep-alive responses, protocol errors, closed connections, and what each phase
counts (entries, errors, stored events)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import pytest

from trailkeeper.bench.load import (
    Endpoint,
    HTTPConnection,
    IngestSpec,
    LatencyCase,
    LatencySpec,
    ProtocolError,
    ThroughputSpec,
    get_request,
    ingest_batches,
    post_request,
    run_ingest,
    run_latency,
    run_throughput,
)
from trailkeeper.bench.synth import Timeline

NOW = 1_700_000_000
Reply = Callable[[bytes, bytes], list[bytes]]  # (request head, body) -> chunks to write


def response(status: int, body: bytes, *, header: str = "Content-Length") -> bytes:
    return f"HTTP/1.1 {status} X\r\n{header}: {len(body)}\r\n\r\n".encode() + body


@dataclass
class Scripted:
    """A local server answering each request with the chunks `reply` returns."""

    reply: Reply
    port: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head)
                for chunk in self.reply(head, body):
                    if not chunk:
                        writer.close()
                        return
                    writer.write(chunk)
                    await writer.drain()
                    await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


async def listening(reply: Reply) -> tuple[asyncio.Server, Scripted]:
    scripted = Scripted(reply)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = server.sockets[0].getsockname()[1]
    return server, scripted


async def exchange(reply: Reply, *requests: bytes) -> list[tuple[int, bytes]]:
    server, scripted = await listening(reply)
    conn = await HTTPConnection.open("127.0.0.1", scripted.port)
    try:
        return [await asyncio.wait_for(conn.send(r), 5) for r in requests]
    finally:
        conn.close()
        server.close()


GET = get_request("127.0.0.1", 1, "/audit/v1/logs?limit=1", "tok")


# --- the connection ------------------------------------------------------------------------------


async def test_a_response_in_many_fragments_is_reassembled() -> None:
    whole = response(200, b'{"entries":[]}' * 20)

    def byte_by_byte(head: bytes, body: bytes) -> list[bytes]:
        return [whole[i : i + 7] for i in range(0, len(whole), 7)]

    assert await exchange(byte_by_byte, GET) == [(200, b'{"entries":[]}' * 20)]


async def test_keep_alive_requests_get_their_own_responses_in_order() -> None:
    counter = iter(range(100))

    def numbered(head: bytes, body: bytes) -> list[bytes]:
        return [response(200, str(next(counter)).encode())]

    assert await exchange(numbered, GET, GET, GET) == [(200, b"0"), (200, b"1"), (200, b"2")]


@pytest.mark.parametrize("header", ["content-length", "CONTENT-LENGTH", "Content-Length"])
async def test_the_length_header_is_found_in_any_case(header: str) -> None:
    def reply(head: bytes, body: bytes) -> list[bytes]:
        return [response(429, b"slow down", header=header)]

    assert await exchange(reply, GET) == [(429, b"slow down")]


async def test_an_empty_body_completes_at_the_end_of_the_head() -> None:
    assert await exchange(lambda h, b: [response(204, b"")], GET) == [(204, b"")]


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    ],
)
async def test_answers_it_cannot_read_are_protocol_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        await exchange(lambda h, b: [raw], GET)


async def test_a_connection_closed_mid_body_fails_the_request() -> None:
    def truncated(head: bytes, body: bytes) -> list[bytes]:
        return [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", b""]

    with pytest.raises(ConnectionError):
        await exchange(truncated, GET)


async def test_sending_on_a_closed_connection_fails_at_once() -> None:
    server, scripted = await listening(lambda h, b: [response(200, b"x")])
    conn = await HTTPConnection.open("127.0.0.1", scripted.port)
    conn.close()
    await asyncio.sleep(0)
    with pytest.raises(ConnectionError):
        await conn.send(GET)
    server.close()


def test_requests_carry_the_token_and_an_exact_length() -> None:
    body = b'[{"action":"user_login"}]'
    raw = post_request("h", 8000, "/ingest/v1/events", "tkw-1", body)
    head, sent = raw.split(b"\r\n\r\n", 1)
    assert sent == body
    assert b"Content-Length: %d" % len(body) in head
    assert b"Authorization: Bearer tkw-1" in head
    assert head.startswith(b"POST /ingest/v1/events HTTP/1.1\r\nHost: h:8000")
    assert GET.endswith(b"Authorization: Bearer tok\r\n\r\n")


# --- the phases ----------------------------------------------------------------------------------


def endpoint(scripted: Scripted) -> Endpoint:
    return Endpoint("127.0.0.1", scripted.port, "tok")


async def test_latency_counts_entries_errors_and_not_the_warm_up() -> None:
    def reply(head: bytes, body: bytes) -> list[bytes]:
        if b"bad" in head:
            return [response(500, b'{"ok":false}')]
        page = b'{"entries":[{"date_create":1},{"date_create":2}]}'
        return [response(200, page)]

    server, scripted = await listening(reply)
    cases = [LatencyCase("ok", 100, ["/a", "/b"]), LatencyCase("broken", 100, ["/bad"] * 3)]
    results = await run_latency(LatencySpec(endpoint(scripted), cases, warmup=1))
    server.close()
    ok, broken = results
    assert (ok.name, ok.latency.count, ok.errors, ok.mean_entries) == ("ok", 2, 0, 2.0)
    assert (broken.latency.count, broken.errors, broken.mean_entries) == (3, 3, 0.0)
    assert len(scripted.requests) == 2 + 1 + 3 + 1  # each case's warm-up, then its paths


async def test_throughput_counts_completed_requests_and_errors() -> None:
    flip = iter(range(10**6))

    def reply(head: bytes, body: bytes) -> list[bytes]:
        return [response(503 if next(flip) % 4 == 0 else 200, b"{}")]

    server, scripted = await listening(reply)
    spec = ThroughputSpec(endpoint(scripted), "/p", connections=2, duration_s=0.3, warmup_s=0.05)
    result = await run_throughput(spec)
    server.close()
    assert result.requests == result.latency.count > 0
    assert 0 < result.errors < result.requests
    assert result.requests_per_s == pytest.approx(
        (result.requests - result.errors) / result.seconds
    )


async def test_ingest_posts_every_batch_once_and_sums_what_was_stored() -> None:
    def reply(head: bytes, body: bytes) -> list[bytes]:
        events = orjson.loads(body)
        if len(events) < 10:
            return [response(413, b'{"ok":false}')]
        return [response(200, orjson.dumps({"ok": True, "stored": len(events)}))]

    server, scripted = await listening(reply)
    spec = IngestSpec(endpoint(scripted), "E0BENCH", "bench", 3, Timeline(NOW, 60, 45), 10, 2)
    result = await run_ingest(spec)
    server.close()
    assert (result.requests, result.errors, result.events) == (5, 1, 40)
    assert [len(b) for b in ingest_batches(spec)] == [10, 10, 10, 10, 5]
    assert result.request_latency.count == 5
    assert result.events_per_s == pytest.approx(40 / result.seconds)
