"""The token exchange behind Slack's `oauth.v2.access`: an authorization code for a user token.

A code is redeemed once. The token is stored before the code is atomically marked redeemed by
it, so a replay (or a concurrent second redemption) always finds the token to revoke, as
RFC 6749 §4.1.2 asks: "the authorization server MUST deny the request and SHOULD revoke ...
all tokens previously issued based on that authorization code".
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkeeper.directory import admin
from trailkeeper.directory.accounts import App, Installation, User
from trailkeeper.directory.apps import is_client_secret
from trailkeeper.directory.records import Organization, TokenRecord, Workspace
from trailkeeper.errors import NotFound
from trailkeeper.oauth.codes import MAX_CODE_CHARS, AuthCode, check_binding, code_hash
from trailkeeper.oauth.errors import BadClientSecret, InvalidGrant, UnsupportedGrantType
from trailkeeper.oauth.requests import find_client
from trailkeeper.storage.base import Store

GRANT_TYPE = "authorization_code"
MAX_SECRET_CHARS = 256


@dataclass(frozen=True)
class TokenRequest:
    """The parameters of an `oauth.v2.access` call, wherever they came from (body or header)."""

    client_id: str
    client_secret: str
    code: str
    redirect_uri: str = ""
    code_verifier: str = ""
    grant_type: str = ""


@dataclass(frozen=True)
class Exchange:
    """A redeemed code: the new token (shown once) and everything the answer describes."""

    token: str
    record: TokenRecord
    app: App
    installation: Installation
    installer: User
    organization: Organization
    workspace: Workspace | None


def authenticate_client(store: Store, client_id: str, client_secret: str) -> App:
    """The app whose credentials these are: `UnknownClient` or `BadClientSecret` otherwise."""
    app = find_client(store, client_id)
    if len(client_secret) > MAX_SECRET_CHARS or not is_client_secret(app, client_secret):
        raise BadClientSecret("client_secret does not match")
    return app


def _revoke_issued(store: Store, code: AuthCode, now: int) -> None:
    """A replayed code: revoke the token it issued (the replay may be the thief or the app)."""
    found = store.find_auth_code(code.code_hash)
    if found is not None and found.token_id is not None:
        store.revoke_token(found.token_id, now)


def _redeemable(store: Store, request: TokenRequest, app: App, now: int) -> AuthCode:
    if not request.code or len(request.code) > MAX_CODE_CHARS:
        raise InvalidGrant("code missing or too long")
    code = store.find_auth_code(code_hash(request.code))
    if code is None:
        raise InvalidGrant("unknown code")
    if code.redeemed_at is not None:
        if code.app_id == app.id:
            _revoke_issued(store, code, now)
        raise InvalidGrant("code already redeemed")
    check_binding(code, app.id, request.redirect_uri, request.code_verifier, now=now)
    return code


def _parties(store: Store, installation_id: str) -> tuple[Installation, User, Organization]:
    installation = store.get_installation(installation_id)
    standing = store.installation_standing(installation_id)
    if installation is None or standing is None or not standing.is_in_force:
        raise InvalidGrant("the installation is no longer in force")
    installer = store.get_user(installation.installer_id)
    organization = store.get_organization(installation.org_id)
    if installer is None or organization is None:
        raise InvalidGrant("the installation's user or organization is gone")
    return installation, installer, organization


def _issue(store: Store, app: App, installation: Installation, now: int) -> tuple[str, TokenRecord]:
    try:
        return admin.issue_token(
            store,
            installation.org_id,
            installation.user_scopes,
            f"{app.name} ({app.id}) installed by {installation.installer_id}"[:200],
            workspace_id=installation.workspace_id,
            installation_id=installation.id,
            now=now,
        )
    except NotFound as exc:
        raise InvalidGrant("the installation's organization is gone") from exc


def exchange_code(store: Store, request: TokenRequest, now: int) -> Exchange:
    """Redeem a code for a user token, once; every failure about the code is `InvalidGrant`."""
    if request.grant_type not in ("", GRANT_TYPE):
        raise UnsupportedGrantType("only authorization_code grants are exchanged")
    app = authenticate_client(store, request.client_id, request.client_secret)
    code = _redeemable(store, request, app, now)
    installation, installer, organization = _parties(store, code.installation_id)
    token, record = _issue(store, app, installation, now)
    if not store.redeem_auth_code(code.code_hash, now, record.id):
        store.revoke_token(record.id, now)  # lost a race with another redemption: a replay
        _revoke_issued(store, code, now)
        raise InvalidGrant("code already redeemed")
    workspace = None
    if installation.workspace_id is not None:
        workspace = store.get_workspace(installation.workspace_id)
    return Exchange(token, record, app, installation, installer, organization, workspace)
