"""`POST /ingest/v1/events` over real HTTP against a live uvicorn server and a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_B, WS_OTHER, LiveServer, make_event
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.directory.tokens import token_hash
from trailkeeper.query import LogFilter
from trailkeeper.storage.sqlite import SQLiteStore

PATH = "/ingest/v1/events"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(
    server: LiveServer, body: bytes, token: str | None = None, **headers: str
) -> httpx.Response:
    sent = {**(auth(token) if token else {}), **headers}
    return httpx.post(server.url + PATH, content=body, headers=sent, timeout=30)


def post_events(server: LiveServer, events: list[Any], token: str | None = None) -> httpx.Response:
    return post(server, orjson.dumps(events), token or server.write_token)


def nd(*events: object) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


def read_logs(server: LiveServer, token: str | None = None, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        server.url + "/audit/v1/logs",
        params={"limit": 9999, **params},
        headers=auth(token or server.read_token),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- happy paths ----------------------------------------------------------------------------------


def test_json_array_batch(live_server: LiveServer) -> None:
    events = [make_event(id="arr-1"), make_event("user_logout", id="arr-2", date=BASE_TIME + 1)]
    response = post_events(live_server, events)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "ok": True,
        "accepted": 2,
        "stored": 2,
        "duplicates": 0,
        "ids": ["arr-1", "arr-2"],
        "rejected": [],
    }
    assert live_server.store.count_events(ORG) == 2


def test_ndjson_batch(live_server: LiveServer) -> None:
    body = nd(make_event(id="nd-1")) + b"\n\n" + nd(make_event(id="nd-2", location=WS_B))
    response = post(
        live_server, body, live_server.write_token, **{"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["ids"] == ["nd-1", "nd-2"]
    assert response.json()["stored"] == 2


def test_ids_and_dates_assigned_when_absent(live_server: LiveServer) -> None:
    response = post_events(live_server, [make_event(date=None), make_event(date=None)])
    body = response.json()
    assert body["stored"] == 2
    assert len(set(body["ids"])) == 2
    entries = read_logs(live_server)["entries"]
    assert {e["id"] for e in entries} == set(body["ids"])
    assert all(isinstance(e["date_create"], int) and e["date_create"] > BASE_TIME for e in entries)


def test_partial_batch_reports_rejects_by_index(live_server: LiveServer) -> None:
    events = [
        make_event(id="ok-0"),
        make_event("nope_action"),
        make_event(id="ok-2", location=ORG),
        make_event(id="foreign", location=WS_OTHER),
        42,
    ]
    response = post_events(live_server, events)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["accepted"] == 2
    assert body["stored"] == 2
    assert body["ids"] == ["ok-0", "ok-2"]
    assert [r["index"] for r in body["rejected"]] == [1, 3, 4]
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert "unknown action" in reasons[1]
    assert reasons[3] == "context.location belongs to another organization"
    assert reasons[4] == "an event must be an object"
    assert live_server.store.count_events(OTHER_ORG) == 0
    assert live_server.store.count_events(ORG) == 2


def test_duplicates_reported_and_idempotent(live_server: LiveServer) -> None:
    events = [make_event(id="dup-1"), make_event(id="dup-2")]
    assert post_events(live_server, events).json()["stored"] == 2
    again = post_events(live_server, [*events, make_event(id="dup-3")]).json()
    assert again == {
        "ok": True,
        "accepted": 3,
        "stored": 1,
        "duplicates": 2,
        "ids": ["dup-1", "dup-2", "dup-3"],
        "rejected": [],
    }
    assert live_server.store.count_events(ORG) == 3


def test_empty_array_is_an_empty_success(live_server: LiveServer) -> None:
    response = post(live_server, b"[]", live_server.write_token)
    assert response.status_code == 200
    assert response.json()["accepted"] == 0


def test_events_readable_via_logs(live_server: LiveServer) -> None:
    events = [
        make_event(id=f"read-{i}", date=BASE_TIME + i, location=WS_A if i % 2 else WS_B)
        for i in range(5)
    ]
    assert post_events(live_server, events).json()["stored"] == 5
    entries = read_logs(live_server)["entries"]
    assert [e["id"] for e in entries] == [f"read-{i}" for i in reversed(range(5))]
    assert [e["context"]["location"]["name"] for e in entries[:2]] == ["Beta", "Alpha"]
    # The wire bytes are exactly the stored canonical bytes.
    raw = httpx.get(
        live_server.url + "/audit/v1/logs",
        params={"limit": 1},
        headers=auth(live_server.read_token),
    ).content
    (row,) = live_server.store.scan(ORG, LogFilter(), None, 1)
    assert raw.startswith(b'{"entries":[' + row.body + b"]")
    # Another organization's read token sees none of it; a write token cannot read.
    assert read_logs(live_server, live_server.other_read_token)["entries"] == []
    refused = httpx.get(live_server.url + "/audit/v1/logs", headers=auth(live_server.write_token))
    assert refused.status_code == 401
    assert refused.json() == {"ok": False, "error": "invalid_authentication"}


def test_ingested_events_are_durable_when_acknowledged(live_server: LiveServer) -> None:
    response = post_events(live_server, [make_event(id=f"dur-{i}") for i in range(3)])
    assert response.status_code == 200
    # A fresh connection (as another process would open) sees them the moment we have the answer.
    fresh = SQLiteStore(live_server.store.path)
    try:
        assert fresh.count_events(ORG) == 3
        ids = {orjson.loads(r.body)["id"] for r in fresh.scan(ORG, LogFilter(), None, 10)}
        assert ids == {"dur-0", "dur-1", "dur-2"}
    finally:
        fresh.close()
    assert {e["id"] for e in read_logs(live_server)["entries"]} == {"dur-0", "dur-1", "dur-2"}


def test_token_with_both_scopes_can_write(live_server: LiveServer) -> None:
    both, _ = admin.issue_token(live_server.store, ORG, frozenset({READ_SCOPE, WRITE_SCOPE}))
    response = post_events(live_server, [make_event(id="both-1")], both)
    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_workspace_install_write_token_can_ingest(live_server: LiveServer) -> None:
    token, _ = admin.issue_token(
        live_server.store, ORG, frozenset({WRITE_SCOPE}), workspace_id=WS_A
    )
    assert post_events(live_server, [make_event(id="ws-tok")], token).json()["stored"] == 1


# --- refusals -------------------------------------------------------------------------------------


def test_all_rejected_is_400_invalid_events(live_server: LiveServer) -> None:
    response = post_events(live_server, [make_event("bogus"), make_event(location=WS_OTHER)])
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == "invalid_events"
    assert body["accepted"] == 0
    assert body["stored"] == 0
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert all(r["reason"] for r in body["rejected"])
    assert live_server.store.count_events(ORG) == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}],
    ids=["absent", "empty", "basic", "bearer-without-token"],
)
def test_missing_token_is_401(live_server: LiveServer, headers: dict[str, str]) -> None:
    response = httpx.post(
        live_server.url + PATH, content=orjson.dumps([make_event()]), headers=headers
    )
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "missing_authentication"}
    assert live_server.store.count_events(ORG) == 0


def test_lowercase_bearer_scheme_accepted(live_server: LiveServer) -> None:
    response = post(
        live_server, orjson.dumps([make_event()]), Authorization=f"bearer {live_server.write_token}"
    )
    assert response.status_code == 200


def test_unknown_token_is_401_invalid(live_server: LiveServer) -> None:
    response = post_events(live_server, [make_event()], "tkw-not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid_authentication"}


def test_read_only_token_is_403_missing_scope(live_server: LiveServer) -> None:
    response = post_events(live_server, [make_event()], live_server.read_token)
    assert response.status_code == 403
    assert response.json() == {
        "ok": False,
        "error": "missing_scope",
        "needed": "auditlogs:write",
        "provided": "auditlogs:read",
    }
    assert live_server.store.count_events(ORG) == 0


def test_revoked_token_is_401_invalid(live_server: LiveServer) -> None:
    assert post_events(live_server, [make_event(id="before")]).status_code == 200
    record = live_server.store.find_token(token_hash(live_server.write_token))
    assert record is not None
    admin.revoke_token(live_server.store, record.id)
    response = post_events(live_server, [make_event(id="after")])
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid_authentication"}
    assert live_server.store.count_events(ORG) == 1


def test_body_over_limit_is_413(live_server_factory: Any) -> None:
    server = live_server_factory(max_request_bytes=1000)
    small = orjson.dumps([make_event(id="small")])
    assert len(small) < 1000
    assert post(server, small, server.write_token).status_code == 200
    big = orjson.dumps([make_event(id=f"big-{i}") for i in range(5)])
    assert len(big) > 1000
    response = post(server, big, server.write_token)
    assert response.status_code == 413
    assert response.json() == {"ok": False, "error": "request_too_large"}
    assert server.store.count_events(ORG) == 1


def test_chunked_body_over_limit_is_413(live_server_factory: Any) -> None:
    server = live_server_factory(max_request_bytes=1000)

    def chunks() -> Iterator[bytes]:
        yield b"["
        for i in range(5):
            yield (b"," if i else b"") + orjson.dumps(make_event(id=f"chunk-{i}"))
        yield b"]"

    response = httpx.post(
        server.url + PATH, content=chunks(), headers=auth(server.write_token), timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert server.store.count_events(ORG) == 0


def test_too_many_events_is_400_invalid_payload(live_server_factory: Any) -> None:
    server = live_server_factory(max_batch_events=3)
    ok = post_events(server, [make_event(id=f"m{i}") for i in range(3)])
    assert ok.status_code == 200
    response = post_events(server, [make_event(id=f"n{i}") for i in range(4)])
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "invalid_payload"}
    assert server.store.count_events(ORG) == 3


@pytest.mark.parametrize(
    "body", [b"", b"  \n", b"[{", b'{"a":1}\n{oops'], ids=["empty", "blank", "array", "ndjson"]
)
def test_unparseable_body_is_400_invalid_payload(live_server: LiveServer, body: bytes) -> None:
    response = post(live_server, body, live_server.write_token)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "invalid_payload"}


def test_event_for_another_orgs_workspace(live_server: LiveServer) -> None:
    other_writer, _ = admin.issue_token(live_server.store, OTHER_ORG, frozenset({WRITE_SCOPE}))
    body = post_events(
        live_server,
        [make_event(id="x1", location=WS_A), make_event(id="x2", location=WS_OTHER)],
        other_writer,
    ).json()
    assert body["ids"] == ["x2"]
    assert body["rejected"] == [
        {"index": 0, "reason": "context.location belongs to another organization"}
    ]
    assert live_server.store.count_events(ORG) == 0
    assert live_server.store.count_events(OTHER_ORG) == 1


def test_get_on_ingest_is_405(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + PATH, headers=auth(live_server.write_token))
    assert response.status_code == 405
    assert response.json() == {"ok": False, "error": "method_not_allowed"}


# --- concurrency ----------------------------------------------------------------------------------


async def test_concurrent_clients_all_stored_gap_free(live_server: LiveServer) -> None:
    clients, batches, size = 20, 2, 50

    async def client(n: int, http: httpx.AsyncClient) -> list[str]:
        ids: list[str] = []
        for b in range(batches):
            events = [
                make_event(
                    id=f"c{n}-b{b}-{i}" if i % 2 else None,
                    date=BASE_TIME + (n * 7 + i) % 40,
                    location=WS_A if i % 3 else WS_B,
                    actor=f"U0C{n}",
                )
                for i in range(size)
            ]
            response = await http.post(PATH, content=orjson.dumps(events))
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["stored"] == size
            assert body["rejected"] == []
            ids += body["ids"]
        return ids

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=live_server.url,
        headers=auth(live_server.write_token),
        timeout=60,
        limits=limits,
    ) as http:
        results = await asyncio.gather(*(client(n, http) for n in range(clients)))

    every_id = [i for ids in results for i in ids]
    total = clients * batches * size
    assert len(every_id) == total
    assert len(set(every_id)) == total
    store = live_server.store
    assert store.count_events(ORG) == total
    rows = await asyncio.to_thread(store.scan, ORG, LogFilter(), None, total + 10)
    assert sorted(r.seq for r in rows) == list(range(total))
    assert {orjson.loads(r.body)["id"] for r in rows} == set(every_id)


def test_concurrent_retries_of_one_batch_store_it_once(live_server: LiveServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    events = [make_event(id=f"retry-{i}") for i in range(50)]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: post_events(live_server, events).json(), range(10)))
    assert sum(a["stored"] for a in answers) == 50
    assert all(a["accepted"] == 50 for a in answers)
    assert sum(a["duplicates"] for a in answers) == 9 * 50
    assert live_server.store.count_events(ORG) == 50
    rows = live_server.store.scan(ORG, LogFilter(), None, 100)
    assert sorted(r.seq for r in rows) == list(range(50))
