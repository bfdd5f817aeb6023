"""Account activity as Slack-shaped audit events: sign-ins, account changes, app installs.

Pure builders. Callers hand the events to an `EventSink`, which records them in the
organization's own log through the normal ingest path (validation, canonical bytes, Merkle tree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trailkeeper.directory.accounts import ADMIN, GUEST, MEMBER, OWNER, App, Installation, User
from trailkeeper.recorder import service_actor

Event = dict[str, Any]
EventSink = Callable[[list[Event]], None]

# Slack's role_change_to_* actions; a regular member is a "user" in Slack's action names.
ROLE_CHANGE_ACTIONS = {
    OWNER: "role_change_to_owner",
    ADMIN: "role_change_to_admin",
    MEMBER: "role_change_to_user",
    GUEST: "role_change_to_guest",
}


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the caller's address and client, and its sign-in session."""

    ip: str
    ua: str
    session_id: int | None = None


CLI_ORIGIN = Origin("127.0.0.1", "trailkeeper-cli")


def discard_events(events: list[Event]) -> None:
    """An `EventSink` that records nothing (bulk seeding of a history that has its own)."""


@dataclass(frozen=True)
class ChangeContext:
    """Who makes a change (None: Trailkeeper itself), from where, when, and where its events go."""

    actor: User | None
    origin: Origin
    record: EventSink
    now: int


def user_object(user: User) -> dict[str, Any]:
    """A user as Slack's audit events show one (`team` is the organization)."""
    return {"id": user.id, "name": user.name, "email": user.email, "team": user.org_id}


def actor_of(user: User | None) -> dict[str, Any]:
    """The actor of an event: a user, or Trailkeeper itself (the CLI, the directory sync)."""
    if user is None:
        return service_actor()
    return {"type": "user", "user": user_object(user)}


def account_event(
    action: str,
    actor: User | None,
    entity: Mapping[str, Any],
    origin: Origin,
    *,
    location: tuple[str, str],
    details: Mapping[str, Any] | None = None,
) -> Event:
    """One event; `location` is ("enterprise", org id) or ("workspace", workspace id)."""
    event: Event = {
        "action": action,
        "actor": actor_of(actor),
        "entity": dict(entity),
        "context": {
            "location": {"type": location[0], "id": location[1]},
            "ua": origin.ua[:512],
            "ip_address": origin.ip,
            "session_id": origin.session_id,
        },
    }
    if details:
        event["details"] = dict(details)
    return event


def user_event(
    action: str,
    subject: User,
    actor: User | None,
    origin: Origin,
    details: Mapping[str, Any] | None = None,
) -> Event:
    """An event about a user account, in its organization's log."""
    entity = {"type": "user", "user": user_object(subject)}
    location = ("enterprise", subject.org_id)
    return account_event(action, actor, entity, origin, location=location, details=details)


def role_change_event(subject: User, previous: str, actor: User | None, origin: Origin) -> Event:
    """`role_change_to_<role>` for a user whose role just changed from `previous`."""
    details = {"previous_role": previous, "new_role": subject.role}
    return user_event(ROLE_CHANGE_ACTIONS[subject.role], subject, actor, origin, details)


def app_entity(app: App, installation: Installation) -> dict[str, Any]:
    """The app as Slack's `app` entity shows it, with the scopes this installation granted."""
    return {
        "type": "app",
        "app": {
            "id": app.id,
            "name": app.name,
            "is_distributed": app.is_distributed,
            "is_directory_approved": False,
            "is_workflow_app": False,
            "scopes": sorted(installation.user_scopes),
            "bot_scopes": sorted(installation.bot_scopes),
        },
    }


def _install_location(installation: Installation) -> tuple[str, str]:
    if installation.workspace_id is None:
        return ("enterprise", installation.org_id)
    return ("workspace", installation.workspace_id)


def install_event(app: App, installation: Installation, installer: User, origin: Origin) -> Event:
    """`org_app_installed` for the whole organization, `app_installed` for one workspace."""
    action = "org_app_installed" if installation.is_enterprise_install else "app_installed"
    details = {
        "installation_id": installation.id,
        "scopes": sorted(installation.user_scopes),
        "bot_scopes": sorted(installation.bot_scopes),
    }
    entity = app_entity(app, installation)
    location = _install_location(installation)
    return account_event(action, installer, entity, origin, location=location, details=details)


def uninstall_event(
    app: App, installation: Installation, actor: User | None, origin: Origin
) -> Event:
    """`org_app_uninstalled` or `app_uninstalled`, mirroring the install."""
    action = "org_app_uninstalled" if installation.is_enterprise_install else "app_uninstalled"
    entity = app_entity(app, installation)
    details = {"installation_id": installation.id}
    location = _install_location(installation)
    return account_event(action, actor, entity, origin, location=location, details=details)
