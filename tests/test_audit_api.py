"""The wire contract of `GET /audit/v1/logs`, `/schemas` and `/actions`, spoken with httpx.

Envelope bytes, paging rules, cursor encoding and request tolerance as the Slack clients need
them (spec/slack-audit-api.md §1, §6; spec/client-contract.md §4).
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import BASE_TIME, ORG, WS_A, WS_B, LiveServer, make_event
from trailkeeper.catalog import Catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.events import canonical_bytes
from trailkeeper.ingest import Ingestor
from trailkeeper.query import LogFilter

JSON = "application/json; charset=utf-8"
LOGS = "/audit/v1/logs"
CURSOR_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+=*$")  # contract §4.1.9
ACTIONS = ("user_login", "user_logout", "role_change_to_admin", "user_created")
ACTORS = ("U0ANN", "U0BOB", "U0CAT")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Row:
    """What the test appended: id, second, append order, action and actor."""

    id: str
    date_create: int
    seq: int
    action: str
    actor: str


def seconds() -> list[int]:
    """73 events: singles over three days, pairs, a burst of 12 and a burst of 9."""
    dates = [BASE_TIME + 3600 * i for i in range(40)]
    dates += [BASE_TIME + 3600 * i for i in range(0, 40, 4)]  # ten seconds with two events
    dates += [BASE_TIME + 3600 * 10 + 7] * 12 + [BASE_TIME + 3600 * 30 + 1] * 9
    dates += [BASE_TIME + 86400 * 3 + i for i in (0, 1, 1)]
    return dates


def seed(store: Any, catalog: Catalog) -> list[Row]:
    """Append the events out of date order; return them newest first, as the API must."""
    dates = seconds()
    order = sorted(range(len(dates)), key=lambda i: (i * 37) % len(dates))
    events, rows = [], []
    for n in order:
        action, actor = ACTIONS[n % len(ACTIONS)], ACTORS[n % len(ACTORS)]
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailkeeper-api/{n}"))
        location = WS_A if n % 2 else WS_B
        events.append(
            make_event(action, actor=actor, date=dates[n], location=location, id=event_id)
        )
        rows.append((event_id, dates[n], action, actor))
    ingestor = Ingestor(store, catalog, LocationIndex(store), max_event_bytes=65536)
    prepared, rejected = ingestor.prepare(events)
    assert rejected == []
    seq = {o.id: o.seq for o in store.append(prepared)}
    seeded = [Row(i, d, seq[i], a, u) for i, d, a, u in rows]
    return sorted(seeded, key=lambda r: (r.date_create, r.seq), reverse=True)


@dataclass
class Api:
    """A live server with seeded events and an httpx client holding the read token."""

    live: LiveServer
    rows: list[Row]
    client: httpx.Client

    def get(self, path: str, token: str | None = "", **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        token = self.live.read_token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.get(path, headers=headers, **kwargs)

    def logs(self, params: Any = None, token: str | None = "", **kwargs: Any) -> httpx.Response:
        return self.get(LOGS, token, params=params, **kwargs)

    def raw_logs(self, query: str) -> httpx.Response:
        return self.get(f"{LOGS}?{query}")

    def ids(self, **where: Any) -> list[str]:
        oldest, latest = where.get("oldest", 0), where.get("latest", 2**40)
        return [
            r.id
            for r in self.rows
            if oldest <= r.date_create <= latest
            and where.get("actor", r.actor) == r.actor
            and r.action in where.get("actions", (r.action,))
        ]


def make_api(live: LiveServer, catalog: Catalog) -> Iterator[Api]:
    rows = seed(live.store, catalog)
    with httpx.Client(base_url=live.url, trust_env=False, timeout=10) as client:
        yield Api(live, rows, client)


@pytest.fixture
def api(live_server: LiveServer, catalog: Catalog) -> Iterator[Api]:
    yield from make_api(live_server, catalog)


@pytest.fixture
def splitting_api(
    live_server_factory: Callable[..., LiveServer], catalog: Catalog
) -> Iterator[Api]:
    """A server allowed to extend a page by only 3 entries, so big seconds are split."""
    yield from make_api(live_server_factory(max_same_second_extension=3), catalog)


def split_entries(raw: bytes) -> list[bytes]:
    """The exact bytes of each entry of a /logs body."""
    text = raw.decode()
    prefix = '{"entries":['
    assert text.startswith(prefix)
    decoder, pos, out = json.JSONDecoder(), len(prefix), []
    while text[pos] != "]":
        _, end = decoder.raw_decode(text, pos)
        out.append(text[pos:end].encode())
        pos = end + 1 if text[end] == "," else end
    assert text[pos:].startswith('],"response_metadata":{"next_cursor":"')
    return out


def page_of(response: httpx.Response) -> tuple[list[str], str]:
    assert response.status_code == 200, response.content
    body = response.json()
    return [e["id"] for e in body["entries"]], body["response_metadata"]["next_cursor"]


def drain(api: Api, params: dict[str, Any], max_pages: int = 500) -> tuple[list[str], list[str]]:
    """All ids of a cursor drain and the cursors seen, checking every page's envelope."""
    ids: list[str] = []
    cursors: list[str] = []
    cursor = ""
    for _ in range(max_pages):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.logs(query)
        body = response.json()
        assert "next_cursor" in body["response_metadata"]
        page, cursor = page_of(response)
        assert isinstance(cursor, str)
        assert page or cursor == "", "never an empty page with a non-empty cursor"
        ids += page
        if not cursor:
            return ids, cursors
        cursors.append(cursor)
    raise AssertionError("the drain did not end")


