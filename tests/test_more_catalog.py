"""The catalog against its own data file, the operator's extensions end to end (environment ->
served bodies -> ingest), how layers merge names listed twice, and the messages of bad files.

test_catalog.py compares the bodies with Slack's captures and covers the basic extension cases;
here the comparison is with `data/catalog.toml` itself, so it runs without the spec folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from conftest import ORG, WS_A, make_event, serve_in_thread
from trailkeeper.catalog import SERVICE_GROUP, Catalog, builtin_catalog_data, load_catalog
from trailkeeper.cli import cli
from trailkeeper.config import load_settings
from trailkeeper.directory import admin
from trailkeeper.directory.records import READ_SCOPE, WRITE_SCOPE
from trailkeeper.errors import ConfigError
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import EventRejected, ResolvedLocation, prepare_event
from trailkeeper.web.app import create_app
from trailkeeper.web.catalog_bodies import actions_body, schemas_body

HELPDESK = """
[[schema]]
type = "ticket"
description = "A helpdesk ticket."
fields = { id = "string", title = "string" }

[actions.helpdesk]
ticket_opened = { entity = "ticket", description = "A helpdesk ticket was opened." }
"""


def write(tmp_path: Path, text: str, name: str = "extensions.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def resolve(kind: str, location_id: str) -> ResolvedLocation | None:
    known = {WS_A: ResolvedLocation(ORG, "Alpha", "alpha"), ORG: ResolvedLocation(ORG, "T", "t")}
    return known.get(location_id)


def prepare(catalog: Catalog, event: dict[str, Any], org_scope: str | None = None) -> str:
    prepared = prepare_event(
        event, catalog, resolve, now=2_000_000_000, max_event_bytes=1 << 16, org_scope=org_scope
    )
    return prepared.action


def ticket_event(action: str = "ticket_opened", **fields: Any) -> dict[str, Any]:
    return make_event(action, entity={"type": "ticket", "ticket": {"id": "TK-1", **fields}})


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, text))
    return list(caught.value.problems)


# --- the served bodies are the data file ----------------------------------------------------------


def test_the_actions_body_lists_the_data_files_groups_and_names_in_its_order(
    catalog: Catalog,
) -> None:
    data = builtin_catalog_data()["actions"]
    served = orjson.loads(actions_body(catalog))["actions"]
    assert list(served) == list(data)
    for group, entries in data.items():
        assert served[group] == list(entries), group


def test_the_schemas_body_lists_the_data_files_listed_revisions_in_its_order(
    catalog: Catalog,
) -> None:
    data = builtin_catalog_data()["schema"]
    expected = [
        {"type": e["type"], e["type"]: dict(e["fields"])} for e in data if e.get("listed", True)
    ]
    assert orjson.loads(schemas_body(catalog))["schemas"] == expected
    assert len(expected) < len(data)  # some revisions are valid but not served


def test_every_action_of_the_data_file_keeps_its_entity_description_and_emits(
    catalog: Catalog,
) -> None:
    for group, entries in builtin_catalog_data()["actions"].items():
        for name, entry in entries.items():
            spec = next(s for s in catalog.groups[group] if s.name == name)
            assert spec.entity == entry["entity"], name
            assert spec.description == entry["description"], name
            assert spec.emits == entry.get("emits", False), name


def test_the_service_group_is_last_and_every_action_in_it_is_about_the_organization(
    catalog: Catalog,
) -> None:
    assert list(catalog.groups)[-1] == SERVICE_GROUP
    assert {s.entity for s in catalog.groups[SERVICE_GROUP]} == {"enterprise"}


def test_the_bodies_are_the_same_bytes_each_time(catalog: Catalog) -> None:
    again = load_catalog()
    assert actions_body(again) == actions_body(catalog)
    assert schemas_body(again) == schemas_body(catalog)


# --- extensions from the environment, end to end --------------------------------------------------


@pytest.fixture
def extended_server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A live server configured by TRAILKEEPER_CATALOG_EXTENSIONS; (url, read, write tokens)."""
    environ = {"TRAILKEEPER_CATALOG_EXTENSIONS": write(tmp_path, HELPDESK)}
    settings = load_settings(environ, data_dir=str(tmp_path), rate_limit_per_minute=0)
    store = SQLiteStore(str(tmp_path / "extended.db"))
    store.migrate()
    admin.create_organization(store, ORG, "Test Org", "testorg")
    admin.create_workspace(store, WS_A, ORG, "Alpha", "alpha")
    read, _ = admin.issue_token(store, ORG, frozenset({READ_SCOPE}), "read")
    write_token, _ = admin.issue_token(store, ORG, frozenset({WRITE_SCOPE}), "write")
    server, thread, url = serve_in_thread(create_app(settings, store))
    yield url, read, write_token
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def get(url: str, path: str, token: str) -> httpx.Response:
    return httpx.get(url + path, headers={"Authorization": f"Bearer {token}"}, trust_env=False)


