"""The command line: in process with click's CliRunner, and through the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_OTHER, LiveServer, free_port, make_event
from trailkeeper.cli import cli
from trailkeeper.config import describe_settings
from trailkeeper.directory.tokens import token_hash
from trailkeeper.query import LogFilter
from trailkeeper.storage.sqlite import SQLiteStore

ENTRY_POINT = Path(sys.executable).with_name("trailkeeper")


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str | None]:
    """Every TRAILKEEPER_ variable of the outer environment unset, the database under tmp_path."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TRAILKEEPER_")}
    env["TRAILKEEPER_DATA_DIR"] = str(tmp_path)
    env["TRAILKEEPER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'trailkeeper.db'}"
    env.update(extra)
    return env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return isolated_env(tmp_path)


@pytest.fixture
def run(env: dict[str, str | None]) -> Any:
    """Invoke `trailkeeper ARGS...` in process; unexpected exceptions propagate (a traceback)."""
    runner = CliRunner()

    def invoke(*args: str, input: bytes | str | None = None, **extra_env: str) -> Result:
        return runner.invoke(
            cli,
            list(args),
            input=input,
            env={**env, **extra_env},
            catch_exceptions=False,
            prog_name="trailkeeper",
        )

    return invoke


def assert_clean_error(result: Result, code: int, *fragments: str) -> None:
    """A failure: the exit code, one clear message on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def org_and_workspaces(run: Any) -> None:
    assert (
        run("org", "create", "--id", ORG, "--name", "Test Org", "--domain", "testorg").exit_code
        == 0
    )
    assert (
        run(
            "workspace",
            "create",
            "--id",
            WS_A,
            "--org",
            ORG,
            "--name",
            "Alpha",
            "--domain",
            "alpha",
        ).exit_code
        == 0
    )
    assert (
        run(
            "org", "create", "--id", OTHER_ORG, "--name", "Other Org", "--domain", "otherorg"
        ).exit_code
        == 0
    )
    assert run(
        "workspace", "create", "--id", WS_OTHER, "--org", OTHER_ORG, "--name", "Other",
        "--domain", "other",
    ).exit_code == 0  # fmt: skip


def open_db(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(str(tmp_path / "trailkeeper.db"))


def ndjson(*events: object) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


# --- org and workspace --------------------------------------------------------------------------


def test_org_create_and_list(run: Any, tmp_path: Path) -> None:
    result = run("org", "create", "--id", "E0ACME", "--name", "Acme Corp", "--domain", "acme")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "organization E0ACME (Acme Corp)\n"
    listed = run("org", "list")
    assert listed.exit_code == 0
    assert listed.stdout == "E0ACME\tacme\tAcme Corp\n"
    store = open_db(tmp_path)
    try:
        assert store.get_organization("E0ACME") is not None
    finally:
        store.close()


def test_org_create_identical_twice_is_fine(run: Any) -> None:
    args = ("org", "create", "--id", "E0ACME", "--name", "Acme", "--domain", "acme")
    assert run(*args).exit_code == 0
    assert run(*args).exit_code == 0


def test_org_create_bad_id(run: Any) -> None:
    result = run("org", "create", "--id", "acme", "--name", "Acme", "--domain", "acme")
    assert_clean_error(result, 1, "error: organization id must look like")


def test_org_create_bad_domain(run: Any) -> None:
    result = run("org", "create", "--id", "E0ACME", "--name", "Acme", "--domain", "Acme.com")
    assert_clean_error(result, 1, "error: domain")


def test_org_conflicting_recreate(run: Any) -> None:
    assert (
        run("org", "create", "--id", "E0ACME", "--name", "Acme", "--domain", "acme").exit_code == 0
    )
    result = run("org", "create", "--id", "E0ACME", "--name", "Other", "--domain", "acme")
    assert_clean_error(result, 1, "error: organization E0ACME already exists")


def test_org_create_missing_option(run: Any) -> None:
    result = run("org", "create", "--id", "E0ACME", "--name", "Acme")
    assert result.exit_code == 2
    assert "--domain" in result.stderr
    assert "Traceback" not in result.stderr


def test_workspace_create(run: Any) -> None:
    assert (
        run("org", "create", "--id", "E0ACME", "--name", "Acme", "--domain", "acme").exit_code == 0
    )
    result = run(
        "workspace",
        "create",
        "--id",
        "T0ONE",
        "--org",
        "E0ACME",
        "--name",
        "One",
        "--domain",
        "one",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "workspace T0ONE (One) in E0ACME\n"


def test_workspace_create_unknown_org(run: Any) -> None:
    result = run(
        "workspace",
        "create",
        "--id",
        "T0ONE",
        "--org",
        "E0NOPE",
        "--name",
        "One",
        "--domain",
        "one",
    )
    assert_clean_error(result, 1, "error: no organization E0NOPE")


def test_workspace_create_bad_id(run: Any) -> None:
    assert (
        run("org", "create", "--id", "E0ACME", "--name", "Acme", "--domain", "acme").exit_code == 0
    )
    result = run(
        "workspace",
        "create",
        "--id",
        "E0ONE",
        "--org",
        "E0ACME",
        "--name",
        "One",
        "--domain",
        "one",
    )
    assert_clean_error(result, 1, "error: workspace id must look like")


def test_workspace_conflicting_recreate(run: Any) -> None:
    org_and_workspaces(run)
    result = run(
        "workspace",
        "create",
        "--id",
        WS_A,
        "--org",
        OTHER_ORG,
        "--name",
        "Alpha",
        "--domain",
        "alpha",
    )
    assert_clean_error(result, 1, f"error: workspace {WS_A} already exists")


# --- tokens -------------------------------------------------------------------------------------


def test_token_create_prints_only_the_token(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    result = run("token", "create", "--org", ORG, "--scope", "auditlogs:read", "--label", "siem")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.removesuffix("\n")
    assert result.stdout == token + "\n"
    assert token.startswith("xoxp-")
    assert " " not in token
    assert "\t" not in token
    assert result.stderr.startswith("created tok_")
    assert token not in result.stderr
    store = open_db(tmp_path)
    try:
        record = store.find_token(token_hash(token))
        assert record is not None
        assert record.org_id == ORG
        assert record.label == "siem"
        assert record.scopes == {"auditlogs:read"}
    finally:
        store.close()


def test_token_create_write_and_both_scopes(run: Any) -> None:
    org_and_workspaces(run)
    write = run("token", "create", "--org", ORG, "--scope", "auditlogs:write")
    assert write.exit_code == 0
    assert write.stdout.startswith("tkw-")
    both = run(
        "token", "create", "--org", ORG, "--scope", "auditlogs:write", "--scope", "auditlogs:read"
    )
    assert both.exit_code == 0
    assert both.stdout.startswith("xoxp-")
    assert "auditlogs:read auditlogs:write" in both.stderr


def test_token_create_unknown_org(run: Any) -> None:
    result = run("token", "create", "--org", "E0NOPE", "--scope", "auditlogs:read")
    assert_clean_error(result, 1, "error: no organization E0NOPE")


def test_token_create_bad_scope(run: Any) -> None:
    org_and_workspaces(run)
    result = run("token", "create", "--org", ORG, "--scope", "admin")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "auditlogs:read" in result.stderr


def test_token_list_never_shows_secrets(run: Any) -> None:
    org_and_workspaces(run)
    read = run("token", "create", "--org", ORG, "--scope", "auditlogs:read", "--label", "r").stdout
    write = run("token", "create", "--org", OTHER_ORG, "--scope", "auditlogs:write").stdout
    listed = run("token", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    for secret in (read.strip(), write.strip()):
        assert secret not in listed.stdout
        assert secret.split("-", 1)[1] not in listed.stdout
    assert all(line.startswith("tok_") for line in lines)
    assert any(f"\t{ORG}\tauditlogs:read\tactive\t" in line for line in lines)
    only = run("token", "list", "--org", OTHER_ORG)
    assert len(only.stdout.splitlines()) == 1
    assert f"\t{OTHER_ORG}\tauditlogs:write\t" in only.stdout


def test_token_revoke(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    token = run("token", "create", "--org", ORG, "--scope", "auditlogs:read").stdout.strip()
    token_id = run("token", "list").stdout.split("\t", 1)[0]
    result = run("token", "revoke", token_id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"revoked {token_id}\n"
    assert "\trevoked " in run("token", "list").stdout
    store = open_db(tmp_path)
    try:
        assert store.find_token(token_hash(token)).revoked_at is not None  # type: ignore[union-attr]
    finally:
        store.close()
    assert_clean_error(run("token", "revoke", token_id), 1, f"error: no active token {token_id}")
    assert_clean_error(run("token", "revoke", "tok_nope"), 1, "error: no active token tok_nope")


# --- ingest ---------------------------------------------------------------------------------------


def test_ingest_file(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    path = tmp_path / "events.ndjson"
    path.write_bytes(
        ndjson(make_event(id="f1"), make_event(id="f2", date=BASE_TIME + 1))
        + b"\n"  # line 3: blank, skipped
        + ndjson(make_event(id="f4", location=WS_OTHER))
    )
    result = run("ingest", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "stored 3, already present 0, rejected 0\n"
    assert result.stderr == ""
    again = run("ingest", str(path))
    assert again.exit_code == 0
    assert again.stdout == "stored 0, already present 3, rejected 0\n"
    store = open_db(tmp_path)
    try:
        assert store.count_events(ORG) == 2
        assert store.count_events(OTHER_ORG) == 1
    finally:
        store.close()


def test_ingest_reports_rejected_lines(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(
        ndjson(make_event(id="m1"))  # 1
        + ndjson(make_event("no_such_action", id="m2"))  # 2
        + b"\n"  # 3
        + b"{this is not json\n"  # 4
        + ndjson(make_event(id="m5"))  # 5
        + ndjson(make_event(id="m6", location="T0NOWHERE"))  # 6
        + b"[1, 2]\n"  # 7
    )
    result = run("ingest", str(path))
    assert result.exit_code == 1
    assert result.stdout == "stored 2, already present 0, rejected 4\n"
    problems = result.stderr.splitlines()
    assert len(problems) == 4
    by_line = {p.split(":", 1)[0]: p for p in problems}
    assert set(by_line) == {"line 2", "line 4", "line 6", "line 7"}
    assert "unknown action 'no_such_action'" in by_line["line 2"]
    assert "not valid JSON" in by_line["line 4"]
    assert "unknown workspace 'T0NOWHERE'" in by_line["line 6"]
    assert "an event must be an object" in by_line["line 7"]
    assert "Traceback" not in result.stderr


def test_ingest_stdin(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    body = ndjson(make_event(id="s1"), make_event(id="s2", location=ORG))
    result = run("ingest", "-", input=body)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "stored 2, already present 0, rejected 0\n"
    store = open_db(tmp_path)
    try:
        ids = {orjson.loads(r.body)["id"] for r in store.scan(ORG, LogFilter(), None, 10)}
        assert ids == {"s1", "s2"}
    finally:
        store.close()


def test_ingest_stdin_with_bad_line(run: Any) -> None:
    org_and_workspaces(run)
    result = run("ingest", "-", input=ndjson(make_event(id="x1")) + b"nope\n")
    assert result.exit_code == 1
    assert result.stdout == "stored 1, already present 0, rejected 1\n"
    assert result.stderr.startswith("line 2: not valid JSON")


def test_ingest_empty_input(run: Any) -> None:
    result = run("ingest", "-", input=b"\n\n")
    assert result.exit_code == 0
    assert result.stdout == "stored 0, already present 0, rejected 0\n"


def test_ingest_missing_file(run: Any, tmp_path: Path) -> None:
    result = run("ingest", str(tmp_path / "absent.ndjson"))
    assert result.exit_code == 2
    assert "absent.ndjson" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_assigns_ids_and_dates(run: Any, tmp_path: Path) -> None:
    org_and_workspaces(run)
    before = int(time.time())
    result = run("ingest", "-", input=ndjson(make_event(date=None)))
    assert result.exit_code == 0
    store = open_db(tmp_path)
    try:
        (row,) = store.scan(ORG, LogFilter(), None, 10)
        event = orjson.loads(row.body)
        assert event["id"]
        assert before <= event["date_create"] <= int(time.time()) + 1
    finally:
        store.close()


# --- next to a running server (same database file) ----------------------------------------------


def test_ingest_while_server_runs(run: Any, live_server: LiveServer) -> None:
    """`live_server` serves the store at tmp_path/trailkeeper.db, the file the CLI is pointed at."""
    assert f"{ORG}\ttestorg" in run("org", "list").stdout  # the same database
    first = httpx.post(
        live_server.url + "/ingest/v1/events",
        content=orjson.dumps([make_event(id="http-1")]),
        headers={"Authorization": f"Bearer {live_server.write_token}"},
    )
    assert first.status_code == 200
    body = ndjson(*(make_event(id=f"cli-{i}", date=BASE_TIME + i) for i in range(5)))
    result = run("ingest", "-", input=body)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "stored 5, already present 0, rejected 0\n"
    logs = httpx.get(
        live_server.url + "/audit/v1/logs",
        headers={"Authorization": f"Bearer {live_server.read_token}"},
    )
    assert logs.status_code == 200
    ids = [e["id"] for e in logs.json()["entries"]]
    assert sorted(ids) == sorted(["http-1", *(f"cli-{i}" for i in range(5))])
    rows = live_server.store.scan(ORG, LogFilter(), None, 100)
    assert sorted(r.seq for r in rows) == list(range(6))
    assert live_server.store.count_events(ORG) == 6


def test_workspace_created_by_cli_usable_by_running_server(
    run: Any, live_server: LiveServer
) -> None:
    # The server looks the workspace up (and misses) before the CLI creates it.
    early = httpx.post(
        live_server.url + "/ingest/v1/events",
        content=orjson.dumps([make_event(location="T0LATE")]),
        headers={"Authorization": f"Bearer {live_server.write_token}"},
    )
    assert early.status_code == 400
    created = run(
        "workspace", "create", "--id", "T0LATE", "--org", ORG, "--name", "Late", "--domain", "late"
    )
    assert created.exit_code == 0
    late = httpx.post(
        live_server.url + "/ingest/v1/events",
        content=orjson.dumps([make_event(id="late-1", location="T0LATE")]),
        headers={"Authorization": f"Bearer {live_server.write_token}"},
    )
    assert late.status_code == 200, late.text
    assert late.json()["stored"] == 1


def test_token_created_and_revoked_while_server_runs(run: Any, live_server: LiveServer) -> None:
    logs_url = live_server.url + "/audit/v1/logs"
    created = run("token", "create", "--org", ORG, "--scope", "auditlogs:read")
    assert created.exit_code == 0
    token = created.stdout.strip()
    ok = httpx.get(logs_url, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["entries"] == []
    token_id = next(
        line.split("\t", 1)[0]
        for line in run("token", "list", "--org", ORG).stdout.splitlines()
        if line.split("\t")[0] == live_server.store.find_token(token_hash(token)).id  # type: ignore[union-attr]
    )
    assert run("token", "revoke", token_id).exit_code == 0
    refused = httpx.get(logs_url, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json() == {"ok": False, "error": "invalid_authentication"}
    # The server's own tokens are untouched.
    assert (
        httpx.get(
            logs_url, headers={"Authorization": f"Bearer {live_server.read_token}"}
        ).status_code
        == 200
    )


def test_write_token_from_cli_works_at_once(run: Any, live_server: LiveServer) -> None:
    token = run("token", "create", "--org", ORG, "--scope", "auditlogs:write").stdout.strip()
    response = httpx.post(
        live_server.url + "/ingest/v1/events",
        content=orjson.dumps([make_event(id="w-1")]),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["ids"] == ["w-1"]


# --- settings, migrate, help, bad environment ---------------------------------------------------


def test_settings_lists_every_variable(run: Any) -> None:
    result = run("settings", TRAILKEEPER_PORT="9123")
    assert result.exit_code == 0, result.stderr
    names = [env for _, env, _, _ in describe_settings()]
    assert len(names) >= 10
    for name in names:
        assert f"{name}\n" in result.stdout
    listed = [line for line in result.stdout.splitlines() if line.startswith("TRAILKEEPER_")]
    assert listed == names
    port_block = result.stdout.split("TRAILKEEPER_PORT\n", 1)[1].split("TRAILKEEPER_", 1)[0]
    assert "default: 8000" in port_block
    assert "current: 9123" in port_block


def test_migrate_twice(run: Any, tmp_path: Path) -> None:
    first = run("migrate")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_initial")
    assert (tmp_path / "trailkeeper.db").exists()
    second = run("migrate")
    assert second.exit_code == 0
    assert second.stdout == "database is up to date\n"


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


ALL_COMMANDS = [(), *_command_paths(cli)]


@pytest.mark.parametrize(
    "path", ALL_COMMANDS, ids=[" ".join(p) or "trailkeeper" for p in ALL_COMMANDS]
)
def test_every_command_has_help(run: Any, path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        result = run(*path, flag)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith(" ".join(("Usage: trailkeeper", *path)))
        assert result.stderr == ""


def test_expected_commands_exist() -> None:
    paths = {" ".join(p) for p in ALL_COMMANDS}
    for expected in (
        "org create",
        "org list",
        "workspace create",
        "token create",
        "token list",
        "token revoke",
        "ingest",
        "settings",
        "migrate",
        "serve",
    ):
        assert expected in paths


@pytest.mark.parametrize(
    "args",
    [("settings",), ("migrate",), ("org", "list"), ("token", "list"), ("serve",), ("ingest", "-")],
    ids=" ".join,
)
def test_bad_environment_exits_2(run: Any, args: tuple[str, ...]) -> None:
    result = run(*args, TRAILKEEPER_PORT="abc", input=b"")
    assert_clean_error(result, 2, "TRAILKEEPER_PORT", "expected int")


def test_several_bad_variables_all_reported(run: Any) -> None:
    result = run(
        "settings",
        TRAILKEEPER_PORT="70000",
        TRAILKEEPER_LOG_LEVEL="loud",
        TRAILKEEPER_DATABASE_URL="mysql://db",
    )
    assert_clean_error(
        result, 2, "TRAILKEEPER_PORT", "TRAILKEEPER_LOG_LEVEL", "TRAILKEEPER_DATABASE_URL"
    )


def test_version(run: Any) -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("trailkeeper, version ")


# --- the real entry point -----------------------------------------------------------------------


def real(
    tmp_path: Path, *args: str, stdin: bytes = b"", **extra: str
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
    env.update({k: v for k, v in isolated_env(tmp_path, **extra).items() if v is not None})
    return subprocess.run(
        [str(ENTRY_POINT), *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_entry_point_basics(tmp_path: Path) -> None:
    assert ENTRY_POINT.exists()
    helped = real(tmp_path, "--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith(b"Usage: trailkeeper ")
    made = real(tmp_path, "org", "create", "--id", ORG, "--name", "Test Org", "--domain", "testorg")
    assert made.returncode == 0, made.stderr
    token = real(tmp_path, "token", "create", "--org", ORG, "--scope", "auditlogs:read")
    assert token.returncode == 0
    assert token.stdout.startswith(b"xoxp-")
    assert token.stdout.count(b"\n") == 1
    assert token.stdout.strip().decode() not in token.stderr.decode()
    bad = real(tmp_path, "settings", TRAILKEEPER_PORT="abc")
    assert bad.returncode == 2
    assert bad.stdout == b""
    assert b"TRAILKEEPER_PORT" in bad.stderr
    assert b"Traceback" not in bad.stderr
    conflict = real(tmp_path, "org", "create", "--id", ORG, "--name", "X", "--domain", "x")
    assert conflict.returncode == 1
    assert conflict.stderr.startswith(b"error: ")
    assert b"Traceback" not in conflict.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`trailkeeper serve` as a real process on the tmp_path database; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEPER_")}
    env.update({k: v for k, v in isolated_env(tmp_path).items() if v is not None})
    env["TRAILKEEPER_LOG_LEVEL"] = "warning"
    proc = subprocess.Popen(
        [str(ENTRY_POINT), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_real_processes_share_one_database(tmp_path: Path, run: Any, served: str) -> None:
    """A served process, and CLI processes next to it: ingest, tokens and revocation all at once."""
    org_and_workspaces(run)
    made = real(tmp_path, "token", "create", "--org", ORG, "--scope", "auditlogs:read")
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(served + "/audit/v1/logs", headers=headers).json()["entries"] == []

    body = ndjson(*(make_event(id=f"p-{i}", date=BASE_TIME + i) for i in range(20)))
    loaded = real(tmp_path, "ingest", "-", stdin=body + b"oops\n")
    assert loaded.returncode == 1, loaded.stderr
    assert loaded.stdout == b"stored 20, already present 0, rejected 1\n"
    assert loaded.stderr.startswith(b"line 21: not valid JSON")

    writer = real(tmp_path, "token", "create", "--org", ORG, "--scope", "auditlogs:write")
    posted = httpx.post(
        served + "/ingest/v1/events",
        content=orjson.dumps([make_event(id="p-http", date=BASE_TIME + 100)]),
        headers={"Authorization": f"Bearer {writer.stdout.decode().strip()}"},
    )
    assert posted.status_code == 200, posted.text
    entries = httpx.get(served + "/audit/v1/logs", headers=headers).json()["entries"]
    assert [e["id"] for e in entries] == ["p-http", *(f"p-{i}" for i in reversed(range(20)))]

    store = open_db(tmp_path)
    try:
        assert sorted(r.seq for r in store.scan(ORG, LogFilter(), None, 100)) == list(range(21))
        token_id = store.find_token(token_hash(token)).id  # type: ignore[union-attr]
    finally:
        store.close()
    assert real(tmp_path, "token", "revoke", token_id).returncode == 0
    refused = httpx.get(served + "/audit/v1/logs", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_authentication"
