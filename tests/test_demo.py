"""Tests for the deterministic demo organization and audit-history generator."""

from __future__ import annotations

import ast
import collections
import ipaddress
import json
import re
import uuid
from pathlib import Path

import pytest

from trailkeeper.demo import DemoOrganization, demo_events, demo_organization

END = 1_767_225_600  # 2026-01-01T00:00:00Z
DAYS = 30
Event = dict[str, object]

ENTITY_FIELDS: dict[str, list[set[str]]] = {
    "workspace": [{"id", "name", "domain"}],
    "enterprise": [{"id", "name", "domain"}],
    "user": [{"id", "name", "email", "team"}, {"id", "name", "email", "team", "account_type"}],
    "file": [{"id", "name", "filetype", "title"}],
    "channel": [{"id", "name", "privacy", "is_shared", "is_org_shared", "teams_shared_with"}],
    "app": [
        {"id", "name", "is_distributed", "is_directory_approved", "is_workflow_app", "scopes"},
        {
            "id",
            "name",
            "is_distributed",
            "is_directory_approved",
            "is_workflow_app",
            "scopes",
            "bot_scopes",
        },
    ],
    "workflow": [{"id", "name"}],
    "barrier": [{"id", "primary_usergroup", "barriered_from_usergroup"}],
    "message": [{"team", "channel", "timestamp"}],
    "usergroup": [{"id", "name"}],
    "role": [{"id", "name", "type"}],
    "account_type_role": [{"id", "name"}],
    "canvas": [{"id", "filetype", "title"}],
    "workflow_v2": [
        {"id", "app_id", "date_updated", "callback_id", "name", "updated_by", "step_configuration"},
    ],
    "template": [{"id", "template_name"}],
    "legal_hold_policy": [{"id", "name"}],
}
BOOL_FIELDS = {
    "is_shared",
    "is_org_shared",
    "is_distributed",
    "is_directory_approved",
    "is_workflow_app",
}
LIST_FIELDS = {"teams_shared_with", "scopes", "bot_scopes"}
OBJECT_DETAIL_KEYS = {
    "inviter",
    "kicker",
    "shared_with",
    "old_retention_policy",
    "new_retention_policy",
    "previous_profile",
    "new_profile",
    "who_can_post",
    "can_thread",
    "enable_at_here",
    "enable_at_channel",
    "can_huddle",
    "space_file_id",
    "matched_rule",
    "request",
}
STDLIB_ALLOWED = {
    "__future__",
    "collections",
    "copy",
    "dataclasses",
    "gc",
    "ipaddress",
    "itertools",
    "math",
    "operator",
    "random",
    "unicodedata",
    "uuid",
    "trailkeeper",
}


def _spec_file(name: str) -> Path | None:
    here = Path(__file__).resolve()
    for candidate in (Path("/work/shared/spec") / name, here.parents[2] / "shared/spec" / name):
        if candidate.exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def org() -> DemoOrganization:
    return demo_organization()


@pytest.fixture(scope="module")
def events(org: DemoOrganization) -> list[Event]:
    return demo_events(org, end=END, days=DAYS)


