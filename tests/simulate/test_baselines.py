"""The §3.3 peer baselines fire on the obvious cases they were written for."""

from __future__ import annotations

import random
from typing import Any

import pytest

from trailkeeper.simulate.baselines import Geo, cloudtrail, dedup, mcas, okta, panther, sentinel
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.world import World, build_world

DAY = 86_400
T0 = 1_767_571_200
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/140.0.0.0"


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(2)


@pytest.fixture(scope="module")
def geo(world: World) -> Geo:
    return Geo(world)


def ip_of(world: World, kind: str, country: str, city: str = "") -> str:
    return world.networks_of(kind, country, city)[0].pick(random.Random(f"{kind}{country}{city}"))


def event(
    ts: int, ip: str, action: str = "user_login", who: str = "U0ANN", **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"e{ts}{action}{who}",
        "date_create": ts,
        "action": action,
        "actor": {"type": "user", "user": {"id": who}},
        "entity": extra.pop("entity", {"type": "user", "user": {"id": who}}),
        "context": {"ip_address": ip, "ua": extra.pop("ua", CHROME), "session_id": 1},
    }


def home_logins(world: World, days: int = 10) -> list[dict[str, Any]]:
    ip = ip_of(world, "residential", "US", "Austin")
    return [event(T0 + d * DAY, ip) for d in range(days)]


def test_okta_flags_a_login_from_a_new_country(world: World, geo: Geo) -> None:
    foreign = event(T0 + 11 * DAY, ip_of(world, "hosting", "RU"))
    alarms = okta([*home_logins(world), foreign], [], geo)
    assert [a.event_ids for a in alarms] == [(foreign["id"],)]
    assert alarms[0].score >= 3


def test_okta_is_quiet_for_a_habitual_login(world: World, geo: Geo) -> None:
    assert okta(home_logins(world), [], geo) == []


def test_panther_flags_impossible_travel_but_not_a_vpn(world: World, geo: Geo) -> None:
    base = home_logins(world, 2)
    jump = event(base[-1]["date_create"] + 3600, ip_of(world, "hosting", "CN"))
    assert any(a.reasons == ("panther_impossible_travel",) for a in panther([*base, jump], [], geo))
    vpn = event(base[-1]["date_create"] + 3600, ip_of(world, "vpn", "JP"))
    assert all(a.reasons != ("panther_impossible_travel",) for a in panther([*base, vpn], [], geo))


def test_sentinel_flags_a_burst_of_failed_logins(world: World, geo: Geo) -> None:
    ip = ip_of(world, "hosting", "NG")
    failures = [event(T0 + 20 * k, ip, "user_login_failed") for k in range(12)]
    alarms = sentinel(failures, [], geo)
    assert any(a.reasons == ("sentinel_failed_logins",) for a in alarms)


def test_cloudtrail_flags_an_organization_wide_spike(world: World, geo: Geo) -> None:
    ip = ip_of(world, "residential", "US", "Austin")
    quiet = [
        event(T0 + m * 60, ip, "file_downloaded", f"U0P{m % 7}") for m in range(0, 9 * 24 * 60, 7)
    ]
    spike = [event(T0 + 8 * DAY + 30, ip, "file_downloaded", "U0THIEF") for _ in range(40)]
    alarms = cloudtrail(sorted(quiet + spike, key=lambda e: e["date_create"]), [], geo)
    assert [a.actor for a in alarms] == ["U0THIEF"]


def test_mcas_flags_a_new_network_after_learning(world: World, geo: Geo) -> None:
    late = event(T0 + 12 * DAY, ip_of(world, "hosting", "VN"), "file_downloaded")
    alarms = mcas([*home_logins(world), late], [], geo)
    assert [a.event_ids for a in alarms] == [(late["id"],)]


def test_dedup_keeps_one_alarm_per_actor_and_rule_per_day() -> None:
    alarms = [Alarm("U1", T0 + k * 3600, ("r",)) for k in range(30)]
    kept = dedup(alarms)
    assert [a.ts for a in kept] == [T0, T0 + 24 * 3600]
