"""Signed checkpoints: pinned Ed25519 note vectors (ours and Go's sumdb/note), key string
round-trips and manglings, and must-fail tampering of bodies, signatures and keys."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trailkeeper.integrity import checkpoint as checkpoint_module
from trailkeeper.integrity.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    SigningKey,
    VerifierKey,
    checkpoint_origin,
    generate_signing_key,
    key_id,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_checkpoint_inclusion,
    verify_note,
)
from trailkeeper.integrity.errors import (
    CheckpointFormatError,
    ConsistencyProofError,
    InclusionProofError,
    IntegrityError,
    KeyFormatError,
    OriginMismatchError,
    SignatureError,
)
from trailkeeper.integrity.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)

# --- Our pinned vector: fixed seed, fixed checkpoint, exact bytes ------------------------------

SEED = hashlib.sha256(b"trailkeeper integrity test key").digest()
KEY_NAME = "trailkeeper.test/audit"
PRIVATE = "PRIVATE+KEY+trailkeeper.test/audit+a2209578+AVA226xo57DrXInnowkO/bcea5rXUxk3O0ArsCj0zxjW"
VKEY = "trailkeeper.test/audit+a2209578+AeHLaCESWS8ZCrPdXlM4md9AVHeU0jfPCfG5oQuI1qxJ"
ORIGIN = "trailkeeper.test/audit/E0TEST"
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
BODY = (
    "trailkeeper.test/audit/E0TEST\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "time 1700000000\n"
)
SIGNED = (
    BODY + "\n"
    "\u2014 trailkeeper.test/audit oiCVeKs5J8XtjdWKSX2l4hgu96yeimvE/ewfbwumUknDd64cTCiwyxmdWCsnZJ"
    "WhZ7D7sK74OPeB7KvyK87CVfmk7Aw=\n"
)

# --- golang.org/x/mod/sumdb/note test vectors (note_test.go) -----------------------------------

GO_PRIVATE = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

KEY = SigningKey(KEY_NAME, SEED)
CHECKPOINT = Checkpoint(ORIGIN, 8, ROOT_8, 1700000000)


# --- Pinned outputs ---------------------------------------------------------------------------


def test_key_strings_are_pinned() -> None:
    assert KEY.to_private_string() == PRIVATE
    assert KEY.verifier.to_vkey() == VKEY
    public = KEY.verifier.public_key
    expected_id = hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + public).digest()[:4]
    assert KEY.key_id == expected_id == key_id(KEY_NAME, public) == bytes.fromhex("a2209578")


def test_checkpoint_signing_is_pinned_byte_for_byte() -> None:
    assert checkpoint_origin("trailkeeper.test", "E0TEST") == ORIGIN
    assert CHECKPOINT.body() == BODY
    assert sign_checkpoint(CHECKPOINT, KEY) == SIGNED


def test_pinned_signature_checks_with_plain_ed25519() -> None:
    raw = base64.b64decode(SIGNED.rsplit(" ", 1)[1])
    assert raw[:4] == KEY.key_id
    Ed25519PublicKey.from_public_bytes(KEY.verifier.public_key).verify(raw[4:], BODY.encode())


def test_pinned_checkpoint_verifies_and_parses() -> None:
    verifier = VerifierKey.from_vkey(VKEY)
    assert verify_checkpoint(SIGNED, [verifier], origin=ORIGIN) == CHECKPOINT
    assert verify_checkpoint(SIGNED.encode(), [verifier]) == CHECKPOINT
    assert parse_checkpoint(SIGNED) == CHECKPOINT
    assert CHECKPOINT.timestamp == 1700000000


def test_go_note_vectors_interoperate() -> None:
    signer = SigningKey.from_private_string(GO_PRIVATE)
    assert signer.verifier.to_vkey() == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_TEXT + "\n" + GO_PETER_SIG
    peter, enoch = VerifierKey.from_vkey(GO_VKEY), VerifierKey.from_vkey(GO_ENOCH_VKEY)
    message = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    note, signed_by = verify_note(message, [peter])
    assert note.text == GO_TEXT
    assert signed_by == (peter,)  # Enoch's signature is ignored, not an error
    assert verify_note(message, [peter, enoch])[1] == (peter, enoch)
    with pytest.raises(SignatureError):
        verify_note(message, [])
    bad = GO_TEXT + "\n" + GO_PETER_SIG[:60] + "ABCD" + GO_PETER_SIG[60:]
    with pytest.raises(SignatureError, match="invalid signature for trusted key PeterNeumann"):
        verify_note(bad, [peter])


# --- Keys -------------------------------------------------------------------------------------


def test_key_round_trips() -> None:
    key = generate_signing_key("example.com/log")
    assert SigningKey.from_private_string(key.to_private_string()) == key
    assert VerifierKey.from_vkey(key.verifier.to_vkey()) == key.verifier
    assert generate_signing_key("example.com/log") != key


def test_signing_key_repr_hides_the_seed() -> None:
    text = repr(KEY) + str(KEY)
    assert SEED.hex() not in text
    assert base64.b64encode(SEED).decode() not in text
    assert "a2209578" in text


@pytest.mark.parametrize("key_string", [GO_VKEY, VKEY])
def test_mangled_vkeys_are_refused(key_string: str) -> None:
    """Like Go's TestNewVerifier: every proper substring and every one-byte change fails."""
    for i in range(len(key_string) + 1):
        for j in range(i + 1, len(key_string) + 1):
            if (i, j) != (0, len(key_string)):
                with pytest.raises(KeyFormatError):
                    VerifierKey.from_vkey(key_string[i:j])
    for i in range(len(key_string)):
        mangled = key_string[:i] + chr(ord(key_string[i]) + 1) + key_string[i + 1 :]
        with pytest.raises(KeyFormatError):
            VerifierKey.from_vkey(mangled)


