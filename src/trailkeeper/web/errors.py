"""Domain errors to HTTP: one table of (status, Slack error code), one error body shape.

Every error body is `{"ok":false,"error":"<code>"}` (plus `needed`/`provided` for a missing scope),
compact JSON starting with `{`, as slack_sdk and SIEM collectors expect.
"""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response

from trailkeeper import errors

JSON = "application/json; charset=utf-8"
log = logging.getLogger("trailkeeper.web")

# Most specific class first; the first match wins.
ERROR_TABLE: tuple[tuple[type[errors.TrailkeeperError], int, str], ...] = (
    (errors.MissingAuthentication, 401, "missing_authentication"),
    (errors.InvalidAuthentication, 401, "invalid_authentication"),
    (errors.MissingScope, 403, "missing_scope"),
    (errors.TeamNotAuthorized, 403, "team_not_authorized"),
    (errors.RateLimited, 429, "rate_limited"),
    (errors.InvalidAction, 400, "invalid_action"),
    (errors.InvalidCursor, 400, "invalid_cursor"),
    (errors.InvalidRange, 400, "invalid_range"),
    (errors.InvalidArguments, 400, "invalid_arguments"),
    (errors.PayloadTooLarge, 413, "request_too_large"),
    (errors.InvalidPayload, 400, "invalid_payload"),
    (errors.NotFound, 404, "not_found"),
    (errors.Conflict, 409, "already_exists"),
    (errors.ServiceUnavailable, 503, "service_unavailable"),
    (errors.StorageError, 503, "service_unavailable"),
)


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A compact JSON response."""
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def error_response(
    code: str,
    status: int,
    extra: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one error shape."""
    return json_response({"ok": False, "error": code, **(extra or {})}, status, headers)


def response_for(exc: Exception) -> Response:
    """The response for any exception; unknown ones become an opaque 500, logged with traceback."""
    for cls, status, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return _known(exc, status, code)
    log.exception("unhandled error", exc_info=exc)
    return error_response("internal_error", 500)


def _known(exc: Exception, status: int, code: str) -> Response:
    if isinstance(exc, errors.RateLimited | errors.ServiceUnavailable):
        return error_response(code, status, headers={"Retry-After": str(exc.retry_after_s)})
    if isinstance(exc, errors.MissingScope):
        return error_response(code, status, {"needed": exc.needed, "provided": exc.provided})
    if isinstance(exc, errors.StorageError):
        log.error("storage error: %s", exc)
    return error_response(code, status)
