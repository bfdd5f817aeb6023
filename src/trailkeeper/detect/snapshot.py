"""Detection state to bytes and back (for restarts), and how many bytes it holds in memory.

The format is versioned, compressed JSON of plain lists: no pickle, so a snapshot read from the
database can only ever become data.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from typing import Any

import orjson

from trailkeeper.detect.state import (
    ActorState,
    LastLogin,
    OrgState,
    RecentValues,
    SessionBinding,
    VersionTable,
)

FORMAT = 2  # 2: value tables hold unsigned 32-bit triples; sessions carry travel fields


def _values(v: RecentValues) -> list[Any]:
    return [v.k, list(v.data)]


def _from_values(items: list[Any]) -> RecentValues:
    return RecentValues(int(items[0]), array("I", (int(v) for v in items[1])))


def actor_to_list(a: ActorState) -> list[Any]:
    """One actor as JSON-ready lists."""
    login = a.last_login
    return [
        a.first_ts,
        a.last_ts,
        a.day,
        a.active_days,
        a.events,
        a.logins,
        _values(a.asns),
        _values(a.countries),
        _values(a.clients),
        _values(a.uas),
        list(a.versions.data),
        a.cloud_ts,
        a.flagged_ts,
        list(a.hours),
        None if login is None else [login.ts, login.lat, login.lon, login.country, login.anonymous],
        [[sid, b.to_list()] for sid, b in a.sessions.items()],
        {m: c.values() for m, c in a.rates.items()},
        None if a.admin_types is None else _values(a.admin_types),
        None if a.promoted is None else list(a.promoted),
        None if a.dedup is None else {k: list(v) for k, v in a.dedup.items()},
    ]


def actor_from_list(items: list[Any]) -> ActorState:
    """The inverse of `actor_to_list`."""
    a = ActorState(items[0])
    a.last_ts, a.day, a.active_days, a.events, a.logins = items[1:6]
    a.asns, a.countries, a.clients, a.uas = (_from_values(v) for v in items[6:10])
    a.versions = VersionTable(array("I", (int(v) for v in items[10])))
    a.cloud_ts, a.flagged_ts = items[11], items[12]
    a.hours = array("B", items[13])
    a.last_login = None if items[14] is None else LastLogin(*items[14])
    a.sessions = {int(sid): SessionBinding.from_list(b) for sid, b in items[15]}
    for metric, values in items[16].items():
        a.rates.load(metric, values)
    a.admin_types = None if items[17] is None else _from_values(items[17])
    a.promoted = None if items[18] is None else (items[18][0], items[18][1])
    a.dedup = None if items[19] is None else {k: (v[0], v[1]) for k, v in items[19].items()}
    return a


def _int_keys(table: dict[str, float]) -> dict[int, float]:
    return {int(k): v for k, v in table.items()}


def org_to_dict(org: OrgState) -> dict[str, Any]:
    """One organization as a JSON-ready dict."""
    return {
        "first_ts": org.first_ts,
        "actors": {k: actor_to_list(a) for k, a in org.actors.items()},
        "popularity": {f: {str(k): v for k, v in t.items()} for f, t in org.popularity.items()},
        "popularity_epoch": org.popularity_epoch,
        "admin_types": {str(k): v for k, v in org.admin_types.items()},
        "ioc_until": org.ioc_until,
        "fingerprints": org.fingerprints,
        "priors": org.priors,
    }


def org_from_dict(d: dict[str, Any]) -> OrgState:
    """The inverse of `org_to_dict` (spray windows are short-lived and start empty)."""
    return OrgState(
        first_ts=d["first_ts"],
        actors={k: actor_from_list(v) for k, v in d["actors"].items()},
        popularity={f: _int_keys(t) for f, t in d["popularity"].items()},
        popularity_epoch=d["popularity_epoch"],
        admin_types=_int_keys(d["admin_types"]),
        ioc_until=dict(d["ioc_until"]),
        fingerprints={k: int(v) for k, v in d["fingerprints"].items()},
        priors=dict(d["priors"]),
    )


def encode(orgs: dict[str, OrgState]) -> bytes:
    """Organizations' state as compressed bytes."""
    body = {"format": FORMAT, "orgs": {k: org_to_dict(v) for k, v in orgs.items()}}
    return zlib.compress(orjson.dumps(body), 6)


def decode(blob: bytes) -> dict[str, OrgState]:
    """The inverse of `encode`; ValueError for an unknown format."""
    body = orjson.loads(zlib.decompress(blob))
    if body.get("format") != FORMAT:
        raise ValueError(f"unknown detection snapshot format {body.get('format')!r}")
    return {k: org_from_dict(v) for k, v in body["orgs"].items()}


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by `obj` and everything it references, each object counted once."""
    seen = set() if seen is None else seen
    stack = [obj]
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, bool | type):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(_children(item))
    return total


def _children(item: object) -> list[object]:
    if isinstance(item, dict):
        return [*item.keys(), *item.values()]
    if isinstance(item, list | tuple | set | frozenset):
        return list(item)
    if isinstance(item, str | bytes | int | float | array):
        return []
    slots = getattr(type(item), "__slots__", ())
    children = [getattr(item, s) for s in slots if hasattr(item, s)]
    if hasattr(item, "__dict__"):
        children.append(vars(item))
    return children
