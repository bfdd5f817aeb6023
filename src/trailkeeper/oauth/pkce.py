"""PKCE (RFC 7636): checking a code challenge when it is registered, and the verifier later.

Only the S256 method is accepted: `plain` would put the verifier itself in the browser's URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from trailkeeper.oauth.errors import InvalidGrant, MalformedAuthorizeRequest

S256 = "S256"
# RFC 7636 §4.1: 43-128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 7636 §4.2: S256 gives BASE64URL(SHA256(verifier)) without padding: 43 characters.
CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256_challenge(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), RFC 7636 §4.2."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def checked_challenge(challenge: str, method: str) -> str | None:
    """The challenge to bind to the code (None when PKCE is not used), or a malformed request."""
    if not challenge:
        if method:
            raise MalformedAuthorizeRequest("code_challenge_method without code_challenge")
        return None
    if method != S256:  # RFC 7636 §4.3 defaults to plain; we refuse it (§7.2)
        raise MalformedAuthorizeRequest("code_challenge_method must be S256")
    if not CHALLENGE.fullmatch(challenge):
        raise MalformedAuthorizeRequest("code_challenge is malformed")
    return challenge


def check_verifier(challenge: str | None, verifier: str) -> None:
    """RFC 7636 §4.6: the verifier must hash to the bound challenge; no challenge, no verifier."""
    if challenge is None:
        if verifier:
            raise InvalidGrant("code_verifier sent for a code issued without a challenge")
        return
    if not VERIFIER.fullmatch(verifier):
        raise InvalidGrant("code_verifier missing or malformed")
    if not hmac.compare_digest(s256_challenge(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the challenge")
