"""The demo organization against the real catalog and validation (as a producer would send it),
determinism by seed, and what `seed.py` writes: the history once, the people, the Owner's
password and demo app (rotated, never reprinted), and the signing key and checkpoint.

test_demo.py checks the shapes against Slack's captured files; here every event goes through
`prepare_event` with the organization's token scope, so the demo can never teach a producer
something the ingest API would refuse.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from trailkeeper.catalog import SERVICE_GROUP, Catalog
from trailkeeper.demo import DemoOrganization, demo_events, demo_organization
from trailkeeper.directory import admin
from trailkeeper.directory.passwords import verify_password
from trailkeeper.seed import (
    DEMO_APP_NAME,
    DEMO_CALLBACK,
    demo_checkpoints,
    seed_demo,
    seed_demo_accounts,
)
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import LocationResolver, ResolvedLocation, prepare_event

END = 1_767_225_600  # 2026-01-01T00:00:00Z
BASE_URL = "http://127.0.0.1:8080/"


def resolver_of(org: DemoOrganization) -> LocationResolver:
    known = {("enterprise", org.id): ResolvedLocation(org.id, org.name, org.domain)}
    for ws in org.workspaces:
        known[("workspace", ws.id)] = ResolvedLocation(org.id, ws.name, ws.domain)
    return lambda kind, location_id: known.get((kind, location_id))


@pytest.fixture(scope="module")
def month() -> list[dict[str, object]]:
    return demo_events(demo_organization(7), end=END, days=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A store with the demo organization and its workspaces, but no history yet."""
    s = SQLiteStore(str(tmp_path / "demo.db"))
    s.migrate()
    org = demo_organization()
    admin.create_organization(s, org.id, org.name, org.domain)
    for ws in org.workspaces:
        admin.create_workspace(s, ws.id, org.id, ws.name, ws.domain)
    yield s
    s.close()


# --- the events, through validation ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 8])
def test_every_demo_event_is_accepted_as_a_producer_would_send_it(
    catalog: Catalog, seed: int
) -> None:
    org = demo_organization(seed)
    resolve = resolver_of(org)
    for event in demo_events(org, end=END, days=3, seed=seed):
        prepared = prepare_event(
            event, catalog, resolve, now=END, max_event_bytes=1 << 16, org_scope=org.id
        )
        assert prepared.id == event["id"]
        assert prepared.date_create == event["date_create"]


def test_the_demo_never_uses_the_services_own_actions_or_anomalies(
    catalog: Catalog, month: list[dict[str, object]]
) -> None:
    service = {s.name for s in catalog.groups[SERVICE_GROUP]}
    used = {str(e["action"]) for e in month}
    assert used <= catalog.action_names
    assert not used & (service | {"anomaly"})


def test_every_listed_entity_type_of_the_catalog_appears_in_a_month(
    catalog: Catalog, month: list[dict[str, object]]
) -> None:
    listed = {s.type for s in catalog.schemas if s.listed}
    seen = {e["entity"]["type"] for e in month}  # type: ignore[index]
    assert listed <= seen


def test_app_events_name_their_app_and_have_no_session(month: list[dict[str, object]]) -> None:
    app_events = [e for e in month if "app" in e["context"]]  # type: ignore[operator]
    assert len(app_events) > 100
    for event in app_events:
        context = event["context"]
        assert context["session_id"] is None  # type: ignore[index]
        assert str(context["app"]["id"]).startswith("A")  # type: ignore[index]


def test_a_burst_shares_one_second_and_one_actor_and_action(month: list[dict[str, object]]) -> None:
    per_second = Counter(e["date_create"] for e in month)
    second, size = per_second.most_common(1)[0]
    burst = [e for e in month if e["date_create"] == second]
    assert size == len(burst) > 150
    assert len({str(e["action"]) for e in burst}) <= 2
    assert len({e["id"] for e in burst}) == size


# --- determinism ----------------------------------------------------------------------------------


def test_the_organization_is_a_function_of_its_seed() -> None:
    assert demo_organization(11) == demo_organization(11)
    first, second = demo_organization(11), demo_organization(12)
    assert first.id != second.id
    assert {u.id for u in first.users}.isdisjoint({u.id for u in second.users})
    assert (first.name, first.domain) == (second.name, second.domain)


