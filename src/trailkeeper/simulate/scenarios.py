"""The eight attack scenarios of spec §3.2 (builders: an `Attack`, a tier, a start, an anchor
event in the victim's live session) and the planner that injects them into a stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from trailkeeper.simulate.attacks import (
    BROAD_SCOPES,
    CHAIN_ACTIONS,
    SCENARIOS,
    TIERS,
    Attack,
    Campaign,
    Origin,
    attacker_ctx,
    current_release,
    home_ip,
    off_hours,
    origin,
    pick_variant,
    purge_calls,
    scraper_calls,
    spread,
)
from trailkeeper.simulate.behaviour import Behaviour, login_act
from trailkeeper.simulate.clients import (
    ODD_UAS,
    SCRIPT_UAS,
    TOR_BROWSER_UA,
    fingerprint,
    user_agent,
)
from trailkeeper.simulate.population import DAY, HOUR, Person
from trailkeeper.simulate.records import JSON, Act, Ctx, user_entity

Outcome = tuple[dict[str, str], tuple[str, ...]]


@dataclass(frozen=True)
class Scene:
    """What a builder gets besides the attack: tier, start, an anchor event, other accounts."""

    tier: str
    t0: int
    anchor: JSON
    others: Sequence[Person]


def _anchor_ctx(att: Attack, anchor: JSON, ua: str | None = None, ja4: str | None = None) -> Ctx:
    c = anchor["context"]
    return Ctx(ua or c["ua"], c["ip_address"], c["session_id"], att.victim.team, ja4)


def _start(scene: Scene) -> int:
    """Targeted attackers act in the victim's hours; others whenever they like."""
    return int(scene.anchor["date_create"]) if scene.tier == "targeted" else scene.t0


def _follow_on(att: Attack, ctx: Ctx, t0: int, k: float) -> None:
    """Recon then downloads of k x the victim's daily mean within the hour."""
    att.recon(t0 + 60, ctx, att.rng.randint(1, 2))
    n = max(2, round(k * max(att.victim.downloads_mean, 2.0)))
    att.downloads(ctx, (t0 + 300, t0 + 300 + HOUR), n)


def s1_credential_theft(att: Attack, scene: Scene) -> Outcome:
    """A stolen password used from the attacker's network, then recon and downloads."""
    t0 = _start(scene)
    org = origin(att, scene.tier, t0)
    ctx = attacker_ctx(att, org, att.new_sid())
    att.login(t0, att.victim, ctx, failures=att.rng.randint(0, 2) if scene.tier == "naive" else 0)
    k = pick_variant(att.rng, ("0.5", "3", "10"))
    _follow_on(att, ctx, t0, float(k))
    return {"exfil_k": k}, ()


def s2_tor(att: Attack, scene: Scene) -> Outcome:
    """Credential theft through a Tor exit."""
    t0 = _start(scene)
    base = origin(att, scene.tier, t0)
    ua = {"naive": base.ua, "vpn": TOR_BROWSER_UA}.get(scene.tier, att.victim.devices[0].ua(t0))
    org = Origin(
        [], ua, fingerprint("firefox", "windows", 40), att.rng.choice(att.beh.world.tor_exits)
    )
    ctx = attacker_ctx(att, org, att.new_sid())
    att.login(t0, att.victim, ctx)
    k = pick_variant(att.rng, ("0.5", "3"))
    _follow_on(att, ctx, t0, float(k))
    return {"exfil_k": k}, ()


