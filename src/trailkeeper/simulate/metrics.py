"""Spec §3.2 metrics: campaign recall per scenario/tier, false alarms per 1,000 users per day per
reason, time to detect, and percentile-bootstrap confidence intervals across seeds.

Pure arithmetic over `Alarm`s (our anomalies or a baseline's alerts) and labelled `Campaign`s.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from trailkeeper.simulate.attacks import Campaign
from trailkeeper.simulate.records import Label

DAY = 86_400
GRACE_S = 3_600  # an alarm up to an hour after a campaign's last event still counts (§3.2)
BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm, reduced to what scoring needs: whom, when, why, on what evidence, in which
    session (None when not session-bound)."""

    actor: str
    ts: int
    reasons: tuple[str, ...]
    event_ids: tuple[str, ...] = ()
    score: float = 0.0
    session: int | None = None
    why: str = ""


def episodes(alarms: Iterable[Alarm], window_s: int = DAY) -> list[Alarm]:
    """The first alarm of each episode: one per (actor, reason set, session) per 24 h, the
    de-duplication spec §6 counts false alarms after (hourly repeats are not new alarms)."""
    opened: dict[tuple[str, tuple[str, ...], int | None], int] = {}
    out = []
    for alarm in sorted(alarms, key=lambda a: a.ts):
        key = (alarm.actor, alarm.reasons, alarm.session)
        start = opened.get(key)
        if start is None or alarm.ts - start > window_s:
            opened[key] = alarm.ts
            out.append(alarm)
    return out


@dataclass(frozen=True)
class Scope:
    """What one seed's alarms are scored against: its campaigns, labels, users, scored span."""

    seed: int
    campaigns: Sequence[Campaign]
    labels: Mapping[str, Label]
    users: int
    scored_start: int
    end: int

    @property
    def scored_days(self) -> float:
        """Length of the scored window in days."""
        return (self.end - self.scored_start) / DAY


@dataclass
class Scored:
    """One seed's alarms after matching: per campaign the matched alarms, and the false ones."""

    scope: Scope
    hits: dict[str, list[Alarm]] = field(default_factory=dict)
    false: list[Alarm] = field(default_factory=list)


def match(alarms: Iterable[Alarm], scope: Scope) -> Scored:
    """Attribute each scored alarm to campaigns (by labelled evidence, else actor and time).

    Every alarm counts for recall; unmatched ones count as false alarms once per episode.
    """
    by_actor: dict[str, list[Campaign]] = {}
    for c in scope.campaigns:
        for actor in c.actors:
            by_actor.setdefault(actor, []).append(c)
    scored = Scored(scope, {c.id: [] for c in scope.campaigns})
    for alarm in alarms:
        if not scope.scored_start <= alarm.ts < scope.end + GRACE_S:
            continue
        found = _campaigns_of(alarm, scope.labels, by_actor.get(alarm.actor, []))
        for cid in found:
            scored.hits[cid].append(alarm)
        if not found:
            scored.false.append(alarm)
    scored.false = episodes(scored.false)
    return scored


def _campaigns_of(alarm: Alarm, labels: Mapping[str, Label], mine: list[Campaign]) -> set[str]:
    found = {labels[i].campaign_id for i in alarm.event_ids if i in labels}
    found.update(c.id for c in mine if c.start <= alarm.ts <= c.end + GRACE_S)
    return found


def first_hit(alarms: Sequence[Alarm], reasons: frozenset[str] | None = None) -> Alarm | None:
    """The earliest alarm (with one of `reasons`, if given)."""
    chosen = [a for a in alarms if reasons is None or reasons.intersection(a.reasons)]
    return min(chosen, key=lambda a: a.ts, default=None)


@dataclass(frozen=True)
class Outcome:
    """One campaign's result: detected at all, with an expected reason, and how fast."""

    campaign: Campaign
    seed: int
    detected: bool
    expected: bool
    ttd_s: float | None


def outcomes(scored: Scored) -> list[Outcome]:
    """Per-campaign outcomes of one seed."""
    out = []
    for c in scored.scope.campaigns:
        hits = scored.hits.get(c.id, [])
        first = first_hit(hits)
        expected = first_hit(hits, c.expected_reasons)
        ttd = None if first is None else max(0.0, float(first.ts - c.start))
        out.append(Outcome(c, scored.scope.seed, first is not None, expected is not None, ttd))
    return out


