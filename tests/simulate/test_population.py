"""The simulated organization: roles and cohorts in the spec's proportions, homes and networks
that agree with the world, trips that respect flight times."""

from __future__ import annotations

from collections import Counter

import pytest

from trailkeeper.simulate.geography import distance_km
from trailkeeper.simulate.population import Population, PopulationConfig, build_population
from trailkeeper.simulate.world import World, build_world

START = 1_767_571_200


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(1)


@pytest.fixture(scope="module")
def population(world: World) -> Population:
    return build_population(world, PopulationConfig(users=1000, start=START, days=30), 1)


def test_roles_follow_the_spec_proportions(population: Population) -> None:
    roles = Counter(p.role for p in population.people)
    assert roles["owner"] == 1
    assert roles["admin"] == 15  # 1.5% of 1,000
    assert roles["service"] == 20  # 2%
    assert roles["member"] == 1000 - 36


def test_small_organizations_still_have_enough_admins(world: World) -> None:
    small = build_population(world, PopulationConfig(users=100, start=START, days=7), 1)
    assert sum(p.role == "admin" for p in small.people) == 6


def test_joiners_and_leavers_are_ordinary_members(population: Population) -> None:
    joiners = [p for p in population.people if p.joined >= START]
    leavers = [p for p in population.people if p.left is not None]
    assert len(joiners) == 30
    assert len(leavers) == 10
    assert all(p.role == "member" for p in joiners + leavers)
    assert all(START < p.joined < population.end for p in joiners)


def test_ids_are_unique_slack_user_ids(population: Population) -> None:
    ids = [p.id for p in population.people]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("U0") and i.isalnum() and i.isupper() for i in ids)


def test_home_networks_are_in_the_home_city(population: Population, world: World) -> None:
    for p in population.people:
        if p.role == "service":
            continue
        home = world.locate(p.leases[0].v4)
        assert home is not None
        assert home.kind == "residential"
        assert home.city == p.home
        assert all(net.country == p.home.country for net in p.carrier)
        if p.office is not None:
            assert p.office.city == p.home


def test_leases_churn_inside_one_isp(population: Population, world: World) -> None:
    for p in population.people[:200]:
        orgs = {world.locate(lease.v4).org for lease in p.leases}  # type: ignore[union-attr]
        assert len(orgs) == 1
        starts = [lease.start for lease in p.leases]
        assert starts == sorted(starts)


def test_service_accounts_live_in_the_cloud(population: Population, world: World) -> None:
    for p in population.people:
        if p.role == "service":
            assert p.devices == ()
            assert p.service_ua
            assert all(world.locate(ip).kind == "hosting" for ip in p.service_ips)  # type: ignore[union-attr]


def test_trips_take_at_least_the_flight_time_and_do_not_overlap(population: Population) -> None:
    trips = 0
    for p in population.people:
        for trip in p.trips:
            trips += 1
            hours = (trip.arrive - trip.depart) / 3600
            assert hours >= distance_km(p.home, trip.city) / 850
            assert trip.depart < trip.arrive <= trip.leave < trip.back
        for a, b in zip(p.trips, p.trips[1:], strict=False):
            assert a.back < b.depart
    assert trips > 1000 * 30 / 60 * 0.6  # about one trip per 60 days


def test_a_minority_uses_a_commercial_vpn(population: Population) -> None:
    share = sum(p.vpn_provider is not None for p in population.people) / len(population.people)
    assert 0.02 < share < 0.09


def test_download_habits_are_lognormal_with_power_users(population: Population) -> None:
    means = sorted(p.downloads_mean for p in population.people if p.role == "member")
    median = means[len(means) // 2]
    assert 2.0 < median < 4.5
    assert sum(m > 25 for m in means) / len(means) > 0.02


def test_about_one_new_computer_per_180_days(population: Population) -> None:
    replaced = sum(
        any(d.since > START for d in p.devices) for p in population.people if p.role != "service"
    )
    assert 0.05 * 1000 < replaced < 0.3 * 1000
    assert all(p.devices[0].since <= START for p in population.people if p.devices)
