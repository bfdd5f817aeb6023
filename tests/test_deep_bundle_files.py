"""`trailkeeper verify --bundle` over damaged bundles and state files: every file missing or
malformed is exit 2 with one clear line and no traceback, every tampering is exit 1 naming
what is wrong, and harmless differences still verify and say what they cover."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import ORG
from test_integrity_service import LogWorld
from trailkeeper.cli import cli
from trailkeeper.integrity import merkle
from trailkeeper.integrity.bundle import FILES, export_bundle
from trailkeeper.integrity.checkpoint import generate_signing_key
from trailkeeper.storage import open_store

ORIGIN = "tk.test/audit/E0TEST"
SIZE = 41  # the key's creation event and 40 more, checkpoints at 21 and 41


@dataclass(frozen=True)
class Honest:
    """An exported bundle of two checkpoints and the log's public key."""

    path: Path
    vkey: str


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Honest]:
    root = tmp_path_factory.mktemp("bundle")
    url = f"sqlite:///{root / 'integrity.db'}"
    store = open_store(url)
    store.migrate()
    world = LogWorld(store, url)
    world.service.generate_key()
    world.add(20)
    world.service.checkpoint(ORG)
    world.add(20)
    world.service.checkpoint(ORG)
    export_bundle(world.service, ORG, root / "bundle")
    yield Honest(root / "bundle", world.verifier().to_vkey())
    store.close()


@pytest.fixture
def bundle(honest: Honest, tmp_path: Path) -> Path:
    """A private copy of the honest bundle, to damage."""
    return Path(shutil.copytree(honest.path, tmp_path / "copy"))


def verify(bundle: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["verify", "--bundle", str(bundle), *args])


def pinned(bundle: Path, honest: Honest) -> Result:
    return verify(bundle, "--no-state", "--key", honest.vkey)


def assert_cannot_check(result: Result, *fragments: str) -> None:
    """Exit 2, one `error: cannot check:` line on stderr, no traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: cannot check: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def assert_fails(result: Result, *fragments: str) -> None:
    """Exit 1 with the report on stderr, its verdict last."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("FAILED: tk.test/audit/E0")
    for fragment in fragments:
        assert fragment in result.stderr


def manifest_with(bundle: Path, **changes: Any) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    (bundle / "manifest.json").write_text(json.dumps({**manifest, **changes}))


def event_lines(bundle: Path) -> list[bytes]:
    return (bundle / "events.jsonl").read_bytes().splitlines(keepends=True)


# --- honest ---------------------------------------------------------------------------------


def test_the_honest_bundle_verifies_against_its_pinned_key(bundle: Path, honest: Honest) -> None:
    result = pinned(bundle, honest)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"OK: {ORIGIN} at tree size {SIZE}: {SIZE} events verified\n"


def test_the_keys_may_come_from_a_file_with_blank_lines(
    bundle: Path, honest: Honest, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"\n  {honest.vkey}  \n\n")
    result = verify(bundle, "--no-state", "--key-file", str(keys))
    assert result.exit_code == 0, result.stderr


def test_without_a_pinned_key_the_bundle_says_it_trusts_its_own(bundle: Path) -> None:
    result = verify(bundle, "--no-state")
    assert result.exit_code == 0
    assert "on first use" in result.stdout
    assert "pin one with --key" in result.stdout


# --- files missing or unreadable: exit 2 -----------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_each_required_file_missing_is_named(bundle: Path, honest: Honest, name: str) -> None:
    (bundle / name).unlink()
    assert_cannot_check(pinned(bundle, honest), f"is not a bundle: {name} is missing")


def test_missing_events_file_cannot_be_checked(bundle: Path, honest: Honest) -> None:
    (bundle / "events.jsonl").unlink()
    assert_cannot_check(pinned(bundle, honest), "events.jsonl")


def test_an_empty_directory_is_not_a_bundle(tmp_path: Path, honest: Honest) -> None:
    assert_cannot_check(pinned(tmp_path, honest), "manifest.json is missing")


