"""Per-actor and per-organization detection state: small, bounded, and serializable.

Every structure has a fixed capacity (top-k value tables, a 12-slot hour ring, at most a few
sessions), so an actor's state stays within a few KB however long it lives. Values are kept as
stable 32-bit keys, never Python's salted `hash`, so a snapshot restores in another process.
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any

DAY_S = 86_400
HOUR_S = 3_600
BUCKET_S = 300
RING = 12  # 12 buckets of 5 minutes: the rolling hour
HALF_LIFE_S = 30 * DAY_S  # weights of remembered values halve in 30 days (spec §5.1)
MAX_SESSIONS = 3  # desktop, browser and phone at once; the least recently seen goes first
MAX_DEDUP_KEYS = 8


def decay(elapsed_s: float, half_life_s: float = HALF_LIFE_S) -> float:
    """The weight left after `elapsed_s` with the given half-life."""
    return float(0.5 ** (max(elapsed_s, 0.0) / half_life_s))


def country_key(code: str | None) -> int:
    """A country code as an integer key (0 for unknown)."""
    if not code:
        return 0
    return int.from_bytes(code.upper().encode("ascii", "replace")[:3], "big")


class RecentValues:
    """The top-k values of one family (ASN, country, client...) an actor used, space-saving.

    Stored as one packed array of unsigned 32-bit (key, last_seen, weight) triples: keys are
    32-bit stable hashes, ASNs or country codes; times are whole Unix seconds; the decayed
    weight is fixed-point (1/WEIGHT_ONE units). When full, a new value replaces the one with
    the smallest decayed weight.
    """

    __slots__ = ("data", "k")
    WEIGHT_ONE = 1024
    MAX_WEIGHT = 0xFFFF_FFFF

    def __init__(self, k: int, data: array[int] | None = None) -> None:
        self.k = k
        self.data = data if data is not None else array("I")

    def _find(self, key: float) -> int:
        data = self.data
        for i in range(0, len(data), 3):
            if data[i] == key:
                return i
        return -1

    def last_seen(self, key: float) -> float | None:
        """When `key` was last observed, or None if it is not remembered."""
        i = self._find(key)
        return None if i < 0 else float(self.data[i + 1])

    def seen_within(self, key: float, now: float, window_s: float) -> bool:
        """Was `key` observed in the last `window_s` seconds?"""
        seen = self.last_seen(key)
        return seen is not None and now - seen <= window_s

    def weight(self, i: int, now: float) -> float:
        """The decayed weight of the triple at index `i`, as of `now`."""
        return self.data[i + 2] / self.WEIGHT_ONE * decay(now - self.data[i + 1])

    def observe(self, key: float, now: float) -> bool:
        """Count one observation; True if the value was not remembered before."""
        data, one = self.data, self.WEIGHT_ONE
        i = self._find(key)
        if i >= 0:
            grown = (self.weight(i, now) + 1.0) * one
            data[i + 2] = min(int(grown), self.MAX_WEIGHT)
            data[i + 1] = max(data[i + 1], int(now))
            return False
        if len(data) < 3 * self.k:
            data.extend((int(key), int(now), one))
            return True
        weakest = min(range(0, len(data), 3), key=lambda j: self.weight(j, now))
        data[weakest], data[weakest + 1], data[weakest + 2] = int(key), int(now), one
        return True

    def __len__(self) -> int:
        return len(self.data) // 3

    def keys(self) -> list[float]:
        """The remembered keys."""
        return [float(k) for k in self.data[0::3]]


class VersionTable:
    """The highest version seen per client family (a few families per actor), as unsigned
    32-bit (family key, major * 1000 + minor) pairs."""

    __slots__ = ("data",)

    def __init__(self, data: array[int] | None = None) -> None:
        self.data = data if data is not None else array("I")

    def best(self, key: float) -> int | None:
        """The highest packed version seen for this client family, if any."""
        data = self.data
        for i in range(0, len(data), 2):
            if data[i] == key:
                return int(data[i + 1])
        return None

    def note(self, key: float, version: int, limit: int = 4) -> None:
        """Remember `version` if it is the highest seen (keeps the last `limit` families)."""
        data = self.data
        for i in range(0, len(data), 2):
            if data[i] == key:
                data[i + 1] = max(data[i + 1], version)
                return
        data.extend((int(key), version))
        if len(data) > 2 * limit:
            del data[:2]


class RateCounter:
    """Counts of one activity (downloads, shares...) for one actor: a rolling hour of 5-minute
    buckets, today's count, and a decayed sum of completed days for the baseline.

    A view of WIDTH floats from `base` in a packed float32 array (an actor's counters share
    one, see `RateTable`). Layout: [day, today, past_sum, last_bucket, peak_hour, b0..b11].
    """

    __slots__ = ("base", "data")
    DAY, TODAY, PAST, LAST, PEAK, RING0 = 0, 1, 2, 3, 4, 5
    WIDTH = 5 + RING

    def __init__(self, data: array[float] | None = None, base: int = 0) -> None:
        # float32 is exact for every value kept (counts, day and 5-minute bucket numbers < 2**24)
        self.data = data if data is not None else array("f", [0.0] * self.WIDTH)
        self.base = base

    def _get(self, field: int) -> float:
        return self.data[self.base + field]

    def _set(self, field: int, value: float) -> None:
        self.data[self.base + field] = value

    def add(self, now: float, amount: float, cap: float = math.inf) -> None:
        """Add `amount` at time `now` (times must not go backwards by more than a bucket).

        A finished day enters the baseline capped at `cap`, so one bulk day does not lift the
        bar for weeks (the hour ring still sees the full count).
        """
        day, stored = now // DAY_S, self._get(self.DAY)
        if day != stored:
            gap = day - stored if stored else 0
            past = self._get(self.PAST) * decay(gap * DAY_S) + min(self._get(self.TODAY), cap)
            self._set(self.PAST, past)
            self._set(self.DAY, day)
            self._set(self.TODAY, 0.0)
        self._set(self.TODAY, self._get(self.TODAY) + amount)
        previous = self._get(self.LAST) * BUCKET_S
        if previous and now // HOUR_S != previous // HOUR_S:
            # The peak learns from finished clock hours only, and grows at most 25% (+10) an
            # hour, so a burst cannot raise its own bar and a persisting one stays visible.
            peak = self._get(self.PEAK)
            grown = min(self.hour_count(previous), peak * 1.25 + 10.0)
            self._set(self.PEAK, max(peak * decay(now - previous), grown))
        bucket = now // BUCKET_S
        self._advance(bucket)
        slot = self.base + self.RING0 + int(bucket) % RING
        self.data[slot] += amount

    def _advance(self, bucket: float) -> None:
        last = self._get(self.LAST)
        if bucket <= last:
            return
        steps = int(min(bucket - last, RING))
        ring = self.base + self.RING0
        for b in range(int(bucket) - steps + 1, int(bucket) + 1):
            self.data[ring + b % RING] = 0.0
        self._set(self.LAST, bucket)

    def hour_count(self, now: float) -> float:
        """The total of the last 12 five-minute buckets (the rolling hour) as of `now`."""
        d, ring = self.data, self.base + self.RING0
        bucket = now // BUCKET_S
        age = bucket - self._get(self.LAST)
        if age >= RING:
            return 0.0
        total = 0.0
        for offset in range(int(age), RING):
            total += d[ring + int(bucket - offset) % RING]
        return total

    def bucket_count(self, now: float) -> float:
        """The count of the current 5-minute bucket."""
        bucket = now // BUCKET_S
        if bucket != self._get(self.LAST):
            return 0.0
        return self.data[self.base + self.RING0 + int(bucket) % RING]

    def past_sum(self, now: float) -> float:
        """The decayed sum of completed days' counts, as of `now`."""
        day, stored = now // DAY_S, self._get(self.DAY)
        past = self._get(self.PAST)
        if day != stored:  # today's count is a completed day by now
            past = past * decay((day - stored) * DAY_S) + self._get(self.TODAY)
        return past

    def stored_past(self) -> float:
        """The decayed sum of completed days as stored (not advanced to any moment)."""
        return self._get(self.PAST)

    def count_on(self, day: float) -> float:
        """The count of the given day number if it is the counter's current day, else 0."""
        return self._get(self.TODAY) if self._get(self.DAY) == day else 0.0

    def peak_hour(self) -> float:
        """The decayed peak rolling-hour count of finished clock hours (the current excluded)."""
        return self._get(self.PEAK)

    def values(self) -> list[float]:
        """The counter's floats, in layout order (for snapshots)."""
        return list(self.data[self.base : self.base + self.WIDTH])


