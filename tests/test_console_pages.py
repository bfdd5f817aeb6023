"""The console over HTTP on a live server (no JavaScript): who may see it, what it records, that it
pages on the API's own cursor, exports what the API serves, revokes what it says, refuses forged
forms, renders hostile events inert, and never answers 500 whatever the query string.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console_world import HOSTILE, HOSTILE_ACTOR, RunningConsole, running_console
from oauth_world import PageClient, hidden_fields, signed_in_client
from trailkeeper.console.filters import format_time
from trailkeeper.directory.accounts import User
from trailkeeper.query import LogFilter

LINK = re.compile(r'href="(/console/[^"]*)"')


class TagAudit(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers, styles, odd URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.inline.append("inline script")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}")
            if name in ("href", "src", "action") and (value or "").lower().startswith("javascript"):
                self.inline.append(f"{tag} {name}={value}")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningConsole]:
    """One server for tests that change nothing but the log itself."""
    with running_console(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[RunningConsole]:
    with running_console(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def owner(shared: RunningConsole) -> Iterator[PageClient]:
    client = signed_in_client(shared.url, shared.world.owner.email)
    yield client
    client.close()


def latest(running: RunningConsole, action: str) -> dict[str, Any]:
    return running.world.events(actions=(action,))[0]


def event_ids(page: str) -> list[str]:
    return re.findall(r'<a href="/console/events/([^"]+)" class="when">', page)


def api(running: RunningConsole, token: str, **params: Any) -> httpx.Response:
    with httpx.Client(base_url=running.url, trust_env=False) as client:
        headers = {"Authorization": f"Bearer {token}"}
        return client.get("/audit/v1/logs", params=params, headers=headers)


# --- who may see it -----------------------------------------------------------------------------


def test_signing_in_comes_back_to_the_console_view_that_was_asked_for(
    shared: RunningConsole,
) -> None:
    client = PageClient(shared.url)
    asked = "/console/logs?range=all&action=user_login"
    first = client.get(asked)
    assert first.status_code == 303
    assert first.headers["location"] == "/signin?" + "next=" + quote(asked, safe="")
    page = client.get(first.headers["location"])
    assert "Sign in to read the organization&#39;s audit log." in page.text
    form = hidden_fields(page.text) | {"login": shared.world.owner.email, "password": "x"}
    form["password"] = "correct horse battery staple"
    answer = client.post("/signin", form)
    assert answer.headers["location"] == asked
    assert client.get(asked).status_code == 200
    client.close()


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("admin", 200), ("owner", 200)])
def test_only_owners_and_admins_see_the_log(shared: RunningConsole, role: str, status: int) -> None:
    person: User = getattr(shared.world, role)
    client = signed_in_client(shared.url, person.email)
    for path in ("/console/logs", "/console/anomalies", "/console/apps", "/console/counts"):
        answer = client.get(path)
        assert answer.status_code == status, path
    if status == 403:
        assert "Only the organization&#39;s Owners and Admins can read its audit log" in answer.text
        assert "user_not_authorized" in answer.text
        assert "Sign out" in answer.text
        revoke = client.post("/console/tokens/revoke", {"token_id": shared.world.operator_token_id,
                                                        **hidden_fields(answer.text)})  # fmt: skip
        assert revoke.status_code == 403
        assert api(shared, shared.world.operator_token).status_code == 200
    client.close()


def test_console_pages_allow_only_our_own_scripts_and_styles(
    shared: RunningConsole, owner: PageClient
) -> None:
    pages = ("/console/logs?range=all", "/console/anomalies?range=all", "/console/apps",
             "/console/counts?range=all", f"/console/events/{shared.world.hostile_id}",
             f"/console/events/{shared.world.anomaly_ids[0]}", "/console/nowhere")  # fmt: skip
    for path in pages:
        answer = owner.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        tags = TagAudit()
        tags.feed(answer.text)
        assert tags.inline == [], path
        assert answer.headers["server-timing"].startswith("app;dur=")


def test_static_files_and_unknown_console_urls(owner: PageClient) -> None:
    js = owner.get("/console/static/console.js")
    assert (js.status_code, js.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    assert owner.get("/console/static/console.css").status_code == 200
    assert owner.get("/console/static/secrets.txt").status_code == 404
    assert owner.get("/console/no/such/page").status_code == 404
    assert owner.get("/console/").headers["location"] == "/console/logs"


# --- the log ------------------------------------------------------------------------------------


def test_filters_by_action_and_actor_show_exactly_the_apis_events(
    shared: RunningConsole, owner: PageClient
) -> None:
    actor = shared.world.events(actions=("file_downloaded",))[3]["actor"]["user"]["id"]
    page = owner.get("/console/logs", {"range": "all", "action": "file_downloaded", "actor": actor})
    expected = shared.world.events(actions=("file_downloaded",), actor=actor)
    assert event_ids(page.text) == [e["id"] for e in expected][:50]
    assert '<option value="file_downloaded" selected>' in page.text


def test_an_actor_given_by_email_and_the_extra_filters(
    shared: RunningConsole, owner: PageClient
) -> None:
    some = shared.world.events(actions=("file_downloaded",))[7]
    email, context = some["actor"]["user"]["email"], some["context"]
    params = {"range": "all", "actor": email, "ip": context["ip_address"],
              "workspace": context["location"]["id"],
              "session": str(context["session_id"])}  # fmt: skip
    page = owner.get("/console/logs", params)
    assert some["id"] in event_ids(page.text)
    for event_id in event_ids(page.text):
        found = next(e for e in shared.world.events() if e["id"] == event_id)
        assert found["context"]["ip_address"] == context["ip_address"]
        assert found["context"]["session_id"] == context["session_id"]


def test_every_search_is_recorded_by_whom_from_where(
    shared: RunningConsole, owner: PageClient
) -> None:
    owner.get("/console/logs", {"range": "all", "action": "user_login", "q": "Acme"})
    event = latest(shared, "audit_logs_records_searched")
    assert event["actor"]["user"]["id"] == shared.world.owner.id
    assert event["details"] == {
        "view": "log", "filters": {"range": "all", "action": "user_login", "q": "Acme"}
    }  # fmt: skip
    assert event["context"]["ip_address"] == "127.0.0.1"
    assert event["context"]["ua"].startswith("python-httpx")
    assert isinstance(event["context"]["session_id"], int)


def test_pages_go_on_with_the_apis_cursor_without_recording_the_search_again(
    shared: RunningConsole, owner: PageClient
) -> None:
    first = owner.get("/console/logs", {"range": "all", "limit": "25"})
    searches = len(shared.world.events(actions=("audit_logs_records_searched",)))
    more = html.unescape(re.findall(r'href="([^"]+)" rel="next"', first.text)[0])
    second = owner.get(more)
    assert len(event_ids(second.text)) == 25
    assert len(shared.world.events(actions=("audit_logs_records_searched",))) == searches
    cursor = parse_qs(urlsplit(more).query)["cursor"][0]
    from_api = api(shared, shared.world.operator_token, limit=25, cursor=cursor).json()
    assert [e["id"] for e in from_api["entries"]][:25] == event_ids(second.text)
    # the same cursor with another filter is another search: recorded
    owner.get(more.replace("limit=25", "limit=25&action=user_login"))
    assert len(shared.world.events(actions=("audit_logs_records_searched",))) == searches + 1


def test_rows_alone_for_scrolling_and_a_bad_cursor_is_a_problem_not_an_error(
    owner: PageClient,
) -> None:
    rows = owner.get("/console/logs", {"range": "all", "limit": "25", "partial": "1"})
    assert rows.text.lstrip().startswith('<table class="log"')
    assert len(event_ids(rows.text)) == 25
    bad = owner.get("/console/logs", {"range": "all", "cursor": "AAAA"})
    assert bad.status_code == 200
    assert "That link to older events has expired or was altered." in bad.text


def test_counts_per_action_over_the_filter(shared: RunningConsole, owner: PageClient) -> None:
    page = owner.get("/console/counts", {"range": "all", "action": "file_downloaded,anomaly"})
    downloads = len(shared.world.events(actions=("file_downloaded",)))
    assert f'<span class="num">{downloads:,}</span>' in page.text
    assert '<rect width="1000"' in page.text


def test_a_rare_text_search_stops_at_its_window_and_offers_to_go_further(tmp_path: Path) -> None:
    with running_console(tmp_path, console_search_window=1000) as running:
        client = signed_in_client(running.url, running.world.owner.email)
        page = client.get("/console/logs", {"range": "all", "q": "Ümlaut-never-there"})
        assert "No matches among the newest events searched so far" in page.text
        older = html.unescape(re.findall(r'href="([^"]+)" rel="next"', page.text)[0])
        assert "Search older events" in page.text
        assert client.get(older).status_code == 200
        client.close()


# --- an event, anomalies ------------------------------------------------------------------------


def test_an_event_shows_its_exact_bytes_neighbours_and_verified_inclusion(
    shared: RunningConsole, owner: PageClient
) -> None:
    event = shared.world.events(actions=("user_login",))[5]
    page = owner.get(f"/console/events/{event['id']}")
    exact = re.search(r'<pre class="json" tabindex="0"><code>(.*?)</code></pre>', page.text, re.S)
    assert exact is not None
    stored = shared.world.store.events_by_id(shared.world.org_id, [event["id"]])[0].body
    assert html.unescape(exact.group(1)).encode() == stored
    assert "<strong>Verified.</strong>" in page.text
    assert "Same session" in page.text
    assert "Same IP address" in page.text
    assert f"actor={event['actor']['user']['id']}" in page.text
    missing = owner.get("/console/events/no-such-event")
    assert missing.status_code == 404


def test_an_anomaly_links_to_the_events_that_triggered_it(
    shared: RunningConsole, owner: PageClient
) -> None:
    listing = owner.get("/console/anomalies", {"range": "all"})
    for anomaly_id in shared.world.anomaly_ids:
        assert f"/console/events/{anomaly_id}" in listing.text
    assert "excessive_downloads" in listing.text
    assert "Amsterdam, North Holland" in listing.text
    assert latest(shared, "audit_logs_records_searched")["details"]["view"] == "anomalies"
    detail = owner.get(f"/console/events/{shared.world.anomaly_ids[0]}")
    for trigger in shared.world.trigger_ids:
        assert f'href="/console/events/{trigger}"' in detail.text
    actor = shared.world.events(actions=("anomaly",))[0]["actor"]["user"]["id"]
    timeline = owner.get("/console/anomalies", {"range": "all", "actor": actor})
    assert f"timeline of {actor}" in timeline.text


def test_hostile_markup_in_every_field_is_shown_as_text(
    shared: RunningConsole, owner: PageClient
) -> None:
    pages = [
        owner.get("/console/logs", {"range": "all", "actor": HOSTILE_ACTOR}).text,
        owner.get(f"/console/events/{shared.world.hostile_id}").text,
        owner.get("/console/logs", {"range": "all", "q": HOSTILE[:40]}).text,
        owner.get("/console/counts", {"range": "all", "q": "<b>"}).text,
    ]
    for text in pages:
        assert HOSTILE not in text
        assert "<img src=x" not in text
        assert "<b>" not in text
    assert html.escape(HOSTILE) in pages[0] or "&lt;script&gt;" in pages[0]
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in pages[1]


# --- apps and tokens ------------------------------------------------------------------------------


def test_apps_and_tokens_are_listed_with_scopes_installer_and_last_use(
    shared: RunningConsole, owner: PageClient
) -> None:
    assert api(shared, shared.world.app_token).status_code == 200
    page = owner.get("/console/apps").text
    assert "Acme SIEM" in page
    assert "<code>auditlogs:read</code>" in page
    assert shared.world.owner.name in page
    assert shared.world.operator_token_id in page
    assert "SIEM collector (operator)" in page
    used = [t.last_used_at for t in shared.world.store.list_tokens(shared.world.org_id)]
    assert all(format_time(u) in page for u in used if u is not None)


def test_revoking_a_token_is_recorded_and_the_api_refuses_it(fresh: RunningConsole) -> None:
    world = fresh.world
    client = signed_in_client(fresh.url, world.admin.email)
    page = client.get("/console/apps")
    forged = client.post("/console/tokens/revoke", {"token_id": world.operator_token_id})
    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    assert api(fresh, world.operator_token).status_code == 200
    form = hidden_fields(page.text) | {"token_id": world.operator_token_id}
    done = client.post("/console/tokens/revoke", form)
    assert done.headers["location"] == f"/console/apps?revoked={world.operator_token_id}"
    assert api(fresh, world.operator_token).status_code == 401
    event = latest(fresh, "audit_logs_token_revoked")
    assert event["actor"]["user"]["id"] == world.admin.id
    assert event["details"]["token_id"] == world.operator_token_id
    assert "secret" not in orjson.dumps(event).decode()
    assert "was revoked" in client.get(done.headers["location"]).text
    client.close()


def test_uninstalling_an_app_ends_its_tokens(fresh: RunningConsole) -> None:
    world = fresh.world
    client = signed_in_client(fresh.url, world.owner.email)
    form = hidden_fields(client.get("/console/apps").text)
    form |= {"installation_id": world.installation.id}
    form.pop("token_id", None)
    assert client.post("/console/installations/uninstall", form).status_code == 303
    assert api(fresh, world.app_token).status_code == 401
    assert latest(fresh, "org_app_uninstalled")["actor"]["user"]["id"] == world.owner.id
    client.close()


# --- exports ----------------------------------------------------------------------------------


def export(client: PageClient, fmt: str, **fields: str) -> httpx.Response:
    form = hidden_fields(client.get("/console/logs", {"range": "all"}).text)
    form = {"csrf_token": form["csrf_token"], "format": fmt, **fields}
    return client.post("/console/export", form)


def api_entries(running: RunningConsole, **params: Any) -> list[bytes]:
    """Every entry of the API for a filter, as raw JSON bytes of each entry."""
    found: list[bytes] = []
    cursor = ""
    while True:
        body = api(running, running.world.operator_token, limit=1000, cursor=cursor, **params)
        data = body.json()
        found += [orjson.dumps(e) for e in data["entries"]]
        cursor = data["response_metadata"]["next_cursor"]
        if not cursor:
            return found


def test_an_exported_range_is_what_the_api_serves(
    shared: RunningConsole, owner: PageClient
) -> None:
    newest = shared.world.newest
    oldest, latest_ = newest - 86400, newest - 3600
    answer = export(owner, "jsonl", **{"from": str(oldest), "to": str(latest_)})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].endswith('.jsonl"')
    lines = answer.content.splitlines()
    expected = api_entries(shared, oldest=oldest, latest=latest_)
    assert len(lines) == len(expected) > 1000
    assert [orjson.dumps(orjson.loads(line)) for line in lines] == expected
    recorded = latest(shared, "audit_logs_export_json_started")
    assert recorded["details"]["filters"] == {"range": "custom", "from": str(oldest),
                                              "to": str(latest_)}  # fmt: skip
    assert (answer.headers["x-export-oldest"], answer.headers["x-export-latest"]) == (
        str(oldest),
        str(latest_),
    )


def test_a_csv_export_has_a_record_per_event_and_is_recorded(
    shared: RunningConsole, owner: PageClient
) -> None:
    answer = export(owner, "csv", range="all", action="anomaly")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    records = answer.text.split("\r\n")
    assert records[0].startswith("id,date_create,time_utc,action")
    assert len([r for r in records[1:] if r.count(",anomaly,")]) == 2
    assert latest(shared, "audit_logs_export_csv_started")["details"]["filters"]["action"] == (
        "anomaly"
    )
    bad = owner.post("/console/export", {"format": "csv", "range": "all"})
    assert bad.status_code == 403


# --- no 500, whatever is asked ----------------------------------------------------------------

CONSOLE_URLS = ("/console/logs", "/console/counts", "/console/anomalies", "/console/apps",
                "/console/events/x", "/console/", "/console/zz")  # fmt: skip
NAMES = ("range", "from", "to", "action", "actor", "entity", "workspace", "ip", "session", "q",
         "limit", "cursor", "tag", "partial", "revoked", "x")  # fmt: skip
values = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["all", "custom", "1", "anomaly", "user_login,anomaly", "2024-02-30", "-1", "1e999", "::1",
     "999999999999999999999", "%", "_", "\\", "'", "AQAAAABrB4GP", "<script>"]
)  # fmt: skip


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(CONSOLE_URLS),
    params=st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=6),
    raw=st.text(max_size=30),
)
def test_no_query_string_makes_a_console_page_fail(
    owner: PageClient, path: str, params: list[tuple[str, str]], raw: str
) -> None:
    answer = owner.client.get(path, params=params)
    assert answer.status_code < 500, (path, params, answer.text[:300])
    rawer = owner.client.get(f"{path}?{quote(raw, safe='=&%')}")
    assert rawer.status_code < 500, (path, raw)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event_id=st.text(max_size=200))
def test_no_event_id_makes_the_event_page_fail(owner: PageClient, event_id: str) -> None:
    answer = owner.client.get("/console/events/" + quote(event_id, safe=""))
    assert answer.status_code < 500


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(("/console/tokens/revoke", "/console/installations/uninstall",
                          "/console/export", "/console/logs")),
    form=st.dictionaries(st.sampled_from(("csrf_token", "token_id", "installation_id", "format",
                                          "range", "q", "x")), values, max_size=5),
)  # fmt: skip
def test_no_forged_form_makes_a_change_or_fails(
    shared: RunningConsole, owner: PageClient, path: str, form: dict[str, str]
) -> None:
    answer = owner.client.post(path, data=form)
    assert answer.status_code in (403, 405), (path, form, answer.text[:300])
    assert api(shared, shared.world.operator_token).status_code == 200


def test_the_links_of_a_page_all_work(shared: RunningConsole, owner: PageClient) -> None:
    seen: set[str] = set()
    for start in ("/console/logs?range=all", f"/console/events/{shared.world.anomaly_ids[0]}"):
        for link in LINK.findall(owner.get(start).text)[:60]:
            target = html.unescape(link)
            if target in seen or "/static/" in target:
                continue
            seen.add(target)
            assert owner.get(target).status_code == 200, target
    assert LogFilter() is not None
