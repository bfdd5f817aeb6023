"""The rules for users: ids, emails and roles; creating, syncing, promoting, deactivating.

Every change is recorded in the organization's own log (`user_created`, `role_change_to_*`,
`user_deactivated`, `user_reactivated`) through the change's `EventSink`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from trailkeeper.directory.accounts import ROLES, User
from trailkeeper.directory.activity import ChangeContext, Event, role_change_event, user_event
from trailkeeper.directory.passwords import hash_password
from trailkeeper.errors import Conflict, InvalidArguments, NotFound
from trailkeeper.storage.base import Store

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL_CHARS = 254  # RFC 5321 §4.5.3.1.3
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class UserSpec:
    """A user as a caller describes it (the CLI, the directory sync)."""

    id: str
    org_id: str
    name: str
    email: str
    role: str
    active: bool = True


def check_spec(spec: UserSpec) -> UserSpec:
    """The spec with its name trimmed, or `InvalidArguments` saying what is wrong."""
    if not USER_ID.fullmatch(spec.id):
        raise InvalidArguments("user id must look like U0123ABCD or W0123ABCD")
    name = spec.name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidArguments(f"name must be 1-{MAX_NAME_CHARS} characters")
    if len(spec.email) > MAX_EMAIL_CHARS or not EMAIL.fullmatch(spec.email):
        raise InvalidArguments("email must be an address like ada@example.com")
    if spec.role not in ROLES:
        raise InvalidArguments(f"role must be one of {', '.join(ROLES)}")
    return replace(spec, name=name)


def member(store: Store, org_id: str, user_id: str) -> User:
    """A user of the organization, or `NotFound`."""
    user = store.get_user(user_id)
    if user is None or user.org_id != org_id:
        raise NotFound(f"no user {user_id} in {org_id}")
    return user


def _check_placement(store: Store, spec: UserSpec) -> User | None:
    """The existing user with this id, after checking the organization and the login."""
    if store.get_organization(spec.org_id) is None:
        raise NotFound(f"no organization {spec.org_id}")
    existing = store.get_user(spec.id)
    if existing is not None and existing.org_id != spec.org_id:
        raise Conflict(f"user {spec.id} belongs to another organization")
    holder = store.find_user_by_login(spec.email)
    if holder is not None and holder.id != spec.id:
        raise Conflict(f"another user already signs in as {spec.email}")
    return existing


def create_user(
    store: Store, spec: UserSpec, change: ChangeContext, password: str | None = None
) -> User:
    """Add a user (with a password to sign in, or none); `user_created` is recorded."""
    spec = check_spec(spec)
    if _check_placement(store, spec) is not None:
        raise Conflict(f"user {spec.id} already exists")
    user = User(
        id=spec.id,
        org_id=spec.org_id,
        name=spec.name,
        email=spec.email,
        role=spec.role,
        created_at=change.now,
        password_hash=None if password is None else hash_password(password),
        deactivated_at=None if spec.active else change.now,
    )
    store.put_user(user)
    change.record([user_event("user_created", user, change.actor, change.origin)])
    return user


def sync_user(store: Store, spec: UserSpec, change: ChangeContext) -> str:
    """Create or update a user to match `spec` (idempotent); "created", "updated" or "unchanged".

    A role change records `role_change_to_*`; (re)activation records `user_deactivated` or
    `user_reactivated`. Passwords are never synced: they are set with the CLI.
    """
    spec = check_spec(spec)
    existing = _check_placement(store, spec)
    if existing is None:
        create_user(store, spec, change)
        return "created"
    updated = _apply(existing, spec, change.now)
    if updated == existing:
        return "unchanged"
    store.put_user(updated)
    if not updated.is_active and existing.is_active:
        store.delete_user_sessions(updated.id)
    change.record(_change_events(existing, updated, change))
    return "updated"


def _apply(user: User, spec: UserSpec, now: int) -> User:
    deactivated_at = user.deactivated_at
    if spec.active:
        deactivated_at = None
    elif deactivated_at is None:
        deactivated_at = now
    return replace(
        user, name=spec.name, email=spec.email, role=spec.role, deactivated_at=deactivated_at
    )


def _change_events(before: User, after: User, change: ChangeContext) -> list[Event]:
    events = []
    if before.role != after.role:
        events.append(role_change_event(after, before.role, change.actor, change.origin))
    if before.is_active != after.is_active:
        action = "user_reactivated" if after.is_active else "user_deactivated"
        events.append(user_event(action, after, change.actor, change.origin))
    return events


def set_role(store: Store, org_id: str, user_id: str, role: str, change: ChangeContext) -> User:
    """Give a user another role; `role_change_to_<role>` is recorded when it changes.

    An Owner who stops being one silently ends every installation they approved: their
    tokens stop working on the next call (`InstallationStanding`).
    """
    if role not in ROLES:
        raise InvalidArguments(f"role must be one of {', '.join(ROLES)}")
    user = member(store, org_id, user_id)
    if user.role == role:
        return user
    updated = replace(user, role=role)
    store.put_user(updated)
    change.record([role_change_event(updated, user.role, change.actor, change.origin)])
    return updated


def deactivate_user(store: Store, org_id: str, user_id: str, change: ChangeContext) -> User:
    """Deactivate a user: sessions end, installations they approved stop working."""
    user = member(store, org_id, user_id)
    if not user.is_active:
        return user
    updated = replace(user, deactivated_at=change.now)
    store.put_user(updated)
    store.delete_user_sessions(user_id)
    change.record([user_event("user_deactivated", updated, change.actor, change.origin)])
    return updated


def set_password(store: Store, org_id: str, user_id: str, password: str) -> User:
    """Give a user a new password (hashed); their open sessions end."""
    user = member(store, org_id, user_id)
    updated = replace(user, password_hash=hash_password(password))
    store.put_user(updated)
    store.delete_user_sessions(user_id)
    return updated
