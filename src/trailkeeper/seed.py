"""Loading the demo organization into a store, through the normal ingest path; and its
accounts: the people of the organization, the Owner's password and a demo app to install."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailkeeper import demo
from trailkeeper.catalog import Catalog
from trailkeeper.directory import admin, apps, users
from trailkeeper.directory.accounts import App, User
from trailkeeper.directory.activity import CLI_ORIGIN, ChangeContext, discard_events
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.ingest import Ingestor
from trailkeeper.oauth.requests import authorize_url
from trailkeeper.storage.base import Store

BATCH = 5000


def seed_demo(store: Store, catalog: Catalog, *, now: int | None = None, seed: int = 7) -> int:
    """Create the demo organization and its history unless it exists; return events stored."""
    organization = demo.demo_organization(seed)
    if store.get_organization(organization.id) is not None and store.count_events(organization.id):
        return 0
    admin.create_organization(store, organization.id, organization.name, organization.domain)
    for ws in organization.workspaces:
        admin.create_workspace(store, ws.id, organization.id, ws.name, ws.domain)
    events = demo.demo_events(organization, end=int(time.time()) if now is None else now, seed=seed)
    ingestor = Ingestor(store, catalog, LocationIndex(store), max_event_bytes=1 << 20)
    stored = 0
    for start in range(0, len(events), BATCH):
        report = ingestor.ingest(events[start : start + BATCH])
        if report.rejected:
            first = report.rejected[0]
            raise ValueError(f"demo event rejected: {first.reason}")
        stored += report.stored
    return stored


def demo_read_token(store: Store, seed: int = 7) -> str:
    """A fresh read token for the demo organization (stored hashed: never reprinted)."""
    token, _ = admin.issue_token(
        store, demo.demo_organization(seed).id, frozenset({READ_SCOPE}), "demo read token"
    )
    return token


DEMO_APP_NAME = "Demo SIEM"
DEMO_CALLBACK = "/demo/oauth-callback"  # a page of Trailkeeper's that shows what the app got


@dataclass(frozen=True)
class DemoAccess:
    """What `trailkeeper demo` prints to walk the install flow: who signs in, which app."""

    owner: User
    password: str
    app: App
    client_secret: str
    install_url: str


def _demo_people(store: Store, seed: int) -> User:
    """The organization's people in the directory (quietly: the history tells their story)."""
    organization = demo.demo_organization(seed)
    change = ChangeContext(None, CLI_ORIGIN, discard_events, int(time.time()))
    owner = None
    for person in organization.users:
        found = store.get_user(person.id)
        if found is None:
            spec = users.UserSpec(
                person.id, organization.id, person.name, person.email, person.role
            )
            found = users.create_user(store, spec, change)
        owner = found if person.role == "owner" else owner
    assert owner is not None, "the demo organization has exactly one owner"
    return owner


def seed_demo_accounts(store: Store, base_url: str, seed: int = 7) -> DemoAccess:
    """People, a fresh Owner password and the demo app (its secret rotated: hashes only)."""
    owner = _demo_people(store, seed)
    password = secrets.token_urlsafe(12)
    users.set_password(store, owner.org_id, owner.id, password)
    callback = base_url.rstrip("/") + DEMO_CALLBACK
    existing = [
        a for a in store.list_apps() if a.name == DEMO_APP_NAME and callback in a.redirect_urls
    ]
    if existing:
        app, secret = apps.rotate_secret(store, existing[0].id)
    else:
        scopes = ([READ_SCOPE], ["users:read"])
        app, secret = apps.create_app(
            store, DEMO_APP_NAME, [callback], scopes, now=int(time.time())
        )
    url = authorize_url(base_url, app, state=secrets.token_urlsafe(8))
    return DemoAccess(owner, password, app, secret, url)


def demo_checkpoints(store: Store, service_name: str, catalog: Catalog) -> str:
    """Give the demo a signing key (once) and a signed checkpoint; return the key's vkey."""
    from trailkeeper.integrity.service import IntegrityService
    from trailkeeper.recorder import Recorder, organization_event

    recorder = Recorder(store, catalog)

    def record_event(action: str, org_id: str, details: Mapping[str, Any]) -> object:
        return recorder.record(organization_event(action, org_id, details))

    service = IntegrityService(store, service_name, record_event=record_event)
    if service.active_key() is None:
        service.generate_key()
    service.checkpoint_all()
    key = service.active_key()
    return key.vkey if key is not None else ""
