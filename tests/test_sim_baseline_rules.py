"""The peer baselines' rules at their edges, on tiny hand-made streams: thresholds, windows,
learning periods, suppressions and scores, and the geo-IP view they share."""

from __future__ import annotations

import random
from typing import Any

import pytest

from trailkeeper.simulate.baselines import (
    BASELINES,
    UNKNOWN_PLACE,
    Geo,
    Place,
    cloudtrail,
    dedup,
    mcas,
    okta,
    panther,
    run_baselines,
    sentinel,
)
from trailkeeper.simulate.geography import COUNTRY_BY_ISO
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.world import World, build_world

DAY = 86_400
HOUR = 3_600
T0 = 1_767_571_200
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/140.0.0.0"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
JSON = dict[str, Any]


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(8)


@pytest.fixture(scope="module")
def geo(world: World) -> Geo:
    return Geo(world)


def ip_of(world: World, kind: str, country: str = "", city: str = "", n: int = 0) -> str:
    net = world.networks_of(kind, country, city)[0]
    return net.pick(random.Random(f"{net.cidr}-{n}"))


def event(ts: int, ip: str, action: str = "user_login", who: str = "U0ANN", **extra: Any) -> JSON:
    entity = extra.pop("entity", {"type": "user", "user": {"id": who}})
    return {
        "id": f"e{ts}-{action}-{who}-{ip}",
        "date_create": ts,
        "action": action,
        "actor": {"type": "user", "user": {"id": who}},
        "entity": entity,
        "context": {"ip_address": ip, "ua": extra.pop("ua", CHROME), "session_id": 1},
    }


def upload(ts: int, ip: str, filetype: str) -> JSON:
    entity = {"type": "file", "file": {"id": f"F{ts}", "filetype": filetype}}
    return event(ts, ip, "file_uploaded", entity=entity)


def signal(ts: int, method: str, count: int, who: str) -> JSON:
    return {"date": ts, "api_method": method, "count": count, "actor_id": who}


def reasons(alarms: list[Alarm]) -> list[str]:
    return [a.reasons[0] for a in alarms]


# --- the geo-IP view -----------------------------------------------------------------------------


def test_geo_reports_what_the_mmdb_says_not_the_truth(world: World, geo: Geo) -> None:
    net = next(n for n in world.networks if n.kind == "mobile" and n.geo is not None)
    assert net.city is None  # a carrier is nowhere in particular; geo-IP says its hub
    place = geo(net.pick(random.Random(1)))
    assert net.geo is not None
    assert (place.country, place.region, place.city) == (net.country, net.geo.region, net.geo.name)
    assert (place.lat, place.lon, place.asn, place.kind) == (
        net.geo.lat,
        net.geo.lon,
        net.asn,
        "mobile",
    )


def test_geo_of_a_country_only_network_is_the_hub_without_a_city(world: World, geo: Geo) -> None:
    net = next(n for n in world.networks if n.geo is None)
    place = geo(net.pick(random.Random(2)))
    hub = COUNTRY_BY_ISO[net.country].hub
    assert (place.city, place.region) == ("", "")
    assert (place.lat, place.lon) == (hub.lat, hub.lon)


@pytest.mark.parametrize("ip", ["", "8.8.8.8", "2001:db9::1"])
def test_unknown_addresses_have_the_unknown_place(geo: Geo, ip: str) -> None:
    assert geo(ip) == UNKNOWN_PLACE


def test_geo_flags_tor_exits_and_caches_lookups(world: World, geo: Geo) -> None:
    exit_ip = world.tor_exits[3]
    place = geo(exit_ip)
    assert place.tor
    assert place.risky
    assert geo(exit_ip) is place


@pytest.mark.parametrize(
    ("kind", "anonymised", "risky"),
    [
        ("vpn", True, True),
        ("relay", True, False),
        ("hosting", False, True),
        ("tor-host", False, True),
        ("residential", False, False),
        ("satellite", False, False),
    ],
)
def test_place_kinds_decide_suppression_and_risk(kind: str, anonymised: bool, risky: bool) -> None:
    place = Place("US", "", "", 0.0, 0.0, 64512, kind, False)
    assert (place.anonymised, place.risky) == (anonymised, risky)


# --- Okta-like -----------------------------------------------------------------------------------


def test_okta_scores_each_new_behaviour_with_its_weight(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "US", "Chicago")
    other_home = ip_of(world, "residential", "US", "Chicago", n=1)
    base = [event(T0 + d * DAY, home) for d in range(3)]
    new_ip = event(T0 + 3 * DAY, other_home)
    new_device = event(T0 + 3 * DAY, home, ua=FIREFOX)
    assert [a.score for a in okta([*base, new_ip], [], geo)] == [0.5]
    assert [a.score for a in okta([*base, new_device], [], geo)] == [1.0]


