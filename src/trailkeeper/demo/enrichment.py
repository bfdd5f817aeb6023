"""The demo's IP world: what the enrichment files say about every address the demo uses.

Anomaly detection (`trailkeeper.detect`) knows where an address is only from the operator's
offline files (GeoLite2-City/-ASN MMDB, a Tor exit list, cloud and suspicious-ASN lists).
This module describes, as data, the files that match the demo organization: the office,
residential and mobile ISPs of the users' home regions, the cloud networks its apps run in,
the foreign ISP of the impossible-travel login, a hosting network with a bad reputation (the
password spray and the 2:40 a.m. admin) and the Tor exits. `trailkeeper.seed` writes them.

Pure and stdlib-only like the rest of `trailkeeper.demo`; the ASNs are private-use numbers and
the ISP names invented, except the two real cloud providers the apps' addresses belong to.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from trailkeeper.demo._data import (
    APP_AGENTS,
    FOREIGN_IPS,
    HOSTING_IPS,
    REGIONS,
    TOR_EXITS,
    Region,
)
from trailkeeper.demo._org import DemoOrganization


@dataclass(frozen=True)
class Place:
    """Where a network is, in GeoLite2-City terms."""

    country: str
    country_name: str
    city: str
    region: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Isp:
    """An autonomous system: number, organization and what kind of network it is."""

    asn: int
    name: str
    kind: str  # office, residential, mobile, cloud, hosting or tor


@dataclass(frozen=True)
class DemoNetwork:
    """One network of the demo world with its place and ISP."""

    cidr: str
    place: Place
    isp: Isp
    accuracy_km: int

    def city_record(self) -> dict[str, object]:
        """The network's GeoLite2-City record."""
        p = self.place
        country = {"iso_code": p.country, "names": {"en": p.country_name}}
        record: dict[str, object] = {
            "country": country,
            "registered_country": dict(country),
            "location": {
                "latitude": p.lat,
                "longitude": p.lon,
                "accuracy_radius": self.accuracy_km,
            },
        }
        if p.city:
            record["city"] = {"names": {"en": p.city}}
            record["subdivisions"] = [{"names": {"en": p.region}}]
        return record

    def asn_record(self) -> dict[str, object]:
        """The network's GeoLite2-ASN record."""
        return {
            "autonomous_system_number": self.isp.asn,
            "autonomous_system_organization": self.isp.name,
        }


@dataclass(frozen=True)
class DemoIpWorld:
    """Every network of the demo (broadest first: a more specific one overrides) and the
    Tor exits."""

    networks: tuple[DemoNetwork, ...]
    tor_exits: tuple[str, ...]

    def network_of(self, address: str) -> DemoNetwork | None:
        """The most specific network containing `address` (None outside the world)."""
        ip = ipaddress.ip_address(address)
        found = [n for n in self.networks if ip in ipaddress.ip_network(n.cidr)]
        return found[-1] if found else None

    def cloud_lines(self) -> list[str]:
        """`CIDR provider` lines of the cloud and hosting networks (the cloud-ranges list)."""
        return [
            f"{n.cidr} {n.isp.name}" for n in self.networks if n.isp.kind in ("cloud", "hosting")
        ]

    def suspicious_asn_lines(self) -> list[str]:
        """`AS123 name` lines of the ASNs with a bad reputation (the suspicious-ASN list)."""
        hosting = {n.isp.asn: n.isp.name for n in self.networks if n.isp.kind == "hosting"}
        return [f"AS{asn} {name}" for asn, name in sorted(hosting.items())]


# region key -> (place, office ISP, home ISPs, mobile carrier)
HOME_REGIONS: dict[str, tuple[Place, Isp, tuple[Isp, ...], Isp]] = {
    "us-east": (
        Place("US", "United States", "New York", "New York", 40.7128, -74.006),
        Isp(64601, "Empire Business Fiber", "office"),
        (Isp(64602, "Atlantic Cable", "residential"), Isp(64603, "Hudson Fios", "residential")),
        Isp(64604, "Liberty Wireless", "mobile"),
    ),
    "us-west": (
        Place("US", "United States", "San Francisco", "California", 37.7749, -122.4194),
        Isp(64611, "Bay Area Metro Ethernet", "office"),
        (Isp(64612, "Pacific Cable", "residential"), Isp(64613, "Golden Gate DSL", "residential")),
        Isp(64614, "Sierra Mobile", "mobile"),
    ),
    "london": (
        Place("GB", "United Kingdom", "London", "England", 51.5074, -0.1278),
        Isp(64621, "Thames Business Networks", "office"),
        (Isp(64622, "Albion Broadband", "residential"), Isp(64623, "Kestrel Fibre", "residential")),
        Isp(64624, "Union Mobile", "mobile"),
    ),
    "stockholm": (
        Place("SE", "Sweden", "Linköping", "Östergötland County", 58.4108, 15.6214),
        Isp(64631, "Östgöta Företagsnät", "office"),
        (Isp(64632, "Nordfiber Hem", "residential"), Isp(64633, "Stångå Bredband", "residential")),
        Isp(64634, "Vinga Mobil", "mobile"),
    ),
    "tokyo": (
        Place("JP", "Japan", "Tokyo", "Tokyo", 35.6895, 139.6917),
        Isp(64641, "Marunouchi Business Net", "office"),
        (Isp(64642, "Sakura Hikari", "residential"), Isp(64643, "Kanto Cable", "residential")),
        Isp(64644, "Fuji Mobile", "mobile"),
    ),
}

