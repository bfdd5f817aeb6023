"""The browser pages over plain HTTP: every failure is a clear page (the right status, Slack's
error string, the security headers, no redirect, nothing internal; one test walks the whole
table), cookies and sessions are safe, forms need their CSRF token, links never redirect blindly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ORG, WS_OTHER, LiveServer
from oauth_world import (
    PASSWORD,
    PageClient,
    Site,
    World,
    events_of,
    hidden_fields,
    install_params,
    make_site,
    populate,
    recording_change,
    redirected_query,
    shared_server,
    signed_in_client,
)
from trailkeeper.directory import apps, signin, users
from trailkeeper.errors import StorageError
from trailkeeper.web.oauth_pages import CSRF_ERROR, PAGE_ERRORS


@dataclass
class Pages:
    live: LiveServer
    world: World
    monkeypatch: pytest.MonkeyPatch

    def anonymous(self) -> PageClient:
        return PageClient(self.live.url)

    def as_role(self, role: str) -> PageClient:
        return signed_in_client(self.live.url, self.world.people[role].email)

    def decide(self, **form: str) -> httpx.Response:
        browser = self.as_role("owner")
        page = browser.consent(install_params(self.world.app))
        return browser.post("/oauth/v2/authorize", hidden_fields(page.text) | form)

    def failing_store(self, error: Exception) -> httpx.Response:
        def fail(*args: object) -> None:
            raise error

        self.monkeypatch.setattr(self.live.store, "find_app_by_client_id", fail)
        return self.anonymous().consent(install_params(self.world.app))


@pytest.fixture
def pages(live_server_factory: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch) -> Pages:
    live = live_server_factory()
    return Pages(live, populate(live.store), monkeypatch)


@pytest.fixture
def site(live_server_factory: Callable[..., LiveServer]) -> Site:
    return make_site(live_server_factory())


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with shared_server(tmp_path_factory.mktemp("shared")) as found:
        yield found


def not_distributed(p: Pages) -> httpx.Response:
    apps.set_distribution(p.live.store, p.world.app.id, False)
    return p.anonymous().consent(install_params(p.world.app))


CASES: dict[str, tuple[int, str, Callable[[Pages], httpx.Response]]] = {
    "unknown_client": (
        400, "invalid_client_id",
        lambda p: p.anonymous().consent(install_params(p.world.app, client_id="9.9")),
    ),
    "unregistered_redirect": (
        400, "bad_redirect_uri",
        lambda p: p.anonymous().consent(install_params(p.world.app, redirect_uri="https://x.example/")),
    ),
    "unregistered_scope": (
        400, "invalid_scope",
        lambda p: p.anonymous().consent(install_params(p.world.app, scope="chat:write")),
    ),
    "not_distributed": (403, "invalid_team_for_non_distributed_app", not_distributed),
    "plain_pkce": (
        400, "invalid_request",
        lambda p: p.anonymous().consent(
            install_params(p.world.app, code_challenge="x" * 43, code_challenge_method="plain")
        ),
    ),
    "not_the_owner": (
        403, "user_not_authorized",
        lambda p: p.as_role("guest").consent(install_params(p.world.app)),
    ),
    "neither_allow_nor_cancel": (
        400, "invalid_arguments", lambda p: p.decide(decision="maybe", target="organization"),
    ),
    "foreign_workspace": (
        404, "not_found", lambda p: p.decide(decision="allow", target=WS_OTHER),
    ),
    "form_too_large": (
        413, "request_too_large",
        lambda p: p.anonymous().post("/signin", {"login": "x" * 20_000}),
    ),
    "form_not_utf8": (
        400, "invalid_form_data",
        lambda p: p.anonymous().client.post(
            "/signin", content=b"login=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ),
    "database_down": (
        503, "service_unavailable", lambda p: p.failing_store(StorageError("disk gone")),
    ),
    "forged_form": (
        403, "invalid_form",
        lambda p: p.anonymous().post("/signin", {"login": "a", "password": "b", "csrf_token": "x"}),
    ),
    "bug": (500, "internal_error", lambda p: p.failing_store(RuntimeError("secret detail"))),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_every_page_error_is_a_clear_page(pages: Pages, name: str) -> None:
    status, code, call = CASES[name]
    page = call(pages)
    assert page.status_code == status, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<code>{code}</code>" in page.text
    assert "location" not in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "secret detail" not in page.text
    assert "Traceback" not in page.text


def test_every_entry_of_the_page_error_table_is_walked() -> None:
    walked = {code for _, code, _ in CASES.values()}
    assert {code for _, _, code, _, _ in PAGE_ERRORS} | {CSRF_ERROR[1]} <= walked


def test_a_refused_user_is_offered_to_sign_out_and_come_back(pages: Pages) -> None:
    browser = pages.as_role("admin")
    params = install_params(pages.world.app)
    refused = browser.consent(params)
    fields = hidden_fields(refused.text)
    assert fields["next"].startswith("/oauth/v2/authorize?client_id=")
    out = browser.post("/signout", fields)
    assert out.status_code == 303
    back = browser.sign_in(pages.world.owner.email, next_url=fields["next"])
    assert back.headers["location"] == fields["next"]
    assert browser.get(back.headers["location"]).status_code == 200


def test_home_and_the_demo_landing_page_render_for_anyone(pages: Pages) -> None:
    anonymous = pages.anonymous()
    assert "Sign in" in anonymous.get("/").text
    denied = anonymous.get("/demo/oauth-callback", {"error": "access_denied"})
    assert denied.status_code == 200
    assert "access_denied" in denied.text
    shown = anonymous.get("/demo/oauth-callback", {"code": "<b>c</b>", "state": "s"})
    assert "&lt;b&gt;c&lt;/b&gt;" in shown.text  # escaped, never markup
    assert "<b>c</b>" not in shown.text
    signed_in = pages.as_role("member")
    assert pages.world.people["member"].email in signed_in.get("/").text
    assert signed_in.get("/signin").status_code == 303  # already signed in: go on


# --- the pages over plain HTTP -------------------------------------------------------------------


def test_pages_carry_security_headers_and_safe_cookies(site: Site) -> None:
    browser = PageClient(site.live.url)
    page = browser.get("/signin")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("tk_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    signed_in = browser.post(
        "/signin",
        hidden_fields(page.text) | {"login": site.world.owner.email, "password": PASSWORD},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["set-cookie"].split(";")[0] != cookie.split(";")[0]  # no fixation
    assert "Max-Age=28800" in signed_in.headers["set-cookie"]
    css = browser.get("/oauth/static/trailkeeper.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


def test_over_https_cookies_are_secure_and_host_prefixed(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    live = live_server_factory(public_url="https://audit.acme.example")
    page = PageClient(live.url).get("/signin")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-tk_session=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_consent_posts_need_the_csrf_token_and_same_site(site: Site) -> None:
    browser = signed_in_client(site.live.url, site.world.owner.email)
    page = browser.consent(install_params(site.world.app))
    form = hidden_fields(page.text) | {"decision": "allow", "target": "organization"}
    forged = browser.post("/oauth/v2/authorize", form | {"csrf_token": "forged"})
    assert forged.status_code == 403
    assert "invalid_form" in forged.text
    cross_site = browser.post("/oauth/v2/authorize", form, **{"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    stranger = PageClient(site.live.url)  # another browser: its own cookie, not the owner's token
    stranger.get("/signin")
    assert stranger.post("/oauth/v2/authorize", form).status_code == 403
    assert site.live.store.list_installations(site.world.app.id) == []
    assert browser.post("/oauth/v2/authorize", form).status_code == 303


def test_a_refused_user_sees_user_not_authorized_and_nothing_is_installed(site: Site) -> None:
    for role in ("admin", "member", "guest"):
        browser = signed_in_client(site.live.url, site.world.people[role].email)
        page = browser.consent(install_params(site.world.app))
        assert page.status_code == 403
        assert "user_not_authorized" in page.text
        assert "Nothing was installed" in page.text
        assert "location" not in page.headers
    assert site.live.store.list_installations(site.world.app.id) == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"client_id": "999.999"}, "invalid_client_id"),
        ({"redirect_uri": "https://evil.example/steal"}, "bad_redirect_uri"),
        ({"user_scope": "admin"}, "invalid_scope"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ],
)
def test_a_bad_install_link_is_a_page_never_a_redirect(
    site: Site, overrides: dict[str, str], code: str
) -> None:
    for browser in (
        PageClient(site.live.url),
        signed_in_client(site.live.url, site.world.owner.email),
    ):
        page = browser.consent(install_params(site.world.app, **overrides))
        assert page.status_code == 400
        assert code in page.text
        assert "location" not in page.headers
        assert "evil.example" not in page.headers.get("content-security-policy", "")


def test_repeated_or_oversized_parameters_are_refused(site: Site) -> None:
    browser = PageClient(site.live.url)
    repeated = browser.get(
        f"/oauth/v2/authorize?client_id={site.world.app.client_id}&client_id=1.2"
    )
    assert repeated.status_code == 400
    assert "invalid_request" in repeated.text
    huge = browser.get("/oauth/v2/authorize?state=" + "x" * 9000)
    assert huge.status_code == 400


def test_signing_in_redirects_back_to_the_install_only(site: Site) -> None:
    params = install_params(site.world.app)
    anonymous = PageClient(site.live.url)
    first = anonymous.consent(params)
    assert first.status_code == 303
    next_url = redirected_query(first.headers["location"])["next"]
    assert next_url.startswith("/oauth/v2/authorize?client_id=")
    answer = anonymous.sign_in(site.world.owner.email, next_url=next_url)
    assert answer.headers["location"] == next_url
    for evil in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/oauth/v2/authorizex",
    ):
        other = PageClient(site.live.url)
        assert other.sign_in(site.world.owner.email, next_url=evil).headers["location"] == "/"


def test_wrong_passwords_get_one_generic_page_then_throttling(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    live = live_server_factory(signin_max_failures=2)
    world = populate(live.store)
    browser = PageClient(live.url)
    for _ in range(2):
        page = browser.sign_in(world.owner.email, "wrong password")
        assert page.status_code == 401
        assert "do not match an account" in page.text
    throttled = browser.sign_in(world.owner.email, PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    unknown = browser.sign_in("nobody@acme.example", "wrong password")
    assert unknown.status_code == 401
    assert "do not match an account" in unknown.text
    assert len(events_of(live.store, "user_login_failed")) == 2


def test_sign_out_ends_the_session_and_is_recorded(site: Site) -> None:
    browser = signed_in_client(site.live.url, site.world.owner.email)
    home = browser.get("/")
    assert site.world.owner.name in home.text
    out = browser.post("/signout", hidden_fields(home.text))
    assert out.status_code == 303
    assert out.headers["location"].startswith("/signin?")
    assert site.world.owner.name not in browser.get("/").text
    [event] = events_of(site.live.store, "user_logout")
    assert event["actor"]["user"]["id"] == site.world.owner.id
    assert isinstance(event["context"]["session_id"], int)


def test_cancel_sends_access_denied_and_the_state_back(site: Site) -> None:
    browser = signed_in_client(site.live.url, site.world.owner.email)
    params = install_params(site.world.app, state="keep me")
    answer = browser.decide(browser.consent(params).text, "cancel")
    assert redirected_query(answer.headers["location"]) == {
        "error": "access_denied",
        "state": "keep me",
    }
    assert site.live.store.list_installations(site.world.app.id) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(
            [
                "client_id",
                "redirect_uri",
                "state",
                "user_scope",
                "scope",
                "code_challenge",
                "code_challenge_method",
                "x",
            ]
        ),
        st.text(max_size=40),
        max_size=6,
    )
)
def test_arbitrary_install_links_never_crash_the_server(
    shared_site: Site, query: dict[str, str]
) -> None:
    with httpx.Client(base_url=shared_site.live.url, trust_env=False) as client:
        page = client.get("/oauth/v2/authorize", params=query)
    assert page.status_code in (303, 400, 403)
    assert "internal_error" not in page.text


def test_an_expired_or_deactivated_session_signs_nobody_in(site: Site) -> None:
    store = site.live.store
    cookie, _ = signin.start_session(store, site.world.owner, -1, int(time.time()))
    browser = PageClient(site.live.url)
    browser.client.cookies.set("tk_session", cookie)
    expired = browser.consent(install_params(site.world.app))
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/signin?")
    member = signed_in_client(site.live.url, site.world.people["member"].email)
    assert site.world.people["member"].email in member.get("/").text
    users.deactivate_user(store, ORG, site.world.people["member"].id, recording_change(store))
    assert site.world.people["member"].email not in member.get("/").text


def test_a_non_ascii_csrf_token_is_refused_not_a_500() -> None:
    from trailkeeper.web.csrf import FIELD, csrf_token, is_valid_post

    key = b"k" * 32
    assert not is_valid_post(key, "cookie", {FIELD: "\u00e9" * 10}, {})
    assert is_valid_post(key, "cookie", {FIELD: csrf_token(key, "cookie")}, {})