def test_okta_adds_velocity_beyond_805_kmh(world: World, geo: Geo) -> None:
    ny = ip_of(world, "residential", "US", "New York")
    sf = ip_of(world, "residential", "US", "San Francisco")
    quick = okta([event(T0, ny), event(T0 + HOUR, sf)], [], geo)
    slow = okta([event(T0, ny), event(T0 + 8 * HOUR, sf)], [], geo)
    assert quick[0].score == pytest.approx(slow[0].score + 3.0)


def test_okta_ignores_failures_and_other_actions(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "US", "Austin")
    far = ip_of(world, "hosting", "RU")
    stream = [
        event(T0, home),
        event(T0 + 60, far, "user_login_failed"),
        event(T0 + 120, far, "file_downloaded"),
        event(T0 + DAY, home),
    ]
    assert okta(stream, [], geo) == []


def test_okta_keeps_a_history_per_user(world: World, geo: Geo) -> None:
    a, b = ip_of(world, "residential", "US", "Austin"), ip_of(world, "residential", "DE", "Berlin")
    stream = [event(T0, a, who="U0A"), event(T0 + 10, b, who="U0B"), event(T0 + DAY, a, who="U0A")]
    assert okta(stream, [], geo) == []


# --- Panther-like --------------------------------------------------------------------------------


def test_panther_brute_force_needs_five_failures_within_an_hour(world: World, geo: Geo) -> None:
    ip = ip_of(world, "hosting", "NG")
    four = [event(T0 + 60 * k, ip, "user_login_failed") for k in range(4)]
    assert panther(four, [], geo) == []
    five = [event(T0 + 60 * k, ip, "user_login_failed") for k in range(5)]
    alarms = panther(five, [], geo)
    assert reasons(alarms) == ["panther_brute_force"]
    assert alarms[0].score == pytest.approx(2.05)
    spread = [event(T0 + 1000 * k, ip, "user_login_failed") for k in range(5)]
    assert panther(spread, [], geo) == []


def test_panther_travel_ignores_old_logins_and_short_hops(world: World, geo: Geo) -> None:
    ny, tokyo = ip_of(world, "residential", "US", "New York"), ip_of(world, "hotel", "JP", "Tokyo")
    stale = panther([event(T0, ny), event(T0 + DAY + 1, tokyo)], [], geo)
    assert "panther_impossible_travel" not in reasons(stale)
    same_block = ip_of(world, "residential", "US", "New York", n=1)
    hop = panther([event(T0, ny), event(T0 + 60, same_block)], [], geo)
    assert hop == []


def test_panther_travel_is_not_measured_from_a_vpn_or_in_flight_login(
    world: World, geo: Geo
) -> None:
    ny, tokyo = ip_of(world, "residential", "US", "New York"), ip_of(world, "hotel", "JP", "Tokyo")
    sky, vpn = ip_of(world, "satellite"), ip_of(world, "vpn", "JP")
    via_sky = panther([event(T0, ny), event(T0 + HOUR, sky), event(T0 + 2 * HOUR, tokyo)], [], geo)
    assert reasons(via_sky).count("panther_impossible_travel") == 1  # NY -> Tokyo, not via sky
    via_vpn = panther([event(T0, vpn), event(T0 + HOUR, ny)], [], geo)
    assert "panther_impossible_travel" not in reasons(via_vpn)


def test_panther_flags_a_city_missing_from_the_last_five(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "DE", "Munich")
    away = ip_of(world, "hotel", "DE", "Hamburg")
    logins = [event(T0 + d * DAY, home) for d in range(5)] + [event(T0 + 6 * DAY, away)]
    assert reasons(panther(logins, [], geo)) == ["panther_unusual_login"]


# --- Sentinel-like -------------------------------------------------------------------------------


def test_sentinel_learns_user_agents_for_fourteen_days(world: World, geo: Geo) -> None:
    ip = ip_of(world, "office", "US", "New York")
    learning = [event(T0, ip), event(T0 + 10 * DAY, ip, ua=FIREFOX)]
    assert sentinel(learning, [], geo) == []
    after = [event(T0, ip), event(T0 + 15 * DAY, ip, ua=FIREFOX)]
    assert reasons(sentinel(after, [], geo)) == ["sentinel_unknown_ua"]


def test_sentinel_flags_a_user_agent_back_after_fourteen_quiet_days(world: World, geo: Geo) -> None:
    ip = ip_of(world, "office", "US", "New York")
    back = [event(T0, ip), event(T0 + 15 * DAY, ip, who="U0B")]
    assert [a.actor for a in sentinel(back, [], geo)] == ["U0B"]
    kept_alive = [event(T0 + d * DAY, ip) for d in range(0, 30, 7)]
    assert sentinel(kept_alive, [], geo) == []


