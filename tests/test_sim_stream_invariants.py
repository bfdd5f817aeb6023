"""Invariants of a whole simulated stream: documented address ranges and private ASNs only,
every attack item labelled (and nothing else), campaigns inside the scored window, long-lived
sessions, monotone client versions, and the files `write_stream` renders, byte for byte."""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from trailkeeper.detect.clients import parse_client
from trailkeeper.simulate.attacks import EXPECTED_REASONS, SCENARIOS, TIERS
from trailkeeper.simulate.behaviour import Behaviour, BehaviourConfig
from trailkeeper.simulate.population import DAY, PopulationConfig, build_population
from trailkeeper.simulate.presence import SESSION_LIFE_DAYS, Sessions, device_at
from trailkeeper.simulate.records import Emitter
from trailkeeper.simulate.stream import SimConfig, Stream, build_stream, write_stream
from trailkeeper.simulate.world import FIRST_ASN, V4_CONSUMER, V4_SERVER, V6_POOL, build_world

CONFIG = SimConfig(users=150, days=10)
SEED = 6
RANGES = (V4_CONSUMER, V4_SERVER, V6_POOL)
STREAM_FILES = ("events.ndjson", "signals.ndjson", "labels.ndjson", "campaigns.json")


@pytest.fixture(scope="module")
def stream() -> Stream:
    return build_stream(CONFIG, SEED)


def normal_item_ids(config: SimConfig, seed: int) -> set[str]:
    """The ids of the stream's items when no attack is injected (behaviour alone)."""
    world = build_world(seed)
    pop = build_population(world, PopulationConfig(config.users, config.start, config.days), seed)
    em = Emitter(seed)
    habits = BehaviourConfig(config.legit_bulk_rate, config.usage_sample)
    Behaviour(em, world, pop, Sessions(pop.start, pop.end), seed, habits).run()
    return {e["id"] for e in em.events} | {s["id"] for s in em.signals}


def addresses(stream: Stream) -> set[str]:
    ips = {e["context"]["ip_address"] for e in stream.events}
    return ips | {s["ip_address"] for s in stream.signals}


def times_of(stream: Stream) -> dict[str, int]:
    times = {e["id"]: e["date_create"] for e in stream.events}
    return times | {s["id"]: s["date"] for s in stream.signals}


def unlabelled(stream: Stream) -> list[dict[str, Any]]:
    return [e for e in stream.events if e["id"] not in stream.labels]


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def tree_digest(directory: Path) -> dict[str, str]:
    """Digests of every written file; the manifest without its (absolute) data-file paths, and
    no MMDB (they carry their build time: see test_sim_world_files)."""
    digests = {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != "manifest.json" and p.suffix != ".mmdb"
    }
    manifest = orjson.loads((directory / "manifest.json").read_bytes())
    del manifest["data_files"]
    return digests | {"manifest.json": hashlib.sha256(orjson.dumps(manifest)).hexdigest()}


# --- addresses -----------------------------------------------------------------------------------


def test_every_address_comes_from_the_documented_ranges(stream: Stream) -> None:
    for ip in addresses(stream):
        address = ipaddress.ip_address(ip)
        assert any(address in pool for pool in RANGES), ip


def test_every_address_belongs_to_a_network_with_a_private_asn(stream: Stream) -> None:
    for ip in addresses(stream):
        net = stream.world.locate(ip)
        assert net is not None, ip
        assert 64512 <= FIRST_ASN <= net.asn <= 65534


def test_both_ip_versions_and_every_pool_are_used(stream: Stream) -> None:
    used = Counter(
        next(str(pool) for pool in RANGES if ipaddress.ip_address(ip) in pool)
        for ip in addresses(stream)
    )
    assert set(used) == {str(pool) for pool in RANGES}


# --- labels and campaigns ------------------------------------------------------------------------


def test_the_labelled_items_are_exactly_what_the_attacks_added(stream: Stream) -> None:
    everything = {e["id"] for e in stream.events} | {s["id"] for s in stream.signals}
    normal = normal_item_ids(CONFIG, SEED)
    assert normal <= everything  # attacks add items, never change normal behaviour
    assert everything - normal == set(stream.labels)


