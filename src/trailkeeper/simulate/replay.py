"""Replaying a labelled stream through the real path: directory, `ingest.Ingestor`, signals
validated and kept with `Store.add_signals` (as the HTTP endpoint does), `DetectionRunner.run_once`
after every time window; then the anomalies are read back from the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from trailkeeper.catalog import load_catalog
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor
from trailkeeper.simulate.datafiles import WorldFiles
from trailkeeper.simulate.metrics import Alarm
from trailkeeper.simulate.population import ORG_ID, ORG_NAME, WORKSPACES
from trailkeeper.simulate.records import JSON
from trailkeeper.simulate.stream import Stream
from trailkeeper.storage.base import Store

PAGE = 5000


class Detection(Protocol):
    """What the harness drives: a runner over the store and the pipeline's size figures."""

    def run_once(self) -> int:
        """Consume what is committed; the number of inputs handled."""
        ...

    def state_bytes(self) -> int:
        """Bytes of detection state."""
        ...

    def active_actors(self) -> int:
        """Actors with recent activity."""
        ...

    def busy_s(self) -> tuple[float, float]:
        """Seconds spent in the pipeline on (events, signals)."""
        ...


DetectionFactory = Callable[[Store, WorldFiles], Detection]
SignalCheck = Callable[[JSON], JSON]


@dataclass
class ReplayStats:
    """What a replay cost and produced."""

    events: int = 0
    signals: int = 0
    rejected: int = 0
    rejections: list[str] = field(default_factory=list)
    ingest_s: float = 0.0
    detect_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)


def create_directory(store: Store) -> None:
    """The simulated organization and its workspaces."""
    admin.create_organization(store, ORG_ID, ORG_NAME, "sim-org")
    for ws, name, domain in WORKSPACES:
        admin.create_workspace(store, ws, ORG_ID, name, domain)


def windows(stream: Stream, window_s: int) -> Iterator[tuple[list[JSON], list[JSON]]]:
    """The stream cut into consecutive time windows: (events, signals) of each non-empty one."""
    events, signals = stream.events, stream.signals
    i = j = 0
    start = stream.start
    while i < len(events) or j < len(signals):
        end = start + window_s
        i2, j2 = i, j
        while i2 < len(events) and events[i2]["date_create"] < end:
            i2 += 1
        while j2 < len(signals) and signals[j2]["date"] < end:
            j2 += 1
        if i2 > i or j2 > j:
            yield events[i:i2], signals[j:j2]
        i, j, start = i2, j2, end


def signal_body(signal: JSON, check: SignalCheck) -> str:
    """The stored JSON of a simulated signal (its label id removed, validated by `check`)."""
    plain = {k: v for k, v in signal.items() if k != "id"}
    return orjson.dumps(check(plain)).decode()


def replay(
    stream: Stream, store: Store, detection: Detection, check: SignalCheck, window_s: int = 900
) -> ReplayStats:
    """Ingest the stream window by window, running detection after each; return the costs."""
    create_directory(store)
    ingestor = Ingestor(
        store,
        load_catalog(),
        LocationIndex(store),
        max_event_bytes=1 << 20,
        clock=lambda: stream.end,
    )
    stats = ReplayStats()
    detection.run_once()  # resume on an empty log: nothing to learn, start from seq 0
    for events, signals in windows(stream, window_s):
        t0 = time.perf_counter()
        report = ingestor.ingest(events)
        if signals:
            bodies = [signal_body(s, check) for s in signals]
            store.add_signals(ORG_ID, bodies, int(time.time()))
        t1 = time.perf_counter()
        before = store.count_events(ORG_ID)
        while detection.run_once():
            pass
        t2 = time.perf_counter()
        recorded = store.count_events(ORG_ID) - before
        stats.latencies_s += [t2 - t1] * recorded
        stats.events += len(events)
        stats.signals += len(signals)
        stats.rejected += len(report.rejected)
        stats.rejections += [r.reason for r in report.rejected[:3]]
        stats.ingest_s += t1 - t0
        stats.detect_s += t2 - t1
    return stats


def anomaly_alarm(event: dict[str, Any]) -> Alarm | None:
    """An `anomaly` event as an `Alarm` (None for anomalies about apps)."""
    entity = event.get("entity") or {}
    user = entity.get("user") if entity.get("type") == "user" else None
    if not isinstance(user, dict):
        return None
    details = event.get("details") or {}
    stamp = details.get("action_timestamp")
    ts = int(stamp) // 1_000_000 if isinstance(stamp, int) else int(event["date_create"])
    evidence = details.get("trailkeeper_evidence") or {}
    ids = tuple(str(i) for i in evidence.get("event_ids") or ())
    score = float(evidence.get("score") or 0.0)
    session = (event.get("context") or {}).get("session_id")
    reasons = tuple(details.get("reason") or ())
    sid = session if isinstance(session, int) else None
    return Alarm(str(user["id"]), ts, reasons, ids, score, sid, evidence_why(evidence))


def evidence_why(evidence: dict[str, Any]) -> str:
    """Which detector fired and, when it says, what changed (e.g. `Session...Detector:country`)."""
    baseline = evidence.get("baseline")
    change = baseline.get("change") if isinstance(baseline, dict) else None
    detector = str(evidence.get("detector") or "").replace("Detector", "")
    return f"{detector}:{change}" if change else detector


def read_anomalies(store: Store, org_id: str = ORG_ID) -> list[Alarm]:
    """Every anomaly the organization's log holds, as alarms."""
    alarms: list[Alarm] = []
    seq = 0
    while records := store.events_from(org_id, seq, PAGE):
        for record in records:
            if record.action == "anomaly":
                alarm = anomaly_alarm(orjson.loads(record.body))
                if alarm is not None:
                    alarms.append(alarm)
        seq = records[-1].seq + 1
    return alarms


def rejected_sample(stats: ReplayStats) -> Sequence[str]:
    """A few rejection reasons, for the report."""
    return sorted(set(stats.rejections))[:5]
