"""`prepare_event` beyond one test per reason: properties over arbitrary JSON, every rule derived
from the catalog and from slack_sdk's own model, exact boundaries, and the service's own group.

The reasons themselves are pinned one by one in test_validation.py; this file checks that the
rules hold for *every* entity type, field, details key and leaf, not for one example each.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.audit_logs.v1 import logs as sdk_logs

from conftest import BASE_TIME, ORG, OTHER_ORG, make_event
from test_validation import NOW, body_of, prepare, rejection, resolve
from trailkeeper.catalog import SERVICE_GROUP, Catalog, type_check
from trailkeeper.events import PreparedEvent
from trailkeeper.validation import (
    ID_PATTERN,
    JSON_LIST_DETAIL_KEYS,
    MAX_TEXT,
    OBJECT_DETAIL_KEYS,
    OBJECT_LIST_DETAIL_KEYS,
    EventRejected,
    prepare_event,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    SCALARS | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SDK_DETAIL_KEYS = sorted(
    name
    for name in inspect.signature(sdk_logs.Details.__init__).parameters
    if name not in ("self", "kwargs")
)
NUL_REASON = "strings must not contain NUL (\\u0000) characters"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(catalog: Catalog, raw: object, **kwargs: Any) -> PreparedEvent | str:
    """The prepared event, or the reason it was rejected (any other exception propagates)."""
    try:
        return prepare(catalog, raw, **kwargs)
    except EventRejected as exc:
        return exc.reason


def parses_with_slack_sdk(body: bytes) -> None:
    """slack_sdk's typed model reads the served entry (raises if it cannot)."""
    entry = orjson.loads(body)
    response = sdk_logs.LogsResponse(entries=[entry], response_metadata={"next_cursor": ""})
    assert response.entries[0].id == entry["id"]


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside an event (objects and list items), the root excluded."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*path, key)
        yield from leaf_paths(child, (*path, key))


