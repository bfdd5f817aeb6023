"""OAuth edges as pure functions: PKCE over any valid verifier, a code's expiry to the second
and its redirect binding, redirects that keep the app's query, and bounded consent targets."""

from __future__ import annotations

import string
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.errors import InvalidArguments
from trailkeeper.oauth.codes import AuthCode, check_binding, code_hash, mint_code, new_code
from trailkeeper.oauth.consent import _workspace_of, redirect_with
from trailkeeper.oauth.errors import InvalidGrant
from trailkeeper.oauth.pkce import CHALLENGE, check_verifier, s256_challenge

NOW = 1_700_000_000
URL = "https://app.example/callback?team=1"
verifiers = st.text(string.ascii_letters + string.digits + "-._~", min_size=43, max_size=128)


def code(challenge: str | None = None, *, given_uri: bool = True) -> AuthCode:
    _, record = new_code("I0A", "A0APP", (URL, given_uri), challenge, now=NOW, ttl_s=600)
    return record


@given(verifiers)
def test_every_valid_verifier_matches_its_own_challenge_only(verifier: str) -> None:
    challenge = s256_challenge(verifier)
    assert CHALLENGE.fullmatch(challenge)
    check_verifier(challenge, verifier)
    other = verifier[:-1] + ("a" if verifier[-1] != "a" else "b")
    with pytest.raises(InvalidGrant):
        check_verifier(challenge, other)


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 42 + "!", ""])
def test_verifiers_outside_rfc_7636_are_refused(verifier: str) -> None:
    with pytest.raises(InvalidGrant, match="missing or malformed"):
        check_verifier(s256_challenge("a" * 43), verifier)


def test_a_code_expires_at_its_last_second() -> None:
    record = code()
    assert record.expires_at == NOW + 600
    check_binding(record, "A0APP", URL, "", now=NOW + 599)
    with pytest.raises(InvalidGrant, match="expired"):
        check_binding(record, "A0APP", URL, "", now=NOW + 600)


def test_a_redirect_given_at_authorize_must_be_sent_again_identically() -> None:
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        check_binding(code(), "A0APP", "", "", now=NOW)
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        check_binding(code(), "A0APP", URL + "&x=1", "", now=NOW)
    check_binding(code(given_uri=False), "A0APP", "", "", now=NOW)


def test_a_redirect_sent_anyway_must_still_match() -> None:
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        check_binding(code(given_uri=False), "A0APP", "https://evil.example/", "", now=NOW)


def test_codes_are_fresh_and_stored_only_as_their_hash() -> None:
    codes = {mint_code() for _ in range(50)}
    assert len(codes) == 50
    plain, record = new_code("I0A", "A0APP", (URL, True), None, now=NOW, ttl_s=60)
    assert record.code_hash == code_hash(plain)
    assert plain.encode() not in repr(record).encode()
    assert len(plain) == 43  # 256 bits, URL-safe base64 without padding


@given(st.dictionaries(st.sampled_from(["code", "state", "error"]), st.text(max_size=30)))
def test_redirects_keep_the_apps_own_query_first(params: dict[str, str]) -> None:
    target = redirect_with(URL, params)
    parts = urlsplit(target)
    assert target.startswith("https://app.example/callback?team=1")
    assert parse_qsl(parts.query, keep_blank_values=True) == [("team", "1"), *params.items()]


def test_a_redirect_without_a_query_gets_one() -> None:
    assert redirect_with("https://a.example/cb", {"code": "x y"}) == "https://a.example/cb?code=x+y"
    assert redirect_with("https://a.example/cb", {}) == "https://a.example/cb"


@pytest.mark.parametrize("target", ["", "E0ORG", "workspace", "T" + "1" * 32])
def test_consent_targets_are_the_organization_or_a_bounded_workspace_id(target: str) -> None:
    with pytest.raises(InvalidArguments):
        _workspace_of(target)


def test_the_organization_target_installs_org_wide() -> None:
    assert _workspace_of("organization") is None
    assert _workspace_of("T0ALPHA") == "T0ALPHA"
