"""Directory records as frozen values: organizations, workspaces and tokens."""

from __future__ import annotations

from dataclasses import dataclass

READ_SCOPE = "auditlogs:read"
WRITE_SCOPE = "auditlogs:write"
# Trailkeeper's own: the host platform syncs one organization's directory (web/admin_api.py).
ADMIN_SCOPE = "admin:directory"
KNOWN_SCOPES = frozenset({READ_SCOPE, WRITE_SCOPE, ADMIN_SCOPE})


@dataclass(frozen=True)
class Organization:
    """An Enterprise organization (`E…`): the tenant every event and token belongs to."""

    id: str
    name: str
    domain: str


@dataclass(frozen=True)
class Workspace:
    """A workspace (`T…`) of an organization."""

    id: str
    org_id: str
    name: str
    domain: str


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: never the token itself, only its SHA-256 hash.

    `workspace_id` is set for tokens issued by a workspace-level install, which Slack refuses on
    the audit API with `team_not_authorized`.
    """

    id: str
    org_id: str
    token_hash: bytes
    scopes: frozenset[str]
    label: str
    created_at: int
    last_used_at: int | None = None
    revoked_at: int | None = None
    workspace_id: str | None = None
    installation_id: str | None = None

    @property
    def is_active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None
