"""The labelled stream: deterministic by seed, every scenario and tier present and labelled,
benign noise present, and every event and signal acceptable to the real validators."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from trailkeeper.catalog import load_catalog
from trailkeeper.detect.signals import parse_signal
from trailkeeper.simulate.attacks import SCENARIOS, TIERS
from trailkeeper.simulate.population import ORG_ID
from trailkeeper.simulate.records import uuid4_text
from trailkeeper.simulate.stream import SimConfig, Stream, build_stream
from trailkeeper.validation import EventRejected, ResolvedLocation, prepare_event

from .conftest import stream_for

TINY = SimConfig(users=60, days=4, warmup_days=1)
STREAM_FILES = ("events.ndjson", "signals.ndjson", "labels.ndjson", "campaigns.json")


def kind_of(stream: Stream, ip: str) -> str:
    net = stream.world.locate(ip)
    return net.kind if net else "unknown"


def test_the_same_seed_gives_the_same_stream() -> None:
    a, b = build_stream(TINY, 11), build_stream(TINY, 11)
    assert a.events == b.events
    assert a.signals == b.signals
    assert a.labels == b.labels
    assert a.campaigns == b.campaigns


def test_another_seed_gives_another_stream() -> None:
    a, b = stream_for(TINY, 11), build_stream(TINY, 12)
    assert [e["id"] for e in a.events[:50]] != [e["id"] for e in b.events[:50]]


def test_events_and_signals_are_in_time_order(small_stream: Stream) -> None:
    dates = [e["date_create"] for e in small_stream.events]
    assert dates == sorted(dates)
    signal_dates = [s["date"] for s in small_stream.signals]
    assert signal_dates == sorted(signal_dates)
    merged = [ts for ts, _, _ in small_stream.items()]
    assert merged == sorted(merged)


def test_every_scenario_and_tier_has_a_campaign(small_stream: Stream) -> None:
    cells = Counter((c.scenario, c.tier) for c in small_stream.campaigns)
    assert set(cells) == {(s, t) for s in SCENARIOS for t in TIERS}


def test_every_campaign_is_labelled_inside_its_window(small_stream: Stream) -> None:
    times = {e["id"]: e["date_create"] for e in small_stream.events}
    times |= {s["id"]: s["date"] for s in small_stream.signals}
    by_campaign: dict[str, list[int]] = defaultdict(list)
    for item_id, label in small_stream.labels.items():
        by_campaign[label.campaign_id].append(times[item_id])
    for c in small_stream.campaigns:
        stamps = by_campaign[c.id]
        assert stamps, c.id
        assert c.start <= min(stamps)
        assert max(stamps) <= c.end + 3600
        assert c.start >= small_stream.scored_start
        assert c.victim in c.actors


def test_campaigns_carry_the_variants_the_metrics_slice_on(small_stream: Stream) -> None:
    keys = {c.scenario: set(c.variant) for c in small_stream.campaigns}
    assert keys["S1"] == {"exfil_k"}
    assert keys["S3"] == {"network", "ua", "fingerprint"}
    assert keys["S4"] == {"k"}
    assert keys["S5"] == {"mode"}


def test_tor_campaigns_use_listed_exits(small_stream: Stream) -> None:
    exits = set(small_stream.world.tor_exits)
    s2 = {c.id for c in small_stream.campaigns if c.scenario == "S2"}
    ips = {
        e["context"]["ip_address"]
        for e in small_stream.events
        if e["id"] in small_stream.labels and small_stream.labels[e["id"]].campaign_id in s2
    }
    assert ips
    assert ips <= exits


def test_admin_escalation_victims_are_admins(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    for c in small_stream.campaigns:
        if c.scenario == "S6":
            assert people[c.victim].role == "admin"
            assert len(c.actors) == 2


def test_benign_noise_is_present(small_stream: Stream) -> None:
    unlabelled = [e for e in small_stream.events if e["id"] not in small_stream.labels]
    kinds = Counter(kind_of(small_stream, e["context"]["ip_address"]) for e in unlabelled)
    for kind in ("residential", "mobile", "office", "hotel", "vpn", "hosting"):
        assert kinds[kind] > 0, kind
    actions = Counter(e["action"] for e in unlabelled)
    assert actions["user_created"] > 0  # joiners
    assert actions["user_deactivated"] > 0  # leavers
    assert actions["role_change_to_admin"] > 0  # a benign promotion
    assert actions["user_login_failed"] > 0  # typos


def test_service_accounts_run_scripts_without_sessions(small_stream: Stream) -> None:
    services = {p.id for p in small_stream.population.people if p.role == "service"}
    theirs = [e for e in small_stream.events if e["actor"]["user"]["id"] in services]
    assert theirs
    assert all(e["context"]["session_id"] is None for e in theirs)
    assert all(kind_of(small_stream, e["context"]["ip_address"]) == "hosting" for e in theirs)


def test_homes_churn_addresses_and_clients_upgrade(small_stream: Stream) -> None:
    homes: dict[str, set[str]] = defaultdict(set)
    uas: dict[str, set[str]] = defaultdict(set)
    for e in small_stream.events:
        if e["id"] in small_stream.labels:
            continue
        who, ctx = e["actor"]["user"]["id"], e["context"]
        if kind_of(small_stream, ctx["ip_address"]) == "residential":
            homes[who].add(ctx["ip_address"])
        if "Slack/" in ctx["ua"]:
            uas[who].add(ctx["ua"])
    assert sum(len(v) > 1 for v in homes.values()) > 20  # DHCP churn (and IPv6)
    assert sum(len(v) > 1 for v in uas.values()) > 5  # desktop upgrades
    assert any(ipaddress.ip_address(ip).version == 6 for v in homes.values() for ip in v)


def test_some_people_have_legit_bulk_download_hours(small_stream: Stream) -> None:
    per_hour = Counter(
        (e["actor"]["user"]["id"], e["date_create"] // 3600)
        for e in small_stream.events
        if e["action"] == "file_downloaded" and e["id"] not in small_stream.labels
    )
    assert max(per_hour.values()) >= 15


def test_travellers_reach_hotels_abroad(small_stream: Stream) -> None:
    trips = [t for p in small_stream.population.people for t in p.trips]
    assert any(t.city.country not in ("US", "GB", "DE", "IN", "BR") for t in trips)
    assert any(t.inflight for t in trips)


def test_every_event_passes_the_real_validation(small_stream: Stream) -> None:
    catalog = load_catalog()

    def resolve(kind: str, location_id: str) -> ResolvedLocation:
        return ResolvedLocation(ORG_ID, "Simulated Org", "sim-org")

    problems = Counter()
    for event in small_stream.events:
        try:
            prepare_event(event, catalog, resolve, now=small_stream.end, max_event_bytes=1 << 20)
        except EventRejected as exc:
            problems[(event["action"], exc.reason)] += 1
    assert problems == Counter()


def test_every_signal_passes_the_real_validation(small_stream: Stream) -> None:
    for signal in small_stream.signals:
        plain = {k: v for k, v in signal.items() if k != "id"}
        parsed = parse_signal(plain, signal["date"])
        assert parsed.actor_id == signal["actor_id"]


@pytest.mark.parametrize("users", [10, 49])
def test_too_small_a_simulation_is_refused(users: int) -> None:
    with pytest.raises(ValueError, match="at least 50 users"):
        build_stream(SimConfig(users=users, days=3), 1)


def test_the_stream_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        command = [sys.executable, "-m", "trailkeeper", "simulate", "--users", "60", "--days", "3"]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([*command, "--seed", "4", "--out", str(out)], check=True, env=env)
        outputs.append([(out / name).read_bytes() for name in STREAM_FILES])
    assert outputs[0] == outputs[1]


def test_event_ids_are_version_4_uuids() -> None:
    rng = random.Random(5)
    expected = str(uuid.UUID(int=random.Random(5).getrandbits(128), version=4))
    assert uuid4_text(rng) == expected
