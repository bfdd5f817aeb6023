"""Checking a log without trusting its server: trust in keys, the reader's state file, and the
online `verify` and `monitor` over the proof API (httpx).

The event-by-event audit itself is `integrity.audit.LogAuditor`, shared with offline
verification of export bundles (`integrity.bundle`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from trailkeeper.integrity import merkle
from trailkeeper.integrity.audit import EventColumns, LogAuditor, Report
from trailkeeper.integrity.checkpoint import (
    Checkpoint,
    VerifierKey,
    parse_checkpoint,
    verify_checkpoint,
)
from trailkeeper.integrity.errors import IntegrityError
from trailkeeper.integrity.service import endorsed_key

PAGE = 8192  # entries per request: a power of two, so pages hold whole tiles
STATE_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Trust in keys
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedKey:
    """A public key as a log publishes it: the vkey and, after a rotation, its endorsement."""

    vkey: str
    endorsement: str | None = None


class KeyRing:
    """The verifier keys a reader trusts; a new key is trusted only if a trusted key endorsed it."""

    def __init__(self, trusted: Iterable[VerifierKey] = ()) -> None:
        self.keys: dict[str, VerifierKey] = {k.to_vkey(): k for k in trusted}

    def learn(self, published: Sequence[PublishedKey]) -> list[VerifierKey]:
        """Trust every published key endorsed (transitively) by a trusted one; return them."""
        learned: list[VerifierKey] = []
        progress = True
        while progress:
            progress = False
            for item in published:
                if item.vkey in self.keys or not item.endorsement:
                    continue
                try:
                    key = endorsed_key(item.endorsement, self.keys.values())
                except IntegrityError:
                    continue
                if key.to_vkey() == item.vkey:
                    self.keys[item.vkey] = key
                    learned.append(key)
                    progress = True
        return learned

    def trust_on_first_use(self, published: Sequence[PublishedKey], report: Report) -> None:
        """With nothing pinned, trust the log's unendorsed (first) keys, and say so."""
        first = [VerifierKey.from_vkey(p.vkey) for p in published if not p.endorsement]
        for key in first:
            self.keys[key.to_vkey()] = key
        self.learn(published)
        names = ", ".join(k.to_vkey() for k in first) or "none"
        report.add(
            "warning",
            f"no key pinned: trusting the log's own key(s) on first use ({names});"
            " pin one with --key to detect a replaced key",
        )


# ---------------------------------------------------------------------------------------------
# The reader's state: last verified checkpoint per log, trusted keys, leaf ledgers
# ---------------------------------------------------------------------------------------------


