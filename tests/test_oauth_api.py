"""End to end over a live server: the unmodified slack_sdk exchanges the code, reads the log,
tests, revokes and uninstalls; every error of the Web API methods in the one shape.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from slack_sdk.errors import SlackApiError

from conftest import ORG, OTHER_ORG, WS_A, LiveServer, serve_in_thread
from oauth_world import (
    PASSWORD,
    PASSWORD_HASH,
    PROXY_VARIABLES,
    REDIRECT,
    Site,
    events_of,
    install_params,
    make_site,
    pkce_pair,
    populate,
    read_status,
    recording_change,
    shared_server,
    signed_in_client,
)
from trailkeeper.config import Settings
from trailkeeper.directory import admin, apps, installations, users
from trailkeeper.storage import open_store
from trailkeeper.web.app import create_app
from trailkeeper.web.slack_web_api import WEB_API_ERRORS

JSON = "application/json; charset=utf-8"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk reads proxies from the environment; the server is on loopback."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site(live_server_factory: Callable[..., LiveServer]) -> Site:
    return make_site(live_server_factory())


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with shared_server(tmp_path_factory.mktemp("shared")) as found:
        yield found


# --- the Slack Web API through slack_sdk --------------------------------------------------------


def test_slack_sdk_exchanges_the_code_and_reads_the_log_with_the_token(site: Site) -> None:
    access = site.web().oauth_v2_access(
        client_id=site.world.app.client_id,
        client_secret=site.world.client_secret,
        code=site.code(),
        redirect_uri=REDIRECT,
    )
    assert access.status_code == 200
    assert access.headers.get("cache-control") == "no-store"
    body = access.data
    assert isinstance(body, dict)
    assert set(body) == {
        "ok",
        "app_id",
        "authed_user",
        "team",
        "enterprise",
        "is_enterprise_install",
    }
    assert body["app_id"] == site.world.app.id
    assert body["authed_user"]["id"] == site.world.owner.id
    assert body["authed_user"]["scope"] == "auditlogs:read"
    assert body["authed_user"]["token_type"] == "user"
    assert body["authed_user"]["access_token"].startswith("xoxp-")
    assert body["enterprise"] == {"id": ORG, "name": "Test Org"}
    assert (body["team"], body["is_enterprise_install"]) == (None, True)
    entries = site.audit(body["authed_user"]["access_token"]).logs(limit=50).typed_body.entries
    installed = next(e for e in entries if e.action == "org_app_installed")
    assert installed.entity.app.id == site.world.app.id
    assert installed.actor.user.id == site.world.owner.id
    assert installed.context.ip_address == "127.0.0.1"
    assert installed.context.ua.startswith("python-httpx")
    login = next(e for e in entries if e.action == "user_login")
    assert login.context.session_id == installed.context.session_id
    assert isinstance(login.context.session_id, int)


def test_slack_sdk_sends_the_pkce_verifier(site: Site) -> None:
    verifier, challenge = pkce_pair()
    code = site.code(code_challenge=challenge, code_challenge_method="S256")
    arguments = {
        "client_id": site.world.app.client_id,
        "client_secret": site.world.client_secret,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    with pytest.raises(SlackApiError) as caught:
        site.web().oauth_v2_access(**arguments, code_verifier=pkce_pair()[0])
    assert caught.value.response["error"] == "invalid_code"
    access = site.web().oauth_v2_access(**arguments, code_verifier=verifier)
    assert access["ok"] is True


def test_auth_test_describes_the_token(site: Site) -> None:
    answer = site.web(site.token()).auth_test()
    assert answer["ok"] is True
    assert answer.headers.get("x-oauth-scopes") == "auditlogs:read"
    assert answer["user_id"] == site.world.owner.id
    assert answer["user"] == site.world.owner.name
    assert answer["team_id"] == ORG
    assert answer["enterprise_id"] == ORG
    assert answer["is_enterprise_install"] is True
    assert answer["app_id"] == site.world.app.id
    assert answer["url"].endswith("/")


def test_a_workspace_install_is_refused_by_the_audit_api(site: Site) -> None:
    token = site.token(target=WS_A)
    assert read_status(site, token) == (403, "team_not_authorized")
    answer = site.web(token).auth_test()
    assert (answer["team_id"], answer["is_enterprise_install"]) == (WS_A, False)


def test_auth_revoke_revokes_and_test_only_checks(site: Site) -> None:
    token = site.token()
    assert site.web(token).auth_revoke(test=True)["revoked"] is False
    assert read_status(site, token) == (200, "")
    assert site.web(token).auth_revoke()["revoked"] is True
    assert read_status(site, token) == (401, "invalid_authentication")
    with pytest.raises(SlackApiError) as caught:
        site.web(token).auth_test()
    assert caught.value.response["error"] == "invalid_auth"


def test_a_replayed_code_is_refused_and_the_first_token_revoked(site: Site) -> None:
    code = site.code()
    arguments = {
        "client_id": site.world.app.client_id,
        "client_secret": site.world.client_secret,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    token = site.web().oauth_v2_access(**arguments)["authed_user"]["access_token"]
    assert read_status(site, token) == (200, "")
    with pytest.raises(SlackApiError) as caught:
        site.web().oauth_v2_access(**arguments)
    assert caught.value.response["error"] == "invalid_code"
    assert read_status(site, token) == (401, "invalid_authentication")


def test_the_token_dies_with_its_installers_standing(site: Site) -> None:
    token = site.token()
    change = recording_change(site.live.store)
    users.set_role(site.live.store, ORG, site.world.owner.id, "admin", change)
    assert read_status(site, token) == (401, "invalid_authentication")
    users.set_role(site.live.store, ORG, site.world.owner.id, "owner", change)
    assert read_status(site, token) == (200, "")
    users.deactivate_user(site.live.store, ORG, site.world.owner.id, change)
    assert read_status(site, token) == (401, "invalid_authentication")


def test_uninstalling_the_app_revokes_its_tokens(site: Site) -> None:
    token = site.token()
    change = recording_change(site.live.store)
    installations.uninstall_app(site.live.store, site.world.app, ORG, change)
    assert read_status(site, token) == (401, "invalid_authentication")


def test_apps_uninstall_with_the_apps_credentials_and_the_token(site: Site) -> None:
    token = site.token()
    with pytest.raises(SlackApiError):
        site.web(token).apps_uninstall(client_id=site.world.app.client_id, client_secret="0" * 32)
    answer = site.web(token).apps_uninstall(
        client_id=site.world.app.client_id, client_secret=site.world.client_secret
    )
    assert answer["ok"] is True
    assert read_status(site, token) == (401, "invalid_authentication")
    [event] = events_of(site.live.store, "org_app_uninstalled")
    assert event["actor"]["user"]["id"] == site.world.owner.id
    assert event["context"]["ip_address"] == "127.0.0.1"


def test_the_exchange_accepts_json_and_body_credentials(site: Site) -> None:
    answer = site.post(
        "/api/oauth.v2.access",
        json={
            "client_id": site.world.app.client_id,
            "client_secret": site.world.client_secret,
            "code": site.code(),
            "redirect_uri": REDIRECT,
            "grant_type": "authorization_code",
        },
    )
    assert answer.json()["ok"] is True
    assert answer.headers["pragma"] == "no-cache"


# --- every error of the Web API methods in the one shape ------------------------------------------


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass(frozen=True)
class ApiCase:
    status: int
    code: str
    call: Callable[[Site], httpx.Response]


def exchange(site: Site, **form: str) -> httpx.Response:
    creds = basic(site.world.app.client_id, site.world.client_secret)
    return site.post("/api/oauth.v2.access", data={"code": "x", **form}, headers=creds)


API_CASES: dict[str, ApiCase] = {
    "auth_test_without_token": ApiCase(200, "not_authed", lambda s: s.post("/api/auth.test")),
    "auth_test_unknown_token": ApiCase(
        200, "invalid_auth", lambda s: s.post("/api/auth.test", data={"token": "xoxp-nope"})
    ),
    "auth_revoke_overlong_token": ApiCase(
        200,
        "invalid_auth",
        lambda s: s.post("/api/auth.revoke", headers={"Authorization": "Bearer " + "x" * 600}),
    ),
    "unknown_client": ApiCase(
        200,
        "invalid_client_id",
        lambda s: s.post("/api/oauth.v2.access", data={"code": "x"}, headers=basic("1.2", "s")),
    ),
    "bad_secret": ApiCase(
        200,
        "bad_client_secret",
        lambda s: s.post(
            "/api/oauth.v2.access", data={"code": "x"}, headers=basic(s.world.app.client_id, "s")
        ),
    ),
    "no_credentials": ApiCase(
        200, "invalid_client_id", lambda s: s.post("/api/oauth.v2.access", data={"code": "x"})
    ),
    "unknown_code": ApiCase(200, "invalid_code", exchange),
    "wrong_grant_type": ApiCase(
        200, "unsupported_grant_type", lambda s: exchange(s, grant_type="refresh_token")
    ),
    "credentials_twice": ApiCase(
        200, "invalid_arguments", lambda s: exchange(s, client_secret="again")
    ),
    "malformed_basic": ApiCase(
        200,
        "invalid_arguments",
        lambda s: s.post("/api/oauth.v2.access", headers={"Authorization": "Basic %%%"}),
    ),
    "repeated_field": ApiCase(
        200,
        "invalid_arguments",
        lambda s: s.post(
            "/api/auth.test",
            content=b"token=a&token=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ),
    "multipart_body": ApiCase(
        200,
        "invalid_form_data",
        lambda s: s.post("/api/auth.test", files={"token": ("t", b"x")}),
    ),
    "broken_json": ApiCase(
        200,
        "invalid_form_data",
        lambda s: s.post(
            "/api/auth.test", content=b"{", headers={"Content-Type": "application/json"}
        ),
    ),
    "json_array": ApiCase(
        200,
        "invalid_form_data",
        lambda s: s.post("/api/auth.test", json=[1], headers={"Content-Type": "application/json"}),
    ),
    "not_utf8": ApiCase(
        200,
        "invalid_form_data",
        lambda s: s.post(
            "/api/auth.test",
            content=b"token=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ),
    "body_too_large": ApiCase(
        413, "request_too_large", lambda s: s.post("/api/oauth.v2.access", content=b"x" * 20_000)
    ),
    "get_on_the_exchange": ApiCase(
        405,
        "method_not_allowed",
        lambda s: httpx.get(s.live.url + "/api/oauth.v2.access", trust_env=False),
    ),
    "unknown_method": ApiCase(
        404, "bad_endpoint", lambda s: s.post("/api/oauth.v3.access", data={"code": "x"})
    ),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_every_web_api_error_has_the_one_shape(shared_site: Site, name: str) -> None:
    case = API_CASES[name]
    reply = case.call(shared_site)
    assert reply.status_code == case.status, reply.text
    assert reply.headers["content-type"] == JSON
    body = json.loads(reply.content)
    assert reply.content == json.dumps(body, separators=(",", ":")).encode()
    assert body == {"ok": False, "error": case.code}


def test_no_secret_of_the_flow_is_stored_in_clear(site: Site) -> None:
    browser = signed_in_client(site.live.url, site.world.owner.email)
    cookie = browser.client.cookies["tk_session"]
    code = browser.install(install_params(site.world.app))["code"]
    token = site.web().oauth_v2_access(
        client_id=site.world.app.client_id,
        client_secret=site.world.client_secret,
        code=code,
        redirect_uri=REDIRECT,
    )["authed_user"]["access_token"]
    path = Path(site.live.store.path)
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for secret in (PASSWORD, cookie, code, token, site.world.client_secret):
        assert secret.encode() not in stored
    assert site.world.owner.email.encode() in stored  # the search does see the database


def test_every_code_of_the_web_api_table_is_walked() -> None:
    walked = {case.code for case in API_CASES.values()}
    assert {code for _, code in WEB_API_ERRORS} <= walked


@pytest.mark.postgres
def test_the_whole_flow_on_postgresql(postgres_schema_url: str, settings: Settings) -> None:
    store = open_store(postgres_schema_url)
    store.migrate()
    admin.create_organization(store, ORG, "Test Org", "testorg")
    admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
    server, thread, url = serve_in_thread(create_app(settings, store))
    try:
        site = Site(LiveServer(url, store, "", "", ""), populate(store))  # type: ignore[arg-type]
        token = site.token()
        assert read_status(site, token) == (200, "")
        assert read_status(site, site.token(target=WS_A)) == (403, "team_not_authorized")
        change = recording_change(store)
        users.set_role(store, ORG, site.world.owner.id, "admin", change)
        assert read_status(site, token) == (401, "invalid_authentication")
        assert len(events_of(store, "org_app_installed")) == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def test_auth_test_of_a_token_made_by_the_cli_names_no_user(site: Site) -> None:
    answer = site.web(site.live.read_token).auth_test()
    assert answer["ok"] is True
    assert answer["team_id"] == ORG
    assert "user_id" not in answer.data  # type: ignore[operator]


def test_apps_uninstall_refuses_a_token_of_another_apps_installation(site: Site) -> None:
    other, secret = apps.create_app(
        site.live.store, "Other", [REDIRECT], (["auditlogs:read"], []), now=1_700_000_000
    )
    token = site.token()
    with pytest.raises(SlackApiError) as caught:
        site.web(token).apps_uninstall(client_id=other.client_id, client_secret=secret)
    assert caught.value.response["error"] == "invalid_auth"
    assert read_status(site, token) == (200, "")


def test_an_install_by_another_organizations_owner_reads_only_that_organization(
    site: Site,
) -> None:
    store = site.live.store
    change = recording_change(store)
    spec = users.UserSpec("U0OTHEROWN", OTHER_ORG, "Otto", "otto@other.example", "owner")
    other_owner = users.create_user(store, spec, change)
    store.put_user(replace(other_owner, password_hash=PASSWORD_HASH))
    browser = signed_in_client(site.live.url, "otto@other.example")
    code = browser.install(install_params(site.world.app))["code"]
    access = site.web().oauth_v2_access(
        client_id=site.world.app.client_id,
        client_secret=site.world.client_secret,
        code=code,
        redirect_uri=REDIRECT,
    )
    assert access["enterprise"]["id"] == OTHER_ORG
    entries = site.audit(access["authed_user"]["access_token"]).logs(limit=100).typed_body.entries
    assert {e.context.location.id for e in entries} == {OTHER_ORG}
    assert {e.action for e in entries} >= {"org_app_installed", "user_login", "user_created"}
