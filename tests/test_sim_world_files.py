"""The synthetic world as data: every network's MMDB records read back with `maxminddb` as the
world describes them, list files in their formats, ASNs and pools, and determinism by seed."""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import math
import random
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import maxminddb
import mmdb_writer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.simulate.datafiles import WorldFiles, write_world_files
from trailkeeper.simulate.geography import (
    ALL_COUNTRIES,
    ATTACK_COUNTRIES,
    COUNTRY_BY_ISO,
    HOME_COUNTRIES,
    HOME_MIX,
    OFFICE_CITIES,
    distance_km,
    haversine_km,
)
from trailkeeper.simulate.world import (
    FIRST_ASN,
    SUSPICIOUS_HOSTING,
    TOR_EXITS,
    V4_CONSUMER,
    V4_SERVER,
    V6_POOL,
    VPN_COUNTRIES,
    VPN_PROVIDERS,
    Network,
    World,
    asn_record,
    build_world,
    city_record,
)

SEED = 7
DATA_FILES = (
    "city_mmdb",
    "asn_mmdb",
    "tor_exits",
    "cloud_ranges",
    "ioc_list",
    "vpn_ranges",
    "suspicious_asns",
)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(SEED)


@pytest.fixture(scope="module")
def files(world: World, tmp_path_factory: pytest.TempPathFactory) -> WorldFiles:
    return write_world_files(world, tmp_path_factory.mktemp("world"))


def host_of(net: Network) -> str:
    return net.pick(random.Random(net.cidr))


def digests(files: WorldFiles) -> dict[str, str]:
    return {
        name: hashlib.sha256(Path(getattr(files, name)).read_bytes()).hexdigest()
        for name in DATA_FILES
    }


def list_lines(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ")
    return lines[1:]


# --- MMDB files: what maxminddb reads is what the world says --------------------------------------


def test_every_network_reads_back_its_city_record(world: World, files: WorldFiles) -> None:
    with maxminddb.open_database(files.city_mmdb) as reader:
        for net in world.networks:
            assert reader.get(host_of(net)) == city_record(net), net.cidr


def test_every_network_reads_back_its_asn_record(world: World, files: WorldFiles) -> None:
    with maxminddb.open_database(files.asn_mmdb) as reader:
        for net in world.networks:
            assert reader.get(host_of(net)) == asn_record(net), net.cidr


def test_the_first_and_last_address_of_a_network_are_inside_its_record(
    world: World, files: WorldFiles
) -> None:
    with maxminddb.open_database(files.asn_mmdb) as reader:
        for net in world.networks[::7]:
            first, last = ipaddress.ip_network(net.cidr)[0], ipaddress.ip_network(net.cidr)[-1]
            record, prefix = reader.get_with_prefix_len(str(first))
            assert record == asn_record(net)
            assert prefix >= ipaddress.ip_network(net.cidr).prefixlen
            assert reader.get(str(last)) == asn_record(net)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "100.63.255.255"])
def test_real_and_neighbouring_addresses_are_not_in_the_databases(
    files: WorldFiles, ip: str
) -> None:
    with (
        maxminddb.open_database(files.city_mmdb) as city,
        maxminddb.open_database(files.asn_mmdb) as asn,
    ):
        assert city.get(ip) is None
        assert asn.get(ip) is None


def test_the_databases_declare_geolite2_types_and_both_ip_versions(files: WorldFiles) -> None:
    for path, kind in ((files.city_mmdb, "GeoLite2-City"), (files.asn_mmdb, "GeoLite2-ASN")):
        with maxminddb.open_database(path) as reader:
            meta = reader.metadata()
            assert meta.database_type == kind
            assert meta.ip_version == 6
            assert "simulation only" in meta.description["en"]


def test_country_only_networks_carry_no_city_but_the_hubs_coordinates(world: World) -> None:
    coarse = [n for n in world.networks if n.geo is None]
    assert coarse  # the second mobile carrier of each home country, for one
    for net in coarse:
        record = city_record(net)
        hub = COUNTRY_BY_ISO[net.country].hub
        assert "city" not in record
        assert "subdivisions" not in record
        assert record["location"] == {
            "latitude": hub.lat,
            "longitude": hub.lon,
            "accuracy_radius": net.accuracy_km,
        }


