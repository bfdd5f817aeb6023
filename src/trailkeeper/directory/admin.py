"""Managing the directory: organizations, workspaces and tokens, with their rules.

Used by the command line, the demo and (later) the admin API, so the rules live in one place.
"""

from __future__ import annotations

import re
import time

from trailkeeper.directory.records import KNOWN_SCOPES, Organization, TokenRecord, Workspace
from trailkeeper.directory.tokens import mint_token, new_token_id, token_hash
from trailkeeper.errors import Conflict, InvalidArguments, NotFound
from trailkeeper.storage.base import DirectoryStore

ORG_ID = re.compile(r"^E[A-Z0-9]{2,31}$")
WORKSPACE_ID = re.compile(r"^T[A-Z0-9]{2,31}$")
DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _check_names(name: str, domain: str) -> None:
    if not name.strip() or len(name) > 200:
        raise InvalidArguments("name must be 1-200 characters")
    if not DOMAIN.fullmatch(domain):
        raise InvalidArguments("domain must be lowercase letters, digits and dashes (max 63)")


def create_organization(store: DirectoryStore, org_id: str, name: str, domain: str) -> Organization:
    """Add an organization; re-creating an identical one is a no-op."""
    if not ORG_ID.fullmatch(org_id):
        raise InvalidArguments("organization id must look like E0123ABCD (E + capitals/digits)")
    _check_names(name, domain)
    org = Organization(org_id, name.strip(), domain)
    existing = store.get_organization(org_id)
    if existing is not None and existing != org:
        raise Conflict(f"organization {org_id} already exists with other values")
    store.put_organization(org)
    return org


def create_workspace(
    store: DirectoryStore, workspace_id: str, org_id: str, name: str, domain: str
) -> Workspace:
    """Add a workspace to an existing organization; re-creating an identical one is a no-op."""
    if not WORKSPACE_ID.fullmatch(workspace_id):
        raise InvalidArguments("workspace id must look like T0123ABCD (T + capitals/digits)")
    _check_names(name, domain)
    if store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    workspace = Workspace(workspace_id, org_id, name.strip(), domain)
    existing = store.get_workspace(workspace_id)
    if existing is not None and existing != workspace:
        raise Conflict(f"workspace {workspace_id} already exists with other values")
    store.put_workspace(workspace)
    return workspace


def issue_token(
    store: DirectoryStore,
    org_id: str,
    scopes: frozenset[str],
    label: str = "",
    *,
    workspace_id: str | None = None,
    installation_id: str | None = None,
    now: int | None = None,
) -> tuple[str, TokenRecord]:
    """Mint a token for an organization; the token itself is returned once and never stored."""
    unknown = scopes - KNOWN_SCOPES
    if not scopes or unknown:
        raise InvalidArguments(f"scopes must be among {', '.join(sorted(KNOWN_SCOPES))}")
    if store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    token = mint_token(scopes)
    record = TokenRecord(
        id=new_token_id(),
        org_id=org_id,
        token_hash=token_hash(token),
        scopes=scopes,
        label=label[:200],
        created_at=int(time.time()) if now is None else now,
        workspace_id=workspace_id,
        installation_id=installation_id,
    )
    store.add_token(record)
    return token, record


def revoke_token(store: DirectoryStore, token_id: str, now: int | None = None) -> None:
    """Revoke a token by its id; it stops working at once on every process."""
    if not store.revoke_token(token_id, int(time.time()) if now is None else now):
        raise NotFound(f"no active token {token_id}")
