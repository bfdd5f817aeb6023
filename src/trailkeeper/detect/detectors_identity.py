"""Identity detectors: where (Tor, IP/ASN, travel), which session and which client an actor uses.

Pure functions of an observation and the state before it is learned; no I/O. Each returns a
`Finding` with Slack's reason codes and details keys, or None.
"""

from __future__ import annotations

from trailkeeper.detect.observation import Finding
from trailkeeper.detect.sessions import fingerprint_changed, unexplained_move
from trailkeeper.detect.state import LastLogin, SessionBinding, country_key, haversine_km
from trailkeeper.detect.tuning import Check


class TorExitDetector:
    """`tor`: the address is on the operator's Tor exit list (users and apps)."""

    name = "TorExitDetector"
    primary = "tor"

    def __call__(self, c: Check) -> Finding | None:
        if not c.obs.ip_info.is_tor or not c.obs.context_is_actors:
            return None
        return Finding(
            ("tor",),
            self.name,
            1.0,
            {"list": "tor_exits"},
            app_entity=c.obs.is_app,
            intrinsic=True,
        )


def is_ioc(c: Check) -> bool:
    """On the operator's IOC list, or auto-listed for spraying in the last day."""
    info, obs = c.obs.ip_info, c.obs
    return info.in_ioc or c.org.ioc_until.get(obs.ip, 0.0) > obs.ts


def travel_kmh(last: LastLogin | None, c: Check) -> tuple[float, float] | None:
    """(speed km/h, distance km) from the last login, when both ends are trustworthy."""
    info, p = c.obs.ip_info, c.params
    if last is None or last.anonymous or info.lat is None or info.lon is None:
        return None
    if info.is_cloud or info.is_vpn or info.is_tor or c.obs.ts - last.ts > p.travel_window_s:
        return None
    km = haversine_km(last.lat, last.lon, info.lat, info.lon)
    slack = (info.accuracy_km or 0) + 100.0  # geo-IP error: accuracy radii plus 100 km
    if km < p.travel_min_km or km < slack:
        return None
    hours = max(c.obs.ts - last.ts, 60.0) / 3600.0
    return km / hours, km


def _in_known_session(c: Check) -> bool:
    """Is this a session the actor already used (a device moving between networks, not a new
    sign-in)?"""
    sid = c.obs.session_id
    return sid is not None and c.actor.session(sid) is not None


class IpAddressDetector:
    """`ip_address` (+`asn`): an address unexpected for this actor's token.

    Always: on an IOC list (`in-ioc-list`) or in a suspicious ASN (`asn`). Once the actor has a
    baseline, for an ASN new to it: a cloud ASN for an actor who does not use clouds
    (`cloud-asn`), a sign-in through a VPN or relay the actor did not use in 30 days, or a new
    country that is rare in the organization reached with a new client or at impossible speed
    (`new-asn`).
    """

    name = "IpAddressDetector"
    primary = "ip_address"

    def __call__(self, c: Check) -> Finding | None:
        info = c.obs.ip_info
        if not c.obs.context_is_actors:
            return None
        if is_ioc(c):
            return self._finding(c, ("ip_address",), ["in-ioc-list"], 1.0, intrinsic=True)
        if info.asn_suspicious:
            return self._finding(c, ("asn", "ip_address"), [], 1.0, intrinsic=True)
        if not info.asn or not c.warmed:
            return None
        if c.actor.asns.seen_within(info.asn, c.obs.ts, c.params.recent_s):
            return None
        return self._new_asn(c)

    def _new_asn(self, c: Check) -> Finding | None:
        info, actor, now, recent = c.obs.ip_info, c.actor, c.obs.ts, c.params.recent_s
        if info.is_cloud and now - actor.cloud_ts > recent:
            return self._finding(c, ("ip_address",), ["cloud-asn", "new-asn"], 3.0)
        if info.is_vpn and not _in_known_session(c):
            return self._finding(c, ("ip_address",), ["new-asn"], 2.0, vpn=1.0)
        new_country = bool(info.country) and not actor.countries.seen_within(
            country_key(info.country), now, recent
        )
        if not new_country:
            return None
        rare = c.org.share_of_actors("country", country_key(info.country))
        speed = travel_kmh(actor.last_login, c)
        new_client = actor.clients.last_seen(c.obs.client.key) is None
        if speed is not None and speed[0] > c.params.travel_kmh:
            return self._finding(
                c, ("ip_address",), ["new-asn"], 2.0, travel_kmh=speed[0], distance_km=speed[1]
            )
        threshold = c.params.rare_country_share / c.factor
        if rare < threshold and (new_client or c.factor <= 0.5 or info.is_vpn):
            return self._finding(c, ("ip_address",), ["new-asn"], 2.0, org_share=rare)
        return None

    def _finding(
        self,
        c: Check,
        reasons: tuple[str, ...],
        ip_details: list[str],
        score: float,
        *,
        intrinsic: bool = False,
        **baseline: float,
    ) -> Finding:
        details = {"ip_address_details": ip_details} if ip_details else {}
        known = len(c.actor.asns)
        return Finding(
            reasons,
            self.name,
            score,
            {"known_asns": known, "asn": c.obs.ip_info.asn, **baseline},
            window_s=int(c.params.recent_s),
            details=details,
            app_entity=c.obs.is_app,
            intrinsic=intrinsic,
        )