def replaced(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def rich_event() -> dict[str, Any]:
    """A valid event using most optional parts: an app context, details with typed keys."""
    event = make_event(
        id="evt-rich",
        details={"inviter": {"id": "U0BOSS"}, "succeeded_users": ["U1"], "note": "n"},
    )
    event["context"]["app"] = {
        "id": "A0APP",
        "name": "App",
        "scopes": ["x"],
        "is_distributed": True,
    }
    event["context"]["acting_agent"] = "bot"
    return event


RICH_PATHS = sorted(leaf_paths(rich_event()), key=repr)


# --- properties over arbitrary JSON ---------------------------------------------------------------


@PROPERTY
@given(raw=JSON)
def test_arbitrary_json_is_only_ever_rejected_with_a_reason(catalog: Catalog, raw: Any) -> None:
    result = outcome(catalog, raw)
    if isinstance(result, str):
        assert 0 < len(result) < 200


@PROPERTY
@given(path=st.sampled_from(RICH_PATHS), value=JSON)
def test_any_part_of_a_valid_event_replaced_by_any_json_is_accepted_or_rejected_cleanly(
    catalog: Catalog, path: tuple[Any, ...], value: Any
) -> None:
    result = outcome(catalog, replaced(rich_event(), path, value))
    if not isinstance(result, str):
        parses_with_slack_sdk(result.body)


@PROPERTY
@given(
    details=st.dictionaries(
        st.sampled_from(SDK_DETAIL_KEYS) | st.text(max_size=8), JSON, max_size=5
    )
)
def test_every_accepted_details_object_is_readable_by_slack_sdk(
    catalog: Catalog, details: dict[str, Any]
) -> None:
    result = outcome(catalog, make_event(id="evt-1", details=details))
    if isinstance(result, str):
        assert result.startswith("details.") or result == NUL_REASON
    else:
        parses_with_slack_sdk(result.body)


@PROPERTY
@given(path=st.sampled_from(RICH_PATHS), value=JSON)
def test_an_accepted_event_prepared_again_from_its_bytes_gives_the_same_bytes(
    catalog: Catalog, path: tuple[Any, ...], value: Any
) -> None:
    first = outcome(catalog, replaced(rich_event(), path, value))
    if not isinstance(first, str):
        again = prepare(catalog, body_of(first))
        # A generated id is supplied the second time round; everything else is identical.
        assert dataclasses.replace(again, id_supplied=first.id_supplied) == first


def test_an_integer_too_large_to_store_is_rejected_with_a_reason(catalog: Catalog) -> None:
    rejection(catalog, make_event(details={"bytes_transferred": 2**64}))


# --- details keys slack_sdk types ----------------------------------------------------------------


def sdk_cannot_read(key: str, value: Any) -> bool:
    try:
        sdk_logs.Details(**{key: value})
    except Exception:  # slack_sdk raises whatever its constructors raise
        return True
    return False


@pytest.mark.parametrize("value", ["text", 5, True, ["text"], [5]], ids=repr)
def test_every_details_key_slack_sdk_cannot_read_is_refused(catalog: Catalog, value: Any) -> None:
    unreadable = [key for key in SDK_DETAIL_KEYS if sdk_cannot_read(key, value)]
    assert unreadable
    for key in unreadable:
        with pytest.raises(EventRejected, match=rf"^details\.{key} must be "):
            prepare(catalog, make_event(details={key: value}))


def test_the_typed_details_keys_are_all_keys_slack_sdk_knows() -> None:
    ours = OBJECT_DETAIL_KEYS | OBJECT_LIST_DETAIL_KEYS | JSON_LIST_DETAIL_KEYS
    assert ours <= set(SDK_DETAIL_KEYS)


@pytest.mark.parametrize("key", sorted(OBJECT_DETAIL_KEYS))
def test_each_object_details_key_accepts_an_object_or_null_and_refuses_text(
    catalog: Catalog, key: str
) -> None:
    for accepted in ({}, {"id": "U1", "extra": [1]}, None):
        prepared = prepare(catalog, make_event(details={key: accepted}))
        parses_with_slack_sdk(prepared.body)
    assert rejection(catalog, make_event(details={key: "U1"})) == f"details.{key} must be an object"


@pytest.mark.parametrize("key", sorted(OBJECT_LIST_DETAIL_KEYS))
def test_each_object_list_details_key_refuses_a_single_object(catalog: Catalog, key: str) -> None:
    prepare(catalog, make_event(details={key: [{}, {"a": 1}]}))
    reason = rejection(catalog, make_event(details={key: {"a": 1}}))
    assert reason == f"details.{key} must be a list of objects"


@pytest.mark.parametrize("key", sorted(JSON_LIST_DETAIL_KEYS))
@pytest.mark.parametrize("value", [5, {"U1": True}, "[", "null"], ids=repr)
def test_each_user_list_details_key_refuses_what_is_not_a_list(
    catalog: Catalog, key: str, value: Any
) -> None:
    reason = rejection(catalog, make_event(details={key: value}))
    assert reason == f"details.{key} must be a list (or JSON list)"


# --- every entity type and field of the catalog ---------------------------------------------------


def entity_types(catalog: Catalog) -> list[str]:
    return sorted(catalog.entity_types)


def minimal_entity(catalog: Catalog, kind: str) -> dict[str, Any]:
    checks = catalog.field_checks(kind) or {}
    obj = {"id": f"X0{kind.upper()[:6]}"} if "id" in checks else {}
    return {"type": kind, kind: obj}


def action_for(catalog: Catalog, kind: str) -> str:
    return next(
        s.name
        for specs in catalog.groups.values()
        for s in specs
        if s.entity == kind and s.group != SERVICE_GROUP and s.name != "anomaly"
    )


def test_every_entity_type_of_the_catalog_is_accepted_in_its_minimal_form(catalog: Catalog) -> None:
    for kind in entity_types(catalog):
        entity = minimal_entity(catalog, kind)
        prepared = prepare(catalog, make_event(action_for(catalog, kind), entity=entity))
        assert prepared.entity_id == entity[kind].get("id"), kind
        parses_with_slack_sdk(prepared.body)


def test_every_entity_type_refuses_its_object_under_another_types_key(catalog: Catalog) -> None:
    kinds = entity_types(catalog)
    for kind, other in zip(kinds, kinds[1:] + kinds[:1], strict=True):
        entity = {"type": kind, other: minimal_entity(catalog, other)[other]}
        reason = rejection(catalog, make_event(entity=entity))
        assert reason == f"entity must hold exactly one object keyed {kind!r}"


def foreign_field(catalog: Catalog, kind: str) -> str | None:
    """A field some other entity type has and `kind` has in none of its revisions."""
    own = set(catalog.field_checks(kind) or {})
    others = {name for other in catalog.entity_types for name in catalog.field_checks(other) or {}}
    return min(others - own, default=None)


def test_every_entity_type_refuses_a_field_of_another_schema(catalog: Catalog) -> None:
    refused = 0
    for kind in entity_types(catalog):
        field = foreign_field(catalog, kind)
        if field is None:
            continue
        entity = minimal_entity(catalog, kind)
        entity[kind][field] = None
        reason = rejection(catalog, make_event(entity=entity))
        assert reason == f"entity.{kind} has unknown field {field!r}"
        refused += 1
    assert refused >= len(catalog.entity_types) - 1


def wrong_value(type_string: str) -> object | None:
    """A JSON value the type string refuses (None for `mixed`, which takes anything)."""
    check = type_check(type_string)
    return next((v for v in ("text", 5, True, ["text"], [5], {"k": 1}) if not check(v)), None)


def typed_fields(catalog: Catalog) -> list[tuple[str, str, str]]:
    return sorted({(s.type, name, t) for s in catalog.schemas for name, t in s.fields.items()})


def test_every_typed_field_of_every_schema_refuses_a_value_of_another_type(
    catalog: Catalog,
) -> None:
    checked = 0
    for kind, field, type_string in typed_fields(catalog):
        value = wrong_value(type_string)
        union = (catalog.field_checks(kind) or {})[field]
        if value is None or union(value):  # `mixed`, or another revision types it differently
            continue
        entity = minimal_entity(catalog, kind)
        entity[kind] = {**entity[kind], field: value}
        reason = rejection(catalog, make_event(entity=entity))
        assert reason == f"entity.{kind}.{field} has the wrong type"
        checked += 1
    assert checked > 50


# --- shapes of ids, exact limits ------------------------------------------------------------------

ID_REASON = "id (1-128 letters, digits and _ . : -) is malformed"
USER_ID_REASON = "actor.user.id (a user id like U123ABC) is malformed"


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t", "\x00"], ids=repr)
def test_an_id_with_trailing_whitespace_or_control_is_malformed(
    catalog: Catalog, suffix: str
) -> None:
    assert rejection(catalog, make_event(id="evt-1" + suffix)) == ID_REASON
    event = make_event()
    event["actor"]["user"]["id"] = "U0ANN" + suffix
    assert rejection(catalog, event) == USER_ID_REASON


@pytest.mark.parametrize("prefix", ["\n", " ", "\t"], ids=repr)
def test_an_id_with_leading_whitespace_is_malformed(catalog: Catalog, prefix: str) -> None:
    assert rejection(catalog, make_event(id=prefix + "evt-1")) == ID_REASON
    event = make_event()
    event["actor"]["user"]["id"] = prefix + "U0ANN"
    assert rejection(catalog, event) == USER_ID_REASON


def test_ids_at_their_longest_are_accepted(catalog: Catalog) -> None:
    longest = "a" * 127 + "Z"
    assert ID_PATTERN.fullmatch(longest)
    assert prepare(catalog, make_event(id=longest)).id == longest
    event = make_event(actor="U" + "9" * 63)
    assert prepare(catalog, event).actor_id == "U" + "9" * 63


@pytest.mark.parametrize("good_id", ["W0ENTERPRISEUSER", "USLACKBOT", "U1"])
def test_user_ids_of_every_slack_prefix_shape_are_accepted(catalog: Catalog, good_id: str) -> None:
    assert prepare(catalog, make_event(actor=good_id)).actor_id == good_id


TEXT_FIELDS = [
    ("context.location.name", ("context", "location", "name")),
    ("context.location.domain", ("context", "location", "domain")),
    ("context.acting_agent", ("context", "acting_agent")),
    ("context.app.name", ("context", "app", "name")),
]


@pytest.mark.parametrize(("where", "path"), TEXT_FIELDS, ids=[w for w, _ in TEXT_FIELDS])
def test_every_text_field_is_bounded_at_exactly_its_limit(
    catalog: Catalog, where: str, path: tuple[str, ...]
) -> None:
    event = rich_event()
    prepare(catalog, replaced(event, path, "x" * MAX_TEXT))
    too_long = rejection(catalog, replaced(event, path, "x" * (MAX_TEXT + 1)))
    assert too_long == f"{where} is longer than {MAX_TEXT} characters"
    assert rejection(catalog, replaced(event, path, 5)) == f"{where} must be a string"


def test_the_size_limit_counts_the_canonical_bytes_exactly(catalog: Catalog) -> None:
    event = make_event(id="evt-size", details={"note": "y" * 3000})
    size = len(prepare(catalog, event).body)
    assert len(prepare(catalog, event, max_event_bytes=size).body) == size
    reason = rejection(catalog, event, max_event_bytes=size - 1)
    assert reason == f"event is larger than {size - 1} bytes"


def test_the_size_limit_applies_to_multibyte_text_in_bytes(catalog: Catalog) -> None:
    event = make_event(id="evt-size", details={"note": "é" * 1000})
    body = prepare(catalog, event).body
    assert len(body) > len(body.decode())
    rejection(catalog, event, max_event_bytes=len(body.decode()))


@pytest.mark.parametrize(
    "path",
    [
        ("details", "note"),
        ("actor", "user", "name"),
        ("context", "ua"),
        ("entity", "user", "email"),
    ],
    ids=".".join,
)
def test_a_nul_in_any_string_value_is_rejected(catalog: Catalog, path: tuple[str, ...]) -> None:
    assert rejection(catalog, replaced(rich_event(), path, "before\x00after")) == NUL_REASON


def test_a_nul_in_a_details_key_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(details={"k\x00ey": 1})) == NUL_REASON


