"""Export bundles: one organization's log as files an auditor verifies offline, and that check.

A bundle is a directory (docs/integrity.md):

    manifest.json      format, origin, org id, tree size, seqs absent from events.jsonl (purged)
    keys.json          [{"vkey": …, "endorsement": …}] every public key of the log
    checkpoints.jsonl  {"tree_size": n, "note": "<signed note>"} per checkpoint, smallest first
    consistency.jsonl  {"first": m, "second": n, "proof": [base64…]}, consecutive checkpoints
    events.jsonl       the stored bytes of each event, one per line, in sequence order
    purged.txt         `<seq> <base64>`: the leaf hash kept for each purged event (optional)
    tiles.txt          `<tile index> <base64>`: the stored hash of each complete 16-leaf tile

Verification trusts only the keys it is given (or, failing that, says it trusts the bundle's).
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from trailkeeper.errors import Conflict, StorageError
from trailkeeper.integrity.audit import LogAuditor, Report
from trailkeeper.integrity.checkpoint import Checkpoint, VerifierKey
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.service import (
    MAX_RANGE,
    CheckpointRecord,
    EntriesPage,
    IntegrityService,
)
from trailkeeper.integrity.verifier import (
    KeyRing,
    PublishedKey,
    SeenCheckpoint,
    StateFile,
    accept_checkpoint,
    check_extends,
)

FORMAT = "trailkeeper-bundle/1"
FILES = ("manifest.json", "keys.json", "checkpoints.jsonl", "consistency.jsonl")


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    origin: str
    tree_size: int
    events: int
    missing: int
    checkpoints: int
    purged_leaves: int = 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _jsonl(path: Path, rows: Sequence[Any]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def export_bundle(
    service: IntegrityService,
    org_id: str,
    target: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write the organization's log up to its latest checkpoint into `target` (a new or empty
    directory)."""
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    latest = service.checkpoint_record(org_id)
    checkpoints = service.checkpoints_up_to(org_id, latest.tree_size)
    with _BundleWriter(target) as writer:
        _export_events(service, org_id, latest.tree_size, writer, progress)
    missing, kept = writer.missing, writer.purged
    _jsonl(
        target / "keys.json",
        [{"vkey": k.vkey, "endorsement": k.endorsement} for k in service.public_keys()],
    )
    _jsonl(target / "checkpoints.jsonl", [_checkpoint_row(c) for c in checkpoints])
    _jsonl(target / "consistency.jsonl", _consistency_rows(service, org_id, checkpoints))
    manifest = {
        "format": FORMAT,
        "origin": service.origin(org_id),
        "org_id": org_id,
        "tree_size": latest.tree_size,
        "root_hash": _b64(latest.root_hash),
        "missing": missing,
        "purged_leaves": kept,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return ExportSummary(
        service.origin(org_id),
        latest.tree_size,
        latest.tree_size - len(missing),
        len(missing),
        len(checkpoints),
        kept,
    )


class _BundleWriter:
    """The streamed files of a bundle: events, kept leaf hashes of purged events, tiles."""

    def __init__(self, target: Path) -> None:
        self._target = target
        self.missing: list[int] = []  # seqs absent from events.jsonl, purged ones included
        self.purged = 0
        self._expected = 0

    def __enter__(self) -> _BundleWriter:
        self._events: IO[bytes] = (self._target / "events.jsonl").open("wb")
        self._purged: IO[str] = (self._target / "purged.txt").open("w")
        self._tiles: IO[str] = (self._target / "tiles.txt").open("w")
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self._events, self._purged, self._tiles):
            stream.close()

    def page(self, page: EntriesPage, end: int) -> None:
        """Write one page of entries (records, kept leaves, tiles) of seq below `end`."""
        for record in page.records:
            self._skip_to(record.seq)
            self._events.write(record.body + b"\n")
        for seq in sorted(s for s in page.purged if s < end):
            self._purged.write(f"{seq} {_b64(page.purged[seq])}\n")
            self.purged += 1
        for index in sorted(page.tiles):
            self._tiles.write(f"{index} {_b64(page.tiles[index])}\n")

    def _skip_to(self, seq: int) -> None:
        self.missing.extend(range(self._expected, seq))
        self._expected = seq + 1

    def finish(self, size: int) -> None:
        """Every seq below `size` not written as an event is missing."""
        self.missing.extend(range(self._expected, size))
        self._expected = size


def _export_events(
    service: IntegrityService,
    org_id: str,
    size: int,
    writer: _BundleWriter,
    progress: Callable[[int], None] | None,
) -> None:
    for start in range(0, size, MAX_RANGE):
        end = min(size, start + MAX_RANGE)
        writer.page(service.entries(org_id, start, end), end)
        if progress is not None:
            progress(end - start)
    writer.finish(size)


def _checkpoint_row(record: CheckpointRecord) -> dict[str, Any]:
    return {"tree_size": record.tree_size, "note": record.note}


