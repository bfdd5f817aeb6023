"""The in-process consumer of the committed log: events (and platform signals) in sequence
order through the pipeline, anomalies recorded through the normal ingest path.

Never on the ingest request path: it runs in its own thread, wakes every `interval_s` (or at
once on `notify()`), and reads only what is committed. Positions live in the store
(`consumer_positions`), so the same runner can consume a multi-node deployment's database as
a single worker (`trailkeeper anomaly run`).

State across restarts: the pipeline's state is snapshotted per organization every
`snapshot_interval_s`, together with the positions it reflects. On start the runner restores
the snapshots and resumes from their positions. An organization with a position but no
snapshot is rebuilt by replaying up to `rebuild_max_events` of its most recent events with
emission off; a log never read before (a new deployment) is learned up to its head the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

import orjson

from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.records import SnapshotRecord
from trailkeeper.detect.signals import signal_from_dict
from trailkeeper.storage.base import Store

log = logging.getLogger("trailkeeper.detect")
SIGNALS_SUFFIX = ":signals"
SHADOW_RETENTION_S = 30 * 86_400
WARN_EVERY_S = 3600.0  # repeat data-staleness warnings hourly, not only when a file reloads


class AnomalyRecorder(Protocol):
    """What the runner records through (trailkeeper.recorder.Recorder fits)."""

    def record_many(self, events: Sequence[dict[str, Any]]) -> Any: ...

    def paused_organizations(self) -> Collection[str]:
        """Organizations whose recording is paused, as this recorder's ingest sees them."""
        ...