@dataclass(frozen=True)
class Estimate:
    """A proportion or rate with its 95% bootstrap interval and sample size."""

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON form."""
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def bootstrap(
    units: Sequence[tuple[float, float]], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> Estimate:
    """Ratio sum(numerators)/sum(denominators) with a percentile bootstrap over the units."""
    if not units:
        return Estimate(math.nan, math.nan, math.nan, 0)
    value = _ratio(units)
    rng = random.Random(seed)
    draws = sorted(_ratio(rng.choices(units, k=len(units))) for _ in range(rounds))
    return Estimate(value, draws[int(0.025 * rounds)], draws[int(0.975 * rounds) - 1], len(units))


def _ratio(units: Sequence[tuple[float, float]]) -> float:
    den = sum(d for _, d in units)
    return sum(n for n, _ in units) / den if den else math.nan


def recall(rows: Sequence[Outcome], hit: Callable[[Outcome], bool] | None = None) -> Estimate:
    """Share of campaigns detected (by `hit`, default: any alarm), bootstrapped over campaigns."""
    test = hit or (lambda o: o.detected)
    return bootstrap([(1.0 if test(o) else 0.0, 1.0) for o in rows])


def within(seconds: float) -> Callable[[Outcome], bool]:
    """A hit test: detected no later than `seconds` after the first malicious event."""
    return lambda o: o.ttd_s is not None and o.ttd_s <= seconds


def false_alarm_rate(seeds: Sequence[Scored], reasons: frozenset[str] | None = None) -> Estimate:
    """Unmatched alarms per 1,000 users per scored day, bootstrapped over (seed, day) units."""
    units = []
    for scored in seeds:
        scope = scored.scope
        per_day: dict[int, int] = {}
        for alarm in scored.false:
            if reasons is None or reasons.intersection(alarm.reasons):
                day = (alarm.ts - scope.scored_start) // DAY
                per_day[day] = per_day.get(day, 0) + 1
        days = max(1, math.ceil(scope.scored_days))
        user_days = scope.users * scope.scored_days / days / 1000.0
        units += [(float(per_day.get(d, 0)), user_days) for d in range(days)]
    return bootstrap(units)


def false_alarms_by_reason(seeds: Sequence[Scored]) -> dict[str, Estimate]:
    """The false-alarm rate of every reason that raised a false alarm."""
    reasons = sorted({r for s in seeds for a in s.false for r in a.reasons})
    return {r: false_alarm_rate(seeds, frozenset({r})) for r in reasons}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def time_to_detect(rows: Sequence[Outcome]) -> dict[str, float]:
    """Median and p95 time to detect (seconds) over detected campaigns."""
    ttd = [o.ttd_s for o in rows if o.ttd_s is not None]
    return {"median_s": percentile(ttd, 50), "p95_s": percentile(ttd, 95), "n": float(len(ttd))}


def threshold_at_budget(
    seeds: Sequence[Scored], budget: float, score: Callable[[Alarm], float]
) -> float:
    """The lowest score threshold whose false alarms stay within `budget` per 1k users per day.

    Alarms at exactly the threshold are kept; the score should break ties (see `jitter`).
    """
    allowed = math.floor(budget * sum(s.scope.users * s.scope.scored_days for s in seeds) / 1000)
    false_scores = sorted((score(a) for s in seeds for a in s.false), reverse=True)
    if allowed >= len(false_scores):
        return -math.inf
    return math.nextafter(false_scores[allowed], math.inf)


def jitter(alarm: Alarm) -> float:
    """A stable tie-breaker in [0, 1e-6): equal scores become a random order, so a budget that
    falls inside a tie keeps a random share of it (the expected operating point)."""
    key = f"{alarm.actor}|{alarm.ts}|{','.join(alarm.reasons)}"
    return (hash_text(key) % 1_000_000) / 1e12


def hash_text(text: str) -> int:
    """A stable 32-bit hash of a string."""
    return zlib.crc32(text.encode())


def keep_at(scored: Scored, threshold: float, score: Callable[[Alarm], float]) -> Scored:
    """The seed's scoring with only alarms scoring at least `threshold`."""
    hits = {
        cid: [a for a in alarms if score(a) >= threshold] for cid, alarms in scored.hits.items()
    }
    false = [a for a in scored.false if score(a) >= threshold]
    return Scored(scored.scope, hits, false)