def s3_session_hijack(att: Attack, scene: Scene) -> Outcome:
    """The victim's live session replayed from the attacker's network, concurrently."""
    rng, tier = att.rng, scene.tier
    t0 = int(scene.anchor["date_create"]) + rng.randint(60, 1800)
    org = origin(att, tier, t0)
    victim_ua = str(scene.anchor["context"]["ua"])
    ua = rng.choice((*ODD_UAS, user_agent("chrome", "linux", current_release(t0))))
    if tier != "naive":
        ua = victim_ua
    fp = "absent" if tier == "targeted" and rng.random() < 0.5 else "supplied"
    ja4 = org.ja4 if fp == "supplied" else None
    c = scene.anchor["context"]
    ctx = Ctx(ua, org.ip(rng), c["session_id"], att.victim.team, ja4)
    t1 = t0 + int(rng.uniform(0.5, 3) * HOUR)
    att.downloads(ctx, (t0, t1), rng.randint(5, 25), "hijack")
    for h in range(t0, t1, HOUR):
        reads = [(t, rng.randint(2, 15)) for t in att.conversations(rng.randint(5, 30))]
        att.usage(h, ctx, ({"client.counts": rng.randint(50, 200)}, reads), "hijack")
    network = {"naive": "foreign", "vpn": "same-country"}.get(tier, "same-city")
    return {
        "network": network,
        "ua": "identical" if ua == victim_ua else "different",
        "fingerprint": fp,
    }, ()


def s4_mass_download(att: Attack, scene: Scene) -> Outcome:
    """k x the victim's daily downloads in one hour, or a slow 2x/day for a week."""
    rng, t0 = att.rng, _start(scene)
    mode = pick_variant(rng, ("3", "10", "30", "slow"))
    if scene.tier == "targeted":
        ctx = _anchor_ctx(att, scene.anchor)
    else:
        ctx = attacker_ctx(att, origin(att, scene.tier, t0), att.new_sid())
        att.login(t0, att.victim, ctx)
    base = max(att.victim.downloads_mean, 1.0)
    if mode == "slow":
        for day in range(7):
            start = t0 + day * DAY
            att.downloads(ctx, (start, start + 8 * HOUR), max(2, round(2 * base)))
    else:
        att.downloads(ctx, (t0 + 60, t0 + HOUR), max(3, round(float(mode) * base)))
    return {"k": mode}, ()


def s5_scraping(att: Attack, scene: Scene) -> Outcome:
    """History pagination across many conversations by a script (plain or spoofing a browser)."""
    rng, t0, tier = att.rng, _start(scene), scene.tier
    mode = pick_variant(rng, ("script", "spoofed"))
    tool = rng.choice(SCRIPT_UAS)
    if tier == "targeted":  # malware replaying the victim's own session from the victim's host
        c = scene.anchor["context"]
        ua = tool if mode == "script" else str(c["ua"])
        ctx = Ctx(
            ua,
            home_ip(att.victim, t0) if rng.random() < 0.5 else c["ip_address"],
            c["session_id"],
            att.victim.team,
        )
    else:
        org = origin(att, tier, t0, script=mode == "script")
        ua = org.ua if mode == "script" else user_agent("chrome", "windows", current_release(t0))
        ctx = Ctx(ua, org.ip(rng), None, att.victim.team)
    ctx = Ctx(ctx.ua, ctx.ip, ctx.sid, ctx.team, fingerprint("script", tool, 0))
    hours = rng.randint(1, 6)
    for h in range(hours):
        att.usage(t0 + h * HOUR, ctx, scraper_calls(att), "scrape")
    att.downloads(ctx, (t0, t0 + hours * HOUR), rng.randint(10, 60), "scrape")
    return {"mode": mode}, ()


def _chain_act(att: Attack, action: str, controlled: Person) -> Act:
    """One step of an escalation chain with its entity and details."""
    if action == "app_installed":
        app_id = f"A0EVIL{att.rng.randrange(999):03d}"
        app = {"id": app_id, "name": "Backup Sync Pro", "scopes": BROAD_SCOPES}
        return Act(action, {"type": "app", "app": app}, {"scopes": BROAD_SCOPES})
    if action == "user_anomaly_event_response_allowlist_changed":
        return Act(action, user_entity(controlled), org_wide=True)
    values = {
        "pref.sso_setting_changed": ("required", "optional"),
        "pref.two_factor_auth_changed": ("required", "optional"),
        "pref.session_duration_changed": ("14", "365"),
        "pref.anomaly_event_response_changed": ("tor,scraping", "none"),
    }
    before, after = values.get(action, ("", ""))
    details = {"previous_value": before, "new_value": after} if before else None
    return Act(action, att.beh.em.enterprise_entity(), details, org_wide=True)