def test_geo_ip_errs_for_some_residential_blocks_but_never_across_countries(world: World) -> None:
    residential = [n for n in world.networks if n.kind == "residential"]
    misplaced = [n for n in residential if n.geo != n.city]
    assert 0 < len(misplaced) < 0.4 * len(residential)  # ~15% geolocated to the hub
    for net in misplaced:
        assert net.geo == COUNTRY_BY_ISO[net.country].hub
        assert net.accuracy_km == 100
    assert all(n.geo is not None and n.geo.country == n.country for n in residential)


# --- list files ----------------------------------------------------------------------------------


def test_the_tor_list_holds_every_exit_once_in_address_order(
    world: World, files: WorldFiles
) -> None:
    exits = list_lines(files.tor_exits)
    assert len(exits) == len(set(exits)) == TOR_EXITS
    assert exits == sorted(exits, key=lambda ip: int(ipaddress.ip_address(ip)))
    for ip in exits[::50]:
        net = world.locate(ip)
        assert net is not None
        assert net.kind == "tor-host"


def test_range_lists_name_each_network_of_their_kinds_with_its_provider(
    world: World, files: WorldFiles
) -> None:
    cloud = [line.split(" ", 1) for line in list_lines(files.cloud_ranges)]
    vpn = [line.split(" ", 1) for line in list_lines(files.vpn_ranges)]
    by_cidr = {n.cidr: n for n in world.networks}
    assert {by_cidr[c].kind for c, _ in cloud} == {"hosting", "tor-host"}
    assert {by_cidr[c].kind for c, _ in vpn} == {"vpn", "relay"}
    assert all(by_cidr[c].org == org for c, org in cloud + vpn)
    hosting = sum(n.kind in ("hosting", "tor-host") for n in world.networks)
    assert len(cloud) == hosting


def test_the_ioc_list_covers_only_attack_country_and_bullet_proof_hosting(
    world: World, files: WorldFiles
) -> None:
    attack = {c.iso for c in ATTACK_COUNTRIES}
    lines = list_lines(files.ioc_list)
    assert lines == list(world.ioc)
    for cidr in lines:
        block = ipaddress.ip_network(cidr)
        assert block.prefixlen == 26
        net = world.locate(str(block[1]))
        assert net is not None
        assert net.kind == "hosting"
        assert net.country in attack or net.org in SUSPICIOUS_HOSTING
        assert int(block.network_address) == net.first


def test_the_suspicious_asn_list_is_exactly_the_bullet_proof_hosters(
    world: World, files: WorldFiles
) -> None:
    listed = [int(line.removeprefix("AS")) for line in list_lines(files.suspicious_asns)]
    assert sorted(world.systems[n].org for n in listed) == sorted(SUSPICIOUS_HOSTING)


# --- pools, numbering, layout --------------------------------------------------------------------


def test_asns_are_private_use_numbers_one_per_organization(world: World) -> None:
    numbers = sorted(world.systems)
    assert numbers[0] == FIRST_ASN == 64512
    assert numbers == list(range(FIRST_ASN, FIRST_ASN + len(numbers)))
    assert numbers[-1] <= 65534  # stays inside the 16-bit private-use range
    orgs = Counter(s.org for s in world.systems.values())
    assert max(orgs.values()) == 1
    assert all(world.systems[n.asn].org == n.org for n in world.networks)


