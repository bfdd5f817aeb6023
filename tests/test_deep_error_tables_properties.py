"""The edge's error tables (no entry shadowed, every domain error mapped once, unknown errors
opaque), Basic client credentials, and properties of the parsers readers reach: query
parameters, cursors and signed notes raise only their documented errors on any input."""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper import errors
from trailkeeper.catalog import Catalog, load_catalog
from trailkeeper.integrity.checkpoint import (
    MAX_NOTE_BYTES,
    Checkpoint,
    generate_signing_key,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    verify_checkpoint,
)
from trailkeeper.integrity.errors import CheckpointError, CheckpointFormatError, SignatureError
from trailkeeper.oauth import errors as oauth_errors
from trailkeeper.query import (
    MAX_LIMIT,
    Position,
    decode_cursor,
    encode_cursor,
    parse_log_request,
)
from trailkeeper.web.errors import ERROR_TABLE, response_for
from trailkeeper.web.slack_web_api import WEB_API_ERRORS, client_credentials, web_api_error

CATALOG: Catalog = load_catalog()
NOW = 1_700_000_000
KEY = b"k" * 32


def body_of(response: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(bytes(response.body))
    return decoded


def _subclasses(root: type[Exception]) -> list[type[Exception]]:
    found = []
    for sub in root.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


# --- the tables -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [[c for c, _, _ in ERROR_TABLE], [c for c, _ in WEB_API_ERRORS]],
    ids=["http", "web-api"],
)
def test_no_entry_of_an_error_table_is_shadowed_by_an_earlier_one(
    table: list[type[Exception]],
) -> None:
    for later, cls in enumerate(table):
        for earlier in table[:later]:
            assert not issubclass(cls, earlier), f"{cls.__name__} is hidden by {earlier.__name__}"


DOMAIN = [
    cls
    for cls in _subclasses(errors.TrailkeeperError)
    if cls.__module__ == "trailkeeper.errors"
    and cls not in (errors.ConfigError, errors.RequestError, errors.AuthError)
]


@pytest.mark.parametrize("cls", DOMAIN, ids=lambda c: c.__name__)
def test_every_concrete_domain_error_has_a_wire_code(cls: type[Exception]) -> None:
    assert any(issubclass(cls, mapped) for mapped, _, _ in ERROR_TABLE)


SPECIAL: dict[type[Exception], Exception] = {
    errors.ServiceUnavailable: errors.ServiceUnavailable("not now", 7),
    errors.RateLimited: errors.RateLimited(7),
    errors.MissingScope: errors.MissingScope("auditlogs:read", ""),
}


def _instance(cls: type[Exception]) -> Exception:
    return SPECIAL.get(cls) or cls("secret detail /var/lib/db")


@pytest.mark.parametrize(("cls", "status", "code"), ERROR_TABLE, ids=str)
def test_each_mapped_error_has_its_status_and_the_one_shape(
    cls: type[Exception], status: int, code: str
) -> None:
    response = response_for(_instance(cls))
    assert response.status_code == status
    body = body_of(response)
    assert body["ok"] is False
    assert body["error"] == code
    assert set(body) <= {"ok", "error", "needed", "provided"}
    assert "secret detail" not in bytes(response.body).decode()
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_retry_after_goes_with_every_retryable_refusal() -> None:
    for exc in (errors.RateLimited(7), errors.LoggingPaused("E0X", NOW, 7)):
        assert response_for(exc).headers["Retry-After"] == "7"


def test_a_missing_scope_says_what_was_needed_and_provided() -> None:
    body = body_of(response_for(errors.MissingScope("auditlogs:write", "auditlogs:read")))
    assert body == {
        "ok": False,
        "error": "missing_scope",
        "needed": "auditlogs:write",
        "provided": "auditlogs:read",
    }


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("db password=hunter2"), errors.TrailkeeperError("x"), errors.AuthError("x")],
    ids=["foreign", "root", "abstract-auth"],
)
def test_an_unmapped_error_is_an_opaque_500_with_the_traceback_logged(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="trailkeeper.web"):
        response = response_for(exc)
    assert response.status_code == 500
    assert body_of(response) == {"ok": False, "error": "internal_error"}
    assert caplog.records[-1].exc_info is not None


@pytest.mark.parametrize(("cls", "code"), WEB_API_ERRORS, ids=str)
def test_web_api_errors_are_http_200_except_too_large(cls: type[Exception], code: str) -> None:
    exc = cls("x")
    response = web_api_error(exc)
    assert body_of(response) == {"ok": False, "error": code}
    if cls is errors.PayloadTooLarge:
        assert response.status_code == 413
    else:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


def test_web_api_storage_failures_keep_the_503() -> None:
    response = web_api_error(errors.StorageError("disk on fire"))
    assert response.status_code == 503
    assert body_of(response) == {"ok": False, "error": "service_unavailable"}


def test_the_oauth_errors_are_all_in_the_web_api_table() -> None:
    mapped = [c for c, _ in WEB_API_ERRORS]
    for cls in (
        oauth_errors.UnknownClient,
        oauth_errors.BadClientSecret,
        oauth_errors.InvalidGrant,
        oauth_errors.UnsupportedGrantType,
    ):
        assert cls in mapped


