"""The simulated organization: people, roles, homes, networks, devices, habits and trips.

Everything is drawn once per seed from the spec §3.2 defaults (1-2% admins, 2% service
accounts, 60% office egress, 5% VPN users, lognormal activity, ~1 trip per 60 days).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

from trailkeeper.simulate.clients import SERVICE_UAS, Device
from trailkeeper.simulate.geography import (
    HOME_COUNTRIES,
    HOME_MIX,
    OFFICE_CITIES,
    TRAVEL_COUNTRIES,
    City,
    distance_km,
)
from trailkeeper.simulate.world import Network, World

DAY = 86_400
HOUR = 3_600
NEAR_OFFICE_SHARE = 0.6  # of people whose home city has an office of the organization
ORG_ID = "E0SIMORG"
ORG_NAME = "Simulated Org"
WORKSPACES = (
    ("T0SIMHQ", "Sim HQ", "sim-hq"),
    ("T0SIMENG", "Sim Engineering", "sim-eng"),
    ("T0SIMEU", "Sim Europe", "sim-eu"),
    ("T0SIMAPAC", "Sim APAC", "sim-apac"),
)
TEAM_OF_COUNTRY = {"US": "T0SIMHQ", "GB": "T0SIMEU", "DE": "T0SIMEU", "IN": "T0SIMAPAC"}
FIRST = (
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kai", "Lena",
    "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen",
    "Ximena", "Yusuf", "Zoe", "Arjun", "Bea", "Carlos", "Dana", "Emeka", "Freya", "Goran",
)  # fmt: skip
LAST = (
    "Abara", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iyer", "Jones",
    "Kowalski", "Lopez", "Meyer", "Nakamura", "Okafor", "Patel", "Quispe", "Rossi", "Silva",
    "Tanaka", "Usman", "Varga", "Wagner", "Xu", "Yilmaz", "Zimmer", "Murphy", "Novak", "Reyes",
)  # fmt: skip
ROUTINE_ADMIN_ACTIONS = (
    "user_created",
    "guest_created",
    "user_session_reset_by_admin",
    "role_change_to_user",
    "public_channel_archive",
    "channel_renamed",
    "app_approved",
    "app_restricted",
    "user_email_updated",
    "pref.who_can_create_public_channels",
    "pref.invites_only_admins_changed",
    "emoji_added",
)
ID_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Trip:
    """A journey: leave home, arrive, leave the destination, be home again (Unix seconds)."""

    depart: int
    arrive: int
    leave: int
    back: int
    city: City
    inflight: bool


@dataclass(frozen=True, slots=True)
class Lease:
    """A residential DHCP lease: from `start`, the home connection has these addresses."""

    start: int
    v4: str
    v6: str | None


@dataclass(frozen=True)
class Person:
    """One account of the organization with its world, clients and habits."""

    id: str
    name: str
    email: str
    team: str
    role: str
    home: City
    office: Network | None
    office_share: float
    carrier: tuple[Network, ...]
    devices: tuple[Device, ...]
    leases: tuple[Lease, ...]
    weekend_worker: bool
    night_shift: bool
    vpn_provider: str | None
    relay: bool
    api_rate: float
    downloads_mean: float
    shares_mean: float
    uploads_mean: float
    channels: int
    joined: int
    left: int | None
    trips: tuple[Trip, ...]
    admin_actions: tuple[str, ...] = ()
    service_ips: tuple[str, ...] = ()
    service_ua: str = ""

    @property
    def tz_s(self) -> int:
        """Offset of local time from UTC in seconds."""
        return self.home.tz_h * HOUR

    @property
    def is_admin(self) -> bool:
        """Owner or admin of the organization."""
        return self.role in ("owner", "admin")

    def user_object(self) -> dict[str, object]:
        """The Slack `user` object of this account."""
        return {"id": self.id, "name": self.name, "email": self.email, "team": self.team}


@dataclass
class Population:
    """The organization and every account, with the simulated time span."""

    people: list[Person]
    start: int
    end: int
    by_id: dict[str, Person] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.people}


@dataclass(frozen=True)
class PopulationConfig:
    """The knobs of the population (spec §3.2 defaults)."""

    users: int
    start: int
    days: int
    travel_x: float = 1.0
    vpn_share: float = 0.05
    joiner_share: float = 0.03
    leaver_share: float = 0.01


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A lognormal draw with the given median."""
    return median * math.exp(rng.gauss(0.0, sigma))


def _new_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        candidate = "U0" + "".join(rng.choice(ID_CHARS) for _ in range(8))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _name(rng: random.Random, n: int) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{n}@sim-org.example"


