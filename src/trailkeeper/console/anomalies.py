"""Anomaly events as the console shows them: Slack's reasons and details, and Trailkeeper's
evidence (detector, score, baseline, the ids of the events that triggered it). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trailkeeper.catalog import Catalog
from trailkeeper.console.filters import format_time
from trailkeeper.console.views import EventSummary, decode, summarize, text_of
from trailkeeper.events import StoredRow

EVIDENCE_KEY = "trailkeeper_evidence"  # detect.anomaly.EVIDENCE_KEY
MAX_TRIGGERS = 20  # the detector keeps at most 20 contributing event ids
MAX_FACTS = 40
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
# Slack's detail keys shown as facts, with their labels.
FACT_KEYS = (
    ("ip_address_details", "Address"),
    ("user_agent_change_details", "User agent change"),
    ("detected_client", "Detected client"),
    ("detected_os", "Detected OS"),
    ("scraping_tool", "Scraping tool"),
)


@dataclass(frozen=True)
class Evidence:
    """Why the detector fired: its name, score, the actor's baseline and the triggering events."""

    detector: str
    score: str
    window: str
    baseline: tuple[tuple[str, str], ...]
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class AnomalyView:
    """An anomaly event with its reasons, where it came from and what it was compared with."""

    event: EventSummary
    acted_at: str
    location: str
    previous_ip: str
    previous_ua: str
    facts: tuple[tuple[str, str], ...]
    evidence: Evidence | None

    @property
    def when(self) -> str:
        """When it was detected (for grouping by day)."""
        return self.event.when


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as (dotted key, text) pairs, at most MAX_FACTS."""
    if not isinstance(value, dict):
        return [(prefix or "value", text_of(value))]
    pairs: list[tuple[str, str]] = []
    for key, item in list(value.items())[:MAX_FACTS]:
        name = f"{prefix}.{key}" if prefix else str(key)
        pairs.extend(_flatten(item, name) if isinstance(item, dict) else [(name, text_of(item))])
    return pairs[:MAX_FACTS]


def trigger_ids(details: Mapping[str, Any]) -> tuple[str, ...]:
    """The well-formed ids of the events an anomaly cites (at most 20)."""
    evidence = details.get(EVIDENCE_KEY)
    ids = evidence.get("event_ids") if isinstance(evidence, dict) else None
    if not isinstance(ids, list):
        return ()
    valid = [i for i in ids if isinstance(i, str) and _EVENT_ID.fullmatch(i)]
    return tuple(dict.fromkeys(valid))[:MAX_TRIGGERS]


def _evidence(details: Mapping[str, Any]) -> Evidence | None:
    evidence = details.get(EVIDENCE_KEY)
    if not isinstance(evidence, dict):
        return None
    window = evidence.get("window_s")
    return Evidence(
        detector=text_of(evidence.get("detector")),
        score=text_of(evidence.get("score"), 40),
        window=f"{window // 3600} h" if isinstance(window, int) and window >= 3600 else "",
        baseline=tuple(_flatten(evidence.get("baseline") or {})),
        event_ids=trigger_ids(details),
    )


def _acted_at(details: Mapping[str, Any]) -> str:
    micros = details.get("action_timestamp")  # Slack: microseconds
    if isinstance(micros, int) and not isinstance(micros, bool) and micros > 0:
        return format_time(micros // 1_000_000)
    return ""


def _facts(details: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found = []
    for key, label in FACT_KEYS:
        value = details.get(key)
        if isinstance(value, list):
            value = ", ".join(text_of(v, 60) for v in value[:10])
        if value not in (None, "", []):
            found.append((label, text_of(value)))
    return tuple(found)


def anomaly_view(row: StoredRow, catalog: Catalog) -> AnomalyView:
    """The view of a stored anomaly event (any shape: missing fields show as blank)."""
    details = decode(row.body).get("details")
    details = details if isinstance(details, dict) else {}
    return AnomalyView(
        event=summarize(row, catalog),
        acted_at=_acted_at(details),
        location=text_of(details.get("location")),
        previous_ip=text_of(details.get("previous_ip_address"), 64),
        previous_ua=text_of(details.get("previous_ua")),
        facts=_facts(details),
        evidence=_evidence(details),
    )
