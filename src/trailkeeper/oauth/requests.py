"""The authorization request: an install URL's parameters checked against the app it names.

`/oauth/v2/authorize?client_id=…&user_scope=auditlogs:read&redirect_uri=…&state=…` as Slack's
shareable install URL has it (docs.slack.dev/authentication/installing-with-oauth), plus PKCE.
The client and its redirect URL are checked first: until both are known good, nothing may be
sent to the redirect URL (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from trailkeeper.directory.accounts import App
from trailkeeper.oauth.errors import (
    AppNotDistributed,
    MalformedAuthorizeRequest,
    RedirectMismatch,
    ScopeNotAllowed,
    UnknownClient,
)
from trailkeeper.oauth.pkce import checked_challenge
from trailkeeper.storage.base import Store

PARAMETERS = (
    "client_id",
    "scope",
    "user_scope",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
)
MAX_PARAMETER_CHARS = 2048
SCOPE_SEPARATORS = re.compile(r"[,\s]+")  # Slack separates scopes with commas; spaces too


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked authorization request, ready for consent."""

    app: App
    redirect_uri: str
    redirect_uri_given: bool
    state: str
    user_scopes: frozenset[str]
    bot_scopes: frozenset[str]
    code_challenge: str | None
    parameters: tuple[tuple[str, str], ...]

    def query(self) -> str:
        """The request's own parameters, URL-encoded: what the sign-in and consent forms carry."""
        return urlencode(self.parameters)


def find_client(store: Store, client_id: str) -> App:
    """The app of a client id, or `UnknownClient`."""
    app = store.find_app_by_client_id(client_id) if 0 < len(client_id) <= 64 else None
    if app is None:
        raise UnknownClient("no app has this client_id")
    return app


def resolve_redirect(app: App, requested: str) -> tuple[str, bool]:
    """The redirect URL, matched exactly against the registered ones, and whether it was given.

    No prefix, case or path normalization (RFC 6819 §5.2.3.5: exact matching); without one,
    the app must have registered exactly one.
    """
    if requested:
        if requested not in app.redirect_urls:
            raise RedirectMismatch("redirect_uri is not registered for this app")
        return requested, True
    if len(app.redirect_urls) != 1:
        raise RedirectMismatch("redirect_uri is required: the app registered several")
    return app.redirect_urls[0], False


def _scopes(text: str, allowed: frozenset[str]) -> frozenset[str]:
    scopes = frozenset(s for s in SCOPE_SEPARATORS.split(text) if s)
    if not scopes <= allowed:
        raise ScopeNotAllowed("the app is not registered for a requested scope")
    return scopes


def parse_authorize_request(store: Store, params: Mapping[str, str]) -> AuthorizeRequest:
    """Check every parameter of an install URL, client and redirect URL first."""
    app = find_client(store, params.get("client_id", ""))
    redirect_uri, given = resolve_redirect(app, params.get("redirect_uri", ""))
    for name in PARAMETERS:
        if len(params.get(name, "")) > MAX_PARAMETER_CHARS:
            raise MalformedAuthorizeRequest(f"{name} is longer than {MAX_PARAMETER_CHARS}")
    user_scopes = _scopes(params.get("user_scope", ""), app.user_scopes)
    if not user_scopes:
        raise ScopeNotAllowed("this server grants user tokens: ask for user_scope")
    if not app.is_distributed:
        raise AppNotDistributed("the app's public distribution is off")
    challenge = checked_challenge(
        params.get("code_challenge", ""), params.get("code_challenge_method", "")
    )
    return AuthorizeRequest(
        app=app,
        redirect_uri=redirect_uri,
        redirect_uri_given=given,
        state=params.get("state", ""),
        user_scopes=user_scopes,
        bot_scopes=_scopes(params.get("scope", ""), app.bot_scopes),
        code_challenge=challenge,
        parameters=tuple((n, params[n]) for n in PARAMETERS if params.get(n)),
    )


def authorize_url(
    base_url: str, app: App, *, state: str = "", redirect_uri: str = "", challenge: str = ""
) -> str:
    """The app's shareable install URL on this server."""
    params = {"client_id": app.client_id}
    if app.bot_scopes:
        params["scope"] = ",".join(sorted(app.bot_scopes))
    params["user_scope"] = ",".join(sorted(app.user_scopes))
    params["redirect_uri"] = redirect_uri or app.redirect_urls[0]
    if state:
        params["state"] = state
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{base_url.rstrip('/')}/oauth/v2/authorize?{urlencode(params)}"
