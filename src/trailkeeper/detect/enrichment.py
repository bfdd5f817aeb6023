"""IP enrichment from the operator's offline files: geo and ASN (MMDB), Tor exits, cloud/VPN, IOC.

`load_enrichment(...)` opens the files named in settings; `Enrichment.lookup(ip)` answers from an
LRU cache. Files are re-read when their mtime changes (checked at most every `reload_check_s`)
and swapped in atomically, so lookups never see half a reload; files older than their allowed
age produce warnings (`staleness_warnings`). Nothing is ever fetched from the network.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import maxminddb

from trailkeeper.detect.sources import (
    RangeTable,
    build_range_table,
    parse_tor_exits,
    read_text,
)

log = logging.getLogger("trailkeeper.detect")

DAY_S = 86_400
DEFAULT_CACHE_SIZE = 65_536
# Tor relays leave the exit list 48 h after they were last seen (tor-project list, 2020-03);
# geo databases drift more slowly. Both defaults follow spec/anomaly-detection.md §4.2.
DEFAULT_MAX_AGE_S = {"tor_exits": 2 * DAY_S, "city_mmdb": 60 * DAY_S, "asn_mmdb": 60 * DAY_S}
DEFAULT_LIST_MAX_AGE_S = 30 * DAY_S


@dataclass(frozen=True, slots=True)
class IpInfo:
    """What the offline data says about one address (None/False where it says nothing)."""

    country: str | None = None
    city: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    asn: int | None = None
    as_org: str | None = None
    is_tor: bool = False
    is_cloud: bool = False
    in_ioc: bool = False
    cloud_provider: str | None = None
    is_vpn: bool = False
    asn_suspicious: bool = False
    accuracy_km: int | None = None

    @property
    def location(self) -> str:
        """A free-text place in Slack's style ("Reno, Nevada"), or the country, or ""."""
        if self.city and self.region:
            return f"{self.city}, {self.region}"
        return self.city or self.region or self.country or ""


UNKNOWN = IpInfo()


@dataclass(frozen=True)
class DataFile:
    """One configured data file and what was loaded from it."""

    kind: str
    path: str
    mtime: float
    entries: int


@dataclass(frozen=True)
class Tables:
    """Everything loaded from the files at one moment; replaced whole on reload."""

    city: Any = None
    asn: Any = None
    tor: frozenset[str] = frozenset()
    cloud: RangeTable = field(default_factory=RangeTable)
    ioc: RangeTable = field(default_factory=RangeTable)
    vpn: RangeTable = field(default_factory=RangeTable)
    suspicious: RangeTable = field(default_factory=RangeTable)
    files: tuple[DataFile, ...] = ()


def _names_en(record: Mapping[str, Any] | None) -> str | None:
    if not record:
        return None
    names = record.get("names") or {}
    value = names.get("en")
    return str(value) if value else None


