"""Operations on whole stores: retention purges, copying a store, the Recorder and the demo seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from conftest import make_event
from trailkeeper.catalog import Catalog
from trailkeeper.cli import cli
from trailkeeper.directory import admin
from trailkeeper.errors import InvalidArguments, NotFound, StorageError
from trailkeeper.query import LogFilter
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.retention import DAY_S, enforce, set_policy
from trailkeeper.seed import demo_read_token, seed_demo
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.transfer import copy_store
from trailkeeper.validation import EventRejected

ORG, WS = "E0OPS", "T0OPS"
NOW = 1_790_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_schema_url"))
    return f"sqlite:///{tmp_path / 'ops.db'}"


@pytest.fixture
def ops_store(url: str) -> Iterator[Store]:
    store = open_store(url)
    store.migrate()
    admin.create_organization(store, ORG, "Ops", "ops")
    admin.create_workspace(store, WS, ORG, "Ops WS", "ops-ws")
    yield store
    store.close()


def seeded(store: Store, days: list[int]) -> Recorder:
    recorder = Recorder(store)
    events = [make_event(location=WS, date=NOW - d * DAY_S, id=f"e{i}") for i, d in enumerate(days)]
    report = recorder.record_many(events)
    assert not report.rejected
    return recorder


def actions(store: Store) -> list[str]:
    rows = store.scan(ORG, LogFilter(), None, 10_000)
    return [orjson.loads(r.body)["action"] for r in rows]


def test_retention_purges_only_expired_events_and_records_the_purge(ops_store: Store) -> None:
    recorder = seeded(ops_store, [100, 50, 31, 29, 1])
    set_policy(ops_store, recorder, ORG, 30)
    purges = enforce(ops_store, recorder, NOW)
    assert [(p.org_id, p.purged, p.keep_days) for p in purges] == [(ORG, 3, 30)]
    remaining = ops_store.scan(ORG, LogFilter(), None, 100)
    dates = sorted(r.date_create for r in remaining if r.date_create < NOW - 1000)
    assert dates == [NOW - 29 * DAY_S, NOW - DAY_S]
    assert actions(ops_store).count("audit_logs_purged") == 1
    assert actions(ops_store).count("pref.ext_audit_log_retention_duration_changed") == 1


def test_purge_event_details_say_what_was_removed(ops_store: Store) -> None:
    recorder = seeded(ops_store, [90, 10])
    set_policy(ops_store, recorder, ORG, 60)
    enforce(ops_store, recorder, NOW)
    purged = [
        orjson.loads(r.body)
        for r in ops_store.scan(ORG, LogFilter(actions=("audit_logs_purged",)), None, 10)
    ]
    assert purged[0]["details"] == {"keep_days": 60, "cutoff": NOW - 60 * DAY_S, "purged_events": 1}
    assert purged[0]["actor"]["user"]["id"] == "USLACKUSER"


def test_enforcing_twice_purges_nothing_more(ops_store: Store) -> None:
    recorder = seeded(ops_store, [100, 1])
    set_policy(ops_store, recorder, ORG, 30)
    assert len(enforce(ops_store, recorder, NOW)) == 1
    assert enforce(ops_store, recorder, NOW) == []


def test_forever_policy_keeps_everything(ops_store: Store) -> None:
    recorder = seeded(ops_store, [3000, 1])
    set_policy(ops_store, recorder, ORG, 30)
    set_policy(ops_store, recorder, ORG, None)
    assert ops_store.retention_policies() == {}
    assert enforce(ops_store, recorder, NOW) == []


def test_sequences_and_tree_continue_after_a_purge(ops_store: Store) -> None:
    recorder = seeded(ops_store, [100, 90, 1])
    set_policy(ops_store, recorder, ORG, 30)
    enforce(ops_store, recorder, NOW)
    recorder.record(make_event(location=WS, date=NOW, id="after"))
    size, frontier = ops_store.tree_state(ORG)
    assert size == ops_store.count_events(ORG) == 6  # 3 seeded, policy, purge record, "after"
    assert frontier is not None
    assert [r.seq for r in ops_store.events_from(ORG, 0, 10)] == [2, 3, 4, 5]


def test_retention_rules(ops_store: Store) -> None:
    recorder = Recorder(ops_store)
    with pytest.raises(InvalidArguments):
        set_policy(ops_store, recorder, ORG, 0)
    with pytest.raises(NotFound):
        set_policy(ops_store, recorder, "E0NOPE", 30)


def test_copy_moves_everything_byte_identical(ops_store: Store, tmp_path: Path) -> None:
    seeded(ops_store, list(range(0, 400, 3)))
    admin.issue_token(ops_store, ORG, frozenset({"auditlogs:read"}), "reader")
    target = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    target.migrate()
    report = copy_store(ops_store, target)
    assert report.total_events == ops_store.count_events(ORG)
    assert [report.counts[k] for k in ("organizations", "workspaces", "tokens")] == [1, 1, 1]
    assert target.events_from(ORG, 0, 1000) == ops_store.events_from(ORG, 0, 1000)
    assert target.tree_state(ORG) == ops_store.tree_state(ORG)
    assert [t.token_hash for t in target.list_tokens()] == [
        t.token_hash for t in ops_store.list_tokens()
    ]


def test_copy_refuses_a_target_that_already_has_the_log(ops_store: Store, tmp_path: Path) -> None:
    seeded(ops_store, [1, 2])
    target = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    target.migrate()
    copy_store(ops_store, target)
    with pytest.raises(StorageError, match="already has events"):
        copy_store(ops_store, target)


def test_copy_moves_a_purged_log_with_its_kept_leaf_hashes(
    ops_store: Store, tmp_path: Path
) -> None:
    recorder = seeded(ops_store, [100, 1, 90])  # seq 0 and 2 expire: a hole, not a prefix
    set_policy(ops_store, recorder, ORG, 30)
    enforce(ops_store, recorder, NOW)
    target = open_store(f"sqlite:///{tmp_path / 'copy.db'}")
    target.migrate()
    report = copy_store(ops_store, target)
    assert report.purged == {ORG: 2}
    assert target.tree_state(ORG) == ops_store.tree_state(ORG)
    assert target.purged_leaves(ORG, [(0, 10)]) == ops_store.purged_leaves(ORG, [(0, 10)])
    assert target.retention_policies() == {ORG: 30}


def test_copy_command_from_sqlite_to_postgres(tmp_path: Path, postgres_schema_url: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'src.db'}"
    source = open_store(source_url)
    source.migrate()
    admin.create_organization(source, ORG, "Ops", "ops")
    admin.create_workspace(source, WS, ORG, "Ops WS", "ops-ws")
    seeded(source, list(range(50)))
    result = CliRunner().invoke(cli, ["copy", "--from", source_url, "--to", postgres_schema_url])
    assert result.exit_code == 0, result.output
    assert "copied 50 events of 1 organizations; every event verified" in result.stdout
    assert "organizations: 1\nworkspaces: 1\n" in result.stdout
    target = open_store(postgres_schema_url)
    assert target.events_from(ORG, 0, 100) == source.events_from(ORG, 0, 100)
    target.close()


def test_retention_commands(tmp_path: Path) -> None:
    env = {"TRAILKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    runner = CliRunner(env=env)
    assert (
        runner.invoke(cli, ["org", "create", "--id", ORG, "--name", "O", "--domain", "o"]).exit_code
        == 0
    )
    assert runner.invoke(cli, ["retention", "set", "--org", ORG]).exit_code == 2
    assert (
        runner.invoke(
            cli, ["retention", "set", "--org", ORG, "--keep-days", "30", "--forever"]
        ).exit_code
        == 2
    )
    assert (
        runner.invoke(cli, ["retention", "set", "--org", ORG, "--keep-days", "30"]).exit_code == 0
    )
    assert f"{ORG}\t30 days" in runner.invoke(cli, ["retention", "show"]).stdout
    assert "nothing to purge" in runner.invoke(cli, ["retention", "enforce"]).stdout


def test_recorder_records_and_rejects(ops_store: Store) -> None:
    recorder = Recorder(ops_store)
    event_id = recorder.record(make_event(location=WS, id="rec-1"))
    assert event_id == "rec-1"
    assert recorder.record(make_event(location=WS, id="rec-1")) == "rec-1"  # idempotent
    assert ops_store.count_events(ORG) == 1
    with pytest.raises(EventRejected, match="unknown action"):
        recorder.record(make_event("not_an_action", location=WS))


def test_organization_events_validate(ops_store: Store, catalog: Catalog) -> None:
    recorder = Recorder(ops_store, catalog)
    for action in ("audit_logs_purged", "audit_logging_paused", "audit_logs_signing_key_rotated"):
        recorder.record(organization_event(action, ORG, {"why": "test"}))
    event: dict[str, Any] = orjson.loads(ops_store.scan(ORG, LogFilter(), None, 1)[0].body)
    assert event["context"]["location"]["name"] == "Ops"
    assert event["context"]["session_id"] is None


def test_demo_seed_loads_once_through_the_ingest_path(tmp_path: Path, catalog: Catalog) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    store.migrate()
    stored = seed_demo(store, catalog, now=NOW)
    assert stored >= 50_000
    assert seed_demo(store, catalog, now=NOW) == 0
    org_id = store.list_organizations()[0].id
    assert store.count_events(org_id) == stored
    assert demo_read_token(store).startswith("xoxp-")
    assert demo_read_token(store) != demo_read_token(store)
