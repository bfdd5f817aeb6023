"""The simulated people beyond their roles: determinism, role arithmetic at any size, flights
and trips to the minute, clients, habits and the knobs (`travel_x`, `vpn_share`) of spec §3.2."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.simulate.clients import SERVICE_UAS
from trailkeeper.simulate.geography import (
    HOME_COUNTRIES,
    HOME_MIX,
    TRAVEL_COUNTRIES,
    City,
    distance_km,
)
from trailkeeper.simulate.population import (
    DAY,
    HOUR,
    ROUTINE_ADMIN_ACTIONS,
    TEAM_OF_COUNTRY,
    Person,
    Population,
    PopulationConfig,
    build_population,
    lognormal,
)
from trailkeeper.simulate.world import World, build_world

START = 1_767_571_200  # Monday 2026-01-05
DAYS = 30
USERS = 1000


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(4)


@pytest.fixture(scope="module")
def population(world: World) -> Population:
    return build_population(world, PopulationConfig(USERS, START, DAYS), 4)


def humans(population: Population) -> list[Person]:
    return [p for p in population.people if p.role != "service"]


def share(people: list[Person], test: Callable[[Person], bool]) -> float:
    return sum(bool(test(p)) for p in people) / len(people)


def flight_s(p: Person, city: City) -> int:
    return int((distance_km(p.home, city) / 850 + 2.5) * HOUR)


# --- determinism ---------------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_people(world: World, population: Population) -> None:
    again = build_population(world, PopulationConfig(USERS, START, DAYS), 4)
    assert [astuple(p) for p in again.people] == [astuple(p) for p in population.people]


def test_another_seed_builds_other_people(world: World, population: Population) -> None:
    other = build_population(world, PopulationConfig(USERS, START, DAYS), 5)
    assert [p.id for p in other.people] != [p.id for p in population.people]
    assert Counter(p.role for p in other.people) == Counter(p.role for p in population.people)


def test_by_id_indexes_every_person(population: Population) -> None:
    assert len(population.by_id) == USERS
    assert all(population.by_id[p.id] is p for p in population.people)
    assert population.end - population.start == DAYS * DAY


# --- roles and cohorts at any size ---------------------------------------------------------------


@given(st.integers(min_value=50, max_value=700), st.integers(min_value=0, max_value=10**6))
@settings(max_examples=12, deadline=None)
def test_role_and_cohort_counts_follow_the_formulas(users: int, seed: int) -> None:
    pop = build_population(build_world(1), PopulationConfig(users, START, 14), seed)
    roles = Counter(p.role for p in pop.people)
    assert roles["owner"] == 1
    assert roles["admin"] == max(6, round(users * 0.015))
    assert roles["service"] == max(2, round(users * 0.02))
    assert sum(roles.values()) == users
    assert sum(p.joined >= START for p in pop.people) == round(users * 0.03)
    assert sum(p.left is not None for p in pop.people) == round(users * 0.01)


def test_joiners_arrive_and_leavers_go_inside_the_documented_share_of_the_span(
    population: Population,
) -> None:
    span = DAYS * DAY
    for p in population.people:
        if p.joined >= START:
            assert START + 0.1 * span <= p.joined <= START + 0.9 * span
            assert p.left is None  # nobody both joins and leaves
        else:
            assert p.joined == START - 365 * DAY
        if p.left is not None:
            assert START + 0.2 * span <= p.left <= START + 0.9 * span


def test_admins_have_a_small_routine_of_admin_actions(population: Population) -> None:
    for p in population.people:
        if p.is_admin:
            assert 3 <= len(p.admin_actions) <= 5
            assert len(set(p.admin_actions)) == len(p.admin_actions)
            assert set(p.admin_actions) <= set(ROUTINE_ADMIN_ACTIONS)
        else:
            assert p.admin_actions == ()


def test_service_accounts_have_scripts_and_no_human_traits(population: Population) -> None:
    services = [p for p in population.people if p.role == "service"]
    assert services
    for p in services:
        assert p.service_ua in SERVICE_UAS
        assert 1 <= len(p.service_ips) <= 3
        assert p.name.startswith("svc-")
        assert (p.trips, p.office, p.vpn_provider, p.relay) == ((), None, None, False)
    median = sorted(p.api_rate for p in services)[len(services) // 2]
    assert median > 150  # scripts call far more than people (lognormal around 300/h)


def test_people_are_placed_by_the_home_mix_and_teamed_by_country(population: Population) -> None:
    people = humans(population)
    counts = Counter(p.home.country for p in people)
    for country, weight in zip(HOME_COUNTRIES, HOME_MIX, strict=True):
        assert counts[country.iso] / len(people) == pytest.approx(weight, abs=0.05)
    for p in population.people:
        assert p.team == TEAM_OF_COUNTRY.get(p.home.country, "T0SIMHQ")


def test_emails_are_unique_and_in_the_synthetic_domain(population: Population) -> None:
    emails = [p.email for p in population.people]
    assert len(set(emails)) == len(emails)
    assert all(e.endswith("@sim-org.example") for e in emails)


# --- trips and flights ---------------------------------------------------------------------------


def test_flights_take_distance_over_850_kmh_plus_airports_both_ways(
    population: Population,
) -> None:
    for p in humans(population):
        for trip in p.trips:
            assert trip.arrive - trip.depart == flight_s(p, trip.city)
            assert trip.back - trip.leave == flight_s(p, trip.city)
            assert 2 * DAY <= trip.leave - trip.arrive <= 7 * DAY


def test_flights_leave_in_the_local_morning(population: Population) -> None:
    for p in humans(population):
        for trip in p.trips:
            local = ((trip.depart + p.tz_s) % DAY) / HOUR
            assert 6 <= local <= 10


def test_only_long_flights_have_in_flight_wifi(population: Population) -> None:
    trips = [(p, t) for p in humans(population) for t in p.trips]
    long_ones = [t for p, t in trips if t.arrive - t.depart > 5 * HOUR]
    assert all(t.arrive - t.depart > 5 * HOUR for _, t in trips if t.inflight)
    assert 0.25 < sum(t.inflight for t in long_ones) / len(long_ones) < 0.55  # 40%


def test_about_thirty_percent_of_trips_go_abroad_never_to_home(population: Population) -> None:
    trips = [(p, t) for p in humans(population) for t in p.trips]
    abroad = [t for p, t in trips if t.city.country != p.home.country]
    assert 0.22 < len(abroad) / len(trips) < 0.38
    destinations = {c for ct in HOME_COUNTRIES + TRAVEL_COUNTRIES for c in ct.cities}
    assert all(t.city in destinations and t.city != p.home for p, t in trips)


def test_travel_x_multiplies_the_number_of_trips(world: World, population: Population) -> None:
    busy = build_population(world, PopulationConfig(USERS, START, DAYS, travel_x=4.0), 4)
    base = sum(len(p.trips) for p in population.people)
    more = sum(len(p.trips) for p in busy.people)
    assert 2.5 * base < more < 4.5 * base


# --- clients, networks and habits ----------------------------------------------------------------


def test_clients_mix_desktop_apps_browsers_and_phones(population: Population) -> None:
    people = humans(population)
    assert 0.68 < share(people, lambda p: p.devices[0].kind == "desktop") < 0.82  # 75%
    assert 0.42 < share(people, lambda p: any(d.kind == "mobile" for d in p.devices)) < 0.58
    assert all(1 <= len(p.devices) <= 4 for p in people)
    assert all(p.devices[0].since <= START for p in people)
    for p in people:
        if p.devices[0].family == "safari":
            assert p.devices[0].os == "mac"


def test_a_tenth_of_devices_are_laggards_and_the_rest_upgrade_within_twelve_days(
    population: Population,
) -> None:
    lags = [d.lag_s for p in humans(population) for d in p.devices]
    laggards = [lag for lag in lags if lag >= 20 * DAY]
    assert 0.06 < len(laggards) / len(lags) < 0.14
    assert all(lag <= 40 * DAY for lag in laggards)
    assert all(0 <= lag <= 12 * DAY for lag in lags if lag < 20 * DAY)


def test_leases_start_a_month_early_cover_the_span_and_are_sometimes_dual_stack(
    population: Population,
) -> None:
    dual = 0
    for p in humans(population):
        assert p.leases[0].start == START - 30 * DAY
        assert all(a.start < b.start for a, b in zip(p.leases, p.leases[1:], strict=False))
        dual += sum(lease.v6 is not None for lease in p.leases)
    assert dual > 0


def test_relay_users_all_have_an_apple_client(population: Population) -> None:
    relays = [p for p in humans(population) if p.relay]
    assert relays
    for p in relays:
        assert any(d.family in ("safari", "slack-ios") for d in p.devices)


def test_vpn_share_sets_the_share_of_vpn_users(world: World) -> None:
    heavy = build_population(world, PopulationConfig(USERS, START, DAYS, vpn_share=0.2), 4)
    people = humans(heavy)
    assert 0.15 < share(people, lambda p: p.vpn_provider is not None) < 0.25


def test_ten_percent_work_weekends_and_five_percent_nights(population: Population) -> None:
    people = humans(population)
    assert 0.06 < share(people, lambda p: p.weekend_worker) < 0.14
    assert 0.02 < share(people, lambda p: p.night_shift) < 0.08


def test_about_five_percent_are_power_downloaders(population: Population) -> None:
    people = [p for p in population.people if p.role == "member"]
    median = sorted(p.downloads_mean for p in people)[len(people) // 2]
    power = share(people, lambda p: p.downloads_mean > 8 * median)
    assert 0.02 < power < 0.09


def test_about_sixty_percent_of_people_have_office_egress(population: Population) -> None:
    assert 0.5 < share(humans(population), lambda p: p.office is not None) < 0.7


def test_lognormal_has_the_requested_median() -> None:
    rng = random.Random(3)
    draws = sorted(lognormal(rng, 3.0, 0.8) for _ in range(4001))
    assert draws[2000] == pytest.approx(3.0, rel=0.08)
    assert all(d > 0 for d in draws)
