"""The audit of one organization's events against a verified checkpoint: findings, reports,
and `LogAuditor`, shared by online (`integrity.verifier`) and offline (`integrity.bundle`) checks.

The auditor recomputes every leaf hash from the event bytes, rebuilds the tree and compares its
root with the signed one; on a mismatch it narrows it down to events, with stored tile hashes
authenticated against the signed root and the reader's own leaf ledger.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from trailkeeper.integrity import merkle
from trailkeeper.integrity.checkpoint import Checkpoint
from trailkeeper.integrity.pauses import SERVICE_ACTOR_ID
from trailkeeper.integrity.tiles import TILE_HEIGHT, TILE_WIDTH

HASH = merkle.HASH_SIZE
PURGE_MARKER = b'"action":"audit_logs_purged"'
PAUSE_MARKERS = (b'"action":"audit_logging_paused"', b'"action":"audit_logging_resumed"')
MAX_NAMED = 50  # events named one by one in a report; beyond that, counted


# ---------------------------------------------------------------------------------------------
# Findings and reports
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One result: `error` means the log cannot be trusted; `warning` and `info` explain."""

    severity: str
    message: str
    seq: int | None = None
    event_id: str | None = None

    def line(self) -> str:
        """`ERROR seq 17 (id ev-17): …`."""
        where = ""
        if self.seq is not None:
            where = f"seq {self.seq}" + (f" (id {self.event_id})" if self.event_id else "") + ": "
        return f"{self.severity.upper()} {where}{self.message}"


@dataclass
class Report:
    """The outcome of verifying one organization's log."""

    origin: str = ""
    tree_size: int = 0
    events_verified: int = 0
    purged_verified: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error finding."""
        return not any(f.severity == "error" for f in self.findings)

    def add(self, severity: str, message: str, seq: int | None = None) -> None:
        """Record a finding."""
        self.findings.append(Finding(severity, message, seq))

    def name_events(self, lookup: Callable[[list[int]], Mapping[int, str]]) -> None:
        """Fill in event ids of findings that name a sequence number."""
        seqs = sorted({f.seq for f in self.findings if f.seq is not None and f.event_id is None})
        if not seqs:
            return
        ids = lookup(seqs[: MAX_NAMED * 4])
        self.findings = [
            Finding(f.severity, f.message, f.seq, ids[f.seq])
            if f.seq is not None and f.seq in ids
            else f
            for f in self.findings
        ]

    def render(self) -> str:
        """A human-readable report, one finding per line, verdict last."""
        lines = [f.line() for f in self.findings]
        verdict = "OK" if self.ok else "FAILED"
        purged = f", {self.purged_verified} purged by their kept leaf hashes"
        lines.append(
            f"{verdict}: {self.origin or 'log'} at tree size {self.tree_size}:"
            f" {self.events_verified} events verified{purged if self.purged_verified else ''}"
        )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The audit of events against a verified checkpoint
# ---------------------------------------------------------------------------------------------

ZERO = bytes(HASH)


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    level = list(hashes)
    while len(level) > 1:
        level = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _pair(left: bytes | None, right: bytes | None) -> bytes | None:
    return None if left is None or right is None else merkle.node_hash(left, right)


def _upper_levels(tiles: Sequence[bytes | None]) -> list[list[bytes | None]]:
    """Complete node hashes of levels >= TILE_HEIGHT from tile hashes (None propagates)."""
    levels = [list(tiles)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


@dataclass(frozen=True)
class EventColumns:
    """The index columns a store keeps next to an event's bytes (online verification)."""

    event_id: str
    date_create: int
    action: str
    actor_id: str
    entity_id: str | None


def column_mismatch(body: bytes, columns: EventColumns) -> str | None:
    """Which stored column disagrees with the event's own bytes, if any."""
    try:
        event = orjson.loads(body)
        entity = event.get("entity") or {}
        facts = {
            "id": event.get("id"),
            "date_create": event.get("date_create"),
            "action": event.get("action"),
            "actor_id": ((event.get("actor") or {}).get("user") or {}).get("id"),
            "entity_id": (entity.get(entity.get("type")) or {}).get("id"),
        }
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return "its bytes are not a JSON event"
    stored = {
        "id": columns.event_id,
        "date_create": columns.date_create,
        "action": columns.action,
        "actor_id": columns.actor_id,
        "entity_id": columns.entity_id,
    }
    for name, value in stored.items():
        if facts[name] != value and not (name == "entity_id" and facts[name] is None):
            return f"the stored {name} column is {value!r} but its bytes say {facts[name]!r}"
    return None


