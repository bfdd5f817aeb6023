"""The console's pure parts: the filter (bounds, presets, custom ranges, sharing as a URL), the
summaries of events of any shape, anomaly views, and the export writers (CSV injection, JSONL
bytes, resuming a bounded search).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trailkeeper.catalog import Catalog, load_catalog
from trailkeeper.console import activity, export
from trailkeeper.console.anomalies import anomaly_view, trigger_ids
from trailkeeper.console.filters import (
    CUSTOM,
    DEFAULT_PAGE_SIZE,
    DEFAULT_PRESET,
    MAX_TEXT_CHARS,
    ConsoleFilter,
    format_time,
    input_time,
    parse_filter,
    parse_time,
    query_params,
    resolve,
)
from trailkeeper.console.pages import Bar, chart
from trailkeeper.console.search import ActionCounts, EventQuery, SearchPage
from trailkeeper.console.views import action_groups, by_day, summarize, text_of
from trailkeeper.directory.accounts import User
from trailkeeper.directory.activity import Origin
from trailkeeper.directory.records import Organization, TokenRecord
from trailkeeper.errors import InvalidArguments
from trailkeeper.events import StoredRow, canonical_bytes
from trailkeeper.query import Position

NOW = 1_750_000_000
CATALOG = load_catalog()


def no_login(email: str) -> str | None:
    return {"ann@acme.example": "U0ANN"}.get(email.lower())


def resolved(catalog: Catalog, **params: str) -> Any:
    return resolve(parse_filter(params), catalog, NOW, no_login)


def test_the_default_view_is_the_last_seven_days_fifty_at_a_time(catalog: Catalog) -> None:
    r = resolved(catalog)
    assert r.filter == ConsoleFilter()
    assert (r.filter.range, r.filter.limit) == (DEFAULT_PRESET, DEFAULT_PAGE_SIZE)
    assert r.query == EventQuery(oldest=NOW - 7 * 86400)
    assert r.problems == ()


def test_presets_are_relative_to_now_and_all_is_unbounded(catalog: Catalog) -> None:
    assert resolved(catalog, range="1h").query.oldest == NOW - 3600
    assert resolved(catalog, range="all").query == EventQuery()
    assert resolved(catalog, range="nonsense").filter.range == DEFAULT_PRESET


def test_a_shared_link_with_from_and_to_is_a_custom_range_ending_at_its_last_second(
    catalog: Catalog,
) -> None:
    r = resolved(catalog, **{"from": "2024-05-01", "to": "2024-05-01T13:45"})
    assert r.filter.range == CUSTOM
    assert r.query.oldest == 1714521600
    assert r.query.latest == 1714571100 + 59
    assert resolved(catalog, **{"from": "1700000000"}).query.oldest == 1700000000


def test_a_preset_chosen_in_the_form_wins_over_leftover_dates(catalog: Catalog) -> None:
    r = resolved(catalog, range="24h", **{"from": "2024-05-01"})
    assert (r.filter.start, r.query.oldest) == ("", NOW - 86400)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "start"),
        ({"from": "2024-05-02", "to": "2024-05-01"}, "end"),
        ({"action": "user_login,not_an_action"}, "action"),
        ({"action": ",".join(["user_login"] * 2 + [f"a{i}" for i in range(40)])}, "action"),
        ({"ip": "999.1.1.1"}, "ip"),
        ({"session": "12ab"}, "session"),
        ({"actor": "nobody@acme.example"}, "actor"),
        ({"entity": "E" * 300}, "entity"),
        ({"q": "x" * 500}, "text"),
    ],
)
def test_each_bad_field_is_a_problem_named_after_it(
    catalog: Catalog, params: dict[str, str], field: str
) -> None:
    r = resolved(catalog, **params)
    assert r.problem(field)
    assert [p.field for p in r.problems] == [field]


def test_an_actor_can_be_given_by_email_through_the_directory(catalog: Catalog) -> None:
    assert resolved(catalog, actor="Ann@Acme.example").query.actor == "U0ANN"
    assert resolved(catalog, actor="U0BOB").query.actor == "U0BOB"


def test_values_are_trimmed_of_space_and_control_characters(catalog: Catalog) -> None:
    r = resolved(catalog, q="  bob\x00\x1b[31m  ", ip=" 10.0.0.1 ", session="42")
    assert r.query.text == "bob[31m"
    assert (r.query.ip, r.query.session) == ("10.0.0.1", 42)
    assert len(parse_filter({"q": "y" * 10_000}).text) == MAX_TEXT_CHARS + 1


def test_the_filter_round_trips_through_its_url() -> None:
    f = ConsoleFilter(range=CUSTOM, start="2024-05-01", action="user_login", ip="::1",
                      text="a&b=c #d", limit=100)  # fmt: skip
    assert parse_filter(query_params(f.query_string())) == f
    assert ConsoleFilter().query_string() == ""
    assert "cursor=abc" in f.query_string(cursor="abc", tag="")
    assert "tag" not in f.query_string(cursor="abc", tag="")


def test_query_strings_are_bounded_and_the_first_value_wins() -> None:
    assert query_params("q=a&q=b&x") == {"q": "a", "x": ""}
    with pytest.raises(InvalidArguments):
        query_params("q=" + "a" * 9000)
    with pytest.raises(InvalidArguments):
        query_params("&".join(f"p{i}=1" for i in range(100)))


@given(st.dictionaries(st.sampled_from(["range", "from", "to", "action", "actor", "entity",
                                        "workspace", "ip", "session", "q", "limit", "zz"]),
                       st.text(max_size=300)))  # fmt: skip
def test_no_filter_input_makes_parsing_or_resolving_raise(params: dict[str, str]) -> None:
    r = resolve(parse_filter(params), CATALOG, NOW, no_login)
    assert all(len(v) <= 257 for _, v in r.filter.items())


def test_times_parse_and_format_in_utc() -> None:
    assert parse_time("2024-05-01T13:45:10") == (1714571110, 1)
    assert parse_time("2024-13-01") is None
    assert parse_time("9" * 14) is None
    assert format_time(1714571110) == "2024-05-01 13:45:10 UTC"
    assert format_time(10**18) == str(10**18)
    assert input_time(1714571110) == "2024-05-01T13:45:10"
    assert input_time(None) == ""


# --- summaries and anomalies -------------------------------------------------------------------


def row(value: object, date: int = NOW, seq: int = 0) -> StoredRow:
    body = canonical_bytes(value) if isinstance(value, dict) else bytes(str(value), "utf-8")
    return StoredRow(date, seq, body)


def test_a_summary_reads_the_fields_people_filter_on(catalog: Catalog) -> None:
    e = summarize(row({
        "id": "e1", "date_create": NOW, "action": "user_login",
        "actor": {"type": "user", "user": {"id": "U0ANN", "name": "Ann", "email": "a@x"}},
        "entity": {"type": "channel", "channel": {"id": "C1", "name": "general"}},
        "context": {"location": {"type": "workspace", "id": "T1", "name": "HQ"},
                    "ip_address": "::1", "ua": "curl", "session_id": 7},
    }), catalog)  # fmt: skip
    assert (e.actor.label, e.actor.email, e.entity.label, e.location_name) == (
        "Ann",
        "a@x",
        "general",
        "HQ",
    )
    assert (e.ip, e.session_id, e.description) == (
        "::1",
        "7",
        catalog.action("user_login").description,
    )


@pytest.mark.parametrize(
    "value", [b"not json", "[1,2]", {"actor": "x", "entity": [], "context": 5, "action": 7}, {}]
)
def test_an_event_of_any_shape_still_summarizes(catalog: Catalog, value: Any) -> None:
    stored = StoredRow(NOW, 1, value) if isinstance(value, bytes) else row(value)
    e = summarize(stored, catalog)
    assert e.date_create == NOW
    assert isinstance(e.actor.id, str)
    assert isinstance(e.ip, str)


def test_long_values_are_cut_for_display() -> None:
    assert text_of("x" * 500) == "x" * 119 + "…"
    assert text_of({"b": 1}) == '{"b":1}'
    assert text_of(True) == "true"


def anomaly(**details: Any) -> dict[str, Any]:
    return {"id": "an1", "date_create": NOW, "action": "anomaly",
            "actor": {"type": "user", "user": {"id": "U0ANN"}},
            "context": {"ip_address": "198.18.0.10", "ua": "python-requests"},
            "details": {"reason": ["ip_address", "asn"], **details}}  # fmt: skip


def test_an_anomaly_shows_its_reasons_evidence_and_previous_values(catalog: Catalog) -> None:
    evidence = {"detector": "IpAddressDetector", "score": 3.0, "window_s": 2592000,
                "baseline": {"IpAddressDetector": {"asns": [1, 2]}, "n": 4},
                "event_ids": ["a1", "a2", "bad id!", 7, "a1"]}  # fmt: skip
    view = anomaly_view(row(anomaly(
        action_timestamp=NOW * 1_000_000, location="Amsterdam", previous_ip_address="1.1.1.1",
        ip_address_details=["cloud-asn"], trailkeeper_evidence=evidence)), catalog)  # fmt: skip
    assert view.event.reasons == ("ip_address", "asn")
    assert (view.acted_at, view.location, view.previous_ip) == (
        format_time(NOW),
        "Amsterdam",
        "1.1.1.1",
    )
    assert ("Address", "cloud-asn") in view.facts
    assert view.evidence is not None
    assert view.evidence.event_ids == ("a1", "a2")
    assert ("IpAddressDetector.asns", "[1,2]") in view.evidence.baseline
    assert view.evidence.window == "720 h"


def test_an_anomaly_without_evidence_cites_nothing(catalog: Catalog) -> None:
    view = anomaly_view(row(anomaly(trailkeeper_evidence="x")), catalog)
    assert view.evidence is None
    assert trigger_ids({"trailkeeper_evidence": {"event_ids": "x"}}) == ()


def test_items_are_grouped_by_day_keeping_their_order(catalog: Catalog) -> None:
    items = [summarize(row({"action": "user_login"}, NOW - h * 3600), catalog) for h in (0, 1, 50)]
    days = by_day(items)
    assert days[0].date == items[0].when[:10]
    assert days[-1].date == items[2].when[:10]
    assert len(days) in (2, 3)
    assert [i for d in days for i in d.items] == items


def test_the_action_picker_lists_each_action_once_in_the_apis_groups(catalog: Catalog) -> None:
    groups = action_groups(catalog)
    names = [a.name for g in groups for a in g.actions]
    assert len(names) == len(set(names)) == len(catalog.action_names)
    assert groups[-1].name == "trailkeeper"


def test_chart_bars_are_scaled_to_the_largest_count(catalog: Catalog) -> None:
    c = chart(ActionCounts((("user_login", 200), ("anomaly", 1)), False, NOW), catalog)
    assert c.bars[0] == Bar("user_login", catalog.action("user_login").description, 200, 1000)
    assert c.bars[1].length == 5
    assert (c.total, c.complete, c.counted_to) == (201, False, format_time(NOW))


# --- exports ------------------------------------------------------------------------------------


def test_a_csv_cell_never_runs_as_a_spreadsheet_formula() -> None:
    assert export.safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert export.safe_cell("+1") == "'+1"
    assert export.safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert export.safe_cell("plain") == "plain"


def test_csv_lines_parse_back_to_the_events_fields(catalog: Catalog) -> None:
    value = {"id": "e1", "date_create": NOW, "action": "user_login",
             "actor": {"type": "user", "user": {"id": "U0ANN", "name": "=cmd|' /C calc'!A0"}},
             "entity": {"type": "user", "user": {"id": "U0ANN"}},
             "context": {"ip_address": "::1", "ua": "a,\"b\"\nc"},
             "details": {"k": "v"}}  # fmt: skip
    text = (export.csv_header() + export.csv_line(row(value), catalog)).decode()
    header, record = list(csv.reader(io.StringIO(text)))
    fields = dict(zip(header, record, strict=True))
    assert fields["actor_name"] == "'=cmd|' /C calc'!A0"
    assert fields["user_agent"] == 'a,"b"\nc'
    assert orjson.loads(fields["details"]) == {"k": "v"}
    assert fields["date_create"] == str(NOW)


def test_jsonl_lines_are_the_stored_bytes(catalog: Catalog) -> None:
    stored = row({"id": "e1", "action": "user_login"})
    assert export.jsonl_line(stored, catalog) == stored.body + b"\n"


def test_an_export_resumes_a_bounded_search_and_stops_at_its_limit() -> None:
    rows = [StoredRow(NOW - n, n, b"{}") for n in range(10)]

    def search(below: Position | None, limit: int) -> SearchPage:
        if below is None:
            return SearchPage(rows[:3])  # a full batch: continue after its last row
        if below.seq == 2:  # rows 3-5 read, none matched: the window ended at row 5
            return SearchPage([], Position(rows[5].date_create, rows[5].seq))
        return SearchPage([r for r in rows if r.seq > below.seq][:limit])

    assert [r.seq for r in export.export_rows(search, batch=3)] == [0, 1, 2, 6, 7, 8, 9]
    assert len(list(export.export_rows(search, batch=3, max_events=4))) == 4


def test_the_console_records_its_actions_with_the_person_and_their_origin() -> None:
    user = User("U0ANN", "E0X", "Ann", "ann@x", "owner", NOW)
    org = Organization("E0X", "X Corp", "x")
    origin = Origin("10.0.0.1", "Chrome", 99)
    event = activity.search_event(user, origin, org, "log", ConsoleFilter(ip="::1"))
    assert event["action"] == "audit_logs_records_searched"
    assert event["details"] == {"view": "log", "filters": {"ip": "::1"}}
    assert event["context"]["session_id"] == 99
    token = TokenRecord("tok_1", "E0X", b"h", frozenset({"auditlogs:read"}), "SIEM", NOW)
    revoked = activity.token_revoked_event(user, origin, org, token, None)
    assert revoked["details"] == {
        "token_id": "tok_1",
        "label": "SIEM",
        "scopes": ["auditlogs:read"],
    }
    assert revoked["entity"]["enterprise"]["id"] == "E0X"
