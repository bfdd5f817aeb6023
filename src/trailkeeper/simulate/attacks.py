"""Attack campaigns and their building blocks: labelled events and signals from attacker
infrastructure at three tiers after Freeman/Wiefling (spec §3.2): naive (foreign hosting, odd or
script client), VPN (exit in the victim's country), targeted (victim's city and user agent).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from trailkeeper.simulate.behaviour import Behaviour, dm_id, login_act
from trailkeeper.simulate.clients import (
    CADENCE_S,
    EPOCH,
    ODD_UAS,
    SCRIPT_UAS,
    fingerprint,
    script_fingerprint,
    user_agent,
)
from trailkeeper.simulate.geography import ATTACK_COUNTRIES
from trailkeeper.simulate.population import DAY, HOUR, Person
from trailkeeper.simulate.presence import lease_at, local_hour
from trailkeeper.simulate.records import Act, Ctx, Label, Usage, file_url
from trailkeeper.simulate.world import Network

SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")
TIERS = ("naive", "vpn", "targeted")
SCENARIO_NAMES = {
    "S1": "credential theft",
    "S2": "Tor",
    "S3": "session hijack",
    "S4": "mass download",
    "S5": "scraping",
    "S6": "admin escalation",
    "S7": "spray / stuffing",
    "S8": "message purge",
}
EXPECTED_REASONS: Mapping[str, frozenset[str]] = {
    "S1": frozenset(
        {
            "ip_address",
            "asn",
            "user_agent",
            "unexpected_user_agent",
            "unexpected_client",
            "spoofed_user_agent",
            "excessive_downloads",
            "unexpected_api_call_volume",
            "unexpected_scraping",
        }
    ),
    "S2": frozenset({"tor"}),
    "S3": frozenset(
        {"session_fingerprint", "ip_address", "spoofed_user_agent", "unexpected_client"}
    ),
    "S4": frozenset({"excessive_downloads"}),
    "S5": frozenset(
        {
            "unexpected_scraping",
            "unexpected_api_call_volume",
            "unexpected_user_agent",
            "user_agent",
            "spoofed_user_agent",
            "unexpected_client",
        }
    ),
    "S6": frozenset({"unexpected_admin_action"}),
    "S7": frozenset({"ip_address", "unexpected_credential_testing"}),
    "S8": frozenset({"unexpected_message_deletion"}),
}
CHAIN_ACTIONS = (
    "pref.sso_setting_changed",
    "pref.two_factor_auth_changed",
    "pref.session_duration_changed",
    "corporate_exports_enabled",
    "manual_export_started",
    "app_installed",
    "user_anomaly_event_response_allowlist_changed",
    "pref.anomaly_event_response_changed",
)
BROAD_SCOPES = ["channels:history", "groups:history", "im:history", "files:read", "users:read"]


@dataclass(frozen=True)
class Campaign:
    """One labelled attack: who, what, when, and the variant parameters that slice the metrics."""

    id: str
    scenario: str
    tier: str
    victim: str
    actors: tuple[str, ...]
    start: int
    end: int
    variant: Mapping[str, str] = field(default_factory=dict)

    @property
    def expected_reasons(self) -> frozenset[str]:
        """The reasons a detector is expected to give for this scenario (spec §3.2 table)."""
        return EXPECTED_REASONS[self.scenario]


@dataclass
class Origin:
    """Where an attacker acts from: a network, an address picker, a UA and a fingerprint."""

    nets: list[Network]
    ua: str
    ja4: str | None
    fixed_ip: str | None = None

    def ip(self, rng: random.Random) -> str:
        """An address of the attacker's infrastructure."""
        return self.fixed_ip or rng.choice(self.nets).pick(rng)


@dataclass
class Attack:
    """Builds one campaign's events and signals into the shared behaviour's emitter."""

    beh: Behaviour
    rng: random.Random
    cid: str
    scenario: str
    victim: Person
    times: list[int] = field(default_factory=list)

    def label(self, phase: str) -> Label:
        """The label of this campaign's events in a phase."""
        return Label(self.cid, self.scenario, phase)

    def event(self, ts: int, who: Person, ctx: Ctx, act: Act, phase: str = "access") -> None:
        """Emit a labelled event (dropped when outside the span)."""
        if self.beh.emit(self.rng, ts, who, ctx, act, label=self.label(phase)) is not None:
            self.times.append(ts)

    def usage(self, ts: int, ctx: Ctx, calls: Usage, phase: str) -> None:
        """An hour of the attacker's API use from `ts`, as labelled signals."""
        if self.beh.pop.start <= ts and ts + HOUR <= self.beh.pop.end:
            ids = self.beh.em.usage(self.rng, (ts, HOUR), self.victim, ctx, calls)
            self.beh.em.label(ids, self.label(phase))
            self.times += [
                int(s["date"]) for s in self.beh.em.signals[len(self.beh.em.signals) - len(ids) :]
            ]

    def conversations(self, n: int) -> list[str]:
        """`n` distinct conversations across the organization (channels, then DMs)."""
        channels = [str(c["id"]) for chans in self.beh.em.channels.values() for c in chans]
        dms = [dm_id(self.victim.id, k) for k in range(max(0, n - len(channels)))]
        pool = channels + dms
        return self.rng.sample(pool, min(n, len(pool)))

    def new_sid(self) -> int:
        """A fresh session id for an attacker's login."""
        return 10**12 + self.rng.randrange(9 * 10**12)

    def login(self, ts: int, who: Person, ctx: Ctx, failures: int = 0) -> None:
        """The attacker's successful login (after some failures)."""
        failed = Ctx(ctx.ua, ctx.ip, None, ctx.team)
        for k in range(failures):
            self.event(ts - 20 * (k + 1), who, failed, login_act(who, "password", True))
        self.event(ts, who, ctx, login_act(who, "password"))

    def downloads(self, ctx: Ctx, window: tuple[int, int], n: int, phase: str = "exfil") -> None:
        """`n` of the victim's file downloads spread over `window` = (t0, t1)."""
        team = self.victim.team
        for ts in sorted(self.rng.randint(window[0], max(window)) for _ in range(n)):
            entity = self.beh.em.file_entity(self.rng, team)
            act = Act("file_downloaded", entity, {"url_private": file_url(team, entity["file"])})
            self.event(ts, self.victim, ctx, act, phase)

    def recon(self, ts: int, ctx: Ctx, hours: int) -> None:
        """Hourly API use of an attacker exploring the workspace: search, lists, many reads."""
        for h in range(hours):
            rng = self.rng
            methods = {"search.messages": rng.randint(20, 200), "users.list": rng.randint(1, 10)}
            reads = [(t, rng.randint(3, 20)) for t in self.conversations(rng.randint(15, 80))]
            self.usage(ts + h * HOUR, ctx, (methods, reads), "recon")


