"""The directory's SQL, shared by every backend: organizations, workspaces and token records.

A backend mixes this in and supplies `_query` (read rows), `_execute` (one write statement in its
own transaction, returning the row count) and `PH`, its driver's placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.directory.records import Organization, TokenRecord, Workspace

TOKEN_COLUMNS = (
    "id, org_id, token_hash, scopes, label, created_at, last_used_at, revoked_at, "
    "workspace_id, installation_id"
)


def token_from_row(row: Sequence[Any]) -> TokenRecord:
    """A token record from a row of TOKEN_COLUMNS."""
    return TokenRecord(
        id=row[0],
        org_id=row[1],
        token_hash=bytes(row[2]),
        scopes=frozenset(row[3].split()),
        label=row[4],
        created_at=row[5],
        last_used_at=row[6],
        revoked_at=row[7],
        workspace_id=row[8],
        installation_id=row[9],
    )


class SQLDirectory:
    """`DirectoryStore` in portable SQL."""

    PH = "?"

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        raise NotImplementedError

    def _marks(self, n: int) -> str:
        return ", ".join([self.PH] * n)

    def put_organization(self, org: Organization) -> None:
        """Create or update an organization."""
        self._execute(
            f"INSERT INTO organizations (id, name, domain) VALUES ({self._marks(3)}) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, domain = excluded.domain",
            (org.id, org.name, org.domain),
        )

    def get_organization(self, org_id: str) -> Organization | None:
        """An organization by id."""
        rows = self._query(
            f"SELECT id, name, domain FROM organizations WHERE id = {self.PH}", (org_id,)
        )
        return Organization(*rows[0]) if rows else None

    def list_organizations(self) -> list[Organization]:
        """Every organization, by id."""
        return [
            Organization(*r)
            for r in self._query("SELECT id, name, domain FROM organizations ORDER BY id")
        ]

    def put_workspace(self, workspace: Workspace) -> None:
        """Create or update a workspace."""
        w = workspace
        self._execute(
            f"INSERT INTO workspaces (id, org_id, name, domain) VALUES ({self._marks(4)}) "
            "ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, name = excluded.name, "
            "domain = excluded.domain",
            (w.id, w.org_id, w.name, w.domain),
        )

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        """A workspace by id."""
        rows = self._query(
            f"SELECT id, org_id, name, domain FROM workspaces WHERE id = {self.PH}", (workspace_id,)
        )
        return Workspace(*rows[0]) if rows else None

    def list_workspaces(self, org_id: str) -> list[Workspace]:
        """The workspaces of an organization, by id."""
        rows = self._query(
            f"SELECT id, org_id, name, domain FROM workspaces WHERE org_id = {self.PH} ORDER BY id",
            (org_id,),
        )
        return [Workspace(*r) for r in rows]

    def add_token(self, record: TokenRecord) -> None:
        """Store a token record (its hash, never the token)."""
        r = record
        self._execute(
            f"INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ({self._marks(10)})",
            (
                r.id,
                r.org_id,
                r.token_hash,
                " ".join(sorted(r.scopes)),
                r.label,
                r.created_at,
                r.last_used_at,
                r.revoked_at,
                r.workspace_id,
                r.installation_id,
            ),
        )

    def find_token(self, token_hash: bytes) -> TokenRecord | None:
        """The token with this hash, revoked or not."""
        rows = self._query(
            f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = {self.PH}", (token_hash,)
        )
        return token_from_row(rows[0]) if rows else None

    def list_tokens(self, org_id: str | None = None) -> list[TokenRecord]:
        """Tokens, optionally of one organization, oldest first."""
        if org_id is None:
            rows = self._query(f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id")
        else:
            rows = self._query(
                f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = {self.PH} "
                "ORDER BY created_at, id",
                (org_id,),
            )
        return [token_from_row(r) for r in rows]

    def revoke_token(self, token_id: str, at: int) -> bool:
        """Revoke an active token; False when there is none with that id."""
        count = self._execute(
            f"UPDATE tokens SET revoked_at = {self.PH} WHERE id = {self.PH} AND revoked_at IS NULL",
            (at, token_id),
        )
        return count > 0

    def set_retention(self, org_id: str, keep_days: int | None) -> None:
        """Keep the organization's events `keep_days` days (None: forever)."""
        self._execute(
            f"INSERT INTO retention_policies (org_id, keep_days) VALUES ({self._marks(2)}) "
            "ON CONFLICT (org_id) DO UPDATE SET keep_days = excluded.keep_days",
            (org_id, keep_days),
        )

    def retention_policies(self) -> dict[str, int]:
        """Organizations with a finite retention, and their days."""
        rows = self._query(
            "SELECT org_id, keep_days FROM retention_policies "
            "WHERE keep_days IS NOT NULL ORDER BY org_id"
        )
        return {org: int(days) for org, days in rows}

    def touch_token(self, token_id: str, at: int) -> None:
        """Record a token's last use."""
        self._execute(
            f"UPDATE tokens SET last_used_at = {self.PH} WHERE id = {self.PH}", (at, token_id)
        )
