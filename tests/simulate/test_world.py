"""The synthetic world: documentation/shared ranges only, MMDB files that `maxminddb` and the
production enrichment read, and list files in the operator formats."""

from __future__ import annotations

import ipaddress
import itertools
import random
from pathlib import Path

import maxminddb
import pytest

from trailkeeper.detect.enrichment import load_enrichment
from trailkeeper.detect.sources import build_range_table, parse_tor_exits
from trailkeeper.simulate.datafiles import WorldFiles, write_world_files
from trailkeeper.simulate.world import V4_CONSUMER, V4_SERVER, V6_POOL, World, build_world

POOLS = (V4_CONSUMER, V4_SERVER, V6_POOL)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(5)


@pytest.fixture(scope="module")
def files(world: World, tmp_path_factory: pytest.TempPathFactory) -> WorldFiles:
    return write_world_files(world, tmp_path_factory.mktemp("world"))


def test_every_network_is_carved_from_the_synthetic_pools(world: World) -> None:
    for net in world.networks:
        network = ipaddress.ip_network(net.cidr)
        pools = [str(pool) for pool in POOLS if pool.version == network.version]
        assert any(network.subnet_of(ipaddress.ip_network(pool)) for pool in pools)


def test_networks_do_not_overlap_and_locate_finds_them(world: World) -> None:
    rng = random.Random(1)
    for version in (4, 6):
        nets = sorted((n for n in world.networks if n.version == version), key=lambda n: n.first)
        assert all(a.last < b.first for a, b in itertools.pairwise(nets))
    for net in world.networks:
        assert world.locate(net.pick(rng)) == net


def test_the_world_has_every_kind_of_network(world: World) -> None:
    kinds = {n.kind for n in world.networks}
    expected = {"residential", "mobile", "office", "hotel", "relay", "hosting", "vpn"}
    assert expected | {"tor-host", "satellite"} <= kinds
    assert 1000 <= len(world.tor_exits) <= 2000
    assert world.ioc
    assert world.suspicious_asns


def test_the_same_seed_builds_the_same_world() -> None:
    assert build_world(9).tor_exits == build_world(9).tor_exits


def test_city_mmdb_has_geolite2_city_records(world: World, files: WorldFiles) -> None:
    net = world.networks_of("residential", "US", "Austin")[0]
    with maxminddb.open_database(files.city_mmdb) as reader:
        assert reader.metadata().database_type == "GeoLite2-City"
        record = reader.get(net.pick(random.Random(2)))
    assert isinstance(record, dict)
    assert record["country"]["iso_code"] == "US"
    assert record["country"]["names"]["en"] == "United States"
    assert {"latitude", "longitude", "accuracy_radius"} <= set(record["location"])
    if net.geo is not None:
        assert record["city"]["names"]["en"] == net.geo.name
        assert record["subdivisions"][0]["names"]["en"] == net.geo.region


def test_asn_mmdb_has_geolite2_asn_records(world: World, files: WorldFiles) -> None:
    net = world.networks_of("mobile", "DE")[0]
    with maxminddb.open_database(files.asn_mmdb) as reader:
        record = reader.get(net.pick(random.Random(3)))
    assert record == {
        "autonomous_system_number": net.asn,
        "autonomous_system_organization": net.org,
    }


def test_ipv6_networks_are_in_the_databases(world: World, files: WorldFiles) -> None:
    net = next(n for n in world.networks if n.version == 6)
    with maxminddb.open_database(files.asn_mmdb) as reader:
        record = reader.get(net.pick(random.Random(4)))
    assert isinstance(record, dict)
    assert record["autonomous_system_number"] == net.asn


def test_list_files_parse_with_the_production_parsers(world: World, files: WorldFiles) -> None:
    assert parse_tor_exits(Path(files.tor_exits).read_text()) == frozenset(world.tor_exits)
    cloud = build_range_table(Path(files.cloud_ranges).read_text())
    hosting = world.networks_of("hosting")[0]
    assert cloud.label_of(ipaddress.ip_address(hosting.pick(random.Random(5)))) == hosting.org
    assert build_range_table(Path(files.ioc_list).read_text()).size == len(world.ioc)
    assert build_range_table(Path(files.suspicious_asns).read_text()).asns


def test_production_enrichment_classifies_the_world(world: World, files: WorldFiles) -> None:
    enrichment = load_enrichment(
        files.city_mmdb,
        files.asn_mmdb,
        files.tor_exits,
        files.cloud_ranges,
        files.ioc_list,
        vpn_ranges=files.vpn_ranges,
        suspicious_asns=files.suspicious_asns,
    )
    rng = random.Random(6)
    tor = enrichment.lookup(world.tor_exits[0])
    assert tor.is_tor
    assert tor.is_cloud
    vpn = enrichment.lookup(world.networks_of("vpn", "GB")[0].pick(rng))
    assert vpn.is_vpn
    assert vpn.country == "GB"
    home = enrichment.lookup(world.networks_of("residential", "IN")[0].pick(rng))
    assert not (home.is_cloud)
    assert not (home.is_vpn)
    assert not (home.is_tor)
    assert not (home.in_ioc)
    bad = world.networks_of("hosting", "RU")[0]
    assert enrichment.lookup(str(ipaddress.IPv4Address(bad.first + 5))).in_ioc
