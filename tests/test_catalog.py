"""The catalog: built-in actions and schemas against Slack's captures, type strings, extensions.

`../shared/spec/actions.json` and `schemas.json` are Slack's own `/actions` and `/schemas` bodies
(spec Appendix A/B); the comparisons skip only when that folder is not checked out next to us.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import BASE_TIME, ORG, WS_A, make_event
from trailkeeper.catalog import Catalog, load_catalog, type_check
from trailkeeper.errors import ConfigError
from trailkeeper.validation import EventRejected, ResolvedLocation, prepare_event
from trailkeeper.web.catalog_bodies import actions_body, schemas_body

SPEC_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "spec"
needs_spec = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"{SPEC_DIR} is not present")

# client-contract §4.6: names that the ecosystem's detections key on.
DETECTION_ACTIONS = [
    "user_login",
    "user_login_failed",
    "user_logout",
    "user_logout_compromised",
    "user_session_invalidated",
    "user_session_reset_by_admin",
    "bulk_session_reset_by_admin",
    "user_created",
    "user_deactivated",
    "user_reactivated",
    "user_email_updated",
    "role_change_to_admin",
    "role_change_to_owner",
    "role_change_to_user",
    "role_change_to_guest",
    "owner_transferred",
    "service_owner_transferred",
    "permissions_assigned",
    "user_added_to_usergroup",
    "user_removed_from_usergroup",
    "app_installed",
    "app_approved",
    "app_restricted",
    "app_uninstalled",
    "app_scopes_expanded",
    "app_resources_granted",
    "bot_token_upgraded",
    "org_app_workspace_added",
    "org_app_workspace_removed",
    "org_app_upgraded_to_org_install",
    "file_downloaded",
    "file_downloaded_blocked",
    "file_uploaded",
    "file_shared",
    "file_public_link_created",
    "file_public_link_revoked",
    "file_malicious_content_detected",
    "private_channel_converted_to_public",
    "public_channel_converted_to_private",
    "channels_export_started",
    "channels_export_downloaded",
    "manual_export_started",
    "manual_export_downloaded",
    "manual_user_export_downloaded",
    "corporate_exports_approved",
    "organization_created",
    "organization_deleted",
    "workspace_deleted",
    "pref.sso_setting_changed",
    "pref.two_factor_auth_changed",
    "idp_configuration_added",
    "idp_configuration_deleted",
    "idp_prod_configuration_updated",
    "ekm_unenrolled",
    "ekm_logging_config_set",
    "ekm_slackbot_unenroll_notification_sent",
    "intune_disabled",
    "native_dlp_rule_deactivated",
    "native_dlp_violation_deleted",
    "barrier_updated",
    "barrier_deleted",
    "legal_hold_policy_entities_deleted",
    "legal_hold_policy_exclusion_added",
    "legal_hold_policy_released",
    "legal_hold_policy_updated",
    "workflow_trigger_suspicious_keyword",
    "anomaly",
]

EXTENSION = """
[[schema]]
type = "ticket"
description = "A helpdesk ticket."
fields = { id = "string", title = "string", urgent = "bool", tags = "vec<string>" }

[actions.user]
user_badge_printed = { entity = "user", description = "A member printed a building badge." }
user_login = { entity = "user", description = "Listed again: must not be duplicated." }

[actions.helpdesk]
ticket_opened = { entity = "ticket", description = "A helpdesk ticket was opened." }
ticket_closed = { entity = "ticket", description = "A helpdesk ticket was closed.", emits = true }
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "extensions.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_json(name: str) -> Any:
    return json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))


# --- the built-in catalog -----------------------------------------------------------------------


def test_every_action_is_listed_under_the_group_it_names(catalog: Catalog) -> None:
    for group, specs in catalog.groups.items():
        assert specs, group
        for spec in specs:
            assert spec.group == group


def test_every_action_has_an_entity_type_with_a_schema(catalog: Catalog) -> None:
    for specs in catalog.groups.values():
        for spec in specs:
            assert catalog.field_checks(spec.entity) is not None, spec.name


def test_every_action_has_a_description(catalog: Catalog) -> None:
    for specs in catalog.groups.values():
        for spec in specs:
            assert spec.description.strip(), spec.name


def test_every_entity_type_has_a_described_schema(catalog: Catalog) -> None:
    for schema in catalog.schemas:
        assert schema.fields, schema.type
        assert schema.description.strip(), schema.type


