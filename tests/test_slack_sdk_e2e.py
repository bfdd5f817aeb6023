"""End to end: the unmodified slack_sdk audit clients (sync and async) against a live server.

A few hundred events (bursts of 40+ in one second, others spread over days, two organizations)
are appended through the ingestor; every drain is compared with the expected ids computed from
the seeded data alone: no duplicates, no loss, newest first.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.audit_logs import AuditLogsClient
from slack_sdk.audit_logs.async_client import AsyncAuditLogsClient
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_B, WS_OTHER, LiveServer, make_event, user
from trailkeeper.catalog import Catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)
ACTORS = ("U0ANN", "U0BOB", "U0CAT", "U0DAN")
FILES = ("F0REPORT", "F0SLIDES")
CHANNELS = ("C0GENERAL", "C0RANDOM", "C0SECRET")
USER_ACTIONS = ("user_login", "user_logout", "role_change_to_admin")
FILE_ACTIONS = ("file_downloaded", "file_uploaded")
CHANNEL_ACTIONS = ("public_channel_created", "user_channel_join")
CURSOR_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+=*$")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk reads proxies from the environment; the server is on loopback."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- the seeded data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """What the test knows about one appended event, independently of the server."""

    id: str
    org: str
    seq: int
    date_create: int
    action: str
    actor: str
    entity: str
    location: str


@dataclass(frozen=True)
class Dataset:
    """The events of both organizations and the seconds holding the big bursts."""

    events: tuple[Seeded, ...]
    bursts: tuple[int, ...]

    def of(self, org: str) -> list[Seeded]:
        return [e for e in self.events if e.org == org]

    def expected(self, org: str = ORG, **params: Any) -> list[str]:
        """Ids a drain with these /logs parameters must return, newest first."""
        chosen = [e for e in self.of(org) if matches(e, params)]
        chosen.sort(key=lambda e: (e.date_create, e.seq), reverse=True)
        return [e.id for e in chosen]


def matches(event: Seeded, params: dict[str, Any]) -> bool:
    """The documented filter semantics: exact matches, AND-combined, inclusive bounds."""
    actions = params.get("action")
    if actions and event.action not in str(actions).split(","):
        return False
    if params.get("actor") and event.actor != params["actor"]:
        return False
    if params.get("entity") and event.entity != params["entity"]:
        return False
    if params.get("oldest") is not None and event.date_create < int(params["oldest"]):
        return False
    return not (params.get("latest") is not None and event.date_create > int(params["latest"]))


def entity_of(action: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """An entity fitting the action, and its id."""
    if action in FILE_ACTIONS:
        fid = rng.choice(FILES)
        file = {"id": fid, "name": f"{fid.lower()}.pdf", "filetype": "pdf", "title": fid}
        return fid, {"type": "file", "file": file}
    if action in CHANNEL_ACTIONS:
        cid = rng.choice(CHANNELS)
        channel = {
            "id": cid,
            "name": cid.lower(),
            "privacy": "public",
            "is_shared": False,
            "is_org_shared": False,
        }
        return cid, {"type": "channel", "channel": channel}
    uid = rng.choice(ACTORS)
    return uid, {"type": "user", "user": user(uid)}


def event_spec(
    org: str, n: int, date: int, rng: random.Random, locations: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One Slack-shaped event and what the test remembers of it."""
    action = rng.choice(USER_ACTIONS + FILE_ACTIONS + CHANNEL_ACTIONS)
    actor = rng.choice(ACTORS)
    entity_id, entity = entity_of(action, rng)
    location = rng.choice(locations)
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailkeeper-e2e/{org}/{n}"))
    event = make_event(
        action, actor=actor, date=date, location=location, entity=entity, id=event_id
    )
    facts = {
        "id": event_id,
        "org": org,
        "date_create": date,
        "action": action,
        "actor": actor,
        "entity": entity_id,
        "location": location,
    }
    return event, facts


