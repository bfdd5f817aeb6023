"""`trailkeeper user …` and `trailkeeper app …` in process, and the demo's accounts.

Commands keep the shapes other tools drive: `user create … --password-stdin`, `user set-role`,
`app create …` printing one JSON object with app_id, client_id and client_secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from oauth_world import events_of
from trailkeeper.cli import cli
from trailkeeper.cli.serve import install_text
from trailkeeper.demo import demo_organization
from trailkeeper.directory import admin, apps, signin
from trailkeeper.directory.activity import CLI_ORIGIN, ChangeContext, discard_events
from trailkeeper.errors import NotFound
from trailkeeper.oauth.errors import AppNotDistributed
from trailkeeper.oauth.requests import parse_authorize_request
from trailkeeper.seed import seed_demo_accounts
from trailkeeper.storage.sqlite import SQLiteStore

ORG = "E0CLI"
POLICY = signin.ThrottlePolicy(900, 5, 50)


@pytest.fixture
def run(tmp_path: Path) -> Any:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TRAILKEEPER_")}
    env["TRAILKEEPER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'trailkeeper.db'}"
    env["TRAILKEEPER_PUBLIC_URL"] = "https://audit.example"
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    assert (
        invoke("org", "create", "--id", ORG, "--name", "Cli Org", "--domain", "cli").exit_code == 0
    )
    return invoke


def opened(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(str(tmp_path / "trailkeeper.db"))


def create_owner(run: Any, password: str | None = "a strong password") -> Result:
    args = ["user", "create", "--org", ORG, "--id", "U0OWNER", "--name", "Olive Owner"]
    args += ["--email", "olive@cli.example", "--role", "owner"]
    if password is not None:
        args.append("--password-stdin")
    return run(*args, input=None if password is None else password + "\n")


def test_user_create_with_a_password_from_stdin(run: Any, tmp_path: Path) -> None:
    result = create_owner(run)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"user U0OWNER (owner) in {ORG}\n"
    store = opened(tmp_path)
    change = ChangeContext(None, CLI_ORIGIN, discard_events, 1_800_000_000)
    assert signin.sign_in(store, "olive@cli.example", "a strong password", POLICY, change)
    [event] = events_of_org(store, "user_created")
    assert event["context"]["ua"] == "trailkeeper-cli"
    listed = run("user", "list", "--org", ORG).stdout
    assert listed.startswith("U0OWNER\tE0CLI\towner\tactive\tpassword\tolive@cli.example")


def events_of_org(store: SQLiteStore, action: str) -> list[dict[str, Any]]:
    records = store.events_from(ORG, 0, 1000)
    return [orjson.loads(r.body) for r in records if r.action == action]


def test_user_create_without_a_password_cannot_sign_in(run: Any) -> None:
    assert create_owner(run, password=None).exit_code == 0
    assert "\tno password\t" in run("user", "list", "--org", ORG).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nope"], "email must be"),
        (["--id", "lower"], "user id must look like"),
        (["--org", "E0NONE"], "no organization E0NONE"),
    ],
)
def test_user_create_errors_are_one_line_on_stderr(run: Any, args: list[str], message: str) -> None:
    base = {"--org": ORG, "--id": "U0X", "--name": "X", "--email": "x@cli.example"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in base.items() for item in pair]
    result = run("user", "create", *flat, "--role", "member")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr


def test_an_empty_password_on_stdin_is_refused(run: Any) -> None:
    result = create_owner(run, password="")
    assert result.exit_code == 1
    assert "no password on stdin" in result.stderr
    assert run("user", "create", "--help").stdout.count("--password-stdin") == 1


def test_set_role_deactivate_and_set_password(run: Any, tmp_path: Path) -> None:
    create_owner(run)
    changed = run("user", "set-role", "--org", ORG, "--id", "U0OWNER", "--role", "admin")
    assert changed.stdout == "user U0OWNER is now admin\n"
    reset = run("user", "set-password", "--org", ORG, "--id", "U0OWNER", "--password-stdin",
                input="another strong one\n")  # fmt: skip
    assert reset.stdout == "password of U0OWNER set\n"
    gone = run("user", "deactivate", "--org", ORG, "--id", "U0OWNER")
    assert gone.stdout == "user U0OWNER deactivated\n"
    store = opened(tmp_path)
    assert [e["details"]["new_role"] for e in events_of_org(store, "role_change_to_admin")] == [
        "admin"
    ]
    assert len(events_of_org(store, "user_deactivated")) == 1
    missing = run("user", "set-role", "--org", ORG, "--id", "U0NONE", "--role", "admin")
    assert missing.exit_code == 1


def test_app_create_prints_one_json_object(run: Any, tmp_path: Path) -> None:
    result = run(
        "app", "create", "--name", "SIEM", "--redirect-url", "https://siem.example/cb",
        "--user-scope", "auditlogs:read", "--bot-scope", "users:read",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert {"app_id", "client_id", "client_secret", "install_url"} <= set(body)
    assert body["install_url"].startswith("https://audit.example/oauth/v2/authorize?client_id=")
    app = opened(tmp_path).get_app(body["app_id"])
    assert app is not None
    assert apps.is_client_secret(app, body["client_secret"])
    listed = run("app", "list").stdout
    assert body["app_id"] in listed
    assert body["client_secret"] not in listed
    rotated = orjson.loads(run("app", "rotate-secret", body["app_id"]).stdout)
    assert rotated["client_id"] == body["client_id"]
    app = opened(tmp_path).get_app(body["app_id"])
    assert app is not None
    assert not apps.is_client_secret(app, body["client_secret"])
    assert apps.is_client_secret(app, rotated["client_secret"])


@pytest.mark.parametrize(
    "args",
    [
        ["--redirect-url", "http://siem.example/cb", "--user-scope", "auditlogs:read"],
        ["--redirect-url", "https://siem.example/cb", "--user-scope", "admin"],
        ["--redirect-url", "https://siem.example/cb"],
    ],
)
def test_app_create_refuses_unsafe_urls_and_unknown_scopes(run: Any, args: list[str]) -> None:
    result = run("app", "create", "--name", "SIEM", *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_distribution_off_blocks_installs_and_uninstall_reports(run: Any, tmp_path: Path) -> None:
    body = orjson.loads(
        run("app", "create", "--name", "S", "--redirect-url", "https://s.example/cb",
            "--user-scope", "auditlogs:read").stdout
    )  # fmt: skip
    off = run("app", "distribution", body["app_id"], "--off")
    assert off.stdout == f"app {body['app_id']} distribution off\n"
    params = {"client_id": body["client_id"], "user_scope": "auditlogs:read"}
    with pytest.raises(AppNotDistributed):
        parse_authorize_request(opened(tmp_path), params)
    removed = run("app", "uninstall", body["app_id"], "--org", ORG)
    assert removed.stdout == f"uninstalled 0 installation(s) of {body['app_id']} from {ORG}\n"
    assert run("app", "uninstall", "A0NONE", "--org", ORG).exit_code == 1


def test_admin_directory_tokens_come_from_token_create(run: Any) -> None:
    result = run("token", "create", "--org", ORG, "--scope", "admin:directory")
    assert result.exit_code == 0
    assert result.stdout.startswith("tka-")


# --- the demo's accounts --------------------------------------------------------------------------


@pytest.fixture
def demo_store(tmp_path: Path) -> SQLiteStore:
    """The demo organization and its workspaces, without the 30 days of events."""
    store = SQLiteStore(str(tmp_path / "demo.db"))
    store.migrate()
    organization = demo_organization()
    admin.create_organization(store, organization.id, organization.name, organization.domain)
    for ws in organization.workspaces:
        admin.create_workspace(store, ws.id, organization.id, ws.name, ws.domain)
    return store


def test_the_demo_has_an_owner_who_can_sign_in_and_an_installable_app(
    demo_store: SQLiteStore,
) -> None:
    access = seed_demo_accounts(demo_store, "http://127.0.0.1:8000")
    organization = demo_organization()
    [owner] = [u for u in organization.users if u.role == "owner"]
    assert access.owner.id == owner.id
    change = ChangeContext(None, CLI_ORIGIN, discard_events, 1_800_000_000)
    assert signin.sign_in(demo_store, owner.email, access.password, POLICY, change)
    assert len(demo_store.list_users(organization.id)) == len(organization.users)
    assert access.app.redirect_urls == ("http://127.0.0.1:8000/demo/oauth-callback",)
    assert apps.is_client_secret(access.app, access.client_secret)
    query = dict(p.split("=", 1) for p in access.install_url.split("?", 1)[1].split("&"))
    assert query["client_id"] == access.app.client_id
    text = install_text(access, "http://127.0.0.1:8000")
    for shown in (access.install_url, owner.email, access.password, access.client_secret):
        assert shown in text
    assert events_of(demo_store, "user_created") == []  # quietly: the history tells the story


def test_running_the_demo_again_reuses_the_app_with_fresh_secrets(demo_store: SQLiteStore) -> None:
    first = seed_demo_accounts(demo_store, "http://127.0.0.1:8000")
    second = seed_demo_accounts(demo_store, "http://127.0.0.1:8000")
    assert second.app.id == first.app.id
    assert second.password != first.password
    assert not apps.is_client_secret(second.app, first.client_secret)
    moved = seed_demo_accounts(demo_store, "http://127.0.0.1:9000")
    assert moved.app.id != first.app.id  # another port, another redirect URL
    assert seed_demo_accounts(demo_store, "http://127.0.0.1:9000").app.id == moved.app.id
    with pytest.raises(NotFound):
        apps.get_app(demo_store, "A0NONE")
