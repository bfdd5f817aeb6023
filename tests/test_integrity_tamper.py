"""Tampering behind the service's back — editing, deleting, reordering and inserting rows
directly in the SQLite file or the PostgreSQL tables — and `verify` catching each, naming the
event; likewise for an export bundle edited after the fact."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import ORG, make_event, serve_in_thread
from test_integrity_service import BACKENDS, T0, LogWorld, open_world
from trailkeeper.config import Settings
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.integrity import merkle
from trailkeeper.integrity.audit import EventColumns, LogAuditor, Report, column_mismatch
from trailkeeper.integrity.bundle import export_bundle, verify_bundle
from trailkeeper.integrity.checkpoint import Checkpoint
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.verifier import ProofClient, StateFile, verify_online
from trailkeeper.web.app import create_app

EVENTS = 100  # + the key's creation event: seq 0..100, a partial last tile
TARGET = 37  # in the tile [32, 48)


class Tamper:
    """A served log, a reader's state, and direct SQL on the database."""

    def __init__(self, world: LogWorld, url: str, token: str, tmp_path: Path) -> None:
        self.world = world
        self.url = url
        self.token = token
        self.state_path = tmp_path / "reader" / "verify.json"
        self.ids = [r.id for r in world.store.events_from(ORG, 0, 10_000)]

    def verify(self, state_path: Path | None = None, **kwargs: Any) -> Report:
        client = ProofClient(self.url, self.token)
        try:
            return verify_online(client, StateFile(state_path or self.state_path), **kwargs)
        finally:
            client.close()

    def sql(self, statement: str, *args: object) -> None:
        """One statement straight into the database (`?` placeholders)."""
        if self.world.url.startswith("sqlite:///"):
            conn = sqlite3.connect(self.world.url.removeprefix("sqlite:///"))
            conn.execute(statement, args)
            conn.commit()
            conn.close()
            return
        import psycopg

        with psycopg.connect(self.world.url, autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s").encode(), args)

    @property
    def is_postgres(self) -> bool:
        return not self.world.url.startswith("sqlite:///")

    def body(self, seq: int) -> bytes:
        return self.world.store.events_from(ORG, seq, 1)[0].body

    # --- the four tamperings ----------------------------------------------------------------

    def edit(self, seq: int, old: bytes, new: bytes) -> None:
        body = self.body(seq)
        assert old in body
        self.sql(
            "UPDATE events SET body = ? WHERE org_id = ? AND seq = ?",
            body.replace(old, new),
            ORG,
            seq,
        )

    def delete(self, seq: int) -> None:
        self.sql("DELETE FROM events WHERE org_id = ? AND seq = ?", ORG, seq)

    def swap(self, first: int, second: int) -> None:
        """Reorder two events: each row takes the other's place in the sequence."""
        tables = ["events", "event_ids"] if self.is_postgres else ["events"]
        for table in tables:
            for old, new in ((first, -1), (second, first), (-1, second)):
                self.sql(f"UPDATE {table} SET seq = ? WHERE org_id = ? AND seq = ?", new, ORG, old)

    def insert(self, seq: int, event_id: str) -> None:
        """A forged event after the last one, as if it had always been there."""
        template = self.world.store.events_from(ORG, 5, 1)[0]
        body = template.body.replace(template.id.encode(), event_id.encode())
        self.sql(
            "INSERT INTO events (org_id, seq, id, date_create, action, actor_id, entity_id, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ORG,
            seq,
            event_id,
            template.date_create,
            template.action,
            template.actor_id,
            template.entity_id,
            body,
        )
        if self.is_postgres:
            self.sql(
                "INSERT INTO event_ids (org_id, id, seq, date_create) VALUES (?, ?, ?, ?)",
                ORG,
                event_id,
                seq,
                template.date_create,
            )


@pytest.fixture(params=BACKENDS)
def tamper(request: pytest.FixtureRequest, tmp_path: Path, settings: Settings) -> Iterator[Tamper]:
    world = open_world(str(request.param), tmp_path, request)
    world.service.generate_key()
    world.add(EVENTS)
    world.service.checkpoint(ORG)
    token, _ = admin.issue_token(world.store, ORG, frozenset({READ_SCOPE}), "auditor")
    app = create_app(
        replace(settings, service_name="tk.test", checkpoint_interval_s=0), world.store
    )
    server, thread, url = serve_in_thread(app)
    try:
        yield Tamper(world, url, token, tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def errors(report: Report) -> list[tuple[int | None, str | None, str]]:
    return [(f.seq, f.event_id, f.message) for f in report.findings if f.severity == "error"]


def verified_first(tamper: Tamper) -> None:
    report = tamper.verify()
    assert report.ok, report.render()
    assert report.events_verified == EVENTS + 1


# --- with the reader's ledger: every tampering is named exactly -------------------------------


def test_an_edited_event_is_named(tamper: Tamper) -> None:
    verified_first(tamper)
    tamper.edit(TARGET, b"81.2.69.160", b"10.9.8.7")
    report = tamper.verify()
    assert not report.ok
    assert errors(report)[0][:2] == (TARGET, tamper.ids[TARGET])
    assert "changed since this reader verified them" in errors(report)[0][2]
    assert f"seq {TARGET} (id {tamper.ids[TARGET]})" in report.render()


def test_a_body_rewritten_with_an_sql_string_function_is_named(tamper: Tamper) -> None:
    verified_first(tamper)
    if tamper.is_postgres:
        sql = (
            "UPDATE events SET body = convert_to(replace(convert_from(body, 'UTF8'),"
            " '81.2.69.160', '10.1.1.1'), 'UTF8')"
        )
    else:  # SQLite's replace() turns the BLOB into TEXT
        sql = "UPDATE events SET body = replace(body, '81.2.69.160', '10.1.1.1')"
    tamper.sql(sql + " WHERE org_id = ? AND seq = ?", ORG, TARGET)
    report = tamper.verify()
    assert errors(report)[0][:2] == (TARGET, tamper.ids[TARGET])


def test_a_deleted_event_is_named(tamper: Tamper) -> None:
    verified_first(tamper)
    tamper.delete(TARGET)
    report = tamper.verify()
    assert not report.ok
    assert (TARGET, None) in [e[:2] for e in errors(report)]
    assert any("missing" in e[2] for e in errors(report) if e[0] == TARGET)


def test_reordered_events_are_both_named(tamper: Tamper) -> None:
    verified_first(tamper)
    tamper.swap(TARGET, TARGET + 1)
    report = tamper.verify()
    named = {e[:2] for e in errors(report)}
    # After the swap the row at seq 37 holds the event that was 38, and the other way round.
    assert (TARGET, tamper.ids[TARGET + 1]) in named
    assert (TARGET + 1, tamper.ids[TARGET]) in named


def test_an_inserted_event_is_named(tamper: Tamper) -> None:
    verified_first(tamper)
    tamper.insert(EVENTS + 1, "forged-1")
    report = tamper.verify()
    assert errors(report)[0][:2] == (EVENTS + 1, "forged-1")
    assert "not in the log's tree" in errors(report)[0][2]


# --- a reader seeing the log for the first time: narrowed to the tile, or exact ---------------


def first_look(tamper: Tamper, tmp_path: Path) -> Report:
    """A reader with the published key pinned and no ledger yet."""
    key = tamper.world.verifier()
    return tamper.verify(tmp_path / "fresh" / "verify.json", pinned=[key])


def test_an_edit_is_narrowed_to_its_tile_without_a_ledger(tamper: Tamper, tmp_path: Path) -> None:
    tamper.edit(TARGET, b"81.2.69.160", b"10.9.8.7")
    report = first_look(tamper, tmp_path)
    assert not report.ok
    (seq, _event_id, message), *_ = errors(report)
    assert seq == 32
    assert "seq 32–47 do not match the signed tree" in message
    assert report.events_verified == EVENTS + 1 - 16
    assert not (tmp_path / "fresh" / "verify.json").exists()  # a failed run changes no state


def test_an_edit_that_contradicts_the_rows_columns_is_named_without_a_ledger(
    tamper: Tamper, tmp_path: Path
) -> None:
    tamper.edit(TARGET, b'"action":"user_login"', b'"action":"user_logout"')
    report = first_look(tamper, tmp_path)
    assert errors(report)[0][:2] == (TARGET, tamper.ids[TARGET])
    assert "the stored action column is 'user_login'" in errors(report)[0][2]


def test_deletion_and_insertion_are_named_without_a_ledger(tamper: Tamper, tmp_path: Path) -> None:
    tamper.delete(TARGET)
    tamper.insert(EVENTS + 1, "forged-2")
    named = {e[:2] for e in errors(first_look(tamper, tmp_path))}
    assert {(TARGET, None), (EVENTS + 1, "forged-2")} <= named


def test_stored_nodes_rewritten_to_match_an_edit_are_still_caught(
    tamper: Tamper, tmp_path: Path
) -> None:
    tamper.edit(TARGET, b"81.2.69.160", b"10.9.8.7")
    tamper.sql(
        "UPDATE merkle_nodes SET hash = ? WHERE org_id = ? AND level = 4 AND idx = 2",
        b"\x01" * 32,
        ORG,
    )
    report = first_look(tamper, tmp_path)
    assert not report.ok
    assert any("neither do the stored subtree hashes" in e[2] for e in errors(report))
    assert any(e[0] == 32 for e in errors(report))


# --- history rewritten under the reader ---------------------------------------------------------


def test_a_checkpoint_signed_over_a_rewritten_history_is_caught(tamper: Tamper) -> None:
    verified_first(tamper)
    # An insider rewrites an old event AND re-signs: new frontier, nodes, checkpoint, same key.
    world = tamper.world
    tamper.edit(3, b"81.2.69.160", b"10.9.8.7")
    records = world.store.events_from(ORG, 0, 10_000)
    from trailkeeper.integrity.tiles import advance_tree

    rebuilt = advance_tree(None, [r.body for r in records], 0)
    tamper.sql("DELETE FROM merkle_nodes WHERE org_id = ?", ORG)
    for level, index, value in rebuilt.nodes:
        tamper.sql("INSERT INTO merkle_nodes VALUES (?, ?, ?, ?)", ORG, level, index, value)
    tamper.sql("UPDATE org_heads SET frontier = ? WHERE org_id = ?", rebuilt.frontier, ORG)
    tamper.sql("DELETE FROM checkpoints WHERE org_id = ?", ORG)
    world.add(1)
    assert world.service.checkpoint(ORG) is not None  # nothing left to compare it with
    report = tamper.verify()
    assert not report.ok
    messages = " ".join(e[2] for e in errors(report))
    assert "does not extend the one of size 101 this reader verified before" in messages
    assert (3, tamper.ids[3]) in {e[:2] for e in errors(report)}


# --- bundles ------------------------------------------------------------------------------------


@pytest.fixture
def bundle(tamper: Tamper, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    export_bundle(tamper.world.service, ORG, target)
    return target


def offline(tamper: Tamper, bundle: Path) -> Report:
    return verify_bundle(bundle, pinned=[tamper.world.verifier()])


def test_a_bundle_of_a_tampered_database_fails(tamper: Tamper, tmp_path: Path) -> None:
    tamper.edit(TARGET, b"81.2.69.160", b"10.9.8.7")
    target = tmp_path / "tampered-bundle"
    export_bundle(tamper.world.service, ORG, target)
    report = offline(tamper, target)
    assert not report.ok
    assert [e[0] for e in errors(report)] == [32]


def test_an_honest_bundle_verifies_offline(tamper: Tamper, bundle: Path) -> None:
    report = offline(tamper, bundle)
    assert report.ok, report.render()
    assert report.events_verified == EVENTS + 1


def rewrite_lines(path: Path, change: Any) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(change(lines)))


@pytest.mark.parametrize(
    "how",
    ["edit", "delete", "swap", "insert", "truncate"],
)
def test_a_bundle_edited_after_export_fails(tamper: Tamper, bundle: Path, how: str) -> None:
    events = bundle / "events.jsonl"

    def change(lines: list[bytes]) -> list[bytes]:
        if how == "edit":
            lines[TARGET] = lines[TARGET].replace(b"81.2.69.160", b"10.9.8.7")
        elif how == "delete":
            del lines[TARGET]
        elif how == "swap":
            lines[TARGET], lines[TARGET + 1] = lines[TARGET + 1], lines[TARGET]
        elif how == "insert":
            lines.insert(TARGET, lines[5])
        else:
            del lines[-1]
        return lines

    rewrite_lines(events, change)
    report = offline(tamper, bundle)
    assert not report.ok
    named = [e[0] for e in errors(report) if e[0] is not None]
    assert named, report.render()
    expected = EVENTS if how == "truncate" else 32  # the last event, or TARGET's tile
    assert expected in named, report.render()


def test_a_bundle_with_a_forged_checkpoint_fails(tamper: Tamper, bundle: Path) -> None:
    rows = [json.loads(line) for line in (bundle / "checkpoints.jsonl").read_text().splitlines()]
    note = rows[-1]["note"]
    origin, size, _root, *rest = note.split("\n")
    forged_root = base64.b64encode(b"\x07" * 32).decode()
    rows[-1]["note"] = "\n".join([origin, size, forged_root, *rest])
    (bundle / "checkpoints.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = offline(tamper, bundle)
    assert not report.ok
    assert "rejected" in report.render()


def test_a_bundle_signed_by_another_key_fails_against_the_pinned_one(
    tamper: Tamper, bundle: Path, tmp_path: Path
) -> None:
    from trailkeeper.integrity.checkpoint import generate_signing_key

    stranger = generate_signing_key("tk.test/audit").verifier
    report = verify_bundle(bundle, pinned=[stranger])
    assert not report.ok
    assert "no signature from a trusted key" in report.render()


def test_a_bundle_without_pinned_keys_says_it_trusts_its_own(tamper: Tamper, bundle: Path) -> None:
    report = verify_bundle(bundle)
    assert report.ok
    assert any("first use" in f.message for f in report.findings)


def test_a_bundle_checked_with_the_readers_ledger_names_the_event(
    tamper: Tamper, bundle: Path, tmp_path: Path
) -> None:
    verified_first(tamper)
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    rewrite_lines(
        copy / "events.jsonl",
        lambda lines: [
            line.replace(b"81.2.69.160", b"10.9.8.7") if n == TARGET else line
            for n, line in enumerate(lines)
        ],
    )
    report = verify_bundle(copy, state=StateFile(tamper.state_path))
    assert errors(report)[0][:2] == (TARGET, tamper.ids[TARGET])


# --- retention: purged events are told apart from deleted ones ----------------------------------


def test_a_retention_purge_is_accounted_for_and_the_rest_still_verifies(
    tamper: Tamper, tmp_path: Path
) -> None:
    from trailkeeper.retention import enforce, set_policy

    world = tamper.world
    set_policy(world.store, world.recorder, ORG, 1)
    purges = enforce(world.store, world.recorder, now=T0 + 50 + 86_400)
    assert [p.purged for p in purges] == [50]  # ev-0 … ev-49: seq 1 … 50
    assert world.service.checkpoint(ORG) is not None
    report = tamper.verify()
    assert report.ok, report.render()
    text = report.render()
    assert "50 events were purged by retention; their kept leaf hashes are part of" in text
    assert "not verified" not in text  # tiles shared with purged events verify in full
    assert (report.events_verified, report.purged_verified) == (EVENTS + 3 - 50, 50)
    assert text.endswith(f"{EVENTS + 3 - 50} events verified, 50 purged by their kept leaf hashes")
    # One more deletion than the purges declare is an error again, named.
    tamper.delete(70)
    failed = tamper.verify()
    assert not failed.ok
    assert (70, None, "is missing: the tree has a leaf here, the log none") in errors(failed)
    assert (
        None,
        None,
        "50 events purged with their leaf hashes kept and 1 missing, but retention purges"
        " recorded in the log declare 50",
    ) in errors(failed)


# --- the auditor alone, on synthetic logs -------------------------------------------------------


def synthetic(count: int, purge_at: int | None = None, purged: int = 0) -> list[bytes]:
    bodies = [b'{"id":"s-%d","action":"user_login"}' % i for i in range(count)]
    if purge_at is not None:
        bodies[purge_at] = (
            b'{"id":"p","action":"audit_logs_purged","actor":{"type":"user","user":{"id":'
            b'"USLACKUSER"}},"details":{"purged_events":%d}}' % purged
        )
    return bodies


def signed_tree(bodies: list[bytes]) -> Checkpoint:
    return Checkpoint(
        "t/audit/E0X", len(bodies), merkle.root_hash([merkle.leaf_hash(b) for b in bodies])
    )


def tile_table(bodies: list[bytes]) -> dict[int, bytes]:
    leaves = [merkle.leaf_hash(b) for b in bodies]
    return {t: merkle.root_hash(leaves[16 * t : 16 * t + 16]) for t in range(len(bodies) // 16)}


def audit(
    bodies: list[bytes],
    fed: dict[int, bytes] | None = None,
    *,
    tiles: bool = True,
    **kwargs: Any,
) -> Report:
    auditor = LogAuditor(signed_tree(bodies), **kwargs)
    for seq, body in sorted((fed if fed is not None else dict(enumerate(bodies))).items()):
        auditor.feed(seq, body)
    return auditor.finish(tile_table(bodies) if tiles else None)


def test_an_intact_log_verifies_every_event() -> None:
    for size in (1, 15, 16, 17, 100, 256):
        report = audit(synthetic(size))
        assert report.ok
        assert report.events_verified == size


def test_missing_events_need_as_many_declared_by_purges() -> None:
    bodies = synthetic(40, purge_at=39, purged=3)
    fed = {s: b for s, b in enumerate(bodies) if s not in (20, 21, 22)}
    assert audit(bodies, fed).ok
    fed.pop(5)
    report = audit(bodies, fed)
    assert not report.ok
    named = {(f.seq, f.message) for f in report.findings if f.severity == "error"}
    assert (5, "is missing: the tree has a leaf here, the log none") in named
    assert (20, "events seq 20–22 are missing") in named
    assert "4 events missing, but retention purges declare 3" in report.render()


def test_the_ledger_fills_in_purged_leaves_so_their_tiles_still_verify() -> None:
    bodies = synthetic(40, purge_at=39, purged=1)
    ledger = b"".join(merkle.leaf_hash(b) for b in bodies)
    fed = {s: b for s, b in enumerate(bodies) if s != 20}
    report = audit(bodies, fed, reference=ledger)
    assert report.ok
    assert "not verified" not in report.render()


def test_a_ledger_names_a_changed_event_even_without_tiles() -> None:
    bodies = synthetic(40)
    ledger = b"".join(merkle.leaf_hash(b) for b in bodies)
    fed = dict(enumerate(bodies)) | {33: b'{"id":"s-33","action":"user_logout"}'}
    report = audit(bodies, fed, tiles=False, reference=ledger)
    assert [(f.seq, f.message) for f in report.findings if f.severity == "error"][-1] == (
        33,
        "its bytes changed since this reader verified them",
    )


def test_an_earlier_root_the_events_do_not_reproduce_is_reported() -> None:
    bodies = synthetic(40)
    report = audit(bodies, checks={20: b"\x05" * 32, 40: b"\x06" * 32})
    assert not report.ok
    assert "do not reproduce the checkpoint of size 20" in report.render()
    assert "checkpoint of size 40" not in report.render()  # its own size is the final check


def test_rows_beyond_the_tree_are_news_or_forgeries() -> None:
    bodies = synthetic(20)
    fed = dict(enumerate(bodies)) | {20: b"new", 21: b"newer", 30: b"forged"}
    report = audit(bodies, fed, log_size=22)
    assert (30, "is not in the log's tree: a row was inserted behind the log's back") in {
        (f.seq, f.message) for f in report.findings
    }
    assert "2 newer events are not covered by this checkpoint yet" in report.render()


def test_a_repeated_sequence_number_is_an_error() -> None:
    bodies = synthetic(20)
    auditor = LogAuditor(signed_tree(bodies))
    for seq, body in enumerate(bodies):
        auditor.feed(seq, body)
    auditor.feed(7, bodies[7])
    report = auditor.finish(tile_table(bodies))
    assert [f.seq for f in report.findings if f.severity == "error"] == [7]


def test_columns_that_contradict_the_bytes_are_named() -> None:
    body = orjson.dumps(make_event(id="e1", date=T0))
    good = EventColumns("e1", T0, "user_login", "U0ANN", "U0ANN")
    assert column_mismatch(body, good) is None
    assert column_mismatch(body, replace(good, actor_id="U0EVE")) == (
        "the stored actor_id column is 'U0EVE' but its bytes say 'U0ANN'"
    )
    assert column_mismatch(b"not json", good) == "its bytes are not a JSON event"


def test_reports_render_a_verdict_and_name_events() -> None:
    report = Report("t/audit/E0X", 9)
    report.add("error", "is missing", 4)
    report.add("warning", "a general remark")
    report.name_events(lambda seqs: {4: "ev-4"})
    assert report.render().splitlines() == [
        "ERROR seq 4 (id ev-4): is missing",
        "WARNING a general remark",
        "FAILED: t/audit/E0X at tree size 9: 0 events verified",
    ]


# --- bundles: the format's own edges ------------------------------------------------------------


def test_a_bundle_of_a_purged_log_lists_the_gaps_and_still_verifies(
    tamper: Tamper, tmp_path: Path
) -> None:
    from trailkeeper.retention import enforce, set_policy

    world = tamper.world
    set_policy(world.store, world.recorder, ORG, 1)
    enforce(world.store, world.recorder, now=T0 + 20 + 86_400)  # ev-0 … ev-19: seq 1 … 20
    world.service.checkpoint(ORG)
    target = tmp_path / "purged"
    summary = export_bundle(world.service, ORG, target)
    assert (summary.tree_size, summary.missing, summary.purged_leaves) == (EVENTS + 3, 20, 20)
    manifest = json.loads((target / "manifest.json").read_text())
    assert (manifest["missing"], manifest["purged_leaves"]) == (list(range(1, 21)), 20)
    assert len((target / "purged.txt").read_text().splitlines()) == 20
    report = offline(tamper, target)
    assert report.ok, report.render()
    assert "20 events were purged by retention" in report.render()
    assert report.purged_verified == 20


def test_a_bundle_remembers_what_it_verified_and_notices_a_shorter_one(
    tamper: Tamper, bundle: Path, tmp_path: Path
) -> None:
    state = StateFile(tmp_path / "auditor.json")
    assert verify_bundle(bundle, pinned=[tamper.world.verifier()], state=state).ok
    assert StateFile(tmp_path / "auditor.json").seen("tk.test/audit/" + ORG) is not None
    tamper.world.add(20, prefix="later")
    tamper.world.service.checkpoint(ORG)
    newer = tmp_path / "newer"
    export_bundle(tamper.world.service, ORG, newer)
    assert verify_bundle(newer, state=StateFile(tmp_path / "auditor.json")).ok
    older = verify_bundle(bundle, state=StateFile(tmp_path / "auditor.json"))
    assert "the bundle ends before size 121 seen earlier" in older.render()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: (b / "keys.json").unlink(), "keys.json is missing"),
        (lambda b: (b / "manifest.json").write_text('{"format": "zip"}'), "unknown bundle format"),
        (lambda b: (b / "checkpoints.jsonl").write_text("{not json\n"), "line 1 is not JSON"),
    ],
    ids=["missing-file", "format", "garbage"],
)
def test_an_unreadable_bundle_is_refused(
    tamper: Tamper, bundle: Path, damage: Any, message: str
) -> None:
    damage(bundle)
    with pytest.raises(IntegrityError, match=message):
        offline(tamper, bundle)


def test_a_bundle_without_its_latest_checkpoint_fails(tamper: Tamper, bundle: Path) -> None:
    (bundle / "checkpoints.jsonl").write_text("")
    report = offline(tamper, bundle)
    assert "no trusted checkpoint of size 101 in the bundle" in report.render()


def test_a_bundle_with_a_broken_consistency_proof_fails(tamper: Tamper, tmp_path: Path) -> None:
    tamper.world.add(30, prefix="more")
    tamper.world.service.checkpoint(ORG)
    target = tmp_path / "two"
    export_bundle(tamper.world.service, ORG, target)
    rows = [json.loads(line) for line in (target / "consistency.jsonl").read_text().splitlines()]
    assert [(r["first"], r["second"]) for r in rows] == [(101, 131)]
    rows[0]["proof"][0] = base64.b64encode(b"\x00" * 32).decode()
    (target / "consistency.jsonl").write_text(json.dumps(rows[0]) + "\n")
    report = offline(tamper, target)
    assert not report.ok
    assert "does not extend the one of size 101" in report.render()
