"""Accounts over a real SQLite store: passwords, users and roles, apps, installations and the
tokens they keep alive, sign-in throttling, sessions, and the bulk directory sync.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from argon2 import PasswordHasher

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER
from oauth_world import (
    PASSWORD,
    PASSWORD_HASH,
    REDIRECT,
    World,
    events_of,
    populate,
    recording_change,
)
from trailkeeper.directory import admin, apps, installations, signin, sync, users
from trailkeeper.directory.accounts import InstallationStanding
from trailkeeper.directory.activity import Origin
from trailkeeper.directory.errors import SignInRefused, SignInThrottled, UserNotAuthorized
from trailkeeper.directory.passwords import hash_password, needs_rehash, verify_password
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.directory.tokens import authorize
from trailkeeper.errors import Conflict, InvalidArguments, InvalidAuthentication, NotFound
from trailkeeper.storage.sqlite import SQLiteStore

POLICY = signin.ThrottlePolicy(window_s=900, max_per_login=3, max_per_address=5)


@pytest.fixture
def world(directory: SQLiteStore) -> World:
    return populate(directory)


def change_from(world: World, ip: str = "81.2.69.160", actor: str | None = None):  # type: ignore[no-untyped-def]
    base = recording_change(world.store, world.people[actor] if actor else None)
    return replace(base, origin=Origin(ip, "Mozilla/5.0 (test)"))


def installed(world: World, workspace: str | None = None) -> tuple[str, str]:
    """Install the app as the owner; (installation id, token)."""
    inst = installations.install(
        world.store,
        world.app,
        workspace,
        (frozenset({READ_SCOPE}), frozenset()),
        recording_change(world.store, world.owner),
    )
    token, _ = admin.issue_token(
        world.store,
        ORG,
        frozenset({READ_SCOPE}),
        "t",
        installation_id=inst.id,
        workspace_id=workspace,
    )
    return inst.id, token


def reads(world: World, token: str) -> bool:
    try:
        authorize(token, READ_SCOPE, world.store.find_token, world.store.installation_standing)
    except InvalidAuthentication:
        return False
    return True


# --- passwords ------------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes() -> None:
    hashed = hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "a long enough secret" not in hashed
    assert verify_password(hashed, "a long enough secret")
    assert not verify_password(hashed, "a long enough secreT")
    assert not verify_password(None, "a long enough secret")
    assert not verify_password(hashed, "x" * 5000)


@pytest.mark.parametrize("password", ["", "short", "x" * 1025])
def test_the_password_policy_bounds_length(password: str) -> None:
    with pytest.raises(InvalidArguments):
        hash_password(password)


def test_hashes_made_with_weaker_parameters_are_upgraded_at_sign_in(world: World) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert needs_rehash(weak)
    assert not needs_rehash(PASSWORD_HASH)
    assert needs_rehash("junk")
    world.store.put_user(replace(world.owner, password_hash=weak))
    signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, change_from(world))
    stored = world.store.get_user(world.owner.id)
    assert stored is not None
    assert stored.password_hash is not None
    assert not needs_rehash(stored.password_hash)


# --- users ----------------------------------------------------------------------------------------


def test_creating_a_user_records_user_created_by_trailkeeper(world: World) -> None:
    created = events_of(world.store, "user_created")
    assert [e["entity"]["user"]["id"] for e in created] == [u.id for u in world.people.values()]
    first = created[0]
    assert first["actor"]["user"]["id"] == "USLACKUSER"
    assert first["entity"]["user"]["email"] == world.owner.email
    assert first["context"]["ua"] == "trailkeeper-cli"
    assert first["context"]["location"]["type"] == "enterprise"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "u0lower"),
        ("id", "X0ABC"),
        ("id", "U"),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "a b@c.example"),
        ("email", "x" * 250 + "@c.example"),
        ("name", "  "),
        ("name", "n" * 201),
        ("role", "superuser"),
    ],
)
def test_malformed_users_are_refused(world: World, field: str, value: str) -> None:
    spec = replace(
        users.UserSpec("U0NEW", ORG, "New", "new@acme.example", "member"), **{field: value}
    )
    with pytest.raises(InvalidArguments):
        users.create_user(world.store, spec, recording_change(world.store))


def test_ids_and_logins_are_unique(world: World) -> None:
    change = recording_change(world.store)
    with pytest.raises(Conflict):
        users.create_user(
            world.store, users.UserSpec("U0OWNER", ORG, "X", "x@acme.example", "member"), change
        )
    with pytest.raises(Conflict):  # the login is the email, case-insensitively
        users.create_user(
            world.store, users.UserSpec("U0NEW", ORG, "X", "OLIVE@ACME.EXAMPLE", "member"), change
        )
    with pytest.raises(Conflict):  # a user cannot move to another organization
        users.create_user(
            world.store, users.UserSpec("U0OWNER", OTHER_ORG, "X", "x@o.example", "member"), change
        )
    with pytest.raises(NotFound):
        users.create_user(
            world.store, users.UserSpec("U0NEW", "E0NOPE", "X", "x@o.example", "member"), change
        )


@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("owner", "role_change_to_owner"),
        ("admin", "role_change_to_admin"),
        ("member", "role_change_to_user"),
        ("guest", "role_change_to_guest"),
    ],
)
def test_role_changes_record_slacks_action(world: World, role: str, action: str) -> None:
    subject = world.people["owner" if role != "owner" else "member"]
    users.set_role(world.store, ORG, subject.id, role, recording_change(world.store))
    [event] = events_of(world.store, action)
    assert event["entity"]["user"]["id"] == subject.id
    assert event["details"] == {"previous_role": subject.role, "new_role": role}


def test_setting_the_same_role_records_nothing(world: World) -> None:
    users.set_role(world.store, ORG, world.owner.id, "owner", recording_change(world.store))
    assert events_of(world.store, "role_change_to_owner") == []
    with pytest.raises(InvalidArguments):
        users.set_role(world.store, ORG, world.owner.id, "root", recording_change(world.store))
    with pytest.raises(NotFound):
        users.set_role(
            world.store, OTHER_ORG, world.owner.id, "admin", recording_change(world.store)
        )


def test_deactivation_ends_sessions_and_is_recorded_once(world: World) -> None:
    cookie, _ = signin.start_session(world.store, world.owner, 3600, int(time.time()))
    users.deactivate_user(world.store, ORG, world.owner.id, recording_change(world.store))
    users.deactivate_user(world.store, ORG, world.owner.id, recording_change(world.store))
    assert signin.session_user(world.store, cookie, int(time.time())) is None
    assert len(events_of(world.store, "user_deactivated")) == 1


def test_setting_a_password_ends_sessions(world: World) -> None:
    cookie, _ = signin.start_session(world.store, world.owner, 3600, int(time.time()))
    users.set_password(world.store, ORG, world.owner.id, "another good password")
    assert signin.session_user(world.store, cookie, int(time.time())) is None
    assert signin.sign_in(
        world.store, world.owner.email, "another good password", POLICY, change_from(world)
    )


# --- apps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://siem.example/oauth/callback",
        "https://siem.example:8443/cb?tenant=acme",
        "http://localhost:3000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
    ],
)
def test_redirect_urls_must_be_https_or_loopback(world: World, url: str) -> None:
    assert apps.check_redirect_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://siem.example/cb",
        "https://siem.example/cb#fragment",
        "https://user:pw@siem.example/cb",
        "https:///no-host",
        "javascript:alert(1)",
        "//siem.example/cb",
        "https://siem.example/c b",
        "https://siem.example/\ncb",
        "",
        "https://siem.example/" + "x" * 2000,
        "https://[::1/cb",
    ],
)
def test_unsafe_redirect_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArguments):
        apps.check_redirect_url(url)


@pytest.mark.parametrize(
    ("user_scopes", "bot_scopes"),
    [
        ([], []),
        (["channels:history"], []),
        (["auditlogs:read"], ["Users:Read"]),
        (["auditlogs:read"], ["x y"]),
    ],
)
def test_apps_ask_for_auditlogs_read_and_well_formed_bot_scopes(
    world: World, user_scopes: list[str], bot_scopes: list[str]
) -> None:
    with pytest.raises(InvalidArguments):
        apps.create_app(world.store, "X", [REDIRECT], (user_scopes, bot_scopes), now=1)


def test_client_secrets_are_hashed_and_rotation_retires_the_old_one(world: World) -> None:
    stored = world.store.get_app(world.app.id)
    assert stored == world.app
    assert world.client_secret.encode() not in stored.client_secret_hash  # type: ignore[union-attr]
    assert apps.is_client_secret(world.app, world.client_secret)
    rotated, secret = apps.rotate_secret(world.store, world.app.id)
    assert rotated.client_id == world.app.client_id
    assert apps.is_client_secret(rotated, secret)
    assert not apps.is_client_secret(rotated, world.client_secret)
    with pytest.raises(NotFound):
        apps.rotate_secret(world.store, "A0NOPE")


def test_app_ids_and_client_ids_look_like_slacks(world: World) -> None:
    assert world.app.id.startswith("A0")
    assert len(world.app.id) == 11
    left, right = world.app.client_id.split(".")
    assert left.isdigit()
    assert right.isdigit()
    assert len(world.client_secret) == 32


# --- installations and the tokens they keep alive -------------------------------------------------


def test_only_an_owner_installs_auditlogs_read_and_admins_other_apps(world: World) -> None:
    for role in ("admin", "member", "guest"):
        with pytest.raises(UserNotAuthorized):
            installations.check_may_install(world.people[role], {READ_SCOPE})
    installations.check_may_install(world.people["admin"], set())
    with pytest.raises(UserNotAuthorized):
        installations.check_may_install(world.people["member"], set())


def test_an_install_is_recorded_with_the_app_and_its_scopes(world: World) -> None:
    installed(world)
    installed(world, WS_A)
    [org_event] = events_of(world.store, "org_app_installed")
    [ws_event] = events_of(world.store, "app_installed")
    assert org_event["entity"]["app"]["id"] == world.app.id
    assert org_event["entity"]["app"]["scopes"] == [READ_SCOPE]
    assert org_event["actor"]["user"]["id"] == world.owner.id
    assert ws_event["context"]["location"]["id"] == WS_A


def test_an_installation_standing_follows_its_installer(world: World) -> None:
    inst_id, token = installed(world)
    standing = world.store.installation_standing(inst_id)
    assert standing == InstallationStanding(None, "owner", None)
    assert standing.is_in_force
    assert reads(world, token)
    users.set_role(world.store, ORG, world.owner.id, "admin", recording_change(world.store))
    assert not reads(world, token)
    users.set_role(world.store, ORG, world.owner.id, "owner", recording_change(world.store))
    assert reads(world, token)  # the standing is read on every call
    users.deactivate_user(world.store, ORG, world.owner.id, recording_change(world.store))
    assert not reads(world, token)
    assert world.store.installation_standing("I0NOPE") is None


def test_uninstalling_revokes_every_token_and_is_recorded(world: World) -> None:
    _, org_token = installed(world)
    _, ws_token = installed(world, WS_A)
    removed = installations.uninstall_app(
        world.store, world.app, ORG, recording_change(world.store)
    )
    assert len(removed) == 2
    assert not reads(world, org_token)
    assert all(not t.is_active for t in world.store.list_tokens(ORG) if t.installation_id)
    assert len(events_of(world.store, "org_app_uninstalled")) == 1
    assert len(events_of(world.store, "app_uninstalled")) == 1
    again = installations.uninstall_app(world.store, world.app, ORG, recording_change(world.store))
    assert again == []
    with pytest.raises(NotFound):
        installations.uninstall_app(world.store, world.app, "E0NOPE", recording_change(world.store))
    del ws_token


def test_tokens_without_an_installation_are_untouched_by_standing(world: World) -> None:
    token, _ = admin.issue_token(world.store, ORG, frozenset({READ_SCOPE}), "cli")
    assert reads(world, token)


def test_an_unknown_installation_fails_closed(world: World) -> None:
    token, _ = admin.issue_token(
        world.store, ORG, frozenset({READ_SCOPE}), "x", installation_id="I0GONE"
    )
    assert not reads(world, token)


def test_installing_on_a_foreign_workspace_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        installed(world, WS_OTHER)


# --- signing in -----------------------------------------------------------------------------------


def test_signing_in_with_the_right_password(world: World) -> None:
    user = signin.sign_in(world.store, " Olive@ACME.example ", PASSWORD, POLICY, change_from(world))
    assert user.id == world.owner.id


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("olive@acme.example", "wrong password"),
        ("nobody@acme.example", PASSWORD),
        ("", PASSWORD),
        ("olive@acme.example", ""),
        ("x" * 300, PASSWORD),
    ],
)
def test_every_failed_sign_in_is_the_same_error(world: World, login: str, password: str) -> None:
    with pytest.raises(SignInRefused) as caught:
        signin.sign_in(world.store, login, password, POLICY, change_from(world))
    assert str(caught.value) == "wrong login or password"


def test_failed_sign_ins_of_a_known_account_are_recorded(world: World) -> None:
    for login in ("olive@acme.example", "nobody@acme.example"):
        with pytest.raises(SignInRefused):
            signin.sign_in(world.store, login, "wrong password", POLICY, change_from(world))
    [event] = events_of(world.store, "user_login_failed")
    assert event["actor"]["user"]["id"] == world.owner.id
    assert event["context"]["ip_address"] == "81.2.69.160"
    assert event["context"]["ua"] == "Mozilla/5.0 (test)"


def test_deactivated_and_passwordless_accounts_cannot_sign_in(world: World) -> None:
    world.store.put_user(replace(world.people["member"], password_hash=None))
    users.deactivate_user(world.store, ORG, world.people["admin"].id, recording_change(world.store))
    for who in ("member", "admin"):
        with pytest.raises(SignInRefused):
            signin.sign_in(
                world.store, world.people[who].email, PASSWORD, POLICY, change_from(world)
            )


def test_a_login_is_throttled_after_its_failures_even_with_the_right_password(world: World) -> None:
    for _ in range(POLICY.max_per_login):
        with pytest.raises(SignInRefused):
            signin.sign_in(world.store, world.owner.email, "guess", POLICY, change_from(world))
    with pytest.raises(SignInThrottled) as caught:
        signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, change_from(world))
    assert 1 <= caught.value.retry_after_s <= POLICY.window_s
    other_address = change_from(world, ip="192.0.2.7")
    with pytest.raises(SignInThrottled):  # per login, wherever the guesses come from
        signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, other_address)
    later = replace(change_from(world), now=int(time.time()) + POLICY.window_s + 1)
    assert signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, later)


def test_an_address_is_throttled_across_logins(world: World) -> None:
    for n in range(POLICY.max_per_address):
        with pytest.raises(SignInRefused):
            signin.sign_in(world.store, f"guess{n}@acme.example", "x", POLICY, change_from(world))
    with pytest.raises(SignInThrottled):
        signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, change_from(world))
    assert signin.sign_in(
        world.store, world.owner.email, PASSWORD, POLICY, change_from(world, "192.0.2.1")
    )


def test_successful_sign_ins_do_not_count_and_reset_the_login(world: World) -> None:
    for _ in range(POLICY.max_per_login - 1):
        with pytest.raises(SignInRefused):
            signin.sign_in(world.store, world.owner.email, "guess", POLICY, change_from(world))
    for _ in range(POLICY.max_per_address + 2):
        signin.sign_in(world.store, world.owner.email, PASSWORD, POLICY, change_from(world))
    key = signin.login_key(world.owner.email)
    assert world.store.signin_attempts(key, 0) == []


def test_ipv6_addresses_are_throttled_by_their_slash_64() -> None:
    assert signin.address_key("2001:db8:1:2::5") == signin.address_key("2001:db8:1:2:ffff::1")
    assert signin.address_key("2001:db8:1:3::5") != signin.address_key("2001:db8:1:2::5")
    assert signin.address_key("203.0.113.9") == "ip:203.0.113.9"
    assert signin.address_key("garbage") == "ip:unknown"
    assert signin.login_key("A@B.example ") == signin.login_key("a@b.example")


def test_sessions_expire_and_end(world: World) -> None:
    now = int(time.time())
    cookie, session = signin.start_session(world.store, world.owner, 60, now)
    assert session.id_hash != cookie.encode()
    assert len(cookie) >= 43
    assert signin.session_user(world.store, cookie, now) == (session, world.owner)
    assert signin.session_user(world.store, cookie, now + 60) is None
    assert signin.session_user(world.store, "", now) is None
    assert signin.session_user(world.store, "x" * 200, now) is None
    signin.end_session(world.store, cookie)
    assert signin.session_user(world.store, cookie, now) is None


# --- the bulk directory sync ----------------------------------------------------------------------

BATCH = {
    "workspaces": [{"id": "T0SYNC", "name": "Synced", "domain": "synced"}],
    "users": [
        {"id": "U0S1", "name": "Sam One", "email": "sam1@acme.example", "role": "member"},
        {"id": "U0S2", "name": "Sue Two", "email": "sue2@acme.example", "role": "admin"},
    ],
}


def test_sync_is_idempotent_and_records_only_changes(world: World) -> None:
    batch = sync.parse_batch(ORG, BATCH)
    first = sync.sync_directory(world.store, batch, change_from(world))
    assert first == {
        "workspaces": {"created": 1, "updated": 0, "unchanged": 0},
        "users": {"created": 2, "updated": 0, "unchanged": 0},
    }
    second = sync.sync_directory(world.store, batch, change_from(world))
    assert second["users"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert second["workspaces"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert len(events_of(world.store, "user_created")) == 4 + 2


def test_sync_records_role_changes_deactivations_and_reactivations(world: World) -> None:
    sync.sync_directory(world.store, sync.parse_batch(ORG, BATCH), change_from(world))
    changed = {
        "users": [
            {"id": "U0S1", "name": "Sam One", "email": "sam1@acme.example", "role": "owner"},
            {
                "id": "U0S2",
                "name": "Sue",
                "email": "sue2@acme.example",
                "role": "admin",
                "active": False,
            },
        ]
    }
    counts = sync.sync_directory(world.store, sync.parse_batch(ORG, changed), change_from(world))
    assert counts["users"] == {"created": 0, "updated": 2, "unchanged": 0}
    assert [e["entity"]["user"]["id"] for e in events_of(world.store, "role_change_to_owner")] == [
        "U0S1"
    ]
    assert [e["entity"]["user"]["id"] for e in events_of(world.store, "user_deactivated")] == [
        "U0S2"
    ]
    sync.sync_directory(world.store, sync.parse_batch(ORG, BATCH), change_from(world))
    assert len(events_of(world.store, "user_reactivated")) == 1
    assert len(events_of(world.store, "role_change_to_user")) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "send"),
        ({"people": []}, "send"),
        ({"users": {}}, "users must be a list"),
        ({"users": ["x"]}, "users must be a list of objects"),
        (
            {
                "users": [
                    {
                        "id": "U0X",
                        "name": "X",
                        "email": "x@a.example",
                        "role": "member",
                        "password": "p",
                    }
                ]
            },
            "users[0] has unknown fields",
        ),
        (
            {"users": [{"id": "U0X", "name": "X", "email": "bad", "role": "member"}]},
            "users[0]: email",
        ),
        (
            {"users": [{"id": "U0X", "name": 5, "email": "x@a.example", "role": "member"}]},
            "users[0].name",
        ),
        (
            {
                "users": [
                    {
                        "id": "U0X",
                        "name": "X",
                        "email": "x@a.example",
                        "role": "member",
                        "active": "yes",
                    }
                ]
            },
            "users[0].active",
        ),
        ({"users": [BATCH["users"][0], BATCH["users"][0]]}, "user id 'U0S1' appears twice"),
        (
            {"users": [BATCH["users"][0], {**BATCH["users"][1], "email": "SAM1@acme.example"}]},
            "email",
        ),
        ({"workspaces": [{"id": "X0", "name": "n", "domain": "d"}]}, "workspaces[0]"),
        ({"workspaces": [{"id": "T0X", "name": "", "domain": "d"}]}, "workspaces[0].name"),
        (
            {"workspaces": [{"id": "T0X", "name": "n", "domain": "d", "org": "E0"}]},
            "unknown fields",
        ),
        ({"users": [{}] * (sync.MAX_USERS + 1)}, "at most"),
    ],
)
def test_a_malformed_batch_says_which_item_and_changes_nothing(
    world: World, payload: object, message: str
) -> None:
    with pytest.raises(InvalidArguments, match=message.replace("[", r"\[").replace("]", r"\]")):
        sync.parse_batch(ORG, payload)


def test_sync_cannot_take_over_another_organizations_objects(world: World) -> None:
    foreign_ws = {"workspaces": [{"id": WS_OTHER, "name": "Mine now", "domain": "mine"}]}
    with pytest.raises(Conflict):
        sync.sync_directory(world.store, sync.parse_batch(ORG, foreign_ws), change_from(world))
    foreign_user = {
        "users": [{"id": "U0OWNER", "name": "O", "email": "o@x.example", "role": "owner"}]
    }
    with pytest.raises(Conflict):
        sync.sync_directory(
            world.store, sync.parse_batch(OTHER_ORG, foreign_user), change_from(world)
        )
    with pytest.raises(NotFound):
        sync.sync_directory(world.store, sync.parse_batch("E0NOPE", BATCH), change_from(world))
