"""Authorization codes: single-use, short-lived, bound to one installation, client, redirect URL
and PKCE challenge (RFC 6749 §4.1.2, §10.5). Stored only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from trailkeeper.oauth.errors import InvalidGrant
from trailkeeper.oauth.pkce import check_verifier

MAX_CODE_CHARS = 256


@dataclass(frozen=True)
class AuthCode:
    """A stored code. `redirect_uri_given` records whether the authorize request named the
    redirect URL, which then must be sent again, identical, to redeem it (RFC 6749 §4.1.3)."""

    code_hash: bytes
    installation_id: str
    app_id: str
    redirect_uri: str
    redirect_uri_given: bool
    code_challenge: str | None
    created_at: int
    expires_at: int
    redeemed_at: int | None = None
    token_id: str | None = None


def mint_code() -> str:
    """A fresh code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def code_hash(code: str) -> bytes:
    """The only form in which a code is stored."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).digest()


def new_code(
    installation_id: str,
    app_id: str,
    redirect: tuple[str, bool],
    challenge: str | None,
    *,
    now: int,
    ttl_s: int,
) -> tuple[str, AuthCode]:
    """A code for an approved installation, and the record to store (hash only)."""
    code = mint_code()
    redirect_uri, given = redirect
    record = AuthCode(
        code_hash=code_hash(code),
        installation_id=installation_id,
        app_id=app_id,
        redirect_uri=redirect_uri,
        redirect_uri_given=given,
        code_challenge=challenge,
        created_at=now,
        expires_at=now + ttl_s,
    )
    return code, record


def check_binding(
    record: AuthCode, app_id: str, redirect_uri: str, verifier: str, *, now: int
) -> None:
    """Everything a redemption must match, each failure the same `InvalidGrant`."""
    if not hmac.compare_digest(record.app_id.encode(), app_id.encode()):
        raise InvalidGrant("code issued to another client")
    if now >= record.expires_at:
        raise InvalidGrant("code expired")
    sent = redirect_uri or record.redirect_uri_given
    if sent and not hmac.compare_digest(record.redirect_uri.encode(), redirect_uri.encode()):
        raise InvalidGrant("redirect_uri differs from the authorization request")
    check_verifier(record.code_challenge, verifier)
