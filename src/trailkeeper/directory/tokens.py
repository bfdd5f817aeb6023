"""Bearer tokens: minting, hashing, and deciding what a presented token may do.

Tokens are stored only as SHA-256 hashes; the presented token is hashed, looked up by hash and the
hash compared in constant time, so neither the store nor a timing side channel reveals a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from trailkeeper.directory.accounts import InstallationStanding
from trailkeeper.directory.records import ADMIN_SCOPE, READ_SCOPE, TokenRecord
from trailkeeper.errors import InvalidAuthentication, MissingScope, TeamNotAuthorized

MAX_TOKEN_LENGTH = 512


def mint_token(scopes: frozenset[str]) -> str:
    """A new random token; read tokens look like Slack user tokens (`xoxp-…`)."""
    prefix = "xoxp-" if READ_SCOPE in scopes else "tka-" if ADMIN_SCOPE in scopes else "tkw-"
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """The only form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def new_token_id() -> str:
    """A short public handle for listing and revoking a token."""
    return "tok_" + secrets.token_hex(8)


@dataclass(frozen=True)
class Grant:
    """What an authenticated token may do: one organization, some scopes."""

    token_id: str
    org_id: str
    scopes: frozenset[str]


TokenLookup = Callable[[bytes], TokenRecord | None]
StandingLookup = Callable[[str], InstallationStanding | None]


def identify(
    token: str, lookup: TokenLookup, standing: StandingLookup | None = None
) -> TokenRecord:
    """The active record of a presented token, or `InvalidAuthentication`.

    A token issued by an app installation works only while that installation is in force:
    not uninstalled, its installer still an active Owner. Servers pass `standing` (one indexed
    lookup per call); without it installations are not consulted.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidAuthentication("malformed token")
    digest = token_hash(token)
    record = lookup(digest)
    if record is None or not hmac.compare_digest(record.token_hash, digest):
        raise InvalidAuthentication("unknown token")
    if not record.is_active:
        raise InvalidAuthentication("revoked token")
    if record.installation_id is not None and standing is not None:
        found = standing(record.installation_id)
        if found is None or not found.is_in_force:
            raise InvalidAuthentication("the installation behind this token is not in force")
    return record


def authorize(
    token: str, scope: str, lookup: TokenLookup, standing: StandingLookup | None = None
) -> Grant:
    """The grant of a presented token for `scope`, or the error Slack would give.

    A token without the read scope gets `invalid_authentication`, as Slack documents; a token
    without the write scope gets `missing_scope`.
    """
    record = identify(token, lookup, standing)
    if scope not in record.scopes:
        if scope == READ_SCOPE:
            raise InvalidAuthentication("token lacks auditlogs:read")
        raise MissingScope(scope, ",".join(sorted(record.scopes)))
    if record.workspace_id is not None and scope == READ_SCOPE:
        raise TeamNotAuthorized("token comes from a workspace-level install")
    return Grant(token_id=record.id, org_id=record.org_id, scopes=record.scopes)