def test_names_listed_in_two_groups_resolve_to_the_first_group(catalog: Catalog) -> None:
    seen: dict[str, str] = {}
    for group, specs in catalog.groups.items():
        for spec in specs:
            seen.setdefault(spec.name, group)
    assert seen
    for name, group in seen.items():
        assert catalog.action(name).group == group
    assert catalog.action_names == frozenset(seen)


def test_actions_the_detections_key_on_exist(catalog: Catalog) -> None:
    # `app_resources_added` is in the contract's list but not in Slack's /actions (spec §1.5),
    # which the catalog mirrors exactly, so it is left out here.
    missing = [name for name in DETECTION_ACTIONS if not catalog.has_action(name)]
    assert missing == []


def test_anomaly_has_its_own_group(catalog: Catalog) -> None:
    assert [spec.name for spec in catalog.groups["anomaly"]] == ["anomaly"]


def test_unlisted_entity_types_are_valid_but_not_served(catalog: Catalog) -> None:
    unlisted = {s.type for s in catalog.schemas if not s.listed}
    assert "huddle" in unlisted
    assert "huddle" in catalog.entity_types
    served = {entry["type"] for entry in json.loads(schemas_body(catalog))["schemas"]}
    assert "huddle" not in served


@needs_spec
def test_actions_groups_and_names_equal_slacks_capture(catalog: Catalog) -> None:
    expected = load_json("actions.json")["actions"]
    served = json.loads(actions_body(catalog))["actions"]
    # Slack's groups first, in Slack's order; then only Trailkeeper's own group.
    assert list(served) == [*expected, "trailkeeper"]
    for group, names in expected.items():
        assert served[group] == names, group


@needs_spec
def test_schemas_equal_slacks_capture(catalog: Catalog) -> None:
    assert json.loads(schemas_body(catalog)) == load_json("schemas.json")


def test_actions_body_is_compact_json_starting_as_slacks_does(catalog: Catalog) -> None:
    body = actions_body(catalog)
    assert body.startswith(b'{"actions":{')
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()


def test_schemas_body_is_compact_json_starting_as_slacks_does(catalog: Catalog) -> None:
    body = schemas_body(catalog)
    assert body.startswith(b'{"schemas":[{')
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
    for entry in json.loads(body)["schemas"]:
        assert list(entry) == ["type", entry["type"]]


# --- type strings ---------------------------------------------------------------------------------

ACCEPTS: dict[str, list[Any]] = {
    "string": ["", "x"],
    "int": [0, -3, 2**40],
    "bool": [True, False],
    "array": [[], [1, "a", {}]],
    "mixed": ["x", 1, [], {}, False],
    "vec<string>": [[], ["a", "b"]],
    "varray<string>": [[], ["a"]],
    "Optional: vec<string>": [[], ["a"]],
    "Optional: varray<string>": [["a"]],
    "vec<dict<string, mixed>>": [[], [{}, {"a": [1]}]],
    "dict<string, mixed>": [{}, {"a": 1}],
}
REJECTS: dict[str, list[Any]] = {
    "string": [1, True, [], {}],
    "int": [True, False, 1.0, "1", []],
    "bool": [0, 1, "true", []],
    "array": ["a", {}, 1, ("a",)],
    "mixed": [],
    "vec<string>": ["a", ["a", 1], [None], {}],
    "varray<string>": ["a", [1]],
    "Optional: vec<string>": ["a", [1]],
    "Optional: varray<string>": ["a"],
    "vec<dict<string, mixed>>": [{}, ["a"], [{}, 1]],
    "dict<string, mixed>": [[], "a", 1],
}


@pytest.mark.parametrize("type_string", sorted(ACCEPTS))
def test_type_check_accepts_values_of_its_type_and_null(type_string: str) -> None:
    check = type_check(type_string)
    assert check(None)
    for value in ACCEPTS[type_string]:
        assert check(value), value


@pytest.mark.parametrize("type_string", sorted(REJECTS))
def test_type_check_rejects_values_of_other_types(type_string: str) -> None:
    check = type_check(type_string)
    for value in REJECTS[type_string]:
        assert not check(value), value


def test_every_type_string_of_the_catalog_is_covered_here(catalog: Catalog) -> None:
    used = {t for schema in catalog.schemas for t in schema.fields.values()}
    assert used <= set(ACCEPTS)


@pytest.mark.parametrize("type_string", ["float", "vec<float>", "vec<string", "list<string>", ""])
def test_an_unknown_type_string_is_refused(type_string: str) -> None:
    with pytest.raises(ValueError, match="unknown type string"):
        type_check(type_string)


