"""The admin console in a real headless Chromium (Debian's, driven by Playwright): the Owner signs
in, filters by action and actor, opens an event, follows an anomaly to its triggering events,
revokes a token the API then refuses, exports a range equal to the API's entries; a member is
refused; forged and cross-site form posts are refused; hostile events stay inert; a phone works.

With TRAILKEEPER_SCREENSHOTS=1 the pages are saved to docs/screenshots/console-*.png, which
docs/console.md shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import expect

from console_world import HOSTILE, RunningConsole, running_console
from oauth_world import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
EVIL_ORIGIN = "https://evil.example"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


pytestmark = pytest.mark.usefixtures("no_proxy")


@dataclass
class Tab:
    """A browser tab on a live console, with the dialogs any script tried to open."""

    page: Any
    site: RunningConsole
    dialogs: list[str] = field(default_factory=list)

    def screenshot(self, name: str, *, full: bool = True) -> None:
        if os.environ.get("TRAILKEEPER_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"console-{name}.png"
            self.page.screenshot(path=str(path), full_page=full)

    def open(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def sign_in(self, role: str = "owner", shot: str = "") -> None:
        person = getattr(self.site.world, role)
        self.page.get_by_label("Email address").fill(person.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        if shot:
            self.screenshot(shot)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def api(self, token: str, **params: Any) -> httpx.Response:
        with httpx.Client(base_url=self.site.url, trust_env=False) as client:
            return client.get("/audit/v1/logs", params=params,
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def new_tab(chromium: Any, site: RunningConsole, viewport: dict[str, int] = LAPTOP) -> Any:
    context = chromium.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(8000)
    tab = Tab(context.new_page(), site)
    tab.page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    return context, tab


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningConsole]:
    with running_console(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture
def tab(chromium: Any, shared: RunningConsole) -> Iterator[Tab]:
    context, made = new_tab(chromium, shared)
    yield made
    context.close()


@pytest.fixture
def fresh_tab(chromium: Any, tmp_path: Path) -> Iterator[Tab]:
    with running_console(tmp_path) as site:
        context, made = new_tab(chromium, site)
        yield made
        context.close()


def rows(tab: Tab) -> Any:
    return tab.page.locator("#log-table tbody tr")


def test_the_owner_signs_in_filters_by_action_and_actor_and_opens_an_event(tab: Tab) -> None:
    tab.open("/console/logs")
    assert tab.page.get_by_text("Sign in to read the organization's audit log.").is_visible()
    tab.sign_in("owner", shot="signin")
    assert tab.page.url.endswith("/console/logs")
    downloads = tab.site.world.events(actions=("file_downloaded",))
    person = next(e for e in downloads if e["actor"]["user"]["id"] != "U0HOSTILE")["actor"]["user"]
    tab.page.get_by_label("Time range").select_option("all")
    tab.page.get_by_label("Action", exact=True).select_option("file_downloaded")
    tab.page.get_by_label("Actor").fill(person["email"])
    tab.page.get_by_role("button", name="Search").click()
    tab.page.wait_for_load_state()
    assert "action=file_downloaded" in tab.page.url
    assert "actor=" in tab.page.url
    assert "entity=" not in tab.page.url  # empty fields stay out of a shared link
    tab.page.locator("#chart-body").wait_for()
    mine = [e for e in downloads if e["actor"]["user"]["id"] == person["id"]]
    assert rows(tab).count() == min(50, len(mine))
    assert set(rows(tab).locator(".action-name").all_inner_texts()) == {"file_downloaded"}
    tab.screenshot("log")
    rows(tab).first.locator("a.when").click()
    tab.page.wait_for_load_state()
    assert tab.page.get_by_role("heading", level=1).inner_text() == "file_downloaded"
    assert tab.page.get_by_text("Verified.").is_visible()
    assert mine[0]["id"] in tab.page.locator("pre.json").first.inner_text()
    tab.screenshot("event")


def test_scrolling_loads_older_events_one_page_at_a_time(tab: Tab) -> None:
    tab.open("/console/logs?range=all&limit=25")
    tab.sign_in()
    expect(tab.page.locator("#chart-body")).to_be_visible()
    tab.screenshot("overview", full=False)
    sizes: list[int] = []
    tab.page.on("response", lambda r: sizes.append(r.status) if "partial=1" in r.url and
                "/console/logs" in r.url else None)  # fmt: skip
    assert rows(tab).count() == 25
    for expected in (50, 75):
        tab.page.locator("#log-pager").scroll_into_view_if_needed()
        expect(rows(tab)).to_have_count(expected)
    assert rows(tab).count() == 75
    assert sizes == [200, 200]
    ids = rows(tab).locator("a.when").evaluate_all("els => els.map(e => e.href)")
    assert len(set(ids)) == 75


def test_a_rare_text_search_goes_on_window_after_window_by_itself(
    chromium: Any, tmp_path: Path
) -> None:
    with running_console(tmp_path, console_search_window=1000) as site:
        context, tab = new_tab(chromium, site)
        deep = site.world.events()[4500]["id"]  # about five windows back
        tab.open(f"/console/logs?range=all&q={deep}")
        tab.sign_in()
        expect(rows(tab)).to_have_count(1, timeout=15_000)
        assert deep in rows(tab).first.locator("a.when").get_attribute("href")
        context.close()


def test_an_anomaly_leads_to_the_events_that_triggered_it(tab: Tab) -> None:
    tab.open("/console/anomalies?range=all")
    tab.sign_in()
    assert tab.page.get_by_text("excessive_downloads").first.is_visible()
    tab.screenshot("anomalies")
    tab.page.get_by_role("link", name="Details and triggering events (5)").click()
    tab.page.wait_for_load_state()
    assert tab.page.get_by_role("heading", name="Why this is an anomaly").is_visible()
    triggers = tab.page.locator("#anomaly-heading ~ ul.event-list a")
    assert triggers.count() == 5
    tab.screenshot("anomaly")
    triggers.first.click()
    tab.page.wait_for_load_state()
    shown = tab.page.locator("dl.facts dd.mono").first.inner_text()
    assert shown in tab.site.world.trigger_ids


def test_revoking_a_token_makes_the_api_refuse_it(fresh_tab: Tab) -> None:
    tab, world = fresh_tab, fresh_tab.site.world
    assert tab.api(world.operator_token).status_code == 200
    tab.open("/console/apps")
    tab.sign_in()
    tab.screenshot("apps")
    tab.page.get_by_role("button", name=f"Revoke token {world.operator_token_id}").click()
    tab.page.wait_for_load_state()
    assert tab.page.get_by_text(f"Token {world.operator_token_id} was revoked.").is_visible()
    response = tab.api(world.operator_token)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_authentication")
    assert world.events(actions=("audit_logs_token_revoked",))[0]["actor"]["user"]["id"] == (
        world.owner.id
    )


def test_an_exported_range_is_what_the_api_serves(tab: Tab, tmp_path: Path) -> None:
    newest = tab.site.world.newest
    oldest, latest = newest - 2 * 86400, newest - 3600
    tab.open(f"/console/logs?from={oldest}&to={latest}")
    tab.sign_in()
    tab.page.get_by_label("Export this filter as").select_option("jsonl")
    with tab.page.expect_download() as download:
        tab.page.get_by_role("button", name="Export").click()
    saved = tmp_path / "export.jsonl"
    download.value.save_as(saved)
    expect(tab.page.locator("#export-status")).to_contain_text("Export finished")
    assert tab.page.locator("#export-progress").get_attribute("value") == "1000"
    tab.screenshot("export", full=False)
    exported = [orjson.dumps(orjson.loads(line)) for line in saved.read_bytes().splitlines()]
    from_api: list[bytes] = []
    cursor = ""
    while True:
        page = tab.api(tab.site.world.operator_token, oldest=oldest, latest=latest, limit=1000,
                       cursor=cursor).json()  # fmt: skip
        from_api += [orjson.dumps(e) for e in page["entries"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert exported == from_api
    assert len(exported) > 3000


def test_a_member_is_refused(tab: Tab) -> None:
    tab.open("/console/logs")
    tab.sign_in("member")
    assert tab.page.get_by_role(
        "heading", name="Only the organization's Owners and Admins can read its audit log"
    ).is_visible()
    assert tab.page.locator("#log-table").count() == 0
    tab.screenshot("refused")


def test_forged_and_cross_site_form_posts_are_refused(fresh_tab: Tab) -> None:
    tab, world = fresh_tab, fresh_tab.site.world
    action = f"{tab.site.url}/console/tokens/revoke"
    evil = (f'<form method="post" action="{action}"><input type="hidden" name="token_id" '
            f'value="{world.operator_token_id}"><button>Claim your prize</button>'
            "</form>")  # fmt: skip
    tab.page.context.route(f"{EVIL_ORIGIN}/**", lambda r: r.fulfill(
        status=200, content_type="text/html", body=evil))  # fmt: skip
    tab.open("/console/apps")
    tab.sign_in()
    form = tab.page.locator(f"form:has(input[value='{world.operator_token_id}'])")
    form.locator("input[name=csrf_token]").evaluate("e => e.remove()")
    form.get_by_role("button").click()
    tab.page.wait_for_load_state()
    assert tab.page.get_by_role("heading", name="This form has expired").is_visible()
    tab.page.goto(f"{EVIL_ORIGIN}/prize")
    tab.page.get_by_role("button", name="Claim your prize").click()
    tab.page.wait_for_load_state()
    assert tab.api(world.operator_token).status_code == 200
    assert world.events(actions=("audit_logs_token_revoked",)) == []


def test_hostile_events_are_shown_as_text_and_run_nothing(tab: Tab) -> None:
    tab.open(f"/console/events/{tab.site.world.hostile_id}")
    tab.sign_in()
    assert tab.page.locator("dl.facts dd").nth(2).inner_text().startswith(HOSTILE)
    tab.open("/console/logs?range=all&actor=U0HOSTILE")
    assert HOSTILE in rows(tab).first.inner_text()
    assert tab.page.locator("#log-table img").count() == 0
    assert tab.dialogs == []


def test_the_log_works_on_a_phone_and_from_the_keyboard(
    chromium: Any, shared: RunningConsole
) -> None:
    context, tab = new_tab(chromium, shared, PHONE)
    tab.open("/console/logs?range=all&limit=25")
    tab.sign_in()
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    tab.screenshot("phone", full=False)
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.page.keyboard.press("Enter")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.tagName") == "SUMMARY"
    assert tab.page.locator("details.filter-box").get_attribute("open") is None  # folded
    tab.page.keyboard.press("Enter")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.id") == "f-range"
    tab.page.keyboard.press("Escape")
    context.close()
