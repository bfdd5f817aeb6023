"""Volume and behaviour detectors: downloads, shares, deletions, scraping, API call volume.

Pure: they read the counters the pipeline has already advanced with this observation. A volume
fires when the rolling hour reaches max(floor, multiplier x the actor's daily mean), where the
mean is a Gamma-Poisson-style blend of the actor's decayed daily counts and an organization
prior; an actor with an identity anomaly in the last day gets the lower, escalated bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkeeper.detect.observation import Finding
from trailkeeper.detect.state import HOUR_S, RateCounter
from trailkeeper.detect.tuning import Check


def daily_mean(c: Check, counter: RateCounter, metric: str) -> float:
    """The actor's expected count per active day, shrunk toward the organization prior."""
    p = c.params
    prior = c.org.priors.get(metric, p.prior_daily)
    days = c.actor.days_active_as_of(c.obs.ts)
    return (counter.past_sum(c.obs.ts) + prior * p.prior_days) / (days + p.prior_days)


def is_escalated(c: Check) -> bool:
    """Did this actor draw an identity anomaly in the last day?"""
    return c.obs.ts - c.actor.flagged_ts <= c.params.flag_window_s


def in_novel_session(c: Check) -> bool:
    """Is this done on the first day of a session that began on a network new to the actor
    (a sign-in from somewhere new; weeks later the session is the actor's own)?"""
    sid = c.obs.session_id
    binding = c.actor.session(sid) if sid is not None else None
    if binding is None or not binding.novel:
        return False
    return c.obs.ts - binding.first_ts <= c.params.novel_window_s


@dataclass(frozen=True)
class VolumeRule:
    """One volume reason: which counter, which floor and multiplier."""

    metric: str
    reason: str
    floor: str
    mult: str


class VolumeDetector:
    """`excessive_downloads` / `excessive_file_shares` / `unexpected_message_deletion`, for
    warmed actors (a newcomer's mean is the organization's prior, and people differ by orders
    of magnitude), or anyone after an identity anomaly."""

    def __init__(self, name: str, rule: VolumeRule, *, apps: bool) -> None:
        self.name = name
        self.rule = rule
        self.primary = rule.reason
        self.apps = apps

    def __call__(self, c: Check) -> Finding | None:
        metric = c.obs.metric
        if metric is None or metric[0] != self.rule.metric or (c.obs.is_app and not self.apps):
            return None
        counter = c.actor.rates.get(self.rule.metric)
        if counter is None or not (c.warmed or is_escalated(c)):
            return None
        hour = counter.hour_count(c.obs.ts)
        mean = daily_mean(c, counter, self.rule.metric)
        threshold = self.threshold(c, mean)
        if hour < threshold:
            return None
        return Finding(
            (self.rule.reason,),
            self.name,
            round(hour / max(mean, 1.0), 2),
            {"hour_count": hour, "daily_mean": round(mean, 2), "threshold": round(threshold, 1)},
            window_s=HOUR_S,
            app_entity=c.obs.is_app,
            group=self.rule.reason,
        )

    def threshold(self, c: Check, mean: float) -> float:
        """The rolling-hour count at which this fires for this actor now: the standalone bar,
        lowered on the first day of a session begun on a new network, further after an
        identity anomaly (volume alone cannot tell exfiltration from a bulk day; context can)."""
        p = c.params
        floor, mult = float(getattr(p, self.rule.floor)), float(getattr(p, self.rule.mult))
        if is_escalated(c):
            floor, mult = min(floor, p.escalated_floor), min(mult, p.escalated_mult)
        elif in_novel_session(c):
            floor, mult = min(floor, p.novel_floor), min(mult, p.novel_mult)
        return max(floor, mult * mean) * c.factor


DOWNLOADS = VolumeRule("downloads", "excessive_downloads", "downloads_floor", "downloads_mult")
SHARES = VolumeRule("shares", "excessive_file_shares", "shares_floor", "shares_mult")
DELETIONS = VolumeRule(
    "deletions", "unexpected_message_deletion", "deletions_floor", "deletions_mult"
)


def excessive_downloads() -> VolumeDetector:
    """Users and apps (Slack monitors apps for downloads and shares)."""
    return VolumeDetector("ExcessiveDownloadsDetector", DOWNLOADS, apps=True)


def excessive_file_shares() -> VolumeDetector:
    """Users and apps."""
    return VolumeDetector("ExcessiveFileSharesDetector", SHARES, apps=True)


def message_deletion() -> VolumeDetector:
    """Users only."""
    return VolumeDetector("MessageDeletionDetector", DELETIONS, apps=False)


class ScrapingDetector:
    """`unexpected_scraping`: a scraping-capable tool reading with a person's token, or a
    breadth of reading (distinct channels, canvases, files per hour) no person reaches."""

    name = "ScrapingDetector"
    primary = "unexpected_scraping"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if obs.is_app or not obs.is_read:
            return None
        client = obs.client
        if client.kind == "script" and c.warmed and c.actor.clients.last_seen(client.key) is None:
            return self._finding(c, 3.0, {"tool": client.family}, client.tool)
        return self._breadth(c)

    def _breadth(self, c: Check) -> Finding | None:
        counter = c.actor.rates.get("reads")
        if counter is None or c.obs.read_target is None:
            return None
        p = c.params
        distinct = counter.hour_count(c.obs.ts)
        threshold = max(p.breadth_floor, p.breadth_mult * counter.peak_hour()) * c.factor
        if distinct < threshold:
            return None
        tool = c.obs.client.tool or "unknown client"
        return self._finding(
            c,
            round(distinct / max(counter.peak_hour(), 1.0), 2),
            {"distinct_per_hour": distinct, "peak_hour": counter.peak_hour()},
            tool,
        )

    def _finding(self, c: Check, score: float, baseline: dict[str, object], tool: str) -> Finding:
        return Finding(
            ("unexpected_scraping",),
            self.name,
            score,
            dict(baseline),
            window_s=HOUR_S,
            details={"scraping_tool": tool},
            group="unexpected_scraping",
        )


class ApiCallVolumeDetector:
    """`unexpected_api_call_volume`: more API calls in an hour than a person's client makes
    (platform signals), well above the actor's own finished-hour peak."""

    name = "ApiCallVolumeDetector"
    primary = "unexpected_api_call_volume"

    def __call__(self, c: Check) -> Finding | None:
        if not c.obs.is_signal or c.obs.is_app:
            return None
        counter = c.actor.rates.get("api")
        if counter is None:
            return None
        p = c.params
        calls = counter.hour_count(c.obs.ts)
        peak = counter.peak_hour()
        threshold = max(p.api_floor_per_hour, p.api_mult * peak) * c.factor
        if calls < threshold:
            return None
        return Finding(
            ("unexpected_api_call_volume",),
            self.name,
            round(calls / max(peak, 1.0), 2),
            {"calls_per_hour": calls, "peak_hour": peak, "threshold": threshold},
            window_s=HOUR_S,
            group="unexpected_api_call_volume",
        )