def test_a_file_in_place_of_the_directory_is_a_usage_error(bundle: Path, honest: Honest) -> None:
    result = pinned(bundle / "manifest.json", honest)
    assert result.exit_code == 2
    assert "is a file" in result.stderr
    assert "Traceback" not in result.stderr


Damage = Callable[[Path], object]

UNREADABLE: dict[str, tuple[Damage, str]] = {
    "manifest-not-json": (lambda b: (b / "manifest.json").write_text("{"), "Expecting"),
    "manifest-not-utf8": (lambda b: (b / "manifest.json").write_bytes(b"\xff\xfe"), "utf-8"),
    "manifest-format": (lambda b: manifest_with(b, format="zip/9"), "unknown bundle format"),
    "manifest-size": (lambda b: manifest_with(b, tree_size="many"), "tree_size is not a whole"),
    "manifest-missing": (lambda b: manifest_with(b, missing=["x"]), "invalid literal"),
    "keys-without-vkey": (lambda b: (b / "keys.json").write_text("{}\n"), "'vkey'"),
    "keys-not-json": (lambda b: (b / "keys.json").write_text("vkey\n"), "keys.json line 1"),
    "checkpoints-not-json": (
        lambda b: (b / "checkpoints.jsonl").write_text('{"tree_size": 41}\n{\n'),
        "checkpoints.jsonl line 2 is not JSON",
    ),
    "consistency-first": (
        lambda b: (b / "consistency.jsonl").write_text('{"first":"a","second":41,"proof":[]}\n'),
        "first and second must be whole numbers",
    ),
    "purged-line": (lambda b: (b / "purged.txt").write_text("x y\n"), "purged.txt line 1"),
    "purged-base64": (
        lambda b: (b / "purged.txt").write_text("3 !!!!\n"),
        "purged.txt line 1 is not `<seq> <base64>`",
    ),
    "tiles-index": (lambda b: (b / "tiles.txt").write_text("zz abc\n"), "padding"),
    "tiles-not-ascii": (lambda b: (b / "tiles.txt").write_bytes("0 é\n".encode()), "ascii"),
}


@pytest.mark.parametrize("case", UNREADABLE, ids=str)
def test_unreadable_files_cannot_be_checked(bundle: Path, honest: Honest, case: str) -> None:
    damage, fragment = UNREADABLE[case]
    damage(bundle)
    assert_cannot_check(pinned(bundle, honest), fragment)


MISSHAPEN: dict[str, Damage] = {
    "manifest-is-a-list": lambda b: (b / "manifest.json").write_text("[]"),
    "manifest-size-null": lambda b: manifest_with(b, tree_size=None),
    "keys-row-is-a-list": lambda b: (b / "keys.json").write_text("[1]\n"),
    "checkpoint-row-is-a-string": lambda b: (b / "checkpoints.jsonl").write_text('"x"\n'),
    "consistency-first-null": lambda b: (b / "consistency.jsonl").write_text(
        '{"first":null,"second":41,"proof":[]}\n'
    ),
}


@pytest.mark.parametrize("case", MISSHAPEN, ids=str)
def test_rows_of_the_wrong_json_type_cannot_be_checked(
    bundle: Path, honest: Honest, case: str
) -> None:
    MISSHAPEN[case](bundle)
    assert_cannot_check(pinned(bundle, honest))


# --- state files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{", "Expecting property name"),
        (b"\xff", "utf-8"),
        (b"[]", "is not a Trailkeeper verification state file"),
        (b'{"version": 99}', "is not a Trailkeeper verification state file"),
        (b'{"version": 1, "logs": {"' + ORIGIN.encode() + b'": {"tree_size": 5}}}', "root_hash"),
    ],
    ids=["truncated", "not-utf8", "a-list", "other-version", "entry-without-root"],
)
def test_an_unreadable_state_file_cannot_be_checked(
    bundle: Path, honest: Honest, tmp_path: Path, content: bytes, fragment: str
) -> None:
    state = tmp_path / "verify.json"
    state.write_bytes(content)
    assert_cannot_check(verify(bundle, "--state", str(state), "--key", honest.vkey), fragment)
    assert state.read_bytes() == content  # never overwritten


