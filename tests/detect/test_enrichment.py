"""Enrichment from the operator's files: MMDB lookups, lists, hot reload, staleness; UA parsing."""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path

import pytest

from trailkeeper.detect.clients import parse_client
from trailkeeper.detect.enrichment import UNKNOWN, load_enrichment
from trailkeeper.detect.sources import build_range_table, parse_tor_exits

from .conftest import CHROME, DESKTOP, GO, IPHONE, SCRIPT, SDK
from .world import ip


def test_lookup_joins_city_asn_and_every_list(world_paths: dict[str, str]) -> None:
    e = load_enrichment(**world_paths)
    office = e.lookup(ip("office"))
    assert (office.country, office.city, office.region) == ("US", "New York", "New York")
    assert (office.asn, office.as_org) == (64500, "Acme Office NAT")
    assert office.location == "New York, New York"
    assert not (office.is_tor)
    assert not (office.is_cloud)
    assert not (office.in_ioc)
    assert not (office.is_vpn)
    assert e.lookup(ip("tor", 5)).is_tor
    cloud = e.lookup(ip("cloud"))
    assert cloud.is_cloud
    assert cloud.cloud_provider == "Cloudy"
    assert e.lookup(ip("ioc")).in_ioc
    assert e.lookup(ip("vpn")).is_vpn  # listed by ASN
    assert e.lookup(ip("suspicious")).asn_suspicious
    assert e.lookup(ip("v6_home")).city == "Boston"


def test_unknown_malformed_and_missing_addresses_say_nothing(world_paths: dict[str, str]) -> None:
    e = load_enrichment(**world_paths)
    assert e.lookup("192.0.2.1") == UNKNOWN
    assert e.lookup("not an ip") == UNKNOWN
    assert e.lookup(None) == UNKNOWN
    assert e.lookup("") == UNKNOWN


def test_no_files_at_all_is_a_working_empty_enrichment() -> None:
    e = load_enrichment(None, None, None, None, None)
    assert e.lookup("100.64.1.1") == UNKNOWN
    assert e.staleness_warnings() == []


def test_lookups_are_cached(world_paths: dict[str, str]) -> None:
    e = load_enrichment(**world_paths)
    for _ in range(5):
        e.lookup(ip("office"))
    assert e.cache_info().hits == 4


def test_a_changed_file_is_reloaded_after_the_check_interval(tmp_path: Path) -> None:
    tor = tmp_path / "tor.txt"
    tor.write_text("198.18.128.1\n")
    now = [1000.0]
    e = load_enrichment(None, None, str(tor), None, None, reload_check_s=10, clock=lambda: now[0])
    assert e.lookup("198.18.128.1").is_tor
    assert not e.lookup("198.18.128.2").is_tor
    tor.write_text("198.18.128.2\n")
    os.utime(tor, (time.time() + 5, time.time() + 5))
    assert not e.lookup("198.18.128.2").is_tor  # not checked yet: still the cached answer
    now[0] += 11
    assert e.lookup("198.18.128.2").is_tor
    assert not e.lookup("198.18.128.1").is_tor
    assert e.reloads == 1
    assert e.maybe_reload() is False  # nothing changed since


def test_a_file_that_breaks_keeps_its_previous_contents(tmp_path: Path) -> None:
    city = tmp_path / "city.mmdb"
    city.write_bytes(b"not a database")
    e = load_enrichment(str(city), None, None, None, None)
    assert "could not be loaded" in e.staleness_warnings()[0]


def test_old_files_are_reported_stale(world_paths: dict[str, str]) -> None:
    e = load_enrichment(**world_paths)
    three_days = time.time() + 3 * 86400
    warnings = e.staleness_warnings(now=three_days)
    assert len(warnings) == 1
    assert warnings[0].startswith("tor_exits:")
    assert len(e.staleness_warnings(now=time.time() + 90 * 86400)) == 7


def test_range_tables_take_cidrs_asns_labels_and_comments() -> None:
    table = build_range_table(
        "# hosting\n10.0.0.0/8 Big\n10.1.0.0/16 Small  # nested\nAS65000 X\nnope\n"
    )
    assert table.label_of(ipaddress.ip_address("10.1.2.3")) == "Small"
    assert table.label_of(ipaddress.ip_address("10.9.2.3")) == "Big"
    assert table.label_of(ipaddress.ip_address("11.0.0.1")) is None
    assert table.asn_label(65000) == "X"
    assert table.size == 3


def test_tor_lists_in_plain_and_tordnsel_formats() -> None:
    plain = parse_tor_exits("# exits\n198.18.128.1\n2001:db8::1\nbad\n")
    dnsel = parse_tor_exits(
        "ExitNode 0011\nPublished 2026-11-01 00:00:00\n"
        "ExitAddress 198.18.128.9 2026-11-01 01:00:00\n"
    )
    assert plain == {"198.18.128.1", "2001:db8::1"}
    assert dnsel == {"198.18.128.9"}


@pytest.mark.parametrize(
    ("ua", "family", "kind", "tool"),
    [
        (DESKTOP, "Slack Desktop", "slack-desktop", ""),
        (IPHONE, "Slack iOS", "slack-mobile", ""),
        ("com.Slack/24.11.10.0 (Android 15; Pixel 8)", "Slack Android", "slack-mobile", ""),
        (CHROME, "Chrome", "browser", ""),
        (SCRIPT, "Python Requests", "script", "Python-based tool"),
        (GO, "Go-http-client", "script", "Go-based tool"),
        ("curl/8.4.0", "curl", "script", "command-line tool"),
        (SDK, "Python Slack SDK", "sdk", "Python-based tool"),
        ("Java/17.0.2", "Java", "script", "Java-based tool"),
        ("", "", "empty", ""),
    ],
)
def test_clients_are_recognised(ua: str, family: str, kind: str, tool: str) -> None:
    client = parse_client(ua)
    assert (client.family, client.kind, client.tool) == (family, kind, tool)


def test_client_versions_and_keys_are_stable() -> None:
    desktop = parse_client(DESKTOP)
    assert desktop.version == (4, 41, 105)
    assert desktop.os == "Mac OS X"
    assert desktop.packed_version == 4041
    assert parse_client(DESKTOP) is desktop  # cached per string
    assert desktop.key == 1091982422  # crc32 of the family: the same in every process
