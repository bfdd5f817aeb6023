"""The consent decision: approve (an installation, a code, a redirect) or cancel.

Slack sends the installer back to the app with `code` and `state` on approval, and with
`error=access_denied` and `state` when they cancel (docs.slack.dev/authentication/
installing-with-oauth). Both go only to a redirect URL already matched exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from trailkeeper.directory.accounts import Installation, User
from trailkeeper.directory.activity import ChangeContext
from trailkeeper.directory.installations import check_may_install, install
from trailkeeper.directory.records import Workspace
from trailkeeper.errors import InvalidArguments
from trailkeeper.oauth.codes import new_code
from trailkeeper.oauth.requests import AuthorizeRequest
from trailkeeper.storage.base import Store

ORGANIZATION_TARGET = "organization"


@dataclass(frozen=True)
class Approval:
    """What an approval made: the installation, and where to send the browser (with the code)."""

    installation: Installation
    redirect_to: str


def redirect_with(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query (its own query kept byte for byte)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def install_targets(store: Store, user: User) -> list[Workspace]:
    """The workspaces the user may install on, besides the organization itself."""
    return store.list_workspaces(user.org_id)


def check_consent(request: AuthorizeRequest, user: User) -> None:
    """`UserNotAuthorized` before the consent page is even shown to someone who may not approve."""
    check_may_install(user, request.user_scopes)


def _workspace_of(target: str) -> str | None:
    if target == ORGANIZATION_TARGET:
        return None
    if not target.startswith("T") or len(target) > 32:
        raise InvalidArguments("choose the organization or one of its workspaces")
    return target


def approve(
    store: Store, request: AuthorizeRequest, target: str, change: ChangeContext, code_ttl_s: int
) -> Approval:
    """Install on the organization or a workspace, and mint the single-use code for the app."""
    installation = install(
        store,
        request.app,
        _workspace_of(target),
        (request.user_scopes, request.bot_scopes),
        change,
    )
    code, record = new_code(
        installation.id,
        request.app.id,
        (request.redirect_uri, request.redirect_uri_given),
        request.code_challenge,
        now=change.now,
        ttl_s=code_ttl_s,
    )
    store.add_auth_code(record)
    params = {"code": code}
    if request.state:
        params["state"] = request.state
    return Approval(installation, redirect_with(request.redirect_uri, params))


def cancel_redirect(request: AuthorizeRequest) -> str:
    """Where a cancelled install sends the browser: `error=access_denied`, state echoed."""
    params = {"error": "access_denied"}
    if request.state:
        params["state"] = request.state
    return redirect_with(request.redirect_uri, params)