# --- custom extensions --------------------------------------------------------------------------


def test_extension_actions_and_types_appear_in_the_catalog(tmp_path: Path) -> None:
    base = load_catalog()
    extended = load_catalog(write(tmp_path, EXTENSION))
    assert list(extended.groups)[: len(base.groups)] == list(base.groups)
    assert list(extended.groups)[-1] == "helpdesk"
    assert [s.name for s in extended.groups["helpdesk"]] == ["ticket_opened", "ticket_closed"]
    assert extended.action("ticket_closed").emits is True
    assert extended.action("ticket_opened").entity == "ticket"
    assert "ticket" in extended.entity_types
    user_names = [s.name for s in extended.groups["user"]]
    assert user_names[-1] == "user_badge_printed"
    assert user_names.count("user_login") == 1
    assert extended.action("user_login").description == base.action("user_login").description


def test_extension_appears_in_the_served_bodies(tmp_path: Path) -> None:
    extended = load_catalog(write(tmp_path, EXTENSION))
    actions = json.loads(actions_body(extended))["actions"]
    assert actions["helpdesk"] == ["ticket_opened", "ticket_closed"]
    schemas = json.loads(schemas_body(extended))["schemas"]
    assert schemas[-1] == {
        "type": "ticket",
        "ticket": {"id": "string", "title": "string", "urgent": "bool", "tags": "vec<string>"},
    }


def _resolve(kind: str, location_id: str) -> ResolvedLocation | None:
    return ResolvedLocation(ORG, "Alpha", "alpha") if location_id == WS_A else None


def test_events_of_an_extension_validate(tmp_path: Path) -> None:
    extended = load_catalog(write(tmp_path, EXTENSION))
    ticket = {"id": "TK-1", "title": "Printer on fire", "urgent": True, "tags": ["hw"]}
    event = make_event("ticket_opened", entity={"type": "ticket", "ticket": ticket})
    prepared = prepare_event(event, extended, _resolve, now=BASE_TIME + 10, max_event_bytes=65536)
    assert (prepared.action, prepared.entity_id) == ("ticket_opened", "TK-1")
    wrong = make_event(
        "ticket_opened", entity={"type": "ticket", "ticket": {**ticket, "urgent": 1}}
    )
    with pytest.raises(EventRejected, match=r"entity\.ticket\.urgent has the wrong type"):
        prepare_event(wrong, extended, _resolve, now=BASE_TIME + 10, max_event_bytes=65536)


def test_extension_actions_are_unknown_without_the_extension(catalog: Catalog) -> None:
    assert not catalog.has_action("ticket_opened")
    assert catalog.field_checks("ticket") is None


def test_an_empty_extensions_path_means_the_built_in_catalog(catalog: Catalog) -> None:
    assert load_catalog("").action_names == catalog.action_names


@pytest.mark.parametrize(
    "text",
    [
        "this is = = not toml",
        '[actions.custom]\nthing = { description = "no entity" }\n',
        '[actions.custom]\nthing = { entity = "user" }\n',
        '[actions.custom]\nthing = "user"\n',
        '[[schema]]\ntype = "x"\nfields = { a = "float" }\n',
        '[[schema]]\ntype = "x"\nfields = 3\n',
        '[[schema]]\nfields = { a = "string" }\n',
    ],
    ids=[
        "not-toml",
        "action-without-entity",
        "action-without-description",
        "action-not-a-table",
        "unknown-type-string",
        "fields-not-a-table",
        "schema-without-type",
    ],
)
def test_a_broken_extension_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, text))
    assert caught.value.problems
    assert str(tmp_path / "extensions.toml") in caught.value.problems[0]


@pytest.mark.parametrize(
    "text",
    ["actions = 5\n", "[actions]\ncustom = 5\n", "schema = 5\n"],
    ids=["actions-not-a-table", "group-not-a-table", "schema-not-a-list"],
)
def test_a_wrongly_shaped_extension_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_catalog(write(tmp_path, text))


def test_a_missing_extension_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="catalog extensions"):
        load_catalog(str(tmp_path / "absent.toml"))


def test_an_action_whose_entity_type_has_no_schema_is_a_config_error(tmp_path: Path) -> None:
    text = '[actions.helpdesk]\nticket_opened = { entity = "ticket", description = "Opened." }\n'
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, text))
    assert caught.value.problems == [
        "action with an entity type that has no schema: helpdesk.ticket_opened -> ticket"
    ]