def test_labels_name_a_campaign_of_the_stream_and_its_scenario(stream: Stream) -> None:
    campaigns = {c.id: c for c in stream.campaigns}
    for label in stream.labels.values():
        assert campaigns[label.campaign_id].scenario == label.scenario
        assert label.phase


def test_labelled_events_are_done_by_the_campaigns_actors(stream: Stream) -> None:
    campaigns = {c.id: c for c in stream.campaigns}
    for e in stream.events:
        label = stream.labels.get(e["id"])
        if label is not None:
            assert e["actor"]["user"]["id"] in campaigns[label.campaign_id].actors or (
                label.scenario == "S7"  # a spray fails on many accounts besides the actors
            )


def test_campaigns_start_in_the_scored_window_and_end_inside_the_span(stream: Stream) -> None:
    assert stream.scored_start == stream.start + CONFIG.warmup * DAY
    for c in stream.campaigns:
        assert stream.scored_start <= c.start <= c.end < stream.end


def test_campaign_bounds_are_their_first_and_last_labelled_item(stream: Stream) -> None:
    times = times_of(stream)
    stamps: dict[str, list[int]] = defaultdict(list)
    for item_id, label in stream.labels.items():
        stamps[label.campaign_id].append(times[item_id])
    for c in stream.campaigns:
        assert (c.start, c.end) == (min(stamps[c.id]), max(stamps[c.id]))


def test_victims_are_distinct_established_accounts(stream: Stream) -> None:
    victims = [c.victim for c in stream.campaigns]
    assert len(set(victims)) == len(victims)
    for victim in victims:
        person = stream.population.by_id[victim]
        assert person.joined < stream.start
        assert person.left is None
        assert person.role in ("member", "admin")


def test_each_scenario_and_tier_gets_per_cell_campaigns(stream: Stream) -> None:
    cells = Counter((c.scenario, c.tier) for c in stream.campaigns)
    assert cells == Counter({(s, t): CONFIG.per_cell for s in SCENARIOS for t in TIERS})
    assert len({c.id for c in stream.campaigns}) == len(stream.campaigns)


def test_campaign_ids_name_their_seed(stream: Stream) -> None:
    assert all(c.id.startswith(f"c{SEED}-") for c in stream.campaigns)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "warmup", "per_cell"),
    [
        (SimConfig(users=2000, days=30), 10, 4),
        (SimConfig(users=499, days=2), 1, 1),
        (SimConfig(users=1000, days=45, warmup_days=15, campaigns_per_cell=3), 15, 3),
    ],
)
def test_warmup_and_campaigns_per_cell_default_from_the_size(
    config: SimConfig, warmup: int, per_cell: int
) -> None:
    assert (config.warmup, config.per_cell) == (warmup, per_cell)


def test_more_campaigns_per_cell_inject_more_campaigns() -> None:
    config = SimConfig(users=120, days=6, campaigns_per_cell=2)
    cells = Counter((c.scenario, c.tier) for c in build_stream(config, 3).campaigns)
    assert set(cells.values()) == {2}


def test_too_short_a_simulation_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 days"):
        build_stream(SimConfig(users=60, days=1), 1)


# --- sessions and clients ------------------------------------------------------------------------


def test_session_epochs_last_as_long_as_their_device_kind_allows(stream: Stream) -> None:
    sessions = Sessions(stream.start, stream.end)
    for p in stream.population.people[:80]:
        for index, device in enumerate(p.devices):
            starts, _ = sessions.epochs(p, index)
            short, long = SESSION_LIFE_DAYS[device.kind]
            for a, b in itertools.pairwise(starts):
                assert short * DAY - 1 <= b - a <= long * DAY


