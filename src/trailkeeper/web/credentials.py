"""Reading bearer credentials from a request (`Authorization: Bearer <token>`, any case)."""

from __future__ import annotations

from collections.abc import Mapping

from trailkeeper.errors import MissingAuthentication


def bearer_token(headers: Mapping[str, str]) -> str:
    """The bearer token of a request, or `MissingAuthentication` when absent or malformed."""
    value = headers.get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MissingAuthentication("no bearer token")
    return token
