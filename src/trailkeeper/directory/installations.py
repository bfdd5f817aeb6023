"""The rules for installing apps on an organization or one of its workspaces, and uninstalling.

Slack: an app asking for `auditlogs:read` must be installed by the Owner of the Enterprise
organization (docs.slack.dev/admins/audit-logs-api); anyone else gets `user_not_authorized`.
Other apps may be approved by an Owner or an Admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from trailkeeper.directory.accounts import ADMIN, OWNER, App, Installation, User
from trailkeeper.directory.activity import ChangeContext, install_event, uninstall_event
from trailkeeper.directory.errors import UserNotAuthorized
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.errors import NotFound
from trailkeeper.storage.base import Store


def check_may_install(user: User, user_scopes: Iterable[str]) -> None:
    """Raise `UserNotAuthorized` unless `user` may approve an app asking for these scopes."""
    if not user.is_active:
        raise UserNotAuthorized("the account is deactivated")
    if READ_SCOPE in set(user_scopes):
        if user.role != OWNER:
            raise UserNotAuthorized("only the organization's Owner may install auditlogs:read")
    elif user.role not in (OWNER, ADMIN):
        raise UserNotAuthorized("only an Owner or an Admin may install apps")


def _new_installation_id() -> str:
    return "I0" + secrets.token_hex(6).upper()


def install(
    store: Store,
    app: App,
    workspace_id: str | None,
    scopes: tuple[frozenset[str], frozenset[str]],
    change: ChangeContext,
) -> Installation:
    """Record the approval by `change.actor` on its organization (workspace None) or a workspace.

    `org_app_installed` or `app_installed` is recorded in the organization's log.
    """
    installer = change.actor
    if installer is None:
        raise UserNotAuthorized("an installation needs a signed-in user")
    check_may_install(installer, scopes[0])
    if workspace_id is not None:
        workspace = store.get_workspace(workspace_id)
        if workspace is None or workspace.org_id != installer.org_id:
            raise NotFound(f"no workspace {workspace_id} in {installer.org_id}")
    installation = Installation(
        id=_new_installation_id(),
        app_id=app.id,
        org_id=installer.org_id,
        installer_id=installer.id,
        user_scopes=scopes[0],
        bot_scopes=scopes[1],
        created_at=change.now,
        workspace_id=workspace_id,
    )
    store.add_installation(installation)
    change.record([install_event(app, installation, installer, change.origin)])
    return installation


def uninstall_app(store: Store, app: App, org_id: str, change: ChangeContext) -> list[Installation]:
    """Uninstall an app from an organization and its workspaces; every token it held is revoked.

    Returns the installations that were in force; `org_app_uninstalled` / `app_uninstalled`
    is recorded for each.
    """
    if store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    removed = [
        i
        for i in store.list_installations(app.id, org_id)
        if store.revoke_installation(i.id, change.now)
    ]
    change.record([uninstall_event(app, i, change.actor, change.origin) for i in removed])
    return removed


def revoke_installation(
    store: Store, installation: Installation, change: ChangeContext
) -> Installation:
    """Uninstall one installation (Slack's `apps.uninstall` with one of its tokens)."""
    app = store.get_app(installation.app_id)
    if app is None:
        raise NotFound(f"no app {installation.app_id}")
    if store.revoke_installation(installation.id, change.now):
        change.record([uninstall_event(app, installation, change.actor, change.origin)])
    return installation