def test_the_escape_text_backslash_u0000_without_a_nul_is_accepted(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(details={"pattern": "\\u0000"}))
    assert body_of(prepared)["details"]["pattern"] == "\\u0000"


# --- dates and organizations ----------------------------------------------------------------------


def test_a_date_far_beyond_any_clock_is_rejected_not_overflowed(catalog: Catalog) -> None:
    for date in (2**63, 2**70, -(2**63)):
        assert rejection(catalog, make_event(date=date)) == "date_create is out of range"


def test_the_future_allowance_is_relative_to_the_given_now(catalog: Catalog) -> None:
    event = make_event(date=NOW + 301)
    rejection(catalog, event)
    later = prepare_event(event, catalog, resolve, now=NOW + 1, max_event_bytes=1 << 16)
    assert later.date_create == NOW + 301


def test_an_enterprise_location_of_another_organization_is_refused_for_a_scoped_token(
    catalog: Catalog,
) -> None:
    event = make_event(
        "pref.sso_setting_changed",
        location=OTHER_ORG,
        entity={"type": "enterprise", "enterprise": {"id": OTHER_ORG}},
    )
    assert prepare(catalog, event).org_id == OTHER_ORG
    assert prepare(catalog, event, org_scope=OTHER_ORG).org_id == OTHER_ORG
    reason = rejection(catalog, event, org_scope=ORG)
    assert reason == "context.location belongs to another organization"