def s6_admin_escalation(att: Attack, scene: Scene) -> Outcome:
    """A compromised admin promotes a controlled account, which weakens security settings."""
    rng, tier, victim = att.rng, scene.tier, att.victim
    controlled = scene.others[0]
    t0 = _start(scene) if tier == "targeted" else off_hours(victim, scene.t0, rng)
    org = origin(att, tier, t0)
    ctx = attacker_ctx(att, org, att.new_sid())
    att.login(t0, victim, ctx)
    role = "role_change_to_owner" if rng.random() < 0.3 else "role_change_to_admin"
    t = t0 + rng.randint(120, 1200)
    att.event(t, victim, ctx, Act(role, user_entity(controlled), org_wide=True), "escalation")
    t = t + rng.randint(600, 14 * HOUR)  # with <= 4 steps of <= 2 h: all within 24 h (§3.2)
    ctx2 = Ctx(ctx.ua, org.ip(rng), att.new_sid(), controlled.team, ctx.ja4)
    att.login(t, controlled, ctx2)
    for action in rng.sample(CHAIN_ACTIONS, rng.randint(2, 4)):
        t += rng.randint(60, 2 * HOUR)
        att.event(t, controlled, ctx2, _chain_act(att, action, controlled), "persistence")
    return {"role": role}, (controlled.id,)


def _spray_origin(att: Attack, tier: str, t0: int) -> tuple[Origin, list[str], int]:
    rng, world, victim = att.rng, att.beh.world, att.victim
    if tier == "naive":
        org = origin(att, "naive", t0, script=True)
        return org, [org.ip(rng) for _ in range(rng.randint(1, 2))], rng.randint(600, 1800)
    ua = user_agent("chrome", "windows", current_release(t0))
    ja4 = fingerprint("script", "python-requests", 0)
    if tier == "vpn":
        nets = world.networks_of("vpn", victim.home.country)
        ips, dur = (
            [rng.choice(nets).pick(rng) for _ in range(rng.randint(5, 10))],
            rng.randint(1, 3) * HOUR,
        )
    else:  # residential proxies all over the victim's country, low and slow
        nets = [n for n in world.networks_of("residential", victim.home.country) if n.version == 4]
        ips, dur = (
            [rng.choice(nets).pick(rng) for _ in range(rng.randint(20, 50))],
            rng.randint(6, 24) * HOUR,
        )
    return Origin(nets, ua, ja4), ips, dur


def s7_spray(att: Attack, scene: Scene) -> Outcome:
    """Password spraying across many accounts from few networks, then one success."""
    rng, t0 = att.rng, scene.t0
    org, ips, duration = _spray_origin(att, scene.tier, t0)
    targets = [*scene.others, att.victim]
    for who in targets:
        for ts in spread(rng, t0, t0 + duration, rng.randint(1, 3)):
            failed = Ctx(org.ua, rng.choice(ips), None, who.team, org.ja4)
            att.event(ts, who, failed, login_act(who, "password", True), "spray")
    t1 = t0 + duration + rng.randint(60, 600)
    ctx = Ctx(org.ua, rng.choice(ips), att.new_sid(), att.victim.team, org.ja4)
    att.login(t1, att.victim, ctx)
    att.downloads(ctx, (t1 + 60, t1 + HOUR), rng.randint(3, 10), "post-access")
    return {"targets": str(len(targets)), "ips": str(len(ips))}, tuple(p.id for p in scene.others)


def s8_message_purge(att: Attack, scene: Scene) -> Outcome:
    """After a takeover, the attacker deletes many of the victim's messages."""
    rng, t0 = att.rng, _start(scene)
    ctx = attacker_ctx(att, origin(att, scene.tier, t0), att.new_sid())
    att.login(t0, att.victim, ctx)
    for h in range(rng.randint(1, 2)):
        att.usage(t0 + 120 + h * HOUR, ctx, purge_calls(att), "impact")
    for ts in spread(rng, t0 + 120, t0 + HOUR, rng.randint(3, 12)):
        act = Act("file_deleted", att.beh.em.file_entity(rng, att.victim.team))
        att.event(ts, att.victim, ctx, act, "impact")
    return {}, ()


