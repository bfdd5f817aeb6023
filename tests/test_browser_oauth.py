"""The install flow in a real headless Chromium (Debian's, driven by Playwright): the Owner
installs and the app gets a working token; others are refused; workspace installs, forged
forms, wrong redirect URLs, replayed codes and wrong PKCE verifiers all fail as they should.

The app's redirect URL (http://localhost:8765/callback) is served by the test through request
interception, so the browser really navigates there. With TRAILKEEPER_SCREENSHOTS=1 the pages
are saved to docs/screenshots/oauth-*.png for the documentation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.audit_logs import AuditLogsClient
from slack_sdk.errors import SlackApiError

from conftest import ORG, WS_A, LiveServer
from oauth_world import (
    PASSWORD,
    REDIRECT,
    World,
    install_params,
    pkce_pair,
    populate,
    redirected_query,
)
from trailkeeper.directory import apps

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
APP_ORIGIN = "http://localhost:8765"
EVIL_ORIGIN = "https://evil.example"


pytestmark = pytest.mark.usefixtures("no_proxy")


@dataclass
class Tab:
    """A browser tab, with what the app's redirect URL and an attacker's site received."""

    page: Any
    live: LiveServer
    world: World
    app_hits: list[str] = field(default_factory=list)
    evil_hits: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> None:
        if os.environ.get("TRAILKEEPER_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"oauth-{name}.png"), full_page=True)

    def open_install(self, **overrides: str) -> dict[str, str]:
        params = install_params(self.world.app, **overrides)
        self.page.goto(f"{self.live.url}/oauth/v2/authorize?{urlencode(params)}")
        return params

    def sign_in(self, role: str, shot: str = "") -> None:
        assert self.page.get_by_role("heading", name="Sign in to Trailkeeper").is_visible()
        self.page.get_by_label("Email address").fill(self.world.people[role].email)
        self.page.get_by_label("Password").fill(PASSWORD)
        if shot:
            self.screenshot(shot)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def allow(self, target: str = "organization", shot: str = "") -> dict[str, str]:
        self.page.check(f"#target-{target}")
        if shot:
            self.screenshot(shot)
        self.page.get_by_role("button", name="Allow").click()
        self.page.wait_for_url(f"{APP_ORIGIN}/**")
        return redirected_query(self.app_hits[-1])

    def install(
        self, role: str = "owner", target: str = "organization", **extra: str
    ) -> dict[str, str]:
        self.open_install(**extra)
        self.sign_in(role)
        return self.allow(target)


def _fulfil(hits: list[str], body: str) -> Callable[[Any], None]:
    def handle(route: Any) -> None:
        hits.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body=body)

    return handle


@pytest.fixture
def tab(chromium: Any, live_server_factory: Callable[..., LiveServer]) -> Iterator[Tab]:
    live = live_server_factory()
    context = chromium.new_context(viewport={"width": 960, "height": 720})
    context.set_default_timeout(5000)
    made = Tab(context.new_page(), live, populate(live.store))
    context.route(f"{APP_ORIGIN}/**", _fulfil(made.app_hits, "<h1>The app got its code</h1>"))
    context.route(f"{EVIL_ORIGIN}/**", _fulfil(made.evil_hits, evil_page(made)))
    yield made
    context.close()


def exchange(tab: Tab, code: str, **extra: str) -> dict[str, Any]:
    answer = WebClient(base_url=tab.live.url + "/api/").oauth_v2_access(
        client_id=tab.world.app.client_id,
        client_secret=tab.world.client_secret,
        code=code,
        redirect_uri=REDIRECT,
        **extra,
    )
    return dict(answer.data)  # type: ignore[arg-type]


def read_logs(tab: Tab, token: str) -> Any:
    return AuditLogsClient(token=token, base_url=tab.live.audit_base).logs(limit=20)


def evil_page(tab: Tab) -> str:
    """A cross-site page that posts an 'Allow' to Trailkeeper's consent endpoint."""
    fields = install_params(tab.world.app) | {"decision": "allow", "target": "organization"}
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    action = f"{tab.live.url}/oauth/v2/authorize"
    return f'<form method="post" action="{action}">{inputs}<button>Win a prize</button></form>'


# --- the tests ------------------------------------------------------------------------------------


