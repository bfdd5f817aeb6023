"""`trailkeeper user ...` and `trailkeeper app ...`: people and OAuth apps from the command line.

Changes to users are recorded in their organization's log (actor: Trailkeeper, from the CLI).
Passwords are read from stdin (`--password-stdin`), never from arguments or the environment.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click
import orjson

from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.config import Settings
from trailkeeper.directory import apps as app_rules
from trailkeeper.directory import users as user_rules
from trailkeeper.directory.accounts import ROLES, App, User
from trailkeeper.directory.activity import CLI_ORIGIN, ChangeContext, Event
from trailkeeper.directory.apps import USER_SCOPES
from trailkeeper.directory.installations import uninstall_app
from trailkeeper.errors import InvalidArguments
from trailkeeper.oauth.requests import authorize_url
from trailkeeper.recorder import Recorder
from trailkeeper.storage.base import Store
from trailkeeper.validation import EventRejected


def _setup() -> tuple[Settings, Store, Callable[[], ChangeContext]]:
    settings = settings_from_env()
    store = migrated_store(settings)
    recorder = Recorder(store, load_catalog(settings.catalog_extensions))

    def record(events: list[Event]) -> None:
        report = recorder.record_many(events)
        if report.rejected:
            raise EventRejected(report.rejected[0].reason)

    def change() -> ChangeContext:
        return ChangeContext(None, CLI_ORIGIN, record, int(time.time()))

    return settings, store, change


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidArguments("no password on stdin")
    return password


def _user_line(u: User) -> str:
    state = "active" if u.is_active else "deactivated"
    can_sign_in = "password" if u.password_hash else "no password"
    return f"{u.id}\t{u.org_id}\t{u.role}\t{state}\t{can_sign_in}\t{u.email}\t{u.name}"


@click.group()
def user() -> None:
    """Manage the people of organizations, their roles and passwords."""


@user.command("create")
@click.option("--org", "org_id", required=True, help="Organization, e.g. E0123ABCD.")
@click.option("--id", "user_id", required=True, help="User id, e.g. U0123ABCD or W0123ABCD.")
@click.option("--name", required=True, help="Display name.")
@click.option("--email", required=True, help="Email address: the login, unique on the server.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Role in the organization.")
@click.option("--password-stdin", is_flag=True, help="Read a password (first line of stdin).")
def user_create(password_stdin: bool, **fields: str) -> None:
    """Create a user; with a password they can sign in to approve app installs."""
    password = _read_password() if password_stdin else None
    _, store, change = _setup()
    spec = user_rules.UserSpec(
        fields["user_id"], fields["org_id"], fields["name"], fields["email"], fields["role"]
    )
    created = user_rules.create_user(store, spec, change(), password)
    click.echo(f"user {created.id} ({created.role}) in {created.org_id}")


@user.command("set-role")
@click.option("--org", "org_id", required=True, help="Organization of the user.")
@click.option("--id", "user_id", required=True, help="User id.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The new role.")
def user_set_role(org_id: str, user_id: str, role: str) -> None:
    """Change a user's role (an Owner demoted: their app installations stop working)."""
    _, store, change = _setup()
    updated = user_rules.set_role(store, org_id, user_id, role, change())
    click.echo(f"user {updated.id} is now {updated.role}")


@user.command("deactivate")
@click.option("--org", "org_id", required=True, help="Organization of the user.")
@click.option("--id", "user_id", required=True, help="User id.")
def user_deactivate(org_id: str, user_id: str) -> None:
    """Deactivate a user: sessions end, their app installations stop working."""
    _, store, change = _setup()
    user_rules.deactivate_user(store, org_id, user_id, change())
    click.echo(f"user {user_id} deactivated")


@user.command("set-password")
@click.option("--org", "org_id", required=True, help="Organization of the user.")
@click.option("--id", "user_id", required=True, help="User id.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read it from stdin.")
def user_set_password(org_id: str, user_id: str, password_stdin: bool) -> None:
    """Set a user's password (first line of stdin); their sessions end."""
    password = _read_password()
    _, store, _ = _setup()
    user_rules.set_password(store, org_id, user_id, password)
    click.echo(f"password of {user_id} set")


