"""`trailkeeper keys|checkpoint|export|verify|monitor` in process (click's CliRunner) against real
SQLite databases and real servers: exit codes, what they print, and the monitor catching a
database swapped for another history signed with the same key."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import ORG, WS_A, free_port, make_event, serve_in_thread
from trailkeeper.catalog import load_catalog
from trailkeeper.cli import cli
from trailkeeper.config import Settings
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.integrity.audit import Report
from trailkeeper.integrity.checkpoint import Checkpoint, generate_signing_key
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.service import endorse_key
from trailkeeper.integrity.verifier import (
    KeyRing,
    ProofClient,
    PublishedKey,
    SeenCheckpoint,
    StateFile,
    run_monitor,
    source_id,
    verify_online,
)
from trailkeeper.recorder import Recorder
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.web.app import create_app

SERVICE = "tk.cli"


class Operator:
    """The CLI on one SQLite database, as an operator runs it."""

    def __init__(self, tmp_path: Path, name: str = "trailkeeper") -> None:
        self.path = tmp_path / f"{name}.db"
        self.env = {
            "TRAILKEEPER_DATABASE_URL": f"sqlite:///{self.path}",
            "TRAILKEEPER_SERVICE_NAME": SERVICE,
        }
        self.store = SQLiteStore(str(self.path))
        self.store.migrate()
        admin.create_organization(self.store, ORG, "Test Org", "testorg")
        admin.create_workspace(self.store, WS_A, ORG, "Alpha", "alpha")
        self.recorder = Recorder(self.store, load_catalog())
        self.added = 0

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env)

    def add(self, count: int, prefix: str = "cli") -> None:
        first, self.added = self.added, self.added + count
        report = self.recorder.record_many(
            [
                make_event(id=f"{prefix}-{i}", date=1_700_000_000 + i)
                for i in range(first, self.added)
            ]
        )
        assert not report.rejected
        assert report.stored == count

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    op = Operator(tmp_path)
    yield op
    op.close()


class Switchboard:
    """One URL in front of several apps: swapping `current` swaps the database behind it."""

    def __init__(self, apps: dict[str, Any], current: str) -> None:
        self.apps = apps
        self.current = current

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the apps' background tasks stay off in these tests
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await self.apps[self.current](scope, receive, send)


@pytest.fixture
def serve(settings: Settings) -> Iterator[Any]:
    """Start a server over one or more stores; yields (url, switchboard)."""
    running: list[Any] = []

    def start(stores: dict[str, SQLiteStore], current: str) -> tuple[str, Switchboard]:
        quiet = replace(settings, service_name=SERVICE, checkpoint_interval_s=0)
        board = Switchboard({k: create_app(quiet, s) for k, s in stores.items()}, current)
        server, thread, url = serve_in_thread(board)
        running.append((server, thread))
        return url, board

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


def read_token(op: Operator) -> tuple[str, Any]:
    return admin.issue_token(op.store, ORG, frozenset({READ_SCOPE}), "auditor")


# --- keys and checkpoints -----------------------------------------------------------------------


def test_keys_are_generated_listed_and_rotated(operator: Operator) -> None:
    created = operator.run("keys", "generate")
    assert created.exit_code == 0, created.output
    vkey = created.stdout.strip()
    assert vkey.startswith(f"{SERVICE}/audit+")
    listed = operator.run("keys", "list")
    assert listed.stdout.startswith(f"1\t{vkey}\tcreated ")
    assert "active" in listed.stdout
    again = operator.run("keys", "generate")
    assert again.exit_code == 1
    assert "keys rotate" in again.stderr
    rotated = operator.run("keys", "rotate")
    assert rotated.exit_code == 0
    assert rotated.stdout.strip() != vkey
    lines = operator.run("keys", "list").stdout.splitlines()
    assert "retired" in lines[0]
    assert lines[1].endswith("active")


def test_checkpoint_signs_grown_logs_and_says_when_none_grew(operator: Operator) -> None:
    assert operator.run("checkpoint").stdout.strip() == "no log grew since its last checkpoint"
    operator.run("keys", "generate")
    operator.add(5)
    made = operator.run("checkpoint")
    assert made.exit_code == 0
    assert made.stdout.startswith(f"{ORG}\tsize 6\tsigned by ")
    assert "no log grew" in operator.run("checkpoint", "--org", ORG).stdout


def test_checkpoint_refusing_a_fork_exits_non_zero(operator: Operator) -> None:
    operator.run("keys", "generate")
    operator.add(40)
    operator.run("checkpoint")
    operator.add(40)
    conn = sqlite3.connect(operator.path)
    conn.execute("UPDATE merkle_nodes SET hash = ? WHERE level = 5", (b"\x00" * 32,))
    conn.commit()
    conn.close()
    result = operator.run("checkpoint")
    assert result.exit_code == 1
    assert "refusing to sign" in result.stderr


# --- export and offline verify ------------------------------------------------------------------


def test_an_exported_bundle_verifies_offline_and_an_edit_fails_it(
    operator: Operator, tmp_path: Path
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(50)
    out = tmp_path / "bundle"
    exported = operator.run("export", "--org", ORG, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert "exported 51 events" in exported.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tree_size"] == 51
    state = str(tmp_path / "auditor.json")
    ok = operator.run("verify", "--bundle", str(out), "--key", vkey, "--state", state)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().endswith("51 events verified")
    lines = (out / "events.jsonl").read_bytes().splitlines(keepends=True)
    lines[20] = lines[20].replace(b"user_login", b"user_logout")
    (out / "events.jsonl").write_bytes(b"".join(lines))
    failed = operator.run("verify", "--bundle", str(out), "--key", vkey, "--no-state")
    assert failed.exit_code == 1
    assert "seq 16 (id cli-15): events seq 16–31 do not match the signed tree" in failed.stderr
    assert "FAILED" in failed.stderr


def test_export_refuses_a_non_empty_directory_and_a_log_without_checkpoints(
    operator: Operator, tmp_path: Path
) -> None:
    operator.add(3)
    none = operator.run("export", "--org", ORG, "--out", str(tmp_path / "b"), "--no-checkpoint")
    assert none.exit_code == 1
    assert "no checkpoint" in none.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    busy = operator.run("export", "--org", ORG, "--out", str(tmp_path / "full"))
    assert busy.exit_code == 1


def test_verify_needs_exactly_one_mode(operator: Operator, tmp_path: Path) -> None:
    assert operator.run("verify").exit_code == 2
    both = operator.run("verify", "--url", "http://x", "--bundle", str(tmp_path))
    assert both.exit_code == 2
    assert operator.run("verify", "--url", "http://127.0.0.1:9").exit_code == 2  # no token


def test_an_unreadable_bundle_or_key_cannot_be_checked(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("verify", "--bundle", str(tmp_path), "--no-state")
    assert result.exit_code == 2
    assert "cannot check" in result.stderr
    bad_key = operator.run("verify", "--bundle", str(tmp_path), "--key", "nonsense")
    assert bad_key.exit_code == 2


# --- online verify and monitor ------------------------------------------------------------------


def test_online_verify_passes_then_names_an_event_edited_in_the_file(
    operator: Operator, serve: Any, tmp_path: Path
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(30)
    operator.run("checkpoint")
    token, _ = read_token(operator)
    url, _ = serve({"a": operator.store}, "a")
    state = str(tmp_path / "reader.json")
    args = ("verify", "--url", url, "--token", token, "--key", vkey, "--state", state)
    ok = operator.run(*args)
    assert ok.exit_code == 0, ok.output
    assert "31 events verified" in ok.stdout
    conn = sqlite3.connect(operator.path)
    (body,) = conn.execute("SELECT body FROM events WHERE seq = 12").fetchone()
    edited = bytes(body).replace(b"81.2.69.160", b"10.0.0.1")
    conn.execute("UPDATE events SET body = ? WHERE seq = 12", (edited,))
    conn.commit()
    conn.close()
    failed = operator.run(*args)
    assert failed.exit_code == 1
    assert (
        "ERROR seq 12 (id cli-11): its bytes changed since this reader verified them"
        in failed.stderr
    )


def test_verify_against_nothing_cannot_check(operator: Operator, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = ("--url", url, "--token", "t", "--state", str(tmp_path / "s.json"))
    result = operator.run("verify", *args)
    assert result.exit_code == 2
    assert "cannot check" in result.stderr
    polled = operator.run("monitor", *args, "--count", "1")
    assert polled.exit_code == 2
    assert "could not poll" in polled.stderr


def twin(tmp_path: Path, original: Operator, token_record: Any, events: int) -> Operator:
    """Another database: the same organization, signing key and token; another history."""
    other = Operator(tmp_path, "twin")
    other.store.add_token(token_record)
    other.store.add_signing_key(original.store.signing_keys(private=True)[0])
    other.add(events, prefix="rewritten")
    assert other.run("checkpoint").exit_code == 0
    return other


@pytest.mark.parametrize(("twin_events", "alert"), [(60, "does not extend"), (5, "shrank")])
def test_monitor_alerts_when_the_database_is_swapped_for_another_history(
    operator: Operator, serve: Any, tmp_path: Path, twin_events: int, alert: str
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(20)
    operator.run("checkpoint")
    token, record = read_token(operator)
    other = twin(tmp_path, operator, record, twin_events)
    url, board = serve({"honest": operator.store, "twin": other.store}, "honest")
    state = str(tmp_path / "monitor.json")
    args = ("monitor", "--url", url, "--token", token, "--key", vkey, "--state", state)
    calm = operator.run(*args, "--count", "2", "--interval", "0.1")
    assert calm.exit_code == 0, calm.output
    assert calm.stdout.count(f"ok: {SERVICE}/audit/{ORG} size 21") == 2
    operator.add(3)
    operator.run("checkpoint")
    assert operator.run(*args, "--count", "1").exit_code == 0  # growth is fine
    board.current = "twin"
    alarmed = operator.run(*args, "--count", "5", "--interval", "0.1")
    assert alarmed.exit_code == 1
    assert "ALERT" in alarmed.stderr
    assert alert in alarmed.stderr
    # The state still holds the honest checkpoint: the alert repeats until someone looks.
    saved = json.loads(Path(state).read_text())
    assert saved["logs"][f"{SERVICE}/audit/{ORG}"]["tree_size"] == 24
    assert operator.run(*args, "--count", "1").exit_code == 1
    other.close()


def test_monitor_refuses_a_checkpoint_signed_by_an_unknown_key(
    operator: Operator, serve: Any, tmp_path: Path
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(4)
    operator.run("checkpoint")
    token, record = read_token(operator)
    impostor = Operator(tmp_path, "impostor")
    impostor.store.add_token(record)
    impostor.run("keys", "generate")
    impostor.add(10)
    impostor.run("checkpoint")
    url, _ = serve({"impostor": impostor.store}, "impostor")
    result = operator.run(
        "monitor", "--url", url, "--token", token, "--key", vkey,
        "--state", str(tmp_path / "m.json"), "--count", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no signature from a trusted key" in result.stderr
    impostor.close()


def test_a_rotated_key_is_followed_through_its_endorsement(
    operator: Operator, serve: Any, tmp_path: Path
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(4)
    operator.run("checkpoint")
    token, _ = read_token(operator)
    url, _ = serve({"a": operator.store}, "a")
    state = tmp_path / "m.json"
    args = ("monitor", "--url", url, "--token", token, "--key", vkey, "--state", str(state))
    assert operator.run(*args, "--count", "1").exit_code == 0
    new_vkey = operator.run("keys", "rotate").stdout.strip()
    rotated = operator.run(*args, "--count", "1")
    assert rotated.exit_code == 0, rotated.output
    assert new_vkey in json.loads(state.read_text())["keys"]
    verify = operator.run("verify", "--url", url, "--token", token, "--state", str(state))
    assert verify.exit_code == 0, verify.output


# --- the reader's tools: trust, state, the monitor loop -----------------------------------------


def test_trust_follows_endorsements_across_rotations_in_any_order() -> None:
    first, second, third = (generate_signing_key("k/audit") for _ in range(3))
    published = [
        PublishedKey(third.verifier.to_vkey(), endorse_key(second, third.verifier, 3)),
        PublishedKey(first.verifier.to_vkey()),
        PublishedKey(second.verifier.to_vkey(), endorse_key(first, second.verifier, 2)),
    ]
    ring = KeyRing([first.verifier])
    learned = ring.learn(published)
    assert learned == [second.verifier, third.verifier]
    assert set(ring.keys) == {k.verifier.to_vkey() for k in (first, second, third)}


def test_trust_is_not_extended_to_unendorsed_or_mislabelled_keys() -> None:
    first, second, stranger = (generate_signing_key("k/audit") for _ in range(3))
    ring = KeyRing([first.verifier])
    forged = [
        PublishedKey(stranger.verifier.to_vkey()),  # no endorsement
        PublishedKey(stranger.verifier.to_vkey(), endorse_key(stranger, stranger.verifier, 1)),
        PublishedKey(stranger.verifier.to_vkey(), endorse_key(first, second.verifier, 1)),
    ]
    assert ring.learn(forged) == []
    assert set(ring.keys) == {first.verifier.to_vkey()}


def test_trust_on_first_use_takes_only_the_logs_root_keys_and_says_so() -> None:
    first, second, stranger = (generate_signing_key("k/audit") for _ in range(3))
    report = Report()
    ring = KeyRing()
    ring.trust_on_first_use(
        [
            PublishedKey(first.verifier.to_vkey()),
            PublishedKey(second.verifier.to_vkey(), endorse_key(first, second.verifier, 2)),
            PublishedKey(stranger.verifier.to_vkey(), "not an endorsement"),
        ],
        report,
    )
    assert set(ring.keys) == {first.verifier.to_vkey(), second.verifier.to_vkey()}
    assert report.ok
    assert "first use" in report.findings[0].message


def test_the_state_file_round_trips_and_never_moves_backwards(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    state = StateFile(path)
    assert state.seen("o/audit/E0X") is None
    key = generate_signing_key("k/audit").verifier
    state.remember_keys([key])
    state.pin_origin("https://h#abc", "o/audit/E0X")
    state.record("o/audit/E0X", Checkpoint("o/audit/E0X", 10, b"\x01" * 32), "note-10", 5)
    state.record("o/audit/E0X", Checkpoint("o/audit/E0X", 4, b"\x02" * 32), "note-4", 6)
    state.save_ledger("o/audit/E0X", b"\x03" * 64)
    state.save()
    again = StateFile(path)
    assert again.trusted_keys() == [key]
    assert again.origin_of("https://h#abc") == "o/audit/E0X"
    assert again.seen("o/audit/E0X") == SeenCheckpoint(10, b"\x01" * 32, "note-10")
    assert again.ledger("o/audit/E0X") == b"\x03" * 64
    assert again.ledger("other") == b""
    path.write_text('{"version": 99}')
    with pytest.raises(IntegrityError):
        StateFile(path)


def test_a_source_is_named_without_its_token() -> None:
    named = source_id("https://audit.example.com/", "xoxp-secret")
    assert named.startswith("https://audit.example.com#")
    assert "secret" not in named


def test_the_monitor_loop_stops_at_the_first_alert_or_after_count() -> None:
    results = [Report(), Report(), Report()]
    results[1].add("error", "split view")
    polls = iter(results)
    seen: list[Report] = []
    slept: list[float] = []
    final = run_monitor(
        lambda: next(polls), interval_s=3, count=None, on_report=seen.append, sleep=slept.append
    )
    assert not final.ok
    assert len(seen) == 2
    assert slept == [3]
    calm = run_monitor(Report, interval_s=1, count=3, on_report=seen.append, sleep=slept.append)
    assert calm.ok
    assert slept == [3, 1, 1]


def test_a_server_that_changes_its_log_identity_is_caught(
    operator: Operator, serve: Any, tmp_path: Path
) -> None:
    operator.run("keys", "generate")
    operator.add(3)
    operator.run("checkpoint")
    token, _ = read_token(operator)
    url, _ = serve({"a": operator.store}, "a")
    state_path = tmp_path / "s.json"
    client = ProofClient(url, token)
    try:
        assert verify_online(client, StateFile(state_path)).ok
        pinned = verify_online(client, StateFile(state_path), origin=f"{SERVICE}/audit/E0ELSE")
        assert "expected 'tk.cli/audit/E0ELSE'" in pinned.render()
        state = StateFile(state_path)
        state.pin_origin(client.source, "tk.cli/audit/E0FIRST")  # what it served before
        state.save()
        report = verify_online(client, StateFile(state_path))
        assert not report.ok
        assert (
            "is for log 'tk.cli/audit/E0TEST', expected 'tk.cli/audit/E0FIRST'" in report.render()
        )
    finally:
        client.close()


def test_keys_and_tokens_can_come_from_files(
    operator: Operator, serve: Any, tmp_path: Path
) -> None:
    vkey = operator.run("keys", "generate").stdout.strip()
    operator.add(3)
    operator.run("checkpoint")
    token, _ = read_token(operator)
    url, _ = serve({"a": operator.store}, "a")
    (tmp_path / "trusted.vkeys").write_text(f"\n{vkey}\n\n")
    (tmp_path / "read.token").write_text(token + "\n")
    result = operator.run(
        "verify", "--url", url, "--token-file", str(tmp_path / "read.token"),
        "--key-file", str(tmp_path / "trusted.vkeys"), "--state", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "first use" not in result.output
    no_state = operator.run("verify", "--url", url, "--token", token, "--no-state")
    assert no_state.exit_code == 2