@pytest.mark.parametrize("content", ['{"version":1,"logs":[]}', '{"version":1,"keys":[1]}'])
def test_a_misshapen_state_file_cannot_be_checked(
    bundle: Path, honest: Honest, tmp_path: Path, content: str
) -> None:
    state = tmp_path / "verify.json"
    state.write_text(content)
    assert_cannot_check(verify(bundle, "--state", str(state), "--key", honest.vkey))


def test_a_state_file_is_written_only_after_a_good_verification(
    bundle: Path, honest: Honest, tmp_path: Path
) -> None:
    state = tmp_path / "reader" / "verify.json"
    lines = event_lines(bundle)
    (bundle / "events.jsonl").write_bytes(b"".join(lines[:5] + lines[6:]))
    assert verify(bundle, "--state", str(state), "--key", honest.vkey).exit_code == 1
    assert not state.exists()


def test_a_good_verification_remembers_the_key_and_the_checkpoint(
    bundle: Path, honest: Honest, tmp_path: Path
) -> None:
    state = tmp_path / "verify.json"
    assert verify(bundle, "--state", str(state), "--key", honest.vkey).exit_code == 0
    saved = json.loads(state.read_text())
    assert saved["keys"] == [honest.vkey]
    assert saved["logs"][ORIGIN]["tree_size"] == SIZE
    again = verify(bundle, "--state", str(state))  # the state now carries the trust
    assert again.exit_code == 0
    assert "on first use" not in again.stdout


# --- tampering: exit 1, named ----------------------------------------------------------------


def test_a_manifest_that_hides_an_event_as_missing_fails(bundle: Path, honest: Honest) -> None:
    manifest_with(bundle, missing=[5])
    assert_fails(pinned(bundle, honest), "do not reproduce the checkpoint")


def test_a_manifest_naming_another_origin_fails(bundle: Path, honest: Honest) -> None:
    manifest_with(bundle, origin="tk.test/audit/E0OTHER")
    result = pinned(bundle, honest)
    assert_fails(result, "checkpoint is for log", "no trusted checkpoint")
    assert result.stderr.endswith(
        "FAILED: tk.test/audit/E0OTHER at tree size 41: 0 events verified\n"
    )


def test_a_pinned_origin_that_differs_fails(bundle: Path, honest: Honest) -> None:
    result = verify(bundle, "--no-state", "--key", honest.vkey, "--origin", "tk.test/audit/E0X")
    assert_fails(result, "expected 'tk.test/audit/E0X'")


def test_a_key_that_did_not_sign_the_log_trusts_no_checkpoint(
    bundle: Path,
) -> None:
    stranger = generate_signing_key("tk.test/audit").verifier.to_vkey()
    result = verify(bundle, "--no-state", "--key", stranger)
    assert_fails(result, "no signature from a trusted key", "0 events verified")


def test_an_extra_line_in_a_signed_checkpoint_breaks_its_signature(
    bundle: Path, honest: Honest
) -> None:
    text = (bundle / "checkpoints.jsonl").read_text()
    (bundle / "checkpoints.jsonl").write_text(text.replace("\\ntime", "\\nextra\\ntime"))
    assert_fails(pinned(bundle, honest), "invalid signature for trusted key")


@pytest.mark.parametrize("note", ['""', "null", '"\\n\\n"'])
def test_an_empty_checkpoint_note_is_rejected(bundle: Path, honest: Honest, note: str) -> None:
    (bundle / "checkpoints.jsonl").write_text(f'{{"tree_size": {SIZE}, "note": {note}}}\n')
    assert_fails(pinned(bundle, honest), "checkpoint rejected", "no trusted checkpoint")


def test_a_purged_leaf_invented_for_a_kept_event_fails(bundle: Path, honest: Honest) -> None:
    fake = base64.b64encode(bytes(32)).decode()
    (bundle / "purged.txt").write_text(f"3 {fake}\n")
    assert_fails(pinned(bundle, honest), "seq 3", "appears twice or out of order")


