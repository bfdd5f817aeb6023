"""Every error reachable over HTTP has one shape: `{"ok":false,"error":"<code>"}`, compact JSON.

One test walks every error path (model: datasette's tests/test_error_shape.py); a fuzz test sends
arbitrary query strings to `/audit/v1/logs` and accepts only a 200 page or that one error shape.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import BASE_TIME, ORG, WS_A, LiveServer, make_event
from trailkeeper.catalog import Catalog
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.records import READ_SCOPE, TokenRecord
from trailkeeper.directory.tokens import mint_token, new_token_id, token_hash
from trailkeeper.ingest import Ingestor
from trailkeeper.web.errors import ERROR_TABLE

JSON = "application/json; charset=utf-8"
LOGS = "/audit/v1/logs"
INGEST = "/ingest/v1/events"
ERROR_KEYS = frozenset({"ok", "error"})
REPORT_KEYS = frozenset({"accepted", "stored", "duplicates", "ids", "rejected"})
KNOWN_ERRORS = {
    400: {"invalid_action", "invalid_cursor", "invalid_range", "invalid_arguments"},
    401: {"missing_authentication", "invalid_authentication"},
}


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Reply:
    """What came back, whichever HTTP client sent the request."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(repr=False)
class World:
    """A live server with events, cursors and tokens in every state."""

    live: LiveServer
    catalog: Catalog
    revoked_token: str = ""
    workspace_token: str = ""

    def __repr__(self) -> str:
        return f"World({self.live.url})"

    def send(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with httpx.Client(base_url=self.live.url, trust_env=False) as client:
            r = client.request(method, path, headers=headers, **kwargs)
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    def raw(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        """Through http.client, which sends header values httpx refuses (`Bearer ` empty)."""
        conn = http.client.HTTPConnection(self.live.url.removeprefix("http://"), timeout=10)
        try:
            conn.request(method, path, headers=headers)
            r = conn.getresponse()
            return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def logs(self, query: str = "", token: str | None = None) -> Reply:
        return self.send("GET", f"{LOGS}?{query}" if query else LOGS, token or self.live.read_token)

    def ingest(self, body: bytes, token: str | None = None) -> Reply:
        return self.send("POST", INGEST, token, content=body)


def build_world(live: LiveServer, catalog: Catalog) -> World:
    world = World(live, catalog)
    ingestor = Ingestor(live.store, catalog, LocationIndex(live.store), max_event_bytes=65536)
    report = ingestor.ingest([make_event(date=BASE_TIME + i) for i in range(5)])
    assert report.stored == 5
    token, record = admin.issue_token(live.store, ORG, frozenset({READ_SCOPE}), "revoked")
    admin.revoke_token(live.store, record.id)
    world.revoked_token = token
    world.workspace_token = mint_token(frozenset({READ_SCOPE}))
    live.store.add_token(
        TokenRecord(
            id=new_token_id(),
            org_id=ORG,
            token_hash=token_hash(world.workspace_token),
            scopes=frozenset({READ_SCOPE}),
            label="workspace-level install",
            created_at=int(time.time()),
            workspace_id=WS_A,
        )
    )
    return world


def first_cursor(world: World, token: str) -> str:
    cursor = json.loads(world.logs("limit=1", token).body)["response_metadata"]["next_cursor"]
    assert cursor
    return str(cursor)


def tampered(cursor: str) -> str:
    """Change one character inside a full base64 group, so decoded bytes really change."""
    i = len(cursor) // 2
    return cursor[:i] + ("B" if cursor[i] == "A" else "A") + cursor[i + 1 :]


def rate_limited(world: World) -> Reply:
    assert world.logs("limit=1").status == 200  # the one call of the minute
    return world.logs("limit=1")


def events_body(*events: Any) -> bytes:
    return json.dumps(list(events)).encode()


@dataclass(frozen=True)
class ErrorCase:
    status: int
    code: str
    call: Callable[[World], Reply]
    server: dict[str, Any] = field(default_factory=dict)
    extra_keys: frozenset[str] = frozenset()


def thirty_one_actions(world: World) -> str:
    names = sorted(world.catalog.action_names)[:31]
    assert len(set(names)) == 31
    return ",".join(names)


CASES: dict[str, ErrorCase] = {
    "no_authorization_header": ErrorCase(
        401, "missing_authentication", lambda w: w.send("GET", LOGS)
    ),
    "basic_scheme": ErrorCase(
        401,
        "missing_authentication",
        lambda w: w.send("GET", LOGS, headers={"Authorization": "Basic x"}),
    ),
    "bearer_without_token": ErrorCase(
        401, "missing_authentication", lambda w: w.raw("GET", LOGS, {"Authorization": "Bearer "})
    ),
    "ingest_without_token": ErrorCase(
        401, "missing_authentication", lambda w: w.ingest(events_body(make_event()))
    ),
    "unknown_token": ErrorCase(401, "invalid_authentication", lambda w: w.logs("", "xoxp-nope")),
    "revoked_token": ErrorCase(
        401, "invalid_authentication", lambda w: w.logs("", w.revoked_token)
    ),
    "write_token_reading": ErrorCase(
        401, "invalid_authentication", lambda w: w.logs("", w.live.write_token)
    ),
    "workspace_token": ErrorCase(
        403, "team_not_authorized", lambda w: w.logs("", w.workspace_token)
    ),
    "read_token_ingesting": ErrorCase(
        403,
        "missing_scope",
        lambda w: w.ingest(events_body(make_event()), w.live.read_token),
        extra_keys=frozenset({"needed", "provided"}),
    ),
    "rate_limited": ErrorCase(429, "rate_limited", rate_limited, {"rate_limit_per_minute": 1}),
    "unknown_action": ErrorCase(400, "invalid_action", lambda w: w.logs("action=no_such_action")),
    "unknown_action_in_list": ErrorCase(
        400, "invalid_action", lambda w: w.logs("action=user_login,nope")
    ),
    "thirty_one_actions": ErrorCase(
        400, "invalid_action", lambda w: w.logs("action=" + thirty_one_actions(w))
    ),
    "garbage_cursor": ErrorCase(400, "invalid_cursor", lambda w: w.logs("cursor=not-a-cursor!!")),
    "short_cursor": ErrorCase(400, "invalid_cursor", lambda w: w.logs("cursor=AAAA")),
    "tampered_cursor": ErrorCase(
        400,
        "invalid_cursor",
        lambda w: w.logs("cursor=" + tampered(first_cursor(w, w.live.read_token))),
    ),
    "other_organization_cursor": ErrorCase(
        400,
        "invalid_cursor",
        lambda w: w.logs("cursor=" + first_cursor(w, w.live.read_token), w.live.other_read_token),
    ),
    "oldest_after_latest": ErrorCase(
        400, "invalid_range", lambda w: w.logs(f"oldest={BASE_TIME + 10}&latest={BASE_TIME}")
    ),
    "oldest_in_the_future": ErrorCase(
        400, "invalid_range", lambda w: w.logs(f"oldest={int(time.time()) + 86400}")
    ),
    "oldest_not_a_number": ErrorCase(400, "invalid_range", lambda w: w.logs("oldest=abc")),
    "latest_negative": ErrorCase(400, "invalid_range", lambda w: w.logs("latest=-5")),
    "limit_not_a_number": ErrorCase(400, "invalid_arguments", lambda w: w.logs("limit=abc")),
    "actor_too_long": ErrorCase(400, "invalid_arguments", lambda w: w.logs("actor=" + "U" * 1000)),
    "entity_too_long": ErrorCase(
        400, "invalid_arguments", lambda w: w.logs("entity=" + "C" * 1000)
    ),
    "query_over_16_kib": ErrorCase(
        400, "invalid_arguments", lambda w: w.logs("limit=1&padding=" + "x" * 17_000)
    ),
    "ingest_not_json": ErrorCase(
        400, "invalid_payload", lambda w: w.ingest(b"this is not json", w.live.write_token)
    ),
    "ingest_broken_array": ErrorCase(
        400, "invalid_payload", lambda w: w.ingest(b'[{"action":', w.live.write_token)
    ),
    "ingest_too_large": ErrorCase(
        413,
        "request_too_large",
        lambda w: w.ingest(b"[" + b" " * 4096 + b"]", w.live.write_token),
        {"max_request_bytes": 1024},
    ),
    "ingest_all_events_rejected": ErrorCase(
        400,
        "invalid_events",
        lambda w: w.ingest(
            events_body({"action": "no_such_action"}, make_event(actor="lowercase")),
            w.live.write_token,
        ),
        extra_keys=REPORT_KEYS,
    ),
    "unknown_path": ErrorCase(404, "bad_endpoint", lambda w: w.send("GET", "/nope")),
    "unknown_audit_method": ErrorCase(
        404, "bad_endpoint", lambda w: w.send("GET", "/audit/v1/nope", w.live.read_token)
    ),
    "unknown_api_version": ErrorCase(
        404, "bad_endpoint", lambda w: w.send("GET", "/audit/v2/logs", w.live.read_token)
    ),
    "post_on_logs": ErrorCase(
        405, "method_not_allowed", lambda w: w.send("POST", LOGS, w.live.read_token)
    ),
    "delete_on_schemas": ErrorCase(
        405, "method_not_allowed", lambda w: w.send("DELETE", "/audit/v1/schemas")
    ),
    "get_on_ingest": ErrorCase(
        405, "method_not_allowed", lambda w: w.send("GET", INGEST, w.live.write_token)
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_error_has_the_one_shape(
    name: str, live_server_factory: Callable[..., LiveServer], catalog: Catalog
) -> None:
    case = CASES[name]
    world = build_world(live_server_factory(**case.server), catalog)
    reply = case.call(world)
    assert reply.status == case.status, reply.body
    assert reply.headers["content-type"] == JSON
    assert reply.body.startswith(b"{")
    body = json.loads(reply.body)
    assert reply.body == json.dumps(body, separators=(",", ":")).encode(), "compact JSON"
    assert set(body) == ERROR_KEYS | case.extra_keys
    assert body["ok"] is False
    assert body["error"] == case.code
    if case.code == "rate_limited":
        retry_after = reply.headers["retry-after"]
        assert retry_after.isdigit()
        assert int(retry_after) >= 1
    if case.code == "missing_scope":
        assert body["needed"] == "auditlogs:write"
        assert body["provided"] == "auditlogs:read"
    if case.code == "invalid_events":
        assert body["accepted"] == 0
        assert [r["index"] for r in body["rejected"]] == [0, 1]


def test_every_error_code_of_the_table_is_walked() -> None:
    """A new entry of the error table without a case here fails this test."""
    walked = {case.code for case in CASES.values()}
    internal = {"not_found", "already_exists", "service_unavailable"}  # not reachable over HTTP
    assert {code for _, _, code in ERROR_TABLE} - internal <= walked


# --- fuzzing /audit/v1/logs ----------------------------------------------------------------------

PARAMETERS = ("oldest", "latest", "limit", "action", "actor", "entity", "cursor")


def numbers() -> st.SearchStrategy[str]:
    """Numbers as clients (and attackers) write them; exponents stay below 10**400."""
    return st.one_of(
        st.integers(min_value=-(10**30), max_value=10**400).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
        st.tuples(st.integers(-9, 9), st.integers(-400, 400)).map(lambda t: f"{t[0]}e{t[1]}"),
        st.sampled_from(["1.566215192e+09", "0x10", "1_000", "  7 ", "+5", "-0", "NaN", "sNaN"]),
    )


def values() -> st.SearchStrategy[str]:
    escapes = st.sampled_from(["%", "%2", "%zz", "%00", "%ff", "%C3%A9", "%3D", "%2C", "%26", "+"])
    return st.one_of(
        numbers(),
        st.text(max_size=40),
        st.lists(st.one_of(escapes, st.text(max_size=5)), max_size=8).map("".join),
        st.sampled_from(["user_login", "user_login,file_downloaded", ",", "U0ANN", "=" * 5]),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789-_=", max_size=80),
    )


def query_strings() -> st.SearchStrategy[str]:
    keys = st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=12))
    pairs = st.lists(st.tuples(keys, values()), max_size=8)
    return pairs.map(lambda ps: "&".join(f"{k}={v}" for k, v in ps))


def on_the_wire(query: str) -> str:
    """Percent-encode what no HTTP client may put in a URL (controls, space, quotes)."""
    unsafe = {chr(c) for c in range(0x21)} | set('"<>\\^`{|}\x7f')
    return "".join(
        "".join(f"%{b:02X}" for b in ch.encode()) if ch in unsafe else ch for ch in query
    )


@pytest.fixture
def fuzz_world(live_server: LiveServer, catalog: Catalog) -> World:
    return build_world(live_server, catalog)


@pytest.fixture
def fuzz_client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=query_strings())
def test_arbitrary_query_strings_get_a_page_or_the_error_shape(
    fuzz_world: World, fuzz_client: httpx.Client, query: str
) -> None:
    live = fuzz_world.live
    url = httpx.URL(f"{live.url}{LOGS}?{on_the_wire(query)}")
    r = fuzz_client.get(url, headers={"Authorization": f"Bearer {live.read_token}"})
    assert r.status_code != 500, (query, r.content)
    assert r.headers["content-type"] == JSON
    assert r.content.startswith(b"{")
    body = json.loads(r.content)
    event(f"{r.status_code} {body.get('error', 'page')}")
    if r.status_code == 200:
        assert list(body) == ["entries", "response_metadata"]
        assert isinstance(body["entries"], list)
        assert isinstance(body["response_metadata"]["next_cursor"], str)
    else:
        assert set(body) == ERROR_KEYS, body
        assert body["ok"] is False
        assert body["error"] in KNOWN_ERRORS.get(r.status_code, set()), (r.status_code, body)