# One letter per counted metric: an actor's table names its counters in a short shared string.
RATE_CODES = {
    "downloads": "d",
    "shares": "s",
    "deletions": "x",
    "api": "a",
    "reads": "r",
    "admin_high": "h",
}
RATE_NAMES = {code: metric for metric, code in RATE_CODES.items()}


class RateTable:
    """An actor's counters in one packed float32 array (a block of WIDTH per metric, in the
    order of first use, named by `codes`), instead of a dict of small arrays."""

    __slots__ = ("codes", "data")

    def __init__(self) -> None:
        self.codes = ""
        self.data = array("f")

    def get(self, metric: str) -> RateCounter | None:
        """The counter of `metric`, or None if the actor never counted it."""
        i = self.codes.find(RATE_CODES[metric])
        return None if i < 0 else RateCounter(self.data, i * RateCounter.WIDTH)

    def counter(self, metric: str) -> RateCounter:
        """The counter of `metric`, created on first use."""
        found = self.get(metric)
        if found is not None:
            return found
        self.codes = sys.intern(self.codes + RATE_CODES[metric])  # a handful of shared strings
        self.data.extend([0.0] * RateCounter.WIDTH)
        return RateCounter(self.data, len(self.data) - RateCounter.WIDTH)

    def items(self) -> list[tuple[str, RateCounter]]:
        """(metric, counter) for every counted metric."""
        return [(RATE_NAMES[code], RateCounter(self.data, i * RateCounter.WIDTH))
                for i, code in enumerate(self.codes)]  # fmt: skip

    def load(self, metric: str, values: list[float]) -> None:
        """Restore one counter's floats (from `RateCounter.values`)."""
        counter = self.counter(metric)
        self.data[counter.base : counter.base + RateCounter.WIDTH] = array("f", values)