def test_a_purged_leaf_of_the_wrong_size_fails(bundle: Path, honest: Honest) -> None:
    lines = event_lines(bundle)
    (bundle / "events.jsonl").write_bytes(b"".join(lines[:40]))
    (bundle / "purged.txt").write_text(f"40 {base64.b64encode(b'short').decode()}\n")
    assert_fails(pinned(bundle, honest), "kept leaf hash of this purged event is not 32 bytes")


def test_an_emptied_event_file_fails(bundle: Path, honest: Honest) -> None:
    (bundle / "events.jsonl").write_bytes(b"")
    assert_fails(pinned(bundle, honest), "the last events of the tree are missing")


def test_a_garbled_consistency_proof_fails(bundle: Path, honest: Honest) -> None:
    row = json.loads((bundle / "consistency.jsonl").read_text())
    (bundle / "consistency.jsonl").write_text(json.dumps({**row, "proof": ["!!!"]}) + "\n")
    assert_fails(pinned(bundle, honest), "does not extend the one of size 21")


def perfect_root(bodies: list[bytes]) -> bytes:
    level = [merkle.leaf_hash(body) for body in bodies]
    while len(level) > 1:
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_tiles_rewritten_to_match_an_edit_cannot_make_it_pass(bundle: Path, honest: Honest) -> None:
    bodies = [line.rstrip(b"\n") for line in event_lines(bundle)]
    bodies[7] = bodies[7].replace(b"81.2.69.160", b"10.9.8.7")
    assert bodies[7] != event_lines(bundle)[7].rstrip(b"\n")
    (bundle / "events.jsonl").write_bytes(b"".join(body + b"\n" for body in bodies))
    tiles = [perfect_root(bodies[i : i + 16]) for i in (0, 16)]
    (bundle / "tiles.txt").write_text(
        "".join(f"{i} {base64.b64encode(t).decode()}\n" for i, t in enumerate(tiles))
    )
    assert_fails(pinned(bundle, honest), "neither do the stored subtree hashes")


def test_an_edit_in_the_second_tile_is_narrowed_to_it(bundle: Path, honest: Honest) -> None:
    lines = event_lines(bundle)
    lines[20] = lines[20].replace(b"81.2.69.160", b"10.9.8.7")
    (bundle / "events.jsonl").write_bytes(b"".join(lines))
    assert_fails(pinned(bundle, honest), "ERROR seq 16 (id ev-15): events seq 16–31")


# --- harmless differences: still OK, and said -------------------------------------------------


def test_an_event_beyond_the_checkpoint_is_reported_as_not_covered(
    bundle: Path, honest: Honest
) -> None:
    with (bundle / "events.jsonl").open("ab") as events:
        events.write(b'{"id": "later"}\n')
    result = pinned(bundle, honest)
    assert result.exit_code == 0
    assert "INFO 1 newer events are not covered by this checkpoint yet" in result.stdout


def test_a_manifest_cut_back_to_an_earlier_checkpoint_verifies_only_up_to_it(
    bundle: Path, honest: Honest
) -> None:
    manifest_with(bundle, tree_size=21)
    result = pinned(bundle, honest)
    assert result.exit_code == 0
    assert "INFO 20 newer events are not covered" in result.stdout
    assert result.stdout.endswith(f"OK: {ORIGIN} at tree size 21: 21 events verified\n")


def test_a_manifest_size_without_a_signed_checkpoint_fails(bundle: Path, honest: Honest) -> None:
    manifest_with(bundle, tree_size=30)
    assert_fails(pinned(bundle, honest), "no trusted checkpoint of size 30 in the bundle")


def test_wrong_tiles_do_not_matter_when_the_events_reproduce_the_root(
    bundle: Path, honest: Honest
) -> None:
    (bundle / "tiles.txt").write_text(f"0 {base64.b64encode(bytes(32)).decode()}\n")
    assert pinned(bundle, honest).exit_code == 0
    (bundle / "tiles.txt").unlink()
    assert pinned(bundle, honest).exit_code == 0
