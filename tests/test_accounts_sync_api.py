"""The directory sync API for the host platform: idempotent upserts, confined to the token's
organization, every error in the one shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conftest import ORG, OTHER_ORG, LiveServer
from oauth_world import (
    PROXY_VARIABLES,
    Site,
    events_of,
    make_site,
    shared_server,
)
from trailkeeper.directory import admin
from trailkeeper.directory.records import ADMIN_SCOPE


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk reads proxies from the environment; the server is on loopback."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site(live_server_factory: Callable[..., LiveServer]) -> Site:
    return make_site(live_server_factory())


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with shared_server(tmp_path_factory.mktemp("shared")) as found:
        yield found


# --- the directory sync API ----------------------------------------------------------------------

SYNC = {
    "workspaces": [{"id": "T0NEW", "name": "New WS", "domain": "new-ws"}],
    "users": [{"id": "U0NEW", "name": "Nia New", "email": "nia@acme.example", "role": "member"}],
}


def sync_call(site: Site, token: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return site.post("/admin/v1/directory.sync", headers=headers, **kwargs)


def test_the_directory_sync_api_upserts_idempotently(site: Site) -> None:
    token, _ = admin.issue_token(site.live.store, ORG, frozenset({ADMIN_SCOPE}), "platform")
    assert token.startswith("tka-")
    first = sync_call(site, token, json=SYNC)
    assert first.status_code == 200
    assert first.json() == {
        "ok": True,
        "workspaces": {"created": 1, "updated": 0, "unchanged": 0},
        "users": {"created": 1, "updated": 0, "unchanged": 0},
    }
    again = sync_call(site, token, json=SYNC)
    assert again.json()["users"] == {"created": 0, "updated": 0, "unchanged": 1}
    [created] = [
        e
        for e in events_of(site.live.store, "user_created")
        if e["entity"]["user"]["id"] == "U0NEW"
    ]
    assert created["context"]["ip_address"] == "127.0.0.1"
    assert site.live.store.get_workspace("T0NEW") is not None


@pytest.mark.parametrize(
    ("token_kind", "body", "status", "code"),
    [
        (None, SYNC, 401, "missing_authentication"),
        ("read", SYNC, 403, "missing_scope"),
        ("bogus", SYNC, 401, "invalid_authentication"),
        ("admin", b"{not json", 400, "invalid_payload"),
        ("admin", {"users": [{"id": "bad"}]}, 400, "invalid_arguments"),
        ("admin", b"[" + b" " * 2048 + b"]", 413, "request_too_large"),
    ],
)
def test_directory_sync_errors_have_the_one_shape(
    shared_site: Site, token_kind: str | None, body: object, status: int, code: str
) -> None:
    site, store = shared_site, shared_site.live.store
    tokens = {
        "read": site.live.read_token,
        "bogus": "tka-bogus",
        "admin": admin.issue_token(store, ORG, frozenset({ADMIN_SCOPE}), "p")[0],
    }
    payload = {"content": body} if isinstance(body, bytes) else {"json": body}
    reply = sync_call(site, tokens.get(token_kind or ""), **payload)
    assert reply.status_code == status
    answer = reply.json()
    assert (answer["ok"], answer["error"]) == (False, code)
    extra = set(answer) - {"ok", "error"}
    if code == "invalid_arguments":
        assert extra == {"response_metadata"}
        assert answer["response_metadata"]["messages"][0].startswith("[ERROR] users[0]")
    elif code == "missing_scope":
        assert extra == {"needed", "provided"}
        assert answer["needed"] == ADMIN_SCOPE
    else:
        assert extra == set()


def test_a_platform_cannot_take_over_another_organizations_people(site: Site) -> None:
    token, _ = admin.issue_token(site.live.store, OTHER_ORG, frozenset({ADMIN_SCOPE}), "other")
    takeover = {
        "users": [
            {"id": site.world.owner.id, "name": "Mine", "email": "m@o.example", "role": "owner"}
        ]
    }
    reply = sync_call(site, token, json=takeover)
    assert reply.status_code == 409
    assert reply.json() == {"ok": False, "error": "already_exists"}
    stolen_login = {
        "users": [{"id": "U0NEW", "name": "N", "email": site.world.owner.email, "role": "owner"}]
    }
    assert sync_call(site, token, json=stolen_login).status_code == 409
    owner = site.live.store.get_user(site.world.owner.id)
    assert owner is not None
    assert (owner.org_id, owner.role) == (ORG, "owner")
