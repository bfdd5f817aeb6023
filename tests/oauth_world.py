"""Shared by the account, OAuth and browser tests: an organization with an Owner, an Admin, a
Member and a Guest who can sign in, an app that asks for `auditlogs:read`, and a small HTTP
client that walks the install pages the way a browser would (cookies, CSRF tokens, redirects).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.audit_logs import AuditLogsClient

from conftest import ORG, WS_A, LiveServer, serve_in_thread
from trailkeeper.catalog import load_catalog
from trailkeeper.config import load_settings
from trailkeeper.directory import admin, apps, users
from trailkeeper.directory.accounts import App, User
from trailkeeper.directory.activity import CLI_ORIGIN, ChangeContext, Event
from trailkeeper.directory.passwords import HASHER
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.recorder import Recorder
from trailkeeper.storage.base import Store
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import EventRejected
from trailkeeper.web.app import create_app

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = HASHER.hash(PASSWORD)  # hashed once: argon2 is slow on purpose
CATALOG = load_catalog()  # parsed once: the TOML takes ~0.1 s
REDIRECT = "http://localhost:8765/callback"
OTHER_REDIRECT = "https://siem.example/oauth/done?tenant=acme"

PEOPLE = {
    "owner": ("U0OWNER", "Olive Owner", "olive@acme.example"),
    "admin": ("U0ADMIN", "Adam Admin", "adam@acme.example"),
    "member": ("U0MEMBER", "Mia Member", "mia@acme.example"),
    "guest": ("W0GUEST", "Gus Guest", "gus@partner.example"),
}


def recording_change(store: Store, actor: User | None = None) -> ChangeContext:
    """A change made from the CLI now, recorded through the normal ingest path."""
    recorder = Recorder(store, CATALOG)

    def record(events: list[Event]) -> None:
        report = recorder.record_many(events)
        if report.rejected:
            raise EventRejected(report.rejected[0].reason)

    return ChangeContext(actor, CLI_ORIGIN, record, int(time.time()))


@dataclass
class World:
    """The organization's people and an installable app (with its one-time secret)."""

    store: Store
    people: dict[str, User]
    app: App
    client_secret: str

    @property
    def owner(self) -> User:
        return self.people["owner"]


def add_person(store: Store, role: str, uid: str, name: str, email: str) -> User:
    spec = users.UserSpec(uid, ORG, name, email, role)
    created = users.create_user(store, spec, recording_change(store))
    with_password = replace(created, password_hash=PASSWORD_HASH)
    store.put_user(with_password)
    return with_password


def populate(store: Store, **app_options: Any) -> World:
    """People of ORG (see PEOPLE) who can sign in with PASSWORD, and an app for REDIRECT."""
    people = {role: add_person(store, role, *who) for role, who in PEOPLE.items()}
    app, secret = apps.create_app(
        store,
        "Acme SIEM",
        app_options.pop("redirect_urls", [REDIRECT, OTHER_REDIRECT]),
        (["auditlogs:read"], ["users:read"]),
        now=int(time.time()),
        **app_options,
    )
    return World(store, people, app, secret)


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def install_params(app: App, **extra: str) -> dict[str, str]:
    """The parameters of an install URL (Slack's shape), with overrides."""
    params = {
        "client_id": app.client_id,
        "scope": "users:read",
        "user_scope": "auditlogs:read",
        "redirect_uri": REDIRECT,
        "state": "st-" + secrets.token_urlsafe(8),
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v != ""}


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the page's forms (the last value of a name wins)."""
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


