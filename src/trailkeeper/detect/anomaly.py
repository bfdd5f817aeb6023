"""From findings to Slack `anomaly` events: controls, Slack's combination rules, merging, and the
event shape (reason list, action_timestamp in microseconds, location, previous_*, our evidence).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from trailkeeper.detect.controls import OrgControls
from trailkeeper.detect.observation import Finding, Observation

EVIDENCE_KEY = "trailkeeper_evidence"
ANOMALY_NAMESPACE = uuid.UUID("6f1c1f43-8f0e-4b8e-9a77-4d1b3b8a2c10")
MAX_EVENT_IDS = 20
# Slack: these reasons always come with their partner (spec/slack-audit-api.md §4.2).
PARTNERS = {
    "asn": "ip_address",
    "unexpected_user_agent": "user_agent",
    "spoofed_user_agent": "unexpected_client",
}
# Reasons Slack applies to apps as well as users (anomalous-events reference, "Entities").
APP_REASONS = frozenset(
    {
        "asn",
        "ip_address",
        "tor",
        "excessive_downloads",
        "excessive_file_shares",
        "excessive_malware_uploads",
        "unexpected_credential_testing",
    }
)
# Slack's own order of reasons inside one entry: the primary reason first, its partner after.
ORDER = (
    "tor",
    "asn",
    "ip_address",
    "session_fingerprint",
    "spoofed_user_agent",
    "unexpected_client",
    "unexpected_user_agent",
    "user_agent",
)


def permitted(reasons: Iterable[str], controls: OrgControls, app: bool) -> tuple[str, ...]:
    """The reasons left after switches and entity rules, with partners enforced: a reason
    whose partner is gone goes too, and a partner is added back when switched on."""
    kept = [r for r in reasons if controls.allows(r) and (not app or r in APP_REASONS)]
    for reason, partner in PARTNERS.items():
        if reason in kept and partner not in kept:
            if controls.allows(partner) and (not app or partner in APP_REASONS):
                kept.append(partner)
            else:
                kept.remove(reason)
    return tuple(sorted(set(kept), key=_rank))


def _rank(reason: str) -> tuple[int, str]:
    return (ORDER.index(reason), "") if reason in ORDER else (len(ORDER), reason)


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per group: identity findings of one observation become one multi-reason
    finding (Slack's `["ip_address","asn"]` style); other groups stay separate."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.group, []).append(f)
    return [_combine(items) if len(items) > 1 else items[0] for items in groups.values()]


def _combine(items: list[Finding]) -> Finding:
    details: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for f in items:
        details.update(f.details)
        baseline[f.detector] = f.baseline
    return Finding(
        tuple(r for f in items for r in f.reasons),
        "+".join(f.detector for f in items),
        max(f.score for f in items),
        baseline,
        window_s=max(f.window_s for f in items),
        details=details,
        app_entity=all(f.app_entity for f in items),
        intrinsic=any(f.intrinsic for f in items),
        group=items[0].group,
        previous_ip=next((f.previous_ip for f in items if f.previous_ip), ""),
        previous_ua=next((f.previous_ua for f in items if f.previous_ua), ""),
    )


def anomaly_id(org_id: str, trigger: str, reasons: tuple[str, ...]) -> str:
    """A deterministic id: re-processing the same trigger cannot store the anomaly twice."""
    return str(uuid.uuid5(ANOMALY_NAMESPACE, f"{org_id}|{trigger}|{','.join(reasons)}"))


def _entity(obs: Observation, app: bool) -> dict[str, Any]:
    if app and obs.app is not None:
        fields = {k: obs.app[k] for k in ("id", "name") if obs.app.get(k) is not None}
        return {"type": "app", "app": fields}
    return {"type": "user", "user": dict(obs.actor)}


def _context(obs: Observation) -> dict[str, Any]:
    context = dict(obs.context)
    if context.get("app") is not None:
        context["app"] = dict(context["app"])
    return context


def build_anomaly(
    obs: Observation,
    finding: Finding,
    reasons: tuple[str, ...],
    *,
    trigger: str,
    date_create: int,
    event_ids: list[str],
) -> dict[str, Any]:
    """The complete `anomaly` event, ready for ingest."""
    details: dict[str, Any] = {
        "reason": list(reasons),
        "action_timestamp": int(obs.ts * 1_000_000),
        "location": obs.ip_info.location,
        "previous_ip_address": finding.previous_ip,
        "previous_ua": finding.previous_ua,
    }
    details.update(_slack_details(finding.details, reasons))
    details[EVIDENCE_KEY] = {
        "detector": finding.detector,
        "score": finding.score,
        "baseline": finding.baseline,
        "window_s": finding.window_s,
        "event_ids": event_ids[-MAX_EVENT_IDS:],
    }
    return {
        "id": anomaly_id(obs.org_id, trigger, reasons),
        "date_create": date_create,
        "action": "anomaly",
        "actor": {"type": "user", "user": dict(obs.actor)},
        "entity": _entity(obs, finding.app_entity),
        "context": _context(obs),
        "details": details,
    }


def _slack_details(details: dict[str, Any], reasons: tuple[str, ...]) -> dict[str, Any]:
    """Only the details keys whose reason survived the controls."""
    needs = {
        "ip_address_details": "ip_address",
        "user_agent_change_details": "user_agent",
        "detected_client": "unexpected_client",
        "detected_os": "unexpected_client",
        "scraping_tool": "unexpected_scraping",
    }
    return {k: v for k, v in details.items() if needs.get(k) in reasons}
