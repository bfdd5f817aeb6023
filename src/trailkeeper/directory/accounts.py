"""Account records as frozen values: users with a role, apps, installations, sign-in sessions.

No I/O. The rules that create and change them live in `users`, `apps` and `installations`;
the store keeps them (`storage/accounts_sql.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Slack's account types in an Enterprise organization, most powerful first.
ROLES = ("owner", "admin", "member", "guest")
OWNER, ADMIN, MEMBER, GUEST = ROLES


@dataclass(frozen=True)
class User:
    """A person of an organization (`U…`/`W…`) with a role and, to sign in, a password hash.

    `login` is the lower-cased email address: unique across the server. A user synced without a
    password (`password_hash` None) exists in the directory but cannot sign in here.
    """

    id: str
    org_id: str
    name: str
    email: str
    role: str
    created_at: int
    password_hash: str | None = None
    deactivated_at: int | None = None

    @property
    def login(self) -> str:
        """What the sign-in form matches: the email, case-insensitively."""
        return self.email.lower()

    @property
    def is_active(self) -> bool:
        """Not deactivated."""
        return self.deactivated_at is None

    @property
    def is_owner(self) -> bool:
        """An active Owner of the organization: the only one who may install `auditlogs:read`."""
        return self.is_active and self.role == OWNER


@dataclass(frozen=True)
class App:
    """An app (`A…`): credentials, the exact redirect URLs, the scopes it may request.

    Only a SHA-256 hash of the client secret is kept; the secret is shown once when created
    or rotated.
    """

    id: str
    name: str
    client_id: str
    client_secret_hash: bytes
    redirect_urls: tuple[str, ...]
    user_scopes: frozenset[str]
    bot_scopes: frozenset[str]
    is_distributed: bool
    created_at: int


@dataclass(frozen=True)
class Installation:
    """One approval of an app by one user, on the organization or on one of its workspaces.

    Every approval is its own installation, so each token can be traced to the person whose
    standing keeps it alive (`InstallationStanding`).
    """

    id: str
    app_id: str
    org_id: str
    installer_id: str
    user_scopes: frozenset[str]
    bot_scopes: frozenset[str]
    created_at: int
    workspace_id: str | None = None
    revoked_at: int | None = None

    @property
    def is_enterprise_install(self) -> bool:
        """Installed on the whole organization rather than one workspace."""
        return self.workspace_id is None


@dataclass(frozen=True)
class InstallationStanding:
    """What decides whether tokens of an installation still work: one joined row."""

    revoked_at: int | None
    installer_role: str
    installer_deactivated_at: int | None

    @property
    def is_in_force(self) -> bool:
        """Not uninstalled, and the installer is still an active Owner (Slack's rule for
        `auditlogs:read`: "installed by the Owner of an Enterprise organization")."""
        return (
            self.revoked_at is None
            and self.installer_deactivated_at is None
            and self.installer_role == OWNER
        )


@dataclass(frozen=True)
class SignInSession:
    """A signed-in browser: found by the SHA-256 hash of its cookie, never by the cookie itself.

    `number` is the session id written into audit events (`context.session_id`, an integer).
    """

    id_hash: bytes
    user_id: str
    number: int
    created_at: int
    expires_at: int