class _Number:
    """A field of SessionBinding kept in its packed unsigned 32-bit `nums` array, in whole
    units of 1/scale after adding `shift` (so latitudes and longitudes are never negative)."""

    __slots__ = ("index", "scale", "shift")

    def __init__(self, index: int, scale: float = 1.0, shift: float = 0.0) -> None:
        self.index, self.scale, self.shift = index, scale, shift

    def __get__(self, obj: SessionBinding, owner: type | None = None) -> float:
        return obj.nums[self.index] / self.scale - self.shift

    def __set__(self, obj: SessionBinding, value: float) -> None:
        obj.nums[self.index] = round((value + self.shift) * self.scale)


class SessionBinding:
    """What a session was bound to when first seen, and how it moved since.

    Numbers live in one packed array of unsigned 32-bit integers (times in whole seconds,
    coordinates in 1e-5 degrees), so a session costs ~300 bytes, not ~700; strings are
    shared references (interned addresses and fingerprints, the parsed client's UA string).
    Besides the binding itself: the highest client version seen with the bound fingerprint
    (`fp_version`, so a client upgrade can explain a new one), the last unexplained other
    fingerprint (`other_fp`, reported once, not every day after), the last trustworthy position
    (`pos_*`, for travel speed), up to three more countries the session reached in an
    explained way (`place1..3`), whether it began on a network new to the actor (`novel`),
    and the ASN it last left (`alt_asn`), when (`alt_ts`) and when it was last seen there
    (`alt_last`).
    """

    __slots__ = ("fingerprint", "ip", "nums", "other_fp", "prev_ip", "prev_ua", "ua")
    FIELDS = (
        "asn",
        "country",
        "client",
        "first_ts",
        "last_ts",
        "alt_asn",
        "alt_ts",
        "last_asn",
        "fp_version",
        "pos_lat",
        "pos_lon",
        "pos_ts",
        "pos_km",
        "place1",
        "place2",
        "place3",
        "novel",
        "alt_last",
    )
    PLACES = (13, 14, 15)

    asn = _Number(0)
    country = _Number(1)
    client = _Number(2)
    first_ts = _Number(3)
    last_ts = _Number(4)
    alt_asn = _Number(5)
    alt_ts = _Number(6)
    last_asn = _Number(7)
    fp_version = _Number(8)
    pos_lat = _Number(9, 1e5, 90.0)  # ~1 m
    pos_lon = _Number(10, 1e5, 180.0)
    pos_ts = _Number(11)
    pos_km = _Number(12)
    novel = _Number(16)
    alt_last = _Number(17)

    def __init__(
        self,
        ip: str,
        ua: str,
        *,
        asn: float = 0,
        country: float = 0,
        client: float = 0,
        first_ts: float = 0.0,
        last_asn: float = 0,
        fingerprint: str = "",
    ) -> None:
        start = round(first_ts)
        self.nums = array("I", (round(asn), round(country), round(client), start, start))
        self.nums.extend([0, 0, round(last_asn)] + [0] * (len(self.FIELDS) - 8))
        self.ip, self.ua, self.prev_ip, self.prev_ua = ip, ua, "", ""
        self.fingerprint, self.other_fp = fingerprint, ""

    def has_place(self, country: float) -> bool:
        """Has the session been in this country (bound there, or reached it explainably)?"""
        nums = self.nums
        return country == nums[1] or any(nums[i] == country for i in self.PLACES)

    def add_place(self, country: float) -> None:
        """Remember a country the session reached (the oldest of three is forgotten)."""
        if not country or self.has_place(country):
            return
        nums = self.nums
        nums[13], nums[14], nums[15] = round(country), nums[13], nums[14]

    def move_to(self, lat: float, lon: float, ts: float, accuracy_km: float) -> None:
        """Note a trustworthy position of the session."""
        self.pos_lat, self.pos_lon, self.pos_ts, self.pos_km = lat, lon, ts, accuracy_km

    def to_list(self) -> list[Any]:
        """A JSON-ready form."""
        return [
            list(self.nums),
            self.ip,
            self.ua,
            self.prev_ip,
            self.prev_ua,
            self.fingerprint,
            self.other_fp,
        ]

    @classmethod
    def from_list(cls, items: list[Any]) -> SessionBinding:
        """The inverse of `to_list`."""
        binding = cls(items[1], items[2], fingerprint=items[5])
        binding.prev_ip, binding.prev_ua, binding.other_fp = items[3], items[4], items[6]
        binding.nums = array("I", items[0])
        return binding

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in zip(self.FIELDS, self.nums, strict=True))
        return f"SessionBinding({fields}, ip={self.ip!r})"