def _d(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def _ctx(event: Event) -> dict[str, object]:
    return _d(event["context"])


def _actor_id(event: Event) -> str:
    return str(_d(_d(event["actor"])["user"])["id"])


def test_deterministic(org: DemoOrganization, events: list[Event]) -> None:
    assert demo_organization() == org
    again = demo_events(demo_organization(), end=END, days=DAYS)
    assert again == events
    assert [list(e) for e in again[::97]] == [list(e) for e in events[::97]]
    other = demo_events(org, end=END, days=2, seed=8)
    assert [e["id"] for e in other[-50:]] != [e["id"] for e in events[-50:]]


def test_counts(events: list[Event]) -> None:
    assert len(events) >= 50_000
    assert len({e["action"] for e in events}) >= 60
    assert {_d(e["entity"])["type"] for e in events} == set(ENTITY_FIELDS)


def test_actions_exist_in_catalogue(events: list[Event]) -> None:
    path = _spec_file("actions.json")
    if path is None:
        pytest.skip("shared/spec/actions.json not available")
    catalogue = json.loads(path.read_text())["actions"]
    known = {name for names in catalogue.values() for name in names}
    assert {str(e["action"]) for e in events} <= known
    assert "anomaly" not in {e["action"] for e in events}


def test_entity_types_match_schemas_file() -> None:
    path = _spec_file("schemas.json")
    if path is None:
        pytest.skip("shared/spec/schemas.json not available")
    schemas = json.loads(path.read_text())["schemas"]
    assert {s["type"] for s in schemas} == set(ENTITY_FIELDS)


def test_top_level_shape(events: list[Event]) -> None:
    for e in events:
        keys = list(e)
        assert keys[:6] == ["id", "date_create", "action", "actor", "entity", "context"]
        assert keys[6:] in ([], ["details"])
        assert type(e["date_create"]) is int
        assert uuid.UUID(str(e["id"])).version == 4
        if "details" in e:
            assert _d(e["details"])


def test_actor_and_context(events: list[Event]) -> None:
    for e in events:
        actor = _d(e["actor"])
        assert actor["type"] == "user"
        assert set(_d(actor["user"])) == {"id", "name", "email", "team"}
        ctx = _ctx(e)
        assert set(ctx) - {"app"} == {"location", "ua", "ip_address", "session_id"}
        location = _d(ctx["location"])
        assert location["type"] in ("workspace", "enterprise")
        assert set(location) == {"type", "id", "name", "domain"}
        assert ipaddress.ip_address(str(ctx["ip_address"])).is_global
        assert isinstance(ctx["ua"], str)
        assert ctx["ua"]


def test_session_id_int_or_app(events: list[Event]) -> None:
    app_events = 0
    for e in events:
        ctx = _ctx(e)
        if ctx["session_id"] is None:
            app_events += 1
            app = _d(ctx["app"])
            assert set(app) == {"id", "name", "scopes", "scopes_bot", "creator", "team"}
            assert isinstance(app["scopes"], list)
            assert isinstance(app["scopes_bot"], list)
        else:
            assert type(ctx["session_id"]) is int
            assert "app" not in ctx
    assert app_events > 500


def test_entities_follow_schemas(events: list[Event]) -> None:
    for e in events:
        entity = _d(e["entity"])
        kind = str(entity["type"])
        assert set(entity) == {"type", kind}
        payload = _d(entity[kind])
        assert set(payload) in ENTITY_FIELDS[kind], (kind, sorted(payload))
        for key, value in payload.items():
            if key in BOOL_FIELDS:
                assert type(value) is bool
            elif key in LIST_FIELDS:
                assert isinstance(value, list)
                assert all(isinstance(v, str) for v in value)
            elif key == "date_updated":
                assert type(value) is int
            elif key == "step_configuration":
                assert isinstance(value, list)
                assert all(isinstance(v, dict) for v in value)
            else:
                assert isinstance(value, str), (kind, key, value)


def test_dates_in_range_and_sorted(events: list[Event]) -> None:
    dates = [int(str(e["date_create"])) for e in events]
    assert dates == sorted(dates)
    assert dates[0] >= END - DAYS * 86400
    assert dates[-1] <= END


def test_ids_unique(events: list[Event]) -> None:
    assert len({e["id"] for e in events}) == len(events)


def test_same_second_bursts(events: list[Event]) -> None:
    per_second = collections.Counter(e["date_create"] for e in events)
    bursts = [n for n in per_second.values() if n > 150]
    assert len(bursts) >= 3
    assert max(bursts) <= 600


def test_users_have_several_networks_and_clients(events: list[Event]) -> None:
    ips: dict[str, set[str]] = collections.defaultdict(set)
    uas: dict[str, set[str]] = collections.defaultdict(set)
    for e in events:
        if _ctx(e)["session_id"] is not None:
            ips[_actor_id(e)].add(str(_ctx(e)["ip_address"]))
            uas[_actor_id(e)].add(str(_ctx(e)["ua"]))
    both = [u for u in ips if len(ips[u]) >= 3 and len(uas[u]) >= 2]
    assert len(both) >= 100
    assert any(ipaddress.ip_address(ip).version == 6 for s in ips.values() for ip in s)


def test_sessions_open_with_login_and_belong_to_one_user(events: list[Event]) -> None:
    owners: dict[object, set[str]] = collections.defaultdict(set)
    for e in events:
        details = _d(e.get("details", {}))
        if _ctx(e)["session_id"] is not None and "inviter" not in details:
            owners[_ctx(e)["session_id"]].add(_actor_id(e))
    assert all(len(users) == 1 for users in owners.values())
    logins = [e for e in events if e["action"] == "user_login"]
    assert len(logins) > 3000
    assert all(_d(e["details"])["authentication_method"] for e in logins)
    assert any(e["action"] == "user_logout" for e in events)
    assert any(e["action"] == "user_login_failed" for e in events)


def test_details_shapes(events: list[Event]) -> None:
    seen = set()
    for e in events:
        details = _d(e.get("details", {}))
        for key in OBJECT_DETAIL_KEYS & set(details):
            assert isinstance(details[key], dict), (e["action"], key)
            seen.add(key)
        assert "text" not in details
        assert "message" not in details
        if e["action"] == "file_downloaded":
            assert str(details["url_private"]).startswith("https://files.slack.com/")
        if e["action"] == "app_scopes_expanded":
            assert isinstance(details["new_scopes"], list)
            assert isinstance(details["previous_scopes"], list)
        if str(e["action"]).startswith("pref."):
            assert {"previous_value", "new_value"} <= set(details)
    assert {"inviter", "shared_with", "old_retention_policy", "previous_profile"} <= seen


def test_suspicious_episodes_present(events: list[Event]) -> None:
    logins = [e for e in events if e["action"] == "user_login"]
    login_ips = {str(_ctx(e)["ip_address"]) for e in logins}
    assert any(ip.startswith("185.220.10") for ip in login_ips)  # Tor exit
    assert any(ip.startswith("175.16.199.") for ip in login_ips)  # impossible travel
    hourly: collections.Counter[tuple[str, int]] = collections.Counter(
        (_actor_id(e), int(str(e["date_create"])) // 3600)
        for e in events
        if e["action"] == "file_downloaded" and _ctx(e)["session_id"] is not None
    )
    assert max(hourly.values()) >= 100


def test_slack_sdk_parses_entries(events: list[Event]) -> None:
    logs = pytest.importorskip("slack_sdk.audit_logs.v1.logs")
    one_per_action = {str(e["action"]): e for e in events}
    sample = [*events[:3000], *one_per_action.values(), *events[-3000:]]
    response = logs.LogsResponse(entries=sample, response_metadata={"next_cursor": ""})
    assert len(response.entries) == len(sample)
    assert response.entries[0].actor.user.id == _actor_id(events[0])
    parsed = json.loads(json.dumps(sample))
    assert parsed == sample


def test_organization_shape(org: DemoOrganization) -> None:
    assert re.fullmatch(r"E[0-9A-Z]{8,12}", org.id)
    assert (org.name, org.domain) == ("Acme Corp", "acme")
    assert 3 <= len(org.workspaces) <= 4
    assert all(re.fullmatch(r"T[0-9A-Z]{8,12}", w.id) for w in org.workspaces)
    assert 180 <= len(org.users) <= 220
    assert len({u.id for u in org.users}) == len(org.users)
    assert len({u.email for u in org.users}) == len(org.users)
    assert all(re.fullmatch(r"U[0-9A-Z]{8,12}", u.id) for u in org.users)
    team_ids = {w.id for w in org.workspaces}
    assert all(u.team in team_ids for u in org.users)
    roles = collections.Counter(u.role for u in org.users)
    assert roles["owner"] == 1
    assert 2 <= roles["admin"] <= 10
    assert 2 <= roles["guest"] <= 20
    assert roles["member"] > 150
    staff = [u for u in org.users if u.role != "guest"]
    assert all(u.email.endswith("@acme.example") for u in staff)


def test_module_is_pure() -> None:
    package = Path(__file__).resolve().parents[1] / "src/trailkeeper/demo"
    files = list(package.glob("*.py")) or [package.with_suffix(".py")]
    imported = set()
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open"
    assert imported <= STDLIB_ALLOWED
