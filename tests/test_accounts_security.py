"""The security mechanics on their own: pinned vectors for every hash and MAC (with must-fail
mutations), parallel password guessing against the throttle, the events every account change
emits (each valid against the catalog), bounded form parsing, and the new settings.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from conftest import ORG, WS_A
from oauth_world import CATALOG, PASSWORD, World, populate, recording_change
from trailkeeper.config import load_settings
from trailkeeper.directory import activity, apps, signin
from trailkeeper.directory.accounts import Installation
from trailkeeper.directory.activity import Origin
from trailkeeper.directory.errors import SignInRefused, SignInThrottled
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.errors import ConfigError, InvalidArguments
from trailkeeper.oauth.codes import code_hash
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import prepare_event
from trailkeeper.web.csrf import csrf_token, is_valid_post
from trailkeeper.web.forms import single_values
from trailkeeper.web.pages import origin_of, security_headers

KEY = bytes(range(32))
COOKIE = "fGw7pTYo5pQ4xXq8CqJrYc4m4m1y0o5h0sYJxqz8w3A"
# HMAC-SHA256(KEY, b"csrf:" + COOKIE), base64url without padding: pinned so a change of the
# construction (prefix, encoding, algorithm) cannot pass unnoticed.
CSRF_VECTOR = "bMyrA4i7ph3rtnsDUfQTKisZGw-3NRKZnkiWsW5ZCCQ"


# --- pinned vectors -------------------------------------------------------------------------------


def test_the_csrf_token_matches_its_pinned_vector() -> None:
    assert csrf_token(KEY, COOKIE) == CSRF_VECTOR
    assert is_valid_post(KEY, COOKIE, {"csrf_token": CSRF_VECTOR}, {})


@pytest.mark.parametrize(
    ("key", "cookie", "presented", "headers"),
    [
        (KEY, COOKIE, CSRF_VECTOR[:-1] + "t", {}),  # one character of the token
        (KEY, COOKIE[:-1] + "B", CSRF_VECTOR, {}),  # one character of the cookie
        (bytes(31) + b"\x01", COOKIE, CSRF_VECTOR, {}),  # another key
        (KEY, COOKIE, "", {}),
        (KEY, "", CSRF_VECTOR, {}),
        (KEY, COOKIE, CSRF_VECTOR + "=" * 40, {}),
        (KEY, COOKIE, CSRF_VECTOR, {"sec-fetch-site": "cross-site"}),
    ],
)
def test_a_mutated_csrf_token_or_a_cross_site_post_fails(
    key: bytes, cookie: str, presented: str, headers: dict[str, str]
) -> None:
    assert not is_valid_post(key, cookie, {"csrf_token": presented}, headers)


def test_same_site_and_typed_navigation_posts_pass() -> None:
    for site in ("same-origin", "same-site", "none"):
        assert is_valid_post(KEY, COOKIE, {"csrf_token": CSRF_VECTOR}, {"sec-fetch-site": site})


@pytest.mark.parametrize(
    ("hash_of", "value"),
    [
        (code_hash, "abc"),
        (apps.secret_hash, "abc"),
        (signin.session_hash, "abc"),
    ],
)
def test_codes_secrets_and_session_cookies_are_sha256_of_their_utf8(
    hash_of: Any, value: str
) -> None:
    digest = hash_of(value)
    assert digest.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_of(value + " ") != digest
    assert digest == hashlib.sha256(value.encode()).digest()


# --- the throttle under parallel guessing ---------------------------------------------------------


def test_parallel_guesses_cannot_slip_past_the_limit(directory: SQLiteStore) -> None:
    world = populate(directory)
    policy = signin.ThrottlePolicy(window_s=900, max_per_login=3, max_per_address=1000)
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def guess() -> None:
        change = replace(recording_change(world.store), origin=Origin("198.51.100.7", "bot"))
        barrier.wait()
        try:
            signin.sign_in(world.store, world.owner.email, "guess", policy, change)
        except SignInThrottled:
            outcomes.append("throttled")
        except SignInRefused:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("checked") <= policy.max_per_login
    assert outcomes.count("throttled") >= 12 - policy.max_per_login


# --- the events of account changes ----------------------------------------------------------------


def _events(world: World) -> list[dict[str, Any]]:
    owner, app = world.owner, world.app
    origin = Origin("2001:db8::1", "Mozilla/5.0", 12345)
    org_install = Installation("I0ORG", app.id, ORG, owner.id, app.user_scopes, app.bot_scopes, 1)
    ws_install = replace(org_install, id="I0WS", workspace_id=WS_A)
    events = [
        activity.user_event(action, owner, owner, origin)
        for action in ("user_login", "user_login_failed", "user_logout")
    ]
    events += [
        activity.user_event(action, owner, None, activity.CLI_ORIGIN)
        for action in ("user_created", "user_deactivated", "user_reactivated")
    ]
    events += [
        activity.role_change_event(replace(owner, role=role), "owner", None, origin)
        for role in ("owner", "admin", "member", "guest")
    ]
    for installation in (org_install, ws_install):
        events.append(activity.install_event(app, installation, owner, origin))
        events.append(activity.uninstall_event(app, installation, None, origin))
    return events


def test_every_account_event_is_valid_and_marked_as_emitted_in_the_catalog(
    directory: SQLiteStore,
) -> None:
    world = populate(directory)
    resolve = LocationIndex(world.store)
    actions = set()
    for event in _events(world):
        prepared = prepare_event(
            event, CATALOG, resolve, now=int(time.time()), max_event_bytes=65536
        )
        assert prepared.org_id == ORG
        assert CATALOG.action(prepared.action).emits, prepared.action
        actions.add(prepared.action)
    assert len(actions) == 14
    assert set(activity.ROLE_CHANGE_ACTIONS.values()) <= actions


def test_install_events_carry_the_location_of_the_install(directory: SQLiteStore) -> None:
    world = populate(directory)
    org_event, _, ws_event, _ = _events(world)[-4:]
    assert org_event["context"]["location"] == {"type": "enterprise", "id": ORG}
    assert ws_event["context"]["location"] == {"type": "workspace", "id": WS_A}
    assert ws_event["details"]["scopes"] == ["auditlogs:read"]
    assert ws_event["context"]["session_id"] == 12345


# --- bounded parsing and the page headers ---------------------------------------------------------


def test_repeated_fields_are_refused() -> None:
    assert single_values([("a", "1"), ("b", "")]) == {"a": "1", "b": ""}
    with pytest.raises(InvalidArguments):
        single_values([("a", "1"), ("a", "1")])


def test_the_form_action_of_the_consent_page_names_only_the_redirect_origin() -> None:
    headers = security_headers("https://siem.example:8443/cb?x=1", secure=True)
    assert "form-action 'self' https://siem.example:8443;" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in security_headers()
    assert origin_of("http://localhost:8765/callback") == "http://localhost:8765"


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRAILKEEPER_COOKIE_SECURE", "sometimes"),
        ("TRAILKEEPER_SESSION_TTL_S", "0"),
        ("TRAILKEEPER_AUTH_CODE_TTL_S", "3601"),
        ("TRAILKEEPER_AUTH_CODE_TTL_S", "0"),
        ("TRAILKEEPER_SIGNIN_WINDOW_S", "86401"),
        ("TRAILKEEPER_SIGNIN_MAX_FAILURES", "0"),
        ("TRAILKEEPER_SIGNIN_MAX_FAILURES_PER_IP", "-1"),
    ],
)
def test_account_settings_are_validated(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_account_settings_have_safe_defaults() -> None:
    settings = load_settings({})
    assert settings.cookie_secure == "auto"
    assert settings.auth_code_ttl_s == 600  # Slack's codes expire after ten minutes
    assert (settings.signin_max_failures, settings.signin_window_s) == (5, 900)
    secure = load_settings({"TRAILKEEPER_PUBLIC_URL": "https://audit.example"})
    assert secure.base_url.startswith("https:")
    assert PASSWORD not in repr(settings)
