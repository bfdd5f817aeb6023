"""HTTP load for benchmarks, run in a process of its own: `python -m trailkeeper.bench.load`.

The client is a raw-socket asyncio HTTP/1.1 keep-alive connection rather than an HTTP library:
on a 2-core machine the generator shares the CPU with the server under test, and a library costs
more per request than the server does. The spec arrives as JSON on stdin and the result leaves
as JSON on stdout; `wrk` runs the throughput phase instead when it is on PATH.
"""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast

import orjson

from trailkeeper.bench import BenchError
from trailkeeper.bench.synth import EventFactory, Timeline, batch_payload, synth_org
from trailkeeper.events import PreparedEvent

T = TypeVar("T")
INGEST_PATH = "/ingest/v1/events"
PYTHON_GENERATOR = "python-asyncio"


class ProtocolError(Exception):
    """The server's answer is not an HTTP/1.1 response this client understands."""


# --- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ascending values, linearly interpolated between ranks."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True)
class LatencyStats:
    """Percentiles of request latencies, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_s: Sequence[float]) -> LatencyStats:
        """Statistics of latencies given in seconds."""
        ms = sorted(s * 1000 for s in samples_s)
        if not ms:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), ms[-1])


# --- the client ------------------------------------------------------------------------------


def _parse_head(head: bytes) -> tuple[int, int]:
    """Status and Content-Length of a response head (chunked bodies are not supported)."""
    if not head.startswith(b"HTTP/1.1 ") or len(head) < 12:
        raise ProtocolError(f"not an HTTP/1.1 response: {head[:40]!r}")
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    if match is None:
        raise ProtocolError("response without Content-Length")
    return int(head[9:12]), int(match.group(1))


class HTTPConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body_start = -1
        self._status = self._length = 0

    @classmethod
    async def open(cls, host: str, port: int) -> HTTPConnection:
        """Connect to `host:port`."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to write requests to."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        """Accumulate the response; complete the waiter once the body is whole."""
        self._buffer += data
        if self._waiter is not None and not self._waiter.done():
            try:
                self._complete()
            except ProtocolError as exc:
                self._waiter.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the request in flight, if any."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("server closed the connection"))

    def _complete(self) -> None:
        if self._body_start < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._status, self._length = _parse_head(bytes(self._buffer[:end]))
            self._body_start = end + 4
        stop = self._body_start + self._length
        if len(self._buffer) < stop:
            return
        body = bytes(self._buffer[self._body_start : stop])
        del self._buffer[:stop]
        self._body_start = -1
        assert self._waiter is not None
        self._waiter.set_result((self._status, body))

    async def send(self, raw_request: bytes) -> tuple[int, bytes]:
        """Send one complete request; the response's status and body."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw_request)
        return await self._waiter

    def close(self) -> None:
        """Close the connection."""
        if self._transport is not None:
            self._transport.close()


def get_request(host: str, port: int, path: str, token: str) -> bytes:
    """The bytes of a GET with a bearer token."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )


def post_request(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    """The bytes of a JSON POST with a bearer token."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --- phases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where the server under test listens, and the token to present."""

    host: str
    port: int
    token: str


@dataclass(frozen=True)
class IngestSpec:
    """Post `timeline.total` synthetic events of an organization in batches, from many clients."""

    endpoint: Endpoint
    org_id: str
    domain: str
    seed: int
    timeline: Timeline
    batch: int
    clients: int


@dataclass(frozen=True)
class IngestResult:
    """Events stored by the server over HTTP, and how long it took."""

    events: int
    requests: int
    errors: int
    seconds: float
    request_latency: LatencyStats

    @property
    def events_per_s(self) -> float:
        """Ingest rate (stored events only)."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class LatencyCase:
    """One named request kind and the paths (with query) to request in turn."""

    name: str
    limit: int
    paths: list[str]


@dataclass(frozen=True)
class LatencySpec:
    """Sequential requests on one keep-alive connection, case by case."""

    endpoint: Endpoint
    cases: list[LatencyCase]
    warmup: int


@dataclass(frozen=True)
class CaseResult:
    """Latency of one case, its failed requests and how many entries a page held on average."""

    name: str
    limit: int
    latency: LatencyStats
    errors: int
    mean_entries: float


@dataclass(frozen=True)
class ThroughputSpec:
    """`connections` keep-alive connections requesting `path` back to back for `duration_s`."""

    endpoint: Endpoint
    path: str
    connections: int
    duration_s: float
    warmup_s: float


@dataclass(frozen=True)
class ThroughputResult:
    """Completed requests per second under load, and which generator measured it."""

    requests: int
    errors: int
    seconds: float
    latency: LatencyStats
    generator: str = PYTHON_GENERATOR

    @property
    def requests_per_s(self) -> float:
        """Throughput (successful requests only)."""
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else 0.0


def ingest_batches(spec: IngestSpec) -> Iterator[list[PreparedEvent]]:
    """The batches of events an ingest run posts (the same ones its raw ceiling inserts)."""
    factory = EventFactory(synth_org(spec.org_id, spec.domain), seed=spec.seed)
    for start in range(0, spec.timeline.total, spec.batch):
        count = min(spec.batch, spec.timeline.total - start)
        yield factory.make_events(start, count, spec.timeline)


async def run_ingest(spec: IngestSpec) -> IngestResult:
    """Post every batch once, `clients` at a time; durable acks mean each response is a commit."""
    ep = spec.endpoint
    requests = [
        post_request(ep.host, ep.port, INGEST_PATH, ep.token, batch_payload(b))
        for b in ingest_batches(spec)
    ]
    queue = iter(requests)
    samples: list[float] = []
    counts = {"stored": 0, "errors": 0}

    async def client(conn: HTTPConnection) -> None:
        for raw in queue:
            started = time.perf_counter()
            status, body = await conn.send(raw)
            samples.append(time.perf_counter() - started)
            if status != 200:
                counts["errors"] += 1
                continue
            counts["stored"] += int(orjson.loads(body).get("stored", 0))

    conns = [await HTTPConnection.open(ep.host, ep.port) for _ in range(spec.clients)]
    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    seconds = time.perf_counter() - started
    for conn in conns:
        conn.close()
    stats = LatencyStats.of(samples)
    return IngestResult(counts["stored"], len(requests), counts["errors"], seconds, stats)


async def _measure_case(
    conn: HTTPConnection, ep: Endpoint, case: LatencyCase, warmup: int
) -> CaseResult:
    for path in case.paths[:warmup]:
        await conn.send(get_request(ep.host, ep.port, path, ep.token))
    samples, errors, entries = [], 0, 0
    for path in case.paths:
        raw = get_request(ep.host, ep.port, path, ep.token)
        started = time.perf_counter()
        status, body = await conn.send(raw)
        samples.append(time.perf_counter() - started)
        if status != 200:
            errors += 1
        entries += body.count(b'"date_create":')  # only entries carry it at the top level
    mean = entries / len(case.paths) if case.paths else 0.0
    return CaseResult(case.name, case.limit, LatencyStats.of(samples), errors, mean)


async def run_latency(spec: LatencySpec) -> list[CaseResult]:
    """Each case's requests one after another on a single keep-alive connection."""
    conn = await HTTPConnection.open(spec.endpoint.host, spec.endpoint.port)
    try:
        return [await _measure_case(conn, spec.endpoint, c, spec.warmup) for c in spec.cases]
    finally:
        conn.close()


@dataclass
class _Tally:
    samples: list[float] = field(default_factory=list)
    errors: int = 0


async def _hammer(conn: HTTPConnection, raw: bytes, until: float, tally: _Tally | None) -> None:
    clock = time.perf_counter
    while clock() < until:
        started = clock()
        status, _ = await conn.send(raw)
        if tally is not None:
            tally.samples.append(clock() - started)
            tally.errors += status != 200


async def run_throughput(spec: ThroughputSpec) -> ThroughputResult:
    """Warm up, then count requests completed by all connections within the duration."""
    ep = spec.endpoint
    raw = get_request(ep.host, ep.port, spec.path, ep.token)
    conns = [await HTTPConnection.open(ep.host, ep.port) for _ in range(spec.connections)]
    warm_until = time.perf_counter() + spec.warmup_s
    await asyncio.gather(*(_hammer(c, raw, warm_until, None) for c in conns))
    tally = _Tally()
    started = time.perf_counter()
    until = started + spec.duration_s
    await asyncio.gather(*(_hammer(c, raw, until, tally) for c in conns))
    seconds = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return ThroughputResult(
        len(tally.samples), tally.errors, seconds, LatencyStats.of(tally.samples)
    )


# --- the subprocess --------------------------------------------------------------------------

Spec = IngestSpec | LatencySpec | ThroughputSpec
_PHASES: dict[type, str] = {
    IngestSpec: "ingest",
    LatencySpec: "latency",
    ThroughputSpec: "throughput",
}


def encode_spec(spec: Spec) -> bytes:
    """The JSON a load subprocess reads from stdin."""
    return orjson.dumps({"phase": _PHASES[type(spec)], **asdict(spec)})


def decode_spec(raw: bytes) -> Spec:
    """The spec encoded by `encode_spec`."""
    data = orjson.loads(raw)
    phase, endpoint = data.pop("phase"), Endpoint(**data.pop("endpoint"))
    if phase == "ingest":
        timeline = Timeline(**data.pop("timeline"))
        return IngestSpec(endpoint=endpoint, timeline=timeline, **data)
    if phase == "latency":
        cases = [LatencyCase(**c) for c in data["cases"]]
        return LatencySpec(endpoint=endpoint, cases=cases, warmup=data["warmup"])
    if phase == "throughput":
        return ThroughputSpec(endpoint=endpoint, **data)
    raise ValueError(f"unknown phase {phase!r}")


def _stats(data: dict[str, Any]) -> LatencyStats:
    def ms(name: str) -> float:
        value = data[name]
        return math.nan if value is None else float(value)  # JSON has no NaN: orjson wrote null

    return LatencyStats(data["count"], ms("p50_ms"), ms("p95_ms"), ms("p99_ms"), ms("max_ms"))


def _run_loop(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_here(spec: Spec) -> IngestResult | list[CaseResult] | ThroughputResult:
    """Run one phase in this process."""
    if isinstance(spec, IngestSpec):
        return _run_loop(run_ingest(spec))
    if isinstance(spec, LatencySpec):
        return _run_loop(run_latency(spec))
    return _run_loop(run_throughput(spec))


def _in_subprocess(spec: Spec, timeout_s: float) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "trailkeeper.bench.load"],
        input=encode_spec(spec),
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    return orjson.loads(done.stdout)


def ingest_in_subprocess(spec: IngestSpec, timeout_s: float = 3600) -> IngestResult:
    """`run_ingest` in a separate process."""
    data = _in_subprocess(spec, timeout_s)
    return IngestResult(**{**data, "request_latency": _stats(data["request_latency"])})


def latency_in_subprocess(spec: LatencySpec, timeout_s: float = 3600) -> list[CaseResult]:
    """`run_latency` in a separate process."""
    return [
        CaseResult(**{**case, "latency": _stats(case["latency"])})
        for case in _in_subprocess(spec, timeout_s)
    ]


def throughput_in_subprocess(spec: ThroughputSpec, timeout_s: float = 3600) -> ThroughputResult:
    """`run_throughput` in a separate process."""
    data = _in_subprocess(spec, timeout_s)
    return ThroughputResult(**{**data, "latency": _stats(data["latency"])})


def main() -> None:
    """Read a spec on stdin, run it, print the result as JSON."""
    result = run_here(decode_spec(sys.stdin.buffer.read()))
    plain = [asdict(r) for r in result] if isinstance(result, list) else asdict(result)
    sys.stdout.buffer.write(orjson.dumps(plain))


if __name__ == "__main__":
    main()