def build_events(
    rng: random.Random,
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], tuple[int, int]]:
    """~315 events of this organization over about five days plus 70 of the other one."""
    ours, date, dates = [], BASE_TIME, []
    for _ in range(230):
        if len(dates) % 9 != 4:  # every ninth event shares its second with the one before
            date += rng.randint(60, 4000)
        dates.append(date)
    burst_a, burst_b = dates[60], dates[150] + 1  # one joins a second that has events already
    dates += [burst_a] * 45 + [burst_b] * 41
    locations = (WS_A, WS_B, ORG)
    ours = [event_spec(ORG, n, d, rng, locations) for n, d in enumerate(dates)]
    other_dates = [burst_a] * 25 + [BASE_TIME + rng.randint(0, 500_000) for _ in range(45)]
    theirs = [event_spec(OTHER_ORG, n, d, rng, (WS_OTHER,)) for n, d in enumerate(other_dates)]
    both = ours + theirs
    rng.shuffle(both)  # append order differs from date order
    return both, (burst_a, burst_b)


def seed(store: Any, catalog: Catalog, seed_value: int = 7) -> Dataset:
    """Append the dataset through the ingestor's validation and the store's append."""
    specs, bursts = build_events(random.Random(seed_value))
    ingestor = Ingestor(store, catalog, LocationIndex(store), max_event_bytes=65536)
    prepared, rejected = ingestor.prepare([event for event, _ in specs])
    assert rejected == []
    outcomes = store.append(prepared)
    seq = {o.id: o.seq for o in outcomes}
    assert not any(o.duplicate for o in outcomes)
    events = tuple(Seeded(seq=seq[facts["id"]], **facts) for _, facts in specs)
    return Dataset(events, bursts)


@pytest.fixture
def seeded(live_server: LiveServer, catalog: Catalog) -> tuple[LiveServer, Dataset]:
    return live_server, seed(live_server.store, catalog)


# --- draining with the SDK ---------------------------------------------------------------------


def check_page(entries: list[Any], limit: int | None) -> None:
    """A page holds at most `limit` entries, except to keep the last second whole."""
    dates = [e.date_create for e in entries]
    assert dates == sorted(dates, reverse=True), "entries are newest first"
    if limit is not None and len(entries) > limit:
        assert len(set(dates[limit - 1 :])) == 1, "only the last second may exceed the limit"


def check_typed_entry(entry: Any, facts: dict[str, Seeded]) -> None:
    """The typed model parsed the entry and its fields match what was appended."""
    seeded = facts[entry.id]
    assert entry.date_create == seeded.date_create
    assert entry.action == seeded.action
    assert entry.actor.type == "user"
    assert entry.actor.user.id == seeded.actor
    assert entry.actor.user.email == f"{seeded.actor.lower()}@example.com"
    kind = entry.entity.type
    assert getattr(entry.entity, kind).id == seeded.entity
    assert entry.context.location.id == seeded.location
    assert entry.context.location.type in ("workspace", "enterprise")
    assert entry.context.session_id == 1234567
    assert entry.context.ip_address == "81.2.69.160"


@dataclass
class Drain:
    """Everything a full drain saw."""

    ids: list[str]
    pages: list[list[str]]
    cursors: list[str]


def finish_page(response: Any, drain: Drain, facts: dict[str, Seeded], limit: int | None) -> str:
    """Check one SDK response, record it, and return its next cursor."""
    assert response.status_code == 200, response.raw_body
    assert response.raw_body.startswith('{"entries":[')
    assert "ok" not in response.body
    typed = response.typed_body
    for entry in typed.entries:
        check_typed_entry(entry, facts)
    check_page(typed.entries, limit)
    cursor = typed.response_metadata.next_cursor
    assert isinstance(cursor, str)
    if cursor:
        assert typed.entries, "a non-empty cursor never comes with an empty page"
        assert CURSOR_ALPHABET.match(cursor)
        drain.cursors.append(cursor)
    page = [e.id for e in typed.entries]
    drain.pages.append(page)
    drain.ids.extend(page)
    return str(cursor)


def drain_sync(
    client: AuditLogsClient, facts: dict[str, Seeded], max_pages: int = 1000, **params: Any
) -> Drain:
    drain, cursor = Drain([], [], []), None
    for _ in range(max_pages):
        response = client.logs(cursor=cursor, **params)
        cursor = finish_page(response, drain, facts, params.get("limit")) or None
        if cursor is None:
            return drain
    raise AssertionError("the drain did not end")