def _previous(binding: SessionBinding, ip: str, ua: str) -> tuple[str, str]:
    """Slack's previous_ip_address/previous_ua: the session's other values, blank if none."""
    prev_ip = binding.ip if binding.ip != ip else binding.prev_ip
    prev_ua = binding.ua if binding.ua != ua else binding.prev_ua
    return prev_ip, prev_ua


class SessionFingerprintDetector:
    """`session_fingerprint`: a session moves to another country or client, is used from two
    ASNs at once, carries another client fingerprint, or reappears elsewhere when stale."""

    name = "SessionFingerprintDetector"
    primary = "session_fingerprint"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if obs.session_id is None or obs.is_app or not obs.context_is_actors:
            return None
        binding = c.actor.session(obs.session_id)
        if binding is None:
            return None
        why = self._why(c, binding)
        if why is None:
            return None
        prev_ip, prev_ua = _previous(binding, obs.ip, obs.ua)
        return Finding(
            ("session_fingerprint",),
            self.name,
            1.0,
            {
                "change": why,
                "bound_asn": int(binding.asn),
                "session_age_s": int(obs.ts - binding.first_ts),
            },
            window_s=int(c.params.session_concurrency_s),
            previous_ip=prev_ip,
            previous_ua=prev_ua,
        )

    def _why(self, c: Check, b: SessionBinding) -> str | None:
        obs, p = c.obs, c.params
        if fingerprint_changed(b, obs):
            return "fingerprint"
        if obs.ua and b.client and obs.client.key != b.client and obs.client.kind != "empty":
            return "client"
        asn = obs.ip_info.asn or 0
        if not asn or not b.asn or asn == b.asn:
            return None
        moved = unexplained_move(b, obs, c.actor, p)
        if moved is not None:
            return moved
        if _is_concurrent(b, asn, obs.ts, p.session_concurrency_s):
            return "concurrent"
        if obs.ts - b.first_ts > p.session_max_age_s:
            return "stale"
        return None


def _is_concurrent(b: SessionBinding, asn: int, now: float, window_s: float) -> bool:
    """Back on the ASN the session left, and both switches within the window: used from two
    networks at once (a switch back after a night elsewhere is a move, not concurrency)."""
    return b.alt_asn == asn and now - b.alt_ts <= window_s and b.alt_ts - b.alt_last <= window_s


def _downgrade(c: Check) -> bool:
    client, p = c.obs.client, c.params
    best = c.actor.versions.best(client.key)
    if best is None or c.actor.uas.last_seen(client.ua_key) is not None:
        return False
    major, minor = divmod(int(best), 1000)
    if client.kind in ("slack-desktop", "slack-mobile"):
        floor = (major, minor - p.downgrade_slack_minors + 1)
        return (client.version[0], client.version[1]) < floor
    return client.version[0] <= major - p.downgrade_majors


class UserAgentDetector:
    """`user_agent`: a version downgrade of the same client; with `unexpected_user_agent`: a
    script or SDK agent on a person's token that never used one."""

    name = "UserAgentDetector"
    primary = "user_agent"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if obs.is_app or not obs.ua or not obs.context_is_actors:
            return None
        if obs.client.is_script and c.warmed and not _uses_scripts(c):
            return self._finding(c, ("unexpected_user_agent", "user_agent"), "script-agent", 2.0)
        if obs.client.is_interactive and c.warmed and _downgrade(c):
            return self._finding(c, ("user_agent",), "version-downgrade", 1.0)
        return None

    def _finding(self, c: Check, reasons: tuple[str, ...], kind: str, score: float) -> Finding:
        return Finding(
            reasons,
            self.name,
            score,
            {"known_clients": len(c.actor.clients), "client": c.obs.client.family},
            window_s=int(c.params.recent_s),
            details={"user_agent_change_details": [kind]},
        )


def _uses_scripts(c: Check) -> bool:
    """Has this actor used this very script client before (a service account, say)?"""
    return c.actor.clients.last_seen(c.obs.client.key) is not None


class UnexpectedClientDetector:
    """`unexpected_client`: a client family new to the actor and rare in the organization;
    with `spoofed_user_agent` when the client fingerprint belongs to another client."""

    name = "UnexpectedClientDetector"
    primary = "unexpected_client"

    def __call__(self, c: Check) -> Finding | None:
        obs = c.obs
        if obs.is_app or obs.client.kind in ("empty",) or not obs.context_is_actors:
            return None
        spoofed = self._spoofed(c)
        if spoofed:
            return self._finding(c, ("spoofed_user_agent", "unexpected_client"), 2.0)
        if not c.warmed or c.actor.clients.last_seen(obs.client.key) is not None:
            return None
        share = c.org.share_of_actors("client", obs.client.key)
        if share >= c.params.rare_client_share / c.factor:
            return None
        return self._finding(c, ("unexpected_client",), 1.0, org_share=share)

    def _spoofed(self, c: Check) -> bool:
        fingerprint = c.obs.fingerprint
        owner = c.org.fingerprints.get(fingerprint) if fingerprint else None
        return owner is not None and owner != c.obs.client.key

    def _finding(self, c: Check, reasons: tuple[str, ...], score: float, **extra: float) -> Finding:
        details = {"detected_client": c.obs.client.family or c.obs.client.kind}
        if c.obs.client.os:
            details["detected_os"] = c.obs.client.os
        return Finding(
            reasons,
            self.name,
            score,
            {"known_clients": len(c.actor.clients), **extra},
            window_s=int(c.params.recent_s),
            details=details,
        )