def _home(rng: random.Random) -> City:
    """Most people live near one of the organization's offices (60% end up with office
    egress, spec §3.2); the rest anywhere in their country."""
    country = rng.choices(HOME_COUNTRIES, weights=HOME_MIX)[0]
    near_office = [c for c in country.cities if c.name in OFFICE_CITIES]
    if near_office and rng.random() < NEAR_OFFICE_SHARE:
        return rng.choice(near_office)
    return rng.choice(country.cities)


def _devices(rng: random.Random, start: int, end: int) -> tuple[Device, ...]:
    os = rng.choices(("mac", "windows", "linux"), weights=(55, 40, 5))[0]
    lag = _lag(rng)
    if rng.random() < 0.75:
        primary = Device("desktop", "slack-desktop", os, lag, start - 90 * DAY)
    else:
        family = rng.choices(("chrome", "edge", "firefox", "safari"), weights=(60, 15, 15, 10))[0]
        primary = Device("browser", family, "mac" if family == "safari" else os, lag, start)
    devices = [primary]
    if primary.kind == "desktop" and rng.random() < 0.3:
        devices.append(Device("browser", "chrome", os, _lag(rng), start - 90 * DAY))
    if rng.random() < 0.5:
        family = "slack-ios" if rng.random() < 0.55 else "slack-android"
        devices.append(Device("mobile", family, family[6:], _lag(rng), start - 90 * DAY))
    if rng.random() < (end - start) / (180 * DAY):  # a new computer, ~1 per 180 days
        since = rng.randrange(start, end)
        # A fresh install is at least as recent as the machine it replaces: versions only go up.
        lag = min(_lag(rng), primary.lag_s)
        devices.append(Device(primary.kind, primary.family, primary.os, lag, since))
    return tuple(devices)


def _lag(rng: random.Random) -> int:
    if rng.random() < 0.1:
        return int(rng.uniform(20, 40) * DAY)
    return int(min(rng.expovariate(1 / 3), 12) * DAY)


def _leases(rng: random.Random, isp: tuple[Network, ...], start: int, end: int) -> list[Lease]:
    churn = rng.uniform(3, 14) * DAY
    ts: float = start - 30 * DAY
    out: list[Lease] = []
    while ts < end:
        v6 = isp[1].pick(rng) if len(isp) > 1 and rng.random() < 0.3 else None
        out.append(Lease(int(ts), isp[0].pick(rng), v6))
        ts += rng.expovariate(1 / churn)
    return out


def _trips(rng: random.Random, home: City, cfg: PopulationConfig) -> tuple[Trip, ...]:
    trips, end = [], cfg.start + cfg.days * DAY
    ts: float = cfg.start - 10 * DAY + rng.expovariate(cfg.travel_x / (60 * DAY))
    while ts < end:
        trip = _trip(rng, home, int(ts))
        trips.append(trip)
        ts = trip.back + 2 * DAY + rng.expovariate(cfg.travel_x / (60 * DAY))
    return tuple(trips)