@pytest.mark.parametrize("key_string", [GO_PRIVATE, PRIVATE])
def test_mangled_private_keys_are_refused(key_string: str) -> None:
    for i in range(len(key_string) + 1):
        for j in range(i + 1, len(key_string) + 1):
            if (i, j) != (0, len(key_string)):
                with pytest.raises(KeyFormatError):
                    SigningKey.from_private_string(key_string[i:j])
    for i in range(len(key_string)):
        mangled = key_string[:i] + chr(ord(key_string[i]) + 1) + key_string[i + 1 :]
        with pytest.raises(KeyFormatError):
            SigningKey.from_private_string(mangled)


@pytest.mark.parametrize(
    "vkey",
    [
        # wrong key length, with the key id adjusted (from Go's tests)
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        # unknown algorithm byte, with the key id adjusted (from Go's tests)
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # uppercase id
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        VerifierKey.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\tname", "nbsp\u00a0name"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(KeyFormatError):
        SigningKey(name, SEED)


def test_bad_seed_is_refused() -> None:
    with pytest.raises(KeyFormatError):
        SigningKey(KEY_NAME, SEED[:31])


def test_duplicate_trusted_keys_are_fine_but_ambiguous_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert verify_checkpoint(SIGNED, [KEY.verifier, KEY.verifier]) == CHECKPOINT
    other = generate_signing_key(KEY_NAME).verifier
    # Force a name+id collision between two different public keys (a misconfiguration).
    monkeypatch.setattr(checkpoint_module, "key_id", lambda name, public_key: b"\0\0\0\0")
    with pytest.raises(KeyFormatError, match="share name and id"):
        verify_checkpoint(SIGNED, [KEY.verifier, other])


# --- Must-fail: tampering, wrong and unknown keys ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\n8\n", "\n9\n"),  # tree size
        ("Xcna", "Ycna"),  # root hash
        ("E0TEST", "E0TESU"),  # origin (another organization)
        ("time 1700000000", "time 1700000001"),  # timestamp
        ("time 1700000000\n", "time 1700000000\nextra\n"),  # added extension line
        ("time 1700000000\n", ""),  # removed extension line
    ],
)
def test_tampered_body_fails(old: str, new: str) -> None:
    body, signatures = SIGNED[: len(BODY)], SIGNED[len(BODY) :]
    tampered = body.replace(old, new, 1) + signatures
    assert tampered != SIGNED
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_checkpoint(tampered, [KEY.verifier])