def _consistency_rows(
    service: IntegrityService, org_id: str, checkpoints: Sequence[CheckpointRecord]
) -> list[dict[str, Any]]:
    rows = []
    for older, newer in itertools.pairwise(checkpoints):
        try:
            _, _, proof = service.consistency(org_id, older.tree_size, newer.tree_size)
        except StorageError:  # events purged under the old size: the proof cannot be built
            continue
        rows.append(
            {
                "first": older.tree_size,
                "second": newer.tree_size,
                "proof": [_b64(h) for h in proof],
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Offline verification
# ---------------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise IntegrityError(f"{path.name} line {number} is not JSON") from exc
            if not isinstance(row, dict):
                raise IntegrityError(f"{path.name} line {number} is not a JSON object")
            rows.append(row)
    return rows


def _read_manifest(path: Path) -> dict[str, Any]:
    for name in FILES:
        if not (path / name).is_file():
            raise IntegrityError(f"{path} is not a bundle: {name} is missing")
    manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    if not isinstance(manifest, dict):
        raise IntegrityError("manifest.json is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise IntegrityError(f"unknown bundle format {manifest.get('format')!r}")
    if not isinstance(manifest.get("tree_size", 0), int):
        raise IntegrityError("manifest.json: tree_size is not a whole number")
    return manifest


def _read_tiles(path: Path) -> dict[int, bytes]:
    tiles: dict[int, bytes] = {}
    if (path / "tiles.txt").is_file():
        for line in (path / "tiles.txt").read_text("ascii").splitlines():
            index, _, value = line.partition(" ")
            tiles[int(index)] = base64.b64decode(value)
    return tiles


def _read_purged(path: Path) -> dict[int, bytes]:
    """The kept leaf hashes of purged events (`purged.txt`; bundles before it have none)."""
    purged: dict[int, bytes] = {}
    if (path / "purged.txt").is_file():
        for number, line in enumerate((path / "purged.txt").read_text("ascii").splitlines(), 1):
            seq, _, value = line.partition(" ")
            try:
                purged[int(seq)] = base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise IntegrityError(f"purged.txt line {number} is not `<seq> <base64>`") from exc
    return purged


def _feed_bundle(auditor: LogAuditor, path: Path, missing: set[int]) -> None:
    """Events and kept leaf hashes of purged events, merged in sequence order."""
    purged = _read_purged(path)
    pending, at = sorted(purged), 0
    for seq, body in _event_lines(path, missing):
        while at < len(pending) and pending[at] < seq:
            auditor.feed_purged(pending[at], purged[pending[at]])
            at += 1
        auditor.feed(seq, body)
    for seq in pending[at:]:
        auditor.feed_purged(seq, purged[seq])


def _event_lines(path: Path, missing: set[int]) -> Iterator[tuple[int, bytes]]:
    """(seq, bytes) of each line of events.jsonl, skipping the seqs listed as missing."""
    seq = 0
    with (path / "events.jsonl").open("rb") as stream:
        for line in stream:
            while seq in missing:
                seq += 1
            yield seq, line[:-1] if line.endswith(b"\n") else line
            seq += 1


def _ids_offline(path: Path, missing: set[int], seqs: list[int]) -> dict[int, str]:
    wanted, found = set(seqs), {}
    for seq, body in _event_lines(path, missing):
        if seq in wanted:
            try:
                found[seq] = str(orjson.loads(body).get("id"))
            except (orjson.JSONDecodeError, AttributeError):
                continue
    return found


def _accepted_checkpoints(
    rows: list[dict[str, Any]], ring: KeyRing, report: Report, origin: str
) -> list[tuple[Checkpoint, str]]:
    accepted = []
    for row in rows:
        checkpoint = accept_checkpoint(str(row.get("note", "")), ring, report, origin=origin)
        if checkpoint is not None:
            accepted.append((checkpoint, str(row["note"])))
    return accepted


def _check_consistency(
    rows: list[dict[str, Any]], roots: dict[int, bytes], report: Report, origin: str
) -> None:
    """Each listed proof must show one trusted checkpoint extends the previous one."""
    for row in rows:
        first, second = row.get("first"), row.get("second")
        if not isinstance(first, int) or not isinstance(second, int):
            raise IntegrityError("consistency.jsonl: first and second must be whole numbers")
        if first not in roots or second not in roots:
            continue
        proof = [base64.b64decode(h) for h in row["proof"]]
        newer = Checkpoint(origin, second, roots[second])
        check_extends(SeenCheckpoint(first, roots[first], ""), newer, proof, report)


def verify_bundle(
    path: Path,
    *,
    pinned: Sequence[VerifierKey] = (),
    state: StateFile | None = None,
    origin: str | None = None,
) -> Report:
    """Verify a bundle with nothing but its files and the reader's trust (keys, state)."""
    manifest = _read_manifest(path)
    report = Report(str(manifest.get("origin", "")), int(manifest.get("tree_size", 0)))
    origin = origin or report.origin
    ring = KeyRing([*pinned, *(state.trusted_keys() if state else [])])
    published = [
        PublishedKey(k["vkey"], k.get("endorsement")) for k in _read_jsonl(path / "keys.json")
    ]
    if ring.keys:
        ring.learn(published)
    else:
        ring.trust_on_first_use(published, report)
    accepted = _accepted_checkpoints(_read_jsonl(path / "checkpoints.jsonl"), ring, report, origin)
    latest = next((c for c in accepted if c[0].tree_size == report.tree_size), None)
    if latest is None:
        report.add("error", f"no trusted checkpoint of size {report.tree_size} in the bundle")
        return report
    roots = {c.tree_size: c.root_hash for c, _ in accepted}
    _check_consistency(_read_jsonl(path / "consistency.jsonl"), roots, report, origin)
    checks = dict(roots)
    seen = state.seen(origin) if state else None
    if seen is not None:
        if seen.tree_size > report.tree_size:
            report.add("warning", f"the bundle ends before size {seen.tree_size} seen earlier")
        else:
            checks[seen.tree_size] = seen.root_hash
    missing = {int(s) for s in manifest.get("missing", [])}
    auditor = LogAuditor(latest[0], reference=state.ledger(origin) if state else b"", checks=checks)
    auditor.report.findings[:0] = report.findings
    _feed_bundle(auditor, path, missing)
    final = auditor.finish(_read_tiles(path))
    final.name_events(lambda seqs: _ids_offline(path, missing, seqs))
    if final.ok and state is not None:
        state.remember_keys(ring.keys.values())
        state.record(origin, latest[0], latest[1], int(time.time()))
        state.save()
    return final
