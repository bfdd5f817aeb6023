"""The demo opens on real anomalies: `prepare_demo` (what `trailkeeper demo` runs) seeds the
organization, writes its IP world as the enrichment files detection loads, and runs the real
detection pipeline over the history. The injected attacks read back as Slack anomalies through
/audit/v1/logs with slack_sdk, and the server goes on detecting with the demo's files.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.audit_logs import AuditLogsClient

from conftest import serve_in_thread
from trailkeeper.catalog import load_catalog
from trailkeeper.config import load_settings
from trailkeeper.demo import demo_events, demo_organization
from trailkeeper.demo._data import FOREIGN_IPS, HOSTING_IPS, TOR_EXITS, TOR_UA
from trailkeeper.demo.enrichment import demo_ip_world, episode_addresses
from trailkeeper.detect.enrichment import load_enrichment
from trailkeeper.directory import admin
from trailkeeper.directory.records import WRITE_SCOPE
from trailkeeper.seed import demo_read_token
from trailkeeper.seed_detection import (
    DEMO_ENRICHMENT_DIR,
    DemoSeed,
    demo_detection_settings,
    prepare_demo,
)
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.web.app import create_app

END = 1_767_225_600  # 2026-01-01T00:00:00Z
ORG = demo_organization()
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


@dataclasses.dataclass
class Live:
    url: str
    store: SQLiteStore
    prepared: DemoSeed
    client: AuditLogsClient
    anomalies: list[Any]  # read back before anything else is posted


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SQLiteStore, DemoSeed]]:
    root = tmp_path_factory.mktemp("demo")
    settings = load_settings({}, data_dir=str(root), rate_limit_per_minute=0)
    store = SQLiteStore(str(root / "trailkeeper.db"))
    store.migrate()
    yield store, prepare_demo(store, settings, load_catalog(), now=END)
    store.close()


@pytest.fixture(scope="module")
def live(seeded: tuple[SQLiteStore, DemoSeed]) -> Iterator[Live]:
    store, prepared = seeded
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        server, thread, url = serve_in_thread(create_app(prepared.settings, store))
        client = AuditLogsClient(token=demo_read_token(store), base_url=f"{url}/audit/v1/")
        entries = list(client.logs(action="anomaly", limit=1000).typed_body.entries)
        yield Live(url, store, prepared, client, entries)
        server.should_exit = True
        thread.join(timeout=10)


def of(entries: list[Any], reasons: set[str]) -> list[Any]:
    """The anomalies whose reason set is exactly `reasons`."""
    return [e for e in entries if set(e.details.reason) == reasons]


def ip_details(entry: Any) -> list[str]:
    return list(entry.details.unknown_fields.get("ip_address_details") or [])


def test_every_demo_address_is_in_the_demo_ip_world() -> None:
    world = demo_ip_world(ORG)
    addresses = {ip for u in ORG.users for ip in u.ips} | set(episode_addresses())
    missing = [ip for ip in addresses if world.network_of(ip) is None]
    assert missing == []
    contexts = [e["context"] for e in demo_events(ORG, end=END, days=3)]
    seen = {str(c["ip_address"]) for c in contexts if isinstance(c, dict)}
    assert [ip for ip in seen if world.network_of(ip) is None] == []
    office = world.network_of(ORG.users[0].office_ip)
    assert office is not None
    assert (office.place.country, office.isp.kind) == (ORG.users[0].country, "office")


def test_the_files_are_written_in_the_data_dir_and_resolve_the_episodes(
    seeded: tuple[SQLiteStore, DemoSeed],
) -> None:
    _, prepared = seeded
    settings = prepared.settings
    assert Path(settings.detect_city_mmdb).parent.name == DEMO_ENRICHMENT_DIR
    assert Path(settings.detect_city_mmdb).parent.parent == Path(settings.data_dir)
    enrichment = load_enrichment(
        settings.detect_city_mmdb,
        settings.detect_asn_mmdb,
        settings.detect_tor_exits,
        settings.detect_cloud_ranges,
        None,
        suspicious_asns=settings.detect_suspicious_asns,
    )
    assert enrichment.lookup(TOR_EXITS[0]).is_tor
    hosting = enrichment.lookup(HOSTING_IPS[0])
    assert hosting.is_cloud
    assert hosting.asn_suspicious
    assert enrichment.lookup(FOREIGN_IPS[0]).location == "Changchun, Jilin"
    home = enrichment.lookup(ORG.users[0].home_ips[0])
    assert (home.country, home.is_cloud) == (ORG.users[0].country, False)
    assert enrichment.staleness_warnings() == []


def test_operator_files_are_kept(tmp_path: Path) -> None:
    theirs = load_settings({}, data_dir=str(tmp_path), detect_tor_exits="/srv/tor-exits.txt")
    assert demo_detection_settings(theirs) is theirs
    assert not (tmp_path / DEMO_ENRICHMENT_DIR).exists()


def test_the_injected_attacks_read_back_as_slack_anomalies(live: Live) -> None:
    found = live.anomalies
    assert len(found) == live.prepared.anomalies.total()
    assert len({e.id for e in found}) == len(found)
    assert 8 <= len(found) < 30  # the attacks, not a flood: 200 people over 30 days
    reasons = {r for e in found for r in e.details.reason}
    assert {"tor", "ip_address", "asn", "session_fingerprint"} <= reasons
    assert {"excessive_downloads", "unexpected_admin_action"} <= reasons

    assert all(e.context.ip_address in TOR_EXITS for e in found if "tor" in e.details.reason)
    travel = [e for e in of(found, {"ip_address"}) if e.context.ip_address in FOREIGN_IPS]
    assert [ip_details(e) for e in travel] == [["new-asn"]]  # the login 35 minutes later
    assert travel[0].details.unknown_fields["location"] == "Changchun, Jilin"
    sprayed = [e for e in found if "in-ioc-list" in ip_details(e)]  # auto-listed spray address
    assert sprayed
    assert {e.context.ip_address for e in sprayed} == {HOSTING_IPS[0]}
    hijacked = [e for e in found if "session_fingerprint" in e.details.reason]
    assert hijacked
    assert hijacked[0].details.unknown_fields["trailkeeper_evidence"]["baseline"]
    admins = {u.id for u in ORG.users if u.role == "admin"}
    (abused,) = of(found, {"asn", "ip_address"})  # the 2:40 a.m. admin on a hosting network
    assert (abused.context.ip_address, abused.actor.user.id in admins) == (HOSTING_IPS[1], True)
    (escalation,) = of(found, {"unexpected_admin_action"})
    assert escalation.actor.user.id == abused.actor.user.id


def test_the_leavers_mass_download_is_found(live: Live) -> None:
    deactivated = live.client.logs(action="user_deactivated", limit=100).typed_body.entries
    leavers = {e.entity.user.id for e in deactivated}
    downloads = of(live.anomalies, {"excessive_downloads"})
    assert any(e.actor.user.id in leavers for e in downloads)


def test_the_server_resumes_from_the_seeded_state_and_detects_with_the_demo_files(
    live: Live,
) -> None:
    store, org = live.store, ORG.id
    assert [s.org_id for s in store.detect_snapshots("detect:anomaly")] == [org]
    victim = next(u for u in ORG.users if u.role == "member")
    now = int(time.time())
    attack = {
        "id": str(uuid.uuid4()),
        "date_create": now,
        "action": "user_login",
        "actor": {"type": "user", "user": {"id": victim.id, "name": victim.name}},
        "entity": {"type": "user", "user": {"id": victim.id, "name": victim.name}},
        "context": {
            "location": {"type": "workspace", "id": victim.team},
            "ua": TOR_UA,
            "ip_address": TOR_EXITS[2],
            "session_id": 424242,
        },
    }
    write, _ = admin.issue_token(store, org, frozenset({WRITE_SCOPE}), "test write")
    headers = {"Authorization": f"Bearer {write}"}
    response = httpx.post(f"{live.url}/ingest/v1/events", json=[attack], headers=headers)
    assert response.json()["stored"] == 1
    deadline, new = time.monotonic() + 10, []
    while not new and time.monotonic() < deadline:
        time.sleep(0.05)
        entries = live.client.logs(action="anomaly", limit=1000).typed_body.entries
        new = [e for e in entries if e.context.session_id == 424242]
    assert len(new) == 1
    assert "tor" in new[0].details.reason
    assert len(entries) == len(live.anomalies) + 1  # no replayed history, no duplicates
