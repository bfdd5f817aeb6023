"""The detection pipeline: one committed event (or platform signal) in, zero or more complete
`anomaly` events out. No I/O: the runner feeds it and records what it returns.

Per observation: enrich (IP, client) -> advance the actor's counters -> run the detectors on the
state as it was -> learn -> apply the organization's controls, Slack's combination rules,
warm-up and de-duplication -> build the anomaly events.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from trailkeeper.detect import snapshot
from trailkeeper.detect.anomaly import build_anomaly, merge, permitted
from trailkeeper.detect.clients import parse_client
from trailkeeper.detect.controls import DEFAULT_CONTROLS, OrgControls
from trailkeeper.detect.dedup import dedup_key, should_emit
from trailkeeper.detect.detectors_admin import AdminActionDetector, CredentialTestingDetector
from trailkeeper.detect.detectors_identity import (
    IpAddressDetector,
    SessionFingerprintDetector,
    TorExitDetector,
    UnexpectedClientDetector,
    UserAgentDetector,
)
from trailkeeper.detect.detectors_volume import (
    ApiCallVolumeDetector,
    ScrapingDetector,
    excessive_downloads,
    excessive_file_shares,
    message_deletion,
)
from trailkeeper.detect.enrichment import Enrichment
from trailkeeper.detect.learning import advance_counters, learn
from trailkeeper.detect.observation import (
    Finding,
    Observation,
    event_fields,
    signal_fields,
)
from trailkeeper.detect.signals import Signal, parse_signal
from trailkeeper.detect.state import DAY_S, HOUR_S, OrgState
from trailkeeper.detect.tuning import Check, Params

SERVICE_ACTORS = frozenset({"USLACKUSER", "USLACKSECURITY"})
ACTIVE_WINDOW_S = 30 * DAY_S
MAX_HOT_KEYS = 4096  # bounded whatever the population: evidence for actors near a bar
HOT_IDS = 20
HOT_FROM = 8  # keep ids once an actor's rolling hour reaches this (the lowest bar is 10)
# Which counter's recent event ids back a finding of each group (the evidence's event_ids).
GROUP_METRIC = {
    "excessive_downloads": "downloads",
    "excessive_file_shares": "shares",
    "unexpected_message_deletion": "deletions",
    "unexpected_scraping": "reads",
}

ControlsProvider = Callable[[str], OrgControls]


class Detector(Protocol):
    """A pure detector: a name, the reason whose sensitivity applies, a verdict."""

    name: str
    primary: str

    def __call__(self, c: Check) -> Finding | None: ...


def default_detectors() -> list[Detector]:
    """Every detector, in the order their findings are merged."""
    return [
        TorExitDetector(),
        IpAddressDetector(),
        SessionFingerprintDetector(),
        UserAgentDetector(),
        UnexpectedClientDetector(),
        excessive_downloads(),
        excessive_file_shares(),
        message_deletion(),
        ScrapingDetector(),
        ApiCallVolumeDetector(),
        AdminActionDetector(),
        CredentialTestingDetector(),
    ]


def _no_controls(org_id: str) -> OrgControls:
    return DEFAULT_CONTROLS


class DetectionPipeline:
    """Stateful detection over the committed events of any number of organizations.

    `clock` dates the anomalies (`date_create`); None dates each one at its triggering event,
    which is what replays and simulations want. Every window is measured in event time.
    `warmup_days`: after an organization's first event, only intrinsic reasons (Tor, IOC,
    suspicious ASN, credential testing from such addresses) are emitted while baselines form.
    """

    def __init__(
        self,
        enrichment: Enrichment,
        controls_provider: ControlsProvider | None = None,
        clock: Callable[[], float] | None = None,
        *,
        params: Params | None = None,
        warmup_days: float = 7.0,
        detectors: list[Detector] | None = None,
        default_org: str = "default",
        on_shadow: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.enrichment = enrichment
        self.controls = controls_provider or _no_controls
        self.clock = clock
        self.params = params or Params()
        self.warmup_s = warmup_days * DAY_S
        self.detectors = detectors if detectors is not None else default_detectors()
        self.default_org = default_org
        self.on_shadow = on_shadow
        self.orgs: dict[str, OrgState] = {}
        self.shadowed: deque[dict[str, Any]] = deque(maxlen=1000)
        self._hot: dict[tuple[str, str, str], tuple[float, deque[str]]] = {}
        self.processed = 0

    # --- input ----------------------------------------------------------------------------

    def process(self, event: Mapping[str, Any], org_id: str | None = None) -> list[dict[str, Any]]:
        """Anomalies triggered by one committed event (events of an organization in commit
        order). `org_id` defaults to the enterprise of `context.location`, else `default_org`.
        """
        if event.get("action") == "anomaly":
            return []  # our own output is never input
        fields = event_fields(event)
        actor_id = fields["actor"].get("id")
        if not actor_id or actor_id in SERVICE_ACTORS:
            return []
        org = org_id or self._org_of(fields["context"])
        return self._run(self._observe(org, fields))

    def process_signal(
        self, org_id: str, signal: Mapping[str, Any] | Signal
    ) -> list[dict[str, Any]]:
        """Anomalies triggered by one platform activity signal (validated if a mapping)."""
        if not isinstance(signal, Signal):
            now = int(self.clock() if self.clock else signal.get("date") or time.time())
            signal = parse_signal(dict(signal), now)
        return self._run(self._observe(org_id, signal_fields(org_id, signal)))

    def _org_of(self, context: Mapping[str, Any]) -> str:
        location = context.get("location")
        if isinstance(location, Mapping) and location.get("type") == "enterprise":
            return str(location.get("id") or self.default_org)
        return self.default_org

    def _observe(self, org_id: str, fields: dict[str, Any]) -> Observation:
        return Observation(
            org_id=org_id,
            ip_info=self.enrichment.lookup(fields["ip"]),
            client=parse_client(fields["ua"]),
            **fields,
        )

    # --- the run --------------------------------------------------------------------------

    def _run(self, obs: Observation) -> list[dict[str, Any]]:
        self.processed += 1
        org = self._org(obs.org_id, obs.ts)
        actor = org.actor(obs.actor_key, obs.ts)
        advance_counters(obs, actor)
        self._note_hot(obs)
        controls = self.controls(obs.org_id)
        findings = self._detect(obs, org, controls) if self._watched(obs, controls) else []
        if any(f.group == "identity" for f in findings):
            actor.flagged_ts = obs.ts
        learn(obs, actor, org, self.params)
        if obs.ts - org.first_ts < self.warmup_s:
            findings = [f for f in findings if f.intrinsic]
        return self._emit(obs, org, merge(findings), controls)

    def _org(self, org_id: str, now: float) -> OrgState:
        org = self.orgs.get(org_id)
        if org is None:
            org = self.orgs[org_id] = OrgState(first_ts=now, popularity_epoch=now)
        return org

    def _watched(self, obs: Observation, controls: OrgControls) -> bool:
        if not controls.enabled or obs.actor_id in controls.exempt_users:
            return False
        return not controls.is_trusted(obs.ip, obs.ip_info.asn)

    def _detect(self, obs: Observation, org: OrgState, controls: OrgControls) -> list[Finding]:
        actor = org.actors[obs.actor_key]
        found = []
        for detector in self.detectors:
            if not controls.allows(detector.primary):
                continue
            check = Check(obs, actor, org, self.params, controls.factor(detector.primary))
            finding = detector(check)
            if finding is not None:
                found.append(finding)
        return found

    def _emit(
        self, obs: Observation, org: OrgState, findings: list[Finding], controls: OrgControls
    ) -> list[dict[str, Any]]:
        out = []
        for finding in findings:
            reasons = permitted(finding.reasons, controls, finding.app_entity)
            if not reasons:
                continue
            owner = org.actors[obs.actor_key]
            key = dedup_key(reasons, obs.session_id)
            p = self.params
            if not should_emit(owner, key, obs.ts, window_s=p.dedup_window_s, repeat_s=p.repeat_s):
                continue
            anomaly = build_anomaly(
                obs,
                finding,
                reasons,
                trigger=self._trigger(obs),
                date_create=self._date(obs),
                event_ids=self._event_ids(obs, finding),
            )
            if controls.shadow:
                self.shadowed.append(anomaly)
                if self.on_shadow is not None:
                    self.on_shadow(obs.org_id, anomaly)
            else:
                out.append(anomaly)
        return out

    def _trigger(self, obs: Observation) -> str:
        if obs.event_id:
            return obs.event_id
        return f"signal:{obs.actor_key}:{obs.ts}:{obs.api_method}:{obs.count}:{obs.session_id}"

    def _date(self, obs: Observation) -> int:
        if self.clock is None:
            return int(obs.ts)
        return max(int(self.clock()), int(obs.ts))

    # --- evidence: recent event ids of hot counters -----------------------------------------

    def _note_hot(self, obs: Observation) -> None:
        if obs.event_id is None:
            return
        metric = obs.metric[0] if obs.metric else ("reads" if obs.read_target else None)
        if metric is None:
            return
        counter = self.orgs[obs.org_id].actors[obs.actor_key].rates.get(metric)
        if counter is None or counter.hour_count(obs.ts) < HOT_FROM:
            return
        key = (obs.org_id, obs.actor_key, metric)
        entry = self._hot.pop(key, None)  # re-inserted last: the dict stays in order of use
        ids = entry[1] if entry is not None else deque(maxlen=HOT_IDS)
        ids.append(obs.event_id)
        self._hot[key] = (obs.ts, ids)
        self._expire_hot(obs.ts)

    def _expire_hot(self, now: float) -> None:
        """Forget the evidence of counters that cooled down an hour ago (or the least recently
        used beyond MAX_HOT_KEYS): findings only ever cite the rolling hour's events."""
        hot = self._hot
        while hot:
            oldest = next(iter(hot))
            if now - hot[oldest][0] <= HOUR_S and len(hot) <= MAX_HOT_KEYS:
                return
            del hot[oldest]

    def _event_ids(self, obs: Observation, finding: Finding) -> list[str]:
        metric = GROUP_METRIC.get(finding.group)
        if metric is not None:
            entry = self._hot.get((obs.org_id, obs.actor_key, metric))
            if entry is not None:
                return list(entry[1])
        return [obs.event_id] if obs.event_id else []

    # --- size and persistence ---------------------------------------------------------------

    def active_actors(self, now: float | None = None) -> int:
        """Actors seen in the last 30 days (of event time, as of the latest event by default)."""
        actors = [a for org in self.orgs.values() for a in org.actors.values()]
        if not actors:
            return 0
        latest = now if now is not None else max(a.last_ts for a in actors)
        return sum(1 for a in actors if latest - a.last_ts <= ACTIVE_WINDOW_S)

    def state_bytes(self) -> int:
        """Bytes of memory held by all detection state (shared objects counted once)."""
        return snapshot.deep_size([self.orgs, self._hot])

    def snapshot(self, org_ids: list[str] | None = None) -> bytes:
        """The state of the given organizations (all by default), as bytes for `restore`."""
        chosen = self.orgs if org_ids is None else {k: self.orgs[k] for k in org_ids}
        return snapshot.encode(chosen)

    def restore(self, blob: bytes) -> list[str]:
        """Load state saved by `snapshot` (replacing those organizations); their ids."""
        loaded = snapshot.decode(blob)
        self.orgs.update(loaded)
        return sorted(loaded)

    def forget(self, org_id: str) -> None:
        """Drop an organization's state (e.g. before rebuilding it from the log)."""
        self.orgs.pop(org_id, None)