def test_an_extension_named_in_the_environment_is_served_and_accepted(
    extended_server: tuple[str, str, str],
) -> None:
    url, read, write_token = extended_server
    actions = get(url, "/audit/v1/actions", read).json()["actions"]
    assert actions["helpdesk"] == ["ticket_opened"]
    schemas = get(url, "/audit/v1/schemas", read).json()["schemas"]
    assert schemas[-1] == {"type": "ticket", "ticket": {"id": "string", "title": "string"}}
    answer = httpx.post(
        url + "/ingest/v1/events",
        json=[{**ticket_event(title="Printer"), "id": "tk-1"}],
        headers={"Authorization": f"Bearer {write_token}"},
        trust_env=False,
    )
    assert answer.json()["ids"] == ["tk-1"]
    entries = get(url, "/audit/v1/logs?action=ticket_opened", read).json()["entries"]
    assert [e["entity"]["ticket"]["title"] for e in entries] == ["Printer"]


def test_a_bad_extension_in_the_environment_stops_the_app_with_its_path(tmp_path: Path) -> None:
    environ = {"TRAILKEEPER_CATALOG_EXTENSIONS": write(tmp_path, "[actions]\nx = = 1\n")}
    settings = load_settings(environ, data_dir=str(tmp_path))
    store = SQLiteStore(str(tmp_path / "bad.db"))
    with pytest.raises(ConfigError) as caught:
        create_app(settings, store)
    store.close()
    assert caught.value.problems[0].startswith(f"catalog extensions {tmp_path}/extensions.toml: ")


