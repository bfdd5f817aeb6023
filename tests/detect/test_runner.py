"""The runner over a real SQLite store: tailing the committed log, recording anomalies through
ingest, positions, restarts (snapshots and rebuilds), signals and shadow mode."""

from __future__ import annotations

import time
from typing import Any

import orjson

from trailkeeper.detect.controls import CachedControls, update_controls
from trailkeeper.detect.enrichment import Enrichment
from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.runner import DetectionRunner
from trailkeeper.query import LogFilter
from trailkeeper.recorder import Recorder
from trailkeeper.storage.sqlite import SQLiteStore

from .conftest import DAY, DESKTOP, GO, ORG, START, WS, user_obj
from .world import ip

ANN = "U0ANN"


def event(action: str, user: str, ts: float, net: str = "office", ua: str = DESKTOP,
          session: int | None = 1, n: int = 0) -> dict[str, Any]:  # fmt: skip
    return {
        "id": f"{user}-{int(ts)}-{action}-{n}",
        "date_create": int(ts),
        "action": action,
        "actor": {"type": "user", "user": user_obj(user)},
        "entity": {"type": "user", "user": user_obj(user)},
        "context": {
            "location": {"type": "workspace", "id": WS},
            "ua": ua,
            "ip_address": ip(net),
            "session_id": session,
        },
    }


def history(days: int = 8, users: int = 12) -> list[dict[str, Any]]:
    out = []
    for day in range(days):
        for u in [ANN, *(f"U0P{k:02d}" for k in range(users))]:
            t = START + day * DAY
            out.append(event("user_login", u, t, session=day))
            out += [event("user_logout", u, t + 3600 * (k + 1), session=day, n=k) for k in range(3)]
    return out


def make_runner(store: SQLiteStore, enrichment: Enrichment, **kw: Any) -> DetectionRunner:
    pipeline = DetectionPipeline(
        enrichment, controls_provider=CachedControls(store, ttl_s=0), warmup_days=0
    )
    return DetectionRunner(store, pipeline, Recorder(store), **kw)


def anomalies(store: SQLiteStore) -> list[dict[str, Any]]:
    rows = store.scan(ORG, LogFilter(actions=("anomaly",)), None, 1000)
    return [orjson.loads(r.body) for r in rows]


def test_the_runner_records_anomalies_through_ingest_and_advances(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    recorder = Recorder(directory)
    runner = make_runner(directory, enrichment)
    runner.run_once()  # a fresh deployment over an empty log
    recorder.record_many([event("user_login", ANN, START, net="tor")])
    assert runner.run_once() == 1
    found = anomalies(directory)
    assert [a["details"]["reason"] for a in found] == [["tor"]]
    assert directory.get_position("detect:anomaly", ORG) == 1
    assert runner.run_once() == 1  # it reads its own anomaly, skips it, and moves on
    assert directory.get_position("detect:anomaly", ORG) == 2
    assert len(anomalies(directory)) == 1


def test_a_new_deployment_learns_existing_history_instead_of_flooding(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    recorder = Recorder(directory)
    old = history()
    old.append(event("user_login", ANN, START + 3 * DAY, net="tor", n=9))  # an old Tor login
    recorder.record_many(old)
    runner = make_runner(directory, enrichment)
    runner.run_once()
    assert anomalies(directory) == []
    assert directory.get_position("detect:anomaly", ORG) == directory.count_events(ORG)
    recorder.record_many([event("user_login", ANN, START + 9 * DAY, ua=GO, session=99)])
    runner.run_once()
    reasons = [a["details"]["reason"] for a in anomalies(directory)]
    assert reasons
    assert "unexpected_user_agent" in reasons[0]


def test_state_survives_a_restart_through_snapshots(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    recorder = Recorder(directory)
    first = make_runner(directory, enrichment)
    first.run_once()
    recorder.record_many(history())
    first.run_once()
    first.stop()  # saves a final snapshot
    assert [s.org_id for s in directory.detect_snapshots("detect:anomaly")] == [ORG]
    second = make_runner(directory, enrichment)
    recorder.record_many([event("user_login", ANN, START + 9 * DAY, ua=GO, session=99)])
    second.run_once()
    assert second.pipeline.orgs[ORG].actors[ANN].events > 30
    assert "unexpected_user_agent" in anomalies(directory)[0]["details"]["reason"]


def test_signals_are_consumed_once_in_order(directory: SQLiteStore, enrichment: Enrichment) -> None:
    runner = make_runner(directory, enrichment)
    body = {"actor_id": ANN, "api_method": "auth.test", "date": START, "ip_address": ip("tor")}
    directory.add_signals(ORG, [orjson.dumps(body).decode()], START)
    assert runner.run_once() == 1
    assert [a["details"]["reason"] for a in anomalies(directory)] == [["tor"]]
    runner.run_once()
    assert len(anomalies(directory)) == 1


def test_shadow_mode_keeps_anomalies_out_of_the_log(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    recorder = Recorder(directory)
    update_controls(directory, recorder.record_many, ORG, {"mode": "shadow"})
    runner = make_runner(directory, enrichment)
    runner.run_once()
    recorder.record_many([event("user_login", ANN, START, net="tor")])
    runner.run_once()
    assert anomalies(directory) == []
    held = [orjson.loads(b) for b in directory.shadow_anomalies(ORG, 10)]
    assert [a["details"]["reason"] for a in held] == [["tor"]]


def test_the_background_thread_detects_within_a_second(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    runner = make_runner(directory, enrichment, interval_s=0.05)
    runner.start()
    try:
        Recorder(directory).record_many([event("user_login", ANN, START, net="tor")])
        runner.notify()
        deadline = time.monotonic() + 5
        while not anomalies(directory) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runner.stop()
    assert len(anomalies(directory)) == 1


def test_a_paused_organization_waits_and_the_others_carry_on(
    directory: SQLiteStore, enrichment: Enrichment
) -> None:
    from conftest import OTHER_ORG, WS_OTHER
    from trailkeeper.integrity.pauses import pause_logging, resume_logging
    from trailkeeper.recorder import organization_event

    recorder = Recorder(directory)

    def record_event(action: str, org_id: str, details: Any) -> str:
        return recorder.record(organization_event(action, org_id, details))

    runner = DetectionRunner(directory, make_runner(directory, enrichment).pipeline, recorder)
    runner.run_once()
    recorder.record_many([event("user_login", ANN, START, net="tor")])
    other = event("user_login", "U0OTH", START, net="tor")
    other["context"]["location"] = {"type": "workspace", "id": WS_OTHER}
    recorder.record_many([other])
    pause_logging(directory, record_event, ORG, "maintenance", int(START))
    runner.run_once()  # the paused organization's Tor login cannot be recorded now: no failure
    assert anomalies(directory) == []
    assert directory.get_position("detect:anomaly", ORG) == 0
    assert len(directory.scan(OTHER_ORG, LogFilter(actions=("anomaly",)), None, 10)) == 1
    resume_logging(directory, record_event, ORG, "done", int(START) + 60)
    runner.run_once()
    assert [a["details"]["reason"] for a in anomalies(directory)] == [["tor"]]
