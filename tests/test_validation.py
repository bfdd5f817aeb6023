"""`prepare_event`: what an accepted event becomes, and one test per reason an event is refused.

The location resolver is a plain function over `ResolvedLocation` values (the directory's
stand-in); everything else is the real catalog and the real validation code.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
import pytest

from conftest import BASE_TIME, ORG, OTHER_ORG, WS_A, WS_B, WS_OTHER, make_event
from trailkeeper.catalog import Catalog
from trailkeeper.events import PreparedEvent, canonical_bytes
from trailkeeper.validation import (
    MAX_FUTURE_S,
    MIN_DATE,
    EventRejected,
    ResolvedLocation,
    prepare_event,
)

NOW = BASE_TIME + 1000
MAX_EVENT_BYTES = 64 * 1024

LOCATIONS = {
    ("workspace", WS_A): ResolvedLocation(ORG, "Alpha", "alpha"),
    ("workspace", WS_B): ResolvedLocation(ORG, "Beta", "beta"),
    ("enterprise", ORG): ResolvedLocation(ORG, "Test Org", "testorg"),
    ("workspace", WS_OTHER): ResolvedLocation(OTHER_ORG, "Other", "other"),
    ("enterprise", OTHER_ORG): ResolvedLocation(OTHER_ORG, "Other Org", "otherorg"),
}


def resolve(kind: str, location_id: str) -> ResolvedLocation | None:
    return LOCATIONS.get((kind, location_id))


def prepare(
    catalog: Catalog,
    raw: object,
    *,
    org_scope: str | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> PreparedEvent:
    return prepare_event(
        raw, catalog, resolve, now=NOW, max_event_bytes=max_event_bytes, org_scope=org_scope
    )


def body_of(prepared: PreparedEvent) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(prepared.body)
    return value


def rejection(catalog: Catalog, raw: object, **kwargs: Any) -> str:
    with pytest.raises(EventRejected) as caught:
        prepare(catalog, raw, **kwargs)
    assert caught.value.reason == str(caught.value)
    return caught.value.reason


def channel_entity(**fields: Any) -> dict[str, Any]:
    channel = {"id": "C0CHAN", "name": "general", "privacy": "public", "is_shared": False}
    return {"type": "channel", "channel": {**channel, **fields}}


# --- accepted events ------------------------------------------------------------------------------


def test_workspace_event_is_accepted_with_its_index_keys(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(id="evt-1"))
    assert prepared == PreparedEvent(
        org_id=ORG,
        id="evt-1",
        date_create=BASE_TIME,
        action="user_login",
        actor_id="U0ANN",
        entity_id="U0ANN",
        body=prepared.body,
        id_supplied=True,
    )
    assert body_of(prepared)["context"]["location"] == {
        "type": "workspace",
        "id": WS_A,
        "name": "Alpha",
        "domain": "alpha",
    }


def test_enterprise_event_belongs_to_its_organization(catalog: Catalog) -> None:
    event = make_event(
        "pref.sso_setting_changed",
        location=ORG,
        entity={"type": "enterprise", "enterprise": {"id": ORG, "name": "Test Org"}},
    )
    prepared = prepare(catalog, event)
    assert (prepared.org_id, prepared.entity_id) == (ORG, ORG)
    assert body_of(prepared)["context"]["location"] == {
        "type": "enterprise",
        "id": ORG,
        "name": "Test Org",
        "domain": "testorg",
    }


def test_location_names_given_by_the_producer_are_kept(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["location"].update(name="Alpha (renamed)", domain="alpha-2")
    location = body_of(prepare(catalog, event))["context"]["location"]
    assert (location["name"], location["domain"]) == ("Alpha (renamed)", "alpha-2")


def test_empty_location_names_are_filled_from_the_directory(catalog: Catalog) -> None:
    event = make_event(location=WS_B)
    event["context"]["location"].update(name="", domain=None)
    location = body_of(prepare(catalog, event))["context"]["location"]
    assert (location["name"], location["domain"]) == ("Beta", "beta")


def test_string_session_id_from_the_docs_example_becomes_a_number(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["session_id"] = "847288190092"
    assert body_of(prepare(catalog, event))["context"]["session_id"] == 847288190092


def test_absent_or_null_session_id_is_served_as_null(catalog: Catalog) -> None:
    absent = make_event()
    del absent["context"]["session_id"]
    null = make_event()
    null["context"]["session_id"] = None
    assert body_of(prepare(catalog, absent))["context"]["session_id"] is None
    assert body_of(prepare(catalog, null))["context"]["session_id"] is None


def test_id_and_date_create_are_assigned_when_absent(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(date=None))
    assert prepared.id_supplied is False
    assert uuid.UUID(prepared.id).version == 4
    assert prepared.date_create == NOW
    body = body_of(prepared)
    assert (body["id"], body["date_create"]) == (prepared.id, NOW)


def test_a_null_id_is_assigned_like_an_absent_one(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(id=None))
    assert prepared.id_supplied is False
    assert uuid.UUID(prepared.id)


def test_each_event_without_an_id_gets_its_own(catalog: Catalog) -> None:
    assert prepare(catalog, make_event()).id != prepare(catalog, make_event()).id


def test_a_client_supplied_id_is_kept(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(id="0123a45b-6c7d-8900-e12f-3456789gh0i1"))
    assert prepared.id == "0123a45b-6c7d-8900-e12f-3456789gh0i1"
    assert prepared.id_supplied is True
    assert body_of(prepared)["id"] == prepared.id


def test_body_is_canonical_bytes_in_slacks_top_level_order(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(id="evt-1", details={"b": 1, "a": 2}))
    assert prepared.body.startswith(b'{"id":"evt-1","date_create":1700000000,"action":"user_login"')
    assert list(body_of(prepared)) == [
        "id",
        "date_create",
        "action",
        "actor",
        "entity",
        "context",
        "details",
    ]
    assert prepared.body == canonical_bytes(body_of(prepared))
    assert b'"details":{"a":2,"b":1}' in prepared.body


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def test_canonical_bytes_are_stable_under_key_reordering(catalog: Catalog) -> None:
    event = make_event(id="evt-1", details={"new_scopes": ["a", "b"], "inviter": {"id": "U1"}})
    shuffled = _reversed_keys(copy.deepcopy(event))
    assert list(shuffled) != list(event)
    assert prepare(catalog, event).body == prepare(catalog, shuffled).body


def test_null_details_are_dropped(catalog: Catalog) -> None:
    prepared = prepare(catalog, make_event(details=None))
    assert "details" not in body_of(prepared)
    assert b"details" not in prepared.body


def test_empty_details_object_is_kept(catalog: Catalog) -> None:
    assert body_of(prepare(catalog, make_event(details={})))["details"] == {}


def test_entity_without_an_id_field_has_no_entity_id(catalog: Catalog) -> None:
    entity = {"type": "message", "message": {"team": WS_A, "channel": "C0CHAN", "timestamp": "1.2"}}
    prepared = prepare(catalog, make_event("message_flagged", entity=entity))
    assert prepared.entity_id is None


def test_fields_of_later_schema_revisions_are_accepted(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"]["account_type"] = "FULL_MEMBER"
    assert prepare(catalog, event).actor_id == "U0ANN"


def test_null_entity_fields_are_accepted(catalog: Catalog) -> None:
    event = make_event("channel_renamed", entity=channel_entity(is_org_shared=None))
    assert prepare(catalog, event).entity_id == "C0CHAN"


def test_context_app_with_scope_lists_is_accepted(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["app"] = {
        "id": "A0APP",
        "name": "Exporter",
        "scopes": ["auditlogs:read"],
        "scopes_bot": [],
        "is_distributed": False,
    }
    assert body_of(prepare(catalog, event))["context"]["app"]["scopes"] == ["auditlogs:read"]


def test_ipv6_address_and_empty_address_are_accepted(catalog: Catalog) -> None:
    for address in ("2001:db8::1", ""):
        event = make_event()
        event["context"]["ip_address"] = address
        assert body_of(prepare(catalog, event))["context"]["ip_address"] == address


def test_succeeded_users_may_be_a_list_or_a_json_list_in_a_string(catalog: Catalog) -> None:
    for value in (["U1", "U2"], '["U1","U2"]', None):
        prepare(catalog, make_event(details={"succeeded_users": value, "failed_users": "[]"}))


def test_anomaly_with_a_list_of_reasons_is_accepted(catalog: Catalog) -> None:
    event = make_event("anomaly", details={"reason": ["asn", "ip_address"]})
    assert prepare(catalog, event).action == "anomaly"


def test_event_of_an_organization_matching_the_token_scope_is_accepted(catalog: Catalog) -> None:
    assert prepare(catalog, make_event(), org_scope=ORG).org_id == ORG


def test_date_create_within_the_future_allowance_is_accepted(catalog: Catalog) -> None:
    assert prepare(catalog, make_event(date=NOW + MAX_FUTURE_S)).date_create == NOW + MAX_FUTURE_S
    assert prepare(catalog, make_event(date=MIN_DATE)).date_create == MIN_DATE


# --- rejections, one per reason -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [[make_event()], "event", 5, None])
def test_an_event_that_is_not_an_object_is_rejected(catalog: Catalog, raw: object) -> None:
    assert rejection(catalog, raw) == "an event must be an object"


def test_an_unknown_top_level_key_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(timestamp=BASE_TIME))
    assert reason == "the event has unknown field 'timestamp'"


@pytest.mark.parametrize("bad_id", ["has space", "-leading-dash", "x" * 129, "a/b", "é"])
def test_a_malformed_id_is_rejected(catalog: Catalog, bad_id: str) -> None:
    assert rejection(catalog, make_event(id=bad_id)) == (
        "id (1-128 letters, digits and _ . : -) is malformed"
    )


@pytest.mark.parametrize("bad_id", ["", 42, ["a"]])
def test_an_id_that_is_not_a_non_empty_string_is_rejected(catalog: Catalog, bad_id: object) -> None:
    assert rejection(catalog, make_event(id=bad_id)) == (
        "id (1-128 letters, digits and _ . : -) must be a non-empty string"
    )


def test_an_id_with_a_trailing_newline_is_rejected(catalog: Catalog) -> None:
    rejection(catalog, make_event(id="evt-1\n"))


@pytest.mark.parametrize("date", [True, "1700000000", 1_700_000_000.0])
def test_a_date_create_that_is_not_an_integer_is_rejected(catalog: Catalog, date: object) -> None:
    event = make_event()
    event["date_create"] = date
    assert rejection(catalog, event) == "date_create must be an integer"


def test_a_null_date_create_counts_as_absent_like_a_null_id(catalog: Catalog) -> None:
    event = make_event()
    event["date_create"] = None
    prepared = prepare(catalog, event)
    assert prepared.date_create == NOW


def test_a_date_create_that_is_too_old_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(date=MIN_DATE - 1)) == "date_create is out of range"


def test_a_date_create_in_the_future_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(date=NOW + MAX_FUTURE_S + 1))
    assert reason == "date_create is out of range"


@pytest.mark.parametrize("action", ["channel_created", "", None, 5])
def test_an_unknown_action_is_rejected(catalog: Catalog, action: object) -> None:
    assert rejection(catalog, make_event(action)) == f"unknown action {str(action)!r}"


def test_an_actor_that_is_not_a_user_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["type"] = "app"
    assert rejection(catalog, event) == 'actor.type must be "user"'


def test_an_actor_that_is_not_an_object_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"] = "U0ANN"
    assert rejection(catalog, event) == "actor must be an object"


def test_an_actor_with_extra_keys_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["app"] = {"id": "A0APP"}
    assert rejection(catalog, event) == "actor has unknown field 'app'"


def test_an_actor_without_a_user_object_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"] = "U0ANN"
    assert rejection(catalog, event) == "actor.user must be an object"


@pytest.mark.parametrize("user_id", ["u0ann", "U", "W-123", "", "U" + "0" * 64])
def test_an_actor_with_a_bad_user_id_is_rejected(catalog: Catalog, user_id: str) -> None:
    event = make_event()
    event["actor"]["user"]["id"] = user_id
    reason = rejection(catalog, event)
    assert reason.startswith("actor.user.id (a user id like U123ABC)")


def test_an_actor_with_a_numeric_user_id_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"]["id"] = 123
    assert rejection(catalog, event) == "actor.user.id has the wrong type"


def test_an_actor_without_a_user_id_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    del event["actor"]["user"]["id"]
    assert rejection(catalog, event) == (
        "actor.user.id (a user id like U123ABC) must be a non-empty string"
    )


def test_an_actor_id_with_a_trailing_newline_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"]["id"] = "U0ANN\n"
    rejection(catalog, event)


def test_an_actor_with_an_unknown_user_field_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"]["phone"] = "+1 555"
    assert rejection(catalog, event) == "actor.user has unknown field 'phone'"


def test_an_actor_with_a_wrong_typed_field_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["actor"]["user"]["email"] = 5
    assert rejection(catalog, event) == "actor.user.email has the wrong type"


def test_an_entity_of_an_unknown_type_is_rejected(catalog: Catalog) -> None:
    entity = {"type": "spaceship", "spaceship": {"id": "X1"}}
    assert rejection(catalog, make_event(entity=entity)) == "unknown entity type 'spaceship'"


def test_an_entity_that_is_not_an_object_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["entity"] = "U0ANN"
    assert rejection(catalog, event) == "entity must be an object"


def test_an_entity_without_a_type_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(entity={"user": {"id": "U0ANN"}})) == (
        "entity.type must be a non-empty string"
    )


def test_an_entity_with_two_objects_is_rejected(catalog: Catalog) -> None:
    entity = {"type": "user", "user": {"id": "U0ANN"}, "channel": {"id": "C0CHAN"}}
    assert rejection(catalog, make_event(entity=entity)) == (
        "entity must hold exactly one object keyed 'user'"
    )


def test_an_entity_missing_the_object_of_its_type_is_rejected(catalog: Catalog) -> None:
    entity = {"type": "user", "channel": {"id": "C0CHAN"}}
    assert rejection(catalog, make_event(entity=entity)) == (
        "entity must hold exactly one object keyed 'user'"
    )


def test_an_entity_object_that_is_not_an_object_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(entity={"type": "user", "user": "U0ANN"})) == (
        "entity.user must be an object"
    )


def test_an_entity_without_an_id_is_rejected(catalog: Catalog) -> None:
    entity = {"type": "user", "user": {"name": "ann"}}
    assert rejection(catalog, make_event(entity=entity)) == (
        "entity.user.id must be a non-empty string"
    )


def test_an_entity_with_an_unknown_field_is_rejected(catalog: Catalog) -> None:
    entity = channel_entity(colour="blue")
    assert rejection(catalog, make_event("channel_renamed", entity=entity)) == (
        "entity.channel has unknown field 'colour'"
    )


def test_a_bool_entity_field_given_a_string_is_rejected(catalog: Catalog) -> None:
    entity = channel_entity(is_shared="false")
    assert rejection(catalog, make_event("channel_renamed", entity=entity)) == (
        "entity.channel.is_shared has the wrong type"
    )


def test_a_list_entity_field_given_a_string_is_rejected(catalog: Catalog) -> None:
    entity = channel_entity(teams_shared_with="T0TESTA")
    assert rejection(catalog, make_event("channel_renamed", entity=entity)) == (
        "entity.channel.teams_shared_with has the wrong type"
    )


def test_a_missing_context_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    del event["context"]
    assert rejection(catalog, event) == "context must be an object"


def test_a_context_with_an_unknown_key_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["browser"] = "firefox"
    assert rejection(catalog, event) == "context has unknown field 'browser'"


def test_a_context_without_a_location_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    del event["context"]["location"]
    assert rejection(catalog, event) == "context.location must be an object"


def test_a_location_with_an_unknown_key_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["location"]["region"] = "eu"
    assert rejection(catalog, event) == "context.location has unknown field 'region'"


@pytest.mark.parametrize("kind", ["team", "channel", "", None])
def test_a_location_of_a_bad_type_is_rejected(catalog: Catalog, kind: object) -> None:
    event = make_event()
    event["context"]["location"]["type"] = kind
    assert rejection(catalog, event) == (
        'context.location.type must be "workspace" or "enterprise"'
    )


def test_a_location_without_an_id_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    del event["context"]["location"]["id"]
    assert rejection(catalog, event) == "context.location.id must be a non-empty string"


def test_an_unknown_workspace_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(location="T0NOWHERE")) == (
        "unknown workspace 'T0NOWHERE' in context.location"
    )


def test_an_unknown_enterprise_is_rejected(catalog: Catalog) -> None:
    assert rejection(catalog, make_event(location="E0NOWHERE")) == (
        "unknown enterprise 'E0NOWHERE' in context.location"
    )


def test_a_workspace_id_given_as_an_enterprise_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["location"]["type"] = "enterprise"
    assert rejection(catalog, event) == f"unknown enterprise {WS_A!r} in context.location"


@pytest.mark.parametrize("ip", ["1.23.45.678", "localhost", "81.2.69", 81_026_916, ["1.1.1.1"]])
def test_a_bad_ip_address_is_rejected(catalog: Catalog, ip: object) -> None:
    event = make_event()
    event["context"]["ip_address"] = ip
    assert rejection(catalog, event) == "context.ip_address must be an IP address"


@pytest.mark.parametrize("session_id", [-1, True, 1.5, "abc", "", "12a", "1" * 19, 2**63, [1]])
def test_a_bad_session_id_is_rejected(catalog: Catalog, session_id: object) -> None:
    event = make_event()
    event["context"]["session_id"] = session_id
    assert rejection(catalog, event) == (
        "context.session_id must be a non-negative integer or null"
    )


@pytest.mark.parametrize("session_id", ["²", "١٢٣"])
def test_a_session_id_of_non_ascii_digits_is_rejected(catalog: Catalog, session_id: str) -> None:
    event = make_event()
    event["context"]["session_id"] = session_id
    assert rejection(catalog, event) == (
        "context.session_id must be a non-negative integer or null"
    )


def test_a_non_string_user_agent_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["ua"] = {"browser": "chrome"}
    assert rejection(catalog, event) == "context.ua must be a string"


def test_an_overlong_user_agent_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["ua"] = "x" * 4097
    assert rejection(catalog, event) == "context.ua is longer than 4096 characters"


def test_app_scopes_that_are_not_a_list_are_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["app"] = {"id": "A0APP", "scopes": "auditlogs:read"}
    assert rejection(catalog, event) == "context.app.scopes must be a list of strings"


def test_app_bot_scopes_with_non_strings_are_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["app"] = {"id": "A0APP", "scopes_bot": ["chat:write", 1]}
    assert rejection(catalog, event) == "context.app.scopes_bot must be a list of strings"


def test_an_app_flag_that_is_not_a_bool_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["app"] = {"id": "A0APP", "is_distributed": "yes"}
    assert rejection(catalog, event) == "context.app.is_distributed must be a bool"


def test_a_context_app_that_is_not_an_object_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["app"] = "A0APP"
    assert rejection(catalog, event) == "context.app must be an object"


def test_an_agent_message_that_is_not_an_object_is_rejected(catalog: Catalog) -> None:
    event = make_event()
    event["context"]["agent_message"] = "C0CHAN/1.2"
    assert rejection(catalog, event) == "context.agent_message must be an object"


@pytest.mark.parametrize("details", ["reason", ["a"], 5, True])
def test_details_that_are_not_an_object_are_rejected(catalog: Catalog, details: object) -> None:
    assert rejection(catalog, make_event(details=details)) == "details must be an object"


def test_details_inviter_given_as_a_string_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(details={"inviter": "U0ANN"}))
    assert reason == "details.inviter must be an object"


def test_rules_checked_with_a_non_object_item_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(details={"rules_checked": [{"id": "R1"}, "R2"]}))
    assert reason == "details.rules_checked must be a list of objects"


def test_succeeded_users_as_a_non_json_string_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(details={"succeeded_users": "U1,U2"}))
    assert reason == "details.succeeded_users must be a list (or JSON list)"


def test_failed_users_as_json_that_is_not_a_list_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(details={"failed_users": '{"U1": true}'}))
    assert reason == "details.failed_users must be a list (or JSON list)"


@pytest.mark.parametrize("reason_value", ["asn", None, ["asn", 5]])
def test_an_anomaly_whose_reason_is_not_a_list_of_strings_is_rejected(
    catalog: Catalog, reason_value: object
) -> None:
    reason = rejection(catalog, make_event("anomaly", details={"reason": reason_value}))
    assert reason == "details.reason of an anomaly must be a list of strings"


def test_an_anomaly_without_details_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event("anomaly"))
    assert reason == "details.reason of an anomaly must be a list of strings"


def test_an_oversize_event_is_rejected(catalog: Catalog) -> None:
    event = make_event(details={"note": "x" * 2000})
    assert rejection(catalog, event, max_event_bytes=1024) == "event is larger than 1024 bytes"


def test_an_event_of_another_organization_than_the_token_is_rejected(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event(location=WS_OTHER), org_scope=ORG)
    assert reason == "context.location belongs to another organization"


def test_rejection_reasons_quote_only_a_bounded_part_of_the_input(catalog: Catalog) -> None:
    reason = rejection(catalog, make_event("x" * 10_000))
    assert len(reason) < 120


def test_a_nul_character_in_any_string_is_rejected(catalog: Catalog) -> None:
    event = make_event(details={"note": "a\x00b"})
    assert rejection(catalog, event) == "strings must not contain NUL (\\u0000) characters"
