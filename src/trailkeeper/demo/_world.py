"""The objects of the demo world: channels, files, canvases, apps, groups, roles."""

from __future__ import annotations

from trailkeeper.demo._core import App, Channel, File, State, WorkflowV2
from trailkeeper.demo._data import (
    ACCOUNT_TYPE_ROLES,
    APP_AGENTS,
    APPS,
    CANVAS_TITLES,
    CHANNEL_NAMES,
    FILE_TOPICS,
    FILE_TYPES,
    PRIVATE_CHANNEL_NAMES,
    ROLES,
    TEMPLATES,
    USERGROUPS,
    WORKFLOWS,
)

FILES_PER_WORKSPACE = 380
CANVASES_PER_WORKSPACE = 45


def build_world(st: State) -> None:
    """Fill ``st.world`` with the objects that exist when the window opens."""
    org_wide = _org_wide_channels(st)
    for ws in st.org.workspaces:
        st.world.channels[ws.id] = [*org_wide, *_workspace_channels(st, ws.id)]
        st.world.files[ws.id] = [new_file(st, ws.id, "") for _ in range(FILES_PER_WORKSPACE)]
        st.world.canvases[ws.id] = [
            new_canvas(st, ws.id, "") for _ in range(CANVASES_PER_WORKSPACE)
        ]
    _apps(st)
    _directory(st)
    _memberships(st)


def _org_wide_channels(st: State) -> list[Channel]:
    hq = st.org.workspaces[0].id
    names = ("acme-announcements", "acme-it-help", "acme-kudos")
    shared = [Channel(st.new_id("C0"), n, "public", hq, False, True) for n in names]
    partners = tuple(st.new_id("T0EXT", 5) for _ in range(2))
    shared.append(
        Channel(
            st.new_id("C0"), "ext-globex-partnership", "public", hq, True, False, (partners[0],)
        )
    )
    shared.append(
        Channel(st.new_id("C0"), "ext-initech-support", "private", hq, True, False, (partners[1],))
    )
    return shared


def _workspace_channels(st: State, team: str) -> list[Channel]:
    rng = st.rng
    public = ["general", *rng.sample(CHANNEL_NAMES, 26)]
    private = rng.sample(PRIVATE_CHANNEL_NAMES, 5)
    channels = [Channel(st.new_id("C0"), n, "public", team) for n in public]
    channels += [Channel(st.new_id("C0"), n, "private", team) for n in private]
    return channels


def new_file(st: State, team: str, owner: str) -> File:
    """A new uploaded file with a realistic name and MIME type."""
    rng = st.rng
    ext, mime = rng.choice(FILE_TYPES)
    topic = rng.choice(FILE_TOPICS)
    suffix = rng.choice(("", "_v2", "_final", "_draft", f"_{rng.randint(1, 999):03d}"))
    name = f"{topic}{suffix}.{ext}"
    title = f"{topic}{suffix}".replace("_", " ").strip().capitalize()
    return File(st.new_id("F0"), name, mime, title, team, owner)


def new_canvas(st: State, team: str, owner: str) -> File:
    """A new canvas (canvases are files with filetype ``quip``)."""
    title = st.rng.choice(CANVAS_TITLES)
    if st.rng.random() < 0.5:
        title = f"{title} – {st.rng.choice(('Platform', 'Sales', 'Q4', 'EMEA', 'Support'))}"
    return File(st.new_id("F0"), title, "quip", title, team, owner)


def _apps(st: State) -> None:
    hq = st.org.workspaces[0].id
    eng = st.org.workspaces[1].id
    for name, scopes, bot, dist, approved, is_wf in APPS:
        internal = not dist
        ua, ip = APP_AGENTS.get(name, ("Slack-Apps/1.0", "54.197.88.12"))
        creator = st.rng.choice(st.admins).id
        app = App(
            st.new_id("A0"),
            name,
            scopes,
            bot,
            dist,
            approved,
            is_wf,
            creator,
            eng if internal else hq,
            ua,
            ip,
        )
        st.world.apps[name] = app


def _directory(st: State) -> None:
    w = st.world
    w.usergroups = {n: {"id": st.new_id("S0"), "name": n} for n in USERGROUPS}
    w.workflows = [{"id": st.new_id("Wf0"), "name": n} for n in WORKFLOWS]
    w.templates = [{"id": st.new_id("NT0"), "template_name": n} for n in TEMPLATES]
    w.roles = [{"id": st.new_id("Rl0"), "name": n, "type": t} for n, t in ROLES]
    w.account_roles = [{"id": st.new_id("Rl0"), "name": n} for n in ACCOUNT_TYPE_ROLES]
    wf_app = w.apps["Onboarding Workflows"].id
    steps = (
        ("send_message", "builtin", wf_app),
        ("open_form", "builtin", wf_app),
        ("create_channel", "builtin", wf_app),
        ("lookup_employee", "custom", wf_app),
    )
    w.workflows_v2 = [
        WorkflowV2(
            st.new_id("Wf0"),
            wf_app,
            name.lower().replace(" ", "_"),
            name,
            tuple(st.rng.sample(steps, st.rng.randint(2, 4))),
        )
        for name in ("New hire onboarding", "Laptop request", "Incident intake", "PTO approval")
    ]


def _memberships(st: State) -> None:
    rng = st.rng
    for u in st.org.users:
        joined = []
        for team in u.workspaces:
            pool = st.world.channels[team]
            if u.role == "guest":
                open_ = [c for c in pool[6:] if c.privacy == "public"]
                joined += [*rng.sample(open_, 3), pool[3]]
                continue
            joined += [*pool[:3], pool[5]]
            joined += rng.sample(pool[6:], rng.randint(5, 15))
        st.world.members[u.id] = list(dict.fromkeys(joined))
