"""The internal admin API: `POST /admin/v1/directory.sync`, for the host platform.

Authenticated by an organization's token with `admin:directory`
(`trailkeeper token create --org E… --scope admin:directory`), so a platform syncs only the
organization the token belongs to. Errors have the API's one shape; a malformed batch says
which item in `response_metadata.messages`, as Slack's Web API does for invalid arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.directory.activity import Origin
from trailkeeper.directory.records import ADMIN_SCOPE
from trailkeeper.directory.sync import parse_batch, sync_directory
from trailkeeper.errors import InvalidArguments, InvalidPayload
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.credentials import bearer_token
from trailkeeper.web.errors import error_response, json_response, response_for
from trailkeeper.web.ingest_api import read_body
from trailkeeper.web.sessions import AccountServices, accounts_of


def _sync(accounts: AccountServices, org_id: str, body: bytes, origin: Origin) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload("body is not valid JSON") from exc
    batch = parse_batch(org_id, payload)
    counts = sync_directory(accounts.store, batch, accounts.change(None, origin))
    return {"ok": True, **counts}


def apply_sync(request: Request, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Authorize, then check and apply the batch (in a worker thread)."""
    grant = services_of(request).grant(bearer_token(headers), ADMIN_SCOPE)
    client = request.client.host if request.client else ""
    origin = Origin(client, headers.get("user-agent", "")[:512])
    return _sync(accounts_of(request), grant.org_id, body, origin)


async def directory_sync(request: Request) -> Response:
    """`POST /admin/v1/directory.sync`: upsert the organization's workspaces and users."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        bearer_token(headers)  # refuse anonymous callers before reading their body
        body = await read_body(request, services.settings.max_request_bytes)
        result = await anyio.to_thread.run_sync(apply_sync, request, headers, body)
    except InvalidArguments as exc:
        messages = {"messages": [f"[ERROR] {exc}"]}
        return error_response("invalid_arguments", 400, {"response_metadata": messages})
    except Exception as exc:
        return response_for(exc)
    return json_response(result)


ROUTES = (("/admin/v1/directory.sync", directory_sync, ("POST",)),)