def _trip(rng: random.Random, home: City, ts: int) -> Trip:
    domestic = [c for ct in HOME_COUNTRIES if ct.iso == home.country for c in ct.cities]
    domestic = [c for c in domestic if c != home]
    if rng.random() < 0.3 or not domestic:
        abroad = [c for ct in HOME_COUNTRIES + TRAVEL_COUNTRIES for c in ct.cities]
        city = rng.choice([c for c in abroad if c.country != home.country])
    else:
        city = rng.choice(domestic)
    # Flights leave in the local morning; the gap honours distance / 850 km/h plus airports.
    depart = (ts // DAY) * DAY - home.tz_h * HOUR + int(rng.uniform(6, 10) * HOUR)
    flight = int((distance_km(home, city) / 850 + 2.5) * HOUR)
    stay = int(rng.uniform(2, 7) * DAY)
    inflight = flight > 5 * HOUR and rng.random() < 0.4
    return Trip(
        depart, depart + flight, depart + flight + stay, depart + 2 * flight + stay, city, inflight
    )


def _office(rng: random.Random, world: World, home: City) -> Network | None:
    if home.name not in OFFICE_CITIES or rng.random() > 0.85:
        return None
    offices = world.networks_of("office", home.country, home.name)
    return offices[0] if offices else None


def _person(rng: random.Random, world: World, cfg: PopulationConfig, pid: str, n: int) -> Person:
    home = _home(rng)
    end = cfg.start + cfg.days * DAY
    isp = world.networks_of("residential", home.country, home.name)
    v4 = [net for net in isp if net.version == 4]
    choice = rng.randrange(len(v4))
    isp_pair = tuple(net for net in isp if net.org == v4[choice].org)
    carriers = world.networks_of("mobile", home.country)
    carrier_org = rng.choice(carriers).org
    name, email = _name(rng, n)
    downloads = lognormal(rng, 3.0, 0.8) * (15 if rng.random() < 0.05 else 1)
    return Person(
        id=pid,
        name=name,
        email=email,
        team=TEAM_OF_COUNTRY.get(home.country, "T0SIMHQ"),
        role="member",
        home=home,
        office=_office(rng, world, home),
        office_share=rng.uniform(0.5, 0.95),
        carrier=tuple(net for net in carriers if net.org == carrier_org),
        devices=_devices(rng, cfg.start, end),
        leases=tuple(_leases(rng, isp_pair, cfg.start, end)),
        weekend_worker=rng.random() < 0.1,
        night_shift=rng.random() < 0.05,
        vpn_provider=None,
        relay=False,
        api_rate=lognormal(rng, 60.0, 0.6),
        downloads_mean=downloads,
        shares_mean=lognormal(rng, 0.6, 0.7),
        uploads_mean=lognormal(rng, 0.4, 0.7),
        channels=rng.randint(8, 60),
        joined=cfg.start - 365 * DAY,
        left=None,
        trips=_trips(rng, home, cfg),
    )


def _habits(rng: random.Random, p: Person, cfg: PopulationConfig) -> Person:
    vpn = rng.choice(("SwiftTunnel VPN", "NordLight VPN", "Mullet VPN", "ProtonFish VPN"))
    apple = any(d.family in ("safari", "slack-ios") for d in p.devices)
    return replace(
        p,
        vpn_provider=vpn if rng.random() < cfg.vpn_share else None,
        relay=apple and rng.random() < 0.15,
    )


def _service_account(rng: random.Random, world: World, p: Person) -> Person:
    country = rng.choice(("US", "DE"))
    clouds = ("Nimbus Cloud", "Stratus Compute")
    hosts = [n for n in world.networks_of("hosting", country) if n.org in clouds]
    net = rng.choice(hosts)
    base = p.name.split()[1].lower()
    return replace(
        p,
        role="service",
        name=f"svc-{base}-ci",
        email=f"svc-{base}-ci-{p.id.lower()}@sim-org.example",
        devices=(),
        vpn_provider=None,
        relay=False,
        trips=(),
        office=None,
        api_rate=lognormal(rng, 300.0, 0.5),
        service_ips=tuple(net.pick(rng) for _ in range(rng.randint(1, 3))),
        service_ua=rng.choice(SERVICE_UAS),
    )


def _roles(rng: random.Random, people: list[Person], world: World, cfg: PopulationConfig) -> None:
    n_admins = max(6, round(cfg.users * 0.015))
    n_service = max(2, round(cfg.users * 0.02))
    order = list(range(len(people)))
    rng.shuffle(order)
    for rank, i in enumerate(order):
        p = people[i]
        if rank == 0:
            people[i] = replace(p, role="owner", admin_actions=_admin_set(rng))
        elif rank <= n_admins:
            people[i] = replace(p, role="admin", admin_actions=_admin_set(rng))
        elif rank <= n_admins + n_service:
            people[i] = _service_account(rng, world, p)


def _admin_set(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.sample(ROUTINE_ADMIN_ACTIONS, rng.randint(3, 5)))


def _lifecycle(rng: random.Random, people: list[Person], cfg: PopulationConfig) -> None:
    """Joiners (the cold-start cohort) and leavers among ordinary members."""
    members = [i for i, p in enumerate(people) if p.role == "member"]
    rng.shuffle(members)
    n_join = round(cfg.users * cfg.joiner_share)
    n_leave = round(cfg.users * cfg.leaver_share)
    span = cfg.days * DAY
    for i in members[:n_join]:
        joined = cfg.start + int(rng.uniform(0.1, 0.9) * span)
        people[i] = replace(people[i], joined=joined)
    for i in members[n_join : n_join + n_leave]:
        people[i] = replace(people[i], left=cfg.start + int(rng.uniform(0.2, 0.9) * span))


def build_population(world: World, cfg: PopulationConfig, seed: int) -> Population:
    """Every account of the organization for a seed."""
    rng = random.Random(f"trailkeeper-sim-population-{seed}")
    taken: set[str] = set()
    people = [_person(rng, world, cfg, _new_id(rng, taken), n) for n in range(cfg.users)]
    people = [_habits(rng, p, cfg) for p in people]
    _roles(rng, people, world, cfg)
    _lifecycle(rng, people, cfg)
    return Population(people, cfg.start, cfg.start + cfg.days * DAY)
