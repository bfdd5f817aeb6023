"""DetectSQL on both backends: controls, signals kept briefly, snapshots, shadow anomalies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trailkeeper.detect.records import SnapshotRecord
from trailkeeper.storage.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgres"])
def detect_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        store: Any = SQLiteStore(str(tmp_path / "d.db"))
    else:
        from trailkeeper.storage.postgres import PostgresStore

        url = request.getfixturevalue("postgres_schema_url")
        store = PostgresStore(url)
    store.migrate()
    yield store
    store.close()


def test_controls_are_stored_per_organization(detect_store: Any) -> None:
    assert detect_store.get_detect_controls("E0A") is None
    detect_store.put_detect_controls("E0A", '{"mode":"shadow"}', 5)
    detect_store.put_detect_controls("E0A", '{"mode":"off"}', 6)
    assert detect_store.get_detect_controls("E0A") == '{"mode":"off"}'
    assert detect_store.get_detect_controls("E0B") is None


def test_signals_are_read_in_order_after_a_position_and_purged_by_age(detect_store: Any) -> None:
    bodies = [f'{{"n":{n}}}' for n in range(450)]  # more than one multi-row insert
    assert detect_store.add_signals("E0A", bodies, 100) == 450
    detect_store.add_signals("E0B", ['{"n":"b"}'], 200)
    first = detect_store.signals_after("E0A", 0, 1000)
    assert [b for _, b in first] == bodies
    ids = [i for i, _ in first]
    assert ids == sorted(ids)
    assert [b for _, b in detect_store.signals_after("E0A", ids[9], 2)] == bodies[10:12]
    assert sorted(detect_store.organizations_with_signals()) == ["E0A", "E0B"]
    assert detect_store.purge_signals(150) == 450
    assert detect_store.signals_after("E0A", 0, 10) == []
    assert detect_store.organizations_with_signals() == ["E0B"]


def test_snapshots_replace_each_other_per_consumer_and_organization(detect_store: Any) -> None:
    detect_store.save_detect_snapshot("c1", SnapshotRecord("E0A", 5, 2, 10, b"\x00one"))
    detect_store.save_detect_snapshot("c1", SnapshotRecord("E0A", 9, 3, 11, b"\x00two"))
    detect_store.save_detect_snapshot("c1", SnapshotRecord("E0B", 1, 0, 11, b"b"))
    detect_store.save_detect_snapshot("c2", SnapshotRecord("E0A", 1, 0, 11, b"x"))
    assert detect_store.detect_snapshots("c1") == [
        SnapshotRecord("E0A", 9, 3, 11, b"\x00two"),
        SnapshotRecord("E0B", 1, 0, 11, b"b"),
    ]
    assert detect_store.detect_snapshots("none") == []


def test_shadow_anomalies_are_listed_newest_first_and_purged(detect_store: Any) -> None:
    detect_store.add_shadow_anomalies("E0A", ['{"a":1}', '{"a":2}'], 50)
    detect_store.add_shadow_anomalies("E0A", ['{"a":3}'], 60)
    assert detect_store.shadow_anomalies("E0A", 2) == ['{"a":3}', '{"a":2}']
    assert detect_store.purge_shadow(55) == 2
    assert detect_store.shadow_anomalies("E0A", 10) == ['{"a":3}']
    assert detect_store.add_shadow_anomalies("E0A", [], 70) == 0
