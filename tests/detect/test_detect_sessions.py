"""How a live session may change without an alarm (client upgrades, feasible travel, the actor's
own VPN) and which changes still raise `session_fingerprint` or `ip_address`.

Pure rules of `detect.sessions` on hand-made addresses, and end to end through the pipeline with
the detection tests' synthetic world (`detect.conftest`).
"""

from __future__ import annotations

from typing import Any

from trailkeeper.detect.clients import parse_client
from trailkeeper.detect.enrichment import IpInfo
from trailkeeper.detect.observation import Observation
from trailkeeper.detect.sessions import (
    fingerprint_changed,
    follow,
    has_position,
    is_upgrade,
    rebind_fingerprint,
    travel_kmh,
    unexplained_move,
)
from trailkeeper.detect.state import ActorState, SessionBinding, country_key
from trailkeeper.detect.tuning import Params

from .conftest import CHROME, DAY, DESKTOP, START, Story

ANN = "U0ANN"
T = 1_700_000_000.0
NEW_YORK = IpInfo(country="US", lat=40.71, lon=-74.0, asn=64500, accuracy_km=20)
PARIS = IpInfo(country="FR", lat=48.85, lon=2.35, asn=64506, accuracy_km=50)
IN_FLIGHT = IpInfo(country="US", lat=40.71, lon=-74.0, asn=64576, accuracy_km=1000)
VPN_DE = IpInfo(country="DE", lat=50.11, lon=8.68, asn=64511, accuracy_km=100, is_vpn=True)
CLOUD_NL = IpInfo(country="NL", lat=52.37, lon=4.9, asn=64510, accuracy_km=500, is_cloud=True)
DESKTOP_NEW = DESKTOP.replace("4.41.105", "4.42.110")
MAC_CHROME_NEW = CHROME.replace("130.0.0.0", "131.0.0.0")
LINUX_CHROME_NEW = MAC_CHROME_NEW.replace("Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64")


def seen(info: IpInfo, ts: float, ua: str = DESKTOP, fingerprint: str = "") -> Observation:
    """An observation of a session from an address."""
    return Observation(
        org_id="E0",
        ts=ts,
        action="file_downloaded",
        actor={"id": ANN},
        context={},
        ip="100.64.1.10",
        ua=ua,
        session_id=1,
        ip_info=info,
        client=parse_client(ua),
        fingerprint=fingerprint,
    )


def bound_at(info: IpInfo, ts: float = T, ua: str = DESKTOP) -> SessionBinding:
    """A session first seen at `info`, as learning binds it."""
    binding = SessionBinding(
        "100.64.1.10", ua, asn=info.asn or 0, country=country_key(info.country)
    )
    follow(binding, seen(info, ts, ua))
    return binding


# --- pure rules ----------------------------------------------------------------------------


def test_a_position_coarser_than_a_country_or_an_anonymiser_is_no_position() -> None:
    assert has_position(NEW_YORK)
    assert not has_position(IN_FLIGHT)
    assert not has_position(VPN_DE)
    assert not has_position(IpInfo(country="US"))


def test_a_flight_to_paris_is_feasible_and_a_jump_in_minutes_is_not() -> None:
    binding = bound_at(NEW_YORK)
    assert (travel_kmh(binding, PARIS, T + 9 * 3600) or 0) < 900
    assert (travel_kmh(binding, PARIS, T + 600) or 0) > 5000
    assert travel_kmh(binding, IN_FLIGHT, T + 600) is None


def test_a_move_within_geo_ip_error_needs_no_speed() -> None:
    binding = bound_at(NEW_YORK)
    near = IpInfo(country="US", lat=40.9, lon=-74.1, asn=64501, accuracy_km=20)
    assert travel_kmh(binding, near, T + 60) == 0.0


def test_an_impossible_move_to_another_country_is_travel() -> None:
    actor = ActorState(T)
    assert unexplained_move(bound_at(NEW_YORK), seen(PARIS, T + 900), actor, Params()) == "travel"


