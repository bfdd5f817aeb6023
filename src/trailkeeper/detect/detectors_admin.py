"""Administrator and app-credential detectors: escalation chains, odd admin actions, and app
tokens tested from networks the app never used. Pure functions of observation and state.
"""

from __future__ import annotations

from trailkeeper.detect.activity import CREDENTIAL_TEST_METHODS, HIGH_IMPACT, is_admin_action
from trailkeeper.detect.clients import stable_key
from trailkeeper.detect.observation import Finding
from trailkeeper.detect.state import HOUR_S
from trailkeeper.detect.tuning import Check


def admin_signals(c: Check) -> dict[str, bool]:
    """The independent hints that an admin action is not the admin's own routine."""
    obs, actor, p = c.obs, c.actor, c.params
    info = obs.ip_info
    key = stable_key(obs.action)
    known_type = actor.admin_types is not None and actor.admin_types.last_seen(key) is not None
    burst = actor.rates.get("admin_high")
    return {
        "new_type_rare_in_org": not known_type and c.org.admin_types.get(key, 0.0) < 2.0,
        "off_hours": actor.events >= p.admin_min_events
        and actor.hour_share(obs.ts) < p.off_hours_share,
        "flagged_session": obs.ts - actor.flagged_ts <= p.flag_window_s,
        "new_network": bool(info.asn)
        and actor.events >= p.min_events
        and not actor.asns.seen_within(info.asn or 0, obs.ts, p.recent_s),
        "cloud_network": info.is_cloud and obs.ts - actor.cloud_ts > p.recent_s,
        "burst": burst is not None and burst.hour_count(obs.ts) >= 5,
    }


class AdminActionDetector:
    """`unexpected_admin_action`: an escalation chain (promoted, then high-impact changes within
    a day), or a high-impact action with at least two independent hints (off hours, new
    network, a flagged session, an action type new to the admin and rare in the organization,
    a burst)."""

    name = "AdminActionDetector"
    primary = "unexpected_admin_action"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if obs.is_app or obs.is_signal or not is_admin_action(obs.action):
            return None
        promoted = c.actor.promoted
        high = obs.action in HIGH_IMPACT
        if high and promoted and obs.ts - promoted[0] <= c.params.promotion_window_s:
            return self._finding(c, 3.0, {"chain": True, "promoted_by": promoted[1]})
        hints = admin_signals(c)
        score = float(sum(hints.values()))
        needed = c.params.admin_min_score * c.factor + (0.0 if high else 1.0)
        if score < max(needed, 1.0):
            return None
        return self._finding(c, score, {k: v for k, v in hints.items() if v})

    def _finding(self, c: Check, score: float, baseline: dict[str, object]) -> Finding:
        return Finding(
            ("unexpected_admin_action",),
            self.name,
            score,
            {"action": c.obs.action, **baseline},
            window_s=int(c.params.flag_window_s),
            group="unexpected_admin_action",
        )


class CredentialTestingDetector:
    """`unexpected_credential_testing` (apps): an app's token checked (auth.test and kin) or
    used from a network the app has never used, or from Tor, an IOC or a spraying address."""

    name = "CredentialTestingDetector"
    primary = "unexpected_credential_testing"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if not obs.is_app or obs.api_method not in CREDENTIAL_TEST_METHODS:
            return None
        info = obs.ip_info
        suspicious = info.is_tor or info.in_ioc or c.org.ioc_until.get(obs.ip, 0.0) > obs.ts
        new_network = (
            bool(info.asn)
            and c.actor.events >= c.params.min_events
            and not c.actor.asns.seen_within(info.asn or 0, obs.ts, c.params.recent_s)
        )
        if not (suspicious or new_network):
            return None
        return Finding(
            ("unexpected_credential_testing",),
            self.name,
            2.0 if suspicious else 1.0,
            {"method": obs.api_method, "new_network": new_network, "suspicious_ip": suspicious},
            window_s=HOUR_S,
            app_entity=True,
            intrinsic=suspicious,
            group="unexpected_credential_testing",
        )
