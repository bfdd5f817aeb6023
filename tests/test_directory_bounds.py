"""Directory edges: bounded tokens, cookies and logins, throttle keys for odd addresses,
installation standing at authorization time, and the sign-in throttle's wait arithmetic."""

from __future__ import annotations

import hashlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ORG, WS_A
from trailkeeper.directory import admin
from trailkeeper.directory.accounts import InstallationStanding
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE, TokenRecord
from trailkeeper.directory.signin import address_key, login_key, session_hash, session_user
from trailkeeper.directory.tokens import MAX_TOKEN_LENGTH, authorize, identify, token_hash
from trailkeeper.errors import InvalidArguments, InvalidAuthentication, MissingScope
from trailkeeper.storage.sqlite import SQLiteStore

NOW = 1_700_000_000


def record(token: str, **overrides: object) -> TokenRecord:
    fields: dict[str, object] = {
        "id": "tok_1",
        "org_id": ORG,
        "token_hash": token_hash(token),
        "scopes": frozenset({READ_SCOPE}),
        "label": "",
        "created_at": NOW,
    }
    return TokenRecord(**(fields | overrides))  # type: ignore[arg-type]


# --- tokens --------------------------------------------------------------------------------------


def test_a_token_of_the_maximum_length_is_looked_up_and_one_longer_is_not() -> None:
    longest = "x" * MAX_TOKEN_LENGTH
    seen: list[bytes] = []

    def lookup(digest: bytes) -> TokenRecord | None:
        seen.append(digest)
        return record(longest) if digest == token_hash(longest) else None

    assert identify(longest, lookup).id == "tok_1"
    with pytest.raises(InvalidAuthentication, match="malformed"):
        identify(longest + "x", lookup)
    assert seen == [token_hash(longest)]  # the overlong one never reached the store


@given(st.text(min_size=1, max_size=64))
def test_any_text_hashes_to_its_utf8_sha256_even_lone_surrogates(token: str) -> None:
    expected = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    assert token_hash(token) == expected
    assert session_hash(token) == expected


def test_a_surrogate_token_is_simply_unknown() -> None:
    with pytest.raises(InvalidAuthentication, match="unknown"):
        identify("xoxp-\ud800", lambda digest: None)


@pytest.mark.parametrize(
    ("standing", "allowed"),
    [
        (InstallationStanding(None, "owner", None), True),
        (InstallationStanding(NOW, "owner", None), False),
        (InstallationStanding(None, "admin", None), False),
        (InstallationStanding(None, "owner", NOW), False),
        (None, False),
    ],
)
def test_an_installation_token_works_only_while_the_installation_is_in_force(
    standing: InstallationStanding | None, allowed: bool
) -> None:
    token = "xoxp-installed"
    found = record(token, installation_id="I0A")

    def lookup(digest: bytes) -> TokenRecord | None:
        return found if digest == found.token_hash else None

    if allowed:
        assert authorize(token, READ_SCOPE, lookup, lambda _: standing).org_id == ORG
    else:
        with pytest.raises(InvalidAuthentication, match="not in force"):
            authorize(token, READ_SCOPE, lookup, lambda _: standing)
    assert authorize(token, READ_SCOPE, lookup).org_id == ORG  # without standing: not consulted


def test_a_missing_write_scope_names_what_the_token_has() -> None:
    token = "xoxp-reader"
    found = record(token, scopes=frozenset({READ_SCOPE}))
    with pytest.raises(MissingScope) as caught:
        authorize(token, WRITE_SCOPE, lambda d: found if d == found.token_hash else None)
    assert (caught.value.needed, caught.value.provided) == (WRITE_SCOPE, READ_SCOPE)


def test_issued_labels_are_cut_and_scopes_checked(directory: SQLiteStore) -> None:
    _, issued = admin.issue_token(directory, ORG, frozenset({READ_SCOPE}), "é" * 500, now=NOW)
    assert issued.label == "é" * 200
    assert issued.created_at == NOW
    with pytest.raises(InvalidArguments):
        admin.issue_token(directory, ORG, frozenset())


# --- sign-in keys and sessions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("", "ip:unknown"),
        ("not-an-ip", "ip:unknown"),
        ("203.0.113.9", "ip:203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "ip:::/64"),
    ],
)
def test_throttle_keys_group_addresses(ip: str, key: str) -> None:
    assert address_key(ip) == key


@given(st.text(string.ascii_letters + string.digits + "@.+_-", max_size=40))
def test_login_keys_ignore_case_and_surrounding_space(login: str) -> None:
    assert login_key(login) == login_key(f"  {login.upper()}\t")
    assert login_key(login).startswith("login:")
    assert len(login_key(login)) == len("login:") + 32


def test_overlong_or_empty_cookies_are_never_looked_up(directory: SQLiteStore) -> None:
    assert session_user(directory, "", NOW) is None
    assert session_user(directory, "c" * 129, NOW) is None
    assert session_user(directory, "c" * 128, NOW) is None  # looked up, unknown


def test_workspaces_must_belong_to_a_known_organization_with_valid_names(
    directory: SQLiteStore,
) -> None:
    with pytest.raises(InvalidArguments):
        admin.create_workspace(directory, "T0NEW", ORG, "   ", "new")
    with pytest.raises(InvalidArguments):
        admin.create_workspace(directory, "T0NEW", ORG, "New", "-new")
    assert directory.get_workspace(WS_A) is not None