def test_the_owner_installs_on_the_organization_and_the_app_gets_a_working_token(tab: Tab) -> None:
    params = tab.open_install()
    tab.sign_in("owner", shot="signin")
    heading = tab.page.get_by_role("heading", level=1).inner_text()
    assert "Acme SIEM" in heading
    assert "Test Org" in heading
    assert tab.page.get_by_text("auditlogs:read").is_visible()
    assert tab.page.get_by_label("Only the Alpha workspace").is_visible()
    got = tab.allow("organization", shot="consent")
    assert got["state"] == params["state"]
    access = exchange(tab, got["code"])
    assert access["is_enterprise_install"] is True
    assert access["enterprise"]["id"] == ORG
    token = access["authed_user"]["access_token"]
    response = read_logs(tab, token)
    assert response.status_code == 200
    entries = response.typed_body.entries
    installed = next(e for e in entries if e.action == "org_app_installed")
    assert "HeadlessChrome" in installed.context.ua or "Chrome" in installed.context.ua
    assert installed.actor.user.id == tab.world.owner.id
    assert WebClient(token=token, base_url=tab.live.url + "/api/").auth_test()["user_id"] == (
        tab.world.owner.id
    )


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_are_refused_and_nothing_is_installed(tab: Tab, role: str) -> None:
    tab.open_install()
    tab.sign_in(role)
    assert tab.page.get_by_role(
        "heading", name="Only the organization's Owner can install this app"
    ).is_visible()
    assert tab.page.get_by_text("user_not_authorized").is_visible()
    if role == "admin":
        tab.screenshot("refused")
    assert tab.live.store.list_installations(tab.world.app.id) == []
    assert tab.app_hits == []
    tab.page.get_by_role("button", name="Sign out").click()  # and the owner can take over
    tab.page.wait_for_load_state()
    tab.sign_in("owner")
    assert tab.allow()["code"]


def test_a_workspace_install_yields_a_token_that_gets_team_not_authorized(tab: Tab) -> None:
    got = tab.install(target=WS_A)
    access = exchange(tab, got["code"])
    assert access["is_enterprise_install"] is False
    assert access["team"]["id"] == WS_A
    response = read_logs(tab, access["authed_user"]["access_token"])
    assert (response.status_code, response.body["error"]) == (403, "team_not_authorized")


def test_the_state_is_echoed_exactly_and_forged_forms_are_refused(tab: Tab) -> None:
    state = "a b&c=d/é?#%20"
    assert tab.install(state=state)["state"] == state
    tab.open_install()  # signed in already: straight to consent
    tab.page.locator("input[name=csrf_token]").first.evaluate("e => e.value = 'forged'")
    tab.page.get_by_role("button", name="Allow").click()
    tab.page.wait_for_load_state()
    assert tab.page.get_by_role("heading", name="This form has expired").is_visible()
    tab.page.goto(f"{EVIL_ORIGIN}/prize")  # a cross-site page posts 'Allow' for the user
    tab.page.get_by_role("button", name="Win a prize").click()
    tab.page.wait_for_load_state()
    assert "invalid_form" in tab.page.content()
    assert len(tab.live.store.list_installations(tab.world.app.id)) == 1
    assert len(tab.app_hits) == 1


def test_a_wrong_redirect_url_is_a_page_and_the_browser_never_goes_there(tab: Tab) -> None:
    tab.open_install(redirect_uri=f"{EVIL_ORIGIN}/steal")
    assert tab.page.get_by_role("heading", name="This install link is not valid").is_visible()
    assert tab.page.get_by_text("bad_redirect_uri").is_visible()
    tab.screenshot("bad-redirect")
    assert tab.page.url.startswith(tab.live.url)
    assert tab.evil_hits == []


def test_a_replayed_code_and_a_wrong_pkce_verifier_are_refused(tab: Tab) -> None:
    verifier, challenge = pkce_pair()
    got = tab.install(code_challenge=challenge, code_challenge_method="S256")
    with pytest.raises(SlackApiError) as wrong:
        exchange(tab, got["code"], code_verifier=pkce_pair()[0])
    assert wrong.value.response["error"] == "invalid_code"
    token = exchange(tab, got["code"], code_verifier=verifier)["authed_user"]["access_token"]
    assert read_logs(tab, token).status_code == 200
    with pytest.raises(SlackApiError) as replay:
        exchange(tab, got["code"], code_verifier=verifier)
    assert replay.value.response["error"] == "invalid_code"
    response = read_logs(tab, token)
    assert (response.status_code, response.body["error"]) == (401, "invalid_authentication")


def test_the_demo_apps_landing_page_shows_an_exchangeable_code(tab: Tab) -> None:
    callback = tab.live.url + "/demo/oauth-callback"
    demo_app, secret = apps.create_app(
        tab.live.store, "Demo SIEM", [callback], (["auditlogs:read"], []), now=1_700_000_000
    )
    params = {"client_id": demo_app.client_id, "user_scope": "auditlogs:read", "state": "demo"}
    tab.page.goto(f"{tab.live.url}/oauth/v2/authorize?{urlencode(params)}")
    tab.sign_in("owner")
    tab.page.get_by_role("button", name="Allow").click()
    tab.page.wait_for_url(f"{callback}?*")
    code = tab.page.get_by_label("code").input_value()
    tab.screenshot("demo-callback")
    assert demo_app.client_id in tab.page.content()
    access = WebClient(base_url=tab.live.url + "/api/").oauth_v2_access(
        client_id=demo_app.client_id, client_secret=secret, code=code
    )
    assert read_logs(tab, access["authed_user"]["access_token"]).status_code == 200
