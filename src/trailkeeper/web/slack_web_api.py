"""Slack Web API methods of the install story: `oauth.v2.access`, `auth.test`, `auth.revoke`,
`apps.uninstall`, under `/api/` (so `WebClient(base_url=".../api/")` works unchanged).

As Slack's Web API does, every answer is HTTP 200 with `ok` (docs.slack.dev/apis/web-api:
"the response will be HTTP 200 ... with ok false and an error"), except for bodies too large
(413) and an unavailable database (503). Parameters come as an urlencoded form or JSON.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper import errors
from trailkeeper.directory.activity import Origin
from trailkeeper.directory.installations import revoke_installation
from trailkeeper.directory.records import TokenRecord
from trailkeeper.directory.tokens import identify
from trailkeeper.oauth import errors as oauth_errors
from trailkeeper.oauth.exchange import (
    Exchange,
    TokenRequest,
    authenticate_client,
    exchange_code,
)
from trailkeeper.web.errors import json_response, response_for
from trailkeeper.web.forms import body_values
from trailkeeper.web.sessions import AccountServices, accounts_of

# Error -> Slack's Web API error string (docs.slack.dev/reference/methods/oauth.v2.access and
# auth.test). First match wins; StorageError and PayloadTooLarge keep the API's own statuses.
WEB_API_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (errors.MissingAuthentication, "not_authed"),
    (errors.InvalidAuthentication, "invalid_auth"),
    (oauth_errors.UnknownClient, "invalid_client_id"),
    (oauth_errors.BadClientSecret, "bad_client_secret"),
    (oauth_errors.InvalidGrant, "invalid_code"),
    (oauth_errors.UnsupportedGrantType, "unsupported_grant_type"),
    (errors.InvalidArguments, "invalid_arguments"),
    (errors.PayloadTooLarge, "request_too_large"),
    (errors.InvalidPayload, "invalid_form_data"),
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
MAX_TOKEN_CHARS = 512


@dataclass(frozen=True)
class Call:
    """One Web API call: its parameters, headers and where it came from."""

    params: Mapping[str, str]
    headers: Mapping[str, str]
    origin: Origin


Method = Callable[[AccountServices, Call], Response]


def web_api_error(exc: Exception) -> Response:
    """The one error shape, `{"ok":false,"error":...}`, with Slack's code for the error."""
    if isinstance(exc, errors.PayloadTooLarge | errors.StorageError):
        return response_for(exc)
    for cls, code in WEB_API_ERRORS:
        if isinstance(exc, cls):
            return json_response({"ok": False, "error": code}, headers=NO_STORE)
    return response_for(exc)


async def call_method(request: Request, method: Method) -> Response:
    """Read the parameters (query string, then body), run the method in a worker thread."""
    try:
        params = dict(request.query_params) if request.method == "GET" else {}
        if request.method == "POST":
            params = await body_values(request)
        client = request.client.host if request.client else ""
        origin = Origin(client, request.headers.get("user-agent", "")[:512])
        call = Call(params, dict(request.headers), origin)
        accounts = await anyio.to_thread.run_sync(accounts_of, request)
        return await anyio.to_thread.run_sync(method, accounts, call)
    except Exception as exc:
        return web_api_error(exc)


# --- oauth.v2.access --------------------------------------------------------------------------


def client_credentials(params: Mapping[str, str], headers: Mapping[str, str]) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic (preferred by Slack and RFC 6749 §2.3.1) or
    from the body; never both."""
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return params.get("client_id", ""), params.get("client_secret", "")
    if "client_secret" in params:
        raise errors.InvalidArguments("send client credentials once: header or body")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise errors.InvalidArguments("malformed Basic credentials") from exc
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)  # RFC 6749 §2.3.1: form-encoded, then Basic


def access_body(exchange: Exchange) -> dict[str, Any]:
    """Slack's `oauth.v2.access` answer for a user-token-only install."""
    org, workspace = exchange.organization, exchange.workspace
    return {
        "ok": True,
        "app_id": exchange.app.id,
        "authed_user": {
            "id": exchange.installer.id,
            "scope": ",".join(sorted(exchange.record.scopes)),
            "access_token": exchange.token,
            "token_type": "user",
        },
        "team": {"id": workspace.id, "name": workspace.name} if workspace else None,
        "enterprise": {"id": org.id, "name": org.name},
        "is_enterprise_install": exchange.installation.is_enterprise_install,
    }


