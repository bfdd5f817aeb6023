"""The accounts' storage contract (`AccountStore`), run on SQLite and on PostgreSQL.

Few, broad tests: each PostgreSQL test pays for a fresh schema and its migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trailkeeper.directory.accounts import (
    App,
    Installation,
    InstallationStanding,
    SignInSession,
    User,
)
from trailkeeper.directory.records import Organization, TokenRecord, Workspace
from trailkeeper.errors import StorageError
from trailkeeper.oauth.codes import AuthCode
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

ORG = "E0ACCT"
T0 = 1_700_000_000
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_schema_url"))
    else:
        url = f"sqlite:///{tmp_path / 'accounts.db'}"
    opened = open_store(url)
    opened.migrate()
    opened.put_organization(Organization(ORG, "Acct", "acct"))
    opened.put_workspace(Workspace("T0ACCT", ORG, "WS", "ws"))
    yield opened
    opened.close()


OWNER = User("U0OWN", ORG, "Olive", "Olive@Acct.example", "owner", T0, "$argon2id$x")
APP = App(
    id="A0APP",
    name="SIEM",
    client_id="1234567890.123456789012",
    client_secret_hash=bytes(range(32)),
    redirect_urls=("https://siem.example/cb?tenant=a&x=%20", "http://localhost:3000/cb"),
    user_scopes=frozenset({"auditlogs:read"}),
    bot_scopes=frozenset({"users:read", "team:read"}),
    is_distributed=True,
    created_at=T0,
)


def test_users_round_trip_and_logins_are_unique(store: Store) -> None:
    store.put_user(OWNER)
    assert store.get_user("U0OWN") == OWNER
    assert store.find_user_by_login("olive@acct.example") == OWNER
    assert store.find_user_by_login("OLIVE@ACCT.EXAMPLE") == OWNER
    updated = User("U0OWN", ORG, "Olive O.", "olive@acct.example", "admin", T0, None, T0 + 5)
    store.put_user(updated)
    assert store.get_user("U0OWN") == updated
    store.put_user(User("U0TWO", ORG, "Two", "two@acct.example", "member", T0))
    assert [u.id for u in store.list_users(ORG)] == ["U0OWN", "U0TWO"]
    assert store.list_users("E0NONE") == []
    assert store.get_user("U0NONE") is None
    with pytest.raises(StorageError):
        store.put_user(User("U0DUP", ORG, "Dup", "OLIVE@acct.example", "member", T0))


def test_apps_round_trip_with_their_exact_redirect_urls(store: Store) -> None:
    store.put_app(APP)
    assert store.get_app("A0APP") == APP
    assert store.find_app_by_client_id(APP.client_id) == APP
    assert store.find_app_by_client_id("nope") is None
    private = App(**{**APP.__dict__, "is_distributed": False, "name": "SIEM 2"})
    store.put_app(private)
    assert store.list_apps() == [private]


def test_installations_codes_and_their_standing(store: Store) -> None:
    store.put_user(OWNER)
    store.put_app(APP)
    inst = Installation("I0ONE", "A0APP", ORG, "U0OWN", APP.user_scopes, APP.bot_scopes, T0)
    store.add_installation(inst)
    assert store.get_installation("I0ONE") == inst
    assert store.list_installations("A0APP") == [inst]
    assert store.list_installations("A0APP", "E0OTHER") == []
    assert store.installation_standing("I0ONE") == InstallationStanding(None, "owner", None)
    store.add_token(
        TokenRecord(
            "tok_1", ORG, b"h" * 32, frozenset({"auditlogs:read"}), "", T0, installation_id="I0ONE"
        )
    )
    code = AuthCode(b"c" * 32, "I0ONE", "A0APP", APP.redirect_urls[0], True, None, T0, T0 + 600)
    store.add_auth_code(code)
    assert store.find_auth_code(b"c" * 32) == code
    assert store.redeem_auth_code(b"c" * 32, T0 + 1, "tok_1")
    assert not store.redeem_auth_code(b"c" * 32, T0 + 2, "tok_2")
    redeemed = store.find_auth_code(b"c" * 32)
    assert redeemed is not None
    assert (redeemed.redeemed_at, redeemed.token_id) == (T0 + 1, "tok_1")
    assert store.revoke_installation("I0ONE", T0 + 3)
    assert not store.revoke_installation("I0ONE", T0 + 4)
    assert store.installation_standing("I0ONE") == InstallationStanding(T0 + 3, "owner", None)
    assert store.list_tokens(ORG)[0].revoked_at == T0 + 3


def test_expired_codes_are_dropped_a_day_after_expiry(store: Store) -> None:
    store.put_user(OWNER)
    store.put_app(APP)
    store.add_installation(
        Installation("I0ONE", "A0APP", ORG, "U0OWN", APP.user_scopes, frozenset(), T0)
    )
    store.add_auth_code(AuthCode(b"o" * 32, "I0ONE", "A0APP", "u", False, None, T0, T0 + 1))
    store.add_auth_code(
        AuthCode(b"n" * 32, "I0ONE", "A0APP", "u", False, "ch", T0 + 90_000, T0 + 90_600)
    )
    assert store.find_auth_code(b"o" * 32) is None
    found = store.find_auth_code(b"n" * 32)
    assert found is not None
    assert found.code_challenge == "ch"
    assert not found.redirect_uri_given


def test_sessions_and_sign_in_attempts(store: Store) -> None:
    store.put_user(OWNER)
    session = SignInSession(b"s" * 32, "U0OWN", 2**53 - 1, T0, T0 + 60)
    store.add_session(session)
    assert store.find_session(b"s" * 32) == session
    store.add_session(SignInSession(b"t" * 32, "U0OWN", 7, T0 + 100, T0 + 160))
    assert store.find_session(b"s" * 32) is None  # expired ones are dropped on the next add
    assert store.delete_user_sessions("U0OWN") == 1
    store.add_session(session)
    store.delete_session(b"s" * 32)
    assert store.find_session(b"s" * 32) is None
    for n, key in enumerate(["login:a", "login:a", "ip:1"]):
        store.add_signin_attempt(key, f"att{n}", T0 + n)
    assert store.signin_attempts("login:a", T0) == [T0, T0 + 1]
    assert store.signin_attempts("login:a", T0 + 1) == [T0 + 1]
    store.forget_signin_attempt("att1")
    assert store.signin_attempts("login:a", 0) == [T0]
    store.clear_signin_attempts("login:a")
    assert store.signin_attempts("login:a", 0) == []
    assert store.signin_attempts("ip:1", 0) == [T0 + 2]
    store.add_signin_attempt("ip:2", "att9", T0 + 200_000)
    assert store.signin_attempts("ip:1", 0) == []  # day-old attempts are dropped
