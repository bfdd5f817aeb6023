"""How state follows behaviour: counters advance before detectors look (they judge the count
including this event), histories learn after (detectors judge against what came before).
"""

from __future__ import annotations

import sys
from array import array

from trailkeeper.detect.activity import HIGH_IMPACT, LOGIN, LOGIN_FAILED, LOGOUT, PROMOTIONS
from trailkeeper.detect.activity import is_admin_action as _is_admin
from trailkeeper.detect.clients import stable_key
from trailkeeper.detect.observation import Observation
from trailkeeper.detect.sessions import follow, rebind_fingerprint
from trailkeeper.detect.state import (
    HOUR_S,
    MAX_FINGERPRINTS,
    MAX_SPRAY_IPS,
    ActorState,
    LastLogin,
    OrgState,
    RateCounter,
    RecentValues,
    SessionBinding,
    country_key,
)
from trailkeeper.detect.tuning import Params

MAX_BREADTH = 512
PRIOR_WEIGHT = 0.01
PRIOR_METRICS = ("downloads", "shares", "deletions")
WINSOR_FLOOR = 10.0
WINSOR_MULT = 3.0


def advance_counters(obs: Observation, actor: ActorState) -> None:
    """Count this observation into the actor's rolling windows."""
    metric = obs.metric
    if metric is not None:
        counter = actor.rate(metric[0])
        counter.add(obs.ts, metric[1], cap=_baseline_cap(counter, actor))
    if obs.is_signal:
        actor.rate("api").add(obs.ts, obs.count)
    target = obs.read_target
    if target is not None and _new_in_hour(actor, obs.ts, stable_key(target)):
        actor.rate("reads").add(obs.ts, 1.0)
    if obs.action in HIGH_IMPACT:
        actor.rate("admin_high").add(obs.ts, 1.0)


def _baseline_cap(counter: RateCounter, actor: ActorState) -> float:
    """The most one finished day may add to a volume baseline: 3x the mean so far (at least
    10), a winsorized mean that legitimate bulk days cannot inflate."""
    days = max(actor.active_days - 1.0, 1.0)
    return max(WINSOR_FLOOR, WINSOR_MULT * counter.stored_past() / days)


def _new_in_hour(actor: ActorState, now: float, key: int) -> bool:
    """Is `key` read for the first time this clock hour? (a capped exact distinct count, in a
    packed array: a person reads a handful of things an hour, a scraper at most MAX_BREADTH)"""
    hour = now // HOUR_S
    if actor.breadth is None or actor.breadth[0] != hour:
        actor.breadth = (hour, array("I"))
    seen = actor.breadth[1]
    if key in seen:
        return False
    if len(seen) < MAX_BREADTH:
        seen.append(key)
    return True


def learn(obs: Observation, actor: ActorState, org: OrgState, params: Params) -> None:
    """Fold this observation into the actor's and the organization's histories."""
    _roll_priors(obs, actor, org, params)
    actor.touch(obs.ts)
    if obs.context_is_actors:
        _learn_session(obs, actor, params)  # first: judges the network against the history
        _learn_network(obs, actor, org)
        _learn_client(obs, actor, org)
    if obs.action == LOGOUT and obs.session_id is not None:
        actor.end_session(obs.session_id)
    elif obs.action == LOGIN:
        _learn_login(obs, actor)
    elif obs.action == LOGIN_FAILED:
        _learn_failure(obs, org, params)
    if not obs.is_signal and _is_admin(obs.action):
        _learn_admin(obs, actor, org)


def _roll_priors(obs: Observation, actor: ActorState, org: OrgState, params: Params) -> None:
    """On an actor's first event of a day, feed its finished day into the organization prior."""
    if obs.ts // 86_400 == actor.day or not actor.day:
        return
    for metric in PRIOR_METRICS:
        counter = actor.rates.get(metric)
        count = counter.count_on(actor.day) if counter is not None else 0.0
        previous = org.priors.get(metric, params.prior_daily)
        org.priors[metric] = previous + PRIOR_WEIGHT * (count - previous)


def _observe(values: RecentValues, key: int, obs: Observation, org: OrgState, family: str) -> None:
    if values.observe(key, obs.ts):
        org.note_new_value(family, key, obs.ts)


def _learn_network(obs: Observation, actor: ActorState, org: OrgState) -> None:
    info = obs.ip_info
    if info.asn:
        _observe(actor.asns, info.asn, obs, org, "asn")
    if info.country:
        _observe(actor.countries, country_key(info.country), obs, org, "country")
    if info.is_cloud:
        actor.cloud_ts = obs.ts


