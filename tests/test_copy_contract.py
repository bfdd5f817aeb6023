"""The Store methods a copy needs, on every backend: secrets and positions listed and written,
kept leaf hashes imported into the tree, signals imported under their ids, snapshot consumers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trailkeeper.detect.records import SnapshotRecord
from trailkeeper.errors import StorageError
from trailkeeper.events import PreparedEvent
from trailkeeper.integrity.treehash import leaf_hash
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store

ORG = "E0COPYC"
T0 = 1_700_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_schema_url"))
    else:
        url = f"sqlite:///{tmp_path / 'contract.db'}"
    opened = open_store(url)
    opened.migrate()
    yield opened
    opened.close()


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store that appends a log and purges part of it, the way a source does."""
    opened = open_store(f"sqlite:///{tmp_path / 'reference.db'}")
    opened.migrate()
    yield opened
    opened.close()


def prepared(i: int, date: int) -> PreparedEvent:
    body = b'{"id":"e%d","date_create":%d}' % (i, date)
    return PreparedEvent(ORG, f"e{i}", date, "user_login", "U0A", None, body, id_supplied=True)


def test_secrets_are_listed_and_replaced(store: Store) -> None:
    made = store.secret("cursor-mac")
    store.put_secret("other", b"\x01" * 32)
    assert store.list_secrets() == {"cursor-mac": made, "other": b"\x01" * 32}
    store.put_secret("cursor-mac", b"\x02" * 32)
    assert store.secret("cursor-mac") == b"\x02" * 32


def test_positions_are_listed_by_consumer_and_organization(store: Store) -> None:
    store.set_position("relay", "E0B", 7)
    store.set_position("detect", "E0A", 3)
    store.set_position("relay", "E0A", 5)
    assert store.list_positions() == [
        ("detect", "E0A", 3),
        ("relay", "E0A", 5),
        ("relay", "E0B", 7),
    ]


def test_kept_leaf_hashes_and_events_rebuild_the_purged_tree(
    store: Store, reference: Store
) -> None:
    reference.append([prepared(i, T0 + (0 if i in (0, 1, 3) else 100)) for i in range(6)])
    assert reference.purge({ORG: T0 + 50}) == {ORG: 3}
    kept = reference.purged_leaves(ORG, [(0, 6)])
    live = reference.events_from(ORG, 0, 10)
    store.import_purged_leaves(ORG, 0, [kept[0], kept[1]])
    store.import_events(live[:1])  # seq 2
    store.import_purged_leaves(ORG, 3, [kept[3]])
    store.import_events(live[1:])
    assert store.tree_state(ORG) == reference.tree_state(ORG)
    assert store.purged_leaves(ORG, [(0, 6)]) == kept
    assert kept[3] == leaf_hash(prepared(3, T0).body)


def test_kept_leaf_hashes_must_continue_the_log(store: Store) -> None:
    with pytest.raises(StorageError, match="continue at seq 0"):
        store.import_purged_leaves(ORG, 2, [b"\x00" * 32])
    store.import_purged_leaves(ORG, 0, [b"\x00" * 32])
    with pytest.raises(StorageError, match="continue at seq 1"):
        store.import_purged_leaves(ORG, 0, [b"\x00" * 32])
    assert store.count_events(ORG) == 1


def test_signals_keep_their_ids_and_new_ones_come_after(store: Store) -> None:
    assert store.import_signals(ORG, [(5, T0, '{"a":1}'), (9, T0 + 1, '{"a":2}')]) == 2
    assert store.import_signals(ORG, [(9, T0 + 1, '{"a":2}')]) == 0  # kept already
    store.add_signals(ORG, ['{"a":3}'], T0 + 2)
    records = store.signal_records(ORG, 0, 10)
    assert records[:2] == [(5, T0, '{"a":1}'), (9, T0 + 1, '{"a":2}')]
    assert records[2][0] > 9
    assert records[2][1:] == (T0 + 2, '{"a":3}')


def test_snapshot_consumers_are_listed(store: Store) -> None:
    assert store.detect_snapshot_consumers() == []
    for consumer in ("detect-b", "detect-a", "detect-b"):
        store.save_detect_snapshot(consumer, SnapshotRecord(ORG, 1, 0, T0, b"state"))
    assert store.detect_snapshot_consumers() == ["detect-a", "detect-b"]
