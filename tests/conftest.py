"""Shared fixtures: real SQLite stores under tmp_path, a directory, events, and a live server."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn

from trailkeeper.catalog import Catalog, load_catalog
from trailkeeper.config import Settings, load_settings
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.web.app import create_app

ORG = "E0TEST"
OTHER_ORG = "E0OTHER"
WS_A, WS_B, WS_OTHER = "T0TESTA", "T0TESTB", "T0OTHER"
BASE_TIME = 1_700_000_000


DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-postgres",
        action="store_true",
        help="fail (instead of skip) PostgreSQL tests when no server answers; CI sets it",
    )


def postgres_required(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-postgres")) or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def postgres_url(pytestconfig: pytest.Config) -> str:
    """The PostgreSQL server for tests: TRAILKEEPER_TEST_POSTGRES_URL or the local default."""
    import psycopg

    url = os.environ.get("TRAILKEEPER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        if postgres_required(pytestconfig):
            pytest.fail(f"PostgreSQL required but unreachable at {url}: {exc}")
        pytest.skip(f"no PostgreSQL at {url}")
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh, private schema; dropped afterwards."""
    import psycopg

    schema = f"tk_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(str(tmp_path / "trailkeeper.db"))
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def directory(store: SQLiteStore) -> SQLiteStore:
    """The store with two organizations and their workspaces."""
    admin.create_organization(store, ORG, "Test Org", "testorg")
    admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
    admin.create_workspace(store, WS_B, ORG, "Beta", "beta")
    admin.create_organization(store, OTHER_ORG, "Other Org", "otherorg")
    admin.create_workspace(store, WS_OTHER, OTHER_ORG, "Other", "other")
    return store


def user(uid: str = "U0ANN", team: str = WS_A) -> dict[str, Any]:
    return {"id": uid, "name": f"user {uid}", "email": f"{uid.lower()}@example.com", "team": team}


def make_event(
    action: str = "user_login",
    *,
    actor: str = "U0ANN",
    date: int | None = BASE_TIME,
    location: str = WS_A,
    entity: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid Slack-shaped event; keyword arguments override or add top-level keys."""
    kind = "workspace" if location.startswith("T") else "enterprise"
    event: dict[str, Any] = {
        "action": action,
        "actor": {"type": "user", "user": user(actor)},
        "entity": entity or {"type": "user", "user": user(actor)},
        "context": {
            "location": {"type": kind, "id": location},
            "ua": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
            "ip_address": "81.2.69.160",
            "session_id": 1234567,
        },
    }
    if date is not None:
        event["date_create"] = date
    event.update(extra)
    return event


@pytest.fixture
def event_factory() -> Callable[..., dict[str, Any]]:
    return make_event


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, data_dir=str(tmp_path), rate_limit_per_minute=0)


@dataclass
class LiveServer:
    """A real uvicorn server on 127.0.0.1 serving the app over a real store."""

    url: str
    store: SQLiteStore
    read_token: str
    write_token: str
    other_read_token: str

    @property
    def audit_base(self) -> str:
        return f"{self.url}/audit/v1/"


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the server runs in a thread
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_in_thread(app: Any) -> tuple[_ThreadServer, threading.Thread, str]:
    port = free_port()
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def live_server_factory(
    directory: SQLiteStore, settings: Settings
) -> Iterator[Callable[..., LiveServer]]:
    """Start a live server with settings overrides; stopped at teardown."""
    running: list[tuple[_ThreadServer, threading.Thread]] = []

    def start(**overrides: Any) -> LiveServer:
        from dataclasses import replace

        app = create_app(replace(settings, **overrides), directory)
        server, thread, url = serve_in_thread(app)
        running.append((server, thread))
        read, _ = admin.issue_token(directory, ORG, frozenset({READ_SCOPE}), "test read")
        write, _ = admin.issue_token(directory, ORG, frozenset({WRITE_SCOPE}), "test write")
        other, _ = admin.issue_token(directory, OTHER_ORG, frozenset({READ_SCOPE}), "other")
        return LiveServer(url, directory, read, write, other)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


CHROMIUM = Path("/usr/bin/chromium")
# Flags that work here: root, no network (see the machine notes); a fresh profile per launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients (slack_sdk, browsers) must reach 127.0.0.1 directly, never through a proxy."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium per module (fails in CI when missing, skips locally)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
            )
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