def test_a_feasible_move_is_explained_and_remembered_as_a_place() -> None:
    actor, binding = ActorState(T), bound_at(NEW_YORK)
    arrival = seen(PARIS, T + 10 * 3600)
    assert unexplained_move(binding, arrival, actor, Params()) is None
    follow(binding, arrival)
    # back and forth between the hotel and the roaming phone's home-country address: quiet
    assert binding.has_place(country_key("FR"))
    assert binding.has_place(country_key("US"))
    assert unexplained_move(binding, seen(PARIS, T + 10 * 3600 + 60), actor, Params()) is None


def test_a_vpn_exit_abroad_says_nothing_about_travel() -> None:
    actor = ActorState(T)
    assert unexplained_move(bound_at(NEW_YORK), seen(VPN_DE, T + 60), actor, Params()) is None


def test_a_cloud_host_abroad_is_a_country_change_unless_the_actor_uses_clouds() -> None:
    actor = ActorState(T)
    binding = bound_at(NEW_YORK)
    assert unexplained_move(binding, seen(CLOUD_NL, T + 60), actor, Params()) == "country"
    actor.cloud_ts = T - DAY
    assert unexplained_move(binding, seen(CLOUD_NL, T + 60), actor, Params()) is None


def test_in_flight_wifi_neither_raises_nor_explains_a_move() -> None:
    actor, binding = ActorState(T), bound_at(NEW_YORK)
    assert unexplained_move(binding, seen(IN_FLIGHT, T + 3600), actor, Params()) is None
    follow(binding, seen(IN_FLIGHT, T + 3600))
    assert binding.pos_ts == T  # the last trustworthy position is still New York


def test_a_session_that_never_had_a_position_cannot_be_judged() -> None:
    binding = bound_at(VPN_DE)
    assert binding.pos_ts == 0
    assert unexplained_move(binding, seen(PARIS, T + 60), ActorState(T), Params()) is None


def test_an_upgrade_is_the_same_client_family_and_os_at_a_newer_version() -> None:
    binding = bound_at(NEW_YORK, ua=CHROME)
    rebind_fingerprint(binding, seen(NEW_YORK, T, CHROME, "ja4:old"))
    assert is_upgrade(binding, parse_client(MAC_CHROME_NEW))
    assert not is_upgrade(binding, parse_client(CHROME))  # same version
    assert not is_upgrade(binding, parse_client(LINUX_CHROME_NEW))  # another OS
    assert not is_upgrade(binding, parse_client(DESKTOP))  # another client


def test_a_fingerprint_that_comes_with_an_upgrade_is_rebound_silently() -> None:
    binding = bound_at(NEW_YORK, ua=CHROME)
    rebind_fingerprint(binding, seen(NEW_YORK, T, CHROME, "ja4:old"))
    upgraded = seen(NEW_YORK, T + DAY, MAC_CHROME_NEW, "ja4:new")
    assert not fingerprint_changed(binding, upgraded)
    rebind_fingerprint(binding, upgraded)
    assert binding.fingerprint == "ja4:new"
    # the old stack again at the new version is not an upgrade: someone else's client
    assert fingerprint_changed(binding, seen(NEW_YORK, T + DAY + 60, MAC_CHROME_NEW, "ja4:old"))


def test_an_unexplained_fingerprint_is_reported_once_then_remembered() -> None:
    binding = bound_at(NEW_YORK)
    rebind_fingerprint(binding, seen(NEW_YORK, T, DESKTOP, "ja4:a"))
    other = seen(NEW_YORK, T + 60, DESKTOP, "ja4:b")
    assert fingerprint_changed(binding, other)
    rebind_fingerprint(binding, other)
    assert binding.fingerprint == "ja4:a"
    assert binding.other_fp == "ja4:b"
    assert not fingerprint_changed(binding, seen(NEW_YORK, T + 120, DESKTOP, "ja4:b"))
    assert fingerprint_changed(binding, seen(NEW_YORK, T + 180, DESKTOP, "ja4:c"))


# --- through the pipeline --------------------------------------------------------------------


