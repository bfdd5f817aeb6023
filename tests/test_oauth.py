"""The OAuth core over a real SQLite store: PKCE, authorization requests, consent, codes and the
token exchange (single use, bound to client, redirect URL and verifier; replays revoke).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import OTHER_ORG, WS_A, WS_OTHER
from oauth_world import (
    OTHER_REDIRECT,
    REDIRECT,
    World,
    install_params,
    pkce_pair,
    populate,
    recording_change,
)
from trailkeeper.directory import apps, users
from trailkeeper.directory.errors import UserNotAuthorized
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.directory.tokens import authorize
from trailkeeper.errors import InvalidArguments, InvalidAuthentication, NotFound, TeamNotAuthorized
from trailkeeper.oauth.codes import code_hash
from trailkeeper.oauth.consent import approve, cancel_redirect, redirect_with
from trailkeeper.oauth.errors import (
    AppNotDistributed,
    BadClientSecret,
    InvalidGrant,
    MalformedAuthorizeRequest,
    RedirectMismatch,
    ScopeNotAllowed,
    UnknownClient,
    UnsupportedGrantType,
)
from trailkeeper.oauth.exchange import Exchange, TokenRequest, exchange_code
from trailkeeper.oauth.pkce import check_verifier, checked_challenge, s256_challenge
from trailkeeper.oauth.requests import AuthorizeRequest, authorize_url, parse_authorize_request
from trailkeeper.storage.sqlite import SQLiteStore

# RFC 7636 Appendix B: the one published S256 test vector.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
TTL_S = 600


@pytest.fixture
def world(directory: SQLiteStore) -> World:
    return populate(directory)


def consented(world: World, role: str = "owner", target: str = "organization", **extra: str) -> str:
    """Approve an install as `role`; the code the app received."""
    request = parse_authorize_request(world.store, install_params(world.app, **extra))
    change = recording_change(world.store, world.people[role])
    approval = approve(world.store, request, target, change, TTL_S)
    return approval.redirect_to.split("code=")[1].split("&")[0]


def redeem(world: World, issued: str, **overrides: str) -> Exchange:
    fields = {
        "client_id": world.app.client_id,
        "client_secret": world.client_secret,
        "code": issued,
        "redirect_uri": REDIRECT,
    } | overrides
    return exchange_code(world.store, TokenRequest(**fields), now=int(time.time()))


# --- PKCE (RFC 7636) ----------------------------------------------------------------------------


def test_s256_matches_the_rfc_7636_appendix_b_vector() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    check_verifier(RFC_CHALLENGE, RFC_VERIFIER)


@pytest.mark.parametrize(
    "verifier",
    [
        RFC_VERIFIER[:-1] + "l",  # one character changed
        RFC_VERIFIER[:-1],  # one character short (42: below the minimum)
        RFC_VERIFIER + "x",  # one character more
        RFC_CHALLENGE,  # the challenge itself
        "",
        "a" * 129,  # over the maximum
        RFC_VERIFIER.replace("-", "+"),  # outside the unreserved alphabet
    ],
)
def test_a_mutated_verifier_is_refused(verifier: str) -> None:
    with pytest.raises(InvalidGrant):
        check_verifier(RFC_CHALLENGE, verifier)


def test_a_verifier_for_a_code_without_challenge_is_refused() -> None:
    check_verifier(None, "")
    with pytest.raises(InvalidGrant):
        check_verifier(None, RFC_VERIFIER)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (RFC_CHALLENGE, "plain"),
        (RFC_CHALLENGE, ""),  # RFC 7636 §4.3 would default to plain
        (RFC_CHALLENGE, "s256"),
        (RFC_CHALLENGE[:-1], "S256"),
        (RFC_CHALLENGE + "A", "S256"),
        (RFC_CHALLENGE[:-1] + "=", "S256"),
        ("", "S256"),
    ],
)
def test_only_well_formed_s256_challenges_are_accepted(challenge: str, method: str) -> None:
    with pytest.raises(MalformedAuthorizeRequest):
        checked_challenge(challenge, method)
    assert checked_challenge(RFC_CHALLENGE, "S256") == RFC_CHALLENGE
    assert checked_challenge("", "") is None


# --- the authorization request ------------------------------------------------------------------


def test_an_install_url_is_parsed_with_its_scopes_and_state(world: World) -> None:
    _, challenge = pkce_pair()
    params = install_params(
        world.app, code_challenge=challenge, code_challenge_method="S256", state="a b&c=d/é"
    )
    request = parse_authorize_request(world.store, params)
    assert request.app == world.app
    assert (request.redirect_uri, request.redirect_uri_given) == (REDIRECT, True)
    assert request.user_scopes == {READ_SCOPE}
    assert request.bot_scopes == {"users:read"}
    assert request.state == "a b&c=d/é"
    assert request.code_challenge == challenge
    assert dict(request.parameters) == params


def test_the_shareable_install_url_parses_back_to_the_app(world: World) -> None:
    url = authorize_url("http://tk.example/", world.app, state="s1")
    assert url.startswith("http://tk.example/oauth/v2/authorize?client_id=")
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    assert query["user_scope"] == "auditlogs%3Aread"
    assert query["state"] == "s1"


def test_an_unknown_client_is_refused_before_anything_else(world: World) -> None:
    with pytest.raises(UnknownClient):
        parse_authorize_request(world.store, install_params(world.app, client_id="1.2"))
    with pytest.raises(UnknownClient):
        parse_authorize_request(world.store, {"redirect_uri": "https://evil.example/"})


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT + "/",
        REDIRECT + "?x=1",
        REDIRECT + "#fragment",
        REDIRECT.upper(),
        REDIRECT.replace("localhost", "127.0.0.1"),
        REDIRECT[:-1],
        "http://localhost:8765/callback/../callback",
        "https://evil.example/callback",
        OTHER_REDIRECT.replace("tenant=acme", "tenant=acme&x=1"),
        " " + REDIRECT,
    ],
)
def test_the_redirect_url_must_match_a_registered_one_exactly(
    world: World, redirect_uri: str
) -> None:
    with pytest.raises(RedirectMismatch):
        parse_authorize_request(world.store, install_params(world.app, redirect_uri=redirect_uri))


def test_without_a_redirect_url_the_single_registered_one_is_used(directory: SQLiteStore) -> None:
    world = populate(directory, redirect_urls=[REDIRECT])
    request = parse_authorize_request(world.store, install_params(world.app, redirect_uri=""))
    assert (request.redirect_uri, request.redirect_uri_given) == (REDIRECT, False)


def test_without_a_redirect_url_an_app_with_several_is_refused(world: World) -> None:
    with pytest.raises(RedirectMismatch):
        parse_authorize_request(world.store, install_params(world.app, redirect_uri=""))


@pytest.mark.parametrize(
    "overrides",
    [
        {"user_scope": "admin"},
        {"user_scope": "auditlogs:read,channels:history"},
        {"user_scope": ""},
        {"scope": "chat:write"},
    ],
)
def test_scopes_must_be_ones_the_app_registered(world: World, overrides: dict[str, str]) -> None:
    with pytest.raises(ScopeNotAllowed):
        parse_authorize_request(world.store, install_params(world.app, **overrides))


def test_an_app_without_distribution_cannot_be_installed(world: World) -> None:
    apps.set_distribution(world.store, world.app.id, False)
    with pytest.raises(AppNotDistributed):
        parse_authorize_request(world.store, install_params(world.app))


def test_overlong_parameters_are_refused(world: World) -> None:
    with pytest.raises(MalformedAuthorizeRequest):
        parse_authorize_request(world.store, install_params(world.app, state="s" * 2049))


# --- consent --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "member", "guest"])
def test_only_the_owner_may_approve_auditlogs_read(world: World, role: str) -> None:
    with pytest.raises(UserNotAuthorized):
        consented(world, role)
    assert world.store.list_installations(world.app.id) == []


def test_a_deactivated_owner_cannot_approve(world: World) -> None:
    users.deactivate_user(
        world.store, world.owner.org_id, world.owner.id, recording_change(world.store)
    )
    world.people["owner"] = world.store.get_user(world.owner.id)  # type: ignore[assignment]
    with pytest.raises(UserNotAuthorized):
        consented(world)


def test_a_workspace_of_another_organization_is_not_a_target(world: World) -> None:
    with pytest.raises(NotFound):
        consented(world, target=WS_OTHER)
    with pytest.raises(InvalidArguments):
        consented(world, target="everything")


def test_cancel_and_approval_redirects_keep_the_apps_own_query(world: World) -> None:
    request = parse_authorize_request(
        world.store, install_params(world.app, redirect_uri=OTHER_REDIRECT, state="x y")
    )
    assert cancel_redirect(request) == OTHER_REDIRECT + "&error=access_denied&state=x+y"
    assert redirect_with("https://a.example/cb", {"code": "c"}) == "https://a.example/cb?code=c"


# --- the exchange ---------------------------------------------------------------------------------


def test_a_code_is_exchanged_for_a_user_token_of_the_organization(world: World) -> None:
    exchange = redeem(world, consented(world))
    assert exchange.token.startswith("xoxp-")
    assert exchange.record.scopes == {READ_SCOPE}
    assert exchange.installer.id == world.owner.id
    assert exchange.installation.is_enterprise_install
    assert exchange.workspace is None
    grant = authorize(
        exchange.token, READ_SCOPE, world.store.find_token, world.store.installation_standing
    )
    assert grant.org_id == world.owner.org_id
    stored = world.store.find_auth_code(code_hash("x"))
    assert stored is None


def test_codes_and_tokens_are_stored_only_as_hashes(world: World) -> None:
    code = consented(world)
    exchange = redeem(world, code)
    path = Path(world.store.path)  # type: ignore[attr-defined]
    stored = path.read_bytes() + path.with_name(path.name + "-wal").read_bytes()
    for secret in (code, exchange.token, world.client_secret):
        assert secret.encode() not in stored


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(world: World) -> None:
    code = consented(world)
    first = redeem(world, code)
    with pytest.raises(InvalidGrant):
        redeem(world, code)
    with pytest.raises(InvalidAuthentication):
        authorize(first.token, READ_SCOPE, world.store.find_token)


def test_two_simultaneous_redemptions_yield_at_most_one_live_token(world: World) -> None:
    code = consented(world)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(redeem(world, code))
        except InvalidGrant as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens = [r for r in results if isinstance(r, Exchange)]
    assert len(tokens) <= 1
    live = [t for t in world.store.list_tokens() if t.installation_id and t.is_active]
    assert live == []  # a replay was seen, so even the winner's token is revoked


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_secret": "0" * 32}, BadClientSecret),
        ({"client_secret": ""}, BadClientSecret),
        ({"client_id": "123.456"}, UnknownClient),
        ({"redirect_uri": OTHER_REDIRECT}, InvalidGrant),
        ({"redirect_uri": ""}, InvalidGrant),  # given at authorize: required, identical
        ({"code": "not-a-code"}, InvalidGrant),
        ({"code": ""}, InvalidGrant),
        ({"code": "c" * 300}, InvalidGrant),
        ({"code_verifier": RFC_VERIFIER}, InvalidGrant),  # no challenge was bound
        ({"grant_type": "refresh_token"}, UnsupportedGrantType),
    ],
)
def test_every_mismatch_is_refused_and_the_code_survives_for_its_app(
    world: World, overrides: dict[str, str], error: type[Exception]
) -> None:
    code = consented(world)
    with pytest.raises(error):
        redeem(world, code, **overrides)
    assert redeem(world, code).token


def test_a_code_for_one_app_is_useless_to_another(world: World) -> None:
    other, secret = apps.create_app(
        world.store, "Other", [REDIRECT], (["auditlogs:read"], []), now=1_700_000_000
    )
    code = consented(world)
    with pytest.raises(InvalidGrant):
        redeem(world, code, client_id=other.client_id, client_secret=secret)
    assert redeem(world, code).token


def test_the_pkce_verifier_must_match_the_challenge(world: World) -> None:
    verifier, challenge = pkce_pair()
    code = consented(world, code_challenge=challenge, code_challenge_method="S256")
    for wrong in ("", pkce_pair()[0], verifier[:-1]):
        with pytest.raises(InvalidGrant):
            redeem(world, code, code_verifier=wrong)
    assert redeem(world, code, code_verifier=verifier).token


def test_an_expired_code_is_refused(world: World) -> None:
    code = consented(world)
    record = world.store.find_auth_code(code_hash(code))
    assert record is not None
    request = TokenRequest(world.app.client_id, world.client_secret, code, REDIRECT)
    with pytest.raises(InvalidGrant):
        exchange_code(world.store, request, now=record.expires_at)
    assert exchange_code(world.store, request, now=record.expires_at - 1).token


def test_a_code_whose_installer_was_demoted_is_refused(world: World) -> None:
    code = consented(world)
    users.set_role(
        world.store, world.owner.org_id, world.owner.id, "admin", recording_change(world.store)
    )
    with pytest.raises(InvalidGrant):
        redeem(world, code)


def test_without_a_redirect_url_at_authorize_none_is_needed_at_exchange(
    directory: SQLiteStore,
) -> None:
    world = populate(directory, redirect_urls=[REDIRECT])
    code = consented(world, redirect_uri="")
    assert redeem(world, code, redirect_uri="").token


def test_a_workspace_install_yields_a_token_refused_with_team_not_authorized(world: World) -> None:
    exchange = redeem(world, consented(world, target=WS_A))
    assert exchange.record.workspace_id == WS_A
    assert exchange.workspace is not None
    assert exchange.workspace.id == WS_A
    assert not exchange.installation.is_enterprise_install
    with pytest.raises(TeamNotAuthorized):
        authorize(
            exchange.token, READ_SCOPE, world.store.find_token, world.store.installation_standing
        )


def test_authorize_request_parameters_round_trip_through_forms(world: World) -> None:
    request = parse_authorize_request(world.store, install_params(world.app, state="é&x"))
    again = parse_authorize_request(world.store, dict(request.parameters))
    assert replace(again, parameters=request.parameters) == request
    assert isinstance(again, AuthorizeRequest)
    assert OTHER_ORG not in request.query()
