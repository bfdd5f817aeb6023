"""Ingest units: `parse_batch` and the `Ingestor` over a real SQLite store and directory."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_B, WS_OTHER, make_event
from trailkeeper.catalog import Catalog
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.errors import InvalidPayload
from trailkeeper.events import canonical_bytes
from trailkeeper.ingest import Ingestor, IngestReport, Rejection, parse_batch
from trailkeeper.query import LogFilter
from trailkeeper.storage.sqlite import SQLiteStore

NOW = BASE_TIME + 3600


def nd(*events: object) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events)


@pytest.fixture
def ingestor(directory: SQLiteStore, catalog: Catalog) -> Ingestor:
    return Ingestor(
        directory, catalog, LocationIndex(directory), max_event_bytes=64 * 1024, clock=lambda: NOW
    )


def stored(store: SQLiteStore, org: str = ORG) -> list[dict[str, Any]]:
    return [orjson.loads(r.body) for r in store.scan(org, LogFilter(), None, 100_000)]


def bodies(store: SQLiteStore, org: str = ORG) -> dict[str, bytes]:
    rows = store.scan(org, LogFilter(), None, 100_000)
    return {orjson.loads(r.body)["id"]: r.body for r in rows}


# --- parse_batch ----------------------------------------------------------------------------------


def test_parse_json_array() -> None:
    events = [make_event(), make_event("user_logout")]
    assert parse_batch(orjson.dumps(events), max_events=10) == events


def test_parse_json_array_with_surrounding_whitespace_and_newlines() -> None:
    body = b"\n  [\n" + orjson.dumps(make_event()) + b",\n" + orjson.dumps({"x": 1}) + b"\n]\n\n"
    assert parse_batch(body, max_events=10) == [make_event(), {"x": 1}]


def test_parse_json_array_items_need_not_be_objects() -> None:
    # Non-objects are decoded here and rejected per event by the Ingestor.
    assert parse_batch(b'[1, "two", null, []]', max_events=10) == [1, "two", None, []]


def test_parse_empty_array_is_no_events() -> None:
    assert parse_batch(b"[]", max_events=10) == []


def test_parse_ndjson_with_blank_lines() -> None:
    a, b, c = make_event(), make_event("user_logout"), make_event(actor="U0BOB")
    body = orjson.dumps(a) + b"\n\n   \n" + orjson.dumps(b) + b"\r\n" + orjson.dumps(c) + b"\n\n"
    assert parse_batch(body, max_events=10) == [a, b, c]


def test_parse_single_object_is_one_line_ndjson() -> None:
    assert parse_batch(orjson.dumps(make_event()), max_events=1) == [make_event()]


def test_parse_ndjson_invalid_line_names_its_number() -> None:
    body = nd(make_event()) + b"\n\n" + nd(make_event()) + b"\n{not json}\n" + nd(make_event())
    with pytest.raises(InvalidPayload, match=r"^line 4 is not valid JSON"):
        parse_batch(body, max_events=10)


def test_parse_ndjson_line_numbers_count_leading_blank_lines() -> None:
    with pytest.raises(InvalidPayload, match=r"^line 3 is not valid JSON"):
        parse_batch(b"\n\n{bad\n", max_events=10)


def test_parse_invalid_json_array_is_invalid_payload() -> None:
    with pytest.raises(InvalidPayload, match="not valid JSON"):
        parse_batch(b'[{"a": 1},\n{bad}]', max_events=10)
    with pytest.raises(InvalidPayload, match="not valid JSON"):
        parse_batch(b"[1, 2", max_events=10)


def test_parse_invalid_json_array_names_the_line() -> None:
    with pytest.raises(InvalidPayload, match=r"line 2"):
        parse_batch(b'[{"a": 1},\n{bad}]', max_events=10)


def test_parse_invalid_utf8_is_invalid_payload() -> None:
    with pytest.raises(InvalidPayload, match="line 1"):
        parse_batch(b'{"a": "\xff\xfe"}', max_events=10)


@pytest.mark.parametrize("body", [b"", b"   ", b"\n\n\r\n", b"\t"])
def test_parse_empty_body(body: bytes) -> None:
    with pytest.raises(InvalidPayload, match="empty body"):
        parse_batch(body, max_events=10)


@pytest.mark.parametrize("form", ["array", "ndjson"])
def test_parse_too_many_events(form: str) -> None:
    events = [make_event() for _ in range(4)]
    body = orjson.dumps(events) if form == "array" else nd(*events)
    assert len(parse_batch(body, max_events=4)) == 4
    with pytest.raises(InvalidPayload, match="at most 3 events per batch"):
        parse_batch(body, max_events=3)


# --- Ingestor -------------------------------------------------------------------------------------


def test_ingest_stores_and_reports(ingestor: Ingestor, directory: SQLiteStore) -> None:
    events = [make_event(id="ev-1"), make_event("user_logout", id="ev-2", date=BASE_TIME + 1)]
    report = ingestor.ingest(events)
    assert report == IngestReport(accepted=["ev-1", "ev-2"], duplicates=[], rejected=[])
    assert report.stored == 2
    assert [e["id"] for e in stored(directory)] == ["ev-2", "ev-1"]
    assert directory.count_events(ORG) == 2


def test_ingest_assigns_id_and_date_when_absent(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest([make_event(date=None), make_event(date=None)])
    assert report.stored == 2
    assert len(set(report.accepted)) == 2
    rows = stored(directory)
    assert {r["id"] for r in rows} == set(report.accepted)
    assert all(r["date_create"] == NOW for r in rows)
    # Generated ids are UUIDs: a second ingest of the same id-less events stores them again.
    again = ingestor.ingest([make_event(date=None)])
    assert again.stored == 1
    assert again.accepted[0] not in report.accepted


def test_ingest_fills_location_names_and_keeps_canonical_bytes(
    ingestor: Ingestor, directory: SQLiteStore
) -> None:
    raw = make_event(id="canon-1")
    # A producer's own key order must not matter.
    shuffled = dict(reversed(list(raw.items())))
    shuffled["context"] = dict(reversed(list(raw["context"].items())))
    ingestor.ingest([shuffled])
    body = bodies(directory)["canon-1"]
    value = orjson.loads(body)
    assert list(value) == ["id", "date_create", "action", "actor", "entity", "context"]
    assert value["context"]["location"] == {
        "type": "workspace",
        "id": WS_A,
        "name": "Alpha",
        "domain": "alpha",
    }
    assert body == canonical_bytes(value)
    assert body.startswith(b'{"id":"canon-1","date_create":1700000000,"action":"user_login",')


def test_ingest_resolves_enterprise_location(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest([make_event(id="ent-1", location=ORG)])
    assert report.rejected == []
    (event,) = stored(directory)
    assert event["context"]["location"] == {
        "type": "enterprise",
        "id": ORG,
        "name": "Test Org",
        "domain": "testorg",
    }


def test_ingest_routes_each_event_to_its_org(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest(
        [
            make_event(id="a1", location=WS_A),
            make_event(id="o1", location=WS_OTHER),
            make_event(id="b1", location=WS_B),
            make_event(id="o2", location=OTHER_ORG),
        ]
    )
    assert report.accepted == ["a1", "o1", "b1", "o2"]
    assert {e["id"] for e in stored(directory, ORG)} == {"a1", "b1"}
    assert {e["id"] for e in stored(directory, OTHER_ORG)} == {"o1", "o2"}
    assert directory.count_events(ORG) == 2
    assert directory.count_events(OTHER_ORG) == 2


def test_partial_batch_stores_good_and_reports_bad_by_index(
    ingestor: Ingestor, directory: SQLiteStore
) -> None:
    batch: list[object] = [
        make_event(id="good-0"),
        make_event("no_such_action", id="bad-1"),
        "not an object",
        make_event(id="good-3"),
        make_event(location="T0NOWHERE"),
        make_event(id="has space"),
        make_event(date=BASE_TIME + 10**9),
        {**make_event(), "surprise": 1},
        make_event(id="good-8", actor="lowercase"),
    ]
    report = ingestor.ingest(batch)
    assert report.accepted == ["good-0", "good-3"]
    assert report.stored == 2
    assert [r.index for r in report.rejected] == [1, 2, 4, 5, 6, 7, 8]
    reasons = {r.index: r.reason for r in report.rejected}
    assert "unknown action 'no_such_action'" in reasons[1]
    assert reasons[2] == "an event must be an object"
    assert "unknown workspace 'T0NOWHERE'" in reasons[4]
    assert reasons[5].startswith("id ")
    assert reasons[6] == "date_create is out of range"
    assert "unknown field 'surprise'" in reasons[7]
    assert "actor.user.id" in reasons[8]
    assert sorted(e["id"] for e in stored(directory)) == ["good-0", "good-3"]


def test_event_id_with_trailing_newline_rejected(ingestor: Ingestor) -> None:
    report = ingestor.ingest([make_event(id="ev-1\n")])
    assert report.accepted == []
    assert [r.index for r in report.rejected] == [0]


def test_actor_id_with_trailing_newline_rejected(ingestor: Ingestor) -> None:
    report = ingestor.ingest([make_event(actor="U0ANN\n")])
    assert report.accepted == []
    assert [r.index for r in report.rejected] == [0]


def test_all_rejected_stores_nothing(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest([1, make_event("bogus")])
    assert report.accepted == []
    assert report.stored == 0
    assert [r.index for r in report.rejected] == [0, 1]
    assert directory.count_events(ORG) == 0


def test_idempotent_reingest(ingestor: Ingestor, directory: SQLiteStore) -> None:
    events = [make_event(id=f"idem-{i}", date=BASE_TIME + i) for i in range(5)]
    first = ingestor.ingest(events)
    original = bodies(directory)
    assert first.stored == 5
    again = ingestor.ingest([*events, make_event(id="idem-new")])
    assert again.accepted == [*(f"idem-{i}" for i in range(5)), "idem-new"]
    assert again.duplicates == [f"idem-{i}" for i in range(5)]
    assert again.stored == 1
    assert directory.count_events(ORG) == 6
    # A resend with different content under a known id leaves the stored event untouched.
    changed = make_event("user_logout", id="idem-0", actor="U0EVE")
    third = ingestor.ingest([changed])
    assert third.duplicates == ["idem-0"]
    assert third.stored == 0
    assert bodies(directory)["idem-0"] == original["idem-0"]
    assert sorted(r.seq for r in directory.scan(ORG, LogFilter(), None, 100)) == list(range(6))


def test_duplicate_within_one_batch(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest([make_event(id="twice"), make_event(id="twice")])
    assert report.accepted == ["twice", "twice"]
    assert report.duplicates == ["twice"]
    assert report.stored == 1
    assert directory.count_events(ORG) == 1


def test_org_scope_rejects_other_orgs_events(ingestor: Ingestor, directory: SQLiteStore) -> None:
    report = ingestor.ingest(
        [
            make_event(id="mine-ws", location=WS_B),
            make_event(id="theirs-ws", location=WS_OTHER),
            make_event(id="mine-ent", location=ORG),
            make_event(id="theirs-ent", location=OTHER_ORG),
        ],
        org_scope=ORG,
    )
    assert report.accepted == ["mine-ws", "mine-ent"]
    assert report.rejected == [
        Rejection(1, "context.location belongs to another organization"),
        Rejection(3, "context.location belongs to another organization"),
    ]
    assert directory.count_events(OTHER_ORG) == 0


def test_oversized_event_rejected(directory: SQLiteStore, catalog: Catalog) -> None:
    small = Ingestor(
        directory, catalog, LocationIndex(directory), max_event_bytes=600, clock=lambda: NOW
    )
    report = small.ingest(
        [make_event(id="fits"), make_event(id="big", details={"note": "x" * 1000})]
    )
    assert report.accepted == ["fits"]
    assert report.rejected == [Rejection(1, "event is larger than 600 bytes")]


def test_prepare_does_not_store(ingestor: Ingestor, directory: SQLiteStore) -> None:
    prepared, rejected = ingestor.prepare([make_event(id="p1"), 5])
    assert [p.id for p in prepared] == ["p1"]
    assert prepared[0].org_id == ORG
    assert prepared[0].id_supplied
    assert rejected == [Rejection(1, "an event must be an object")]
    assert directory.count_events(ORG) == 0


def test_ingest_empty_batch(ingestor: Ingestor) -> None:
    assert ingestor.ingest([]) == IngestReport()


def test_parse_then_ingest_ndjson(ingestor: Ingestor, directory: SQLiteStore) -> None:
    body = nd(make_event(id="n1"), {"action": "user_login"}) + b"\n\n" + nd(make_event(id="n2"))
    report = ingestor.ingest(parse_batch(body, max_events=10))
    assert report.accepted == ["n1", "n2"]
    assert [r.index for r in report.rejected] == [1]
    assert directory.count_events(ORG) == 2
