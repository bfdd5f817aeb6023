"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519.

Owns the key types and their string forms (Go `sumdb/note` vkey and `PRIVATE+KEY+…`), note
parsing/signing/verification and the checkpoint body. Pure: text and bytes in, values out.

A checkpoint for organization `org` (see `checkpoint_origin`):

    trailkeeper.example/audit/E0123ABC        origin: one log per organization
    1042                                      tree size (decimal, no leading zeros)
    XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=   RFC 6962 root, base64
    time 1732579200                           optional extension: unix seconds at signing

    — trailkeeper.example/audit <base64(key id[4] || Ed25519 signature)>

The `time` line is our one extension line. It is covered by the log's Ed25519 signature (which
signs the whole note text) but it is only the log's claim: C2SP marks extension lines as not
auditable by monitors, and tlog-cosignature witnesses do not sign them (they add their own time).
One service key signs every organization's checkpoints, so the key name is the service's log
name rather than each origin (the spec's "key name SHOULD match the origin" is not followed);
verifiers must therefore pin the expected origin (`verify_checkpoint(..., origin=...)`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from trailkeeper.integrity import merkle
from trailkeeper.integrity.errors import (
    CheckpointFormatError,
    KeyFormatError,
    OriginMismatchError,
    SignatureError,
)

__all__ = [
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteSignature",
    "SignedNote",
    "SigningKey",
    "VerifierKey",
    "checkpoint_origin",
    "generate_signing_key",
    "key_id",
    "parse_checkpoint",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_checkpoint_consistency",
    "verify_checkpoint_inclusion",
    "verify_note",
]

ALG_ED25519 = 0x01  # c2sp.org/signed-note "Signature types": 0x01 = Ed25519
MAX_SIGNATURES = 100  # the spec requires accepting at least 16; Go's note package allows 100
MAX_NOTE_BYTES = 1 << 16
_SIG_PREFIX = "\u2014 "  # em dash, space
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_TIME_PREFIX = "time "
_KEY_SIZE = 32
_KEY_ID_SIZE = 4
_MAX_UINT64 = (1 << 64) - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # every ASCII control character except newline


# ---------------------------------------------------------------------------------------------
# Small codecs
# ---------------------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str, error: type[Exception]) -> bytes:
    """Standard base64 (RFC 4648 §4), canonical only: one text per byte string."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise error(f"{what} is not valid base64") from exc
    if _b64encode(data) != text:
        raise error(f"{what} is not canonical base64")
    return data


def _check_name(name: str, what: str, error: type[Exception]) -> None:
    """Key names and origins: non-empty, no Unicode spaces, no '+', no control characters."""
    if not name:
        raise error(f"{what} is empty")
    if "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise error(f"{what} {name!r} contains a space, '+' or a control character")


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4] (c2sp signed-note)."""
    material = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def _split_key_string(text: str, what: str) -> tuple[str, bytes, bytes]:
    """`<name>+<hex key id>+<base64(0x01 || key)>` -> (name, key id, key bytes)."""
    name, plus1, rest = text.partition("+")
    id_hex, plus2, key64 = rest.partition("+")
    if not plus1 or not plus2:
        raise KeyFormatError(f"{what} must look like <name>+<hex key id>+<base64 key>")
    _check_name(name, f"{what} name", KeyFormatError)
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise KeyFormatError(f"{what} key id must be 8 lowercase hex digits")
    raw = _b64decode(key64, f"{what} key", KeyFormatError)
    if len(raw) != 1 + _KEY_SIZE or raw[0] != ALG_ED25519:
        raise KeyFormatError(f"{what} key is not 0x01 (Ed25519) followed by 32 bytes")
    return name, bytes.fromhex(id_hex), raw[1:]


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """A named Ed25519 public key that may sign notes (a "vkey")."""

    name: str
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "key name", KeyFormatError)
        if len(self.public_key) != _KEY_SIZE:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}")
        try:
            loaded = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise KeyFormatError("not an Ed25519 public key") from exc
        object.__setattr__(self, "_key", loaded)

    @property
    def key_id(self) -> bytes:
        """The 4-byte id carried in each signature line."""
        return key_id(self.name, self.public_key)

    def to_vkey(self) -> str:
        """`<name>+<hex key id>+<base64(0x01 || public key)>` (Go note verifier key)."""
        raw = bytes([ALG_ED25519]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> VerifierKey:
        """Parse `to_vkey` output; the key id must match the name and key."""
        name, claimed_id, public_key = _split_key_string(vkey, "verifier key")
        key = cls(name, public_key)
        if key.key_id != claimed_id:
            raise KeyFormatError(f"verifier key id {claimed_id.hex()} does not match its key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if `signature` is this key's Ed25519 signature of `message`."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"VerifierKey({self.to_vkey()!r})"


class SigningKey:
    """A named Ed25519 private key (from a 32-byte seed); its repr never shows the seed."""

    __slots__ = ("_private", "_verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        _check_name(name, "key name", KeyFormatError)
        if len(seed) != _KEY_SIZE:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self._verifier = VerifierKey(name, self._private.public_key().public_bytes_raw())

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id written in signature lines."""
        return self._verifier.key_id

    @property
    def verifier(self) -> VerifierKey:
        """The matching public key, to publish (`verifier.to_vkey()`)."""
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (RFC 8032) of `message`."""
        return self._private.sign(message)

    def to_private_string(self) -> str:
        """`PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>` — a secret; store as one."""
        raw = bytes([ALG_ED25519]) + self._private.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    @classmethod
    def from_private_string(cls, text: str) -> SigningKey:
        """Parse `to_private_string` output; the key id must match the derived public key."""
        if not text.startswith(_PRIVATE_PREFIX):
            raise KeyFormatError("private key string must start with PRIVATE+KEY+")
        name, claimed_id, seed = _split_key_string(text[len(_PRIVATE_PREFIX) :], "private key")
        key = cls(name, seed)
        if key.key_id != claimed_id:
            raise KeyFormatError(f"private key id {claimed_id.hex()} does not match its key")
        return key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKey):
            return NotImplemented
        mine, theirs = self._private.private_bytes_raw(), other._private.private_bytes_raw()
        return self.name == other.name and hmac.compare_digest(mine, theirs)

    def __hash__(self) -> int:
        return hash(self._verifier)

    def __repr__(self) -> str:
        return f"SigningKey(name={self.name!r}, key_id={self.key_id.hex()!r})"


def generate_signing_key(name: str) -> SigningKey:
    """A fresh random Ed25519 key named `name` (a schema-less URL is recommended)."""
    return SigningKey(name, Ed25519PrivateKey.generate().private_bytes_raw())


# ---------------------------------------------------------------------------------------------
# Signed notes (c2sp.org/signed-note)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id and the algorithm's signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """`— <name> <base64(key id || signature)>` plus newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note text (ending in newline) and its signature lines, not yet verified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        """The note as transmitted: text, blank line, signature lines."""
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise CheckpointFormatError("note text must end with a newline")
    if _CONTROL.search(text):
        raise CheckpointFormatError("note contains a control character other than newline")


def _as_text(message: str | bytes) -> str:
    """Decode and size-check a note; it must be valid UTF-8 of at most MAX_NOTE_BYTES."""
    try:
        if isinstance(message, bytes):
            raw, text = message, message.decode("utf-8")
        else:
            raw, text = message.encode("utf-8"), message
    except UnicodeError as exc:
        raise CheckpointFormatError("note is not valid UTF-8") from exc
    if len(raw) > MAX_NOTE_BYTES:
        raise CheckpointFormatError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    return text


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise CheckpointFormatError(f"signature line must start with an em dash: {line[:40]!r}")
    name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    _check_name(name, "signature key name", CheckpointFormatError)
    raw = _b64decode(encoded, f"signature of {name!r}", CheckpointFormatError)
    if len(raw) <= _KEY_ID_SIZE:
        raise CheckpointFormatError(f"signature of {name!r} is too short")
    return NoteSignature(name, raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:])


def parse_note(message: str | bytes) -> SignedNote:
    """Split a signed note into text and signature lines. Checks form only, NOT signatures."""
    note = _as_text(message)
    _check_note_text(note)
    split = note.rfind("\n\n")  # the text ends at the last blank line
    if split < 0:
        raise CheckpointFormatError("note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    if not signature_block:
        raise CheckpointFormatError("note has no signature lines")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointFormatError(f"note has more than {MAX_SIGNATURES} signatures")
    return SignedNote(text, tuple(_parse_signature_line(line) for line in lines))


def sign_note(text: str, keys: Sequence[SigningKey]) -> str:
    """Sign `text` (which must end with a newline) with every key; return the signed note."""
    _check_note_text(text)
    if not keys:
        raise SignatureError("a note needs at least one signing key")
    message = text.encode("utf-8")
    signatures = tuple(NoteSignature(k.name, k.key_id, k.sign(message)) for k in keys)
    return SignedNote(text, signatures).to_text()


def _index_verifiers(verifiers: Iterable[VerifierKey]) -> dict[tuple[str, bytes], VerifierKey]:
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for key in verifiers:
        slot = (key.name, key.key_id)
        if known.setdefault(slot, key) != key:
            raise KeyFormatError(f"two trusted keys share name and id {key.name}+{slot[1].hex()}")
    return known


def verify_note(
    message: str | bytes, verifiers: Iterable[VerifierKey]
) -> tuple[SignedNote, tuple[VerifierKey, ...]]:
    """Parse a note and check its signatures against trusted keys (c2sp signed-note rules).

    Signatures whose (name, key id) is not trusted are ignored; any signature from a trusted
    key that fails rejects the note; at least one trusted signature must verify. Returns the
    note and the trusted keys that signed it.
    """
    note = parse_note(message)
    known = _index_verifiers(verifiers)
    text = note.text.encode("utf-8")
    signed_by: dict[tuple[str, bytes], VerifierKey] = {}
    for sig in note.signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            continue
        if not key.verify(text, sig.signature):
            raise SignatureError(f"invalid signature for trusted key {sig.name}+{sig.key_id.hex()}")
        signed_by[(sig.name, sig.key_id)] = key
    if not signed_by:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        raise SignatureError(f"no signature from a trusted key (signed by: {names})")
    return note, tuple(signed_by.values())


# ---------------------------------------------------------------------------------------------
# Checkpoints (c2sp.org/tlog-checkpoint)
# ---------------------------------------------------------------------------------------------


def checkpoint_origin(service: str, org_id: str) -> str:
    """The log origin of one organization's audit tree: `<service>/audit/<org_id>`."""
    _check_name(service, "service name", CheckpointFormatError)
    _check_name(org_id, "organization id", CheckpointFormatError)
    if "/" in org_id:
        raise CheckpointFormatError(f"organization id {org_id!r} must not contain '/'")
    return f"{service}/audit/{org_id}"


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise CheckpointFormatError(f"{what} {text!r} is not a decimal without leading zeros")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, RFC 6962 root, optional signing time and other extensions."""

    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: int | None = None
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointFormatError("origin must be one non-empty line")
        if not 0 <= self.tree_size <= _MAX_UINT64:
            raise CheckpointFormatError(f"tree size {self.tree_size} out of range")
        if len(self.root_hash) != merkle.HASH_SIZE:
            raise CheckpointFormatError(f"root hash must be 32 bytes, got {len(self.root_hash)}")
        if self.timestamp is not None and not 0 <= self.timestamp <= _MAX_UINT64:
            raise CheckpointFormatError(f"timestamp {self.timestamp} out of range")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL.search(line):
                raise CheckpointFormatError("extension lines must be single non-empty lines")
            if line.startswith(_TIME_PREFIX):
                raise CheckpointFormatError(
                    "a `time` extension line must come first and only once (see `timestamp`)"
                )

    def body(self) -> str:
        """The note text: origin, size, base64 root, [`time <unix seconds>`], extensions."""
        lines = [self.origin, str(self.tree_size), _b64encode(self.root_hash)]
        if self.timestamp is not None:
            lines.append(f"{_TIME_PREFIX}{self.timestamp}")
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (the part above the blank line); unverified."""
        if not text.endswith("\n"):
            raise CheckpointFormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointFormatError("checkpoint needs origin, size and root as non-empty lines")
        origin, size_line, root_line, *rest = lines
        tree_size = _parse_decimal(size_line, "tree size")
        root = _b64decode(root_line, "root hash", CheckpointFormatError)
        timestamp = None
        if rest and rest[0].startswith(_TIME_PREFIX):
            timestamp = _parse_decimal(rest[0][len(_TIME_PREFIX) :], "timestamp")
            rest = rest[1:]
        return cls(origin, tree_size, root, timestamp, tuple(rest))


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey, *cosigners: SigningKey) -> str:
    """The checkpoint as a signed note, signed by `key` (and any further keys, e.g. a key
    being rotated in)."""
    return sign_note(checkpoint.body(), [key, *cosigners])


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Read a signed checkpoint WITHOUT checking signatures (display, choosing keys).

    Never base trust on the result: use `verify_checkpoint`.
    """
    return Checkpoint.from_body(parse_note(text).text)


def verify_checkpoint(
    text: str | bytes, verifiers: Iterable[VerifierKey], *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint, once at least one trusted key's signature verifies (others ignored).

    Pass `origin` to pin the organization's log: a genuine checkpoint of another log raises
    OriginMismatchError (a trusted key signs every organization's tree).
    """
    note, _ = verify_note(text, verifiers)
    checkpoint = Checkpoint.from_body(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise OriginMismatchError(
            f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}"
        )
    return checkpoint


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check `new` extends `old` (same origin, RFC 9162 consistency proof) — a monitor's step.

    `old` must come from the verifier's own records, never from the server's response: the
    Pangea fallback and immudb CVE-2022-39199 (peers.md §1.9, §3.8) trusted the server here.
    """
    if old.origin != new.origin:
        raise OriginMismatchError(f"checkpoints of different logs: {old.origin!r}, {new.origin!r}")
    merkle.verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)


def verify_checkpoint_inclusion(
    checkpoint: Checkpoint, leaf_hash: bytes, index: int, proof: Sequence[bytes]
) -> None:
    """Check leaf `index` with `leaf_hash` is in the tree the checkpoint commits to."""
    merkle.verify_inclusion(leaf_hash, index, checkpoint.tree_size, proof, checkpoint.root_hash)
