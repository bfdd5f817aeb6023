"""Same-second bursts and injected suspicious episodes (no ``anomaly`` events)."""

from __future__ import annotations

from trailkeeper.demo._admin import at, pref_step, regular_member
from trailkeeper.demo._core import (
    DAY,
    HOUR,
    JSON,
    Channel,
    Session,
    State,
    app_ent,
    canvas_ent,
    channel_ent,
    user_ent,
)
from trailkeeper.demo._data import (
    BROWSER_UAS,
    FOREIGN_IPS,
    HOSTING_IPS,
    SCRIPT_UA,
    TOR_EXITS,
    TOR_UA,
)
from trailkeeper.demo._org import DemoUser
from trailkeeper.demo._routine import download, pick_file
from trailkeeper.demo._stories import app_flags

Plan = list[tuple[str, DemoUser, int]]
# Episodes happen after this share of the window, once everyone has a history to stand out from.
SETTLED = 0.35


def run_bursts(st: State) -> None:
    at(st, 0.18, default_channel_burst)
    ediscovery_burst(st, 0.42, 420)
    at(st, 0.62, sso_enforcement_burst)
    ediscovery_burst(st, 0.83, 230)


def default_channel_burst(st: State, s: Session, ts: int) -> None:
    """A new org-wide default channel: every member joins in the same second."""
    hq = st.org.workspaces[0].id
    ch = Channel(st.new_id("C0"), "acme-all-hands", "public", hq, False, True)
    for channels in st.world.channels.values():
        channels.append(ch)
    st.act(s, ts - 240, "public_channel_created", channel_ent(ch))
    first = st.world.channels[hq][0].id
    pref_step("pref.enterprise_default_channels", [first], [first, ch.id], "enterprise")(st, s, ts)
    inviter = dict(st.people[s.user.id])
    for u in st.org.users:
        if u.role != "guest" and u is not s.user and st.is_active(u, ts):
            st.world.members[u.id].append(ch)
            details: JSON = {"inviter": dict(inviter), "is_workflow": False}
            st.emit(
                ts,
                "user_channel_join",
                st.people[u.id],
                channel_ent(ch),
                st.ctx(s),
                details=details,
            )


def sso_enforcement_burst(st: State, s: Session, ts: int) -> None:
    """SSO becomes mandatory and every non-admin session is reset at once."""
    pref_step("pref.sso_setting_changed", "optional", "required", "enterprise")(st, s, ts)
    details: JSON = {"mobile_only": False, "web_only": False, "non_sso_only": True}
    for u in st.org.users:
        if u.role in ("member", "guest") and st.is_active(u, ts):
            st.act(
                s, ts, "user_session_reset_by_admin", user_ent(u), dict(details), enterprise=True
            )


def ediscovery_burst(st: State, frac: float, count: int) -> None:
    """The eDiscovery app collects files for the legal hold, all in one second."""
    app = st.world.apps["Vaultkeep eDiscovery"]
    ts = (st.lo + int(frac * (st.hi - st.lo))) // DAY * DAY + 2 * HOUR + int(frac * 3000)
    installer = st.people[app.creator]
    files = [f for team in st.world.files.values() for f in team]
    for f in st.rng.sample(files, min(count, len(files))):
        entity: JSON = {"type": "file", "file": f.payload()}
        context = st.app_ctx(app, st.enterprise)
        st.emit(ts, "file_downloaded", installer, entity, context, details={"url_private": f.url()})


def run_episodes(st: State, plan: Plan) -> None:
    victims = _victims(st)
    tor_login(st, victims[0], 0.35)
    impossible_travel(st, victims[1], 0.52)
    session_hijack(st, victims[2], 0.44)
    password_spray(st, victims[3], 0.7)
    admin_escalation(st, 0.78)
    settled = st.lo + int(SETTLED * (st.hi - st.lo))
    leavers = [u for kind, u, ts in plan if kind == "leave" and u.role == "member" and ts > settled]
    mass_download(st, leavers[0] if leavers else victims[4])


def _victims(st: State) -> list[DemoUser]:
    chosen: list[DemoUser] = []
    while len(chosen) < 5:
        u = regular_member(st)
        if u not in chosen:
            chosen.append(u)
    return chosen


def _local_time(st: State, u: DemoUser, frac: float, hour: float) -> int:
    base = st.lo + int(frac * (st.hi - st.lo))
    day = (base + u.tz_offset * HOUR) // DAY
    return day * DAY - u.tz_offset * HOUR + int(hour * HOUR)


def _rogue(st: State, u: DemoUser, ts: int, net: tuple[str, str], minutes: int) -> Session:
    ua, ip = net
    return Session(u, ts, ts + minutes * 60, ua, ip, st.new_sid(), u.team, "browser", True)


