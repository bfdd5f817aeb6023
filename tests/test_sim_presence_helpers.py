"""The simulator's small deterministic pieces: stable hashes and hosts, local time, trips and
leases at a moment, device choice, session epochs, attack timing and the behaviour helpers."""

from __future__ import annotations

import functools
import ipaddress
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.simulate.attacks import current_release, off_hours, spread
from trailkeeper.simulate.behaviour import dm_id, hash_index, login_act, poisson, split
from trailkeeper.simulate.clients import CADENCE_S, EPOCH, Device
from trailkeeper.simulate.geography import COUNTRY_BY_ISO
from trailkeeper.simulate.population import (
    DAY,
    HOUR,
    Lease,
    Person,
    PopulationConfig,
    Trip,
    build_population,
)
from trailkeeper.simulate.presence import (
    Sessions,
    coin,
    device_at,
    digest,
    host,
    ip_at,
    is_office_day,
    lease_at,
    local_day,
    local_hour,
    trip_at,
    vpn_network,
)
from trailkeeper.simulate.world import VPN_COUNTRIES, World, build_world

START = 1_767_571_200  # Monday 2026-01-05 00:00 UTC
TOKYO = COUNTRY_BY_ISO["JP"].hub
parts = st.lists(st.one_of(st.integers(), st.text(max_size=8)), min_size=1, max_size=4)


@functools.cache
def small_world() -> World:
    return build_world(2)


@functools.cache
def small_people() -> list[Person]:
    return build_population(small_world(), PopulationConfig(60, START, 5), 2).people


@pytest.fixture(scope="module")
def world() -> World:
    return small_world()


@pytest.fixture(scope="module")
def people(world: World) -> list[Person]:
    return build_population(world, PopulationConfig(300, START, 20), 2).people


def member(people: list[Person], country: str = "US") -> Person:
    return next(p for p in people if p.role == "member" and p.home.country == country)


# --- stable draws --------------------------------------------------------------------------------


@given(parts)
def test_digests_and_coins_are_stable_and_in_range(key: list[object]) -> None:
    assert digest(*key) == digest(*key)
    assert 0 <= digest(*key) < 2**64
    assert 0.0 <= coin(*key) < 1.0


def test_digests_tell_their_parts_apart() -> None:
    assert digest("a", 1) != digest("a", 2)
    assert digest("a", 1) != digest("a1")  # parts are separated, not concatenated
    assert len({digest("p", n) for n in range(1000)}) == 1000