class LogAuditor:
    """Checks an organization's events, fed in sequence order, against a verified checkpoint.

    `reference` holds leaf hashes this reader verified before (its ledger, trusted); `checks`
    maps earlier tree sizes to roots the data must also reproduce (older checkpoints, state).
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        log_size: int | None = None,
        reference: bytes = b"",
        checks: Mapping[int, bytes] | None = None,
    ) -> None:
        self.size = checkpoint.tree_size
        self.root = checkpoint.root_hash
        self.log_size = log_size
        self.report = Report(checkpoint.origin, checkpoint.tree_size)
        self._reference = reference
        self._checks = dict(checks or {})
        self._leaves = bytearray(self.size * HASH)
        # 0 unknown, 1 from the bytes, 2 from the ledger, 3 kept by the log for a purged event
        self._source = bytearray(self.size)
        self._next = 0
        self._missing: list[int] = []
        self._suspects: set[int] = set()
        self._declared_purged = 0
        self._kept = 0
        self._beyond = 0
        self._pauses = PauseLog()

    # --- feeding ------------------------------------------------------------------------------

    def feed(self, seq: int, body: bytes, columns: EventColumns | None = None) -> None:
        """One stored event; `seq` must increase from call to call (with `feed_purged`'s)."""
        if not self._advance(seq):
            return
        if PURGE_MARKER in body:
            self._declared_purged += _purged_count(body)
        if any(marker in body for marker in PAUSE_MARKERS):
            self._pauses.note(seq, body)
        if columns is not None:
            problem = column_mismatch(body, columns)
            if problem:
                self.report.add("error", problem, seq)
                self._suspects.add(seq)
        if seq >= self.size:
            self._beyond_tree(seq)
            return
        self._place(
            seq, merkle.leaf_hash(body), 1, "its bytes changed since this reader verified them"
        )

    def feed_purged(self, seq: int, value: bytes) -> None:
        """The leaf hash the log kept for an event retention purged (no bytes to check)."""
        if not self._advance(seq):
            return
        self._kept += 1
        if len(value) != HASH:
            self.report.add("error", f"the kept leaf hash of this purged event is not {HASH} bytes")
        elif seq < self.size:
            self._place(
                seq,
                value,
                3,
                "the leaf hash kept for this purged event differs from the one this reader"
                " verified before",
            )

    def _advance(self, seq: int) -> bool:
        if seq < self._next:
            self.report.add("error", "appears twice or out of order in the log", seq)
            return False
        self._skip_to(seq)
        self._next = seq + 1
        return True

    def _place(self, seq: int, value: bytes, source: int, change: str) -> None:
        self._leaves[seq * HASH : (seq + 1) * HASH] = value
        self._source[seq] = source
        known = self._reference_hash(seq)
        if known is not None and known != value:
            self.report.add("error", change, seq)
            self._suspects.add(seq)

    def _reference_hash(self, seq: int) -> bytes | None:
        value = self._reference[seq * HASH : (seq + 1) * HASH]
        return value if len(value) == HASH and value != ZERO else None

    def _skip_to(self, seq: int) -> None:
        end = min(seq, self.size if self.log_size is None else max(self.size, self.log_size))
        for gap in range(self._next, end):
            self._missing.append(gap)
            known = self._reference_hash(gap) if gap < self.size else None
            if known is not None:
                self._leaves[gap * HASH : (gap + 1) * HASH] = known
                self._source[gap] = 2

    def _beyond_tree(self, seq: int) -> None:
        if self.log_size is not None and seq >= self.log_size:
            self.report.add(
                "error", "is not in the log's tree: a row was inserted behind the log's back", seq
            )
        else:
            self._beyond += 1

    # --- the verdict --------------------------------------------------------------------------

    def finish(self, stored_tiles: Mapping[int, bytes] | None = None) -> Report:
        """Compare with the signed root (and `checks`); narrow any mismatch down to events."""
        self._skip_to(self.size if self.log_size is None else max(self.size, self.log_size))
        tiles = [self._tile(t) for t in range(self.size // TILE_WIDTH)]
        levels = _upper_levels(tiles)
        self._account_for_missing()
        self.report.findings.extend(self._pauses.findings())
        for size, root in sorted(self._checks.items()):
            self._check_root_at(size, root, levels)
        if self._root_at(self.size, levels) == self.root:
            self.report.events_verified = int(self._source.count(1))
            self.report.purged_verified = int(self._source.count(3))
        else:
            self._localize(tiles, stored_tiles)
        if self._beyond:
            self.report.add(
                "info", f"{self._beyond} newer events are not covered by this checkpoint yet"
            )
        # General findings first, then event by event in log order.
        self.report.findings.sort(key=lambda f: (f.seq is not None, f.seq or 0))
        return self.report

    def verified_leaves(self) -> bytes:
        """The leaf hashes of the tree just verified (zeros where unknown), for the ledger."""
        out = bytearray(self._leaves)
        for seq in range(self.size):
            if not self._source[seq]:
                out[seq * HASH : (seq + 1) * HASH] = ZERO
        return bytes(out)

    def _leaf(self, seq: int) -> bytes | None:
        return bytes(self._leaves[seq * HASH : (seq + 1) * HASH]) if self._source[seq] else None

    def _tile(self, index: int) -> bytes | None:
        begin = index * TILE_WIDTH
        if not all(self._source[begin : begin + TILE_WIDTH]):
            return None
        chunk = self._leaves[begin * HASH : (begin + TILE_WIDTH) * HASH]
        return _perfect_root([bytes(chunk[i : i + HASH]) for i in range(0, len(chunk), HASH)])

    def _root_at(self, size: int, levels: list[list[bytes | None]]) -> bytes | None:
        hashes = []
        for node in merkle.root_nodes(size):
            if node.level >= TILE_HEIGHT:
                value = levels[node.level - TILE_HEIGHT][node.index]
            else:
                leaves = [self._leaf(s) for s in range(node.begin, node.end)]
                value = None if None in leaves else _perfect_root([v for v in leaves if v])
            if value is None:
                return None
            hashes.append(value)
        return merkle.fold_subtrees(hashes)

    def _check_root_at(self, size: int, root: bytes, levels: list[list[bytes | None]]) -> None:
        if size >= self.size:  # the checkpoint's own size is the final comparison
            return
        found = self._root_at(size, levels)
        if found is None:
            self.report.add("warning", f"cannot recompute the tree of size {size}: events missing")
        elif found != root:
            self.report.add(
                "error",
                f"the events do not reproduce the checkpoint of size {size} (root"
                f" {base64.b64encode(root).decode()}): history was changed",
            )

    def _account_for_missing(self) -> None:
        missing, kept = len(self._missing), self._kept
        if not missing and not kept:
            return
        if missing + kept == self._declared_purged:
            self._note_purges(missing, kept)
            return
        if kept:
            self.report.add(
                "error",
                f"{kept} events purged with their leaf hashes kept and {missing} missing, but"
                f" retention purges recorded in the log declare {self._declared_purged}",
            )
        self._name_missing()

    def _note_purges(self, missing: int, kept: int) -> None:
        if kept:
            self.report.add(
                "info",
                f"{kept} events were purged by retention; their kept leaf hashes are part of"
                " the tree checked (audit_logs_purged declares them)",
            )
        if missing:
            self.report.add(
                "warning",
                f"{missing} events are gone, as many as retention purges recorded in the log"
                " declare (audit_logs_purged)",
            )

    def _name_missing(self) -> None:
        missing = len(self._missing)
        runs = _runs(self._missing)
        for first, last in runs[:MAX_NAMED]:
            if first == last:
                self.report.add(
                    "error", "is missing: the tree has a leaf here, the log none", first
                )
            else:
                self.report.add("error", f"events seq {first}–{last} are missing", first)
        if len(runs) > MAX_NAMED:
            self.report.add("error", f"… and {len(runs) - MAX_NAMED} more runs of missing events")
        if self._declared_purged and not self._kept:
            self.report.add(
                "warning",
                f"{missing} events missing, but retention purges declare {self._declared_purged}",
            )

    def _localize(
        self, tiles: list[bytes | None], stored_tiles: Mapping[int, bytes] | None
    ) -> None:
        stored = [None if stored_tiles is None else stored_tiles.get(t) for t in range(len(tiles))]
        tail_known = all(self._source[len(tiles) * TILE_WIDTH : self.size])
        authentic = tail_known and self._root_at(self.size, _upper_levels(stored)) == self.root
        if not authentic:
            why = (
                "neither do the stored subtree hashes"
                if tail_known
                else "the last events of the tree are missing, so the stored subtree hashes"
                " cannot be checked either"
            )
            self.report.add(
                "error",
                f"the events do not reproduce the checkpoint's root, and {why}: cannot narrow"
                " it down further than the findings here",
            )
        else:
            self.report.events_verified = self._tail_count()
        for index, (mine, theirs) in enumerate(zip(tiles, stored, strict=True)):
            begin = index * TILE_WIDTH
            if mine is None or theirs is None:
                continue
            if mine == theirs:
                if authentic:
                    self._count_verified(begin)
                continue
            self._name_tile(begin, authentic)
        unverified = sum(1 for t in tiles if t is None) * TILE_WIDTH - len(self._missing)
        if unverified > 0 and authentic:
            self.report.add(
                "warning", f"{unverified} events share a tile with missing ones: not verified"
            )

    def _count_verified(self, begin: int) -> None:
        sources = self._source[begin : begin + TILE_WIDTH]
        self.report.events_verified += sources.count(1)
        self.report.purged_verified += sources.count(3)

    def _tail_count(self) -> int:
        return self.size % TILE_WIDTH

    def _name_tile(self, begin: int, authentic: bool) -> None:
        end = begin + TILE_WIDTH
        if any(begin <= s < end for s in self._suspects):
            return  # already named exactly (ledger or columns)
        claim = "do not match the signed tree" if authentic else "differ from the stored hashes"
        self.report.add(
            "error",
            f"events seq {begin}–{end - 1} {claim}: one or more of them was changed, removed or"
            " reordered (keep a leaf ledger with --state to name the exact event)",
            begin,
        )


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Increasing sequence numbers as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


class PauseLog:
    """The intervals an operator paused recording, as the log's own events tell them."""

    def __init__(self) -> None:
        self._open: tuple[int, int] | None = None  # (seq, date_create) of an unresumed pause
        self._closed: list[tuple[int, int, int, int]] = []

    def note(self, seq: int, body: bytes) -> None:
        """A fed `audit_logging_paused` or `audit_logging_resumed` event."""
        try:
            event = orjson.loads(body)
            action, when = event.get("action"), int(event.get("date_create", 0))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return
        if action == "audit_logging_paused" and self._open is None:
            self._open = (seq, when)
        elif action == "audit_logging_resumed" and self._open is not None:
            self._closed.append((*self._open, seq, when))
            self._open = None

    def findings(self) -> list[Finding]:
        """One info line per pause: when recording stopped, and when it started again."""
        lines = [
            Finding(
                "info",
                f"recording was paused from {_utc(began)} (seq {first}) to {_utc(ended)}"
                f" (seq {last}): events sent meanwhile were refused, not stored",
            )
            for first, began, last, ended in self._closed
        ]
        if self._open is not None:
            seq, began = self._open
            lines.append(Finding("info", f"recording is paused since {_utc(began)} (seq {seq})"))
        return lines


def _utc(stamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _purged_count(body: bytes) -> int:
    try:
        event = orjson.loads(body)
        count = (event.get("details") or {}).get("purged_events", 0)
    except (orjson.JSONDecodeError, AttributeError):
        return 0
    actor = ((event.get("actor") or {}).get("user") or {}).get("id")
    own = event.get("action") == "audit_logs_purged" and actor == SERVICE_ACTOR_ID
    return count if isinstance(count, int) and own else 0
