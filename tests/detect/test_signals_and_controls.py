"""Signal validation (metadata only), controls values and their audit events, and the CLI."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from trailkeeper.cli import cli
from trailkeeper.detect.controls import (
    OrgControls,
    apply_changes,
    control_events,
    controls_from_json,
)
from trailkeeper.detect.signals import SignalRejected, parse_signal
from trailkeeper.errors import InvalidArguments
from trailkeeper.query import LogFilter
from trailkeeper.storage.sqlite import SQLiteStore

NOW = 1_700_000_000


def test_a_full_signal_is_accepted_and_normalised() -> None:
    signal = parse_signal(
        {
            "actor_id": "U0ANN",
            "api_method": "conversations.history",
            "count": 40,
            "session_id": "123",
            "ip_address": "2001:DB8::1",
            "ua": "python-requests/2.32",
            "target_id": "C0GENERAL",
            "client_fingerprint": "t13d1516h2_8daaf6152771",
            "workspace_id": "T0TESTA",
        },
        NOW,
    )
    assert signal.date == NOW
    assert signal.session_id == 123
    assert signal.ip_address == "2001:db8::1"
    assert signal.to_dict()["count"] == 40


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            {"actor_id": "U0ANN", "api_method": "chat.postMessage", "text": "secret"},
            "unknown field",
        ),
        ({"api_method": "x"}, "actor_id"),
        ({"actor_id": "U0ANN"}, "api_method"),
        ({"actor_id": "bob", "api_method": "x"}, "actor_id is malformed"),
        ({"actor_id": "U0ANN", "api_method": "x", "count": 0}, "count"),
        ({"actor_id": "U0ANN", "api_method": "x", "date": NOW - 2 * 86400}, "date"),
        ({"actor_id": "U0ANN", "api_method": "x", "ip_address": "1.2.3"}, "ip_address"),
        ({"actor_id": "U0ANN", "api_method": "x", "session_id": -1}, "session_id"),
        ({"actor_id": "U0ANN", "api_method": "x", "target_id": "has space"}, "target_id"),
        ("a string", "object"),
    ],
)
def test_malformed_signals_are_refused_with_a_reason(raw: Any, reason: str) -> None:
    with pytest.raises(SignalRejected, match=reason):
        parse_signal(raw, NOW)


def test_controls_round_trip_through_json() -> None:
    controls = apply_changes(
        OrgControls(),
        {
            "mode": "shadow",
            "disabled_reasons": ["user_agent"],
            "sensitivity": {"tor": "low", "ip_address": "medium"},
            "trusted_cidr": ["10.0.0.0/8", "10.0.0.1/8"],
            "trusted_asn": ["AS64500", 64501],
            "exempt_users": ["U0SVC"],
        },
    )
    assert controls.trusted_cidrs == ("10.0.0.0/8",)
    assert controls.trusted_asns == (64500, 64501)
    assert controls.sensitivity == {"tor": "low"}
    assert controls.factor("tor") == 2.0
    assert controls_from_json(orjson.dumps(controls.to_dict()).decode()) == controls
    assert controls.is_trusted("10.9.9.9", None)
    assert controls.is_trusted(None, 64501)
    assert not controls.is_trusted("11.0.0.1", 1)
    assert not controls.is_trusted("junk", None)


@pytest.mark.parametrize(
    "changes",
    [
        {"mode": "loud"},
        {"disabled_reasons": ["made_up"]},
        {"sensitivity": {"tor": "extreme"}},
        {"trusted_cidr": ["300.1.1.1/8"]},
        {"trusted_asn": ["ASx"]},
        {"trusted_asn": [True]},
        {"colour": "red"},
        {"trusted_cidr": "10.0.0.0/8"},
    ],
)
def test_invalid_controls_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidArguments):
        apply_changes(OrgControls(), changes)


def test_control_changes_become_slack_shaped_events() -> None:
    old = OrgControls()
    new = apply_changes(old, {"trusted_cidr": ["10.0.0.0/8"], "exempt_users": ["U0SVC"]})
    events = control_events("E0TEST", old, new)
    assert [e["action"] for e in events] == [
        "pref.anomaly_event_response_changed",
        "user_anomaly_event_response_allowlist_changed",
    ]
    assert events[0]["details"]["new_value"]["trusted_cidr"] == ["10.0.0.0/8"]
    assert events[0]["details"]["previous_value"]["trusted_cidr"] == []
    assert events[1]["entity"] == {"type": "user", "user": {"id": "U0SVC"}}
    assert control_events("E0TEST", new, new) == []


def test_the_cli_changes_controls_and_records_the_change(
    directory: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAILKEEPER_DATABASE_URL", f"sqlite:///{directory.path}")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "anomaly",
            "controls",
            "set",
            "--org",
            "E0TEST",
            "--mode",
            "shadow",
            "--disable",
            "user_agent",
            "--sensitivity",
            "tor=high",
            "--trust-cidr",
            "10.0.0.0/8",
            "--trust-asn",
            "64500",
            "--exempt",
            "U0SVC",
        ],
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["mode"] == "shadow"
    shown = runner.invoke(cli, ["anomaly", "controls", "show", "--org", "E0TEST"])
    assert orjson.loads(shown.output)["trusted_asn"] == [64500]
    again = runner.invoke(
        cli,
        [
            "anomaly",
            "controls",
            "set",
            "--org",
            "E0TEST",
            "--enable",
            "user_agent",
            "--untrust-cidr",
            "10.0.0.0/8",
            "--include",
            "U0SVC",
        ],
    )
    assert orjson.loads(again.output)["disabled_reasons"] == []
    actions = [
        orjson.loads(r.body)["action"] for r in directory.scan("E0TEST", LogFilter(), None, 100)
    ]
    assert actions.count("pref.anomaly_event_response_changed") == 2
    assert actions.count("user_anomaly_event_response_allowlist_changed") == 2
    bad = runner.invoke(
        cli, ["anomaly", "controls", "set", "--org", "E0TEST", "--sensitivity", "x"]
    )
    assert bad.exit_code != 0
    assert runner.invoke(cli, ["anomaly", "shadow", "--org", "E0TEST"]).exit_code == 0
    assert "no data files" in runner.invoke(cli, ["anomaly", "data"]).output


def test_the_cli_backfill_replays_history_once(
    directory: SQLiteStore, monkeypatch: pytest.MonkeyPatch, world_paths: dict[str, str]
) -> None:
    from trailkeeper.recorder import Recorder

    from .test_runner import event

    monkeypatch.setenv("TRAILKEEPER_DATABASE_URL", f"sqlite:///{directory.path}")
    monkeypatch.setenv("TRAILKEEPER_DETECT_TOR_EXITS", world_paths["tor_exits"])
    Recorder(directory).record_many([event("user_login", "U0ANN", 1_700_000_000, net="tor")])
    runner = CliRunner()
    first = runner.invoke(cli, ["anomaly", "backfill", "--org", "E0TEST"])
    assert "1 anomalies recorded" in first.output, first.output
    runner.invoke(cli, ["anomaly", "backfill", "--org", "E0TEST"])
    rows = directory.scan("E0TEST", LogFilter(actions=("anomaly",)), None, 10)
    assert len(rows) == 1