class DetectionRunner:
    """Tails each organization's committed events and feeds the pipeline."""

    def __init__(
        self,
        store: Store,
        pipeline: DetectionPipeline,
        recorder: AnomalyRecorder,
        consumer: str = "detect:anomaly",
        *,
        batch: int = 1000,
        interval_s: float = 0.2,
        snapshot_interval_s: float = 60.0,
        signal_retention_s: float = 3600.0,
        rebuild_max_events: int = 200_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.recorder = recorder
        self.consumer = consumer
        self.batch = batch
        self.interval_s = interval_s
        self.snapshot_interval_s = snapshot_interval_s
        self.signal_retention_s = signal_retention_s
        self.rebuild_max_events = rebuild_max_events
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started = False
        self._last_snapshot = clock()
        self._last_warning = clock()
        self._dirty: set[str] = set()
        pipeline.on_shadow = self._keep_shadow
        self._shadow: list[tuple[str, dict[str, Any]]] = []
        self.recorded = 0

    # --- start-up: snapshots and rebuilds ---------------------------------------------------

    def resume(self) -> None:
        """Restore saved state and positions; rebuild organizations that have no snapshot."""
        with self._lock:
            if self._started:
                return
            self._started = True
            restored = set()
            for record in self.store.detect_snapshots(self.consumer):
                try:
                    self.pipeline.restore(record.state)
                except ValueError:
                    log.warning("detection snapshot of %s unreadable; rebuilding", record.org_id)
                    continue
                self.store.set_position(self.consumer, record.org_id, record.next_seq)
                self.store.set_position(self._signals, record.org_id, record.next_signal)
                restored.add(record.org_id)
            for org_id in self.store.organizations_with_events():
                if org_id not in restored:
                    self._rebuild(org_id)

    def _rebuild(self, org_id: str) -> None:
        """Learn from the events before the position, without emitting anything.

        A log the runner has never read (a new deployment over existing history) is learned up
        to its head: detection starts with what is committed from now on, and history becomes
        baseline instead of a flood of old anomalies (`trailkeeper anomaly backfill` replays
        history with emission on, for those who want it).
        """
        position = self.store.get_position(self.consumer, org_id)
        if position == 0:
            position = self.store.count_events(org_id)
            self.store.set_position(self.consumer, org_id, position)
        self._dirty.add(org_id)
        start = max(0, position - self.rebuild_max_events)
        while start < position:
            records = self.store.events_from(org_id, start, min(self.batch, position - start))
            if not records:
                break
            for record in records:
                if record.action != "anomaly":
                    self.pipeline.process(orjson.loads(record.body), org_id=org_id)
            start = records[-1].seq + 1
        self._shadow.clear()

    def replay(self, org_id: str) -> int:
        """Process an organization's whole log from its first event, recording what is found;
        the number of events examined. Anomaly ids are deterministic, so anomalies recorded by
        an earlier run are not stored again. Use a consumer name of its own."""
        with self._lock:
            self._started = True
            self.store.set_position(self.consumer, org_id, 0)
            total = 0
            while handled := self._run_org(org_id):
                total += handled
            self._flush_shadow()
        return total

    # --- the loop -----------------------------------------------------------------------------

    @property
    def _signals(self) -> str:
        return self.consumer + SIGNALS_SUFFIX

    def run_once(self) -> int:
        """Process what is committed now, every organization; the number of inputs handled."""
        self.resume()
        with self._lock:
            store = self.store
            # A paused organization's anomalies could not be recorded: its inputs wait, unread,
            # until recording resumes, and every other organization carries on meanwhile.
            paused = self.recorder.paused_organizations()
            handled = sum(
                self._run_org(org) for org in store.organizations_with_events() if org not in paused
            )
            handled += sum(
                self._run_signals(org)
                for org in store.organizations_with_signals()
                if org not in paused
            )
            self._flush_shadow()
            self._maybe_snapshot()
        return handled

    def _run_org(self, org_id: str) -> int:
        start = self.store.get_position(self.consumer, org_id)
        records = self.store.events_from(org_id, start, self.batch)
        if not records:
            return 0
        anomalies: list[dict[str, Any]] = []
        for record in records:
            if record.action == "anomaly":
                continue  # our own output is never input
            anomalies += self.pipeline.process(orjson.loads(record.body), org_id=org_id)
        self._record(anomalies)
        self.store.set_position(self.consumer, org_id, records[-1].seq + 1)
        self._dirty.add(org_id)
        return len(records)

    def _run_signals(self, org_id: str) -> int:
        after = self.store.get_position(self._signals, org_id) - 1
        rows = self.store.signals_after(org_id, after, self.batch)
        if not rows:
            return 0
        anomalies: list[dict[str, Any]] = []
        for _, body in rows:
            signal = signal_from_dict(orjson.loads(body))
            anomalies += self.pipeline.process_signal(org_id, signal)
        self._record(anomalies)
        self.store.set_position(self._signals, org_id, rows[-1][0] + 1)
        self._dirty.add(org_id)
        return len(rows)

    def _record(self, anomalies: list[dict[str, Any]]) -> None:
        if not anomalies:
            return
        report = self.recorder.record_many(anomalies)
        rejected = getattr(report, "rejected", [])
        for rejection in rejected:
            log.error("anomaly refused by ingest: %s", rejection)
        self.recorded += len(anomalies) - len(rejected)

    def _keep_shadow(self, org_id: str, anomaly: dict[str, Any]) -> None:
        self._shadow.append((org_id, anomaly))

    def _flush_shadow(self) -> None:
        by_org: dict[str, list[str]] = {}
        for org_id, anomaly in self._shadow:
            by_org.setdefault(org_id, []).append(orjson.dumps(anomaly).decode())
        self._shadow.clear()
        for org_id, bodies in by_org.items():
            self.store.add_shadow_anomalies(org_id, bodies, int(self.clock()))

    # --- snapshots ----------------------------------------------------------------------------

    def _maybe_snapshot(self) -> None:
        now = self.clock()
        if now - self._last_snapshot < self.snapshot_interval_s:
            return
        self.snapshot_now()
        self.store.purge_signals(int(now - self.signal_retention_s))
        self.store.purge_shadow(int(now - SHADOW_RETENTION_S))
        if now - self._last_warning >= WARN_EVERY_S:
            self._last_warning = now
            for warning in self.pipeline.enrichment.staleness_warnings():
                log.warning("%s", warning)

    def snapshot_now(self) -> int:
        """Save the state of every organization that changed; how many were saved."""
        self._last_snapshot = self.clock()
        saved = 0
        for org_id in sorted(self._dirty):
            if org_id not in self.pipeline.orgs:
                continue
            record = SnapshotRecord(
                org_id,
                self.store.get_position(self.consumer, org_id),
                self.store.get_position(self._signals, org_id),
                int(self._last_snapshot),
                self.pipeline.snapshot([org_id]),
            )
            self.store.save_detect_snapshot(self.consumer, record)
            saved += 1
        self._dirty.clear()
        return saved

    # --- the thread ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the loop now (new events or signals are committed)."""
        self._wake.set()

    def start(self) -> None:
        """Resume (synchronously) and then run in a background thread until `stop()`."""
        if self._thread is not None:
            return
        self.resume()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="trailkeeper-detect", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("detection round failed; retrying")
                handled = 0
            if handled == 0:
                self._wake.wait(self.interval_s)
                self._wake.clear()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and save a final snapshot."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        with self._lock:
            if self._started:
                self.snapshot_now()
