"""Other real clients of Slack's Audit Logs API, emulated request for request.

Each emulation sends what the client sends (spec/client-contract.md §3: URL shape, headers,
parameters, paging and checkpoint logic) and must collect every seeded event exactly once.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import BASE_TIME, WS_A, WS_B, WS_OTHER, LiveServer, make_event
from trailkeeper.catalog import Catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor

ACTIONS = ("user_login", "user_logout", "role_change_to_admin", "user_created", "anomaly")
BURST = BASE_TIME + 50_001


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Seeded:
    """The events of the organization under test, newest first, and their seconds."""

    ids: list[str]
    date_of: dict[str, int]
    other_ids: set[str]
    appended: int = 0

    @property
    def newest(self) -> int:
        return max(self.date_of.values())


def event_for(n: int, date: int, location: str, tag: str) -> dict[str, Any]:
    action = ACTIONS[n % len(ACTIONS)]
    extra: dict[str, Any] = {}
    if action == "anomaly":
        extra["details"] = {"reason": ["asn", "ip_address"], "action_timestamp": date * 10**6}
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailkeeper-compat/{tag}/{n}"))
    actor = ("U0ANN", "U0BOB", "U0CAT")[n % 3]
    return make_event(action, actor=actor, date=date, location=location, id=event_id, **extra)


def append(store: Any, catalog: Catalog, events: list[dict[str, Any]]) -> dict[str, int]:
    """Append through the ingestor's validation; the id -> seq of every new event."""
    ingestor = Ingestor(store, catalog, LocationIndex(store), max_event_bytes=65536)
    prepared, rejected = ingestor.prepare(events)
    assert rejected == []
    outcomes = store.append(prepared)
    assert not any(o.duplicate for o in outcomes)
    return {o.id: o.seq for o in outcomes}


