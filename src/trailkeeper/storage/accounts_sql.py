"""The accounts' SQL, shared by every backend: users, apps, installations, authorization codes,
sign-in sessions and counted sign-in attempts.

A backend mixes this in and supplies `_query`, `_execute` and `PH` (see `directory_sql`). Each
write is one statement, so single-use rules (redeeming a code) are atomic on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailkeeper.directory.accounts import (
    App,
    Installation,
    InstallationStanding,
    SignInSession,
    User,
)
from trailkeeper.oauth.codes import AuthCode

USER_COLUMNS = "id, org_id, name, email, role, created_at, password_hash, deactivated_at"
APP_COLUMNS = (
    "id, name, client_id, client_secret_hash, redirect_urls, user_scopes, bot_scopes, "
    "is_distributed, created_at"
)
INSTALLATION_COLUMNS = (
    "id, app_id, org_id, installer_id, user_scopes, bot_scopes, created_at, workspace_id, "
    "revoked_at"
)
CODE_COLUMNS = (
    "code_hash, installation_id, app_id, redirect_uri, redirect_uri_given, code_challenge, "
    "created_at, expires_at, redeemed_at, token_id"
)
SESSION_COLUMNS = "id_hash, user_id, number, created_at, expires_at"
KEEP_EXPIRED_S = 86400  # expired codes stay a day, so a late replay still revokes its token


def _scopes(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _joined(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))


def user_from_row(row: Sequence[Any]) -> User:
    """A user from a row of USER_COLUMNS."""
    return User(
        id=row[0],
        org_id=row[1],
        name=row[2],
        email=row[3],
        role=row[4],
        created_at=int(row[5]),
        password_hash=row[6],
        deactivated_at=row[7],
    )


def app_from_row(row: Sequence[Any]) -> App:
    """An app from a row of APP_COLUMNS."""
    return App(
        id=row[0],
        name=row[1],
        client_id=row[2],
        client_secret_hash=bytes(row[3]),
        redirect_urls=tuple(row[4].split("\n")),
        user_scopes=_scopes(row[5]),
        bot_scopes=_scopes(row[6]),
        is_distributed=bool(row[7]),
        created_at=int(row[8]),
    )


def installation_from_row(row: Sequence[Any]) -> Installation:
    """An installation from a row of INSTALLATION_COLUMNS."""
    return Installation(
        id=row[0],
        app_id=row[1],
        org_id=row[2],
        installer_id=row[3],
        user_scopes=_scopes(row[4]),
        bot_scopes=_scopes(row[5]),
        created_at=int(row[6]),
        workspace_id=row[7],
        revoked_at=row[8],
    )


def code_from_row(row: Sequence[Any]) -> AuthCode:
    """An authorization code from a row of CODE_COLUMNS."""
    return AuthCode(
        code_hash=bytes(row[0]),
        installation_id=row[1],
        app_id=row[2],
        redirect_uri=row[3],
        redirect_uri_given=bool(row[4]),
        code_challenge=row[5],
        created_at=int(row[6]),
        expires_at=int(row[7]),
        redeemed_at=row[8],
        token_id=row[9],
    )


class AccountsSQL:
    """`AccountStore` in portable SQL."""

    PH = "?"

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def _execute(self, sql: str, args: Sequence[object] = ()) -> int:
        raise NotImplementedError

    def _slots(self, n: int) -> str:
        return ", ".join([self.PH] * n)

    # --- users --------------------------------------------------------------------------------

    def put_user(self, user: User) -> None:
        """Create or replace a user (its login is the lower-cased email)."""
        u = user
        self._execute(
            f"INSERT INTO users ({USER_COLUMNS}, login) VALUES ({self._slots(9)}) "
            "ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, name = excluded.name, "
            "email = excluded.email, role = excluded.role, password_hash = excluded.password_hash, "
            "deactivated_at = excluded.deactivated_at, login = excluded.login",
            (u.id, u.org_id, u.name, u.email, u.role, u.created_at, u.password_hash,
             u.deactivated_at, u.login),
        )  # fmt: skip

    def get_user(self, user_id: str) -> User | None:
        """A user by id."""
        rows = self._query(f"SELECT {USER_COLUMNS} FROM users WHERE id = {self.PH}", (user_id,))
        return user_from_row(rows[0]) if rows else None

    def find_user_by_login(self, login: str) -> User | None:
        """The user whose lower-cased email is `login`."""
        rows = self._query(
            f"SELECT {USER_COLUMNS} FROM users WHERE login = {self.PH}", (login.lower(),)
        )
        return user_from_row(rows[0]) if rows else None

    def list_users(self, org_id: str) -> list[User]:
        """The users of an organization, by id."""
        rows = self._query(
            f"SELECT {USER_COLUMNS} FROM users WHERE org_id = {self.PH} ORDER BY id", (org_id,)
        )
        return [user_from_row(r) for r in rows]

    # --- apps ---------------------------------------------------------------------------------

    def put_app(self, app: App) -> None:
        """Create or replace an app."""
        a = app
        self._execute(
            f"INSERT INTO apps ({APP_COLUMNS}) VALUES ({self._slots(9)}) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "client_secret_hash = excluded.client_secret_hash, "
            "redirect_urls = excluded.redirect_urls, user_scopes = excluded.user_scopes, "
            "bot_scopes = excluded.bot_scopes, is_distributed = excluded.is_distributed",
            (a.id, a.name, a.client_id, a.client_secret_hash, "\n".join(a.redirect_urls),
             _joined(a.user_scopes), _joined(a.bot_scopes), int(a.is_distributed), a.created_at),
        )  # fmt: skip

    def get_app(self, app_id: str) -> App | None:
        """An app by id."""
        rows = self._query(f"SELECT {APP_COLUMNS} FROM apps WHERE id = {self.PH}", (app_id,))
        return app_from_row(rows[0]) if rows else None

    def find_app_by_client_id(self, client_id: str) -> App | None:
        """The app with this client id."""
        rows = self._query(
            f"SELECT {APP_COLUMNS} FROM apps WHERE client_id = {self.PH}", (client_id,)
        )
        return app_from_row(rows[0]) if rows else None

    def list_apps(self) -> list[App]:
        """Every app, oldest first."""
        rows = self._query(f"SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, id")
        return [app_from_row(r) for r in rows]

    # --- installations ------------------------------------------------------------------------

    def add_installation(self, installation: Installation) -> None:
        """Store a new installation."""
        i = installation
        self._execute(
            f"INSERT INTO installations ({INSTALLATION_COLUMNS}) VALUES ({self._slots(9)})",
            (i.id, i.app_id, i.org_id, i.installer_id, _joined(i.user_scopes),
             _joined(i.bot_scopes), i.created_at, i.workspace_id, i.revoked_at),
        )  # fmt: skip

    def get_installation(self, installation_id: str) -> Installation | None:
        """An installation by id."""
        rows = self._query(
            f"SELECT {INSTALLATION_COLUMNS} FROM installations WHERE id = {self.PH}",
            (installation_id,),
        )
        return installation_from_row(rows[0]) if rows else None

    def list_installations(self, app_id: str, org_id: str | None = None) -> list[Installation]:
        """An app's installations, revoked ones included, optionally on one organization."""
        sql = f"SELECT {INSTALLATION_COLUMNS} FROM installations WHERE app_id = {self.PH}"
        args: tuple[str, ...] = (app_id,)
        if org_id is not None:
            sql, args = sql + f" AND org_id = {self.PH}", (app_id, org_id)
        rows = self._query(sql + " ORDER BY created_at, id", args)
        return [installation_from_row(r) for r in rows]

    def revoke_installation(self, installation_id: str, at: int) -> bool:
        """Uninstall: the installation first (its tokens fail from then on), then its tokens."""
        count = self._execute(
            f"UPDATE installations SET revoked_at = {self.PH} "
            f"WHERE id = {self.PH} AND revoked_at IS NULL",
            (at, installation_id),
        )
        self._execute(
            f"UPDATE tokens SET revoked_at = {self.PH} "
            f"WHERE installation_id = {self.PH} AND revoked_at IS NULL",
            (at, installation_id),
        )
        return count > 0

    def installation_standing(self, installation_id: str) -> InstallationStanding | None:
        """Whether an installation's tokens still work: one indexed join, run per API call."""
        rows = self._query(
            "SELECT i.revoked_at, u.role, u.deactivated_at FROM installations i "
            f"JOIN users u ON u.id = i.installer_id WHERE i.id = {self.PH}",
            (installation_id,),
        )
        return InstallationStanding(*rows[0]) if rows else None

    # --- authorization codes ------------------------------------------------------------------

    def add_auth_code(self, code: AuthCode) -> None:
        """Store a new code (hash only), dropping codes expired for more than a day."""
        c = code
        self._execute(
            f"DELETE FROM auth_codes WHERE expires_at < {self.PH}",
            (c.created_at - KEEP_EXPIRED_S,),
        )
        self._execute(
            f"INSERT INTO auth_codes ({CODE_COLUMNS}) VALUES ({self._slots(10)})",
            (c.code_hash, c.installation_id, c.app_id, c.redirect_uri,
             int(c.redirect_uri_given), c.code_challenge, c.created_at, c.expires_at,
             c.redeemed_at, c.token_id),
        )  # fmt: skip

    def find_auth_code(self, code_hash: bytes) -> AuthCode | None:
        """The code with this hash, redeemed or not."""
        rows = self._query(
            f"SELECT {CODE_COLUMNS} FROM auth_codes WHERE code_hash = {self.PH}", (code_hash,)
        )
        return code_from_row(rows[0]) if rows else None

    def redeem_auth_code(self, code_hash: bytes, at: int, token_id: str) -> bool:
        """Mark a code redeemed by `token_id`; False if it already was (a replay, a lost race)."""
        count = self._execute(
            f"UPDATE auth_codes SET redeemed_at = {self.PH}, token_id = {self.PH} "
            f"WHERE code_hash = {self.PH} AND redeemed_at IS NULL",
            (at, token_id, code_hash),
        )
        return count > 0

    # --- sign-in sessions ---------------------------------------------------------------------

    def add_session(self, session: SignInSession) -> None:
        """Store a new session (the hash of its cookie), dropping expired ones."""
        s = session
        self._execute(f"DELETE FROM web_sessions WHERE expires_at < {self.PH}", (s.created_at,))
        self._execute(
            f"INSERT INTO web_sessions ({SESSION_COLUMNS}) VALUES ({self._slots(5)})",
            (s.id_hash, s.user_id, s.number, s.created_at, s.expires_at),
        )

    def find_session(self, id_hash: bytes) -> SignInSession | None:
        """The session whose cookie hashes to `id_hash`, expired or not."""
        rows = self._query(
            f"SELECT {SESSION_COLUMNS} FROM web_sessions WHERE id_hash = {self.PH}", (id_hash,)
        )
        if not rows:
            return None
        r = rows[0]
        return SignInSession(bytes(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]))

    def delete_session(self, id_hash: bytes) -> None:
        """End one session."""
        self._execute(f"DELETE FROM web_sessions WHERE id_hash = {self.PH}", (id_hash,))

    def delete_user_sessions(self, user_id: str) -> int:
        """End every session of a user (deactivation); how many there were."""
        return self._execute(f"DELETE FROM web_sessions WHERE user_id = {self.PH}", (user_id,))

    # --- sign-in attempts ----------------------------------------------------------------------

    def add_signin_attempt(self, key: str, attempt: str, at: int) -> None:
        """Count one sign-in attempt under `key` (a login or an address); drop day-old ones."""
        self._execute(f"DELETE FROM signin_attempts WHERE at < {self.PH}", (at - KEEP_EXPIRED_S,))
        self._execute(
            f"INSERT INTO signin_attempts (key, attempt, at) VALUES ({self._slots(3)})",
            (key, attempt, at),
        )

    def signin_attempts(self, key: str, since: int) -> list[int]:
        """When `key`'s counted attempts were made, at or after `since`, oldest first."""
        rows = self._query(
            f"SELECT at FROM signin_attempts WHERE key = {self.PH} AND at >= {self.PH} ORDER BY at",
            (key, since),
        )
        return [int(r[0]) for r in rows]

    def forget_signin_attempt(self, attempt: str) -> None:
        """Stop counting one attempt (it succeeded, or it was refused without a guess)."""
        self._execute(f"DELETE FROM signin_attempts WHERE attempt = {self.PH}", (attempt,))

    def clear_signin_attempts(self, key: str) -> None:
        """Forget every attempt under `key` (its owner just signed in)."""
        self._execute(f"DELETE FROM signin_attempts WHERE key = {self.PH}", (key,))
