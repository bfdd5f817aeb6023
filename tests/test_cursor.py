"""Opaque pagination cursors: a pinned vector, the URL-safe alphabet and must-fail mutations.

Layout (query.py): base64url(version u8 | date_create i64 | seq i64, -1 for none | issued_at u64
| first 12 bytes of HMAC-SHA256(key, org_id 0x00 payload)), big-endian, unpadded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.errors import InvalidCursor, RequestError
from trailkeeper.query import Position, decode_cursor, encode_cursor

KEY = bytes(range(32))
ORG = "E0TEST"
ISSUED = 1_700_000_100
TTL_S = 3600
POSITION = Position(1_700_000_000, 4242)

# Pinned: changing the cursor format must be a deliberate act (CONVENTIONS §5).
PINNED = "AQAAAABlU_EAAAAAAAAAEJIAAAAAZVPxZD8rLJgmsYamdbdslA"
PINNED_SECOND_BOUNDARY = "AQAAAABlU_EA__________8AAAAAZVPxZPoj3bGxtlYBow2uWA"

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def decode(cursor: str, *, org: str = ORG, key: bytes = KEY, now: int = ISSUED) -> Position:
    return decode_cursor(cursor, org_id=org, key=key, now=now, ttl_s=TTL_S)


def forge(version: int, date_create: int, seq: int, issued: int, *, key: bytes = KEY) -> str:
    """A cursor built from the documented layout, with a valid MAC for `key` and ORG."""
    payload = struct.pack(">BqqQ", version, date_create, seq, issued)
    mac = hmac.new(key, ORG.encode() + b"\x00" + payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()


def test_pinned_vector_encodes_to_the_exact_string() -> None:
    assert encode_cursor(POSITION, org_id=ORG, key=KEY, now=ISSUED) == PINNED


def test_pinned_vector_decodes_to_its_position() -> None:
    assert decode(PINNED) == POSITION


def test_pinned_second_boundary_vector_round_trips_without_a_sequence() -> None:
    boundary = Position(1_700_000_000)
    assert encode_cursor(boundary, org_id=ORG, key=KEY, now=ISSUED) == PINNED_SECOND_BOUNDARY
    assert decode(PINNED_SECOND_BOUNDARY) == boundary


def test_pinned_vector_follows_the_documented_layout() -> None:
    assert forge(1, 1_700_000_000, 4242, ISSUED) == PINNED
    raw = base64.urlsafe_b64decode(PINNED + "==")
    assert raw[:25] == struct.pack(">BqqQ", 1, 1_700_000_000, 4242, ISSUED)


def test_cursor_uses_only_the_url_safe_alphabet_without_padding() -> None:
    for position in (POSITION, Position(0), Position(2**40, 2**62), Position(1, 0)):
        for now in (0, ISSUED, 2**40):
            cursor = encode_cursor(position, org_id=ORG, key=KEY, now=now)
            assert URL_SAFE.match(cursor), cursor
            assert "=" not in cursor


@given(
    date_create=st.integers(min_value=0, max_value=2**40),
    seq=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    org=st.from_regex(r"E[A-Z0-9]{1,20}", fullmatch=True),
)
def test_any_position_round_trips_in_url_safe_characters(
    date_create: int, seq: int | None, org: str
) -> None:
    cursor = encode_cursor(Position(date_create, seq), org_id=org, key=KEY, now=ISSUED)
    assert URL_SAFE.match(cursor)
    assert decode(cursor, org=org) == Position(date_create, seq)


def test_decode_tolerates_base64_padding() -> None:
    assert decode(PINNED + "==") == POSITION
    assert decode(PINNED + "=") == POSITION


def test_decode_tolerates_a_literal_percent_3d_left_by_one_round_of_decoding() -> None:
    # Microsoft Sentinel's connector hand-encodes a trailing `=` (client-contract §4.1.9).
    assert decode(PINNED + "%3D") == POSITION
    assert decode(PINNED + "%3D%3D") == POSITION
    assert decode(PINNED + "%3d") == POSITION


def test_decode_tolerates_surrounding_whitespace() -> None:
    assert decode(f"  {PINNED}\n") == POSITION


def test_a_cursor_is_valid_until_its_ttl_has_passed() -> None:
    assert decode(PINNED, now=ISSUED + TTL_S) == POSITION


def test_an_expired_cursor_is_invalid() -> None:
    with pytest.raises(InvalidCursor, match="expired"):
        decode(PINNED, now=ISSUED + TTL_S + 1)


def test_invalid_cursor_is_a_request_error() -> None:
    assert issubclass(InvalidCursor, RequestError)


def _flip(cursor: str, index: int) -> str:
    # XOR with 32 flips the top bit of the 6-bit value, which always carries data bits.
    value = ALPHABET.index(cursor[index]) ^ 32
    return cursor[:index] + ALPHABET[value] + cursor[index + 1 :]


def test_a_flipped_character_is_invalid() -> None:
    with pytest.raises(InvalidCursor):
        decode(_flip(PINNED, 20))


@pytest.mark.parametrize("index", range(len(PINNED)))
def test_a_flipped_character_anywhere_is_invalid(index: int) -> None:
    with pytest.raises(InvalidCursor):
        decode(_flip(PINNED, index))


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 10, len(PINNED) - 1])
def test_a_truncated_cursor_is_invalid(cut: int) -> None:
    with pytest.raises(InvalidCursor):
        decode(PINNED[:-cut])


@pytest.mark.parametrize("suffix", ["A", "AA", "AAA", "AAAA", "xyz0"])
def test_an_extended_cursor_is_invalid(suffix: str) -> None:
    with pytest.raises(InvalidCursor):
        decode(PINNED + suffix)


def test_a_cursor_of_another_organization_is_invalid() -> None:
    with pytest.raises(InvalidCursor, match="organization"):
        decode(PINNED, org="E0OTHER")


def test_a_cursor_made_with_another_key_is_invalid() -> None:
    with pytest.raises(InvalidCursor):
        decode(PINNED, key=b"another key of thirty-two bytes!")


def test_a_cursor_of_an_unknown_version_is_invalid_even_with_a_valid_mac() -> None:
    with pytest.raises(InvalidCursor, match="version"):
        decode(forge(2, 1_700_000_000, 4242, ISSUED))


def test_a_forged_cursor_without_the_key_is_invalid() -> None:
    with pytest.raises(InvalidCursor):
        decode(forge(1, 1_700_000_000, 4242, ISSUED, key=b"guessed"))


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "!!!!", "not a cursor", "éèàç" * 10, "%%%%", "{}", "\x00\x01", "A" * 50],
)
def test_non_base64_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(InvalidCursor):
        decode(garbage)


def test_an_overlong_cursor_is_invalid() -> None:
    with pytest.raises(InvalidCursor, match="too long"):
        decode(PINNED * 10)