@dataclass
class PageClient:
    """Walks the install pages over HTTP as a browser would: one cookie jar, no JavaScript."""

    base_url: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, trust_env=False, timeout=10)

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self.client.get(path, params=params)

    def post(self, path: str, form: dict[str, str], **headers: str) -> httpx.Response:
        return self.client.post(path, data=form, headers=headers)

    def sign_in(self, email: str, password: str = PASSWORD, next_url: str = "/") -> httpx.Response:
        page = self.get("/signin", {"next": next_url})
        form = hidden_fields(page.text) | {"login": email, "password": password}
        return self.post("/signin", form)

    def consent(self, params: dict[str, str]) -> httpx.Response:
        return self.get("/oauth/v2/authorize", params)

    def decide(
        self, consent_page: str, decision: str = "allow", target: str = "organization"
    ) -> httpx.Response:
        form = hidden_fields(consent_page) | {"decision": decision, "target": target}
        return self.post("/oauth/v2/authorize", form)

    def install(self, params: dict[str, str], target: str = "organization") -> dict[str, str]:
        """Consent and allow; the query the app's redirect URL received."""
        page = self.consent(params)
        assert page.status_code == 200, page.text
        answer = self.decide(page.text, "allow", target)
        assert answer.status_code == 303, answer.text
        return redirected_query(answer.headers["location"])

    def close(self) -> None:
        self.client.close()


def redirected_query(location: str) -> dict[str, str]:
    """The single-valued query parameters of a redirect's target."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def signed_in_client(base_url: str, email: str) -> PageClient:
    client = PageClient(base_url)
    answer = client.sign_in(email)
    assert answer.status_code == 303, answer.text
    return client


def authorize_path(params: dict[str, str]) -> str:
    return "/oauth/v2/authorize?" + urlencode(params)


def events_of(store: Store, action: str) -> list[dict[str, Any]]:
    """Every stored event of ORG with this action, oldest first (decoded)."""
    import orjson

    records = store.events_from(ORG, 0, 100_000)
    return [orjson.loads(r.body) for r in records if r.action == action]


# --- a live server with the world in it ---------------------------------------------------------

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@dataclass
class Site:
    """A live server, its world, and the slack_sdk clients a security team would use."""

    live: LiveServer
    world: World

    @property
    def api(self) -> str:
        return self.live.url + "/api/"

    def web(self, token: str | None = None) -> WebClient:
        return WebClient(token=token, base_url=self.api)

    def audit(self, token: str) -> AuditLogsClient:
        return AuditLogsClient(token=token, base_url=self.live.audit_base)

    def code(self, role: str = "owner", target: str = "organization", **extra: str) -> str:
        browser = signed_in_client(self.live.url, self.world.people[role].email)
        try:
            return browser.install(install_params(self.world.app, **extra), target)["code"]
        finally:
            browser.close()

    def token(self, target: str = "organization") -> str:
        access = self.web().oauth_v2_access(
            client_id=self.world.app.client_id,
            client_secret=self.world.client_secret,
            code=self.code(target=target),
            redirect_uri=REDIRECT,
        )
        return str(access["authed_user"]["access_token"])

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.live.url, trust_env=False) as client:
            return client.post(path, **kwargs)


def make_site(live: LiveServer) -> Site:
    return Site(live, populate(live.store))


@contextmanager
def shared_server(path: Path) -> Iterator[Site]:
    """One server for tests that change nothing of consequence (error shapes, fuzzing)."""
    store = SQLiteStore(str(path / "trailkeeper.db"))
    store.migrate()
    admin.create_organization(store, ORG, "Test Org", "testorg")
    admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
    settings = load_settings(
        {}, data_dir=str(path), rate_limit_per_minute=0, max_request_bytes=1024
    )
    server, thread, url = serve_in_thread(create_app(settings, store))
    read, _ = admin.issue_token(store, ORG, frozenset({READ_SCOPE}), "read")
    try:
        yield Site(LiveServer(url, store, read, "", ""), populate(store))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def read_status(site: Site, token: str) -> tuple[int, str]:
    """What `AuditLogsClient.logs` got: (status, error); slack_sdk returns errors, not raises."""
    response = site.audit(token).logs(limit=1)
    body = response.body or {}
    return response.status_code, str(body.get("error", ""))
