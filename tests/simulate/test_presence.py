"""Where people are and what they connect with: trips, VPN days, offices, phones, sessions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from trailkeeper.simulate.clients import Device
from trailkeeper.simulate.geography import COUNTRY_BY_ISO
from trailkeeper.simulate.population import (
    DAY,
    HOUR,
    Person,
    PopulationConfig,
    Trip,
    build_population,
)
from trailkeeper.simulate.presence import (
    Sessions,
    coin,
    device_at,
    ip_at,
    is_office_day,
    lease_at,
    place_at,
    vpn_network,
)
from trailkeeper.simulate.world import World, build_world

START = 1_767_571_200  # a Monday
PARIS = COUNTRY_BY_ISO["FR"].hub


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(3)


@pytest.fixture(scope="module")
def person(world: World) -> Person:
    people = build_population(world, PopulationConfig(users=200, start=START, days=20), 3).people
    chosen = next(p for p in people if p.role == "member" and p.office is not None)
    trip = Trip(
        START + 2 * DAY,
        START + 2 * DAY + 9 * HOUR,
        START + 5 * DAY,
        START + 5 * DAY + 9 * HOUR,
        PARIS,
        True,
    )
    desktop = Device("desktop", "slack-desktop", "mac", 0, START - 90 * DAY)
    phone = Device("mobile", "slack-ios", "ios", 0, START - 90 * DAY)
    return replace(chosen, trips=(trip,), devices=(desktop, phone), vpn_provider=None, relay=False)


def kind(world: World, ip: str) -> str:
    net = world.locate(ip)
    assert net is not None
    return net.kind


def test_a_trip_is_home_then_flight_then_away_then_home(person: Person) -> None:
    trip = person.trips[0]
    assert place_at(person, trip.depart - 1) == ("home", None)
    assert place_at(person, trip.depart + 60) == ("flight", trip)
    assert place_at(person, trip.arrive + 60) == ("away", trip)
    assert place_at(person, trip.leave + 60) == ("flight", trip)
    assert place_at(person, trip.back + 60) == ("home", None)


def test_travellers_use_hotel_wifi_and_in_flight_wifi(person: Person, world: World) -> None:
    desktop, phone = person.devices
    trip = person.trips[0]
    hotel = world.locate(ip_at(world, person, desktop, trip.arrive + 3 * HOUR))
    assert hotel is not None
    assert hotel.kind == "hotel"
    assert hotel.city == PARIS
    assert kind(world, ip_at(world, person, desktop, trip.depart + HOUR)) == "satellite"
    roaming = {kind(world, ip_at(world, person, phone, trip.arrive + h * HOUR)) for h in range(40)}
    assert roaming == {"mobile", "hotel"}  # home-routed roaming, or the hotel's Wi-Fi


def test_office_days_are_weekdays_with_the_office_nat(person: Person, world: World) -> None:
    desktop = person.devices[0]
    days = [START // DAY + d for d in range(7, 21)]  # after the trip
    office_days = [d for d in days if is_office_day(person, d)]
    assert office_days
    assert all((d + 3) % 7 < 5 for d in office_days)
    noon = office_days[0] * DAY - person.tz_s + 12 * HOUR
    assert kind(world, ip_at(world, person, desktop, noon)) == "office"
    assert kind(world, ip_at(world, person, desktop, noon + 10 * HOUR)) == "residential"


def test_phones_switch_between_carrier_and_home_wifi(person: Person, world: World) -> None:
    phone = person.devices[1]
    evening = START + 9 * DAY - person.tz_s + 20 * HOUR
    kinds = {kind(world, ip_at(world, person, phone, evening + d * DAY)) for d in range(8)}
    assert kinds == {"mobile", "residential"}


def test_vpn_users_use_their_provider_on_some_days(person: Person, world: World) -> None:
    user = replace(person, vpn_provider="Mullet VPN", trips=())
    days = range(START // DAY, START // DAY + 60)
    nets = [vpn_network(world, user, d) for d in days]
    used = [n for n in nets if n is not None]
    assert 0.15 < len(used) / len(nets) < 0.45
    assert {n.org for n in used} == {"Mullet VPN"}
    assert any(n.country != user.home.country for n in used)


def test_addresses_are_stable_within_an_hour(person: Person, world: World) -> None:
    desktop = person.devices[0]
    t = START + 10 * DAY + 3 * HOUR
    assert ip_at(world, person, desktop, t) == ip_at(world, person, desktop, t + 1800)


def test_leases_and_devices_at_a_time(person: Person) -> None:
    assert lease_at(person, START - 40 * DAY) == person.leases[0]
    assert device_at(person, "mobile", START) == 1
    assert device_at(person, "browser", START) is None


def test_sessions_have_stable_ids_and_cover_the_span(person: Person) -> None:
    sessions = Sessions(START, START + 30 * DAY)
    starts, sids = sessions.epochs(person, 0)
    assert starts[0] <= START
    assert starts[-1] < START + 30 * DAY
    assert len(set(sids)) == len(sids)
    epoch, sid = sessions.at(person, 0, START + 5 * DAY)
    assert Sessions(START, START + 30 * DAY).at(person, 0, START + 5 * DAY) == (epoch, sid)
    assert all(10**12 <= s < 10**13 for s in sids)


def test_coins_are_stable_and_uniform() -> None:
    draws = [coin("x", n) for n in range(2000)]
    assert coin("x", 1) == coin("x", 1)
    assert 0.45 < sum(draws) / len(draws) < 0.55