def test_desktop_sessions_outlive_a_working_day(stream: Stream) -> None:
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for e in unlabelled(stream):
        sid = e["context"]["session_id"]
        if sid is not None and "Slack/" in e["context"]["ua"]:
            first.setdefault(sid, e["date_create"])
            last[sid] = e["date_create"]
    spans = sorted(last[s] - first[s] for s in first)
    assert spans[len(spans) // 2] > 3 * DAY
    assert spans[-1] <= 30 * DAY


def test_a_login_opens_each_session_and_failures_carry_no_session(stream: Stream) -> None:
    logins = Counter(
        e["context"]["session_id"] for e in unlabelled(stream) if e["action"] == "user_login"
    )
    assert max(logins.values()) == 1
    failed = [e for e in stream.events if e["action"] == "user_login_failed"]
    assert failed
    assert all(e["context"]["session_id"] is None for e in failed)


def test_a_devices_release_never_goes_down(stream: Stream) -> None:
    for p in stream.population.people:
        for device in p.devices:
            releases = [device.release(t) for t in range(stream.start, stream.end, DAY // 2)]
            assert releases == sorted(releases)


def test_within_a_session_the_client_version_never_goes_down(stream: Stream) -> None:
    versions: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for e in unlabelled(stream):
        sid = e["context"]["session_id"]
        if sid is not None:
            versions[sid].append(parse_client(e["context"]["ua"]).version)
    assert all(v == sorted(v) for v in versions.values())
    assert any(len(set(v)) > 1 for v in versions.values())  # some upgrade inside a session


def test_a_persons_client_version_never_goes_down_when_a_new_computer_arrives() -> None:
    world, start, days = build_world(1), 1_767_571_200, 60
    pop = build_population(world, PopulationConfig(1000, start, days), 1)
    for p in pop.people:
        for kind in {d.kind for d in p.devices}:
            ticks = range(start, start + days * DAY, DAY // 4)
            chosen = [(t, device_at(p, kind, t)) for t in ticks]
            releases = [p.devices[i].release(t) for t, i in chosen if i is not None]
            assert releases == sorted(releases), p.id


# --- the stream's order and files ----------------------------------------------------------------


def test_items_merge_events_before_signals_of_the_same_second(stream: Stream) -> None:
    merged = list(stream.items())
    assert len(merged) == len(stream.events) + len(stream.signals)
    for (t1, k1, _), (t2, k2, _) in itertools.pairwise(merged):
        assert (t1, k1 == "signal") <= (t2, k2 == "signal")


def test_written_files_are_the_stream_itself(stream: Stream, tmp_path: Path) -> None:
    write_stream(stream, tmp_path)
    events = [orjson.loads(line) for line in (tmp_path / "events.ndjson").read_bytes().splitlines()]
    signals = [
        orjson.loads(line) for line in (tmp_path / "signals.ndjson").read_bytes().splitlines()
    ]
    assert events == stream.events
    assert signals == stream.signals


def test_the_label_file_is_sorted_and_complete(stream: Stream, tmp_path: Path) -> None:
    write_stream(stream, tmp_path)
    labels = read_ndjson(tmp_path / "labels.ndjson")
    assert [label["id"] for label in labels] == sorted(stream.labels)
    assert all(set(label) == {"id", "campaign_id", "scenario", "phase"} for label in labels)


def test_the_campaign_file_carries_variants_and_expected_reasons(
    stream: Stream, tmp_path: Path
) -> None:
    write_stream(stream, tmp_path)
    records = orjson.loads((tmp_path / "campaigns.json").read_bytes())
    assert [r["id"] for r in records] == [c.id for c in stream.campaigns]
    for record, c in zip(records, stream.campaigns, strict=True):
        assert record["expected_reasons"] == sorted(EXPECTED_REASONS[c.scenario])
        assert record["variant"] == dict(c.variant)
        assert record["actors"] == list(c.actors)


def test_the_manifest_describes_the_run(stream: Stream, tmp_path: Path) -> None:
    files = write_stream(stream, tmp_path)
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["seed"] == SEED
    assert SimConfig(**manifest["config"]) == CONFIG
    assert (manifest["start"], manifest["scored_start"], manifest["end"]) == (
        stream.start,
        stream.scored_start,
        stream.end,
    )
    assert manifest["events"] == len(stream.events)
    assert manifest["signals"] == len(stream.signals)
    assert manifest["campaigns"] == len(stream.campaigns)
    assert all(Path(path).is_file() for path in manifest["data_files"].values())
    assert manifest["data_files"]["city_mmdb"] == files.city_mmdb


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    stream: Stream, tmp_path: Path
) -> None:
    write_stream(stream, tmp_path / "a")
    write_stream(build_stream(CONFIG, SEED), tmp_path / "b")
    write_stream(build_stream(CONFIG, SEED + 1), tmp_path / "c")
    a, b, c = (tree_digest(tmp_path / name) for name in "abc")
    assert a == b
    assert all(a[name] != c[name] for name in STREAM_FILES)