def current_release(ts: int) -> int:
    """The newest browser release at `ts` (what a fresh attacker install runs)."""
    return max(0, (ts - EPOCH) // CADENCE_S)


def origin(att: Attack, tier: str, ts: int, *, script: bool = False) -> Origin:
    """The attacker's infrastructure and client for a tier (spec §3.2 attacker models)."""
    rng, world, victim = att.rng, att.beh.world, att.victim
    if tier == "naive":
        country = rng.choice(ATTACK_COUNTRIES).iso
        nets = world.networks_of("hosting", country)
        ua = rng.choice(SCRIPT_UAS) if script or rng.random() < 0.5 else rng.choice(ODD_UAS)
        net = rng.choice(nets)
        ioc = rng.random() < 0.5  # half of naive attackers reuse known-bad infrastructure
        ip = str(net.pick(rng) if not ioc else _first_hosts(net, rng))
        ja4 = script_fingerprint(ua) if ua in SCRIPT_UAS else fingerprint("firefox", "linux", 30)
        return Origin(nets, ua, ja4, ip)
    release = current_release(ts)
    if tier == "vpn":
        nets = world.networks_of("vpn", victim.home.country)
        ua = rng.choice(SCRIPT_UAS) if script else user_agent("chrome", "windows", release)
        ja4 = script_fingerprint(ua) if script else fingerprint("chrome", "windows", release // 3)
        return Origin([rng.choice(nets)], ua, ja4)
    nets = world.networks_of("residential", victim.home.country, victim.home.name)
    nets = [n for n in nets if n.version == 4]
    ua = rng.choice(SCRIPT_UAS) if script else victim.devices[0].ua(ts)
    ja4 = script_fingerprint(ua) if script else fingerprint("chrome", "linux", release // 3 + 7)
    return Origin([rng.choice(nets)], ua, ja4)


def _first_hosts(net: Network, rng: random.Random) -> str:
    """An address inside the block's first /26 (the IOC-listed part)."""
    return str(IPv4Address(net.first + rng.randint(1, 62)))


def attacker_ctx(att: Attack, org: Origin, sid: int | None, who: Person | None = None) -> Ctx:
    """A context on the attacker's infrastructure."""
    return Ctx(org.ua, org.ip(att.rng), sid, (who or att.victim).team, org.ja4)


def off_hours(p: Person, ts: int, rng: random.Random) -> int:
    """A moment of the victim's local night (01:00-05:00) on or after `ts`'s day."""
    day_start = ts - int(local_hour(p, ts) * HOUR)
    moment = day_start + int(rng.uniform(1, 5) * HOUR)
    return moment if moment >= ts else moment + DAY


def home_ip(p: Person, ts: int) -> str:
    """The victim's home address at `ts` (malware on the victim's own machine uses it)."""
    return lease_at(p, ts).v4


def pick_variant(rng: random.Random, options: Sequence[str]) -> str:
    """One of the variant values."""
    return rng.choice(list(options))


def spread(rng: random.Random, t0: int, t1: int, n: int) -> list[int]:
    """`n` sorted moments in [t0, t1]."""
    return sorted(rng.randint(t0, max(t0, t1)) for _ in range(n))


def scraper_calls(att: Attack) -> Usage:
    """An hour of a scraper: pagination through hundreds of conversations, lists, no UI."""
    rng = att.rng
    methods = {
        "conversations.list": rng.randint(5, 40),
        "users.list": rng.randint(1, 5),
        "files.list": rng.randint(10, 200),
    }
    reads = [(t, rng.randint(2, 30)) for t in att.conversations(rng.randint(100, 600))]
    return methods, reads


def purge_calls(att: Attack) -> Usage:
    """An hour of a purge: many chat.delete calls and the history reads that find messages."""
    rng = att.rng
    reads = [(t, rng.randint(2, 10)) for t in att.conversations(rng.randint(5, 40))]
    return {"chat.delete": rng.randint(100, 600)}, reads
