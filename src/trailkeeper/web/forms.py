"""Reading request parameters, bounded: query strings, urlencoded forms and JSON objects.

Starlette's own form parser needs python-multipart; these forms are urlencoded only, so the
standard library parses them, and a repeated field is refused rather than silently chosen
(RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once").
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from trailkeeper.errors import InvalidArguments, InvalidPayload
from trailkeeper.web.ingest_api import read_body

MAX_FORM_BYTES = 16 * 1024
MAX_QUERY_BYTES = 8 * 1024
MAX_FIELDS = 32


def single_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Name -> value, refusing repeated names."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise InvalidArguments(f"parameter {name[:40]!r} is repeated")
        values[name] = value
    return values


def query_values(request: Request) -> dict[str, str]:
    """The query string's parameters (bounded, each at most once)."""
    query = request.url.query
    if len(query) > MAX_QUERY_BYTES:
        raise InvalidArguments("query string too long")
    return single_values(_pairs(query))


def _pairs(text: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise InvalidArguments("too many parameters") from exc


def _json_values(body: bytes) -> dict[str, str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload("body is not valid JSON") from exc
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise InvalidPayload("body must be a JSON object of at most 32 fields")
    if not all(isinstance(v, str | bool | int) for v in data.values()):
        raise InvalidArguments("JSON fields must be strings, numbers or booleans")
    return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()}


async def body_values(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form or a JSON object, by Content-Type; an empty body is an empty form."""
    body = await read_body(request, max_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return _json_values(body)
    if kind not in ("", "application/x-www-form-urlencoded"):
        raise InvalidPayload("send application/x-www-form-urlencoded or application/json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPayload("form body is not UTF-8") from exc
    return single_values(_pairs(text))