@given(parts, st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_stable_hosts_stay_strictly_inside_their_network(key: list[object], n: int) -> None:
    world = small_world()
    net = world.networks[n % len(world.networks)]
    ip = host(net, *key)
    assert world.locate(ip) == net
    assert ip == host(net, *key)
    assert net.first < int(ipaddress.ip_address(ip)) < net.last


# --- local time, trips, leases, devices ----------------------------------------------------------


@given(st.integers(START, START + 60 * DAY))
def test_local_hour_and_day_follow_the_home_time_zone(ts: int) -> None:
    for p in small_people()[:5]:
        hour = local_hour(p, ts)
        assert 0.0 <= hour < 24.0
        midnight = local_day(p, ts) * DAY - p.tz_s
        assert midnight <= ts < midnight + DAY
        assert ts - midnight == pytest.approx(hour * HOUR, abs=1)


def test_a_trip_is_under_way_from_departure_until_just_before_home(people: list[Person]) -> None:
    trip = Trip(
        START + DAY,
        START + DAY + 5 * HOUR,
        START + 4 * DAY,
        START + 4 * DAY + 5 * HOUR,
        TOKYO,
        False,
    )
    p = replace(member(people), trips=(trip,))
    assert trip_at(p, trip.depart - 1) is None
    assert trip_at(p, trip.depart) == trip
    assert trip_at(p, trip.back - 1) == trip
    assert trip_at(p, trip.back) is None


def test_the_first_lease_holds_before_and_the_latest_after(people: list[Person]) -> None:
    leases = (Lease(START, "100.64.0.5", None), Lease(START + 5 * DAY, "100.64.0.6", None))
    p = replace(member(people), leases=leases)
    assert lease_at(p, START - DAY) == leases[0]
    assert lease_at(p, START + 5 * DAY - 1) == leases[0]
    assert lease_at(p, START + 5 * DAY) == leases[1]
    assert lease_at(p, START + 50 * DAY) == leases[1]


def test_the_newest_device_of_a_kind_takes_over_when_it_arrives(people: list[Person]) -> None:
    old = Device("desktop", "slack-desktop", "mac", 0, START - 90 * DAY)
    new = Device("desktop", "slack-desktop", "mac", 0, START + 3 * DAY)
    phone = Device("mobile", "slack-ios", "ios", 0, START + 10 * DAY)
    p = replace(member(people), devices=(old, new, phone))
    assert device_at(p, "desktop", START) == 0
    assert device_at(p, "desktop", START + 3 * DAY) == 1
    assert device_at(p, "mobile", START) is None
    assert device_at(p, "mobile", START + 10 * DAY) == 2
    assert device_at(p, "browser", START + 20 * DAY) is None


# --- networks at a moment ------------------------------------------------------------------------


def test_office_days_are_never_weekends_nor_for_people_without_an_office(
    people: list[Person],
) -> None:
    with_office = next(p for p in people if p.office is not None)
    remote = replace(with_office, office=None)
    days = range(START // DAY, START // DAY + 28)
    assert not any(is_office_day(with_office, d) for d in days if (d + 3) % 7 >= 5)
    assert not any(is_office_day(remote, d) for d in days)


def test_vpn_exits_are_the_providers_in_vpn_countries(world: World, people: list[Person]) -> None:
    for p in people[:40]:
        user = replace(p, vpn_provider="NordLight VPN")
        for day in range(START // DAY, START // DAY + 30):
            net = vpn_network(world, user, day)
            if net is not None:
                assert net.kind == "vpn"
                assert net.org == "NordLight VPN"
                assert net.country in VPN_COUNTRIES
        assert vpn_network(world, replace(p, vpn_provider=None), START // DAY) is None


def test_phones_never_tunnel_through_the_commercial_vpn(world: World, people: list[Person]) -> None:
    phone = Device("mobile", "slack-android", "android", 0, START - 90 * DAY)
    p = replace(member(people), vpn_provider="Mullet VPN", trips=(), relay=False, devices=(phone,))
    kinds = {world.locate(ip_at(world, p, phone, START + h * HOUR)).kind for h in range(24 * 20)}  # type: ignore[union-attr]
    assert "vpn" not in kinds
    assert kinds <= {"mobile", "residential"}


def test_relay_users_reach_safari_through_the_relay_of_their_country(
    world: World, people: list[Person]
) -> None:
    safari = Device("browser", "safari", "mac", 0, START - 90 * DAY)
    p = replace(member(people, "GB"), relay=True, trips=(), vpn_provider=None, devices=(safari,))
    net = world.locate(ip_at(world, p, safari, START + 2 * DAY + 11 * HOUR))
    assert net is not None
    assert (net.kind, net.country) == ("relay", "GB")


# --- sessions ------------------------------------------------------------------------------------


def test_session_epochs_cover_the_span_from_a_phase_before_it(people: list[Person]) -> None:
    lo, hi = START, START + 20 * DAY
    sessions = Sessions(lo, hi)
    for p in people[:60]:
        for index, device in enumerate(p.devices):
            starts, sids = sessions.epochs(p, index)
            assert len(starts) == len(sids)
            assert starts[0] <= max(lo, device.since)
            assert starts[0] >= device.since
            assert starts[-1] < hi or len(starts) == 1
            assert sessions.epochs(p, index) is sessions.epochs(p, index)  # planned once


def test_a_moment_before_the_first_epoch_belongs_to_the_first_session(
    people: list[Person],
) -> None:
    p = people[0]
    sessions = Sessions(START, START + 20 * DAY)
    starts, sids = sessions.epochs(p, 0)
    assert sessions.at(p, 0, starts[0] - DAY) == (0, sids[0])
    assert sessions.at(p, 0, starts[-1]) == (len(starts) - 1, sids[-1])


# --- attack timing -------------------------------------------------------------------------------


@given(st.integers(EPOCH, EPOCH + 3 * 365 * DAY))
def test_the_current_release_counts_cadences_since_the_epoch(ts: int) -> None:
    release = current_release(ts)
    assert EPOCH + release * CADENCE_S <= ts < EPOCH + (release + 1) * CADENCE_S
    assert current_release(EPOCH - DAY) == 0


@given(st.integers(START, START + 30 * DAY), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_off_hours_are_the_victims_night_after_the_moment(ts: int, seed: int) -> None:
    victim = small_people()[seed % 60]
    moment = off_hours(victim, ts, random.Random(seed))
    assert ts <= moment < ts + DAY + 5 * HOUR
    assert 1.0 <= local_hour(victim, moment) < 5.0


@given(st.integers(0, 10**6), st.integers(0, 10**5), st.integers(0, 50), st.integers(0, 2**32))
def test_spread_gives_sorted_moments_inside_the_window(
    t0: int, length: int, n: int, seed: int
) -> None:
    moments = spread(random.Random(seed), t0, t0 + length, n)
    assert len(moments) == n
    assert moments == sorted(moments)
    assert all(t0 <= m <= t0 + length for m in moments)


# --- behaviour helpers ---------------------------------------------------------------------------


@given(st.integers(0, 500), st.integers(1, 40), st.integers(0, 2**32))
def test_split_spreads_calls_over_every_target(total: int, targets: int, seed: int) -> None:
    shares = split(random.Random(seed), total, targets)
    assert len(shares) == targets
    assert min(shares) >= 1
    assert total <= sum(shares) <= total + targets


def test_large_poisson_draws_are_never_negative() -> None:
    rng = random.Random(4)
    draws = [poisson(rng, 31.0) for _ in range(3000)]
    assert min(draws) >= 0
    assert 30 < sum(draws) / len(draws) < 32
    assert poisson(rng, -1.0) == 0


def test_conversation_ids_and_login_acts(people: list[Person]) -> None:
    p = people[0]
    assert dm_id(p.id, 7) == f"D0{p.id[2:7]}007"
    assert 0 <= hash_index(p.id) < 1000
    ok, failed = login_act(p, "sso"), login_act(p, "password", failed=True)
    assert (ok.action, failed.action) == ("user_login", "user_login_failed")
    assert ok.entity == {"type": "user", "user": p.user_object()}
    assert failed.details == {"authentication_method": "password"}