def flipped_signature_line(line: str, position: int) -> str:
    name, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[position] ^= 1
    return name + " " + base64.b64encode(bytes(raw)).decode() + "\n"


SIG_LINE = SIGNED[len(BODY) + 1 :]


@pytest.mark.parametrize("position", [4, 10, 67])
def test_flipped_signature_byte_fails(position: int) -> None:
    tampered = BODY + "\n" + flipped_signature_line(SIG_LINE, position)
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_checkpoint(tampered, [KEY.verifier])


def test_flipped_key_id_byte_makes_the_signature_unknown() -> None:
    tampered = BODY + "\n" + flipped_signature_line(SIG_LINE, 0)
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        verify_checkpoint(tampered, [KEY.verifier])


def test_wrong_key_fails() -> None:
    other = generate_signing_key(KEY_NAME)  # same name, different key: a different key id
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        verify_checkpoint(SIGNED, [other.verifier])
    with pytest.raises(SignatureError):
        verify_checkpoint(sign_checkpoint(CHECKPOINT, other), [KEY.verifier])


def test_signature_by_unknown_key_only_fails() -> None:
    stranger = generate_signing_key("attacker.example/audit")
    with pytest.raises(SignatureError, match=r"attacker\.example/audit"):
        verify_checkpoint(sign_checkpoint(CHECKPOINT, stranger), [KEY.verifier])


def test_unknown_extra_signature_is_ignored() -> None:
    witness = generate_signing_key("witness.example/w1")
    text = sign_checkpoint(CHECKPOINT, KEY, witness)
    assert verify_checkpoint(text, [KEY.verifier]) == CHECKPOINT
    assert verify_note(text, [KEY.verifier, witness.verifier])[1] == (
        KEY.verifier,
        witness.verifier,
    )


def test_key_rotation_with_two_signatures() -> None:
    new_key = generate_signing_key("trailkeeper.test/audit-2025")
    text = sign_checkpoint(CHECKPOINT, KEY, new_key)
    assert verify_checkpoint(text, [new_key.verifier]) == CHECKPOINT
    assert verify_checkpoint(text, [KEY.verifier]) == CHECKPOINT


def test_forged_signature_alongside_a_good_one_fails() -> None:
    """A failing signature from a trusted key rejects the note even if another one verifies."""
    forged = SIGNED + flipped_signature_line(SIG_LINE, 40)
    with pytest.raises(SignatureError):
        verify_checkpoint(forged, [KEY.verifier])


def test_origin_is_pinned() -> None:
    with pytest.raises(OriginMismatchError, match="E0OTHER"):
        verify_checkpoint(SIGNED, [KEY.verifier], origin="trailkeeper.test/audit/E0OTHER")


# --- Must-fail: malformed notes and bodies ----------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (BODY, "no blank line"),
        (BODY + "\n", "no signature"),
        (SIGNED[:-1], "newline"),
        ("\x01" + SIGNED, "control"),
        (SIGNED.replace("\n", "\r\n"), "control"),
        (BODY + "\n" + SIG_LINE + "Unexpected line.\n", "em dash"),
        (BODY + "\n" + SIG_LINE.replace("trailkeeper.test/audit", "bad name"), "base64"),
        (BODY + "\n" + SIG_LINE.replace("\u2014", "-"), "em dash"),
        (BODY + "\n" + SIG_LINE.replace("=\n", "\n"), "base64"),
        (BODY + "\n" + SIG_LINE.replace("Aw=", "Ax="), "canonical"),
        (BODY + "\n\u2014 trailkeeper.test/audit AAAAAA==\n", "too short"),
        (BODY + "\n\u2014 a+b AAAAAAAAAA==\n", "space"),
        (BODY + "\n" + SIG_LINE * (MAX_SIGNATURES + 1), "more than"),
    ],
)
def test_malformed_notes_are_refused(message: str, reason: str) -> None:
    with pytest.raises(CheckpointFormatError, match=reason):
        verify_checkpoint(message, [KEY.verifier])
    with pytest.raises(CheckpointFormatError):
        parse_checkpoint(message)


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(CheckpointFormatError, match="UTF-8"):
        parse_note(b"\xff" + SIGNED.encode())
    with pytest.raises(CheckpointFormatError, match="UTF-8"):
        parse_note("\ud800" + SIGNED)