# The networks of the injected episodes and of the apps (GeoLite2 style: /24s and wider).
ELSEWHERE: tuple[tuple[str, Place, Isp, int], ...] = (
    (
        "175.16.199.0/24",  # the impossible-travel login (FOREIGN_IPS)
        Place("CN", "China", "Changchun", "Jilin", 43.88, 125.3228),
        Isp(64651, "Jilin Residential Broadband", "residential"),
        50,
    ),
    (
        "45.155.205.0/24",  # the password spray and the 2:40 a.m. admin (HOSTING_IPS)
        Place("NL", "Netherlands", "Amsterdam", "North Holland", 52.3676, 4.9041),
        Isp(64666, "Bulwark Offshore Hosting", "hosting"),
        20,
    ),
    (
        "185.220.100.0/22",  # the Tor exits
        Place("DE", "Germany", "", "", 51.2993, 9.491),
        Isp(64680, "Relay Hosting Association", "tor"),
        200,
    ),
    (
        "52.20.0.0/14",  # the internal bots (APP_AGENTS)
        Place("US", "United States", "Ashburn", "Virginia", 39.0438, -77.4874),
        Isp(14618, "Amazon Web Services", "cloud"),
        1000,
    ),
    (
        "54.196.0.0/15",
        Place("US", "United States", "Ashburn", "Virginia", 39.0438, -77.4874),
        Isp(14618, "Amazon Web Services", "cloud"),
        1000,
    ),
    (
        "34.64.0.0/10",  # the eDiscovery app
        Place("US", "United States", "", "", 37.751, -97.822),
        Isp(396982, "Google Cloud", "cloud"),
        1000,
    ),
)

HOME_ACCURACY_KM = {"office": 10, "residential": 20, "mobile": 200}


def demo_ip_world(org: DemoOrganization) -> DemoIpWorld:
    """The IP world of `org` (from `demo_organization()`): its users' home regions, its apps'
    clouds and the networks of the injected episodes."""
    homes = {(u.country, u.city) for u in org.users}
    networks: list[DemoNetwork] = []
    for region in REGIONS:
        if (region.country, region.city) in homes:
            networks += _region_networks(region, *HOME_REGIONS[region.key])
    networks += [DemoNetwork(cidr, place, isp, km) for cidr, place, isp, km in ELSEWHERE]
    networks.sort(key=lambda n: ipaddress.ip_network(n.cidr).prefixlen)
    return DemoIpWorld(tuple(networks), TOR_EXITS)


def _region_networks(
    region: Region, place: Place, office: Isp, homes: tuple[Isp, ...], mobile: Isp
) -> list[DemoNetwork]:
    """A region's networks: each office egress address, the home ISPs' and the carrier's."""
    km = HOME_ACCURACY_KM
    nets = [DemoNetwork(f"{ip}/32", place, office, km["office"]) for ip in region.offices]
    home_nets = [*region.home_nets, region.home_v6]
    nets += [
        DemoNetwork(cidr, place, homes[i % len(homes)], km["residential"])
        for i, cidr in enumerate(home_nets)
    ]
    mobile_nets = [*region.mobile_nets, region.mobile_v6]
    nets += [DemoNetwork(cidr, place, mobile, km["mobile"]) for cidr in mobile_nets]
    return nets


def episode_addresses() -> tuple[str, ...]:
    """The fixed addresses of the injected episodes and the apps (all inside the world)."""
    apps = tuple(ip for _, ip in APP_AGENTS.values())
    return (*TOR_EXITS, *FOREIGN_IPS, *HOSTING_IPS, *apps)
