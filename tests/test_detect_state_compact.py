"""The packed forms of detection state: value tables of 32-bit triples, one float32 array for all
of an actor's counters, an array for the hour's distinct reads, and evidence ids that expire."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from trailkeeper.detect.clients import parse_client
from trailkeeper.detect.enrichment import DataPaths, Enrichment, IpInfo
from trailkeeper.detect.learning import advance_counters, learn
from trailkeeper.detect.observation import Observation
from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.snapshot import actor_from_list, actor_to_list, deep_size
from trailkeeper.detect.state import (
    ActorState,
    OrgState,
    RateCounter,
    RateTable,
    RecentValues,
)
from trailkeeper.detect.tuning import Params

T0 = 1_700_000_000 - 1_700_000_000 % 86_400


def test_a_value_table_keeps_whole_seconds_and_fixed_point_weights() -> None:
    values = RecentValues(4)
    for n in range(10):
        values.observe(64_500, T0 + n * 60.5)
    assert values.last_seen(64_500) == T0 + 544  # 9 * 60.5, truncated to the second
    assert 9.9 < values.weight(0, T0 + 545) <= 10.0
    assert values.data.itemsize == 4


def test_the_weakest_value_is_replaced_when_the_table_is_full() -> None:
    values = RecentValues(2)
    for _ in range(5):
        values.observe(1, T0)
    values.observe(2, T0)
    values.observe(3, T0 + 10)  # 2 has the smaller weight: it goes
    assert values.keys() == [1.0, 3.0]


def test_a_heavy_weight_saturates_instead_of_overflowing() -> None:
    values = RecentValues(1)
    values.data.extend((7, T0, RecentValues.MAX_WEIGHT))
    values.observe(7, T0)
    assert values.data[2] == RecentValues.MAX_WEIGHT


def test_an_actors_counters_share_one_array_and_stay_independent() -> None:
    table = RateTable()
    assert table.get("downloads") is None
    downloads, api = table.counter("downloads"), table.counter("api")
    downloads.add(T0 + 10, 3)
    api.add(T0 + 20, 500)
    assert table.codes == "da"
    assert len(table.data) == 2 * RateCounter.WIDTH
    found = table.get("downloads")
    assert found is not None
    assert found.hour_count(T0 + 30) == 3
    assert table.counter("api").hour_count(T0 + 30) == 500
    assert [m for m, _ in table.items()] == ["downloads", "api"]


def test_an_unknown_metric_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        RateTable().counter("bananas")


def test_counters_survive_a_snapshot_round_trip() -> None:
    actor = ActorState(T0)
    actor.rate("shares").add(T0 + 5, 2)
    actor.rate("reads").add(T0 + 6, 1)
    actor.rate("shares").add(T0 + 86_400 + 5, 4)
    back = actor_from_list(actor_to_list(actor))
    assert back.rates.codes == "sr"
    assert list(back.rates.data) == list(actor.rates.data)
    shares = back.rates.get("shares")
    assert shares is not None
    assert shares.past_sum(T0 + 86_400 + 10) == 2
    assert shares.count_on((T0 + 86_400) // 86_400) == 4


def test_packed_counters_cost_a_fraction_of_separate_ones() -> None:
    table = RateTable()
    separate: dict[str, Any] = {}
    for metric in ("downloads", "shares", "api", "reads"):
        table.counter(metric)
        separate[metric] = RateCounter()
    assert deep_size(table) < deep_size(separate) / 2


def test_evidence_of_a_counter_that_cooled_down_is_forgotten() -> None:
    pipeline = DetectionPipeline(Enrichment(DataPaths()))
    key = ("E0", "U0A", "downloads")
    pipeline._hot[key] = (T0, deque(["ev1"]))
    pipeline._expire_hot(T0 + 3000)
    assert key in pipeline._hot
    pipeline._expire_hot(T0 + 3700)
    assert key not in pipeline._hot


def test_a_persons_state_stays_within_the_budget_however_long_they_work() -> None:
    org = OrgState(first_ts=T0)
    actor = org.actor("U0A", T0)
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
    for n in range(5000):  # 50 days of 100 downloads, from ever new networks and sessions
        ts = T0 + n * 864
        info = IpInfo(country="US", lat=40.0, lon=-74.0, asn=64500 + n % 50, accuracy_km=20)
        obs = Observation(
            "E0", ts, "file_downloaded", {"id": "U0A"}, {}, f"100.64.{n % 250}.{n % 200}", ua,
            n // 10, info, parse_client(ua), event_id=f"ev{n}",
            entity={"type": "file", "file": {"id": f"F{n}"}},
        )  # fmt: skip
        advance_counters(obs, actor)
        learn(obs, actor, org, Params())
    assert len(actor.sessions) == 3
    assert deep_size(actor) < 4096  # spec §7: <= 4 KB per active user, even for the busiest
