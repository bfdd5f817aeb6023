"""Places of the synthetic world: countries and cities with coordinates and UTC offsets.

Static data only. The coordinates are real (geography is not sensitive); every address and ASN
built on top of them in `world.py` is synthetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    """A city: its name, region (first subdivision), country code, coordinates and UTC offset."""

    name: str
    region: str
    country: str
    lat: float
    lon: float
    tz_h: int


@dataclass(frozen=True, slots=True)
class Country:
    """A country with its cities (the first is the hub that coarse geo-IP points at)."""

    iso: str
    name: str
    cities: tuple[City, ...]

    @property
    def hub(self) -> City:
        """The city coarse (mobile, relay) geolocation resolves to."""
        return self.cities[0]


def _country(iso: str, name: str, *cities: tuple[str, str, float, float, int]) -> Country:
    return Country(iso, name, tuple(City(c, r, iso, la, lo, tz) for c, r, la, lo, tz in cities))


# Where the organization's people live (HOME_MIX weights them).
HOME_COUNTRIES = (
    _country(
        "US",
        "United States",
        ("New York", "New York", 40.71, -74.01, -5),
        ("San Francisco", "California", 37.77, -122.42, -8),
        ("Chicago", "Illinois", 41.88, -87.63, -6),
        ("Austin", "Texas", 30.27, -97.74, -6),
        ("Seattle", "Washington", 47.61, -122.33, -8),
    ),
    _country(
        "GB",
        "United Kingdom",
        ("London", "England", 51.51, -0.13, 0),
        ("Manchester", "England", 53.48, -2.24, 0),
        ("Edinburgh", "Scotland", 55.95, -3.19, 0),
    ),
    _country(
        "DE",
        "Germany",
        ("Berlin", "Berlin", 52.52, 13.40, 1),
        ("Munich", "Bavaria", 48.14, 11.58, 1),
        ("Hamburg", "Hamburg", 53.55, 9.99, 1),
    ),
    _country(
        "IN",
        "India",
        ("Bengaluru", "Karnataka", 12.97, 77.59, 5),
        ("Mumbai", "Maharashtra", 19.08, 72.88, 5),
        ("Pune", "Maharashtra", 18.52, 73.86, 5),
    ),
    _country(
        "BR",
        "Brazil",
        ("São Paulo", "São Paulo", -23.55, -46.63, -3),
        ("Rio de Janeiro", "Rio de Janeiro", -22.91, -43.17, -3),
    ),
)
HOME_MIX = (0.60, 0.13, 0.11, 0.10, 0.06)

# Business-travel destinations that are nobody's home.
TRAVEL_COUNTRIES = (
    _country("FR", "France", ("Paris", "Île-de-France", 48.86, 2.35, 1)),
    _country("JP", "Japan", ("Tokyo", "Tokyo", 35.68, 139.69, 9)),
    _country("SG", "Singapore", ("Singapore", "Singapore", 1.35, 103.82, 8)),
    _country("AU", "Australia", ("Sydney", "New South Wales", -33.87, 151.21, 10)),
    _country("CA", "Canada", ("Toronto", "Ontario", 43.65, -79.38, -5)),
    _country("MX", "Mexico", ("Mexico City", "Mexico City", 19.43, -99.13, -6)),
    _country("NL", "Netherlands", ("Amsterdam", "North Holland", 52.37, 4.90, 1)),
    _country("ES", "Spain", ("Madrid", "Madrid", 40.42, -3.70, 1)),
    _country("AE", "United Arab Emirates", ("Dubai", "Dubai", 25.20, 55.27, 4)),
)

# Where naive attackers' infrastructure sits (hosting in these is never used by staff).
ATTACK_COUNTRIES = (
    _country("RU", "Russia", ("Moscow", "Moscow", 55.76, 37.62, 3)),
    _country("CN", "China", ("Shanghai", "Shanghai", 31.23, 121.47, 8)),
    _country("NG", "Nigeria", ("Lagos", "Lagos", 6.52, 3.38, 1)),
    _country("VN", "Vietnam", ("Hanoi", "Hanoi", 21.03, 105.85, 7)),
    _country("RO", "Romania", ("Bucharest", "Bucharest", 44.43, 26.10, 2)),
)

ALL_COUNTRIES = HOME_COUNTRIES + TRAVEL_COUNTRIES + ATTACK_COUNTRIES
COUNTRY_BY_ISO = {c.iso: c for c in ALL_COUNTRIES}
# Offices (shared NAT egress) of the organization.
OFFICE_CITIES = ("New York", "San Francisco", "London", "Berlin", "Bengaluru", "São Paulo")
EARTH_RADIUS_KM = 6371.0


def distance_km(a: City, b: City) -> float:
    """Great-circle distance between two cities (haversine)."""
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two coordinates in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