def test_oversized_note_is_refused() -> None:
    with pytest.raises(CheckpointFormatError, match="larger"):
        parse_note("x" * 70_000 + SIGNED)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("origin\n8\n", "non-empty"),
        ("origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "leading zeros"),
        ("origin\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "decimal"),
        ("origin\n+8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "decimal"),
        ("origin\n\u0668\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "decimal"),
        ("origin\n8\n" + base64.b64encode(ROOT_8[:31]).decode() + "\n", "32 bytes"),
        ("origin\n8\nnot base64!\n", "base64"),
        ("origin\n8\n" + "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime 017\n", "leading"),
        ("origin\n8\n" + "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime \n", "decimal"),
        ("origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\nx\ntime 5\n", "first"),
        ("origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime 5\ntime 6\n", "first"),
        ("\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "non-empty"),
        ("origin\n99999999999999999999\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "range"),
    ],
)
def test_malformed_bodies_are_refused_even_when_signed(body: str, reason: str) -> None:
    with pytest.raises(CheckpointFormatError, match=reason):
        verify_checkpoint(sign_note(body, [KEY]), [KEY.verifier])


def test_extension_lines_and_empty_tree_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT, None, ("vendor.example/ext 1",))
    text = sign_checkpoint(checkpoint, KEY)
    assert text.startswith(ORIGIN + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    assert verify_checkpoint(text, [KEY.verifier]) == checkpoint


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "two\nlines"},
        {"tree_size": -1},
        {"root_hash": b"short"},
        {"timestamp": -5},
        {"extensions": ("",)},
        {"extensions": ("time 5",)},
    ],
)
def test_checkpoint_values_are_validated(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"origin": ORIGIN, "tree_size": 8, "root_hash": ROOT_8}
    fields.update(kwargs)
    with pytest.raises(CheckpointFormatError):
        Checkpoint(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("service", "org"), [("", "E1"), ("svc", ""), ("svc host", "E1"), ("svc", "a/b"), ("s", "a+b")]
)
def test_bad_origins_are_refused(service: str, org: str) -> None:
    with pytest.raises(CheckpointFormatError):
        checkpoint_origin(service, org)


def test_sign_note_requires_a_key_and_a_final_newline() -> None:
    with pytest.raises(SignatureError):
        sign_note(BODY, [])
    with pytest.raises(CheckpointFormatError):
        sign_note("no newline", [KEY])


def test_all_errors_share_one_root() -> None:
    for error in (CheckpointFormatError, SignatureError, KeyFormatError, OriginMismatchError):
        assert issubclass(error, IntegrityError)


# --- Checkpoints with proofs ------------------------------------------------------------------


def test_checkpoints_with_proofs() -> None:
    leaves = [leaf_hash(b"event %d" % i) for i in range(11)]
    old = Checkpoint(ORIGIN, 6, root_hash(leaves[:6]), 1)
    new = Checkpoint(ORIGIN, 11, root_hash(leaves), 2)
    verify_checkpoint_consistency(old, new, consistency_proof(leaves, 6, 11))
    verify_checkpoint_inclusion(new, leaves[3], 3, inclusion_proof(leaves, 3))
    with pytest.raises(ConsistencyProofError):
        verify_checkpoint_consistency(old, new, consistency_proof(leaves, 5, 11))
    with pytest.raises(InclusionProofError):
        verify_checkpoint_inclusion(new, leaves[4], 3, inclusion_proof(leaves, 3))
    other_org = Checkpoint("trailkeeper.test/audit/E0OTHER", 11, root_hash(leaves), 2)
    with pytest.raises(OriginMismatchError):
        verify_checkpoint_consistency(old, other_org, consistency_proof(leaves, 6, 11))
