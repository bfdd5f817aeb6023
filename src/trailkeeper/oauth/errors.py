"""The errors of the OAuth flow, as branches of the project's one tree (`errors.py`).

    RequestError
    ├── AuthorizeRequestError         an install URL the flow cannot honour: shown on a page,
    │   │                             never redirected (RFC 6749 §4.1.2.1, no open redirect)
    │   ├── UnknownClient             no app has this client_id
    │   ├── RedirectMismatch          redirect_uri is not exactly one of the registered URLs
    │   ├── ScopeNotAllowed           no scope asked, or one the app is not registered for
    │   ├── AppNotDistributed         the app's public distribution is off
    │   └── MalformedAuthorizeRequest a parameter missing, repeated or too long; bad PKCE
    ├── InvalidGrant                  the code is unknown, expired, already redeemed, or bound to
    │                                 another client, redirect URL or PKCE verifier: one error,
    │                                 so a caller never learns which part was wrong
    └── UnsupportedGrantType          a grant_type other than authorization_code
    AuthError
    └── BadClientSecret               the client secret does not match the client id

`web/slack_web_api.py` and `web/oauth_pages.py` map each to Slack's error string.
"""

from __future__ import annotations

from trailkeeper.errors import AuthError, RequestError


class AuthorizeRequestError(RequestError):
    """The authorization request cannot be honoured; the user sees why, the app gets nothing."""


class UnknownClient(AuthorizeRequestError):
    """No app has this client id."""


class RedirectMismatch(AuthorizeRequestError):
    """The redirect URL is not exactly a registered one (or none was given and several are)."""


class ScopeNotAllowed(AuthorizeRequestError):
    """The request asks for no scope, or for one the app is not registered for."""


class AppNotDistributed(AuthorizeRequestError):
    """The app's public distribution is off, so it cannot be installed on an organization."""


class MalformedAuthorizeRequest(AuthorizeRequestError):
    """A parameter is missing, repeated or too long, or the PKCE challenge is malformed."""


class InvalidGrant(RequestError):
    """The authorization code cannot be exchanged (why is kept from the caller)."""


class UnsupportedGrantType(RequestError):
    """Only `authorization_code` grants are exchanged."""


class BadClientSecret(AuthError):
    """The client secret does not belong to the client id."""
