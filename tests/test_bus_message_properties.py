"""Bus message formats and names as properties: NDJSON packing is lossless and bounded, decoding
takes what packing makes, derived ids are stable UUIDv5, headers are bounded, and subjects
never let an organization id escape its token. No server needed."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.js.api import RetentionPolicy

from trailkeeper.bus.lifecycle import pause
from trailkeeper.bus.messages import (
    EVENT_ID,
    EVENT_ID_NAMESPACE,
    INDEX,
    MAX_HEADER_CHARS,
    MSG_ID,
    REASON,
    SEQ,
    STREAM_SEQ,
    DeadLetter,
    Delivery,
    MalformedMessage,
    committed_headers,
    deadletter_headers,
    decode_message,
    delivery_origin,
    derived_event_id,
    estimated_events,
    header_value,
    with_defaults,
)
from trailkeeper.bus.producer import ndjson_messages
from trailkeeper.bus.streams import BusNames, checked_org, stream_configs

json_scalars = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=20), st.booleans())
events = st.dictionaries(st.text(min_size=1, max_size=8), json_scalars, min_size=1, max_size=5)


# --- NDJSON packing ------------------------------------------------------------------------------


@given(st.lists(events, max_size=40), st.integers(1, 12), st.integers(1, 400))
@settings(max_examples=80, deadline=None)
def test_packing_keeps_every_event_in_order(
    items: list[dict[str, Any]], per_message: int, max_bytes: int
) -> None:
    messages = list(ndjson_messages(items, events_per_message=per_message, max_bytes=max_bytes))
    lines = [line for m in messages for line in m.split(b"\n")]
    assert [orjson.loads(line) for line in lines] == items


@given(st.lists(events, min_size=1, max_size=40), st.integers(1, 12), st.integers(1, 400))
@settings(max_examples=80, deadline=None)
def test_packed_messages_respect_both_bounds_unless_one_event_is_alone(
    items: list[dict[str, Any]], per_message: int, max_bytes: int
) -> None:
    for message in ndjson_messages(items, events_per_message=per_message, max_bytes=max_bytes):
        lines = message.split(b"\n")
        assert len(lines) <= per_message
        assert len(message) <= max_bytes or len(lines) == 1


@given(st.lists(events, min_size=1, max_size=30), st.integers(1, 10))
@settings(max_examples=60, deadline=None)
def test_every_packed_message_decodes_to_its_events(
    items: list[dict[str, Any]], per_message: int
) -> None:
    decoded = [
        piece.item
        for message in ndjson_messages(items, events_per_message=per_message, max_bytes=10**6)
        for piece in decode_message(message, max_events=per_message)
    ]
    assert decoded == items


def test_bytes_are_packed_as_they_are() -> None:
    raw = b'{"action":"user_login","note":"kept \\u00e9 as sent"}'
    (message,) = ndjson_messages([raw, {"a": 1}], events_per_message=5, max_bytes=10_000)
    assert message == raw + b"\n" + b'{"a":1}'


def test_nothing_to_pack_is_no_message() -> None:
    assert list(ndjson_messages([], events_per_message=5, max_bytes=100)) == []


# --- decoding ------------------------------------------------------------------------------------


def test_blank_lines_and_surrounding_whitespace_are_ignored() -> None:
    pieces = decode_message(b'\n  {"a":1}\n\n   \n{"a":2}\n\n', max_events=10)
    assert [p.item for p in pieces] == [{"a": 1}, {"a": 2}]
    assert [p.raw for p in pieces] == [b'{"a":1}', b'{"a":2}']


def test_a_bad_line_among_good_ones_is_a_piece_with_its_line_number() -> None:
    pieces = decode_message(b'{"a":1}\n{oops\n{"a":3}', max_events=10)
    assert [p.error is None for p in pieces] == [True, False, True]
    assert pieces[1].error is not None
    assert pieces[1].error.startswith("line 2 is not valid JSON")
    assert pieces[1].raw == b"{oops"


def test_array_elements_are_re_encoded_individually() -> None:
    pieces = decode_message(b'[ {"a": 1} , 2, "x" ]', max_events=5)
    assert [p.raw for p in pieces] == [b'{"a":1}', b"2", b'"x"']
    assert [p.item for p in pieces] == [{"a": 1}, 2, "x"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"[1, 2, 3]", "at most 2 events per message"),
        (b'{"a":1}\n{"a":2}\n{"a":3}', "at most 2 events per message"),
        (b"   \n\t ", "empty message"),
        (b"[1, 2", "message is not valid JSON"),
        (b"nope\nstill nope", "message is not JSON"),
    ],
)
def test_unreadable_or_oversized_messages_are_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_message(data, max_events=2)
    assert caught.value.reason.startswith(reason)


def test_an_event_count_is_estimated_from_the_action_keys() -> None:
    assert estimated_events(b"") == 1
    assert estimated_events(b'{"action":"a"}\n{"action":"b"}\n{"action":"c"}') == 3


# --- ids and headers -----------------------------------------------------------------------------


@given(st.text(max_size=20), st.text(max_size=40), st.integers(0, 10**6))
def test_derived_ids_are_stable_version_5_uuids(org: str, origin: str, index: int) -> None:
    value = uuid.UUID(derived_event_id(org, origin, index))
    assert value.version == 5
    assert value == uuid.uuid5(EVENT_ID_NAMESPACE, f"{org}\n{origin}\n{index}")
    assert derived_event_id(org, origin, index) != derived_event_id(org, origin, index + 1)


def test_the_origin_prefers_the_producers_message_id() -> None:
    with_id = Delivery("s", b"", 9, 0, "abc")
    without = Delivery("s", b"", 9, 0, None)
    empty = Delivery("s", b"", 9, 0, "")
    assert delivery_origin(with_id, "STREAM@1") == "msg-id:abc"
    assert delivery_origin(without, "STREAM@1") == "STREAM@1#9"
    assert delivery_origin(empty, "STREAM@1") == "STREAM@1#9"


def test_defaults_fill_a_null_id_and_leave_non_objects_alone() -> None:
    filled = with_defaults({"id": None, "action": "x"}, "E0A", "o", 3, 111)
    assert isinstance(filled, dict)
    assert filled["id"] == derived_event_id("E0A", "o", 3)
    assert filled["date_create"] == 111
    kept = {"id": "given", "date_create": 5}
    assert with_defaults(kept, "E0A", "o", 3, 111) is kept
    assert with_defaults([1, 2], "E0A", "o", 3, 111) == [1, 2]


@given(st.text(max_size=3000))
def test_header_values_are_one_bounded_line(text: str) -> None:
    value = header_value(text)
    assert len(value) <= MAX_HEADER_CHARS
    assert "\n" not in value
    assert "\r" not in value
    assert value == value.strip()


def test_dead_letter_headers_name_the_event_or_the_whole_message() -> None:
    one = deadletter_headers(DeadLetter("E0A", b"{}", "bad\naction", 12, 4), "S@1")
    assert one == {REASON: "bad action", STREAM_SEQ: "12", MSG_ID: "S@1#12/4", INDEX: "4"}
    whole = deadletter_headers(DeadLetter("E0A", b"x", "not JSON", 12, None), "S@1")
    assert whole[MSG_ID] == "S@1#12/all"
    assert INDEX not in whole


def test_committed_headers_make_a_republish_a_duplicate() -> None:
    assert committed_headers("E0A", 41, "ev-1") == {MSG_ID: "E0A:41", SEQ: "41", EVENT_ID: "ev-1"}


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "org_id", ["", "E0.A", "E0*", "E0>", "E0 A", "E0\nA", "E" * 65, "É0A", "E0/A"]
)
def test_organization_ids_that_cannot_be_one_subject_token_are_refused(org_id: str) -> None:
    names = BusNames()
    with pytest.raises(ValueError, match="cannot be a NATS subject token"):
        checked_org(org_id)
    with pytest.raises(ValueError):
        names.committed_subject(org_id)
    assert names.org_of(f"trailkeeper.ingest.{org_id}") is None


def test_an_organization_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValueError):
        checked_org("E0A\n")


@pytest.mark.parametrize(
    "subject",
    ["trailkeeper.ingest", "trailkeeper.ingest.", "other.ingest.E0A", "trailkeeper.committed.E0A"],
)
def test_only_ingest_subjects_of_this_prefix_name_an_organization(subject: str) -> None:
    assert BusNames().org_of(subject) is None


def test_names_follow_their_prefixes() -> None:
    names = BusNames("acme", "ACME")
    assert names.ingest_subject("E0A") == "acme.ingest.E0A"
    assert names.org_of("acme.ingest.E0A") == "E0A"
    assert names.all_subjects("deadletter") == "acme.deadletter.*"
    assert names.relay_consumer == "relay:ACME_COMMITTED"


def test_stream_configs_make_ingest_a_work_queue_and_let_committed_age_out() -> None:
    ingest, dead, committed = stream_configs(BusNames(), committed_max_age_s=3600.0)
    assert ingest.retention == RetentionPolicy.WORK_QUEUE
    assert dead.retention == committed.retention == RetentionPolicy.LIMITS
    assert (ingest.max_age, committed.max_age) == (None, 3600.0)
    assert stream_configs(BusNames(), committed_max_age_s=0)[2].max_age is None
    assert {c.duplicate_window for c in (ingest, dead, committed)} == {120.0}


# --- pausing -------------------------------------------------------------------------------------


async def test_a_pause_ends_early_when_stop_is_set() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    await pause(stop, 30.0)
    assert time.monotonic() - started < 5.0
    started = time.monotonic()
    await pause(asyncio.Event(), 0.05)
    assert time.monotonic() - started >= 0.04
