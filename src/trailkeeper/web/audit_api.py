"""The Slack-compatible read API: `GET /audit/v1/logs`, `/schemas` and `/actions`.

Pages are built by splicing the stored bytes of each entry into the envelope, never by
re-serializing entries; success bodies carry no `ok` key and start with `{"entries":[`.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.errors import InvalidArguments
from trailkeeper.events import StoredRow
from trailkeeper.query import (
    LogFilter,
    Position,
    decode_cursor,
    encode_cursor,
    parse_log_request,
    read_page,
)
from trailkeeper.web.credentials import bearer_token
from trailkeeper.web.errors import JSON, response_for
from trailkeeper.web.services import Services

MAX_QUERY_BYTES = 16 * 1024


def services_of(request: Request) -> Services:
    """The services the app was built with."""
    services: Services = request.app.state.services
    return services


def logs_body(services: Services, headers: Mapping[str, str], params: Mapping[str, str]) -> bytes:
    """The body of a `/logs` call, or a domain error."""
    grant = services.grant(bearer_token(headers), READ_SCOPE)
    services.check_rate(grant.org_id)
    settings, now = services.settings, int(services.clock())
    request = parse_log_request(
        params, services.catalog, now=now, default_limit=settings.default_page_limit
    )
    start = None
    if request.cursor is not None:
        start = decode_cursor(
            request.cursor,
            org_id=grant.org_id,
            key=services.cursor_key,
            now=now,
            ttl_s=settings.cursor_ttl_s,
        )

    def scan(log_filter: LogFilter, below: Position | None, limit: int) -> list[StoredRow]:
        return services.store.scan(grant.org_id, log_filter, below, limit)

    page = read_page(scan, request.filter, start, request.limit, settings.max_same_second_extension)
    cursor = ""
    if page.next_position is not None:
        cursor = encode_cursor(
            page.next_position, org_id=grant.org_id, key=services.cursor_key, now=now
        )
    return b"".join(
        (
            b'{"entries":[',
            b",".join(r.body for r in page.rows),
            b'],"response_metadata":{"next_cursor":"',
            cursor.encode(),
            b'"}}',
        )
    )


async def logs(request: Request) -> Response:
    """`GET /audit/v1/logs`."""
    if len(request.url.query) > MAX_QUERY_BYTES:
        return response_for(InvalidArguments("query string too long"))
    services = services_of(request)
    headers, params = dict(request.headers), dict(request.query_params)
    try:
        body = await anyio.to_thread.run_sync(
            logs_body, services, headers, params, limiter=services.read_limiter
        )
    except Exception as exc:
        return response_for(exc)
    return Response(body, media_type=JSON)


async def schemas(request: Request) -> Response:
    """`GET /audit/v1/schemas`: no token needed (Slack's docs), any token accepted."""
    return Response(request.app.state.schemas_body, media_type=JSON)


async def actions(request: Request) -> Response:
    """`GET /audit/v1/actions`: no token needed, any token accepted."""
    return Response(request.app.state.actions_body, media_type=JSON)