def _learn_client(obs: Observation, actor: ActorState, org: OrgState) -> None:
    client = obs.client
    if not obs.ua:
        return
    _observe(actor.clients, client.key, obs, org, "client")
    actor.uas.observe(client.ua_key, obs.ts)
    if client.is_interactive:
        actor.versions.note(client.key, client.packed_version)
    fingerprint = obs.fingerprint
    if fingerprint and fingerprint not in org.fingerprints and client.is_interactive:
        org.fingerprints[fingerprint] = client.key
        if len(org.fingerprints) > MAX_FINGERPRINTS:
            del org.fingerprints[next(iter(org.fingerprints))]


def _learn_session(obs: Observation, actor: ActorState, params: Params) -> None:
    sid = obs.session_id
    if sid is None or obs.is_app:
        return
    info, asn = obs.ip_info, obs.ip_info.asn or 0
    # The parsed client's string is one shared object per distinct UA (parse_client caches),
    # and addresses are interned: sessions then hold references, not copies.
    ip, ua = sys.intern(obs.ip), obs.client.ua
    binding = actor.session(sid)
    if binding is None:
        actor.bind_session(
            sid,
            SessionBinding(
                ip,
                ua,
                asn=asn,
                country=country_key(info.country),
                client=obs.client.key if ua else 0,
                first_ts=obs.ts,
                last_asn=asn,
            ),
        )
        binding = actor.sessions[sid]
        binding.novel = float(_is_novel_network(obs, actor, params))
        rebind_fingerprint(binding, obs)
        follow(binding, obs)
        return
    _move_session(binding, obs, asn, ip, ua)


def _is_novel_network(obs: Observation, actor: ActorState, params: Params) -> bool:
    """Does a session start on a network (ASN) a warmed actor has not used in 30 days?"""
    asn = obs.ip_info.asn
    if not asn or actor.events < params.min_events:
        return False
    if actor.days_active_as_of(obs.ts) < params.min_days:
        return False
    return not actor.asns.seen_within(asn, obs.ts, params.recent_s)


def _move_session(b: SessionBinding, obs: Observation, asn: int, ip: str, ua: str) -> None:
    # prev_* hold the latest value other than the bound one: Slack's previous_ip_address is
    # blank until the session has been used from another address.
    if ip and ip != b.ip:
        b.prev_ip = ip
    if ua and ua != b.ua:
        b.prev_ua = ua
    if asn and b.last_asn and asn != b.last_asn:
        # the ASN we just left, when, and when the session was last seen there
        b.alt_asn, b.alt_ts, b.alt_last = b.last_asn, obs.ts, b.last_ts
    if asn:
        b.last_asn = asn
    rebind_fingerprint(b, obs)
    follow(b, obs)
    b.last_ts = max(b.last_ts, obs.ts)


def _learn_login(obs: Observation, actor: ActorState) -> None:
    actor.logins += 1
    info = obs.ip_info
    if info.lat is None or info.lon is None:
        return
    anonymous = info.is_cloud or info.is_vpn or info.is_tor
    actor.last_login = LastLogin(obs.ts, info.lat, info.lon, country_key(info.country), anonymous)


def _learn_failure(obs: Observation, org: OrgState, params: Params) -> None:
    """Spray memory: distinct users failing from one address in a window; over the bar, the
    address is on the organization's IOC list for a day (spec §6 D13)."""
    if not obs.ip:
        return
    start, users = org.spray.pop(obs.ip, (obs.ts, set()))  # back in last: oldest first
    if obs.ts - start > params.spray_window_s:
        start, users = obs.ts, set()
    users.add(stable_key(obs.entity_user_id or obs.actor_id))
    org.spray[obs.ip] = (start, users)
    if len(users) >= params.spray_users:
        org.ioc_until[obs.ip] = obs.ts + params.ioc_ttl_s
    _forget_spray_windows(org, obs.ts, params.spray_window_s)
    for ip in [ip for ip, until in org.ioc_until.items() if until < obs.ts][:16]:
        del org.ioc_until[ip]


def _forget_spray_windows(org: OrgState, now: float, window_s: float) -> None:
    """Drop windows that ended (a new failure would start afresh anyway), and the least recently
    used beyond MAX_SPRAY_IPS."""
    spray = org.spray
    while spray:
        oldest = next(iter(spray))
        if now - spray[oldest][0] <= window_s and len(spray) <= MAX_SPRAY_IPS:
            return
        del spray[oldest]


def _learn_admin(obs: Observation, actor: ActorState, org: OrgState) -> None:
    key = stable_key(obs.action)
    if actor.admin_types is None:
        actor.admin_types = RecentValues(8)
    if actor.admin_types.observe(key, obs.ts):
        org.admin_types[key] = org.admin_types.get(key, 0.0) + 1.0
    target = obs.entity_user_id
    if obs.action in PROMOTIONS and target and target != obs.actor_id:
        org.actor(target, obs.ts).promoted = (obs.ts, obs.actor_id)