# --- the envelope --------------------------------------------------------------------------------


def test_success_is_compact_json_without_ok(api: Api) -> None:
    response = api.logs({"limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    raw = response.content
    assert raw.startswith(b'{"entries":[{"id":"')
    body = json.loads(raw)
    assert raw == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert list(body) == ["entries", "response_metadata"]
    assert "ok" not in body
    assert list(body["entries"][0])[:3] == ["id", "date_create", "action"]
    assert isinstance(body["entries"][0]["date_create"], int)


def test_an_empty_result_is_an_empty_list_and_an_empty_cursor(api: Api) -> None:
    response = api.logs({"actor": "U0NOBODY"})
    assert response.content == b'{"entries":[],"response_metadata":{"next_cursor":""}}'


DRAINS: tuple[dict[str, Any], ...] = (
    {"limit": 1},
    {"limit": 2},
    {"limit": 5},
    {"limit": 11},
    {},
    {"limit": 2, "actor": "U0BOB"},
    {"limit": 1, "action": "user_login,user_created"},
    {"limit": 3, "oldest": BASE_TIME + 3600 * 10 + 7, "latest": BASE_TIME + 3600 * 30 + 1},
)


def expected_for(api: Api, params: dict[str, Any]) -> list[str]:
    where: dict[str, Any] = {k: v for k, v in params.items() if k in ("actor", "oldest", "latest")}
    if "action" in params:
        where["actions"] = tuple(params["action"].split(","))
    return api.ids(**where)


def test_drains_get_everything_once_and_end_with_an_empty_cursor(api: Api) -> None:
    for params in DRAINS:
        ids, cursors = drain(api, params)
        assert ids == expected_for(api, params), params
        assert all(CURSOR_ALPHABET.match(c) for c in cursors), cursors


def test_a_page_holds_the_whole_last_second(api: Api) -> None:
    burst = BASE_TIME + 3600 * 10 + 7
    ids, cursor = page_of(api.logs({"latest": burst, "limit": 2}))
    assert ids == api.ids(oldest=burst, latest=burst)
    assert len(ids) == 12
    assert cursor


def test_a_second_larger_than_the_extension_is_split_without_loss(splitting_api: Api) -> None:
    for limit in (1, 2, 5):
        ids, cursors = drain(splitting_api, {"limit": limit})
        assert ids == splitting_api.ids()
        assert all(CURSOR_ALPHABET.match(c) for c in cursors)
    burst = BASE_TIME + 3600 * 10 + 7
    page, cursor = page_of(splitting_api.logs({"latest": burst, "limit": 2}))
    assert len(page) == 2 + 3
    assert cursor


# --- request tolerance ---------------------------------------------------------------------------


def entries_part(raw: bytes) -> bytes:
    """The body without the cursor (a cursor carries its issue time)."""
    return raw[: raw.rindex(b',"response_metadata"')]


def test_unknown_parameters_are_ignored(api: Api) -> None:
    plain = api.logs({"limit": 5, "oldest": BASE_TIME})
    extra = api.logs(
        {
            "limit": 5,
            "oldest": BASE_TIME,
            "max_date_seen_so_far": 0,
            "inclusive": "True",
            "order": "ascending",
            "token": "xoxp-ignored",
        }
    )
    assert extra.status_code == 200
    assert entries_part(extra.content) == entries_part(plain.content)


def test_empty_values_mean_absent(api: Api) -> None:
    plain = api.logs()
    empty = api.raw_logs("action=&cursor=&actor=&entity=&oldest=&latest=&limit=")
    assert empty.status_code == 200
    assert entries_part(empty.content) == entries_part(plain.content)
    assert page_of(empty)[0] == api.ids()[: len(page_of(empty)[0])]


def test_commas_raw_or_encoded_are_the_same_list(api: Api) -> None:
    raw = api.raw_logs("action=user_login,user_created&limit=100")
    encoded = api.raw_logs("action=user_login%2Cuser_created&limit=100")
    assert entries_part(raw.content) == entries_part(encoded.content)
    assert page_of(raw)[0] == api.ids(actions=("user_login", "user_created"))


def test_bounds_are_inclusive_and_decimals_round_inward(api: Api) -> None:
    second = BASE_TIME + 3600 * 30 + 1
    exact = page_of(api.logs({"oldest": second, "latest": second}))[0]
    assert exact == api.ids(oldest=second, latest=second)
    assert len(exact) == 9
    inward = page_of(api.logs({"oldest": f"{second - 0.5}", "latest": f"{second + 0.99999}"}))[0]
    assert inward == exact
    later = page_of(api.logs({"oldest": f"{second + 0.5}", "latest": second + 3600}))[0]
    assert later == api.ids(oldest=second + 1, latest=second + 3600)
    scientific = page_of(api.logs({"oldest": "1.7e9", "limit": 9999}))[0]
    assert scientific == api.ids()


@pytest.mark.parametrize("limit", [2, 9999])
def test_sumo_style_decimal_latest_paging_loses_nothing(api: Api, limit: int) -> None:
    """Sumo Logic never sends a cursor: it pages with latest = last date_create - 0.00001."""
    collected: list[str] = []
    latest: float | None = None
    for _ in range(200):
        params: dict[str, Any] = {"oldest": BASE_TIME, "inclusive": "True", "limit": limit}
        if latest is not None:
            params["latest"] = str(latest)
        body = api.logs(params).json()
        collected += [e["id"] for e in body["entries"]]
        if not body["response_metadata"]["next_cursor"]:
            break
        latest = body["entries"][-1]["date_create"] - 0.00001
    assert collected == api.ids()


def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        response = api.client.get(
            LOGS, params={"limit": 1}, headers={"Authorization": f"{scheme} {api.live.read_token}"}
        )
        assert response.status_code == 200, scheme


TOLERATED_HEADERS: tuple[dict[str, str], ...] = (
    {},
    {"Content-Type": "application/json;charset=utf-8"},  # slack_sdk, on a body-less GET
    {"Content-Type": "application/x-www-form-urlencoded"},  # slack-go
    {"Accept": "application/json", "User-Agent": "Scuba-Microsoft"},  # Sentinel
    {"Accept": "text/html", "User-Agent": "Go-http-client/1.1"},
)


def test_no_accept_header_needed_and_content_type_on_get_tolerated(api: Api) -> None:
    """http.client sends no Accept header at all, like slack_sdk's sync client."""
    for headers in TOLERATED_HEADERS:
        conn = http.client.HTTPConnection(api.live.url.removeprefix("http://"), timeout=10)
        try:
            conn.request(
                "GET",
                f"{LOGS}?limit=2",
                headers={"Authorization": f"Bearer {api.live.read_token}", **headers},
            )
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, headers
        assert response.getheader("Content-Type") == JSON
        assert body.startswith(b'{"entries":[{')


@pytest.mark.parametrize("path", ["schemas", "actions"])
def test_schemas_and_actions_need_no_valid_token(api: Api, path: str) -> None:
    answers = []
    for prefix in ("/audit/v1", "/api/audit/v1"):
        answers += [
            api.get(f"{prefix}/{path}", None),
            api.get(f"{prefix}/{path}", "dummy"),
            api.get(f"{prefix}/{path}"),
            api.get(f"{prefix}/{path}", None, headers={"Authorization": "Basic eDp5"}),
        ]
    for response in answers:
        assert response.status_code == 200
        assert response.headers["content-type"] == JSON
        assert response.content == answers[0].content
    start = b'{"schemas":[{' if path == "schemas" else b'{"actions":{'
    assert answers[0].content.startswith(start)
    body = answers[0].json()
    assert "ok" not in body
    if path == "actions":
        assert {"workspace_or_org", "user", "file", "channel", "app"} <= set(body["actions"])
        assert all(isinstance(v, list) for v in body["actions"].values())
    else:
        assert all(set(s) == {"type", s["type"]} for s in body["schemas"])


def test_the_api_prefix_alias_serves_the_same_logs(api: Api) -> None:
    plain = api.logs({"limit": 4})
    alias = api.get("/api/audit/v1/logs", params={"limit": 4})
    assert alias.status_code == 200
    assert entries_part(alias.content) == entries_part(plain.content)
    cursor = page_of(alias)[1]
    assert page_of(api.logs({"limit": 4, "cursor": cursor}))[0] == api.ids()[4:8]


# --- cursors -------------------------------------------------------------------------------------


def first_cursor(api: Api, limit: int = 3) -> str:
    ids, cursor = page_of(api.logs({"limit": limit}))
    assert ids == api.ids()[:limit]
    assert CURSOR_ALPHABET.match(cursor)
    assert not {"+", "/", "%", "&", "#", " "} & set(cursor)
    return cursor


def test_a_cursor_with_padding_left_on_still_works(api: Api) -> None:
    """Slack cursors end in `=`; clients send `%3D`, and some encode it twice."""
    cursor = first_cursor(api)
    expected = page_of(api.raw_logs(f"limit=3&cursor={cursor}"))[0]
    assert expected == api.ids()[3:6]
    for suffix in ("%3D", "%3D%3D", "%253D", "=", "==", "%253D%253D"):
        assert page_of(api.raw_logs(f"limit=3&cursor={cursor}{suffix}"))[0] == expected, suffix


def test_a_cursor_changed_anywhere_is_invalid(api: Api) -> None:
    cursor = first_cursor(api)
    # The last character also carries padding bits that base64 ignores; every other one counts.
    variants = [
        cursor[:i] + ("B" if c == "A" else "A") + cursor[i + 1 :] for i, c in enumerate(cursor[:-1])
    ]
    variants += [cursor[:-4], cursor + "AAAA", cursor[::-1], "A" * len(cursor)]
    for variant in variants:
        response = api.logs({"limit": 3, "cursor": variant})
        assert response.status_code == 400, variant
        assert response.json() == {"ok": False, "error": "invalid_cursor"}


def test_a_cursor_is_valid_for_another_page_size_and_filters(api: Api) -> None:
    cursor = first_cursor(api, limit=3)
    assert page_of(api.logs({"limit": 9999, "cursor": cursor}))[0] == api.ids()[3:]
    only_bob = page_of(api.logs({"limit": 9999, "cursor": cursor, "actor": "U0BOB"}))[0]
    assert only_bob == [i for i in api.ids(actor="U0BOB") if i not in api.ids()[:3]]


# --- limits, bytes, methods ----------------------------------------------------------------------


def test_out_of_range_limits_are_clamped(api: Api) -> None:
    """Slack: invalid `limit` values are "magically adjusted"; the maximum is 9999."""
    for given, same_as in (("0", 1), ("-3", 1), ("10000", 9999), ("99999999", 9999), ("2.9", 2)):
        clamped = api.raw_logs(f"limit={given}")
        reference = api.logs({"limit": same_as})
        assert clamped.status_code == 200, given
        assert entries_part(clamped.content) == entries_part(reference.content), given


def test_default_page_size_applies_without_limit(
    live_server_factory: Callable[..., LiveServer], catalog: Catalog
) -> None:
    for api in make_api(live_server_factory(default_page_limit=4), catalog):
        ids, cursor = page_of(api.logs())
        assert ids == api.ids()[:4]
        assert cursor


def test_same_ids_serialize_to_identical_bytes_across_calls(api: Api) -> None:
    seen: dict[str, bytes] = {}
    for params in ({"limit": 9999}, {"limit": 1}, {"limit": 7, "actor": "U0ANN"}, {}):
        cursor = ""
        while True:
            response = api.logs({**params, **({"cursor": cursor} if cursor else {})})
            for raw in split_entries(response.content):
                event_id = json.loads(raw)["id"]
                assert seen.setdefault(event_id, raw) == raw, event_id
            cursor = page_of(response)[1]
            if not cursor:
                break
    assert set(seen) == set(api.ids())
    first, second = api.logs({"limit": 9999}), api.logs({"limit": 9999})
    assert first.content == second.content


def test_stored_bytes_are_served_exactly(api: Api) -> None:
    odd = make_event(
        "user_created",
        actor="U0ZOE",
        date=BASE_TIME + 86400 * 4,
        details={"zeta": "ünïcødé ✓", "alpha": [3, 2, 1], "nested": {"b": 1, "a": None}},
    )
    odd = {key: odd[key] for key in reversed(list(odd))}  # a producer's own key order
    posted = api.client.post(
        "/ingest/v1/events",
        content=json.dumps([odd]).encode(),
        headers={"Authorization": f"Bearer {api.live.write_token}"},
    )
    assert posted.status_code == 200, posted.content
    event_id = posted.json()["ids"][0]
    stored = api.live.store.scan(ORG, LogFilter(), None, 10_000)
    response = api.logs({"limit": 9999})
    assert split_entries(response.content) == [row.body for row in stored]
    assert response.content.startswith(b'{"entries":[' + b",".join(r.body for r in stored) + b"]")
    served = split_entries(api.logs({"limit": 1}).content)[0]
    expected = canonical_bytes({**odd, "id": event_id, "context": json.loads(served)["context"]})
    assert served == expected
    assert "ünïcødé ✓".encode() in served


def test_post_on_logs_is_method_not_allowed(api: Api) -> None:
    response = api.client.post(LOGS, headers={"Authorization": f"Bearer {api.live.read_token}"})
    assert response.status_code == 405
    assert response.json() == {"ok": False, "error": "method_not_allowed"}


def test_head_on_logs_is_method_not_allowed(api: Api) -> None:
    response = api.client.head(LOGS, headers={"Authorization": f"Bearer {api.live.read_token}"})
    assert response.status_code == 405
    assert response.headers["content-type"] == JSON


def test_a_limit_with_a_huge_exponent_is_clamped_promptly(api: Api) -> None:
    # A liveness guard, not a benchmark: converting Decimal("1e250000") to int before clamping
    # holds the GIL for seconds (and forever for 1e999999999); clamped first it takes microseconds.
    response = api.client.get(
        LOGS,
        params={"limit": "1e250000"},
        headers={"Authorization": f"Bearer {api.live.read_token}"},
        timeout=0.5,
    )
    assert response.status_code == 200
    assert page_of(response)[0] == api.ids()