def test_the_same_seed_and_end_give_the_same_events_byte_for_byte() -> None:
    org = demo_organization(9)
    first = demo_events(org, end=END, days=2, seed=9)
    assert first == demo_events(demo_organization(9), end=END, days=2, seed=9)
    assert [list(e) for e in first] == [list(e) for e in demo_events(org, end=END, days=2, seed=9)]


def test_another_end_moves_the_window() -> None:
    later = demo_events(demo_organization(7), end=END + 86_400, days=2)
    dates = [int(str(e["date_create"])) for e in later]
    assert END - 86_400 <= min(dates) < END < max(dates) <= END + 86_400


@pytest.mark.parametrize("days", [0, -1])
def test_an_empty_or_negative_window_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="days must be positive"):
        demo_events(demo_organization(), end=END, days=days)


def test_an_organization_not_shaped_like_the_demo_is_refused() -> None:
    org = demo_organization()
    no_owner = dataclasses.replace(org, users=tuple(u for u in org.users if u.role != "owner"))
    with pytest.raises(ValueError, match="org must look like demo_organization"):
        demo_events(no_owner, end=END, days=1)


# --- what seed.py writes --------------------------------------------------------------------------


def test_the_accounts_are_the_organizations_people_with_one_owner_who_can_sign_in(
    store: SQLiteStore, catalog: Catalog
) -> None:
    access = seed_demo_accounts(store, BASE_URL)
    org = demo_organization()
    people = store.list_users(org.id)
    assert {u.id for u in people} == {u.id for u in org.users}
    assert [u.id for u in people if u.role == "owner"] == [access.owner.id]
    stored_owner = store.get_user(access.owner.id)
    assert stored_owner is not None
    assert verify_password(stored_owner.password_hash, access.password)
    assert stored_owner.password_hash != access.password


def test_seeding_the_accounts_again_rotates_the_secret_and_password_of_the_same_app(
    store: SQLiteStore,
) -> None:
    first = seed_demo_accounts(store, BASE_URL)
    second = seed_demo_accounts(store, BASE_URL)
    assert second.app.id == first.app.id
    assert second.client_secret != first.client_secret
    assert second.password != first.password
    owner = store.get_user(second.owner.id)
    assert owner is not None
    assert not verify_password(owner.password_hash, first.password)
    assert [a.name for a in store.list_apps()].count(DEMO_APP_NAME) == 1


def test_the_install_url_points_the_app_back_to_the_demo_page(store: SQLiteStore) -> None:
    access = seed_demo_accounts(store, BASE_URL)
    assert list(access.app.redirect_urls) == [BASE_URL.rstrip("/") + DEMO_CALLBACK]
    url = urlsplit(access.install_url)
    assert access.install_url.startswith(BASE_URL.rstrip("/") + "/")
    query = parse_qs(url.query)
    assert query["client_id"] == [access.app.client_id]
    assert access.client_secret not in access.install_url


def test_another_base_url_gets_its_own_demo_app(store: SQLiteStore) -> None:
    here = seed_demo_accounts(store, BASE_URL)
    there = seed_demo_accounts(store, "https://audit.example.com")
    assert here.app.id != there.app.id
    assert list(there.app.redirect_urls) == ["https://audit.example.com" + DEMO_CALLBACK]


def test_the_demo_gets_one_signing_key_and_a_checkpoint_of_its_log(
    store: SQLiteStore, catalog: Catalog
) -> None:
    stored = seed_demo(store, catalog, now=END)
    assert stored == len(demo_events(demo_organization(), end=END))
    assert seed_demo(store, catalog, now=END) == 0
    org_id = demo_organization().id
    vkey = demo_checkpoints(store, "trailkeeper.local", catalog)
    assert vkey.startswith("trailkeeper.local/")
    assert demo_checkpoints(store, "trailkeeper.local", catalog) == vkey
    assert len(store.signing_keys()) == 1
    checkpoint = store.latest_checkpoint(org_id)
    assert checkpoint is not None
    assert checkpoint.tree_size == store.count_events(org_id)
