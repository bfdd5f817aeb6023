"""Several `trailkeeper serve` processes on one PostgreSQL behave as one service."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from conftest import free_port, make_event
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.directory.tokens import token_hash
from trailkeeper.storage.postgres import PostgresStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def start_node(database_url: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environ = {
        **os.environ,
        "TRAILKEEPER_DATABASE_URL": database_url,
        "TRAILKEEPER_LOG_LEVEL": "warning",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "trailkeeper", "serve", "--port", str(port)], env=environ
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("node did not start")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis required in CI")
        pytest.skip("no Redis")
    return REDIS_URL


@pytest.fixture
def cluster(postgres_schema_url: str) -> Iterator[Callable[..., list[str]]]:
    store = PostgresStore(postgres_schema_url)
    store.migrate()
    store.close()
    processes: list[subprocess.Popen[bytes]] = []

    def start(count: int, **env: str) -> list[str]:
        urls = []
        for _ in range(count):
            process, url = start_node(postgres_schema_url, **env)
            processes.append(process)
            urls.append(url)
        return urls

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def directory_for(url: str, org: str) -> tuple[str, str]:
    store = PostgresStore(url)
    admin.create_organization(store, org, "Cluster Org", "cluster")
    admin.create_workspace(store, "T" + org[1:], org, "Cluster WS", "cluster-ws")
    read, _ = admin.issue_token(store, org, frozenset({READ_SCOPE}))
    write, _ = admin.issue_token(store, org, frozenset({WRITE_SCOPE}))
    store.close()
    return read, write


def drain(url: str, token: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = ""
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            body = client.get(f"{url}/audit/v1/logs", params=params).json()
            ids += [e["id"] for e in body["entries"]]
            cursor = body["response_metadata"]["next_cursor"]
            if not cursor:
                return ids


def post(url: str, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/ingest/v1/events",
        json=events,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_two_nodes_lose_nothing_duplicate_nothing_and_keep_sequences_gap_free(
    cluster: Callable[..., list[str]], postgres_schema_url: str, redis_url: str
) -> None:
    org = "E0CLUSTER"
    read, write = directory_for(postgres_schema_url, org)
    nodes = cluster(2, TRAILKEEPER_RATE_LIMIT_PER_MINUTE="0", TRAILKEEPER_REDIS_URL=redis_url)
    location = "T" + org[1:]

    def batch(worker: int, n: int) -> list[dict[str, Any]]:
        return [
            make_event(
                "file_downloaded",
                actor=f"U{worker}X",
                location=location,
                date=1_700_000_000 + (worker * 31 + n) % 50,
                entity={"type": "file", "file": {"id": f"F{worker}{n}{i}"}},
                id=f"w{worker}-b{n}-e{i}",
            )
            for i in range(40)
        ]

    jobs = [(worker, n) for worker in range(4) for n in range(15)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        # Each batch goes to both nodes at once: the same ids arrive twice, concurrently.
        futures = [pool.submit(post, nodes[k], write, batch(w, n)) for w, n in jobs for k in (0, 1)]
        readers = [pool.submit(drain, nodes[i % 2], read, 97) for i in range(6)]
        results = [f.result() for f in futures]
        [f.result() for f in readers]
    assert sum(r["stored"] for r in results) == len(jobs) * 40
    assert sum(r["duplicates"] for r in results) == len(jobs) * 40

    store = PostgresStore(postgres_schema_url)
    records = store.events_from(org, 0, 100_000)
    store.close()
    assert [r.seq for r in records] == list(range(len(jobs) * 40))
    assert len({r.id for r in records}) == len(records)

    first, second = drain(nodes[0], read, 113), drain(nodes[1], read, 113)
    assert first == second
    assert sorted(first) == sorted(r.id for r in records)


def test_the_rate_limit_is_counted_once_across_nodes(
    cluster: Callable[..., list[str]], postgres_schema_url: str, redis_url: str
) -> None:
    org = "E0RL" + uuid.uuid4().hex[:8].upper()
    read, _ = directory_for(postgres_schema_url, org)
    nodes = cluster(2, TRAILKEEPER_RATE_LIMIT_PER_MINUTE="20", TRAILKEEPER_REDIS_URL=redis_url)
    statuses = []
    with httpx.Client(headers={"Authorization": f"Bearer {read}"}) as client:
        for i in range(40):
            statuses.append(client.get(f"{nodes[i % 2]}/audit/v1/logs?limit=1").status_code)
    allowed = statuses.count(200)
    assert 20 <= allowed <= 21  # one bucket of 20 for the organization, not one per node
    assert statuses.count(429) == 40 - allowed


def test_a_token_revoked_through_one_node_is_refused_by_every_node(
    cluster: Callable[..., list[str]], postgres_schema_url: str
) -> None:
    org = "E0REVOKE"
    read, _ = directory_for(postgres_schema_url, org)
    nodes = cluster(2, TRAILKEEPER_RATE_LIMIT_PER_MINUTE="0")
    headers = {"Authorization": f"Bearer {read}"}
    assert all(httpx.get(f"{n}/audit/v1/logs", headers=headers).status_code == 200 for n in nodes)
    store = PostgresStore(postgres_schema_url)
    record = store.find_token(token_hash(read))
    assert record is not None
    admin.revoke_token(store, record.id)
    store.close()
    for node in nodes:
        response = httpx.get(f"{node}/audit/v1/logs", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error": "invalid_authentication"}
