"""The thresholds of every detector, in one frozen value, and what a detector is handed.

Defaults follow spec/anomaly-detection.md §6 (and the peers it cites); docs/anomalies.md says
how each one moves the false-alarm/recall balance. Per-organization sensitivity multiplies the
volume thresholds (`Check.factor`).
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkeeper.detect.observation import Observation
from trailkeeper.detect.state import DAY_S, HOUR_S, ActorState, OrgState


@dataclass(frozen=True)
class Params:
    """Detector thresholds (times in seconds)."""

    # an actor's own baseline counts only after this much history (Okta min-events, Entra 5-14
    # days, Defender 7; spec §5.1 cold start): before, only intrinsic reasons apply, and
    # volumes after an identity anomaly
    min_events: int = 20
    min_days: float = 5.0
    recent_s: float = 30 * DAY_S
    # a country or client is rare in the organization below these shares of its actors
    rare_country_share: float = 0.02
    rare_client_share: float = 0.01
    # impossible travel, gated as in Panther/MCAS (spec §6 D3)
    travel_kmh: float = 900.0
    travel_min_km: float = 500.0
    travel_window_s: float = DAY_S
    # sessions: concurrent use from two ASNs, and a session reappearing long after its start
    session_concurrency_s: float = 600.0
    session_max_age_s: float = 30 * DAY_S
    # user-agent downgrades: browsers by major versions, Slack's apps by minor versions
    downgrade_majors: int = 2
    downgrade_slack_minors: int = 2
    # volumes: fire when the rolling hour reaches max(floor, mult x the daily mean)
    downloads_floor: float = 30.0
    downloads_mult: float = 20.0
    shares_floor: float = 20.0
    shares_mult: float = 8.0
    deletions_floor: float = 50.0
    deletions_mult: float = 10.0
    # ... lowered when the actor drew an identity anomaly in the last day (spec §3.4)
    escalated_floor: float = 6.0
    escalated_mult: float = 2.0
    # ... and, less, in the first day of a session that began on a network new to the actor
    novel_floor: float = 15.0
    novel_mult: float = 6.0
    novel_window_s: float = DAY_S
    prior_days: float = 1.0
    prior_daily: float = 5.0
    # scraping breadth (distinct things read per hour) and API call volume per hour
    breadth_floor: float = 50.0
    breadth_mult: float = 3.0
    api_floor_per_hour: float = 1500.0
    api_mult: float = 4.0
    # admin actions
    flag_window_s: float = DAY_S
    promotion_window_s: float = DAY_S
    off_hours_share: float = 0.02
    admin_min_events: int = 50
    admin_min_score: float = 2.0
    # password spray: distinct users failing from one address
    spray_users: int = 20
    spray_window_s: float = 600.0
    ioc_ttl_s: float = DAY_S
    # de-duplication: one anomaly per actor, reasons and session per window, repeats hourly
    dedup_window_s: float = DAY_S
    repeat_s: float = HOUR_S


@dataclass(slots=True)
class Check:
    """What one detector is handed for one observation."""

    obs: Observation
    actor: ActorState
    org: OrgState
    params: Params
    factor: float = 1.0

    @property
    def warmed(self) -> bool:
        """Does the actor have enough history for its own baseline?"""
        a, p = self.actor, self.params
        return a.events >= p.min_events and a.days_active_as_of(self.obs.ts) >= p.min_days