def warm(story: Story, days: int = 10) -> float:
    """Ann and 30 colleagues with quiet office days; returns the time after the history."""
    assert story.population(days, 30) == []
    for day in range(days):
        if day % 7 not in (5, 6):
            assert story.workday(ANN, day) == []
    return START + days * DAY


def reasons(found: list[dict[str, Any]]) -> list[str]:
    return [r for a in found for r in a["details"]["reason"]]


def test_a_laptop_session_carried_on_a_flight_abroad_is_quiet(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    found = story.download(ANN, t + 10 * 3600, net="hotel_fr", session=sid)
    found += story.download(ANN, t + 11 * 3600, net="office", session=sid)  # VPN to the office
    found += story.download(ANN, t + 12 * 3600, net="hotel_fr", session=sid)
    assert found == []


def test_a_live_session_replayed_abroad_minutes_later_is_travel(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    found = story.download(ANN, t + 600, net="home_de", session=sid)
    assert "session_fingerprint" in reasons(found)
    evidence = found[0]["details"]["trailkeeper_evidence"]["baseline"]
    assert evidence["SessionFingerprintDetector"]["change"] == "travel"


def test_a_session_moving_to_a_vpn_exit_is_quiet(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    assert story.download(ANN, t + 600, net="vpn", session=sid) == []


def test_a_client_upgrade_with_a_new_tls_stack_is_quiet(story: Story) -> None:
    t = warm(story)
    where = {"session_id": 42, "ip_address": "100.64.1.10"}
    assert story.signal(ANN, t, ua=DESKTOP, client_fingerprint="ja4:4.41", **where) == []
    assert story.signal(ANN, t + 60, ua=DESKTOP_NEW, client_fingerprint="ja4:4.42", **where) == []


def test_the_same_client_version_with_another_tls_stack_is_flagged(story: Story) -> None:
    t = warm(story)
    where = {"session_id": 42, "ip_address": "100.64.1.10", "ua": DESKTOP}
    story.signal(ANN, t, client_fingerprint="ja4:mine", **where)
    found = story.signal(ANN, t + 60, client_fingerprint="ja4:thief", **where)
    assert "session_fingerprint" in reasons(found)


def test_signing_in_through_a_vpn_for_the_first_time_is_ip_address(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, net="vpn", session=story.session())
    assert reasons(found) == ["ip_address"]
    assert found[0]["details"]["ip_address_details"] == ["new-asn"]
    assert found[0]["details"]["trailkeeper_evidence"]["baseline"]["vpn"] == 1.0


def test_a_vpn_user_signing_in_through_the_vpn_is_quiet(story: Story) -> None:
    t = warm(story)
    story.event("user_login", ANN, t - 3 * DAY, net="vpn", host=20, session=story.session())
    assert story.event("user_login", ANN, t, net="vpn", session=story.session()) == []


def test_a_known_session_switching_to_a_vpn_is_not_a_vpn_sign_in(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    assert story.download(ANN, t + 3600, net="vpn", session=sid) == []


def test_going_back_to_the_office_after_a_night_at_home_is_not_concurrent_use(
    story: Story,
) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, net="home_us", session=sid)  # signed in at home
    assert story.download(ANN, t + 3600, session=sid) == []  # office from 09:00
    assert story.download(ANN, t + 9 * 3600, session=sid) == []  # ... to 17:00
    morning = t + 23 * 3600
    assert story.download(ANN, morning - 300, net="home_us", session=sid) == []
    assert story.download(ANN, morning, session=sid) == []  # office again five minutes later


def test_switching_back_and_forth_within_minutes_is_concurrent_use(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    story.download(ANN, t + 60, session=sid)
    found = story.download(ANN, t + 120, net="home_us2", session=sid)  # the thief
    found += story.download(ANN, t + 180, session=sid)  # the owner, at the office
    assert found == []
    found = story.download(ANN, t + 240, net="home_us2", session=sid)  # the thief again
    assert "session_fingerprint" in reasons(found)
    evidence = found[-1]["details"]["trailkeeper_evidence"]["baseline"]
    assert evidence["change"] == "concurrent"
