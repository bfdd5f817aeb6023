"""The synthetic IP world with ground truth: ASNs and networks carved from 100.64.0.0/10
(consumers), 198.18.0.0/15 (servers) and 2001:db8::/32, never real addresses (spec §3.2).
"""

from __future__ import annotations

import bisect
import ipaddress
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from trailkeeper.simulate.geography import (
    ATTACK_COUNTRIES,
    COUNTRY_BY_ISO,
    HOME_COUNTRIES,
    OFFICE_CITIES,
    TRAVEL_COUNTRIES,
    City,
    Country,
)

V4_CONSUMER = ipaddress.ip_network("100.64.0.0/10")
V4_SERVER = ipaddress.ip_network("198.18.0.0/15")
V6_POOL = ipaddress.ip_network("2001:db8::/32")
FIRST_ASN = 64512  # the 16-bit private-use range: obviously synthetic numbers
TOR_EXITS = 1500

# Hosting providers: (name, countries with a data centre).
HOSTING = (
    ("Nimbus Cloud", ("US", "GB", "DE", "IN", "BR", "SG", "JP", "NL", "FR", "AU")),
    ("Stratus Compute", ("US", "DE", "NL", "SG")),
    ("Ocean Droplets", ("US", "NL", "SG", "IN", "GB", "DE")),
    ("Hetzel Online", ("DE", "NL")),
    ("BulletHost Ltd", ("RU", "RO", "NL")),
    ("Yunduan Cloud", ("CN", "SG")),
    ("Lagoon Datacenter", ("NG",)),
    ("Song Hong Hosting", ("VN",)),
)
# Hosting providers whose whole ASN is on the suspicious-ASN list (Slack's `asn` reason).
SUSPICIOUS_HOSTING = ("BulletHost Ltd", "Song Hong Hosting")
VPN_PROVIDERS = ("SwiftTunnel VPN", "NordLight VPN", "Mullet VPN", "ProtonFish VPN")
VPN_COUNTRIES = ("US", "GB", "DE", "IN", "BR", "NL", "FR", "CA", "SG", "JP", "ES", "RO")
TOR_HOSTS = (("Frantic Hosting", ("US", "NL")), ("Quintex Networks", ("DE", "FR", "RO", "NL")))
RESIDENTIAL_NAMES = {
    "US": ("Comcastle Cable", "Verity Fios", "Spectral Internet"),
    "GB": ("BritTel Broadband", "Virgo Media", "SkyNet Home"),
    "DE": ("Deutsche Telekon", "Vodafon Kabel", "1&2 Versatel"),
    "IN": ("Jyoti Fiber", "Bharat Broadband", "ACTive Fibernet"),
    "BR": ("Vivace Fibra", "Claro Net Casa", "Oi Velox"),
}
MOBILE_NAMES = {
    "US": ("T-Mobius US", "Verity Wireless"),
    "GB": ("EEzy Mobile", "O3 UK"),
    "DE": ("Telekon Mobil", "O3 Germany"),
    "IN": ("Jyoti Mobile", "Airtell"),
    "BR": ("Vivace Móvel", "Tim Celular"),
}


@dataclass(frozen=True, slots=True)
class Network:
    """One allocated network: its ASN, what kind of network it really is, and where geo-IP puts it.

    `city` is the true place (None for nationwide networks); `geo` is the city the MMDB
    reports (None: country only); `accuracy_km` is the MMDB accuracy radius.
    """

    cidr: str
    version: int
    first: int
    last: int
    asn: int
    org: str
    kind: str
    country: str
    city: City | None
    geo: City | None
    accuracy_km: int

    def pick(self, rng: random.Random) -> str:
        """A random host address inside the network (never its first or last address)."""
        value = self.first + rng.randrange(1, self.last - self.first)
        if self.version == 6:
            return str(ipaddress.IPv6Address(value))
        return str(ipaddress.IPv4Address(value))


@dataclass(frozen=True, slots=True)
class AutonomousSystem:
    """A synthetic autonomous system."""

    number: int
    org: str
    kind: str