@dataclass(slots=True)
class LastLogin:
    """Where and when an actor last logged in (for travel speed)."""

    ts: float
    lat: float
    lon: float
    country: int
    anonymous: bool


class ActorState:
    """Everything remembered about one user or app of one organization."""

    __slots__ = (
        "active_days",
        "admin_types",
        "asns",
        "breadth",
        "clients",
        "cloud_ts",
        "countries",
        "day",
        "dedup",
        "events",
        "first_ts",
        "flagged_ts",
        "hours",
        "last_login",
        "last_ts",
        "logins",
        "promoted",
        "rates",
        "sessions",
        "uas",
        "versions",
    )

    def __init__(self, now: float) -> None:
        self.first_ts = now
        self.last_ts = now
        self.day = 0.0
        self.active_days = 0.0
        self.events = 0
        self.logins = 0
        self.asns = RecentValues(8)
        self.countries = RecentValues(6)
        self.clients = RecentValues(6)
        self.uas = RecentValues(6)
        self.versions = VersionTable()
        self.cloud_ts = 0.0
        self.flagged_ts = 0.0
        self.hours = array("B", bytes(24))
        self.last_login: LastLogin | None = None
        self.sessions: dict[int, SessionBinding] = {}
        self.rates = RateTable()
        self.admin_types: RecentValues | None = None
        self.promoted: tuple[float, str] | None = None
        self.dedup: dict[str, tuple[float, float]] | None = None
        self.breadth: tuple[float, array[int]] | None = None

    def touch(self, now: float) -> None:
        """Note activity at `now`: event count, active days, hour-of-day profile."""
        self.events += 1
        day = now // DAY_S
        if day != self.day:
            gap = (day - self.day) * DAY_S if self.day else 0.0
            self.active_days = self.active_days * decay(gap) + 1.0
            self.day = day
        self.last_ts = max(self.last_ts, now)
        if self.breadth is not None and self.breadth[0] != now // HOUR_S:
            self.breadth = None  # last hour's distinct reads are no longer needed
        hour = int(now // HOUR_S) % 24
        if self.hours[hour] >= 255:  # a profile, not a count: halve it when a bucket fills
            self.hours = array("B", (h // 2 for h in self.hours))
        self.hours[hour] += 1

    def days_active_as_of(self, now: float) -> float:
        """The decayed number of active days, as of `now` (excluding today)."""
        day = now // DAY_S
        past = self.active_days - (1.0 if day == self.day else 0.0)
        return max(past, 0.0) * decay((day - self.day) * DAY_S)

    def rate(self, metric: str) -> RateCounter:
        """The counter of `metric`, created on first use."""
        return self.rates.counter(metric)

    def session(self, sid: int) -> SessionBinding | None:
        """The binding of a session, if remembered."""
        return self.sessions.get(sid)

    def end_session(self, sid: int) -> None:
        """Forget a session that ended (a logout): its cookie is no longer valid."""
        self.sessions.pop(sid, None)

    def bind_session(self, sid: int, binding: SessionBinding) -> None:
        """Remember a session, forgetting the least recently seen beyond MAX_SESSIONS."""
        self.sessions[sid] = binding
        if len(self.sessions) > MAX_SESSIONS:
            oldest = min(self.sessions, key=lambda s: self.sessions[s].last_ts)
            del self.sessions[oldest]

    def hour_share(self, now: float, spread: int = 2) -> float:
        """The share of this actor's past activity within `spread` hours of `now`'s hour of
        day (smoothed: a working day's events rarely cover every hour)."""
        total = sum(self.hours)
        if total == 0:
            return 0.0
        hour = int(now // HOUR_S)
        near = sum(self.hours[(hour + d) % 24] for d in range(-spread, spread + 1))
        return near / total

    def note_emitted(self, key: str, now: float, first: float) -> None:
        """Remember an emission for de-duplication (bounded: the oldest key is dropped)."""
        if self.dedup is None:
            self.dedup = {}
        self.dedup[key] = (first, now)
        if len(self.dedup) > MAX_DEDUP_KEYS:
            oldest = min(self.dedup, key=lambda k: self.dedup[k][1] if self.dedup else 0.0)
            del self.dedup[oldest]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


MAX_SPRAY_IPS = 4096
MAX_FINGERPRINTS = 4096
MAX_POPULAR = 4096


@dataclass
class OrgState:
    """What is remembered about a whole organization: who uses what, spray and IOC memory."""

    first_ts: float
    actors: dict[str, ActorState] = field(default_factory=dict)
    # family -> value key -> decayed number of distinct actors that started using it
    popularity: dict[str, dict[int, float]] = field(default_factory=dict)
    popularity_epoch: float = 0.0
    admin_types: dict[int, float] = field(default_factory=dict)
    spray: dict[str, tuple[float, set[int]]] = field(default_factory=dict)
    ioc_until: dict[str, float] = field(default_factory=dict)
    fingerprints: dict[str, int] = field(default_factory=dict)
    priors: dict[str, float] = field(default_factory=dict)

    def actor(self, key: str, now: float) -> ActorState:
        """The state of an actor, created on first sight."""
        state = self.actors.get(key)
        if state is None:
            state = self.actors[key] = ActorState(now)
        return state

    def note_new_value(self, family: str, key: int, now: float) -> None:
        """An actor started using `key` of `family`: count it (halved monthly, bounded)."""
        if now - self.popularity_epoch > HALF_LIFE_S:
            self._halve_popularity(now)
        table = self.popularity.setdefault(family, {})
        table[key] = table.get(key, 0.0) + 1.0
        if len(table) > MAX_POPULAR:
            del table[min(table, key=table.__getitem__)]

    def _halve_popularity(self, now: float) -> None:
        self.popularity_epoch = now
        for table in self.popularity.values():
            for k in list(table):
                table[k] /= 2
                if table[k] < 0.25:
                    del table[k]

    def share_of_actors(self, family: str, key: int) -> float:
        """Roughly what share of the organization's actors use `key` of `family`."""
        users = self.popularity.get(family, {}).get(key, 0.0)
        return users / max(len(self.actors), 1)
