"""Normal days with the spec §3.2 benign noise: work rhythms, long-lived roaming sessions, file
activity, sampled API use, legit bulk days, admin routine, joiners and leavers, promotions with
onboarding bursts and service accounts (travel, VPN, churn, upgrades come from `presence`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from trailkeeper.simulate.population import DAY, HOUR, ROUTINE_ADMIN_ACTIONS, Person, Population
from trailkeeper.simulate.presence import Sessions, device_at, digest, ip_at, local_day, place_at
from trailkeeper.simulate.records import JSON, Act, Ctx, Emitter, Label, file_url, user_entity
from trailkeeper.simulate.world import World

SENSITIVE_PREFS = ("pref.session_duration_changed", "pref.two_factor_auth_changed")
API, MOBILE_API = "api", "mobile-api"  # pseudo actions: an hour of API use on a device kind
NO_ENTITY: JSON = {}
Activity = tuple[int, Act]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def negbin(rng: random.Random, mean: float, shape: float = 2.0) -> int:
    """An over-dispersed count: Poisson with a Gamma-distributed mean."""
    return poisson(rng, rng.gammavariate(shape, mean / shape)) if mean > 0 else 0


def hash_index(pid: str) -> int:
    """A stable small number per person (where their channel memberships start)."""
    return digest(pid, "channels") % 1000


def split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` calls spread over `parts` targets (each at least one)."""
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [max(1, b - a) for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def dm_id(pid: str, n: int) -> str:
    """The id of one of a person's direct-message conversations."""
    return f"D0{pid[2:7]}{n:03d}"


def login_act(p: Person, method: str, failed: bool = False) -> Act:
    """A (failed) sign-in of a person."""
    action = "user_login_failed" if failed else "user_login"
    return Act(action, user_entity(p), {"authentication_method": method})


@dataclass(frozen=True)
class BehaviourConfig:
    """Knobs of normal behaviour (spec §3.2 defaults)."""

    legit_bulk_rate: float = 0.01
    # Share of active hours whose API use is reported as signals. Normal use sits far below
    # the volume and breadth floors, so sampling changes no verdict but saves most of the
    # replay time (the pipeline spends ~0.2 ms per signal).
    usage_sample: float = 0.25


@dataclass
class Behaviour:
    """Generates every account's normal activity into an `Emitter`."""

    em: Emitter
    world: World
    pop: Population
    sessions: Sessions
    seed: int
    cfg: BehaviourConfig = field(default_factory=BehaviourConfig)
    logged: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    chores: dict[str, list[Activity]] = field(default_factory=dict)
    _hourly: dict[tuple[str, int, int], Ctx | None] = field(default_factory=dict)

    def ctx(self, p: Person, ts: int, kind: str, rng: random.Random) -> Ctx | None:
        """The person's context on a device kind at `ts`, logging in first if a session is new.

        None when the person cannot act then (in the air without Wi-Fi, or no device at all).
        Contexts are stable within an hour (addresses are), so they are computed once per hour
        and device: a kind without a device of its own falls back to the person's first kind,
        and must then share that device's context (one device, one address at a time).
        """
        index = device_at(p, kind, ts)
        if index is None:
            index = device_at(p, p.devices[0].kind, ts)
        if index is None:
            return None
        key = (p.id, index, ts // HOUR)
        if key not in self._hourly:
            self._hourly[key] = self._compute_ctx(p, ts, index, rng)
        return self._hourly[key]

    def _compute_ctx(self, p: Person, ts: int, index: int, rng: random.Random) -> Ctx | None:
        place, trip = place_at(p, ts)
        if place == "flight" and (trip is None or not trip.inflight):
            return None
        device = p.devices[index]
        epoch, sid = self.sessions.at(p, index, ts)
        ip = ip_at(self.world, p, device, ts)
        ctx = Ctx(device.ua(ts), ip, sid, p.team, device.fingerprint(ts))
        seen = self.logged.setdefault(p.id, set())
        if (index, epoch) not in seen:
            seen.add((index, epoch))
            self._login(p, ts - rng.randint(5, 90), ctx, rng)
        return ctx

    def _login(self, p: Person, ts: int, ctx: Ctx, rng: random.Random) -> None:
        if rng.random() < 0.025:  # a typo or two first
            failed = Ctx(ctx.ua, ctx.ip, None, ctx.team)
            for k in range(rng.randint(1, 2)):
                self.emit(rng, ts - 30 * (k + 1), p, failed, login_act(p, "password", True))
        self.emit(rng, ts, p, ctx, login_act(p, "sso" if rng.random() < 0.9 else "magic_link"))

    def emit(
        self,
        rng: random.Random,
        ts: int,
        p: Person,
        ctx: Ctx,
        act: Act,
        *,
        label: Label | None = None,
    ) -> str | None:
        """Emit an event inside the simulated span (None outside it)."""
        if not self.pop.start <= ts < self.pop.end:
            return None
        return self.em.event(rng, ts, p, ctx, act, label=label)

    def run(self) -> None:
        """Every account's activity over the whole span."""
        self._plan_chores()
        for p in self.pop.people:
            rng = random.Random(f"trailkeeper-sim-days-{self.seed}-{p.id}")
            if p.role == "service":
                self._service(p, rng)
            else:
                self._person(p, rng)

    def _person(self, p: Person, rng: random.Random) -> None:
        lo = max(self.pop.start, p.joined)
        hi = min(self.pop.end, p.left or self.pop.end)
        chores = sorted(self.chores.get(p.id, []), key=lambda a: a[0])
        self._hourly.clear()
        for day in range(local_day(p, lo), local_day(p, hi) + 1):
            midnight = day * DAY - p.tz_s
            todo = self._day(p, day, rng)
            todo += [c for c in chores if midnight <= c[0] < midnight + DAY]
            todo = sorted((a for a in todo if lo <= a[0] < hi), key=lambda a: a[0])
            for ts, act in todo:
                self._do(p, ts, act, rng)

    def _do(self, p: Person, ts: int, act: Act, rng: random.Random) -> None:
        kind = "mobile" if act.action == MOBILE_API else p.devices[0].kind
        if act.action not in (API, MOBILE_API) and rng.random() < 0.05:
            kind = "browser"  # now and then from the browser next to the desktop app
        ctx = self.ctx(p, ts, kind, rng)
        if ctx is None:
            return
        if act.action in (API, MOBILE_API):
            if rng.random() < self.cfg.usage_sample:
                self._signal(p, ts, ctx, rng)
        else:
            self.emit(rng, ts, p, ctx, self._fill(p, act, rng))

    def _window(self, p: Person, day: int, rng: random.Random) -> tuple[int, int] | None:
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday == 0
        midnight = day * DAY - p.tz_s
        if weekday >= 5:
            if rng.random() >= (0.45 if p.weekend_worker else 0.05):
                return None
            start = midnight + int(rng.uniform(10, 15) * HOUR)
            return start, start + int(rng.uniform(0.5, 3) * HOUR)
        if rng.random() >= 0.93:
            return None
        begin = 20.0 if p.night_shift else 8.4 + rng.gauss(0.3, 0.6)
        start = midnight + int(begin * HOUR)
        return start, start + int(rng.uniform(6.5, 9.5) * HOUR)

    def _day(self, p: Person, day: int, rng: random.Random) -> list[Activity]:
        todo: list[Activity] = []
        window = self._window(p, day, rng)
        if window is not None:
            todo += self._work(p, window, rng)
        if any(d.kind == "mobile" for d in p.devices) and rng.random() < 0.35:
            ts = day * DAY - p.tz_s + int(rng.uniform(18.5, 22.5) * HOUR)
            todo.append((ts, Act(MOBILE_API, NO_ENTITY)))
            for _ in range(poisson(rng, 0.4)):
                todo.append((ts + rng.randint(60, 1800), Act("file_downloaded", NO_ENTITY)))
        return todo

    def _fill(self, p: Person, act: Act, rng: random.Random) -> Act:
        """Pick the file or channel of a routine action."""
        if act.entity:
            return act
        if act.action == "user_channel_join":
            return Act(act.action, self.em.channel_entity(rng, p.team))
        entity = self.em.file_entity(rng, p.team)
        url = {"url_private": file_url(p.team, entity["file"])}
        if act.action == "file_shared":
            channel = rng.choice(self.em.channels[p.team])
            shared = {"channel_id": channel["id"], "access_level": "read"}
            return Act(act.action, entity, {**url, "shared_with": shared})
        return Act(act.action, entity, url if act.action == "file_downloaded" else None)

    def _work(self, p: Person, window: tuple[int, int], rng: random.Random) -> list[Activity]:
        start, end = window
        todo: list[Activity] = [(h, Act(API, NO_ENTITY)) for h in range(start, end, HOUR)]
        counts = {
            "file_downloaded": negbin(rng, p.downloads_mean),
            "file_shared": poisson(rng, p.shares_mean),
            "file_uploaded": poisson(rng, p.uploads_mean),
            "user_channel_join": poisson(rng, 0.1),
            "file_public_link_created": poisson(rng, 0.02),
            "file_deleted": poisson(rng, 0.08),
        }
        for action, n in counts.items():
            todo += [(rng.randint(start, end), Act(action, NO_ENTITY)) for _ in range(n)]
        if rng.random() < self.cfg.legit_bulk_rate:
            todo += self._bulk(p, window, rng)
        if p.is_admin:
            todo += self._admin_routine(p, window, rng)
        return todo

    def _bulk(self, p: Person, window: tuple[int, int], rng: random.Random) -> list[Activity]:
        """A legitimate bulk day: 5-20x the usual downloads within one to three hours."""
        n = max(5, round(max(p.downloads_mean, 2.0) * rng.uniform(5, 20)))
        t0 = rng.randint(window[0], max(window[0], window[1] - 3 * HOUR))
        t1 = t0 + int(rng.uniform(1, 3) * HOUR)
        return [(rng.randint(t0, t1), Act("file_downloaded", NO_ENTITY)) for _ in range(n)]

    def _admin_routine(
        self, p: Person, window: tuple[int, int], rng: random.Random
    ) -> list[Activity]:
        acts = [self.admin_act(rng.choice(p.admin_actions), rng) for _ in range(poisson(rng, 1.0))]
        return [(rng.randint(*window), act) for act in acts]

    def admin_act(self, action: str, rng: random.Random) -> Act:
        """A routine admin action with a plausible entity, details and scope."""
        team = rng.choice(list(self.em.locations))
        if action.startswith("pref."):
            details = {"previous_value": "everyone", "new_value": "admins_only"}
            return Act(action, self.em.enterprise_entity(), details, org_wide=True)
        if action in ("public_channel_archive", "channel_renamed"):
            return Act(action, self.em.channel_entity(rng, team))
        if action in ("app_approved", "app_restricted"):
            app_id = f"A0SIM{rng.randrange(40):04d}"
            app = {"id": app_id, "name": "Sim App", "scopes": ["chat:write"]}
            return Act(action, {"type": "app", "app": app})
        if action == "emoji_added":
            details = {"name": f"emoji{rng.randrange(999)}"}
            return Act(action, self.em.workspace_entity(team), details)
        return Act(action, user_entity(rng.choice(self.pop.people)), org_wide=True)

    def _signal(self, p: Person, ts: int, ctx: Ctx, rng: random.Random) -> None:
        """An hour of an interactive client's API use: housekeeping, posts, a few reads."""
        mobile = ctx.ua.startswith("com.")
        calls = poisson(rng, p.api_rate * (0.3 if mobile else 1.0))
        reads = round(calls * rng.uniform(0.1, 0.2))
        methods = {"client.counts": calls - reads, "chat.delete": poisson(rng, 0.03)}
        # One conversation per hour stands for the few a person reads: breadth floors are 50+.
        usage = (methods, [(self._conversation(p, rng), reads)] if reads else [])
        # The context holds for this clock hour only (addresses change on the hour): the calls
        # stay inside it, or the client would seem to use two networks at once.
        self.em.usage(rng, (ts, HOUR - ts % HOUR), p, ctx, usage)

    def _conversation(self, p: Person, rng: random.Random) -> str:
        """A conversation the person reads: one of their channels, or a direct message."""
        if rng.random() < 0.3:
            return dm_id(p.id, rng.randrange(20))
        channels = self.em.channels[p.team]
        return str(channels[(hash_index(p.id) + rng.randrange(p.channels)) % len(channels)]["id"])

    def _service(self, p: Person, rng: random.Random) -> None:
        """A service account: a script on a cloud host, around the clock, no session."""
        channels = self.em.channels[p.team]
        mine = [str(channels[(hash_index(p.id) + k) % len(channels)]["id"]) for k in range(2)]
        for n, ts in enumerate(range(self.pop.start, self.pop.end, HOUR)):
            ctx = Ctx(p.service_ua, p.service_ips[n % len(p.service_ips)], None, p.team)
            if rng.random() < self.cfg.usage_sample:
                calls = poisson(rng, p.api_rate)
                reads = [(target, calls // 6) for target in mine]
                usage = ({"chat.postMessage": calls // 2}, reads)
                self.em.usage(rng, (ts, HOUR - ts % HOUR), p, ctx, usage)
            for _ in range(poisson(rng, 0.3)):
                act = Act("file_uploaded", self.em.file_entity(rng, p.team))
                self.emit(rng, ts + rng.randrange(HOUR), p, ctx, act)

    def _plan_chores(self) -> None:
        """Admin work tied to others: joiners created, leavers deactivated, promotions."""
        rng = random.Random(f"trailkeeper-sim-chores-{self.seed}")
        admins = [p for p in self.pop.people if p.is_admin]
        for p in self.pop.people:
            if self.pop.start < p.joined:
                ts = p.joined - rng.randint(HOUR, 3 * HOUR)
                self._chore(rng.choice(admins), ts, "user_created", p)
            if p.left is not None:
                self._chore(rng.choice(admins), p.left, "user_deactivated", p)
        members = [p for p in self.pop.people if p.role == "member" and p.left is None]
        span = self.pop.end - self.pop.start
        for _ in range(max(1, len(self.pop.people) // 1000)):
            ts = self.pop.start + int(rng.uniform(0.2, 0.9) * span)
            self._promotion(rng, (rng.choice(admins), rng.choice(members)), ts)

    def _chore(self, admin: Person, ts: int, action: str, target: Person) -> None:
        act = Act(action, user_entity(target), org_wide=True)
        self.chores.setdefault(admin.id, []).append((ts, act))

    def _promotion(self, rng: random.Random, who: tuple[Person, Person], ts: int) -> None:
        """A benign promotion followed by the new admin's onboarding burst (a hard negative)."""
        admin, member = who
        self._chore(admin, ts, "role_change_to_admin", member)
        todo = self.chores.setdefault(member.id, [])
        for action in rng.sample(ROUTINE_ADMIN_ACTIONS, 4):
            todo.append((ts + rng.randint(HOUR, 3 * DAY), self.admin_act(action, rng)))
        if rng.random() < 0.3:
            details = {"previous_value": "30", "new_value": "14"}
            act = Act(rng.choice(SENSITIVE_PREFS), self.em.enterprise_entity(), details, True)
            todo.append((ts + rng.randint(HOUR, 3 * DAY), act))
