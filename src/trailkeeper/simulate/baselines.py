"""Spec §3.3 peer baselines (Okta-, Panther-, Sentinel-, CloudTrail-, MCAS-like) as pure
functions over the stream, returning scored `Alarm`s that `metrics.threshold_at_budget` tunes to
a false-alarm budget. They see what the detector sees: MMDB geo-IP and the same lists.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trailkeeper.simulate.geography import COUNTRY_BY_ISO, haversine_km
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.world import World

DAY = 86_400
JSON = Mapping[str, Any]
ARCHIVE_TYPES = frozenset({"application/zip", "application/x-7z-compressed", "application/x-tar"})


@dataclass(frozen=True, slots=True)
class Place:
    """An address as a peer product's enrichment sees it."""

    country: str
    region: str
    city: str
    lat: float
    lon: float
    asn: int
    kind: str
    tor: bool

    @property
    def anonymised(self) -> bool:
        """VPN or private relay (peers suppress travel rules for these)."""
        return self.kind in ("vpn", "relay")

    @property
    def risky(self) -> bool:
        """Tor, hosting or VPN: what MCAS-like products call a risky IP."""
        return self.tor or self.kind in ("hosting", "tor-host", "vpn")


UNKNOWN_PLACE = Place("", "", "", 0.0, 0.0, 0, "", False)


