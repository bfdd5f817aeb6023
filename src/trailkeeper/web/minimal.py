"""The read path's ceiling: a bare ASGI callable serving one organization's `/logs` first pages.

No framework, no token, no rate limit, no thread hop, only `limit` parsed: the same `read_page`
over `Store.scan`, the same cursor and the same stored bytes spliced into the same envelope as
`web/audit_api.py`. `trailkeeper bench` serves it with the settings `trailkeeper serve` gives
uvicorn and reads the gap between the two as the cost of everything the real app adds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from trailkeeper.config import Settings, load_settings
from trailkeeper.events import StoredRow
from trailkeeper.query import LogFilter, Position, encode_cursor, parse_limit, read_page
from trailkeeper.storage import open_store
from trailkeeper.storage.base import EventStore
from trailkeeper.web.services import CURSOR_SECRET

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOGS_PATHS = frozenset({"/audit/v1/logs", "/api/audit/v1/logs"})
HEADERS = [(b"content-type", b"application/json; charset=utf-8")]


class MinimalLogsApp:
    """ASGI app: `GET /audit/v1/logs?limit=N` for one organization, nothing else."""

    def __init__(
        self,
        store: EventStore,
        org_id: str,
        cursor_key: bytes,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._org_id = org_id
        self._key = cursor_key
        self._settings = settings
        self._clock = clock

    def _scan(self, log_filter: LogFilter, below: Position | None, limit: int) -> list[StoredRow]:
        return self._store.scan(self._org_id, log_filter, below, limit)

    def page_body(self, limit: int) -> bytes:
        """The first page of the organization's log, in the `/logs` envelope."""
        page = read_page(
            self._scan, LogFilter(), None, limit, self._settings.max_same_second_extension
        )
        cursor = b""
        if page.next_position is not None:
            now = int(self._clock())
            token = encode_cursor(page.next_position, org_id=self._org_id, key=self._key, now=now)
            cursor = token.encode()
        return b"".join(
            (
                b'{"entries":[',
                b",".join(r.body for r in page.rows),
                b'],"response_metadata":{"next_cursor":"',
                cursor,
                b'"}}',
            )
        )

    def _limit(self, query_string: bytes) -> int:
        params = dict(parse_qsl(query_string.decode("latin-1")))
        return parse_limit(params.get("limit") or None, self._settings.default_page_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request, or the lifespan protocol."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] not in LOGS_PATHS or scope["method"] != "GET":
            await _respond(send, 404, b'{"ok":false,"error":"bad_endpoint"}')
            return
        await _respond(send, 200, self.page_body(self._limit(scope["query_string"])))


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m trailkeeper.web.minimal --org E…`: serve it as `trailkeeper serve` serves."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True, help="The organization whose log is served.")
    args = parser.parse_args(argv)
    settings = load_settings()
    store = open_store(settings.resolved_database_url)
    store.migrate()
    app = MinimalLogsApp(store, args.org, store.secret(CURSOR_SECRET), settings)
    # The same uvicorn arguments as `trailkeeper.cli.serve._run`, so only the app differs.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        server_header=False,
    )


if __name__ == "__main__":
    main()