BUILDERS: Mapping[str, Callable[[Attack, Scene], Outcome]] = {
    "S1": s1_credential_theft,
    "S2": s2_tor,
    "S3": s3_session_hijack,
    "S4": s4_mass_download,
    "S5": s5_scraping,
    "S6": s6_admin_escalation,
    "S7": s7_spray,
    "S8": s8_message_purge,
}


def _anchors(beh: Behaviour, lo: int, hi: int) -> dict[str, list[JSON]]:
    """Each account's desktop/browser events in [lo, hi): moments inside live sessions."""
    found: dict[str, list[JSON]] = {}
    for e in beh.em.events:
        ctx = e["context"]
        if (
            lo <= e["date_create"] < hi
            and ctx["session_id"]
            and not str(ctx["ua"]).startswith("com.")
        ):
            found.setdefault(e["actor"]["user"]["id"], []).append(e)
    return found


@dataclass
class _Cast:
    """Who may be attacked: established accounts with activity in the scored window."""

    members: list[Person]
    admins: list[Person]
    used: set[str]

    def take(self, rng: random.Random, admins: bool = False) -> Person:
        pool = [p for p in (self.admins if admins else self.members) if p.id not in self.used]
        if not pool:
            raise ValueError("too few eligible accounts for the campaigns; add users")
        chosen = rng.choice(pool)
        self.used.add(chosen.id)
        return chosen


@dataclass
class _Planner:
    """Chooses victims, accomplices and start times; runs the builders."""

    beh: Behaviour
    cast: _Cast
    anchors: dict[str, list[JSON]]
    scored_start: int
    rng: random.Random

    def campaign(self, cid: str, scenario: str, tier: str) -> Campaign | None:
        """Inject one campaign (None if all of it fell outside the simulated span)."""
        rng, cast = self.rng, self.cast
        victim = cast.take(rng, admins=scenario == "S6")
        others: list[Person] = []
        if scenario == "S6":
            others = [cast.take(rng)]
        elif scenario == "S7":
            pool = [p for p in cast.members if p.id not in cast.used]
            others = rng.sample(pool, min(len(pool), rng.randint(30, 120)))
        att = Attack(self.beh, random.Random(f"trailkeeper-sim-{cid}"), cid, scenario, victim)
        t0 = rng.randint(self.scored_start, self.beh.pop.end - 30 * HOUR)
        scene = Scene(tier, t0, rng.choice(self.anchors[victim.id]), others)
        variant, actors = BUILDERS[scenario](att, scene)
        if not att.times:
            return None
        start, end = min(att.times), max(att.times)
        return Campaign(cid, scenario, tier, victim.id, (victim.id, *actors), start, end, variant)


def inject_campaigns(beh: Behaviour, scored_start: int, per_cell: int, seed: int) -> list[Campaign]:
    """Inject `per_cell` campaigns of every scenario and tier into the behaviour's stream."""
    pop = beh.pop
    anchors = _anchors(beh, scored_start, pop.end - 12 * HOUR)
    ok = [
        p
        for p in pop.people
        if p.joined < pop.start and p.left is None and len(anchors.get(p.id, ())) >= 3
    ]
    cast = _Cast([p for p in ok if p.role == "member"], [p for p in ok if p.role == "admin"], set())
    rng = random.Random(f"trailkeeper-sim-attacks-{seed}")
    planner = _Planner(beh, cast, anchors, scored_start, rng)
    campaigns: list[Campaign] = []
    for scenario in SCENARIOS:
        for tier in TIERS:
            for _ in range(per_cell):
                campaign = planner.campaign(f"c{seed}-{len(campaigns):04d}", scenario, tier)
                if campaign is not None:
                    campaigns.append(campaign)
    return campaigns
