"""Per-user working rhythm: which days people work and the sessions they open."""

from __future__ import annotations

import random

from trailkeeper.demo._core import DAY, HOUR, Session, State, user_ent
from trailkeeper.demo._org import DemoUser


def plan_sessions(st: State, users: list[DemoUser]) -> None:
    """Plan every session of ``users`` inside their active window."""
    for u in users:
        st.sessions[u.id] = _plan_user(st, u)


def _plan_user(st: State, u: DemoUser) -> list[Session]:
    lo, hi = st.active[u.id]
    tz = u.tz_offset * HOUR
    weekend_worker = st.rng.random() < 0.1
    out: list[Session] = []
    for day in range((lo + tz) // DAY, (hi + tz) // DAY + 1):
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday == 0
        if _works(st.rng, u, weekday, weekend_worker):
            out += _day_sessions(st, u, day * DAY - tz, weekday >= 5)
    kept = [s for s in out if s.start >= lo and s.start < hi - 600]
    for s in kept:
        if s.end > hi - 300:
            s.end, s.logout = hi - 300, False
    return sorted(kept, key=lambda s: s.start)


def _works(rng: random.Random, u: DemoUser, weekday: int, weekend_worker: bool) -> bool:
    if u.role == "guest":
        return weekday < 5 and rng.random() < 0.55
    if weekday >= 5:
        return rng.random() < (0.45 if weekend_worker else 0.05)
    return rng.random() < 0.93


def _day_sessions(st: State, u: DemoUser, midnight: int, weekend: bool) -> list[Session]:
    rng = st.rng
    if weekend:
        start = midnight + int(rng.uniform(10, 15) * HOUR)
        length = int(rng.uniform(0.5, 2.5) * HOUR)
    else:
        start = midnight + int((8.4 + rng.gauss(0.3, 0.6)) * HOUR)
        length = int(rng.uniform(6.5, 9.5) * HOUR)
    sessions = [_main_session(st, u, start, length, weekend)]
    if u.mobile_ua and rng.random() < 0.45:
        begin = midnight + int(rng.uniform(18.5, 22.0) * HOUR)
        sessions.append(
            _session(
                st,
                u,
                begin,
                int(rng.uniform(0.2, 1.2) * HOUR),
                (u.mobile_ua, rng.choice(u.mobile_ips), "mobile"),
            )
        )
    if rng.random() < 0.06:
        begin = midnight + int(rng.uniform(19.0, 22.5) * HOUR)
        sessions.append(
            _session(
                st,
                u,
                begin,
                int(rng.uniform(0.3, 1.5) * HOUR),
                (u.browser_ua, _home_ip(rng, u), "browser"),
            )
        )
    return sessions


def _main_session(st: State, u: DemoUser, start: int, length: int, weekend: bool) -> Session:
    rng = st.rng
    in_office = not weekend and rng.random() < u.office_share
    ip = u.office_ip if in_office else _home_ip(rng, u)
    browser = rng.random() < (0.8 if u.role == "guest" else 0.12)
    ua = u.browser_ua if browser else u.desktop_ua
    return _session(st, u, start, length, (ua, ip, "browser" if browser else "desktop"))


def _home_ip(rng: random.Random, u: DemoUser) -> str:
    return u.home_ips[0] if rng.random() < 0.7 else rng.choice(u.home_ips)


def _session(
    st: State, u: DemoUser, start: int, length: int, device: tuple[str, str, str]
) -> Session:
    rng = st.rng
    ua, ip, kind = device
    workspace = u.team if rng.random() < 0.8 else rng.choice(u.workspaces)
    logout = rng.random() < (0.3 if kind == "mobile" else 0.65)
    return Session(u, start, start + length, ua, ip, st.new_sid(), workspace, kind, logout)


def auth_method(st: State, u: DemoUser) -> str:
    if u.role == "guest":
        return st.rng.choice(("password", "magic_link"))
    return "sso" if st.rng.random() < 0.93 else "magic_link"


def emit_frame(st: State, s: Session) -> None:
    """The login that opens ``s`` (sometimes after typos) and its logout."""
    u = s.user
    if st.rng.random() < 0.025:
        for k in range(st.rng.randint(1, 2)):
            failed = Session(
                u, s.start, s.end, s.ua, s.ip, st.new_sid(), s.workspace, s.kind, False
            )
            st.act(
                failed,
                s.start - 40 * (k + 1),
                "user_login_failed",
                user_ent(u),
                {"authentication_method": "password"},
            )
    st.act(s, s.start, "user_login", user_ent(u), {"authentication_method": auth_method(st, u)})
    if s.logout:
        st.act(s, s.end, "user_logout", user_ent(u))
