"""Parsing of `/logs` parameters and the page rule of `read_page` (client-contract §4.1, §4.3.5).

`read_page` is driven by `ListLog`, an in-memory log that implements the `Scan` contract
(filter, strictly below a position, newest first, at most n rows) over a Python list: test
scaffolding standing in for a store, not a mock of the unit under test.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailkeeper.catalog import Catalog
from trailkeeper.errors import InvalidAction, InvalidArguments, InvalidRange, RequestError
from trailkeeper.events import StoredRow
from trailkeeper.query import (
    MAX_ACTIONS,
    MAX_ID_LENGTH,
    MAX_LIMIT,
    LogFilter,
    LogRequest,
    Page,
    Position,
    parse_limit,
    parse_log_request,
    parse_time,
    read_page,
)

NOW = 1_700_100_000
DEFAULT_LIMIT = 100


def parse(catalog: Catalog, **params: str) -> LogRequest:
    return parse_log_request(params, catalog, now=NOW, default_limit=DEFAULT_LIMIT)


# --- oldest / latest ----------------------------------------------------------------------------


def test_decimal_latest_rounds_down_so_the_bound_stays_inclusive(catalog: Catalog) -> None:
    # Sumo Logic pages with latest=<last seen>.99999; only whole seconds up to 3 qualify.
    assert parse(catalog, latest="1700000003.99999").filter.latest == 1_700_000_003


def test_decimal_oldest_rounds_up_so_the_bound_stays_inclusive(catalog: Catalog) -> None:
    assert parse(catalog, oldest="1700000003.5").filter.oldest == 1_700_000_004


def test_integer_bounds_are_kept_exactly_on_both_sides(catalog: Catalog) -> None:
    request = parse(catalog, oldest="1700000003", latest="1700000003")
    assert (request.filter.oldest, request.filter.latest) == (1_700_000_003, 1_700_000_003)


def test_whole_decimals_are_not_moved_by_rounding(catalog: Catalog) -> None:
    request = parse(catalog, oldest="1700000003.000", latest="1700000009.0")
    assert (request.filter.oldest, request.filter.latest) == (1_700_000_003, 1_700_000_009)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.7e9", 1_700_000_000), ("1.566215192e+09", 1_566_215_192), ("17E8", 1_700_000_000)],
)
def test_scientific_notation_is_accepted_for_time_bounds(
    catalog: Catalog, raw: str, expected: int
) -> None:
    # Elastic once sent oldest=1.566215192e+09 (spec §1.1, "Type laxity").
    assert parse(catalog, oldest=raw).filter.oldest == expected
    assert parse(catalog, latest=raw).filter.latest == expected


def test_zero_is_a_valid_bound(catalog: Catalog) -> None:
    request = parse(catalog, oldest="0", latest="0")
    assert (request.filter.oldest, request.filter.latest) == (0, 0)


def test_parse_time_rounds_inward_for_each_side() -> None:
    assert parse_time("10.2", upper=False) == 11
    assert parse_time("10.2", upper=True) == 10
    assert parse_time("10", upper=False) == parse_time("10", upper=True) == 10


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "yesterday",
        "0x10",
        "1,5",
        "1700000000s",
        "-1",
        "-0.5",
        "-1700000000",
        "inf",
        "-inf",
        "Infinity",
        "nan",
        "NaN",
        "sNaN",
        "1e400",
        "99999999999999999999",
    ],
)
@pytest.mark.parametrize("name", ["oldest", "latest"])
def test_unusable_time_bounds_are_an_invalid_range(catalog: Catalog, name: str, raw: str) -> None:
    with pytest.raises(InvalidRange):
        parse(catalog, **{name: raw})


def test_oldest_after_latest_is_an_invalid_range(catalog: Catalog) -> None:
    with pytest.raises(InvalidRange, match="after latest"):
        parse(catalog, oldest="1700000010", latest="1700000009")


def test_a_range_without_a_whole_second_inside_is_an_invalid_range(catalog: Catalog) -> None:
    # 3.2 .. 3.8 rounds inward to 4 .. 3: no second can match.
    with pytest.raises(InvalidRange):
        parse(catalog, oldest="1700000003.2", latest="1700000003.8")


def test_oldest_equal_to_latest_selects_one_second(catalog: Catalog) -> None:
    request = parse(catalog, oldest="1700000005", latest="1700000005")
    assert request.filter.oldest == request.filter.latest == 1_700_000_005


def test_oldest_in_the_future_is_an_invalid_range(catalog: Catalog) -> None:
    with pytest.raises(InvalidRange, match="future"):
        parse(catalog, oldest=str(NOW + 3600))


def test_oldest_a_few_seconds_ahead_is_tolerated_as_clock_skew(catalog: Catalog) -> None:
    assert parse(catalog, oldest=str(NOW + 5)).filter.oldest == NOW + 5


def test_latest_in_the_future_is_accepted(catalog: Catalog) -> None:
    assert parse(catalog, latest=str(NOW + 86_400)).filter.latest == NOW + 86_400


@pytest.mark.parametrize("days", [7, 30])
def test_oldest_days_back_is_accepted_as_clients_send_it(catalog: Catalog, days: int) -> None:
    # Grove asks for 7 days back, Elastic for 30 (client-contract §4.1.5).
    assert parse(catalog, oldest=str(NOW - days * 86_400)).filter.oldest == NOW - days * 86_400


def test_range_errors_are_request_errors() -> None:
    assert issubclass(InvalidRange, RequestError)
    assert issubclass(InvalidArguments, RequestError)
    assert issubclass(InvalidAction, RequestError)


# --- limit ----------------------------------------------------------------------------------------


def test_absent_limit_uses_the_server_default(catalog: Catalog) -> None:
    assert parse(catalog).limit == DEFAULT_LIMIT
    assert parse_log_request({}, catalog, now=NOW, default_limit=7).limit == 7


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("2", 2),
        ("200", 200),
        ("999", 999),
        ("1000", 1000),
        ("9999", 9999),
        ("0", 1),
        ("-5", 1),
        ("10000", MAX_LIMIT),
        ("123456789", MAX_LIMIT),
        ("1e3", 1000),
        (" 50 ", 50),
    ],
)
def test_limit_is_clamped_into_one_to_9999(catalog: Catalog, raw: str, expected: int) -> None:
    assert parse(catalog, limit=raw).limit == expected


@pytest.mark.parametrize("raw", ["abc", "ten", "0x10", "1,000", "nan", "inf", "-inf"])
def test_non_numeric_limit_is_invalid_arguments(catalog: Catalog, raw: str) -> None:
    with pytest.raises(InvalidArguments, match="limit"):
        parse(catalog, limit=raw)


def test_parse_limit_without_a_value_returns_the_default() -> None:
    assert parse_limit(None, 42) == 42


def test_a_limit_with_a_huge_exponent_is_clamped_without_hanging() -> None:
    # Run in a child process so the hang cannot stall the suite; correct code answers at once.
    code = "from trailkeeper.query import parse_limit; print(parse_limit('1e999999999', 100))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=5, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("parse_limit('1e999999999') did not return")
    assert done.stdout.strip() == str(MAX_LIMIT)


# --- action / actor / entity ------------------------------------------------------------------


def test_action_list_is_trimmed_deduplicated_and_keeps_its_order(catalog: Catalog) -> None:
    request = parse(catalog, action=" user_logout , user_login,,user_logout, ")
    assert request.filter.actions == ("user_logout", "user_login")


def test_single_action_filter(catalog: Catalog) -> None:
    assert parse(catalog, action="file_downloaded").filter.actions == ("file_downloaded",)


def test_action_names_with_dots_are_accepted(catalog: Catalog) -> None:
    assert parse(catalog, action="pref.sso_setting_changed").filter.actions == (
        "pref.sso_setting_changed",
    )


def test_thirty_actions_are_accepted_and_thirty_one_are_not(catalog: Catalog) -> None:
    names = sorted(catalog.action_names)
    accepted = parse(catalog, action=",".join(names[:MAX_ACTIONS]))
    assert len(accepted.filter.actions) == MAX_ACTIONS
    with pytest.raises(InvalidAction, match="30"):
        parse(catalog, action=",".join(names[: MAX_ACTIONS + 1]))


def test_duplicates_do_not_count_towards_the_thirty_action_bound(catalog: Catalog) -> None:
    names = sorted(catalog.action_names)[:MAX_ACTIONS]
    request = parse(catalog, action=",".join(names + names))
    assert request.filter.actions == tuple(names)


def test_unknown_action_is_invalid_action(catalog: Catalog) -> None:
    with pytest.raises(InvalidAction, match="channel_created"):
        parse(catalog, action="user_login,channel_created")


def test_action_names_are_case_sensitive(catalog: Catalog) -> None:
    with pytest.raises(InvalidAction):
        parse(catalog, action="USER_LOGIN")


def test_a_list_of_only_separators_means_no_action_filter(catalog: Catalog) -> None:
    assert parse(catalog, action=" , ,").filter.actions == ()


def test_empty_values_are_treated_as_absent(catalog: Catalog) -> None:
    # Sentinel's connector sends `cursor=` and `action=` (client-contract §4.1.4).
    request = parse(
        catalog, oldest="", latest=" ", limit="", action="", actor="", entity="", cursor=""
    )
    assert request == LogRequest(filter=LogFilter(), limit=DEFAULT_LIMIT, cursor=None)


def test_unknown_parameters_are_ignored(catalog: Catalog) -> None:
    request = parse(catalog, max_date_seen_so_far="1700000000", inclusive="True", foo="bar")
    assert request == LogRequest(filter=LogFilter(), limit=DEFAULT_LIMIT, cursor=None)


def test_every_parameter_is_parsed_together(catalog: Catalog) -> None:
    request = parse(
        catalog,
        oldest="1700000000",
        latest="1700000100",
        limit="20",
        action="user_login",
        actor="W123AB456",
        entity="C0CHANNEL",
        cursor="AQAA",
    )
    assert request == LogRequest(
        filter=LogFilter(
            oldest=1_700_000_000,
            latest=1_700_000_100,
            actions=("user_login",),
            actor="W123AB456",
            entity="C0CHANNEL",
        ),
        limit=20,
        cursor="AQAA",
    )


@pytest.mark.parametrize("name", ["actor", "entity"])
def test_actor_and_entity_are_trimmed_exact_match_ids(catalog: Catalog, name: str) -> None:
    request = parse(catalog, **{name: "  USLACKSECURITY "})
    assert getattr(request.filter, name) == "USLACKSECURITY"


@pytest.mark.parametrize("name", ["actor", "entity"])
def test_actor_and_entity_up_to_the_length_bound_are_accepted(catalog: Catalog, name: str) -> None:
    value = "U" * MAX_ID_LENGTH
    assert getattr(parse(catalog, **{name: value}).filter, name) == value


@pytest.mark.parametrize("name", ["actor", "entity"])
def test_actor_and_entity_over_the_length_bound_are_invalid(catalog: Catalog, name: str) -> None:
    with pytest.raises(InvalidArguments, match=name):
        parse(catalog, **{name: "U" * (MAX_ID_LENGTH + 1)})


# --- read_page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    date_create: int
    seq: int
    action: str = "user_login"
    actor: str = "U0ANN"
    entity: str = "U0ANN"

    @property
    def row(self) -> StoredRow:
        return StoredRow(self.date_create, self.seq, f"{self.date_create}/{self.seq}".encode())


@dataclass
class ListLog:
    """An in-memory log implementing the `Scan` contract over a list of records."""

    records: list[Record]
    calls: list[tuple[LogFilter, Position | None, int]] = field(default_factory=list)

    def __call__(self, log_filter: LogFilter, below: Position | None, n: int) -> list[StoredRow]:
        self.calls.append((log_filter, below, n))
        hits = [r for r in self.records if _matches(r, log_filter) and _is_below(r, below)]
        hits.sort(key=lambda r: (r.date_create, r.seq), reverse=True)
        return [r.row for r in hits[:n]]


def _matches(record: Record, f: LogFilter) -> bool:
    return (
        (f.oldest is None or record.date_create >= f.oldest)
        and (f.latest is None or record.date_create <= f.latest)
        and (not f.actions or record.action in f.actions)
        and (f.actor is None or record.actor == f.actor)
        and (f.entity is None or record.entity == f.entity)
    )


def _is_below(record: Record, position: Position | None) -> bool:
    if position is None:
        return True
    if position.seq is None:
        return record.date_create < position.date_create
    return (record.date_create, record.seq) < (position.date_create, position.seq)


def records_at(*dates: int) -> list[Record]:
    """One record per date, with sequence numbers in arrival order."""
    return [Record(date, seq) for seq, date in enumerate(dates, 1)]


def drain(
    log: ListLog, limit: int, max_extension: int, log_filter: LogFilter | None = None
) -> list[Page]:
    pages: list[Page] = []
    position: Position | None = None
    for _ in range(len(log.records) + 2):
        page = read_page(log, log_filter or LogFilter(), position, limit, max_extension)
        pages.append(page)
        position = page.next_position
        if position is None:
            return pages
    raise AssertionError("paging did not terminate")


def keys(rows: list[StoredRow]) -> list[tuple[int, int]]:
    return [(row.date_create, row.seq) for row in rows]


def test_page_never_splits_events_of_the_same_second() -> None:
    log = ListLog(records_at(105, 105, 104, 104, 104, 103))
    first = read_page(log, LogFilter(), None, 3, 100)
    assert keys(first.rows) == [(105, 2), (105, 1), (104, 5), (104, 4), (104, 3)]
    assert first.next_position == Position(104)
    second = read_page(log, LogFilter(), first.next_position, 3, 100)
    assert keys(second.rows) == [(103, 6)]
    assert second.next_position is None


def test_page_cut_at_a_second_boundary_is_exactly_limit_long() -> None:
    log = ListLog(records_at(105, 104, 103, 102))
    page = read_page(log, LogFilter(), None, 2, 100)
    assert keys(page.rows) == [(105, 1), (104, 2)]
    assert page.next_position == Position(104)


def test_burst_larger_than_the_page_is_kept_whole() -> None:
    log = ListLog(records_at(*([200] * 50), 199))
    page = read_page(log, LogFilter(), None, 10, 1000)
    assert len(page.rows) == 50
    assert {row.date_create for row in page.rows} == {200}
    assert page.next_position == Position(200)
    rest = read_page(log, LogFilter(), page.next_position, 10, 1000)
    assert keys(rest.rows) == [(199, 51)]
    assert rest.next_position is None


def test_burst_at_the_end_of_the_log_ends_paging_without_an_empty_page() -> None:
    log = ListLog(records_at(101, *([100] * 5)))
    page = read_page(log, LogFilter(), None, 3, 100)
    assert len(page.rows) == 6
    assert page.next_position is None


def test_extension_cap_splits_a_second_at_a_sequence_position() -> None:
    log = ListLog(records_at(*([200] * 50), 199))
    page = read_page(log, LogFilter(), None, 10, 15)
    assert len(page.rows) == 25
    assert page.next_position == Position(200, page.rows[-1].seq)
    assert page.rows[-1].seq == 26  # seqs 50..26 were served, newest first


def test_paging_through_a_capped_burst_returns_every_row_exactly_once() -> None:
    log = ListLog(records_at(201, *([200] * 50), 199, 199))
    pages = drain(log, limit=10, max_extension=15)
    served = [key for page in pages for key in keys(page.rows)]
    expected = sorted(((r.date_create, r.seq) for r in log.records), reverse=True)
    assert served == expected
    assert len(served) == len(set(served))


def test_a_zero_extension_cap_still_makes_progress() -> None:
    log = ListLog(records_at(*([200] * 7)))
    pages = drain(log, limit=2, max_extension=0)
    assert [len(page.rows) for page in pages] == [2, 2, 2, 1]
    assert all(page.next_position is None or page.next_position.seq is not None for page in pages)


def test_no_page_is_empty_while_it_points_to_a_next_page() -> None:
    log = ListLog(records_at(*(1000 - i // 3 for i in range(40))))
    for limit in range(1, 12):
        for page in drain(log, limit=limit, max_extension=2):
            assert page.rows or page.next_position is None


def test_last_page_has_no_next_position_when_rows_fill_it_exactly() -> None:
    log = ListLog(records_at(105, 104, 103))
    page = read_page(log, LogFilter(), None, 3, 100)
    assert len(page.rows) == 3
    assert page.next_position is None


def test_empty_log_gives_one_empty_last_page() -> None:
    assert read_page(ListLog([]), LogFilter(), None, 10, 100) == Page([], None)


def test_paging_starts_strictly_below_a_sequence_position() -> None:
    log = ListLog(records_at(200, 200, 200, 200, 199))
    page = read_page(log, LogFilter(), Position(200, 3), 10, 100)
    assert keys(page.rows) == [(200, 2), (200, 1), (199, 5)]


def test_same_second_extension_keeps_the_request_filters() -> None:
    records = [
        Record(300, 1, action="user_login"),
        Record(300, 2, action="user_logout"),
        Record(300, 3, action="user_login"),
        Record(300, 4, action="user_login", actor="U0BOB"),
        Record(300, 5, action="user_login"),
        Record(299, 6, action="user_login"),
    ]
    log = ListLog(records)
    wanted = LogFilter(actions=("user_login",), actor="U0ANN")
    page = read_page(log, wanted, None, 1, 100)
    assert keys(page.rows) == [(300, 5), (300, 3), (300, 1)]
    assert page.next_position == Position(300)


def test_oldest_bound_still_ends_paging_after_an_extension() -> None:
    log = ListLog(records_at(300, 300, 300, 299, 298))
    page = read_page(log, LogFilter(oldest=300), None, 1, 100)
    assert keys(page.rows) == [(300, 3), (300, 2), (300, 1)]
    assert page.next_position is None


@settings(max_examples=300, deadline=None)
@given(
    dates=st.lists(st.integers(min_value=1000, max_value=1006), max_size=60),
    limit=st.integers(min_value=1, max_value=20),
    max_extension=st.integers(min_value=0, max_value=30),
)
def test_draining_returns_every_row_once_newest_first_in_whole_seconds(
    dates: list[int], limit: int, max_extension: int
) -> None:
    log = ListLog(records_at(*dates))
    pages = drain(log, limit, max_extension)
    served = [key for page in pages for key in keys(page.rows)]
    assert served == sorted(((r.date_create, r.seq) for r in log.records), reverse=True)
    for page in pages:
        assert page.rows or page.next_position is None
        assert len(page.rows) <= limit + max_extension
    for page, following in itertools.pairwise(pages):
        capped = page.next_position is not None and page.next_position.seq is not None
        if not capped:
            # A whole-second page: the next page starts in an older second.
            assert following.rows[0].date_create < page.rows[-1].date_create
        assert len(page.rows) >= limit