def test_the_organization_check_comes_before_anything_about_details(catalog: Catalog) -> None:
    event = make_event(date=BASE_TIME, details={"inviter": "U1"})
    event["context"]["location"]["id"] = "T0OTHER"
    reason = rejection(catalog, event, org_scope=ORG)
    assert reason == "context.location belongs to another organization"


# --- the service's own group ----------------------------------------------------------------------


def service_actions(catalog: Catalog) -> list[str]:
    return sorted(spec.name for spec in catalog.groups[SERVICE_GROUP])


def service_event(catalog: Catalog, action: str) -> dict[str, Any]:
    kind = catalog.action(action).entity
    return make_event(action, location=ORG, entity=minimal_entity(catalog, kind), details={})


def test_the_service_group_has_actions(catalog: Catalog) -> None:
    assert "audit_logs_purged" in service_actions(catalog)
    assert all(catalog.action(a).group == SERVICE_GROUP for a in service_actions(catalog))


def test_no_producer_may_send_any_action_of_the_service_group(catalog: Catalog) -> None:
    for action in service_actions(catalog):
        reason = rejection(catalog, service_event(catalog, action), org_scope=ORG)
        assert reason == f"{action} is recorded only by Trailkeeper itself, never by producers"


def test_in_process_callers_may_record_every_action_of_the_service_group(catalog: Catalog) -> None:
    for action in service_actions(catalog):
        assert prepare(catalog, service_event(catalog, action)).action == action


def test_producers_may_send_every_action_outside_the_service_group(catalog: Catalog) -> None:
    for name in sorted(catalog.action_names - set(service_actions(catalog)) - {"anomaly"}):
        kind = catalog.action(name).entity
        prepared = prepare(
            catalog, make_event(name, entity=minimal_entity(catalog, kind)), org_scope=ORG
        )
        assert prepared.action == name
