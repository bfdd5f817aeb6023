"""The console's walls, over HTTP on a live server with a real SQLite store: only the signed-in
organization's Owners and Admins get in, and only to their own organization; every form post
needs this browser's CSRF token; and no secret ever appears on any page or in any export.

A second organization (the rival) shares the store, with its own Owner, events, token and app
installation, so that every page can be checked for what it must not show.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest

from conftest import make_event
from console_world import RunningConsole, running_console
from oauth_world import (
    CATALOG,
    PASSWORD,
    PASSWORD_HASH,
    PageClient,
    hidden_fields,
    recording_change,
    signed_in_client,
)
from trailkeeper.directory import admin, apps, installations, users
from trailkeeper.directory.accounts import User
from trailkeeper.directory.activity import CLI_ORIGIN, ChangeContext, discard_events
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.recorder import Recorder
from trailkeeper.storage.base import Store

RIVAL_ORG, RIVAL_WS = "E0RIVAL", "T0RIVAL"
RIVAL_MARKER = "rival-only-marker-5d1c"
PAGES = ("/console/logs", "/console/counts", "/console/anomalies", "/console/apps")
POSTS = ("/console/tokens/revoke", "/console/installations/uninstall", "/console/export")
EXPIRED = "This form has expired"


@dataclass
class Rival:
    """Another organization in the same store: what the first one must never see or touch."""

    owner: User
    event_id: str
    token: str
    token_id: str
    installation_id: str
    client_secret: str


@dataclass
class Site:
    running: RunningConsole
    rival: Rival
    people: dict[str, User]  # extra people of the demo organization, by role label

    @property
    def store(self) -> Store:
        return self.running.world.store


def quiet_change() -> ChangeContext:
    return ChangeContext(None, CLI_ORIGIN, discard_events, int(time.time()))


def person(store: Store, uid: str, org_id: str, role: str, *, active: bool = True) -> User:
    """A person who can sign in with PASSWORD (unless inactive)."""
    spec = users.UserSpec(uid, org_id, f"Person {uid}", f"{uid.lower()}@example.org", role, active)
    created = users.create_user(store, spec, quiet_change())
    with_password = replace(created, password_hash=PASSWORD_HASH)
    store.put_user(with_password)
    return with_password


def add_rival(store: Store) -> Rival:
    admin.create_organization(store, RIVAL_ORG, "Rival Corp", "rival")
    admin.create_workspace(store, RIVAL_WS, RIVAL_ORG, "Rival HQ", "rival-hq")
    owner = person(store, "U0RIVALOWNER", RIVAL_ORG, "owner")
    event = make_event(
        "file_downloaded",
        actor="U0RIVALACTOR",
        location=RIVAL_WS,
        date=int(time.time()) - 60,
        entity={"type": "file", "file": {"id": "F0RIVAL", "name": RIVAL_MARKER}},
        details={"note": RIVAL_MARKER},
    )
    event_id = Recorder(store, CATALOG).record(event)
    token, record = admin.issue_token(store, RIVAL_ORG, frozenset({READ_SCOPE}), RIVAL_MARKER)
    app, secret = apps.create_app(
        store, "Rival SIEM", ["https://rival.example/cb"], ([READ_SCOPE], []), now=int(time.time())
    )
    scopes = (frozenset({READ_SCOPE}), frozenset[str]())
    installed = installations.install(store, app, None, scopes, recording_change(store, owner))
    return Rival(owner, event_id, token, record.id, installed.id, secret)


def add_people(store: Store, org_id: str) -> dict[str, User]:
    return {
        "guest": person(store, "W0GUESTX", org_id, "guest"),
        "second_admin": person(store, "U0SECONDADMIN", org_id, "admin"),
        "inactive_admin": person(store, "U0GONEADMIN", org_id, "admin", active=False),
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_console(tmp_path_factory.mktemp("access")) as running:
        store = running.world.store
        yield Site(running, add_rival(store), add_people(store, running.world.org_id))


@pytest.fixture(scope="module")
def owner(site: Site) -> Iterator[PageClient]:
    client = signed_in_client(site.running.url, site.running.world.owner.email)
    yield client
    client.close()


@pytest.fixture(scope="module")
def rival_owner(site: Site) -> Iterator[PageClient]:
    client = signed_in_client(site.running.url, site.rival.owner.email)
    yield client
    client.close()


def api_status(site: Site, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=site.running.url, trust_env=False) as client:
        return client.get("/audit/v1/logs", params={"limit": 1}, headers=headers).status_code


def csrf_of(client: PageClient) -> str:
    return hidden_fields(client.get("/console/apps").text)["csrf_token"]


def form_for(site: Site, path: str, csrf: str | None) -> dict[str, str]:
    """A complete, meaningful form for each console post, with the given CSRF token (or none)."""
    world = site.running.world
    fields = {
        "/console/tokens/revoke": {"token_id": world.operator_token_id},
        "/console/installations/uninstall": {"installation_id": world.installation.id},
        "/console/export": {"format": "jsonl", "range": "all"},
    }[path]
    return fields if csrf is None else {**fields, "csrf_token": csrf}


def world_tokens_work(site: Site) -> bool:
    world = site.running.world
    return api_status(site, world.operator_token) == api_status(site, world.app_token) == 200


# --- who gets in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/console/events/anything"])
def test_a_signed_out_visitor_is_sent_to_sign_in_from_every_page(site: Site, path: str) -> None:
    client = PageClient(site.running.url)
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=")
    client.close()


@pytest.mark.parametrize("path", POSTS)
def test_a_signed_out_post_changes_nothing_and_goes_to_sign_in(site: Site, path: str) -> None:
    client = PageClient(site.running.url)
    csrf = hidden_fields(client.get("/signin").text)["csrf_token"]
    before = site.store.count_events(site.running.world.org_id)
    answer = client.post(path, form_for(site, path, csrf))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin")
    assert site.store.count_events(site.running.world.org_id) == before
    assert world_tokens_work(site)
    client.close()


@pytest.mark.parametrize("role", ["guest", "member"])
def test_members_and_guests_are_refused_on_every_page(site: Site, role: str) -> None:
    who = site.people.get(role) or site.running.world.member
    client = signed_in_client(site.running.url, who.email)
    event_page = f"/console/events/{site.running.world.hostile_id}"
    for path in (*PAGES, event_page, "/console/logs?range=all&q=script"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "user_not_authorized" in answer.text
        assert "<script>alert" not in answer.text
    client.close()


@pytest.mark.parametrize("path", POSTS)
def test_a_member_with_a_valid_csrf_token_still_changes_and_exports_nothing(
    site: Site, path: str
) -> None:
    client = signed_in_client(site.running.url, site.running.world.member.email)
    csrf = hidden_fields(client.get("/console/logs").text)["csrf_token"]
    before = site.store.count_events(site.running.world.org_id)
    answer = client.post(path, form_for(site, path, csrf))
    assert answer.status_code == 403
    assert site.running.world.hostile_id not in answer.text
    assert site.store.count_events(site.running.world.org_id) == before
    assert world_tokens_work(site)
    client.close()


def test_an_inactive_admin_cannot_sign_in_to_the_console(site: Site) -> None:
    client = PageClient(site.running.url)
    client.sign_in(site.people["inactive_admin"].email)
    answer = client.get("/console/logs")
    assert answer.status_code in (303, 403)
    assert site.running.world.hostile_id not in answer.text
    client.close()


def test_an_admin_demoted_while_signed_in_is_refused_at_the_next_page(site: Site) -> None:
    second = site.people["second_admin"]
    client = signed_in_client(site.running.url, second.email)
    assert client.get("/console/logs").status_code == 200
    site.store.put_user(replace(site.store.get_user(second.id) or second, role="member"))
    try:
        assert client.get("/console/logs").status_code == 403
        assert client.get("/console/apps").status_code == 403
    finally:
        site.store.put_user(replace(site.store.get_user(second.id) or second, role="admin"))
    assert client.get("/console/logs").status_code == 200
    client.close()


def test_a_wrong_password_gives_no_console(site: Site) -> None:
    client = PageClient(site.running.url)
    client.sign_in(site.running.world.owner.email, password=PASSWORD + "!")
    assert client.get("/console/logs").status_code == 303
    client.close()


# --- one organization never sees another ----------------------------------------------------------


def test_the_rival_owner_sees_only_the_rival_organizations_log(
    site: Site, rival_owner: PageClient
) -> None:
    page = rival_owner.get("/console/logs?range=all&limit=200").text
    assert site.rival.event_id in page
    assert RIVAL_MARKER in page
    world = site.running.world
    assert world.hostile_id not in page
    assert not any(event_id in page for event_id in world.anomaly_ids)
    assert "Acme Corp" not in page


def test_an_event_of_another_organization_is_not_found_by_id(
    site: Site, owner: PageClient, rival_owner: PageClient
) -> None:
    mine = owner.get(f"/console/events/{site.rival.event_id}")
    assert mine.status_code == 404
    assert RIVAL_MARKER not in mine.text
    theirs = rival_owner.get(f"/console/events/{site.running.world.hostile_id}")
    assert theirs.status_code == 404
    assert "F0HOSTILE" not in theirs.text


@pytest.mark.parametrize("path", ["/console/logs", "/console/anomalies", "/console/counts"])
def test_searching_for_another_organizations_text_finds_none_of_its_events(
    site: Site, owner: PageClient, path: str
) -> None:
    # The search itself is recorded in the searcher's own log (with its text), so the page is
    # checked for the rival's event and actor, which only the rival's log holds.
    answer = owner.get(path, {"range": "all", "q": RIVAL_MARKER})
    assert answer.status_code == 200
    assert site.rival.event_id not in answer.text
    assert "U0RIVALACTOR" not in answer.text


def test_the_console_home_leads_a_signed_out_visitor_to_sign_in(site: Site) -> None:
    client = PageClient(site.running.url)
    home = client.get("/console/")
    assert home.headers["location"] == "/console/logs"
    assert client.get(home.headers["location"]).headers["location"].startswith("/signin?next=")
    client.close()


def test_filtering_by_another_organizations_workspace_shows_none_of_its_events(
    site: Site, owner: PageClient
) -> None:
    page = owner.get("/console/logs", {"range": "all", "workspace": RIVAL_WS}).text
    assert site.rival.event_id not in page


def test_the_apps_page_lists_only_the_organizations_own_tokens_and_installations(
    site: Site, owner: PageClient, rival_owner: PageClient
) -> None:
    mine = owner.get("/console/apps").text
    assert site.running.world.operator_token_id in mine
    assert site.rival.token_id not in mine
    assert site.rival.installation_id not in mine
    assert "Rival SIEM" not in mine
    theirs = rival_owner.get("/console/apps").text
    assert site.rival.token_id in theirs
    assert "Rival SIEM" in theirs
    assert site.running.world.operator_token_id not in theirs
    assert site.running.world.installation.id not in theirs


def test_an_owner_cannot_revoke_another_organizations_token(site: Site, owner: PageClient) -> None:
    form = {"csrf_token": csrf_of(owner), "token_id": site.rival.token_id}
    answer = owner.post("/console/tokens/revoke", form)
    assert answer.status_code == 404
    assert api_status(site, site.rival.token) == 200


def test_an_owner_cannot_uninstall_another_organizations_app(site: Site, owner: PageClient) -> None:
    form = {"csrf_token": csrf_of(owner), "installation_id": site.rival.installation_id}
    answer = owner.post("/console/installations/uninstall", form)
    assert answer.status_code == 404
    installation = site.store.get_installation(site.rival.installation_id)
    assert installation is not None
    assert installation.revoked_at is None


def test_an_export_holds_only_the_organizations_own_events(
    site: Site, rival_owner: PageClient
) -> None:
    form = {"csrf_token": csrf_of(rival_owner), "format": "jsonl", "range": "all"}
    answer = rival_owner.post("/console/export", form)
    assert answer.status_code == 200
    assert site.rival.event_id.encode() in answer.content
    assert site.running.world.hostile_id.encode() not in answer.content
    assert site.running.world.org_id.encode() not in answer.content


# --- CSRF on every post ---------------------------------------------------------------------------


def csrf_variants(site: Site, owner: PageClient) -> dict[str, str | None]:
    """Tokens that must all be refused for `owner`: none, garbage, another browser's, its own
    token with one character changed, and one far too long."""
    other = signed_in_client(site.running.url, site.people["second_admin"].email)
    others = csrf_of(other)
    other.close()
    own = csrf_of(owner)
    flipped = own[:-1] + ("A" if own[-1] != "A" else "B")
    return {
        "missing": None,
        "empty": "",
        "random": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        "another-session": others,
        "one-character-changed": flipped,
        "too-long": own + "x" * 64,
        "non-ascii": "é" * 43,
    }


@pytest.mark.parametrize("path", POSTS)
def test_every_post_without_this_browsers_csrf_token_is_refused_and_changes_nothing(
    site: Site, owner: PageClient, path: str
) -> None:
    org_id = site.running.world.org_id
    for name, csrf in csrf_variants(site, owner).items():
        before = site.store.count_events(org_id)
        answer = owner.post(path, form_for(site, path, csrf))
        assert answer.status_code == 403, name
        assert EXPIRED in answer.text, name
        assert site.store.count_events(org_id) == before, name
        assert world_tokens_work(site), name


@pytest.mark.parametrize("path", POSTS)
def test_a_cross_site_post_with_a_valid_token_is_refused(
    site: Site, owner: PageClient, path: str
) -> None:
    before = site.store.count_events(site.running.world.org_id)
    form = form_for(site, path, csrf_of(owner))
    answer = owner.post(path, form, **{"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403
    assert site.store.count_events(site.running.world.org_id) == before
    assert world_tokens_work(site)


def test_a_csrf_token_stops_working_after_signing_out_and_in_again(site: Site) -> None:
    world = site.running.world
    client = signed_in_client(site.running.url, world.owner.email)
    old = csrf_of(client)
    assert client.post("/signout", {"csrf_token": old}).status_code == 303
    assert client.sign_in(world.owner.email).status_code == 303
    answer = client.post("/console/tokens/revoke", form_for(site, "/console/tokens/revoke", old))
    assert answer.status_code == 403
    assert world_tokens_work(site)
    client.close()


def test_signing_out_needs_the_csrf_token_too(site: Site) -> None:
    client = signed_in_client(site.running.url, site.people["second_admin"].email)
    assert client.post("/signout", {}).status_code == 403
    assert client.get("/console/logs").status_code == 200
    client.close()


def test_the_same_valid_post_is_accepted_so_the_refusals_are_about_the_token(
    site: Site, owner: PageClient
) -> None:
    answer = owner.post("/console/export", form_for(site, "/console/export", csrf_of(owner)))
    assert answer.status_code == 200
    assert site.running.world.hostile_id.encode() in answer.content