def inside(net: Network, pool: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return int(pool.network_address) <= net.first <= net.last <= int(pool.broadcast_address)


def test_kinds_live_in_their_pools(world: World) -> None:
    servers = {"hosting", "vpn", "tor-host", "satellite"}
    for net in world.networks:
        if net.version == 6:
            assert inside(net, V6_POOL), net
        elif net.kind in servers:
            assert inside(net, V4_SERVER), net
        else:
            assert inside(net, V4_CONSUMER), net


def test_first_and_last_match_the_cidr(world: World) -> None:
    for net in world.networks:
        block = ipaddress.ip_network(net.cidr)
        assert (net.first, net.last, net.version) == (
            int(block.network_address),
            int(block.broadcast_address),
            block.version,
        )


@given(st.integers(min_value=0, max_value=2**32))
@settings(max_examples=60, deadline=None)
def test_picked_hosts_are_never_the_network_or_broadcast_address(seed: int) -> None:
    world = build_world(SEED)
    rng = random.Random(seed)
    net = rng.choice(world.networks)
    value = int(ipaddress.ip_address(net.pick(rng)))
    assert net.first < value < net.last


def test_every_home_city_has_three_isps_and_the_offices_have_a_nat(world: World) -> None:
    for country in HOME_COUNTRIES:
        for city in country.cities:
            isps = {n.org for n in world.networks_of("residential", country.iso, city.name)}
            assert len(isps) == 3
            offices = world.networks_of("office", country.iso, city.name)
            assert len(offices) == (1 if city.name in OFFICE_CITIES else 0)
        assert len({n.org for n in world.networks_of("mobile", country.iso)}) == 2


def test_every_vpn_provider_has_an_exit_in_every_vpn_country(world: World) -> None:
    for provider in VPN_PROVIDERS:
        countries = {n.country for n in world.networks_of("vpn") if n.org == provider}
        assert countries == set(VPN_COUNTRIES)


def test_the_in_flight_network_is_geolocated_to_new_york(world: World) -> None:
    (sky,) = world.networks_of("satellite")
    assert sky.geo is not None
    assert sky.geo.name == "New York"
    assert sky.city is None  # it is nowhere in truth


def test_locate_misses_addresses_between_and_outside_networks(world: World) -> None:
    assert world.locate("8.8.8.8") is None
    assert world.locate("2001:db9::1") is None
    v4 = sorted((n for n in world.networks if n.version == 4), key=lambda n: n.first)
    gaps = [a.last + 1 for a, b in itertools.pairwise(v4) if b.first > a.last + 1]
    assert gaps  # aligned allocation leaves holes
    assert all(world.locate(str(ipaddress.IPv4Address(g))) is None for g in gaps)


# --- determinism ---------------------------------------------------------------------------------


def test_the_same_seed_writes_identical_lists(world: World, tmp_path: Path) -> None:
    first = digests(write_world_files(world, tmp_path / "a"))
    again = digests(write_world_files(build_world(SEED), tmp_path / "b"))
    lists = [name for name in DATA_FILES if not name.endswith("mmdb")]
    assert [first[name] for name in lists] == [again[name] for name in lists]


def test_the_same_seed_writes_identical_databases_whenever_it_runs(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = digests(write_world_files(world, tmp_path / "a"))
    tomorrow = time.time() + 86_400
    monkeypatch.setattr(mmdb_writer, "time", SimpleNamespace(time=lambda: tomorrow))
    later = digests(write_world_files(world, tmp_path / "b"))
    assert (first["city_mmdb"], first["asn_mmdb"]) == (later["city_mmdb"], later["asn_mmdb"])


def test_another_seed_draws_other_exits_and_geo_errors(tmp_path: Path) -> None:
    a, b = build_world(1), build_world(2)
    assert [n.cidr for n in a.networks] == [n.cidr for n in b.networks]  # the layout is fixed
    assert a.tor_exits != b.tor_exits
    assert [n.geo for n in a.networks] != [n.geo for n in b.networks]
    files_a = write_world_files(a, tmp_path / "a")
    files_b = write_world_files(b, tmp_path / "b")
    assert digests(files_a)["tor_exits"] != digests(files_b)["tor_exits"]
    assert digests(files_a)["vpn_ranges"] == digests(files_b)["vpn_ranges"]


# --- geography -----------------------------------------------------------------------------------


def test_the_home_mix_is_a_distribution_over_the_home_countries() -> None:
    assert len(HOME_MIX) == len(HOME_COUNTRIES)
    assert math.isclose(sum(HOME_MIX), 1.0)
    assert HOME_COUNTRIES[0].iso == "US"
    assert HOME_MIX[0] == 0.60


def test_every_city_belongs_to_its_country_with_sane_coordinates() -> None:
    for country in ALL_COUNTRIES:
        assert COUNTRY_BY_ISO[country.iso] is country
        for city in country.cities:
            assert city.country == country.iso
            assert -90 <= city.lat <= 90
            assert -180 <= city.lon <= 180
            assert -12 <= city.tz_h <= 14


def test_known_distances_between_cities() -> None:
    london, new_york = COUNTRY_BY_ISO["GB"].hub, COUNTRY_BY_ISO["US"].hub
    assert distance_km(london, new_york) == pytest.approx(5570, rel=0.01)
    assert distance_km(london, london) == 0.0


coordinates = st.tuples(
    st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180)
)


@given(coordinates, coordinates)
def test_haversine_is_symmetric_and_bounded_by_half_the_circumference(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    d = haversine_km(*a, *b)
    assert d == pytest.approx(haversine_km(*b, *a), abs=1e-6)
    assert 0.0 <= d <= math.pi * 6371.0 + 1e-6


@given(coordinates, coordinates, coordinates)
def test_haversine_obeys_the_triangle_inequality(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> None:
    assert haversine_km(*a, *c) <= haversine_km(*a, *b) + haversine_km(*b, *c) + 1e-6