@dataclass
class World:
    """Every network of the synthetic Internet, with the lists operators would load."""

    networks: list[Network]
    tor_exits: tuple[str, ...]
    ioc: tuple[str, ...]
    suspicious_asns: tuple[int, ...]
    systems: dict[int, AutonomousSystem]
    _index: dict[tuple[str, str, str], list[Network]] = field(default_factory=dict)
    _starts: dict[int, list[int]] = field(default_factory=dict)
    _sorted: dict[int, list[Network]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for net in self.networks:
            city = net.city.name if net.city else ""
            self._index.setdefault((net.kind, net.country, city), []).append(net)
            self._index.setdefault((net.kind, net.country, ""), []).append(net)
            self._index.setdefault((net.kind, "", ""), []).append(net)
        for version in (4, 6):
            nets = sorted((n for n in self.networks if n.version == version), key=lambda n: n.first)
            self._sorted[version] = nets
            self._starts[version] = [n.first for n in nets]

    def networks_of(self, kind: str, country: str = "", city: str = "") -> list[Network]:
        """Networks of a kind, optionally in one country and city (deduplicated, in order)."""
        return list(dict.fromkeys(self._index.get((kind, country, city), [])))

    def locate(self, ip: str) -> Network | None:
        """The network holding an address, if any."""
        address = ipaddress.ip_address(ip)
        value, starts = int(address), self._starts[address.version]
        i = bisect.bisect_right(starts, value) - 1
        if i >= 0:
            net = self._sorted[address.version][i]
            if net.first <= value <= net.last:
                return net
        return None


class _Allocator:
    """Hands out aligned blocks from a pool, in order, so the layout is deterministic."""

    def __init__(self, pool: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        self.pool = pool
        self.cursor = int(pool.network_address)

    def take(self, prefix: int) -> tuple[str, int, int, int]:
        size = 1 << (self.pool.max_prefixlen - prefix)
        start = -(-self.cursor // size) * size
        if start + size > int(self.pool.broadcast_address) + 1:
            raise ValueError(f"synthetic pool {self.pool} exhausted")
        self.cursor = start + size
        net = ipaddress.ip_network((start, prefix))
        return str(net), net.version, start, start + size - 1


class _Builder:
    """Accumulates ASNs and networks while the world is laid out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.consumer = _Allocator(V4_CONSUMER)
        self.server = _Allocator(V4_SERVER)
        self.v6 = _Allocator(V6_POOL)
        self.systems: dict[str, AutonomousSystem] = {}
        self.networks: list[Network] = []

    def asn(self, org: str, kind: str) -> AutonomousSystem:
        if org not in self.systems:
            self.systems[org] = AutonomousSystem(FIRST_ASN + len(self.systems), org, kind)
        return self.systems[org]

    def add(
        self,
        system: AutonomousSystem,
        block: tuple[str, int, int, int],
        kind: str,
        where: tuple[str, City | None, City | None],
        accuracy_km: int,
    ) -> Network:
        country, city, geo = where
        net = Network(*block, system.number, system.org, kind, country, city, geo, accuracy_km)
        self.networks.append(net)
        return net


def _residential(b: _Builder, country: Country) -> None:
    for n, name in enumerate(RESIDENTIAL_NAMES[country.iso]):
        system = b.asn(name, "residential")
        for city in country.cities:
            # ~15% of city blocks are geolocated to the hub: everyday geo-IP error.
            geo = country.hub if b.rng.random() < 0.15 else city
            accuracy = 100 if geo is not city else b.rng.choice((10, 20, 50))
            b.add(system, b.consumer.take(20), "residential", (country.iso, city, geo), accuracy)
            if n < 2:  # two of three ISPs are dual-stack
                b.add(system, b.v6.take(44), "residential", (country.iso, city, geo), accuracy)


def _mobile(b: _Builder, country: Country, names: tuple[str, ...]) -> None:
    for n, name in enumerate(names):
        system = b.asn(name, "mobile")
        geo = country.hub if n == 0 else None  # coarse: hub city or country only
        accuracy = b.rng.choice((200, 300, 500))
        b.add(system, b.consumer.take(18), "mobile", (country.iso, None, geo), accuracy)
        b.add(system, b.v6.take(40), "mobile", (country.iso, None, geo), accuracy)


def _business(b: _Builder, country: Country) -> None:
    """Business ISPs carry the offices' NAT egress; a hospitality ISP serves hotels."""
    business = b.asn(f"{country.name} Business Fiber", "business")
    hotels = b.asn("Roamwell Hospitality WiFi", "hotel")
    relay = b.asn("Cloakline Private Relay", "relay")
    for city in country.cities:
        where = (country.iso, city, city)
        if city.name in OFFICE_CITIES:
            b.add(business, b.consumer.take(28), "office", where, 20)
        b.add(hotels, b.consumer.take(24), "hotel", where, 50)
        if country in HOME_COUNTRIES:
            b.add(relay, b.consumer.take(24), "relay", (country.iso, None, city), 50)


def _servers(b: _Builder) -> None:
    for name, countries in HOSTING:
        system = b.asn(name, "hosting")
        for iso in countries:
            hub = COUNTRY_BY_ISO[iso].hub
            b.add(system, b.server.take(22), "hosting", (iso, hub, hub), 500)
    for name in VPN_PROVIDERS:
        system = b.asn(name, "vpn")
        for iso in VPN_COUNTRIES:
            hub = COUNTRY_BY_ISO[iso].hub
            b.add(system, b.server.take(25), "vpn", (iso, hub, hub), 100)
    for name, countries in TOR_HOSTS:
        system = b.asn(name, "hosting")
        for iso in countries:
            hub = COUNTRY_BY_ISO[iso].hub
            b.add(system, b.server.take(22), "tor-host", (iso, hub, hub), 500)
    sky = b.asn("SkyReach In-Flight Connectivity", "satellite")
    us_hub = COUNTRY_BY_ISO["US"].hub
    b.add(sky, b.server.take(22), "satellite", ("US", None, us_hub), 1000)


def _tor_exits(b: _Builder) -> tuple[str, ...]:
    hosts = [n for n in b.networks if n.kind == "tor-host"]
    exits: set[str] = set()
    while len(exits) < TOR_EXITS:
        exits.add(b.rng.choice(hosts).pick(b.rng))
    return tuple(sorted(exits, key=lambda ip: int(ipaddress.ip_address(ip))))


def _ioc(b: _Builder) -> tuple[str, ...]:
    """Known-bad ranges: the first /26 of every attack-country and bullet-proof hosting block."""
    bad = [
        n
        for n in b.networks
        if n.kind == "hosting"
        and (n.country in {c.iso for c in ATTACK_COUNTRIES} or n.org in SUSPICIOUS_HOSTING)
    ]
    return tuple(f"{ipaddress.IPv4Address(n.first)}/26" for n in bad)


def build_world(seed: int) -> World:
    """The synthetic world for a seed (layout fixed, Tor exits and geo errors drawn by seed)."""
    b = _Builder(random.Random(f"trailkeeper-sim-world-{seed}"))
    for country in HOME_COUNTRIES:
        _residential(b, country)
        _mobile(b, country, MOBILE_NAMES[country.iso])
    for country in TRAVEL_COUNTRIES:
        _mobile(b, country, (f"{country.name} Mobile",))
    for country in HOME_COUNTRIES + TRAVEL_COUNTRIES:
        _business(b, country)
    _servers(b)
    suspicious = tuple(s.number for s in b.systems.values() if s.org in SUSPICIOUS_HOSTING)
    return World(
        networks=b.networks,
        tor_exits=_tor_exits(b),
        ioc=_ioc(b),
        suspicious_asns=suspicious,
        systems={s.number: s for s in b.systems.values()},
    )


def city_record(net: Network) -> dict[str, object]:
    """The GeoLite2-City record of a network."""
    country = COUNTRY_BY_ISO[net.country]
    record: dict[str, object] = {
        "country": {"iso_code": country.iso, "names": {"en": country.name}},
        "registered_country": {"iso_code": country.iso, "names": {"en": country.name}},
    }
    where = net.geo or country.hub
    location: dict[str, object] = {
        "latitude": where.lat,
        "longitude": where.lon,
        "accuracy_radius": net.accuracy_km,
    }
    record["location"] = location
    if net.geo is not None:
        record["city"] = {"names": {"en": net.geo.name}}
        record["subdivisions"] = [{"names": {"en": net.geo.region}}]
    return record


def asn_record(net: Network) -> dict[str, object]:
    """The GeoLite2-ASN record of a network."""
    return {"autonomous_system_number": net.asn, "autonomous_system_organization": net.org}


def range_lines(world: World, kinds: tuple[str, ...]) -> Iterator[str]:
    """`CIDR provider` lines for the networks of the given kinds."""
    for net in world.networks:
        if net.kind in kinds:
            yield f"{net.cidr} {net.org}"
