"""A small synthetic IP world for detection tests: MMDB files written with mmdb-writer, plus
Tor, cloud, VPN, IOC and suspicious-ASN lists. Only documentation/shared ranges are used
(100.64.0.0/10, 198.18.0.0/15, 2001:db8::/32), never real addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet


@dataclass(frozen=True)
class Net:
    cidr: str
    asn: int
    org: str
    country: str
    city: str
    region: str
    lat: float
    lon: float
    accuracy_km: int = 20


NETS = {
    "office": Net(
        "100.64.1.0/24", 64500, "Acme Office NAT", "US", "New York", "New York", 40.71, -74.0
    ),
    "home_us": Net(
        "100.64.16.0/20", 64501, "Cablecom US", "US", "New York", "New York", 40.73, -73.9
    ),
    "home_us2": Net(
        "100.64.48.0/20", 64505, "Fibre US", "US", "Newark", "New Jersey", 40.73, -74.17
    ),
    "mobile_us": Net(
        "100.64.32.0/20", 64502, "Mobile US", "US", "Chicago", "Illinois", 41.88, -87.63, 300
    ),
    "home_gb": Net("100.65.0.0/20", 64503, "Broadband GB", "GB", "London", "England", 51.5, -0.12),
    "home_de": Net("100.66.0.0/20", 64504, "Kabel DE", "DE", "Berlin", "Berlin", 52.52, 13.4),
    "hotel_fr": Net(
        "100.67.0.0/20", 64506, "Hotel Wifi FR", "FR", "Paris", "Ile-de-France", 48.85, 2.35
    ),
    "far_br": Net(
        "100.80.0.0/16", 64520, "Rede BR", "BR", "Sao Paulo", "Sao Paulo", -23.55, -46.63
    ),
    "far_sg": Net("100.81.0.0/16", 64521, "Asia Net", "SG", "Singapore", "Singapore", 1.29, 103.85),
    "cloud": Net(
        "198.18.0.0/20", 64510, "Cloudy Hosting", "NL", "Amsterdam", "North Holland", 52.37, 4.9
    ),
    "vpn": Net("198.18.64.0/20", 64511, "Private VPN Co", "US", "Dallas", "Texas", 32.78, -96.8),
    "tor": Net("198.18.128.0/24", 64530, "Relay Hosting", "DE", "Frankfurt", "Hesse", 50.11, 8.68),
    "ioc": Net("198.18.200.0/24", 64540, "Bad Net", "RU", "Moscow", "Moscow", 55.75, 37.62),
    "suspicious": Net(
        "198.18.210.0/24", 64666, "Bulletproof Hosting", "MD", "Chisinau", "Chisinau", 47.0, 28.86
    ),
    "v6_home": Net(
        "2001:db8:1::/48", 64507, "IPv6 Home", "US", "Boston", "Massachusetts", 42.36, -71.06
    ),
}

TOR_EXITS = [f"198.18.128.{i}" for i in range(1, 21)]


def ip(net: str, host: int = 10) -> str:
    """An address inside one of the world's networks."""
    return str(ipaddress.ip_network(NETS[net].cidr)[host])


def write_world(directory: Path) -> dict[str, str]:
    """Write the world's files into `directory`; returns load_enrichment keyword arguments."""
    city = MMDBWriter(
        6, "GeoLite2-City", languages=["en"], description="test city", ipv4_compatible=True
    )
    asn = MMDBWriter(
        6, "GeoLite2-ASN", languages=["en"], description="test asn", ipv4_compatible=True
    )
    for net in NETS.values():
        cidr = IPSet([net.cidr])
        city.insert_network(
            cidr,
            {
                "city": {"names": {"en": net.city}},
                "country": {"iso_code": net.country, "names": {"en": net.country}},
                "subdivisions": [{"names": {"en": net.region}}],
                "location": {
                    "latitude": net.lat,
                    "longitude": net.lon,
                    "accuracy_radius": net.accuracy_km,
                },
            },
        )
        asn.insert_network(
            cidr,
            {"autonomous_system_number": net.asn, "autonomous_system_organization": net.org},
        )
    paths = {
        "city_mmdb": directory / "city.mmdb",
        "asn_mmdb": directory / "asn.mmdb",
        "tor_exits": directory / "tor.txt",
        "cloud_ranges": directory / "cloud.txt",
        "ioc_list": directory / "ioc.txt",
        "vpn_ranges": directory / "vpn.txt",
        "suspicious_asns": directory / "suspicious.txt",
    }
    city.to_db_file(str(paths["city_mmdb"]))
    asn.to_db_file(str(paths["asn_mmdb"]))
    paths["tor_exits"].write_text("# test exits\n" + "\n".join(TOR_EXITS) + "\n")
    paths["cloud_ranges"].write_text(f"{NETS['cloud'].cidr} Cloudy\n")
    paths["ioc_list"].write_text(f"{NETS['ioc'].cidr} watchlist\n")
    paths["vpn_ranges"].write_text("AS64511 Private VPN Co\n")
    paths["suspicious_asns"].write_text("AS64666 bulletproof\n")
    return {k: str(v) for k, v in paths.items()}