@user.command("list")
@click.option("--org", "org_id", required=True, help="Organization whose users to list.")
def user_list(org_id: str) -> None:
    """List users (id, organization, role, state, whether they can sign in, email, name)."""
    for u in migrated_store(settings_from_env()).list_users(org_id):
        click.echo(_user_line(u))


@click.group()
def app() -> None:
    """Manage apps installed with OAuth (client credentials, redirect URLs, scopes)."""


def _app_json(a: App, secret: str, settings: Settings) -> str:
    body = {
        "app_id": a.id,
        "client_id": a.client_id,
        "client_secret": secret,
        "redirect_urls": list(a.redirect_urls),
        "install_url": authorize_url(settings.base_url, a),
    }
    return orjson.dumps(body).decode()


@app.command("create")
@click.option("--name", required=True, help="App name, shown on the consent page.")
@click.option(
    "--redirect-url",
    "redirect_urls",
    multiple=True,
    required=True,
    help="Exact redirect URL (https, or http on localhost); repeatable.",
)
@click.option(
    "--user-scope",
    "user_scopes",
    multiple=True,
    required=True,
    type=click.Choice(sorted(USER_SCOPES)),
    help="User-token scope: auditlogs:read.",
)
@click.option("--bot-scope", "bot_scopes", multiple=True, help="Bot scope (recorded); repeatable.")
@click.option(
    "--distributed/--not-distributed",
    default=True,
    show_default=True,
    help="Public distribution: whether organizations may install it.",
)
def app_create(
    name: str,
    redirect_urls: tuple[str, ...],
    user_scopes: tuple[str, ...],
    bot_scopes: tuple[str, ...],
    distributed: bool,
) -> None:
    """Create an app; prints one JSON object with app_id, client_id and client_secret."""
    settings, store, _ = _setup()
    created, secret = app_rules.create_app(
        store,
        name,
        redirect_urls,
        (user_scopes, bot_scopes),
        distributed=distributed,
        now=int(time.time()),
    )
    click.echo(_app_json(created, secret, settings))


@app.command("list")
def app_list() -> None:
    """List apps (id, client id, distribution, scopes, redirect URLs, name; never secrets)."""
    for a in migrated_store(settings_from_env()).list_apps():
        scopes = ",".join(sorted(a.user_scopes | a.bot_scopes))
        state = "distributed" if a.is_distributed else "private"
        urls = " ".join(a.redirect_urls)
        click.echo(f"{a.id}\t{a.client_id}\t{state}\t{scopes}\t{urls}\t{a.name}")


@app.command("rotate-secret")
@click.argument("app_id")
def app_rotate_secret(app_id: str) -> None:
    """Give an app a new client secret (printed as JSON); the old one stops working at once."""
    settings, store, _ = _setup()
    rotated, secret = app_rules.rotate_secret(store, app_id)
    click.echo(_app_json(rotated, secret, settings))


@app.command("distribution")
@click.argument("app_id")
@click.option("--on/--off", "distributed", required=True, help="Turn distribution on or off.")
def app_distribution(app_id: str, distributed: bool) -> None:
    """Turn an app's public distribution on or off (off: no new installations)."""
    _, store, _ = _setup()
    app_rules.set_distribution(store, app_id, distributed)
    click.echo(f"app {app_id} distribution {'on' if distributed else 'off'}")


@app.command("uninstall")
@click.argument("app_id")
@click.option("--org", "org_id", required=True, help="Organization to uninstall it from.")
def app_uninstall(app_id: str, org_id: str) -> None:
    """Uninstall an app from an organization and its workspaces; its tokens stop working."""
    _, store, change = _setup()
    removed = uninstall_app(store, app_rules.get_app(store, app_id), org_id, change())
    click.echo(f"uninstalled {len(removed)} installation(s) of {app_id} from {org_id}")
