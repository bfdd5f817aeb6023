"""No secret on any page: every console page, every event page (one per action of the log, so
the console's own records of revocations, installs and keys too), the refusal and sign-in pages
and both exports are rendered and searched for every secret the store and the test know.

Secrets: token values, token hashes, password and password hashes, app client secrets and their
hashes, signing keys' private halves, session cookies.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from console_world import RunningConsole, running_console
from oauth_world import PASSWORD, PageClient, hidden_fields, signed_in_client
from test_more_console_access import Rival, add_rival
from trailkeeper.directory import apps
from trailkeeper.storage.base import Store


@dataclass
class Secrets:
    """Every secret value, by a name saying what it is."""

    values: dict[str, str]

    def found_in(self, text: str) -> list[str]:
        return sorted(name for name, value in self.values.items() if value and value in text)


@dataclass
class Site:
    running: RunningConsole
    rival: Rival
    client_secret: str
    owner: PageClient

    @property
    def store(self) -> Store:
        return self.running.world.store


def byte_forms(name: str, raw: bytes) -> dict[str, str]:
    """A stored secret as hex and as (padded or not) URL-safe and standard base64."""
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    return {
        f"{name} (hex)": raw.hex(),
        f"{name} (base64url)": urlsafe.rstrip("="),
        f"{name} (base64)": base64.b64encode(raw).decode().rstrip("="),
    }


def stored_secrets(store: Store, org_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for org_id in org_ids:
        for token in store.list_tokens(org_id):
            found |= byte_forms(f"token hash {token.id}", token.token_hash)
        for user in store.list_users(org_id):
            if user.password_hash:
                found[f"password hash of {user.id}"] = user.password_hash
    for app in store.list_apps():
        found |= byte_forms(f"client secret hash of {app.id}", app.client_secret_hash)
    for key in store.signing_keys(private=True):
        found[f"private signing key {key.key_id}"] = key.private_key
        body = key.private_key.rsplit("+", 1)[-1]
        found[f"private signing key {key.key_id} (body)"] = body
        seed = base64.b64decode(body + "=" * (-len(body) % 4))[1:]
        found |= byte_forms(f"private signing key {key.key_id} seed", seed)
    return found


def cookies_of(*clients: PageClient) -> dict[str, str]:
    return {
        f"session cookie {i}": value
        for i, client in enumerate(clients)
        for value in client.client.cookies.values()
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_console(tmp_path_factory.mktemp("secrets")) as running:
        rival = add_rival(running.world.store)
        _, client_secret = apps.rotate_secret(running.world.store, running.world.app.id)
        owner = signed_in_client(running.url, running.world.owner.email)
        yield Site(running, rival, client_secret, owner)
        owner.close()


@pytest.fixture(scope="module")
def secrets_(site: Site) -> Secrets:
    world = site.running.world
    values = {
        "app token": world.app_token,
        "operator token": world.operator_token,
        "rival token": site.rival.token,
        "rival client secret": site.rival.client_secret,
        "demo app client secret": site.client_secret,
        "password": PASSWORD,
    }
    values |= stored_secrets(site.store, [world.org_id, "E0RIVAL"])
    values |= cookies_of(site.owner)
    assert len(values) > 20
    return Secrets(values)


def one_event_per_action(site: Site) -> list[str]:
    latest: dict[str, str] = {}
    for event in site.running.world.events():
        latest.setdefault(event["action"], event["id"])
    return sorted(latest.values())


def console_pages(site: Site) -> list[str]:
    world = site.running.world
    return [
        "/",
        "/console/logs?range=all&limit=200",
        "/console/logs?range=all&action=anomaly",
        "/console/counts?range=all",
        "/console/anomalies?range=all",
        "/console/apps",
        f"/console/apps?revoked={world.operator_token_id}",
        f"/console/apps?uninstalled={world.installation.id}",
        "/console/nowhere",
        *(f"/console/events/{event_id}" for event_id in one_event_per_action(site)),
    ]


def assert_no_secret(secrets_: Secrets, where: str, text: str) -> None:
    assert secrets_.found_in(text) == [], where


def test_no_console_page_shows_a_secret(site: Site, secrets_: Secrets) -> None:
    pages = console_pages(site)
    assert len(pages) > 40
    for path in pages:
        answer = site.owner.get(path)
        assert answer.status_code in (200, 404), path
        assert_no_secret(secrets_, path, answer.text)
        assert_no_secret(secrets_, f"{path} headers", str(dict(answer.headers)))


def test_the_console_records_of_changes_show_no_secret(site: Site, secrets_: Secrets) -> None:
    """Revoking and uninstalling record events; their pages and the apps page stay clean."""
    world = site.running.world
    csrf = hidden_fields(site.owner.get("/console/apps").text)["csrf_token"]
    site.owner.post(
        "/console/tokens/revoke", {"csrf_token": csrf, "token_id": world.operator_token_id}
    )
    site.owner.post(
        "/console/installations/uninstall",
        {"csrf_token": csrf, "installation_id": world.installation.id},
    )
    changes = world.events(actions=("audit_logs_token_revoked", "org_app_uninstalled"))
    assert len(changes) == 2
    for event in changes:
        page = site.owner.get(f"/console/events/{event['id']}")
        assert page.status_code == 200
        assert_no_secret(secrets_, event["action"], page.text)
    assert_no_secret(secrets_, "apps after changes", site.owner.get("/console/apps").text)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_no_export_holds_a_secret(site: Site, secrets_: Secrets, fmt: str) -> None:
    csrf = hidden_fields(site.owner.get("/console/apps").text)["csrf_token"]
    answer = site.owner.post("/console/export", {"csrf_token": csrf, "format": fmt, "range": "all"})
    assert answer.status_code == 200
    assert len(answer.content) > 100_000
    assert_no_secret(secrets_, fmt, answer.text)


def test_the_rival_owners_pages_show_no_secret(site: Site, secrets_: Secrets) -> None:
    client = signed_in_client(site.running.url, site.rival.owner.email)
    mine = Secrets(secrets_.values | cookies_of(client))
    for path in (
        "/console/logs?range=all",
        "/console/apps",
        f"/console/events/{site.rival.event_id}",
    ):
        assert_no_secret(mine, path, client.get(path).text)
    client.close()


def test_pages_for_people_who_are_refused_or_signed_out_show_no_secret(
    site: Site, secrets_: Secrets
) -> None:
    member = signed_in_client(site.running.url, site.running.world.member.email)
    anonymous = PageClient(site.running.url)
    for client, path in ((member, "/console/logs"), (member, "/"), (anonymous, "/signin")):
        assert_no_secret(secrets_, path, client.get(path).text)
    failed = anonymous.sign_in(site.running.world.owner.email, password=PASSWORD + "x")
    assert_no_secret(secrets_, "failed sign-in", failed.text)
    member.close()
    anonymous.close()


def test_the_secret_list_is_real(site: Site, secrets_: Secrets) -> None:
    """Guard against a vacuous search: the secrets work, and a page holding one is caught."""
    assert secrets_.found_in(f"x{site.running.world.operator_token}y") == ["operator token"]
    assert any(name.startswith("private signing key") for name in secrets_.values)
    assert any(name.startswith("password hash") for name in secrets_.values)
    assert re.fullmatch(r"[0-9a-f]{64}", secrets_.values[next(
        n for n in secrets_.values if n.startswith("token hash") and n.endswith("(hex)")
    )])  # fmt: skip