def geo_fields(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """IpInfo fields from a GeoIP2/GeoLite2-City record."""
    if not record:
        return {}
    country = record.get("country") or record.get("registered_country") or {}
    location = record.get("location") or {}
    subdivisions = record.get("subdivisions") or [{}]
    return {
        "country": country.get("iso_code"),
        "city": _names_en(record.get("city")),
        "region": _names_en(subdivisions[0]),
        "lat": location.get("latitude"),
        "lon": location.get("longitude"),
        "accuracy_km": location.get("accuracy_radius"),
    }


def asn_fields(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """IpInfo fields from a GeoLite2-ASN record."""
    if not record:
        return {}
    number = record.get("autonomous_system_number")
    return {
        "asn": int(number) if number is not None else None,
        "as_org": record.get("autonomous_system_organization"),
    }


def _mmdb_get(reader: Any, address: str) -> Mapping[str, Any] | None:
    if reader is None:
        return None
    try:
        found = reader.get(address)
    except ValueError:
        return None
    return found if isinstance(found, Mapping) else None


def resolve(tables: Tables, address: str) -> IpInfo:
    """Everything the tables say about `address` (UNKNOWN for a malformed address)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return UNKNOWN
    canonical = str(parsed)
    values: dict[str, Any] = {}
    values.update(geo_fields(_mmdb_get(tables.city, canonical)))
    values.update(asn_fields(_mmdb_get(tables.asn, canonical)))
    asn = values.get("asn")
    cloud = tables.cloud.label_of(parsed)
    if cloud is None:
        cloud = tables.cloud.asn_label(asn)
    vpn = tables.vpn.label_of(parsed)
    return IpInfo(
        **values,
        is_tor=canonical in tables.tor,
        is_cloud=cloud is not None,
        cloud_provider=cloud or None,
        in_ioc=tables.ioc.label_of(parsed) is not None,
        is_vpn=(vpn if vpn is not None else tables.vpn.asn_label(asn)) is not None,
        asn_suspicious=tables.suspicious.asn_label(asn) is not None
        or tables.suspicious.label_of(parsed) is not None,
    )


@dataclass(frozen=True)
class DataPaths:
    """Where the operator's files are; None or "" for a file not supplied."""

    city_mmdb: str | None = None
    asn_mmdb: str | None = None
    tor_exits: str | None = None
    cloud_ranges: str | None = None
    ioc_list: str | None = None
    vpn_ranges: str | None = None
    suspicious_asns: str | None = None

    def configured(self) -> dict[str, str]:
        """Kind -> path of each file supplied."""
        return {k: v for k, v in self.__dict__.items() if v}


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _load_kind(kind: str, path: str) -> tuple[Any, int]:
    if kind.endswith("_mmdb"):
        reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
        return reader, int(reader.metadata().node_count)
    text = read_text(path)
    if kind == "tor_exits":
        exits = parse_tor_exits(text)
        return exits, len(exits)
    table = build_range_table(text, path)
    return table, table.size


TABLE_FIELD = {
    "city_mmdb": "city",
    "asn_mmdb": "asn",
    "tor_exits": "tor",
    "cloud_ranges": "cloud",
    "ioc_list": "ioc",
    "vpn_ranges": "vpn",
    "suspicious_asns": "suspicious",
}


def load_tables(paths: DataPaths, previous: Tables | None = None) -> Tables:
    """Load every configured file; a file that fails to load keeps its previous contents."""
    values: dict[str, Any] = {}
    files = []
    old_files = {f.kind: f for f in previous.files} if previous else {}
    for kind, path in paths.configured().items():
        mtime = _mtime(path)
        try:
            loaded, entries = _load_kind(kind, path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            log.warning("cannot load %s from %s: %s", kind, path, exc)
            if previous is not None and kind in old_files:
                values[TABLE_FIELD[kind]] = getattr(previous, TABLE_FIELD[kind])
                files.append(old_files[kind])
            continue
        values[TABLE_FIELD[kind]] = loaded
        files.append(DataFile(kind, path, mtime, entries))
    return Tables(**values, files=tuple(files))


class Enrichment:
    """IP lookups over the loaded tables, cached, with hot reload and staleness warnings."""

    def __init__(
        self,
        paths: DataPaths,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        reload_check_s: float = 60.0,
        max_age_s: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.paths = paths
        self._cache_size = cache_size
        self._reload_check_s = reload_check_s
        self._max_age_s = {**DEFAULT_MAX_AGE_S, **(max_age_s or {})}
        self._clock = clock
        self._lock = threading.Lock()
        self._tables = load_tables(paths)
        self._lookup = self._cached(self._tables)
        self._next_check = clock() + reload_check_s
        self.reloads = 0
        for warning in self.staleness_warnings():
            log.warning("%s", warning)

    def _cached(self, tables: Tables) -> Callable[[str], IpInfo]:
        return functools.lru_cache(maxsize=self._cache_size)(functools.partial(resolve, tables))

    def lookup(self, ip: str | None) -> IpInfo:
        """What the data says about `ip` (UNKNOWN for None, "" or a malformed address)."""
        if not ip:
            return UNKNOWN
        if self._reload_check_s >= 0 and self._clock() >= self._next_check:
            self.maybe_reload()
        return self._lookup(ip)

    @property
    def files(self) -> tuple[DataFile, ...]:
        """The files loaded now."""
        return self._tables.files

    def maybe_reload(self, force: bool = False) -> bool:
        """Reload when a configured file's mtime changed (or `force`); True if reloaded."""
        with self._lock:
            self._next_check = self._clock() + self._reload_check_s
            loaded = {f.kind: f.mtime for f in self._tables.files}
            current = {k: _mtime(p) for k, p in self.paths.configured().items()}
            if not force and all(loaded.get(k) == m for k, m in current.items()):
                return False
            tables = load_tables(self.paths, self._tables)
            self._tables, self._lookup = tables, self._cached(tables)  # one atomic swap
            self.reloads += 1
        log.info("enrichment data reloaded: %s", ", ".join(f.kind for f in tables.files))
        for warning in self.staleness_warnings():
            log.warning("%s", warning)
        return True

    def staleness_warnings(self, now: float | None = None) -> list[str]:
        """One line per configured file that is missing or older than its allowed age."""
        now = self._clock() if now is None else now
        loaded = {f.kind: f for f in self._tables.files}
        warnings = []
        for kind, path in self.paths.configured().items():
            file = loaded.get(kind)
            if file is None:
                warnings.append(f"{kind}: {path} could not be loaded; its signals are off")
                continue
            limit = self._max_age_s.get(kind, DEFAULT_LIST_MAX_AGE_S)
            age = now - file.mtime
            if age > limit:
                warnings.append(
                    f"{kind}: {path} is {age / DAY_S:.1f} days old (limit {limit / DAY_S:.1f});"
                    " update it to keep detection accurate"
                )
        return warnings

    def cache_info(self) -> Any:
        """Hits, misses and size of the lookup cache."""
        return self._lookup.cache_info()  # type: ignore[attr-defined]


def load_enrichment(
    city_mmdb: str | None,
    asn_mmdb: str | None,
    tor_exits: str | None,
    cloud_ranges: str | None,
    ioc_list: str | None,
    *,
    vpn_ranges: str | None = None,
    suspicious_asns: str | None = None,
    reload_check_s: float = 60.0,
    max_age_s: Mapping[str, float] | None = None,
    cache_size: int = DEFAULT_CACHE_SIZE,
    clock: Callable[[], float] = time.time,
) -> Enrichment:
    """Enrichment over the given files (any may be None: its signals are simply absent)."""
    paths = DataPaths(
        city_mmdb, asn_mmdb, tor_exits, cloud_ranges, ioc_list, vpn_ranges, suspicious_asns
    )
    return Enrichment(
        paths,
        cache_size=cache_size,
        reload_check_s=reload_check_s,
        max_age_s=max_age_s,
        clock=clock,
    )