async def drain_async(
    client: AsyncAuditLogsClient, facts: dict[str, Seeded], max_pages: int = 1000, **params: Any
) -> Drain:
    drain, cursor = Drain([], [], []), None
    for _ in range(max_pages):
        response = await client.logs(cursor=cursor, **params)
        cursor = finish_page(response, drain, facts, params.get("limit")) or None
        if cursor is None:
            return drain
    raise AssertionError("the drain did not end")


def assert_exact(drain: Drain, expected: list[str]) -> None:
    assert len(drain.ids) == len(set(drain.ids)), "no event is served twice"
    assert set(drain.ids) == set(expected), "no event is lost or foreign"
    assert drain.ids == expected, "newest first, ties in a fixed order"


def seconds_stay_on_one_page(drain: Drain, facts: dict[str, Seeded]) -> None:
    page_of: dict[int, int] = {}
    for number, page in enumerate(drain.pages):
        for event_id in page:
            second = facts[event_id].date_create
            assert page_of.setdefault(second, number) == number, f"second {second} was split"


FILTERS: dict[str, Callable[[Dataset], dict[str, Any]]] = {
    "none": lambda d: {},
    "action": lambda d: {"action": "file_downloaded"},
    "action_list": lambda d: {"action": "user_login,public_channel_created,file_uploaded"},
    "actor": lambda d: {"actor": "U0BOB"},
    "entity": lambda d: {"entity": "C0GENERAL"},
    "window": lambda d: {"oldest": d.bursts[0], "latest": d.bursts[1]},
    "combined": lambda d: {
        "action": "user_login,user_logout,file_downloaded,user_channel_join",
        "actor": "U0ANN",
        "oldest": d.bursts[0] - 50_000,
        "latest": d.bursts[1],
    },
}


def sync_client(live: LiveServer, token: str | None = None, **kwargs: Any) -> AuditLogsClient:
    return AuditLogsClient(token=token or live.read_token, base_url=live.audit_base, **kwargs)


def async_client(live: LiveServer, token: str | None = None, **kwargs: Any) -> AsyncAuditLogsClient:
    return AsyncAuditLogsClient(token=token or live.read_token, base_url=live.audit_base, **kwargs)


def facts_of(data: Dataset) -> dict[str, Seeded]:
    return {e.id: e for e in data.events}


# --- the tests ---------------------------------------------------------------------------------


def test_the_dataset_has_bursts_and_spreads_over_days(seeded: tuple[LiveServer, Dataset]) -> None:
    _, data = seeded
    ours = data.of(ORG)
    assert 300 <= len(ours) <= 400
    per_second: dict[int, int] = {}
    for e in ours:
        per_second[e.date_create] = per_second.get(e.date_create, 0) + 1
    assert per_second[data.bursts[0]] > 45
    assert per_second[data.bursts[1]] == 41
    assert max(per_second) - min(per_second) > 4 * 86400
    assert sum(1 for n in per_second.values() if n == 2) >= 10


LIMITS = (1, 2, 9999)


@pytest.mark.parametrize("name", list(FILTERS))
def test_sync_client_drains_exactly_the_matching_events(
    seeded: tuple[LiveServer, Dataset], name: str
) -> None:
    live, data = seeded
    params = FILTERS[name](data)
    expected = data.expected(**params)
    assert expected, "every filter matches something"
    facts = facts_of(data)
    for limit in LIMITS:
        drain = drain_sync(sync_client(live), facts, limit=limit, **params)
        assert_exact(drain, expected)
        seconds_stay_on_one_page(drain, facts)
        if limit == 9999:
            assert len(drain.pages) == 1


@pytest.mark.parametrize("name", ["none", "action_list", "entity", "combined"])
async def test_async_client_drains_exactly_the_matching_events(
    seeded: tuple[LiveServer, Dataset], name: str
) -> None:
    live, data = seeded
    params = FILTERS[name](data)
    facts = facts_of(data)
    for limit in LIMITS:
        drain = await drain_async(async_client(live), facts, limit=limit, **params)
        assert_exact(drain, data.expected(**params))
        seconds_stay_on_one_page(drain, facts)