class Geo:
    """Cached address lookups over the world's MMDB view (geo-IP city, not the true one)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.tor = frozenset(world.tor_exits)
        self._cache: dict[str, Place] = {}

    def __call__(self, ip: str) -> Place:
        found = self._cache.get(ip)
        if found is None:
            found = self._cache[ip] = self._place(ip)
        return found

    def _place(self, ip: str) -> Place:
        if not ip:
            return UNKNOWN_PLACE
        net = self.world.locate(ip)
        if net is None:
            return UNKNOWN_PLACE
        where = net.geo or COUNTRY_BY_ISO[net.country].hub
        city = net.geo.name if net.geo else ""
        region = net.geo.region if net.geo else ""
        return Place(
            net.country, region, city, where.lat, where.lon, net.asn, net.kind, ip in self.tor
        )


def _who(e: JSON) -> str:
    return str(e["actor"]["user"]["id"])


def _ctx(e: JSON) -> tuple[str, str]:
    c = e["context"]
    return str(c.get("ip_address") or ""), str(c.get("ua") or "")


def _alarm(e: JSON, rule: str, score: float) -> Alarm:
    return Alarm(_who(e), int(e["date_create"]), (rule,), (str(e["id"]),), score)


def dedup(alarms: Iterable[Alarm], window_s: int = DAY) -> list[Alarm]:
    """One alarm per actor and rule per window (the first), as products de-duplicate."""
    last: dict[tuple[str, tuple[str, ...]], int] = {}
    out = []
    for a in sorted(alarms, key=lambda x: x.ts):
        key = (a.actor, a.reasons)
        if key in last and a.ts - last[key] < window_s:
            continue
        last[key] = a.ts
        out.append(a)
    return out


def _speed_kmh(a: Place, b: Place, seconds: float) -> tuple[float, float]:
    km = haversine_km(a.lat, a.lon, b.lat, b.lon)
    return km, km / max(seconds / 3600.0, 1 / 60)


def okta(events: Sequence[JSON], signals: Sequence[JSON], geo: Geo) -> list[Alarm]:
    """Okta Behavior Detection: new country/state/city/IP/device vs the last 10/15/20/50/20
    successful sign-ins, velocity > 805 km/h; score = weighted count of positive behaviours."""
    history: dict[str, deque[tuple[Place, str, str, int]]] = {}
    out = []
    for e in events:
        if e["action"] != "user_login":
            continue
        ip, ua = _ctx(e)
        place, ts = geo(ip), int(e["date_create"])
        past = history.setdefault(_who(e), deque(maxlen=50))
        if past:
            score = _okta_score(list(past), place, ip, ua, ts)
            if score > 0:
                out.append(_alarm(e, "okta_behavior", score))
        past.appendleft((place, ip, ua, ts))
    return dedup(out)


def _okta_score(
    past: list[tuple[Place, str, str, int]], place: Place, ip: str, ua: str, ts: int
) -> float:
    score = 0.0
    score += 3.0 * (place.country not in {p.country for p, _, _, _ in past[:10]})
    score += 2.0 * (place.region not in {p.region for p, _, _, _ in past[:15]})
    score += 1.0 * (place.city not in {p.city for p, _, _, _ in past[:20]})
    score += 0.5 * (ip not in {i for _, i, _, _ in past[:50]})
    score += 1.0 * (ua not in {u for _, _, u, _ in past[:20]})
    _, kmh = _speed_kmh(past[0][0], place, ts - past[0][3])
    return score + 3.0 * (kmh > 805)


def panther(events: Sequence[JSON], signals: Sequence[JSON], geo: Geo) -> list[Alarm]:
    """Panther: impossible travel > 900 km/h vs the login cached for a day (VPN/relay and
    in-flight suppressed, < 50 km ignored), city:region not in the last 5, brute force."""
    last: dict[str, tuple[Place, int]] = {}
    cities: dict[str, deque[str]] = {}
    failures: dict[str, deque[int]] = {}
    out = []
    for e in events:
        who, ts, action = _who(e), int(e["date_create"]), e["action"]
        if action == "user_login_failed":
            seen = failures.setdefault(who, deque())
            seen.append(ts)
            while seen and ts - seen[0] > 3600:
                seen.popleft()
            if len(seen) >= 5:
                out.append(_alarm(e, "panther_brute_force", 2.0 + len(seen) / 100))
            continue
        if action != "user_login":
            continue
        place = geo(_ctx(e)[0])
        out += _panther_travel(e, place, last.get(who))
        if not (place.anonymised or place.kind == "satellite"):
            last[who] = (place, ts)
        recent = cities.setdefault(who, deque(maxlen=5))
        key = f"{place.city}:{place.region}"
        if recent and key not in recent:
            out.append(_alarm(e, "panther_unusual_login", 1.0))
        recent.append(key)
    return dedup(out)


def _panther_travel(e: JSON, place: Place, previous: tuple[Place, int] | None) -> list[Alarm]:
    ts = int(e["date_create"])
    if previous is None or ts - previous[1] > DAY or place.anonymised or place.kind == "satellite":
        return []
    km, kmh = _speed_kmh(previous[0], place, ts - previous[1])
    if kmh <= 900 or km < 50:
        return []
    return [_alarm(e, "panther_impossible_travel", 3.0 + min(kmh / 1e5, 0.9))]


def sentinel(events: Sequence[JSON], signals: Sequence[JSON], geo: Geo) -> list[Alarm]:
    """Microsoft Sentinel SlackAudit: > 10 failed logins per user in 5 min, a UA unseen in the
    organization for 14 days, > 10 archive uploads per user in 15 min."""
    ua_seen: dict[str, int] = {}
    failures: dict[str, deque[int]] = {}
    archives: dict[str, deque[int]] = {}
    out = []
    for e in events:
        who, ts, action = _who(e), int(e["date_create"]), e["action"]
        ua = _ctx(e)[1]
        unseen = bool(ua) and ts - ua_seen.get(ua, -10 * 14 * DAY) > 14 * DAY
        if unseen and (ua in ua_seen or ts - events[0]["date_create"] > 14 * DAY):
            out.append(_alarm(e, "sentinel_unknown_ua", 1.0))
        if ua:
            ua_seen[ua] = ts
        if action == "user_login_failed":
            n = _count_in(failures.setdefault(who, deque()), ts, 300)
            if n > 10:
                out.append(_alarm(e, "sentinel_failed_logins", 2.0 + n / 100))
        elif action == "file_uploaded" and e["entity"]["file"].get("filetype") in ARCHIVE_TYPES:
            n = _count_in(archives.setdefault(who, deque()), ts, 900)
            if n > 10:
                out.append(_alarm(e, "sentinel_archive_uploads", 2.0 + n / 100))
    return dedup(out)


def _count_in(window: deque[int], ts: int, span_s: int) -> int:
    window.append(ts)
    while window and ts - window[0] > span_s:
        window.popleft()
    return len(window)


def cloudtrail(events: Sequence[JSON], signals: Sequence[JSON], geo: Geo) -> list[Alarm]:
    """CloudTrail Insights: per action (API method) per minute, organization-wide, against the
    mean and deviation of the preceding 7 days; score = z, attributed to the top user."""
    counts: dict[str, dict[int, dict[str, float]]] = {}
    for e in events:
        minute = counts.setdefault(e["action"], {}).setdefault(int(e["date_create"]) // 60, {})
        minute[_who(e)] = minute.get(_who(e), 0.0) + 1.0
    for s in signals:
        minute = counts.setdefault(s["api_method"], {}).setdefault(int(s["date"]) // 60, {})
        minute[s["actor_id"]] = minute.get(s["actor_id"], 0.0) + float(s["count"])
    out = []
    for action, minutes in counts.items():
        out += _insights(action, minutes)
    return dedup(out)


def _insights(action: str, minutes: Mapping[int, Mapping[str, float]]) -> list[Alarm]:
    if len(minutes) < 50:
        return []
    first, last = min(minutes), max(minutes)
    window, total, squares = 7 * 24 * 60, 0.0, 0.0
    out, active = [], False
    for m in range(first, last + 1):
        value = sum(minutes.get(m, {}).values())
        gone = sum(minutes.get(m - window, {}).values())
        if m - first >= window:
            mean = total / window
            sd = math.sqrt(max(squares / window - mean * mean, 0.0)) or 1.0
            z = (value - mean) / sd
            if z >= 3.0 and value >= 3 and not active:
                who = max(minutes[m].items(), key=lambda kv: kv[1])[0]
                out.append(Alarm(who, m * 60, (f"cloudtrail_{action}",), (), z))
            active = z >= 3.0
        total += value - gone
        squares += value * value - gone * gone
    return out


def mcas(events: Sequence[JSON], signals: Sequence[JSON], geo: Geo) -> list[Alarm]:
    """Defender for Cloud Apps-like: after 7 days of learning, activity from an IP, ISP,
    country or device new for the user within the last month, plus risky-IP weight."""
    first: dict[str, int] = {}
    seen: dict[tuple[str, str, object], int] = {}
    out = []
    for e in events:
        who, ts = _who(e), int(e["date_create"])
        ip, ua = _ctx(e)
        if e["action"] == "user_login_failed" or not ip:
            continue
        place = geo(ip)
        features: tuple[tuple[str, object, float], ...] = (
            ("ip", ip, 0.5),
            ("asn", place.asn, 2.0),
            ("country", place.country, 3.0),
            ("device", ua, 1.0),
        )
        score = sum(
            w for name, v, w in features if ts - seen.get((who, name, v), -(10**10)) > 30 * DAY
        )
        start = first.setdefault(who, ts)
        if ts - start >= 7 * DAY and score >= 1.0:
            out.append(_alarm(e, "mcas_new_activity", score + 2.0 * place.risky))
        for name, v, _ in features:
            seen[(who, name, v)] = ts
    return dedup(out)


Baseline = Callable[[Sequence[JSON], Sequence[JSON], Geo], list[Alarm]]
BASELINES: Mapping[str, Baseline] = {
    "BL-Okta": okta,
    "BL-Panther": panther,
    "BL-Sentinel": sentinel,
    "BL-CloudTrail": cloudtrail,
    "BL-MCAS": mcas,
}


def run_baselines(
    events: Sequence[JSON], signals: Sequence[JSON], world: World
) -> dict[str, list[Alarm]]:
    """Every baseline's alarms over one stream."""
    geo = Geo(world)
    return {name: rule(events, signals, geo) for name, rule in BASELINES.items()}
