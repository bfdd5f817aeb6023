"""The `/audit/v1/logs` requests whose latency is measured: every filter kind at two page sizes.

Actors and entities come from stored events picked at random (so busy actors are picked more
often, as in real investigations); pages start at random cursors anywhere in the history, and
time windows are one hour placed at random in its middle half.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from trailkeeper.bench.load import LatencyCase
from trailkeeper.bench.synth import COMMON_ACTION, RARE_ACTION, Timeline
from trailkeeper.query import LogFilter, Position, encode_cursor
from trailkeeper.storage import open_store

LOGS_PATH = "/audit/v1/logs"
LIMITS = (100, 1000)
WINDOW_S = 3600
ORG_ONLY, ACTOR, ENTITY, COMBINED = "org only", "actor", "entity", "action + actor"
ACTION, RARE = f"action ({COMMON_ACTION})", f"rare action ({RARE_ACTION})"
WINDOW = "time window (1 h)"
FILTERS = (ORG_ONLY, ACTION, ACTOR, ENTITY, WINDOW, RARE, COMBINED)


@dataclass(frozen=True)
class SampledRow:
    """The actor and entity of a stored event picked at random."""

    actor: str
    entity: str


def sample_rows(
    url: str, org_id: str, timeline: Timeline, count: int, rng: random.Random
) -> list[SampledRow]:
    """Stored events of the organization at random points of its history."""
    store = open_store(url)
    try:
        rows: list[SampledRow] = []
        while len(rows) < count:
            below = Position(rng.randint(timeline.start, timeline.end) + 1)
            for row in store.scan(org_id, LogFilter(), below, 1):
                event = orjson.loads(row.body)
                entity = event["entity"][event["entity"]["type"]]
                rows.append(SampledRow(event["actor"]["user"]["id"], str(entity.get("id", ""))))
        return rows
    finally:
        store.close()


def _window(rng: random.Random, timeline: Timeline) -> dict[str, str]:
    quarter = timeline.span_s // 4
    low = timeline.start + quarter
    oldest = rng.randint(low, max(low, timeline.end - quarter - WINDOW_S))
    return {"oldest": str(oldest), "latest": str(oldest + WINDOW_S - 1)}


def case_params(
    kind: str, rng: random.Random, row: SampledRow, cursor: str, timeline: Timeline
) -> dict[str, str]:
    """The query of one request of a case (without `limit`)."""
    if kind == WINDOW:
        return _window(rng, timeline)
    filters = {
        ORG_ONLY: {},
        ACTION: {"action": COMMON_ACTION},
        ACTOR: {"actor": row.actor},
        ENTITY: {"entity": row.entity},
        RARE: {"action": RARE_ACTION},
        COMBINED: {"action": COMMON_ACTION, "actor": row.actor},
    }
    return {**filters[kind], "cursor": cursor}


def latency_cases(
    url: str, org_id: str, timeline: Timeline, cursor_key: bytes, samples: int, *, seed: int = 7
) -> list[LatencyCase]:
    """Every filter kind at every page size, `samples` distinct requests each."""
    rng, now = random.Random(seed), int(time.time())
    rows = sample_rows(url, org_id, timeline, samples, rng)
    cases = []
    for kind in FILTERS:
        for limit in LIMITS:
            paths = []
            for row in rows:
                position = Position(rng.randint(timeline.start, timeline.end))
                cursor = encode_cursor(position, org_id=org_id, key=cursor_key, now=now)
                query = {"limit": str(limit), **case_params(kind, rng, row, cursor, timeline)}
                paths.append(f"{LOGS_PATH}?{urlencode(query)}")
            cases.append(LatencyCase(kind, limit, paths))
    return cases