def test_sentinel_counts_more_than_ten_failures_in_five_minutes(world: World, geo: Geo) -> None:
    ip = ip_of(world, "hosting", "VN")
    ten = [event(T0 + 20 * k, ip, "user_login_failed") for k in range(10)]
    eleven = [event(T0 + 20 * k, ip, "user_login_failed") for k in range(11)]
    assert "sentinel_failed_logins" not in reasons(sentinel(ten, [], geo))
    alarms = [a for a in sentinel(eleven, [], geo) if a.reasons == ("sentinel_failed_logins",)]
    assert [a.score for a in alarms] == [pytest.approx(2.11)]


def test_sentinel_counts_archive_uploads_only(world: World, geo: Geo) -> None:
    ip = ip_of(world, "office", "GB", "London")
    zips = [upload(T0 + 30 * k, ip, "application/zip") for k in range(11)]
    pdfs = [upload(T0 + 30 * k, ip, "application/pdf") for k in range(30)]
    assert reasons(sentinel(zips, [], geo)) == ["sentinel_archive_uploads"]
    assert sentinel(pdfs, [], geo) == []


# --- CloudTrail-like -----------------------------------------------------------------------------


def test_cloudtrail_needs_fifty_active_minutes_before_it_judges(geo: Geo) -> None:
    burst = [signal(T0 + 60 * m, "chat.delete", 500, "U0X") for m in range(49)]
    assert cloudtrail([], burst, geo) == []


def test_cloudtrail_weighs_signals_by_their_count_and_blames_the_top_caller(geo: Geo) -> None:
    quiet = [signal(T0 + 60 * m, "chat.delete", 1, "U0P") for m in range(0, 8 * 24 * 60, 10)]
    spike = [
        signal(T0 + 8 * DAY + 60, "chat.delete", 400, "U0PURGE"),
        signal(T0 + 8 * DAY + 61, "chat.delete", 3, "U0P"),
    ]
    alarms = cloudtrail([], quiet + spike, geo)
    assert [(a.actor, a.reasons, a.ts) for a in alarms] == [
        ("U0PURGE", ("cloudtrail_chat.delete",), T0 + 8 * DAY + 60)
    ]
    assert alarms[0].score > 3.0


# --- MCAS-like -----------------------------------------------------------------------------------


def test_mcas_stays_quiet_while_learning_and_weighs_risky_addresses(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "BR", "São Paulo")
    host = ip_of(world, "hosting", "CN")
    early = [event(T0, home), event(T0 + 3 * DAY, host)]
    assert mcas(early, [], geo) == []
    late = [event(T0, home), event(T0 + 8 * DAY, host)]
    (alarm,) = mcas(late, [], geo)
    assert alarm.score == pytest.approx(0.5 + 2.0 + 3.0 + 2.0)  # ip, asn, country + risky


def test_mcas_forgets_after_a_month_and_skips_failures(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "IN", "Pune")
    host = ip_of(world, "hosting", "RU")
    month = [event(T0, home), event(T0 + 31 * DAY, home)]
    assert [a.score for a in mcas(month, [], geo)] == [pytest.approx(0.5 + 2.0 + 3.0 + 1.0)]
    failures = [event(T0, home), event(T0 + 9 * DAY, host, "user_login_failed")]
    assert mcas(failures, [], geo) == []


# --- shared machinery ----------------------------------------------------------------------------


def test_dedup_keeps_rules_and_actors_apart_and_reopens_after_the_window() -> None:
    alarms = [
        Alarm("U1", T0, ("a",)),
        Alarm("U1", T0 + 10, ("b",)),
        Alarm("U2", T0 + 20, ("a",)),
        Alarm("U1", T0 + DAY - 1, ("a",)),
        Alarm("U1", T0 + DAY, ("a",)),
    ]
    kept = dedup(alarms)
    assert [(a.actor, a.reasons[0], a.ts - T0) for a in kept] == [
        ("U1", "a", 0),
        ("U1", "b", 10),
        ("U2", "a", 20),
        ("U1", "a", DAY),
    ]


def test_every_baseline_runs_over_an_empty_stream(world: World) -> None:
    results = run_baselines([], [], world)
    assert (
        list(results)
        == list(BASELINES)
        == [
            "BL-Okta",
            "BL-Panther",
            "BL-Sentinel",
            "BL-CloudTrail",
            "BL-MCAS",
        ]
    )
    assert all(alarms == [] for alarms in results.values())


def test_baseline_alarms_carry_the_triggering_event_as_evidence(world: World, geo: Geo) -> None:
    home = ip_of(world, "residential", "US", "Austin")
    foreign = event(T0 + DAY, ip_of(world, "hosting", "RU"))
    for rule in (okta, panther):
        (alarm,) = [a for a in rule([event(T0, home), foreign], [], geo) if a.ts == T0 + DAY][:1]
        assert alarm.event_ids == (foreign["id"],)
        assert alarm.actor == "U0ANN"