# --- Basic client credentials (RFC 6749 §2.3.1) ----------------------------------------------


def basic(text: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def test_credentials_come_from_the_body_without_a_basic_header() -> None:
    params = {"client_id": "A1", "client_secret": "s"}
    assert client_credentials(params, {}) == ("A1", "s")
    assert client_credentials(params, {"authorization": "Bearer xoxp-1"}) == ("A1", "s")
    assert client_credentials({}, {}) == ("", "")


def test_basic_credentials_are_form_decoded_and_split_at_the_first_colon() -> None:
    assert client_credentials({}, basic("A1%3Ax:s%20e:cret")) == ("A1:x", "s e:cret")
    assert client_credentials({}, {"authorization": "  bAsIc  " + "QTE6cw=="}) == ("A1", "s")


def test_credentials_in_both_places_are_refused() -> None:
    with pytest.raises(errors.InvalidArguments, match="send client credentials once"):
        client_credentials({"client_secret": "s"}, basic("A1:s"))


@pytest.mark.parametrize("value", ["not base64!", "QTE6cw", base64.b64encode(b"\xff:").decode()])
def test_malformed_basic_credentials_are_invalid_arguments(value: str) -> None:
    with pytest.raises(errors.InvalidArguments, match="malformed Basic credentials"):
        client_credentials({}, {"authorization": f"Basic {value}"})


# --- properties: parsers raise only their documented errors ----------------------------------

PARAM_NAMES = st.sampled_from(["oldest", "latest", "limit", "action", "actor", "entity", "cursor"])
PARAM_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1e999999999", "-0", "0x10", "NaN", "user_login,,file_downloaded", " "]),
)


@given(st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=7))
def test_any_log_query_parses_or_raises_a_request_error(params: dict[str, str]) -> None:
    try:
        request = parse_log_request(params, CATALOG, now=NOW, default_limit=100)
    except errors.RequestError:
        return
    assert 1 <= request.limit <= MAX_LIMIT
    bounds = request.filter
    if bounds.oldest is not None and bounds.latest is not None:
        assert bounds.oldest <= bounds.latest


@given(st.text(max_size=260))
def test_any_text_as_a_cursor_decodes_or_is_an_invalid_cursor(text: str) -> None:
    with contextlib.suppress(errors.InvalidCursor):
        decode_cursor(text, org_id="E0X", key=KEY, now=NOW, ttl_s=3600)


@given(
    st.integers(min_value=0, max_value=2**40),
    st.none() | st.integers(min_value=0, max_value=2**62),
    st.integers(min_value=0, max_value=37 * 8 - 1),  # version, date, seq, issued, MAC
)
def test_flipping_any_bit_of_a_cursor_is_refused(date: int, seq: int | None, bit: int) -> None:
    cursor = encode_cursor(Position(date, seq), org_id="E0X", key=KEY, now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[bit // 8] ^= 1 << (bit % 8)
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(errors.InvalidCursor):
        decode_cursor(tampered, org_id="E0X", key=KEY, now=NOW, ttl_s=3600)


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_note_parses_or_is_a_format_error(message: bytes | str) -> None:
    with contextlib.suppress(CheckpointFormatError):
        parse_checkpoint(message)


SIGNER = generate_signing_key("tk.test/audit")
SIGNED = sign_checkpoint(Checkpoint("tk.test/audit/E0X", 8, bytes(range(32)), NOW), SIGNER).encode()


@given(st.integers(min_value=0, max_value=len(SIGNED) - 1), st.integers(1, 255))
def test_any_changed_byte_of_a_signed_checkpoint_is_refused(at: int, xor: int) -> None:
    tampered = bytearray(SIGNED)
    tampered[at] ^= xor
    with pytest.raises(CheckpointError):
        verify_checkpoint(bytes(tampered), [SIGNER.verifier], origin="tk.test/audit/E0X")


def test_an_appended_signature_line_by_a_stranger_does_not_hide_the_signers() -> None:
    stranger = generate_signing_key("tk.test/audit")
    extra = sign_checkpoint(
        Checkpoint("tk.test/audit/E0X", 8, bytes(range(32)), NOW), stranger
    ).split("\n\n", 1)[1]
    both = SIGNED.decode() + extra
    assert len(parse_note(both).signatures) == 2
    assert verify_checkpoint(both, [SIGNER.verifier]).tree_size == 8
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        verify_checkpoint(both, [generate_signing_key("tk.test/audit").verifier])


def test_a_note_of_exactly_the_size_limit_is_read_and_one_byte_more_is_not() -> None:
    head = "tk.test/audit/E0X\n8\n" + base64.b64encode(bytes(32)).decode() + "\n"
    signature = "\n\u2014 tk.test/audit " + base64.b64encode(bytes(68)).decode() + "\n"
    filler = MAX_NOTE_BYTES - len((head + signature).encode()) - 1
    note = head + "x" * filler + "\n" + signature
    assert len(note.encode()) == MAX_NOTE_BYTES
    assert parse_checkpoint(note).extensions == ("x" * filler,)
    with pytest.raises(CheckpointFormatError, match="larger than"):
        parse_checkpoint(head + "x" * (filler + 1) + "\n" + signature)