@pytest.mark.parametrize("burst", [0, 1])
def test_a_page_at_a_burst_returns_the_whole_burst(
    seeded: tuple[LiveServer, Dataset], burst: int
) -> None:
    live, data = seeded
    second = data.bursts[burst]
    response = sync_client(live).logs(latest=second, limit=2)
    assert response.status_code == 200
    entries = response.typed_body.entries
    same_second = [e.id for e in data.of(ORG) if e.date_create == second]
    assert len(same_second) > 40
    assert [e.id for e in entries] == data.expected(latest=second, oldest=second)
    assert response.typed_body.response_metadata.next_cursor != ""


async def test_async_page_at_a_burst_returns_the_whole_burst(
    seeded: tuple[LiveServer, Dataset],
) -> None:
    live, data = seeded
    second = data.bursts[0]
    response = await async_client(live).logs(latest=second, limit=2)
    assert response.status_code == 200
    assert [e.id for e in response.typed_body.entries] == data.expected(
        latest=second, oldest=second
    )


def test_raw_bodies_start_as_slack_s_do(seeded: tuple[LiveServer, Dataset]) -> None:
    live, _ = seeded
    client = sync_client(live)
    logs = client.logs(limit=3)
    assert logs.raw_body.startswith('{"entries":[{')
    schemas, actions = client.schemas(), client.actions()
    assert schemas.status_code == 200
    assert actions.status_code == 200
    assert schemas.raw_body.startswith('{"schemas":[{')
    assert actions.raw_body.startswith('{"actions":{')
    assert {
        "type": "user",
        "user": {"id": "string", "name": "string", "email": "string", "team": "string"},
    } in schemas.body["schemas"]
    assert "user_login" in actions.body["actions"]["user"]
    bogus = AuditLogsClient(token="dummy", base_url=live.audit_base)  # Slack's Java tests do this
    assert bogus.schemas().raw_body == schemas.raw_body
    assert bogus.actions().raw_body == actions.raw_body


async def test_async_raw_bodies_start_as_slack_s_do(seeded: tuple[LiveServer, Dataset]) -> None:
    live, _ = seeded
    client = async_client(live)
    assert (await client.logs(limit=1)).raw_body.startswith('{"entries":[{')
    assert (await client.schemas()).raw_body.startswith('{"schemas":[{')
    assert (await client.actions()).raw_body.startswith('{"actions":{')


TENANCY_PROBES: tuple[dict[str, Any], ...] = (
    {},
    {"actor": "U0ANN"},
    {"entity": "C0GENERAL"},
    {"action": "user_login,file_downloaded"},
    {"oldest": BASE_TIME, "latest": BASE_TIME + 900_000, "actor": "U0BOB", "limit": 3},
)


def test_the_other_organization_never_sees_this_one(seeded: tuple[LiveServer, Dataset]) -> None:
    live, data = seeded
    facts = facts_of(data)
    for probe in TENANCY_PROBES:
        params = {"limit": 7, **probe}
        drain = drain_sync(sync_client(live, live.other_read_token), facts, **params)
        assert {facts[i].org for i in drain.ids} <= {OTHER_ORG}
        assert_exact(drain, data.expected(OTHER_ORG, **params))
        ours = set(data.expected(ORG, **params))
        assert ours, params
        assert not ours & set(drain.ids), params


def test_a_cursor_of_one_organization_is_invalid_for_the_other(
    seeded: tuple[LiveServer, Dataset],
) -> None:
    live, _ = seeded
    cursor = sync_client(live).logs(limit=1).typed_body.response_metadata.next_cursor
    assert cursor
    response = sync_client(live, live.other_read_token).logs(limit=1, cursor=cursor)
    assert response.status_code == 400
    assert response.body == {"ok": False, "error": "invalid_cursor"}
    theirs = sync_client(live, live.other_read_token).logs(limit=1)
    other_cursor = theirs.typed_body.response_metadata.next_cursor
    back = sync_client(live).logs(limit=1, cursor=other_cursor)
    assert back.status_code == 400
    assert back.body == {"ok": False, "error": "invalid_cursor"}


