"""The console's event page and its neighbours, proof states, windowed exports and the edges of
the apps page, on a live server over the console world (no JavaScript).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from console_world import RunningConsole, running_console, sign_checkpoint
from oauth_world import CATALOG, PageClient, hidden_fields, signed_in_client
from trailkeeper.console.pages import Reader, event_detail, proof_status
from trailkeeper.console.search import EventQuery
from trailkeeper.integrity.service import IntegrityService


@pytest.fixture
def site(tmp_path: Path) -> Iterator[RunningConsole]:
    with running_console(tmp_path, console_search_window=1000) as running:
        yield running


@pytest.fixture
def owner(site: RunningConsole) -> Iterator[PageClient]:
    client = signed_in_client(site.url, site.world.owner.email)
    yield client
    client.close()


def service(site: RunningConsole) -> IntegrityService:
    return IntegrityService(site.world.store, "trailkeeper.local", record_event=lambda *a: None)


def test_an_event_after_the_last_checkpoint_is_pending_until_the_next(
    site: RunningConsole, owner: PageClient
) -> None:
    newest = site.world.events()[0]["id"]  # a search the owner made, after the checkpoint
    page = owner.get(f"/console/events/{newest}").text
    assert "Not yet covered." in page
    sign_checkpoint(site.world.store, site.world.org_id)
    assert "<strong>Verified.</strong>" in owner.get(f"/console/events/{newest}").text


def test_an_event_edited_in_the_database_fails_its_proof(site: RunningConsole) -> None:
    store, org = site.world.store, site.world.org_id
    victim = site.world.events(actions=("user_login",))[3]
    forged = orjson.dumps({**victim, "action": "user_logout"})
    store._execute("UPDATE events SET body = ? WHERE id = ?", (forged, victim["id"]))  # type: ignore[attr-defined]
    status = proof_status(service(site), org, victim["id"])
    assert status.state in ("failed", "unavailable")
    assert status.message


def test_no_checkpoint_at_all_is_pending(tmp_path: Path) -> None:
    with running_console(tmp_path) as running:
        store = running.world.store
        store._execute("DELETE FROM checkpoints")  # type: ignore[attr-defined]
        event_id = running.world.events()[0]["id"]
        status = proof_status(service(running), running.world.org_id, event_id)
        assert status.state == "pending"


def test_the_neighbourhood_of_an_event(site: RunningConsole) -> None:
    world = site.world
    event = world.events(actions=("file_downloaded",))[10]
    reader = Reader(world.store, CATALOG, world.org_id, 50_000)
    row = reader.event(event["id"])
    assert row is not None
    detail = event_detail(reader, row, lambda i: proof_status(service(site), world.org_id, i))
    titles = [n.title for n in detail.related]
    assert titles[1:] == ["Same session", f"Same IP address ({event['context']['ip_address']})"]
    for neighbourhood in detail.related:
        assert event["id"] not in [e.id for e in neighbourhood.events]
        assert len(neighbourhood.events) <= 10
    same_ip = detail.related[2].events
    assert all(e.ip == event["context"]["ip_address"] for e in same_ip)
    assert detail.anomaly is None
    assert detail.triggers == []
    assert orjson.loads(detail.exact) == event


def test_an_export_of_a_text_search_reads_every_window(
    site: RunningConsole, owner: PageClient
) -> None:
    person = site.world.events(actions=("file_downloaded",))[0]["actor"]["user"]
    form = hidden_fields(owner.get("/console/logs").text)
    answer = owner.post(
        "/console/export",
        {"csrf_token": form["csrf_token"], "format": "jsonl", "range": "all",
         "q": person["email"]},
    )  # fmt: skip
    exported = [orjson.loads(line)["id"] for line in answer.content.splitlines()]
    wanted = [e["id"] for e in site.world.events() if person["email"] in orjson.dumps(e).decode()]
    assert exported == wanted[: len(exported)]
    assert len(exported) >= len(wanted) - 2  # the log grew by the export's own records


def test_an_export_with_a_bad_filter_is_refused_and_not_recorded(
    site: RunningConsole, owner: PageClient
) -> None:
    form = hidden_fields(owner.get("/console/logs").text)
    answer = owner.post(
        "/console/export", {"csrf_token": form["csrf_token"], "format": "csv", "ip": "nope"}
    )
    assert answer.status_code == 400
    assert "Not an IP address." in html.unescape(answer.text)
    odd = owner.post("/console/export", {"csrf_token": form["csrf_token"], "format": "xml"})
    assert odd.status_code == 400
    assert site.world.events(actions=("audit_logs_export_csv_started",)) == []


def test_the_anomalies_of_one_actor_page_on_the_apis_cursor(
    site: RunningConsole, owner: PageClient
) -> None:
    reader = Reader(site.world.store, CATALOG, site.world.org_id, 1000)
    first = reader.anomalies(EventQuery(), None, 1)
    assert len(first.anomalies) == 1
    assert first.next_position is not None
    second = reader.anomalies(EventQuery(), first.next_position, 1)
    assert second.anomalies[0].event.id != first.anomalies[0].event.id
    page = owner.get("/console/anomalies", {"range": "all"}).text
    assert page.count('class="panel anomaly-card"') == 2


def test_unknown_tokens_and_foreign_installations_are_not_found(
    site: RunningConsole, owner: PageClient
) -> None:
    form = hidden_fields(owner.get("/console/apps").text)
    csrf = {"csrf_token": form["csrf_token"]}
    missing = owner.post("/console/tokens/revoke", csrf | {"token_id": "tok_nope"})
    assert missing.status_code == 404
    foreign = owner.post("/console/installations/uninstall", csrf | {"installation_id": "I0NOPE"})
    assert foreign.status_code == 404
    assert site.world.events(actions=("audit_logs_token_revoked",)) == []


def test_revoked_tokens_are_listed_after_active_ones_without_a_button(
    site: RunningConsole, owner: PageClient
) -> None:
    site.world.store.revoke_token(site.world.operator_token_id, site.world.newest)
    page = owner.get("/console/apps").text
    rows = re.findall(r"<tr( class=\"revoked\")?>\s*<td data-label=\"Token\">", page)
    assert rows == ["", ' class="revoked"']
    assert f"Revoke token {site.world.operator_token_id}" not in page


def test_signing_out_of_the_console_comes_back_to_it(
    site: RunningConsole, owner: PageClient
) -> None:
    form = hidden_fields(owner.get("/console/apps").text)
    answer = owner.post("/signout", {"csrf_token": form["csrf_token"], "next": "/console/logs"})
    assert answer.headers["location"] == "/signin?next=%2Fconsole%2Flogs&signed_out=1"
    assert owner.get("/console/logs").status_code == 303
    assert site.world.events(actions=("user_logout",))[0]["actor"]["user"]["id"] == (
        site.world.owner.id
    )


def test_problems_are_shown_next_to_their_fields(owner: PageClient) -> None:
    page = owner.get("/console/logs", {"from": "soon", "ip": "1.2.3", "action": "nope"}).text
    assert 'aria-invalid="true" aria-describedby="f-from-error"' in page
    assert 'id="f-ip-error">Not an IP address.</span>' in page
    assert "Unknown action “nope”." in page
    assert 'class="log"' in page
    assert "<tbody>\n  \n  </tbody>" in page
