"""`trailkeeper.IngestClient` against a real server: reports, retries, and what each refusal raises.

The happy paths and the paused organization run against the real app; statuses the app does not
produce on demand (429 from a proxy, a 502 page, a 500) come from a scripted ASGI app served by
the same uvicorn, so the client sees them over a real socket.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest

from conftest import ORG, LiveServer, free_port, make_event, serve_in_thread
from trailkeeper.errors import (
    InvalidAuthentication,
    InvalidPayload,
    RateLimited,
    ServiceUnavailable,
    StorageError,
)
from trailkeeper.integrity.pauses import CACHE_TTL_S, PauseRecord
from trailkeeper.recorder import IngestClient

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Reply = tuple[int, dict[str, str], bytes]


class Sleeps:
    """Records the client's waits instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Scripted:
    """An ASGI app answering ingest posts with the given replies, in order (the last repeats)."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.posts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        status, headers, body = self.replies[min(self.posts, len(self.replies) - 1)]
        self.posts += 1
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def scripted() -> Iterator[Callable[[list[Reply]], tuple[Scripted, str]]]:
    servers = []

    def start(replies: list[Reply]) -> tuple[Scripted, str]:
        app = Scripted(replies)
        server, thread, url = serve_in_thread(app)
        servers.append((server, thread))
        return app, url

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def client(url: str, token: str, sleeps: Sleeps, retries: int = 3) -> IngestClient:
    return IngestClient(url, token, retries=retries, sleep=sleeps, timeout_s=10)


JSON = {"content-type": "application/json"}


# --- against the real server ---------------------------------------------------------------------


def test_a_batch_is_stored_and_reported(live_server: LiveServer) -> None:
    events = [make_event(id=f"ev-{i}", date=1_700_000_000 + i) for i in range(3)]
    with client(live_server.url, live_server.write_token, Sleeps()) as ingest:
        report = ingest.send(events)
    assert report["ok"] is True
    assert (report["accepted"], report["stored"], report["duplicates"]) == (3, 3, 0)
    assert live_server.store.count_events(ORG) == 3


def test_sending_the_same_ids_again_stores_nothing_new(live_server: LiveServer) -> None:
    events = [make_event(id="ev-once")]
    with client(live_server.url, live_server.write_token, Sleeps()) as ingest:
        ingest.send(events)
        again = ingest.send(events)
    assert (again["stored"], again["duplicates"]) == (0, 1)
    assert live_server.store.count_events(ORG) == 1


def test_partly_rejected_batches_return_the_report(live_server: LiveServer) -> None:
    events = [make_event(), make_event("no_such_action")]
    with client(live_server.url, live_server.write_token, Sleeps()) as ingest:
        report = ingest.send(events)
    assert report["ok"] is False
    assert report["stored"] == 1
    assert [r["index"] for r in report["rejected"]] == [1]


def test_a_wholly_rejected_batch_returns_the_report_not_an_exception(
    live_server: LiveServer,
) -> None:
    with client(live_server.url, live_server.write_token, Sleeps()) as ingest:
        report = ingest.send([make_event("no_such_action")])
    assert report["error"] == "invalid_events"
    assert report["accepted"] == 0
    assert "no_such_action" in report["rejected"][0]["reason"]


def test_an_unknown_token_raises_invalid_authentication(live_server: LiveServer) -> None:
    sleeps = Sleeps()
    with (
        client(live_server.url, "tkw-not-a-token", sleeps) as ingest,
        pytest.raises(InvalidAuthentication, match="invalid_auth"),
    ):
        ingest.send([make_event()])
    assert sleeps.waits == []  # nothing to retry


def test_a_read_token_cannot_ingest(live_server: LiveServer) -> None:
    with (
        client(live_server.url, live_server.read_token, Sleeps()) as ingest,
        pytest.raises((InvalidAuthentication, InvalidPayload)),
    ):
        ingest.send([make_event()])
    assert live_server.store.count_events(ORG) == 0


def test_a_paused_organization_is_retried_then_refused_and_nothing_is_stored(
    live_server: LiveServer,
) -> None:
    store = live_server.store
    assert store.pause_logging(PauseRecord(ORG, 1_700_000_000, "maintenance"))
    sleeps = Sleeps()
    ingest = client(live_server.url, live_server.write_token, sleeps, retries=2)
    with pytest.raises(ServiceUnavailable) as refused:
        ingest.send([make_event(id="ev-held")])
    assert refused.value.retry_after_s > 0
    assert len(sleeps.waits) == 2
    assert all(w > 0 for w in sleeps.waits)
    assert store.count_events(ORG) == 0
    assert store.resume_logging(ORG)
    time.sleep(CACHE_TTL_S + 0.1)  # resumed by another process: servers see it within the TTL
    assert ingest.send([make_event(id="ev-held")])["stored"] == 1
    ingest.close()


def test_a_server_that_is_not_listening_raises_after_backing_off() -> None:
    sleeps = Sleeps()
    with (
        client(f"http://127.0.0.1:{free_port()}", "tkw-x", sleeps, retries=3) as ingest,
        pytest.raises(httpx.TransportError),
    ):
        ingest.send([make_event()])
    assert sleeps.waits == [0.2, 0.4, 0.8]


# --- scripted answers ----------------------------------------------------------------------------


def test_retry_after_is_honoured_and_a_later_success_returns(scripted: Any) -> None:
    ok = b'{"ok":true,"accepted":1,"stored":1,"duplicates":0,"ids":["a"],"rejected":[]}'
    limited = b'{"ok":false,"error":"ratelimited"}'
    app, url = scripted([(429, {**JSON, "Retry-After": "7"}, limited), (200, JSON, ok)])
    sleeps = Sleeps()
    with client(url, "tkw-x", sleeps) as ingest:
        assert ingest.send([make_event()])["stored"] == 1
    assert (sleeps.waits, app.posts) == ([7.0], 2)


def test_rate_limited_to_the_end_raises_rate_limited(scripted: Any) -> None:
    limited = b'{"ok":false,"error":"ratelimited"}'
    app, url = scripted([(429, {**JSON, "Retry-After": "3"}, limited)])
    sleeps = Sleeps()
    ingest = client(url, "tkw-x", sleeps, retries=1)
    with pytest.raises(RateLimited) as raised:
        ingest.send([make_event()])
    ingest.close()
    assert raised.value.retry_after_s == 3
    assert app.posts == 2


@pytest.mark.parametrize("header", ["soon", "-5", "99999999"])
def test_an_odd_retry_after_is_bounded(scripted: Any, header: str) -> None:
    ok = b'{"ok":true,"accepted":0,"stored":0,"duplicates":0,"ids":[],"rejected":[]}'
    _, url = scripted([(503, {**JSON, "Retry-After": header}, b"{}"), (200, JSON, ok)])
    sleeps = Sleeps()
    with client(url, "tkw-x", sleeps) as ingest:
        ingest.send([])
    assert len(sleeps.waits) == 1
    assert 0.0 <= sleeps.waits[0] <= 3600.0


def test_a_gateway_page_without_json_raises_storage_error(scripted: Any) -> None:
    app, url = scripted([(502, {"content-type": "text/html"}, b"<html>bad gateway</html>")])
    sleeps = Sleeps()
    with (
        client(url, "tkw-x", sleeps, retries=2) as ingest,
        pytest.raises(StorageError, match="502"),
    ):
        ingest.send([make_event()])
    assert sleeps.waits == [0.2, 0.4]  # no Retry-After: exponential backoff
    assert app.posts == 3


def test_a_server_error_in_the_api_shape_raises_storage_error(scripted: Any) -> None:
    _, url = scripted([(500, JSON, b'{"ok":false,"error":"fatal_error"}')])
    with (
        client(url, "tkw-x", Sleeps(), retries=0) as ingest,
        pytest.raises(StorageError, match="fatal_error"),
    ):
        ingest.send([make_event()])


def test_a_client_error_raises_invalid_payload(scripted: Any) -> None:
    app, url = scripted([(413, JSON, b'{"ok":false,"error":"request_too_large"}')])
    sleeps = Sleeps()
    with (
        client(url, "tkw-x", sleeps) as ingest,
        pytest.raises(InvalidPayload, match="request_too_large"),
    ):
        ingest.send([make_event()])
    assert sleeps.waits == []
    assert app.posts == 1