def seed(store: Any, catalog: Catalog, spread: int = 1100, tag: str = "base") -> Seeded:
    """`spread` events three to a second over about two days, a 45-event burst, another org."""
    ours = [
        event_for(n, BASE_TIME + (n // 3) * 431, (WS_A, WS_B)[n % 2], tag) for n in range(spread)
    ]
    ours += [event_for(spread + n, BURST, WS_A, tag) for n in range(45)]
    theirs = [event_for(n, BASE_TIME + (n // 2) * 431, WS_OTHER, f"{tag}-other") for n in range(80)]
    theirs += [event_for(80 + n, BURST, WS_OTHER, f"{tag}-other") for n in range(20)]
    both = ours + theirs
    random.Random(11).shuffle(both)
    seq = append(store, catalog, both)
    date_of = {e["id"]: e["date_create"] for e in ours}
    ids = sorted(date_of, key=lambda i: (date_of[i], seq[i]), reverse=True)
    return Seeded(ids, date_of, {e["id"] for e in theirs})


@dataclass
class Client:
    """An HTTP client speaking for one of the real consumers."""

    live: LiveServer
    http: httpx.Client
    seeded: Seeded

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.live.read_token}"}

    def get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.get(url, **kwargs)
        assert response.status_code == 200, (url, response.content)
        assert response.content.startswith(b'{"entries":[')
        body: dict[str, Any] = response.json()
        cursor = body["response_metadata"]["next_cursor"]
        assert isinstance(cursor, str)
        assert body["entries"] or cursor == "", "never an empty page with a non-empty cursor"
        return body


def exactly_once(collected: list[str], seeded: Seeded) -> None:
    assert not set(collected) & seeded.other_ids, "never another organization's events"
    assert len(collected) == len(set(collected)), "no event twice"
    assert set(collected) == set(seeded.ids), "no event lost"


@pytest.fixture
def client(live_server: LiveServer, catalog: Catalog) -> Iterator[Client]:
    seeded = seed(live_server.store, catalog)
    with httpx.Client(trust_env=False, timeout=30) as http:
        yield Client(live_server, http, seeded)


def test_grove(client: Client) -> None:
    """hashicorp-forge/grove: `<base>/logs` with the base's slash stripped, limit 1000."""
    base = f"{client.live.url}/audit/v1/".rstrip("/")
    headers = {**client.auth, "Accept": "application/json", "User-Agent": "python-requests/2.31"}
    collected: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"oldest": BASE_TIME - 7 * 86400, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        body = client.get_json(f"{base}/logs", params=params, headers=headers)
        collected += [e["id"] for e in body["entries"]]
        # "Slack appears to return an empty string for a cursor if there isn't one"
        cursor = body.get("response_metadata", {}).get("next_cursor")
        if not cursor:
            break
    exactly_once(collected, client.seeded)
    assert collected == client.seeded.ids  # Grove's pointer assumes newest first


def elastic_sequence(
    client: Client, oldest: int, limit: int, max_seen: int
) -> tuple[list[str], int]:
    """One httpjson cursor sequence: the same `oldest` re-sent on every page."""
    url = f"{client.live.url}/audit/v1/logs"
    collected: list[str] = []
    cursor = ""
    first_event = None
    while True:
        params: dict[str, Any] = {"limit": limit, "max_date_seen_so_far": max_seen}
        params["oldest"] = oldest
        if cursor:
            params["cursor"] = cursor
        body = client.get_json(url, params=params, headers=client.auth)
        entries = body["entries"]
        if first_event is None and entries:
            first_event = entries[0]
        collected += [e["id"] for e in entries]
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            break
    if first_event is not None:
        max_seen = max(max_seen, first_event["date_create"])
    return collected, max_seen


def test_elastic(client: Client, catalog: Catalog) -> None:
    """elastic/integrations httpjson: extra max_date_seen_so_far, oldest repeated with cursor."""
    oldest = BASE_TIME - 30 * 86400
    first, max_seen = elastic_sequence(client, oldest, limit=1, max_seen=0)
    exactly_once(first, client.seeded)
    assert max_seen == client.seeded.newest
    # New events arrive: two in the newest second already read, three later ones.
    late = [event_for(n, max_seen + (0 if n < 2 else 60 + n), WS_A, "late") for n in range(5)]
    append(client.live.store, catalog, late)
    second, _ = elastic_sequence(client, max_seen, limit=9999, max_seen=max_seen)
    newest_second = [i for i in client.seeded.ids if client.seeded.date_of[i] == max_seen]
    assert sorted(second) == sorted(newest_second + [e["id"] for e in late])
    # Elastic deduplicates by _id = fingerprint(event.id): every event once in the index.
    index = set(first) | set(second)
    assert index == set(client.seeded.ids) | {e["id"] for e in late}


def sumo_fetch(
    client: Client, oldest: int, latest: int | float, limit: int
) -> tuple[list[str], int]:
    """sumologic-slack FetchAuditData: never a cursor; pages by a fractional `latest`."""
    url = f"{client.live.url}/audit/v1/" + "logs"
    collected: list[str] = []
    pages = 0
    while pages < 1000:
        pages += 1
        params = {"oldest": oldest, "latest": latest, "inclusive": True, "limit": limit}
        body = client.get_json(url, params=params, headers=client.auth)
        entries = body.get("entries")  # Sumo's success test is `"entries" in result`
        if not entries:
            break
        collected += [e["id"] for e in entries]
        if not body["response_metadata"]["next_cursor"]:
            break
        latest = entries[-1]["date_create"] - 0.00001
    return collected, pages


def test_sumo_logic(live_server_factory: Callable[..., LiveServer], catalog: Catalog) -> None:
    """With limit=9999 paging only happens past 9999 events, so this org holds ~10,600."""
    live = live_server_factory()
    seeded = seed(live.store, catalog, spread=10_500)
    with httpx.Client(trust_env=False, timeout=60) as http:
        client = Client(live, http, seeded)
        collected, pages = sumo_fetch(client, BASE_TIME - 86400, BASE_TIME + 30 * 86400, limit=9999)
        assert pages == 2
        exactly_once(collected, seeded)
        assert collected == seeded.ids
        # True to Sumo's window too: [last + 1, now - 120], here with a small page.
        small, _ = sumo_fetch(client, BURST - 3000, BURST + 3000, limit=2)
        window = [i for i in seeded.ids if BURST - 3000 <= seeded.date_of[i] <= BURST + 3000]
        assert small == window


def test_cortex_xsoar(client: Client) -> None:
    """demisto SlackEventCollector: 200 a page, 1000 a run, the cursor kept across runs and
    `oldest` recomputed ("3 days ago") on every run."""
    url = f"{client.live.url}/audit/v1" + "/logs"
    headers = {**client.auth, "Accept": "application/json"}
    collected: list[str] = []
    last_run: dict[str, Any] = {}
    for run in range(20):
        oldest = BASE_TIME - 3 * 86400 + 60 * run  # "3 days ago", a little later each run
        fetched, cursor = 0, last_run.get("cursor")
        while True:
            params: dict[str, Any] = {"limit": 200, "oldest": oldest}
            if cursor:
                params["cursor"] = cursor
            body = client.get_json(url, params=params, headers=headers)
            collected += [e["id"] for e in body["entries"]]
            fetched += len(body["entries"])
            cursor = body["response_metadata"]["next_cursor"]
            if not cursor or fetched >= 1000:
                break
        last_run = {"cursor": cursor} if cursor else {}
        if not cursor:
            break
    assert run > 0, "the data took several runs"
    exactly_once(collected, client.seeded)


def test_sekoia(client: Client) -> None:
    """SEKOIA automation-library: closed one-hour windows, always oldest/latest/limit."""
    url = f"{client.live.url}/audit/v1/".rstrip("/") + "/logs"
    headers = {**client.auth, "Accept": "application/json"}
    checkpoint = BASE_TIME - 1
    collected: list[str] = []
    while checkpoint < client.seeded.newest:
        oldest = checkpoint + 1
        latest = oldest + 3599
        seen_in_window: set[str] = set()
        cursor = None
        for _ in range(100):
            params: dict[str, Any] = {"oldest": oldest, "latest": latest, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            body = client.get_json(url, params=params, headers=headers)
            for entry in body.get("entries") or []:
                assert oldest <= entry["date_create"] <= latest
                assert entry["id"] not in seen_in_window
                seen_in_window.add(entry["id"])
                collected.append(entry["id"])
            cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        checkpoint = latest
    exactly_once(collected, client.seeded)


def test_chronicle(client: Client) -> None:
    """chronicle/ingestion-scripts: no limit, the cursor appended to the URL unencoded."""
    base = f"{client.live.url}/audit/v1/logs?oldest={BASE_TIME - 300}"
    headers = {**client.auth, "Accept": "application/json", "Content-Type": "application/json"}
    collected: list[str] = []
    url = base
    pages = 0
    while True:
        response = client.http.get(url, headers=headers)
        body = response.json()  # parsed before the status is looked at
        response.raise_for_status()
        pages += 1
        if not body["entries"]:
            break
        collected += [e["id"] for e in body["entries"]]
        cursor = body["response_metadata"]["next_cursor"]  # unguarded
        if not cursor:
            break
        url = base + f"&cursor={cursor}"
    assert pages > 5, "the server's default page size applies"
    exactly_once(collected, client.seeded)
    assert collected == client.seeded.ids


def test_microsoft_sentinel(client: Client) -> None:
    """Azure-Sentinel CCF poller: `action=` empty, limit 999, a window, `%3D` added by hand."""
    headers = {**client.auth, "Accept": "application/json", "User-Agent": "Scuba-Microsoft"}
    window_s = 3 * 86400
    collected: list[str] = []
    cursors_used = 0
    start = BASE_TIME - 60
    while start <= client.seeded.newest:
        base = (
            f"{client.live.url}/audit/v1/logs?action=&limit=999"
            f"&oldest={start}&latest={start + window_s - 1}"
        )
        url = base
        while True:
            body = client.get_json(url, headers=headers)
            collected += [e["id"] for e in body["entries"]]
            cursor = body["response_metadata"]["next_cursor"]
            if not cursor:
                break
            cursors_used += 1
            # The connector hand-encodes the `=` that Slack's cursors end with.
            url = f"{base}&cursor={cursor.rstrip('=')}%3D"
        start += window_s
    assert cursors_used >= 1
    exactly_once(collected, client.seeded)
