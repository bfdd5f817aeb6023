"""Where a person is and which address, client and session they use at a given moment.
Stateless and hash-driven, so normal behaviour and attacks (which reuse a victim's live session
or home address) agree without sharing state.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from trailkeeper.simulate.clients import Device
from trailkeeper.simulate.population import DAY, HOUR, Lease, Person, Trip
from trailkeeper.simulate.world import VPN_COUNTRIES, Network, World

SESSION_LIFE_DAYS = {"desktop": (14.0, 30.0), "browser": (1.0, 7.0), "mobile": (30.0, 90.0)}


def digest(*parts: object) -> int:
    """A stable 64-bit hash of the parts (Python's `hash` is salted per process)."""
    key = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def coin(*parts: object) -> float:
    """A stable uniform draw in [0, 1) keyed by the parts."""
    return digest(*parts) / 2.0**64


def host(net: Network, *parts: object) -> str:
    """A stable host address of `net` keyed by the parts."""
    value = net.first + 1 + digest(*parts) % (net.last - net.first - 1)
    return str(IPv6Address(value) if net.version == 6 else IPv4Address(value))


def local_day(p: Person, ts: int) -> int:
    """The person's local calendar day number."""
    return (ts + p.tz_s) // DAY


def local_hour(p: Person, ts: int) -> float:
    """The person's local hour of the day (0-24)."""
    return ((ts + p.tz_s) % DAY) / HOUR


def trip_at(p: Person, ts: int) -> Trip | None:
    """The trip under way at `ts` (between leaving home and being back)."""
    i = bisect.bisect_right([t.depart for t in p.trips], ts) - 1
    if i >= 0 and ts < p.trips[i].back:
        return p.trips[i]
    return None


def place_at(p: Person, ts: int) -> tuple[str, Trip | None]:
    """`home`, `away` (at a trip's destination) or `flight`, with the trip."""
    trip = trip_at(p, ts)
    if trip is None:
        return "home", None
    if trip.arrive <= ts < trip.leave:
        return "away", trip
    return "flight", trip


def lease_at(p: Person, ts: int) -> Lease:
    """The home connection's DHCP lease at `ts`."""
    i = bisect.bisect_right([lease.start for lease in p.leases], ts) - 1
    return p.leases[max(i, 0)]


def device_at(p: Person, kind: str, ts: int) -> int | None:
    """Index of the newest device of a kind the person has at `ts` (None: no such device)."""
    best: int | None = None
    for i, d in enumerate(p.devices):
        if d.kind == kind and d.since <= ts and (best is None or d.since >= p.devices[best].since):
            best = i
    return best


def is_office_day(p: Person, day: int) -> bool:
    """Does the person go to the office on this local day (weekdays only)?"""
    return p.office is not None and (day + 3) % 7 < 5 and coin(p.id, day, "office") < p.office_share


def vpn_network(world: World, p: Person, day: int) -> Network | None:
    """The VPN exit network the person uses on this day, if any (~30% of a VPN user's days)."""
    if p.vpn_provider is None or coin(p.id, day, "vpn") >= 0.3:
        return None
    home = p.home.country
    country = home if coin(p.id, day, "vpn-c") < 0.7 and home in VPN_COUNTRIES else None
    if country is None:
        country = VPN_COUNTRIES[digest(p.id, day, "vpn-x") % len(VPN_COUNTRIES)]
    nets = [n for n in world.networks_of("vpn", country) if n.org == p.vpn_provider]
    return nets[0] if nets else None


def _pick(nets: list[Network], *parts: object) -> Network:
    return nets[digest(*parts) % len(nets)]


def _relay_ip(world: World, p: Person, slot: int) -> str:
    net = _pick(world.networks_of("relay", p.home.country), p.id, slot, "relay")
    return host(net, p.id, slot, "relay-ip")


def _away_ip(world: World, p: Person, trip: Trip, ts: int, mobile: bool) -> str:
    day, slot = local_day(p, ts), ts // HOUR
    hotels = world.networks_of("hotel", trip.city.country, trip.city.name)
    if mobile and coin(p.id, slot, "roam") < 0.7:
        return host(_pick(list(p.carrier), p.id, slot), p.id, slot, "roam-ip")
    return host(hotels[0], p.id, day, "hotel")


def _home_ip(p: Person, ts: int, slot: int) -> str:
    lease = lease_at(p, ts)
    return lease.v6 if lease.v6 and coin(p.id, slot, "v6") < 0.5 else lease.v4


def ip_at(world: World, p: Person, device: Device, ts: int) -> str:
    """The address the person's device connects from at `ts` (stable within an hour)."""
    place, trip = place_at(p, ts)
    day, slot = local_day(p, ts), ts // HOUR
    mobile = device.kind == "mobile"
    if trip is not None and place == "flight":
        return host(world.networks_of("satellite")[0], p.id, trip.depart, "sky")
    if trip is not None:
        return _away_ip(world, p, trip, ts, mobile)
    if p.relay and device.family in ("safari", "slack-ios"):
        return _relay_ip(world, p, slot)
    vpn = None if mobile else vpn_network(world, p, day)
    if vpn is not None:
        return host(vpn, p.id, day, "vpn-ip")
    hour = local_hour(p, ts)
    if mobile:
        at_home = hour >= 19 or hour < 7 or (day + 3) % 7 >= 5
        if at_home and coin(p.id, slot, "wifi") < 0.5:
            return _home_ip(p, ts, slot)
        return host(_pick(list(p.carrier), p.id, slot), p.id, slot, "cgnat")
    if p.office is not None and is_office_day(p, day) and 7 <= hour < 19:
        return host(p.office, p.id, day, "nat")
    return _home_ip(p, ts, slot)


@dataclass
class Sessions:
    """Session epochs per (person, device): a login starts each one; ids are stable."""

    lo: int
    hi: int
    _book: dict[tuple[str, int], tuple[list[int], list[int]]] = field(default_factory=dict)

    def epochs(self, p: Person, index: int) -> tuple[list[int], list[int]]:
        """Start times and session ids of the device's sessions."""
        key = (p.id, index)
        found = self._book.get(key)
        if found is None:
            found = self._book[key] = _plan_epochs(p, index, self.lo, self.hi)
        return found

    def at(self, p: Person, index: int, ts: int) -> tuple[int, int]:
        """(epoch number, session id) of the device's session at `ts`."""
        starts, sids = self.epochs(p, index)
        i = max(0, bisect.bisect_right(starts, ts) - 1)
        return i, sids[i]


def _plan_epochs(p: Person, index: int, lo: int, hi: int) -> tuple[list[int], list[int]]:
    device = p.devices[index]
    short, long = SESSION_LIFE_DAYS[device.kind]
    ts = max(device.since, lo - int(coin(p.id, index, "phase") * long * DAY))
    starts: list[int] = []
    sids: list[int] = []
    n = 0
    while not starts or ts < hi:
        starts.append(ts)
        sids.append(10**12 + digest(p.id, index, n, "sid") % (9 * 10**12))
        life = short + (long - short) * coin(p.id, index, n, "life")
        ts, n = ts + int(life * DAY), n + 1
    return starts, sids
