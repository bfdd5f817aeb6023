"""`trailkeeper serve`, `demo` and `migrate`: running the service and preparing its database."""

from __future__ import annotations

import logging

import click
import uvicorn

from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.config import Settings
from trailkeeper.seed import DemoAccess, demo_checkpoints, demo_read_token, seed_demo_accounts
from trailkeeper.seed_detection import DemoSeed, prepare_demo
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store
from trailkeeper.web.app import create_app

SNIPPET = """\
from slack_sdk.audit_logs import AuditLogsClient

client = AuditLogsClient(token="{token}", base_url="{base}/audit/v1/")
response = client.logs(limit=100)
for entry in response.typed_body.entries:
    print(entry.date_create, entry.action, entry.actor.user.id)
print("next cursor:", response.typed_body.response_metadata.next_cursor)
"""


INSTALL_TEXT = """\
Or get a token the way a security team gets one from Slack (OAuth install, in a browser):
  1. open    {install_url}
  2. sign in as the organization's Owner: {email}  password: {password}
  3. choose the organization, Allow; the demo app's page shows the code. Then:

from slack_sdk import WebClient
from slack_sdk.audit_logs import AuditLogsClient

access = WebClient(base_url="{base}/api/").oauth_v2_access(
    client_id="{client_id}", client_secret="{client_secret}",
    code=input("code: "), redirect_uri="{redirect_uri}",
)
token = access["authed_user"]["access_token"]
client = AuditLogsClient(token=token, base_url="{base}/audit/v1/")
print([e.action for e in client.logs(limit=5).typed_body.entries])
"""


def install_text(access: DemoAccess, base: str) -> str:
    """How to walk the demo app's install, printed by `trailkeeper demo`."""
    return INSTALL_TEXT.format(
        install_url=access.install_url,
        email=access.owner.email,
        password=access.password,
        base=base,
        client_id=access.app.client_id,
        client_secret=access.client_secret,
        redirect_uri=access.app.redirect_urls[0],
    )


ANOMALY_LIST = """\
List the anomalies: curl -H 'Authorization: Bearer {token}' '{base}/audit/v1/logs?action=anomaly'
  or, with the slack_sdk client above: client.logs(action="anomaly", limit=100)
"""


def anomaly_text(prepared: DemoSeed, token: str, base: str) -> str:
    """What detection found in the freshly seeded history, and how to list it."""
    listing = ANOMALY_LIST.format(token=token, base=base)
    if not prepared.events:
        return listing
    found = prepared.anomalies
    head = f"Anomaly detection ran over that history and recorded {found.total()} anomalies:\n"
    lines = "".join(f"  {n:3d}  {reasons}\n" for reasons, n in found.most_common())
    return head + lines + listing


def _run(settings: Settings, store: Store) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = create_app(settings, store)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        server_header=False,
    )


@click.command()
@click.option("--host", default=None, help="Bind address (default: TRAILKEEPER_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: TRAILKEEPER_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the API on the configured database; migrations are applied on start."""
    settings = settings_from_env(host=host, port=port)
    _run(settings, migrated_store(settings))


@click.command()
@click.option("--host", default=None, help="Bind address (default: TRAILKEEPER_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: TRAILKEEPER_PORT).")
def demo(host: str | None, port: int | None) -> None:
    """Seed the demo organization (if empty), print a read token and a snippet, and serve it."""
    settings = settings_from_env(host=host, port=port)
    store = migrated_store(settings)
    click.echo("preparing the demo organization (first run takes ~20 seconds)...", err=True)
    prepared = prepare_demo(store, settings, load_catalog(settings.catalog_extensions))
    settings, stored = prepared.settings, prepared.events
    token = demo_read_token(store)
    base = settings.base_url
    click.echo(
        f"\nTrailkeeper demo: {stored or 'existing'} events in {settings.resolved_database_url}"
    )
    click.echo(f"Base URL:   {base}/audit/v1/")
    click.echo(f"Read token: {token}\n")
    click.echo("Try it with slack_sdk (pip install slack_sdk):\n")
    click.echo(SNIPPET.format(token=token, base=base))
    click.echo(f"Or: curl -H 'Authorization: Bearer {token}' '{base}/audit/v1/logs?limit=2'\n")
    click.echo(anomaly_text(prepared, token, base))
    vkey = demo_checkpoints(store, settings.service_name, load_catalog(settings.catalog_extensions))
    click.echo(
        f"Tamper evidence: the log is signed by {vkey}\n  verify it with: trailkeeper "
        f"verify --url {base} --token {token} --key '{vkey}'\n"
    )
    click.echo(install_text(seed_demo_accounts(store, base), base))
    _run(settings, store)


@click.command()
def migrate() -> None:
    """Apply pending database migrations and say which."""
    settings = settings_from_env()
    store = open_store(settings.resolved_database_url)
    applied = store.migrate()
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")