def test_a_cursor_stays_valid_when_oldest_changes(seeded: tuple[LiveServer, Dataset]) -> None:
    """XSOAR recomputes `oldest` on every run and sends it with a stored cursor."""
    live, data = seeded
    facts = facts_of(data)
    client = sync_client(live)
    first_oldest = data.bursts[0] - 40_000
    first = client.logs(oldest=first_oldest, limit=5)
    assert first.status_code == 200
    page = [e.id for e in first.typed_body.entries]
    boundary = facts[page[-1]].date_create
    for shift in (-200_000, -1, 30_000):
        new_oldest = first_oldest + shift
        assert new_oldest < boundary
        rest, cursor = [], first.typed_body.response_metadata.next_cursor
        while cursor:
            response = client.logs(oldest=new_oldest, limit=5, cursor=cursor)
            assert response.status_code == 200, response.raw_body
            rest += [e.id for e in response.typed_body.entries]
            cursor = response.typed_body.response_metadata.next_cursor
        below = [i for i in data.expected(oldest=new_oldest) if facts[i].date_create < boundary]
        assert rest == below, shift
        assert not set(page) & set(rest)


class CountingRetryHandler(RateLimitErrorRetryHandler):
    """The SDK's own handler, counting the retries it asked for."""

    attempts = 0

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        type(self).attempts += 1
        super().prepare_for_next_attempt(**kwargs)


class AsyncCountingRetryHandler(AsyncRateLimitErrorRetryHandler):
    """The SDK's own async handler, counting the retries it asked for."""

    attempts = 0

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        type(self).attempts += 1
        await super().prepare_for_next_attempt_async(**kwargs)


def exhaust(live: LiveServer, client: AuditLogsClient, limit: int = 100) -> Any:
    """Spend the organization's calls until the server answers 429; return that response."""
    for _ in range(limit):
        response = client.logs(limit=1)
        if response.status_code == 429:
            return response
        assert response.status_code == 200
    raise AssertionError("the rate limit never applied")


@pytest.fixture
def limited(live_server_factory: Callable[..., LiveServer], catalog: Catalog) -> LiveServer:
    # 60 a minute refills one call a second, so Retry-After is 1 s and the SDK waits 1-2 s.
    live = live_server_factory(rate_limit_per_minute=60)
    seed(live.store, catalog)
    return live


def test_rate_limit_is_retried_by_the_sdk_handler(limited: LiveServer) -> None:
    plain = sync_client(limited)
    refused = exhaust(limited, plain)
    assert refused.body == {"ok": False, "error": "rate_limited"}
    assert refused.headers["Retry-After"] in ("1", "2")
    assert refused.headers["retry-after"] == refused.headers["Retry-After"]
    CountingRetryHandler.attempts = 0
    patient = sync_client(limited, retry_handlers=[CountingRetryHandler(max_retry_count=3)])
    started = time.monotonic()
    response = patient.logs(limit=2)
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert response.raw_body.startswith('{"entries":[{')
    assert CountingRetryHandler.attempts >= 1
    assert waited >= 1.0, "the handler slept Retry-After seconds before retrying"


async def test_rate_limit_is_retried_by_the_async_sdk_handler(limited: LiveServer) -> None:
    refused = exhaust(limited, sync_client(limited))
    assert refused.status_code == 429
    plain = await async_client(limited).logs(limit=1)
    assert plain.status_code == 429
    assert int(plain.headers["Retry-After"]) in (1, 2)
    AsyncCountingRetryHandler.attempts = 0
    patient = async_client(limited, retry_handlers=[AsyncCountingRetryHandler(max_retry_count=3)])
    started = time.monotonic()
    response = await patient.logs(limit=2)
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert len(response.typed_body.entries) >= 2
    assert AsyncCountingRetryHandler.attempts >= 1
    assert waited >= 1.0


def test_other_organization_is_not_limited_by_this_one(limited: LiveServer) -> None:
    exhaust(limited, sync_client(limited))
    assert sync_client(limited, limited.other_read_token).logs(limit=1).status_code == 200


def test_sdk_surfaces_errors_as_responses(seeded: tuple[LiveServer, Dataset]) -> None:
    live, _ = seeded
    bad = AuditLogsClient(token="xoxp-not-a-token", base_url=live.audit_base).logs(limit=1)
    assert bad.status_code == 401
    assert bad.body == {"ok": False, "error": "invalid_authentication"}
    unknown = sync_client(live).logs(action="no_such_action")
    assert unknown.status_code == 400
    assert unknown.body == {"ok": False, "error": "invalid_action"}
