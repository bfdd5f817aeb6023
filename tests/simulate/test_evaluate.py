"""The evaluation harness end to end at CI size (200 users x 7 days x 1 seed): the report is
complete, through a stand-in detector and through the real detection stack. No quality
threshold is asserted here; `trailkeeper evaluate` reports those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from trailkeeper.cli import cli
from trailkeeper.detect.sources import parse_tor_exits
from trailkeeper.recorder import Recorder
from trailkeeper.simulate.datafiles import WorldFiles
from trailkeeper.simulate.evaluate import EvalConfig, SeedRun, run_seed
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.population import ORG_ID
from trailkeeper.simulate.replay import anomaly_alarm
from trailkeeper.simulate.report import render_text, to_json
from trailkeeper.simulate.stream import SimConfig
from trailkeeper.simulate.summary import FA_GROUPS, RECALL_TARGETS, Summary, summarize
from trailkeeper.storage.base import Store

CI_SIZE = EvalConfig(SimConfig(users=200, days=7), seeds=(1,), workers=1)
STATUSES = {"PASS", "SHORT", "REPORT", "n/a"}


class TorListStandIn:
    """A stand-in detector for the harness: one rule (the Tor exit list) over the committed log,
    anomalies recorded through the normal ingest path."""

    def __init__(self, store: Store, files: WorldFiles) -> None:
        self.store = store
        self.recorder = Recorder(store)
        self.exits = parse_tor_exits(Path(files.tor_exits).read_text())
        self.next_seq = 0

    def run_once(self) -> int:
        records = self.store.events_from(ORG_ID, self.next_seq, 1000)
        if not records:
            return 0
        found = [orjson.loads(r.body) for r in records if r.action != "anomaly"]
        anomalies = [self.anomaly(e) for e in found if e["context"]["ip_address"] in self.exits]
        if anomalies:
            self.recorder.record_many(anomalies)
        self.next_seq = records[-1].seq + 1
        return len(records)

    @staticmethod
    def anomaly(event: dict[str, Any]) -> dict[str, Any]:
        user = event["actor"]["user"]
        return {
            "date_create": event["date_create"],
            "action": "anomaly",
            "actor": event["actor"],
            "entity": {"type": "user", "user": user},
            "context": event["context"],
            "details": {
                "reason": ["tor"],
                "action_timestamp": event["date_create"] * 1_000_000,
                "trailkeeper_evidence": {"event_ids": [event["id"]], "score": 1.0},
            },
        }

    def state_bytes(self) -> int:
        return 0

    def active_actors(self) -> int:
        return 1

    def busy_s(self) -> tuple[float, float]:
        return 0.0, 0.0


def summary_of(run: SeedRun) -> Summary:
    meta = {
        "users": 200,
        "days": 7,
        "warmup_days": 2,
        "seeds": [1],
        "campaigns": len(run.campaigns),
    }
    return summarize([run], meta)


@pytest.fixture(scope="module")
def stand_in_run() -> SeedRun:
    return run_seed(CI_SIZE, 1, TorListStandIn)


@pytest.fixture(scope="module")
def real_run() -> SeedRun:
    return run_seed(CI_SIZE, 1)


def assert_complete(summary: Summary) -> None:
    names = [row.name for row in summary.rows]
    for name, *_ in RECALL_TARGETS:
        assert name in names
    for group in FA_GROUPS:
        assert f"False alarms: {group}" in names
    assert "False alarms, total (FA/1k users/day)" in names
    assert "Recall vs every peer baseline, S1-S4, same budget" in names
    assert "Events/s per core (pipeline incl. enrichment)" in names
    assert "State bytes per active user" in names
    assert {row.status for row in summary.rows} <= STATUSES
    assert len(summary.recall) == 8 * 4  # scenarios x (three tiers + all)
    assert {b["name"] for b in summary.baselines} == {
        "BL-Okta",
        "BL-Panther",
        "BL-Sentinel",
        "BL-CloudTrail",
        "BL-MCAS",
    }
    text = render_text(summary)
    assert "PASS" in text or "SHORT" in text
    assert "BL-MCAS" in text
    orjson.dumps(to_json(summary))


def test_stand_in_replay_ingests_everything_and_reads_anomalies_back(stand_in_run: SeedRun) -> None:
    assert stand_in_run.cost.rejected == 0
    assert stand_in_run.cost.events > 5000
    assert stand_in_run.cost.signals > 1000
    assert stand_in_run.anomalies
    assert all(a.reasons == ("tor",) for a in stand_in_run.anomalies)


def test_stand_in_report_is_complete_and_finds_every_tor_campaign(stand_in_run: SeedRun) -> None:
    summary = summary_of(stand_in_run)
    assert_complete(summary)
    tor = next(r for r in summary.rows if r.name == "Tor (S2, all tiers)")
    assert tor.status == "PASS"
    assert tor.value == 1.0
    fa = summary.rows[0]
    assert fa.value == 0.0
    assert fa.status == "PASS"


def test_real_detection_report_is_complete(real_run: SeedRun) -> None:
    assert real_run.cost.rejected == 0
    assert real_run.cost.pipeline_event_s > 0
    assert real_run.cost.state_bytes > 0
    summary = summary_of(real_run)
    assert_complete(summary)
    assert summary.cost["pipeline_events_per_s"] > 0


def test_anomaly_events_become_alarms_with_session_and_evidence() -> None:
    evidence = {
        "detector": "SessionFingerprintDetector",
        "score": 1.0,
        "baseline": {"change": "country"},
        "event_ids": ["e1"],
    }
    event = {
        "date_create": 9,
        "entity": {"type": "user", "user": {"id": "U1"}},
        "context": {"session_id": 42},
        "details": {
            "reason": ["session_fingerprint"],
            "action_timestamp": 4_000_000,
            "trailkeeper_evidence": evidence,
        },
    }
    expected = Alarm(
        "U1", 4, ("session_fingerprint",), ("e1",), 1.0, 42, "SessionFingerprint:country"
    )
    assert anomaly_alarm(event) == expected


def test_anomalies_about_apps_are_not_alarms() -> None:
    app = {"date_create": 1, "entity": {"type": "app", "app": {"id": "A1"}}, "details": {}}
    assert anomaly_alarm(app) is None


def test_simulate_command_writes_the_stream_and_data_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["simulate", "--users", "60", "--days", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for name in (
        "events.ndjson",
        "signals.ndjson",
        "labels.ndjson",
        "campaigns.json",
        "manifest.json",
    ):
        assert (tmp_path / name).stat().st_size > 0
    for name in ("GeoLite2-City.mmdb", "GeoLite2-ASN.mmdb", "tor-exits.txt", "ioc.txt"):
        assert (tmp_path / "data" / name).stat().st_size > 0
    campaigns = orjson.loads((tmp_path / "campaigns.json").read_bytes())
    assert {c["scenario"] for c in campaigns} == {f"S{k}" for k in range(1, 9)}
    again = tmp_path / "again"
    CliRunner().invoke(cli, ["simulate", "--users", "60", "--days", "3", "--out", str(again)])
    assert (again / "events.ndjson").read_bytes() == (tmp_path / "events.ndjson").read_bytes()


def test_evaluate_command_prints_the_targets_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["evaluate", "--users", "60", "--days", "3", "--seeds", "1", "--workers", "1"]
    result = CliRunner().invoke(cli, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "target (spec §7)" in result.output
    data = orjson.loads(out.read_bytes())
    assert data["meta"]["users"] == 60
    assert {row["status"] for row in data["targets"]} <= STATUSES
