"""The ingest API: `POST /ingest/v1/events` with a token holding `auditlogs:write`.

The response is sent only after the batch is durably committed; concurrent requests share
commits (group commit in the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.directory.records import WRITE_SCOPE
from trailkeeper.errors import PayloadTooLarge
from trailkeeper.events import PreparedEvent
from trailkeeper.ingest import IngestReport, Rejection, parse_batch
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.credentials import bearer_token
from trailkeeper.web.errors import json_response, response_for
from trailkeeper.web.services import Services


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing more than `max_bytes` without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def validate_sync(
    services: Services, headers: Mapping[str, str], body: bytes
) -> tuple[list[PreparedEvent], list[Rejection]]:
    """Authorize, parse and validate one batch (CPU-bound Python)."""
    grant = services.grant(bearer_token(headers), WRITE_SCOPE)
    services.ingestor.pauses.check_org(grant.org_id)  # recording paused: retry later
    items = parse_batch(body, max_events=services.settings.max_batch_events)
    return services.ingestor.prepare(items, org_scope=grant.org_id)


async def ingest_batch(services: Services, headers: Mapping[str, str], body: bytes) -> IngestReport:
    """Validate on a few threads, then append on any: the committing thread is never starved.

    Validation holds the GIL; with dozens of validating threads the one inside the commit would
    wait its turn behind all of them. Appends still run concurrently, so group commit merges them.
    """
    prepared, rejected = await anyio.to_thread.run_sync(
        validate_sync, services, headers, body, limiter=services.validation_limiter
    )
    return await anyio.to_thread.run_sync(services.ingestor.commit, prepared, rejected)


def report_body(report: IngestReport) -> dict[str, Any]:
    """The JSON answer to an ingest call."""
    return {
        "ok": not report.rejected,
        "accepted": len(report.accepted),
        "stored": report.stored,
        "duplicates": len(report.duplicates),
        "ids": report.accepted,
        "rejected": [{"index": r.index, "reason": r.reason} for r in report.rejected],
    }


async def ingest_events(request: Request) -> Response:
    """`POST /ingest/v1/events`: a JSON array or NDJSON batch of events."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        bearer_token(headers)  # refuse anonymous callers before reading their body
        body = await read_body(request, services.settings.max_request_bytes)
        report = await ingest_batch(services, headers, body)
    except Exception as exc:
        return response_for(exc)
    payload = report_body(report)
    if report.rejected and not report.accepted:
        return json_response({**payload, "error": "invalid_events"}, 400)
    return json_response(payload)
