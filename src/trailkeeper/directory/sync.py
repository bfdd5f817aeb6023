"""Bulk directory sync for the host platform: one organization's workspaces and users, upserted.

Idempotent: sending the same directory twice changes nothing and records nothing. The whole
batch is checked before anything is written, so a malformed item changes nothing either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailkeeper.directory.activity import ChangeContext
from trailkeeper.directory.admin import DOMAIN, WORKSPACE_ID
from trailkeeper.directory.records import Workspace
from trailkeeper.directory.users import UserSpec, check_spec, sync_user
from trailkeeper.errors import Conflict, InvalidArguments, NotFound
from trailkeeper.storage.base import Store

MAX_WORKSPACES = 1000
MAX_USERS = 10_000
USER_FIELDS = frozenset({"id", "name", "email", "role", "active"})
WORKSPACE_FIELDS = frozenset({"id", "name", "domain"})


@dataclass(frozen=True)
class DirectoryBatch:
    """A checked sync request for one organization."""

    org_id: str
    workspaces: tuple[Workspace, ...]
    users: tuple[UserSpec, ...]


def _items(payload: Mapping[str, Any], key: str, limit: int) -> list[dict[str, Any]]:
    items = payload.get(key, [])
    if not isinstance(items, list) or len(items) > limit:
        raise InvalidArguments(f"{key} must be a list of at most {limit} objects")
    if not all(isinstance(i, dict) for i in items):
        raise InvalidArguments(f"{key} must be a list of objects")
    return items


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise InvalidArguments(f"{where}.{key} must be a string")
    return value


def _workspace(org_id: str, item: Mapping[str, Any], where: str) -> Workspace:
    if set(item) - WORKSPACE_FIELDS:
        raise InvalidArguments(f"{where} has unknown fields")
    ws_id, name = _text(item, "id", where), _text(item, "name", where).strip()
    domain = _text(item, "domain", where)
    if not WORKSPACE_ID.fullmatch(ws_id) or not DOMAIN.fullmatch(domain):
        raise InvalidArguments(f"{where}: id must look like T0123ABCD, domain like acme-hq")
    if not name or len(name) > 200:
        raise InvalidArguments(f"{where}.name must be 1-200 characters")
    return Workspace(ws_id, org_id, name, domain)


def _user(org_id: str, item: Mapping[str, Any], where: str) -> UserSpec:
    if set(item) - USER_FIELDS:
        raise InvalidArguments(f"{where} has unknown fields (passwords are set with the CLI)")
    active = item.get("active", True)
    if not isinstance(active, bool):
        raise InvalidArguments(f"{where}.active must be true or false")
    fields = [_text(item, k, where) for k in ("id", "name", "email", "role")]
    try:
        return check_spec(UserSpec(fields[0], org_id, fields[1], fields[2], fields[3], active))
    except InvalidArguments as exc:
        raise InvalidArguments(f"{where}: {exc}") from exc


def _unique(values: list[str], what: str) -> None:
    repeated = [v for v, n in Counter(values).items() if n > 1]
    if repeated:
        raise InvalidArguments(f"{what} {repeated[0]!r} appears twice")


def parse_batch(org_id: str, payload: object) -> DirectoryBatch:
    """Check a whole sync request: `{"workspaces":[…], "users":[…]}`."""
    if not isinstance(payload, dict) or set(payload) - {"workspaces", "users"}:
        raise InvalidArguments('send {"workspaces": [...], "users": [...]}')
    workspaces = [
        _workspace(org_id, item, f"workspaces[{n}]")
        for n, item in enumerate(_items(payload, "workspaces", MAX_WORKSPACES))
    ]
    users = [
        _user(org_id, item, f"users[{n}]")
        for n, item in enumerate(_items(payload, "users", MAX_USERS))
    ]
    _unique([w.id for w in workspaces], "workspace id")
    _unique([u.id for u in users], "user id")
    _unique([u.email.lower() for u in users], "email")
    return DirectoryBatch(org_id, tuple(workspaces), tuple(users))


def sync_workspace(store: Store, workspace: Workspace) -> str:
    """Create or rename a workspace of the organization; "created", "updated" or "unchanged"."""
    existing = store.get_workspace(workspace.id)
    if existing == workspace:
        return "unchanged"
    if existing is not None and existing.org_id != workspace.org_id:
        raise Conflict(f"workspace {workspace.id} belongs to another organization")
    store.put_workspace(workspace)
    return "created" if existing is None else "updated"


def sync_directory(
    store: Store, batch: DirectoryBatch, change: ChangeContext
) -> dict[str, dict[str, int]]:
    """Apply a checked batch: workspaces first, then users; counts of what changed."""
    if store.get_organization(batch.org_id) is None:
        raise NotFound(f"no organization {batch.org_id}")
    counts = {"workspaces": Counter[str](), "users": Counter[str]()}
    for workspace in batch.workspaces:
        counts["workspaces"][sync_workspace(store, workspace)] += 1
    for spec in batch.users:
        counts["users"][sync_user(store, spec, change)] += 1
    kinds = ("created", "updated", "unchanged")
    return {key: {k: counter[k] for k in kinds} for key, counter in counts.items()}
