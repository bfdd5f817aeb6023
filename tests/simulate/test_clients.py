"""Simulated clients as the detector's UA parser sees them; versions only go up."""

from __future__ import annotations

import pytest

from trailkeeper.detect.clients import parse_client
from trailkeeper.simulate.clients import (
    CADENCE_S,
    EPOCH,
    ODD_UAS,
    SCRIPT_UAS,
    SERVICE_UAS,
    TOR_BROWSER_UA,
    Device,
    fingerprint,
    script_fingerprint,
    user_agent,
)

DAY = 86_400


@pytest.mark.parametrize(
    ("family", "os", "kind"),
    [
        ("slack-desktop", "mac", "slack-desktop"),
        ("slack-desktop", "windows", "slack-desktop"),
        ("chrome", "windows", "browser"),
        ("edge", "windows", "browser"),
        ("firefox", "linux", "browser"),
        ("safari", "mac", "browser"),
        ("slack-ios", "ios", "slack-mobile"),
        ("slack-android", "android", "slack-mobile"),
    ],
)
def test_people_clients_parse_as_interactive_clients(family: str, os: str, kind: str) -> None:
    for release in (0, 5, 17):
        assert parse_client(user_agent(family, os, release)).kind == kind


@pytest.mark.parametrize("ua", SCRIPT_UAS + SERVICE_UAS)
def test_scripts_and_sdks_parse_as_programs(ua: str) -> None:
    assert parse_client(ua).is_script


@pytest.mark.parametrize("ua", [*ODD_UAS, TOR_BROWSER_UA])
def test_attackers_browsers_parse_as_browsers(ua: str) -> None:
    assert parse_client(ua).kind == "browser"


@pytest.mark.parametrize("family", ["slack-desktop", "chrome", "firefox", "slack-ios"])
def test_versions_only_go_up(family: str) -> None:
    versions = [parse_client(user_agent(family, "mac", r)).version for r in range(30)]
    assert versions == sorted(versions)
    assert len(set(versions)) > 10


def test_a_device_upgrades_after_its_lag() -> None:
    eager = Device("desktop", "slack-desktop", "mac", 0, EPOCH)
    late = Device("desktop", "slack-desktop", "mac", 20 * DAY, EPOCH)
    release_day = EPOCH + 10 * CADENCE_S
    assert eager.release(release_day) == 10
    assert late.release(release_day) == 9
    assert late.release(release_day + 20 * DAY) == 10
    assert eager.ua(release_day) != eager.ua(release_day - 1)


def test_fingerprints_follow_the_tls_stack() -> None:
    desktop = Device("desktop", "slack-desktop", "mac", 0, EPOCH)
    phone = Device("mobile", "slack-ios", "ios", 0, EPOCH)
    months = [EPOCH + m * 30 * DAY for m in range(12)]
    assert len({desktop.fingerprint(t) for t in months}) > len(
        {phone.fingerprint(t) for t in months}
    )
    assert fingerprint("chrome", "mac", 1) == fingerprint("chrome", "mac", 1)
    assert script_fingerprint("python-requests/2.32.3") != fingerprint("chrome", "mac", 1)
