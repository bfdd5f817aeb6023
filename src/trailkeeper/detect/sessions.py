"""How a live session may legitimately change, so the session detector and learning agree on it.

A client upgrade explains a new TLS fingerprint; a new country is explained by feasible travel
from where the session last was, by a place the session already reached, or by an anonymising
network (VPN, relay, cloud) the actor itself uses. Geo-IP positions coarser than country level
(an accuracy radius of 1,000 km and more: satellite and in-flight links, country-only records)
say where a session is not precisely enough to judge travel, so they neither raise nor explain
a move. Pure functions of a session binding, an observation and the actor's history; no I/O.
"""

from __future__ import annotations

import sys

from trailkeeper.detect.clients import ClientInfo, parse_client
from trailkeeper.detect.enrichment import IpInfo
from trailkeeper.detect.observation import Observation
from trailkeeper.detect.state import ActorState, SessionBinding, country_key, haversine_km
from trailkeeper.detect.tuning import Params

COARSE_KM = 1000  # geo-IP accuracy radius from which a position means "somewhere in a country"
GEO_SLACK_KM = 100.0  # added to both accuracy radii before a distance counts as travel
MIN_ELAPSED_S = 60.0


def is_anonymous(info: IpInfo) -> bool:
    """Does the address hide where its user is (VPN or relay exit, cloud host, Tor)?"""
    return info.is_cloud or info.is_vpn or info.is_tor


def has_position(info: IpInfo) -> bool:
    """Is the address's position worth comparing: finer than a country, not an anonymiser?"""
    if info.lat is None or info.lon is None or is_anonymous(info):
        return False
    return (info.accuracy_km or 0) < COARSE_KM


def is_upgrade(b: SessionBinding, client: ClientInfo) -> bool:
    """Is `client` the session's own client after an upgrade: same family and OS, and a newer
    version than any seen with the session's fingerprint (a new TLS stack ships with one)?"""
    bound = parse_client(b.ua)
    same = client.key == bound.key and client.os == bound.os
    return same and client.is_interactive and client.packed_version > b.fp_version


def fingerprint_changed(b: SessionBinding, obs: Observation) -> bool:
    """Does the observation carry a fingerprint the session has not shown, unexplained?"""
    fingerprint = obs.fingerprint
    if not fingerprint or not b.fingerprint or fingerprint in (b.fingerprint, b.other_fp):
        return False
    return not is_upgrade(b, obs.client)


def travel_kmh(b: SessionBinding, info: IpInfo, now: float) -> float | None:
    """Speed needed from the session's last trustworthy position (0 within geo-IP error);
    None when either end has no position."""
    if not b.pos_ts or not has_position(info) or info.lat is None or info.lon is None:
        return None
    km = haversine_km(b.pos_lat, b.pos_lon, info.lat, info.lon)
    beyond: float = km - b.pos_km - (info.accuracy_km or 0) - GEO_SLACK_KM
    if beyond <= 0:
        return 0.0
    elapsed_s = max(now - float(b.pos_ts), MIN_ELAPSED_S)
    return beyond / (elapsed_s / 3600.0)


def unexplained_move(
    b: SessionBinding, obs: Observation, actor: ActorState, p: Params
) -> str | None:
    """Why the session's move to this address's country is suspicious, or None if it is not:
    `country` for a cloud host in another country when the actor does not use clouds, `travel`
    for a move faster than a plane from the session's last trustworthy position. VPN, relay and
    Tor exits are chosen by their users, so their country says nothing about travel (Tor and an
    unusual VPN have their own reasons); a session that never had a position cannot be judged.
    """
    info = obs.ip_info
    key = country_key(info.country)
    if not key or b.has_place(key) or info.is_vpn or info.is_tor:
        return None
    if info.is_cloud:
        uses_clouds = obs.ts - actor.cloud_ts <= p.recent_s
        own = uses_clouds or actor.asns.seen_within(info.asn or 0, obs.ts, p.recent_s)
        return None if own else "country"
    speed = travel_kmh(b, info, obs.ts)
    if speed is None:
        return None
    return "travel" if speed > p.travel_kmh else None


def follow(b: SessionBinding, obs: Observation) -> None:
    """Learn where the session is now: its position, and the country as one of its places
    (reported or not, a move is remembered once, so a trip is one alarm, not one a day)."""
    info = obs.ip_info
    if not has_position(info) or info.lat is None or info.lon is None:
        return
    b.add_place(country_key(info.country))
    b.move_to(info.lat, info.lon, obs.ts, float(info.accuracy_km or 0))


def rebind_fingerprint(b: SessionBinding, obs: Observation) -> None:
    """Learn the session's fingerprint: bind the first; move to a new one when the client was
    upgraded (keeping the highest version of the session's own client seen with it, so only a
    later upgrade explains the next change); remember an unexplained one as the other."""
    fingerprint, client = obs.fingerprint, obs.client
    if not fingerprint or fingerprint == b.other_fp:
        return
    own = client.key == parse_client(b.ua).key
    if not b.fingerprint or (fingerprint != b.fingerprint and is_upgrade(b, client)):
        b.fingerprint = sys.intern(fingerprint)  # one shared string per client release
        b.fp_version = client.packed_version if own else 0.0
    elif fingerprint == b.fingerprint:
        if own:
            b.fp_version = max(b.fp_version, client.packed_version)
    else:
        b.other_fp = sys.intern(fingerprint)