def test_the_command_line_reports_a_bad_extension_in_one_line_with_exit_2(tmp_path: Path) -> None:
    env = {
        "TRAILKEEPER_CATALOG_EXTENSIONS": str(tmp_path / "missing.toml"),
        "TRAILKEEPER_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(cli, ["ingest", "-"], input=b"", env=env)
    assert result.exit_code == 2
    assert "catalog extensions" in result.output
    assert "missing.toml" in result.output
    assert "Traceback" not in result.output


# --- merging layers: names listed twice -----------------------------------------------------------


def test_a_builtin_action_listed_in_a_new_group_stays_in_its_own_group(tmp_path: Path) -> None:
    text = '[actions.security]\nuser_login = { entity = "user", description = "Again." }\n'
    extended = load_catalog(write(tmp_path, text))
    assert [s.name for s in extended.groups["security"]] == ["user_login"]
    assert extended.action("user_login").group == load_catalog().action("user_login").group
    assert orjson.loads(actions_body(extended))["actions"]["security"] == ["user_login"]


def test_an_extension_action_listed_in_two_groups_is_served_in_both(tmp_path: Path) -> None:
    text = (
        HELPDESK + '[actions.support]\nticket_opened = { entity = "ticket", description = "B." }\n'
    )
    extended = load_catalog(write(tmp_path, text))
    actions = orjson.loads(actions_body(extended))["actions"]
    assert actions["helpdesk"] == actions["support"] == ["ticket_opened"]
    assert extended.action("ticket_opened").group == "helpdesk"
    assert len([n for n in extended.action_names if n == "ticket_opened"]) == 1


def test_an_action_listed_twice_in_one_group_is_a_config_error(tmp_path: Path) -> None:
    text = HELPDESK + 'ticket_opened = { entity = "ticket", description = "Twice." }\n'
    problems = problems_of(tmp_path, text)
    assert "extensions.toml" in problems[0]


def test_a_new_revision_of_a_builtin_type_adds_its_fields_to_validation(
    tmp_path: Path, catalog: Catalog
) -> None:
    text = '[[schema]]\ntype = "user"\ndescription = "With a department."\n'
    text += 'fields = { id = "string", department = "string" }\n'
    extended = load_catalog(write(tmp_path, text))
    event = make_event(entity={"type": "user", "user": {"id": "U0ANN", "department": "Ops"}})
    assert prepare(extended, event) == "user_login"
    with pytest.raises(EventRejected, match="unknown field 'department'"):
        prepare(catalog, event)
    served = orjson.loads(schemas_body(extended))["schemas"]
    assert [s for s in served if s["type"] == "user"][-1]["user"]["department"] == "string"
    assert len([s for s in served if s["type"] == "user"]) == 1 + sum(
        s["type"] == "user" for s in orjson.loads(schemas_body(catalog))["schemas"]
    )


def test_an_unlisted_extension_type_validates_but_is_not_served(tmp_path: Path) -> None:
    text = HELPDESK.replace('description = "A helpdesk ticket."', "listed = false")
    extended = load_catalog(write(tmp_path, text))
    assert prepare(extended, ticket_event(title="T")) == "ticket_opened"
    assert "ticket" not in {s["type"] for s in orjson.loads(schemas_body(extended))["schemas"]}


def test_an_extension_action_in_the_service_group_is_refused_to_producers_too(
    tmp_path: Path,
) -> None:
    text = f"[actions.{SERVICE_GROUP}]\n"
    text += 'log_archived = { entity = "enterprise", description = "Archived." }\n'
    extended = load_catalog(write(tmp_path, text))
    event = make_event(
        "log_archived", location=ORG, entity={"type": "enterprise", "enterprise": {"id": ORG}}
    )
    assert prepare(extended, event) == "log_archived"
    with pytest.raises(EventRejected, match="recorded only by Trailkeeper itself"):
        prepare(extended, event, org_scope=ORG)


def test_an_empty_extension_file_changes_nothing(tmp_path: Path, catalog: Catalog) -> None:
    extended = load_catalog(write(tmp_path, ""))
    assert actions_body(extended) == actions_body(catalog)
    assert schemas_body(extended) == schemas_body(catalog)


# --- the messages of bad files --------------------------------------------------------------------


def test_an_action_without_an_entity_names_the_action_and_the_missing_key(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[actions.custom]\nthing = { description = "d" }\n')
    assert len(problems) == 1
    assert "bad action custom.thing" in problems[0]
    assert "'entity'" in problems[0]


def test_a_bad_type_string_names_it(tmp_path: Path) -> None:
    text = '[[schema]]\ntype = "x"\nfields = { a = "vec<float>" }\n'
    problems = problems_of(tmp_path, text)
    assert "bad [[schema]] entry" in problems[0]
    assert "unknown type string 'float'" in problems[0]


def test_every_action_with_an_unknown_entity_type_is_listed_at_once(tmp_path: Path) -> None:
    text = '[actions.a]\none = { entity = "nope", description = "d" }\n'
    text += '[actions.b]\ntwo = { entity = "zilch", description = "d" }\n'
    assert problems_of(tmp_path, text) == [
        "action with an entity type that has no schema: a.one -> nope",
        "action with an entity type that has no schema: b.two -> zilch",
    ]


def test_a_directory_given_as_the_extension_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="catalog extensions"):
        load_catalog(str(tmp_path))


def test_a_config_error_reads_as_one_message_per_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(write(tmp_path, "[actions.a]\none = 5\n"))
    text = str(caught.value)
    assert text.startswith("invalid settings:")
    assert "bad action a.one" in text
    assert json.dumps(text)  # one printable message


def test_an_extension_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("[actions.caf\xe9]\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="catalog extensions"):
        load_catalog(str(path))