def default_state_path() -> Path:
    """`$XDG_STATE_HOME/trailkeeper/verify.json` (default `~/.local/state/…`)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "trailkeeper" / "verify.json"


@dataclass(frozen=True)
class SeenCheckpoint:
    """The last checkpoint of a log this reader verified."""

    tree_size: int
    root_hash: bytes
    note: str


def _check_state_shape(path: Path, data: Mapping[str, Any]) -> None:
    """A state file's parts have the types this verifier writes (a hand edit may break them)."""
    keys, sources, logs = data["keys"], data["sources"], data["logs"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise IntegrityError(f"{path}: keys must be a list of vkey strings")
    if not isinstance(sources, dict) or not isinstance(logs, dict):
        raise IntegrityError(f"{path}: sources and logs must be JSON objects")
    if not all(isinstance(entry, dict) for entry in logs.values()):
        raise IntegrityError(f"{path}: each log entry must be a JSON object")


class StateFile:
    """What a reader keeps between runs to catch a rewrite or a split view (docs/integrity.md).

    JSON: `{"version":1, "keys":[vkey…], "sources":{"<url>#<token digest>": origin},
    "logs":{origin: {"tree_size":N, "root_hash":b64, "checkpoint":note, "verified_at":t}}}`;
    beside it, `<file>.leaves/<origin>.bin` holds the leaf hashes `verify` checked (32 bytes
    each, seq order, zeros where unknown) so a later run names exactly which event changed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "version": STATE_VERSION,
            "keys": [],
            "sources": {},
            "logs": {},
        }
        if path.exists():
            loaded = json.loads(path.read_text("utf-8"))
            if not isinstance(loaded, dict) or loaded.get("version") != STATE_VERSION:
                raise IntegrityError(f"{path} is not a Trailkeeper verification state file")
            self.data.update(loaded)
            _check_state_shape(path, self.data)

    def trusted_keys(self) -> list[VerifierKey]:
        """Keys trusted by earlier runs."""
        return [VerifierKey.from_vkey(v) for v in self.data["keys"]]

    def remember_keys(self, keys: Iterable[VerifierKey]) -> None:
        """Trust these keys from now on."""
        known = set(self.data["keys"])
        self.data["keys"] = sorted(known | {k.to_vkey() for k in keys})

    def origin_of(self, source: str) -> str | None:
        """The origin first seen at a source (server URL + token)."""
        found = self.data["sources"].get(source)
        return str(found) if found else None

    def pin_origin(self, source: str, origin: str) -> None:
        """Remember which log a source serves."""
        self.data["sources"][source] = origin

    def seen(self, origin: str) -> SeenCheckpoint | None:
        """The last verified checkpoint of a log."""
        entry = self.data["logs"].get(origin)
        if not entry:
            return None
        root = base64.b64decode(entry["root_hash"])
        return SeenCheckpoint(int(entry["tree_size"]), root, str(entry["checkpoint"]))

    def record(self, origin: str, checkpoint: Checkpoint, note: str, now: int) -> None:
        """Remember a verified checkpoint (never a smaller one than already seen)."""
        previous = self.seen(origin)
        if previous is not None and previous.tree_size > checkpoint.tree_size:
            return
        self.data["logs"][origin] = {
            "tree_size": checkpoint.tree_size,
            "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
            "checkpoint": note,
            "verified_at": now,
        }

    def save(self) -> None:
        """Write atomically (a crash leaves the old file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(temporary, self.path)

    def ledger_path(self, origin: str) -> Path:
        """Where the leaf hashes verified for a log are kept."""
        slug = re.sub(r"[^A-Za-z0-9._-]", "_", origin)
        return Path(f"{self.path}.leaves") / f"{slug}.bin"

    def ledger(self, origin: str) -> bytes:
        """Leaf hashes verified earlier for a log (empty if none)."""
        path = self.ledger_path(origin)
        return path.read_bytes() if path.exists() else b""

    def save_ledger(self, origin: str, hashes: bytes) -> None:
        """Keep the leaf hashes just verified."""
        path = self.ledger_path(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(hashes)
        os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------
# Checkpoints from a source the reader does not trust
# ---------------------------------------------------------------------------------------------


def accept_checkpoint(
    note: str, ring: KeyRing, report: Report, *, origin: str | None
) -> Checkpoint | None:
    """The checkpoint if a trusted key signed it for `origin`; else an error finding."""
    try:
        return verify_checkpoint(note, ring.keys.values(), origin=origin)
    except IntegrityError as exc:
        try:
            size = f" of size {parse_checkpoint(note).tree_size}"
        except IntegrityError:
            size = ""
        report.add("error", f"checkpoint{size} rejected: {exc}")
        return None


def check_extends(
    seen: SeenCheckpoint, checkpoint: Checkpoint, proof: Sequence[bytes] | None, report: Report
) -> None:
    """The new checkpoint must extend the one this reader saw last (RFC 9162 §2.1.4.2)."""
    if checkpoint.tree_size < seen.tree_size:
        report.add(
            "error",
            f"the log shrank: this reader verified size {seen.tree_size}, now it shows"
            f" {checkpoint.tree_size} (history rewritten or a split view)",
        )
        return
    try:
        merkle.verify_consistency(
            seen.tree_size, checkpoint.tree_size, seen.root_hash, checkpoint.root_hash, proof or []
        )
    except IntegrityError as exc:
        report.add(
            "error",
            f"the checkpoint of size {checkpoint.tree_size} does not extend the one of size"
            f" {seen.tree_size} this reader verified before (history rewritten or a split"
            f" view): {exc}",
        )


def source_id(url: str, token: str) -> str:
    """How the state file names a server + token pair (never the token itself)."""
    return f"{url.rstrip('/')}#{hashlib.sha256(token.encode()).hexdigest()[:16]}"


# ---------------------------------------------------------------------------------------------
# Online: the proof API
# ---------------------------------------------------------------------------------------------


class ProofClient:
    """The integrity API of one server, with one bearer token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.source = source_id(self.base_url, token)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _get(self, path: str, **params: int | str) -> dict[str, Any]:
        response = self._http.get(f"/integrity/v1/{path}", params=params)
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise IntegrityError(f"{path}: HTTP {response.status_code}, not JSON") from exc
        if response.status_code != 200:
            raise IntegrityError(f"{path}: HTTP {response.status_code} {body.get('error')}")
        return body

    def keys(self) -> list[PublishedKey]:
        """The server's published keys."""
        return [PublishedKey(k["vkey"], k.get("endorsement")) for k in self._get("keys")["keys"]]

    def checkpoint(self) -> str:
        """The latest signed checkpoint text."""
        return str(self._get("checkpoint")["checkpoint"])

    def consistency(self, first: int, second: int) -> list[bytes]:
        """A consistency proof between two tree sizes."""
        body = self._get("proof/consistency", first=first, second=second)
        return [base64.b64decode(h) for h in body["proof"]]

    def entries(self, start: int, end: int) -> dict[str, Any]:
        """Stored events and tile hashes with seq in [start, end)."""
        return self._get("entries", start=start, end=end)


def _feed_entry(auditor: LogAuditor, entry: Mapping[str, Any]) -> None:
    if "event" not in entry:  # a purged event: only its kept leaf hash (older servers: none)
        auditor.feed_purged(int(entry["seq"]), base64.b64decode(entry["leaf_hash"]))
        return
    columns = EventColumns(
        event_id=entry["id"],
        date_create=entry["date_create"],
        action=entry["action"],
        actor_id=entry["actor_id"],
        entity_id=entry["entity_id"],
    )
    auditor.feed(int(entry["seq"]), base64.b64decode(entry["event"]), columns)


def _feed_page(auditor: LogAuditor, page: Mapping[str, Any], tiles: dict[int, bytes]) -> int:
    rows = [*page["entries"], *page.get("purged", [])]
    for entry in sorted(rows, key=lambda row: int(row["seq"])):
        _feed_entry(auditor, entry)
    for tile in page["tiles"]:
        tiles[int(tile["index"])] = base64.b64decode(tile["hash"])
    return len(page["entries"])


def _pages(client: ProofClient, size: int) -> Iterator[dict[str, Any]]:
    """Pages of entries from seq 0 through the tree, the log, and any rows beyond it."""
    start, log_size = 0, size
    while True:
        page = client.entries(start, start + PAGE)
        log_size = max(log_size, int(page["log_size"]))
        yield page
        start += PAGE
        if start >= log_size and not page["entries"]:
            return


def _trusted_checkpoint(
    client: ProofClient, state: StateFile, pinned: Sequence[VerifierKey], origin: str | None
) -> tuple[Report, Checkpoint | None, str, KeyRing]:
    report = Report()
    ring = KeyRing([*state.trusted_keys(), *pinned])
    published = client.keys()
    if ring.keys:
        ring.learn(published)
    else:
        ring.trust_on_first_use(published, report)
    note = client.checkpoint()
    expected = origin or state.origin_of(client.source)
    checkpoint = accept_checkpoint(note, ring, report, origin=expected)
    if checkpoint is not None:
        report.origin, report.tree_size = checkpoint.origin, checkpoint.tree_size
        seen = state.seen(checkpoint.origin)
        if seen is not None:
            _check_against_seen(client, seen, checkpoint, report)
    return report, checkpoint, note, ring


def _check_against_seen(
    client: ProofClient, seen: SeenCheckpoint, checkpoint: Checkpoint, report: Report
) -> None:
    proof = None
    if seen.tree_size <= checkpoint.tree_size:
        try:
            proof = client.consistency(seen.tree_size, checkpoint.tree_size)
        except IntegrityError as exc:
            report.add(
                "error",
                f"the server cannot prove size {checkpoint.tree_size} extends size"
                f" {seen.tree_size} seen before: {exc}",
            )
            return
    check_extends(seen, checkpoint, proof, report)


def _remember(
    state: StateFile, client: ProofClient, ring: KeyRing, checkpoint: Checkpoint, note: str
) -> None:
    state.remember_keys(ring.keys.values())
    state.pin_origin(client.source, checkpoint.origin)
    state.record(checkpoint.origin, checkpoint, note, int(time.time()))


def verify_online(
    client: ProofClient,
    state: StateFile,
    *,
    pinned: Sequence[VerifierKey] = (),
    origin: str | None = None,
) -> Report:
    """Verify everything the server holds for the token's organization; update the state
    (checkpoint, keys, leaf ledger) only when nothing failed."""
    report, checkpoint, note, ring = _trusted_checkpoint(client, state, pinned, origin)
    if checkpoint is None:
        return report
    seen = state.seen(checkpoint.origin)
    auditor = LogAuditor(
        checkpoint,
        reference=state.ledger(checkpoint.origin),
        checks={seen.tree_size: seen.root_hash} if seen else {},
    )
    auditor.report.findings[:0] = report.findings
    tiles: dict[int, bytes] = {}
    for page in _pages(client, checkpoint.tree_size):
        auditor.log_size = int(page["log_size"])
        _feed_page(auditor, page, tiles)
    final = auditor.finish(tiles)
    final.name_events(lambda seqs: _ids_online(client, seqs))
    if final.ok:
        _remember(state, client, ring, checkpoint, note)
        state.save_ledger(checkpoint.origin, auditor.verified_leaves())
        state.save()
    return final


def _ids_online(client: ProofClient, seqs: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for seq in seqs:
        for entry in client.entries(seq, seq + 1)["entries"]:
            found[int(entry["seq"])] = str(entry["id"])
    return found


def monitor_once(
    client: ProofClient,
    state: StateFile,
    *,
    pinned: Sequence[VerifierKey] = (),
    origin: str | None = None,
) -> Report:
    """One poll: the latest checkpoint must be signed by a trusted key and extend the last one
    seen; the state advances only when it does."""
    report, checkpoint, note, ring = _trusted_checkpoint(client, state, pinned, origin)
    if checkpoint is not None and report.ok:
        _remember(state, client, ring, checkpoint, note)
        state.save()
    return report


def run_monitor(
    poll: Callable[[], Report],
    *,
    interval_s: float,
    count: int | None,
    on_report: Callable[[Report], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Poll until a poll fails (returned at once) or `count` polls have passed."""
    done = 0
    while True:
        report = poll()
        on_report(report)
        done += 1
        if not report.ok or (count is not None and done >= count):
            return report
        sleep(interval_s)