def tor_login(st: State, u: DemoUser, frac: float) -> None:
    """Failed guesses then a login from a Tor exit at 3 a.m., followed by downloads."""
    ts = _local_time(st, u, frac, 3.2)
    s = _rogue(st, u, ts, (TOR_UA, st.rng.choice(TOR_EXITS)), 25)
    for k in range(3):
        failed = _rogue(st, u, ts, (TOR_UA, s.ip), 1)
        st.act(
            failed,
            ts - 300 + 70 * k,
            "user_login_failed",
            user_ent(u),
            {"authentication_method": "password"},
        )
    st.act(s, ts, "user_login", user_ent(u), {"authentication_method": "password"})
    for k in range(22):
        download(st, s, ts + 45 + 55 * k)
    canvas = st.rng.choice(st.world.canvases[u.team])
    st.act(s, ts + 1300, "canvas_opened", canvas_ent(canvas), {"is_channel_canvas": False})
    st.act(s, s.end, "user_logout", user_ent(u))


def impossible_travel(st: State, u: DemoUser, frac: float) -> None:
    """A second login from another continent 35 minutes after the usual one."""
    home = st.session_at(u, st.lo + int(frac * (st.hi - st.lo)))
    if home is None:
        return
    ts = home.start + 35 * 60
    s = _rogue(st, u, ts, (BROWSER_UAS[1], st.rng.choice(FOREIGN_IPS)), 40)
    st.act(s, ts, "user_login", user_ent(u), {"authentication_method": "sso"})
    for k in range(9):
        download(st, s, ts + 120 + 170 * k)
    f = pick_file(st, u.team)
    st.act(s, ts + 1900, "file_public_link_created", {"type": "file", "file": f.payload()})


def session_hijack(st: State, u: DemoUser, frac: float) -> None:
    """The victim's live session id is replayed from a network in another country."""
    ts = st.lo + int(frac * (st.hi - st.lo))
    home = next((s for s in st.sessions.get(u.id, []) if s.end >= ts and s.kind != "mobile"), None)
    if home is None:
        return
    ip = "89.160.20.201" if u.country != "SE" else "216.160.83.62"
    thief = Session(
        u, home.start, home.end, home.ua, ip, home.sid, home.workspace, "desktop", False
    )
    start = (home.start + home.end) // 2
    for k in range(14):
        download(st, thief, start + 40 * k)


def password_spray(st: State, victim: DemoUser, frac: float) -> None:
    """One hosting address tries many accounts, then gets into one."""
    ts = (st.lo + int(frac * (st.hi - st.lo))) // DAY * DAY + 4 * HOUR + 12 * 60
    ip = HOSTING_IPS[0]
    targets = [u for u in st.rng.sample(st.org.users, 40) if st.is_active(u, ts)][:30]
    for k, u in enumerate(targets):
        attempt = _rogue(st, u, ts + 9 * k, (SCRIPT_UA, ip), 1)
        st.act(
            attempt,
            attempt.start,
            "user_login_failed",
            user_ent(u),
            {"authentication_method": "password"},
        )
    s = _rogue(st, victim, ts + 9 * len(targets) + 30, (SCRIPT_UA, ip), 15)
    st.act(s, s.start, "user_login", user_ent(victim), {"authentication_method": "password"})
    for k in range(6):
        download(st, s, s.start + 60 + 90 * k)


def admin_escalation(st: State, frac: float) -> None:
    """An admin account acts at 2:40 a.m. from a hosting network: grants, weakens, exports."""
    admin = next(u for u in st.admins if u.role == "admin")
    ts = _local_time(st, admin, frac, 2.67)
    s = _rogue(st, admin, ts, (admin.browser_ua, HOSTING_IPS[1]), 30)
    st.act(s, ts, "user_login", user_ent(admin), {"authentication_method": "sso"})
    st.act(s, ts + 120, "role_change_to_admin", user_ent(regular_member(st)), enterprise=True)
    pref_step("pref.two_factor_auth_changed", "required", "optional", "enterprise")(st, s, ts + 300)
    pref_step(
        "pref.anomaly_event_response_changed", ["tor", "unexpected_scraping"], [], "enterprise"
    )(st, s, ts + 420)
    app = st.world.apps["PDF Toolkit Pro"]
    details: JSON = app_flags(app) | {
        "scopes": list(app.scopes),
        "bot_scopes": list(app.bot_scopes),
    }
    st.act(s, ts + 600, "app_installed", app_ent(app), details)
    export: JSON = {
        "export_type": "STANDARD",
        "export_start_ts": "2020-01-01 00:00:00",
        "export_end_ts": "now",
    }
    loc = st.locations[s.workspace]
    workspace: JSON = {
        "type": "workspace",
        "workspace": {k: loc[k] for k in ("id", "name", "domain")},
    }
    st.act(s, ts + 900, "manual_export_started", workspace, export)
    st.act(s, s.end, "user_logout", user_ent(admin))


def mass_download(st: State, u: DemoUser) -> None:
    """A departing employee pulls 160 files in 25 minutes shortly before leaving."""
    sessions = [s for s in st.sessions.get(u.id, []) if s.kind != "mobile"]
    if not sessions:
        return
    s = sessions[-1] if len(sessions) < 3 else sessions[-2]
    start = s.start + (s.end - s.start) // 3
    for k in range(160):
        download(st, s, start + 9 * k + st.rng.randint(0, 5))
