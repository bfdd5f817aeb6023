"""The query plans behind `/audit/v1/logs` filters on both backends: each filter kind walks an
index that ends in the page order, so a page costs its own rows, not the organization's history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from trailkeeper.query import LogFilter
from trailkeeper.storage import open_store
from trailkeeper.storage.scans import scan_sql

ORG = "E0PLAN"
FILTERS = {
    "actor + action": (LogFilter(actor="U0A", actions=("user_login",)), "actor_action"),
    "actor": (LogFilter(actor="U0A"), "org_actor"),
    "action": (LogFilter(actions=("user_login",)), "org_action"),
    "entity": (LogFilter(entity="F0A"), "org_entity"),
}


def sqlite_plan(path: Path, log_filter: LogFilter) -> str:
    sql, args = scan_sql(ORG, log_filter, None, 100)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
    return " ".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize("kind", FILTERS)
def test_sqlite_walks_the_filters_own_index_in_page_order(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "plans.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    store.close()
    log_filter, index = FILTERS[kind]
    plan = sqlite_plan(path, log_filter)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index is already in page order


def test_postgres_answers_actor_and_action_from_their_index(postgres_schema_url: str) -> None:
    store = open_store(postgres_schema_url)
    store.migrate()
    store.close()
    log_filter, _ = FILTERS["actor + action"]
    sql, args = scan_sql(ORG, log_filter, None, 100, ph="%s")
    with psycopg.connect(postgres_schema_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # an empty table: make the planner show its index
        conn.execute("SET enable_bitmapscan = off")
        plan = " ".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", args).fetchall())
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'events'"
            ).fetchall()
        ]
    assert any("(org_id, actor_id, action, date_create, seq)" in i for i in indexes), indexes
    assert "actor_id_action" in plan, plan