def oauth_v2_access_method(accounts: AccountServices, call: Call) -> Response:
    """Exchange a code (client authenticated, PKCE verified) for a user token."""
    params = call.params
    client_id, client_secret = client_credentials(params, call.headers)
    request = TokenRequest(
        client_id=client_id,
        client_secret=client_secret,
        code=params.get("code", ""),
        redirect_uri=params.get("redirect_uri", ""),
        code_verifier=params.get("code_verifier", ""),
        grant_type=params.get("grant_type", ""),
    )
    exchange = exchange_code(accounts.store, request, accounts.now())
    return json_response(access_body(exchange), headers=NO_STORE)


async def oauth_v2_access(request: Request) -> Response:
    """`POST /api/oauth.v2.access`."""
    return await call_method(request, oauth_v2_access_method)


# --- auth.test, auth.revoke, apps.uninstall ---------------------------------------------------


def presented_token(call: Call) -> str:
    """The token of a Web API call: `Authorization: Bearer …`, else a `token` parameter."""
    scheme, _, value = call.headers.get("authorization", "").strip().partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else call.params.get("token", "")
    if not token:
        raise errors.MissingAuthentication("no token")
    return token


def token_record(accounts: AccountServices, token: str) -> TokenRecord:
    """The active record of a token whose installation (if any) is in force."""
    store = accounts.store
    return identify(token[: MAX_TOKEN_CHARS + 1], store.find_token, store.installation_standing)


def auth_test_body(accounts: AccountServices, record: TokenRecord) -> dict[str, Any]:
    """Slack's `auth.test` answer: who and where the token is."""
    store = accounts.store
    org = store.get_organization(record.org_id)
    workspace = store.get_workspace(record.workspace_id) if record.workspace_id else None
    body: dict[str, Any] = {
        "ok": True,
        "url": accounts.settings.base_url + "/",
        "team": workspace.name if workspace else (org.name if org else ""),
        "team_id": workspace.id if workspace else record.org_id,
        "enterprise_id": record.org_id,
        "is_enterprise_install": workspace is None,
    }
    installation = store.get_installation(record.installation_id or "")
    user = store.get_user(installation.installer_id) if installation else None
    if user is not None and installation is not None:
        body |= {"user": user.name, "user_id": user.id, "app_id": installation.app_id}
    return body


def auth_test_method(accounts: AccountServices, call: Call) -> Response:
    """Check a token and describe it; `X-OAuth-Scopes` lists its scopes, as Slack's does."""
    record = token_record(accounts, presented_token(call))
    scopes = {"X-OAuth-Scopes": ",".join(sorted(record.scopes))}
    return json_response(auth_test_body(accounts, record), headers=scopes)


async def auth_test(request: Request) -> Response:
    """`GET|POST /api/auth.test`."""
    return await call_method(request, auth_test_method)


def auth_revoke_method(accounts: AccountServices, call: Call) -> Response:
    """Revoke the presented token (`test=true`: only check it), as Slack's `auth.revoke`."""
    record = token_record(accounts, presented_token(call))
    if call.params.get("test", "").lower() in ("1", "true"):
        return json_response({"ok": True, "revoked": False})
    accounts.store.revoke_token(record.id, accounts.now())
    return json_response({"ok": True, "revoked": True})


async def auth_revoke(request: Request) -> Response:
    """`GET|POST /api/auth.revoke`."""
    return await call_method(request, auth_revoke_method)


def apps_uninstall_method(accounts: AccountServices, call: Call) -> Response:
    """Uninstall the installation behind the token; the app proves itself with its credentials.

    The installer (whose token it is) is the actor of `org_app_uninstalled`/`app_uninstalled`.
    """
    client_id, client_secret = client_credentials(call.params, {})
    app = authenticate_client(accounts.store, client_id, client_secret)
    record = token_record(accounts, presented_token(call))
    store = accounts.store
    installation = store.get_installation(record.installation_id or "")
    if installation is None or installation.app_id != app.id:
        raise errors.InvalidAuthentication("the token is not one of this app's installations")
    actor = store.get_user(installation.installer_id)
    revoke_installation(store, installation, accounts.change(actor, call.origin))
    return json_response({"ok": True})


async def apps_uninstall(request: Request) -> Response:
    """`POST /api/apps.uninstall`."""
    return await call_method(request, apps_uninstall_method)


ROUTES = (
    ("/api/oauth.v2.access", oauth_v2_access, ("POST",)),
    ("/api/auth.test", auth_test, ("GET", "POST")),
    ("/api/auth.revoke", auth_revoke, ("GET", "POST")),
    ("/api/apps.uninstall", apps_uninstall, ("POST",)),
)
