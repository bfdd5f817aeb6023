"""Multi-step admin stories (barriers, legal holds, apps) and app bots at work."""

from __future__ import annotations

from trailkeeper.demo._admin import Step, at, regular_member
from trailkeeper.demo._core import (
    DAY,
    HOUR,
    JSON,
    App,
    Channel,
    Session,
    State,
    app_ent,
    channel_ent,
    ent,
    file_ent,
)
from trailkeeper.demo._data import NEW_CHANNEL_WORDS
from trailkeeper.demo._routine import share_details
from trailkeeper.demo._world import new_file


def run_stories(st: State) -> None:
    barrier_story(st)
    legal_hold_story(st)
    app_story(st)
    provisioner_bot(st)
    report_bot(st)


def barrier_story(st: State) -> None:
    """Legal is walled off from Sales (later also Marketing); a stale barrier is removed."""
    legal = _barrier(st, "legal", "sales")
    at(st, 0.12, _barrier_step(legal, "barrier_created", ["sales"]))
    at(st, 0.47, _barrier_step(legal, "barrier_updated", ["sales", "marketing"]))
    stale = _barrier(st, "finance", "contractors")
    at(st, 0.26, _barrier_step(stale, "barrier_created", ["contractors"]))
    at(st, 0.86, _barrier_step(stale, "barrier_deleted", ["contractors"]))


def _barrier(st: State, primary: str, blocked: str) -> JSON:
    groups = st.world.usergroups
    return {
        "id": st.new_id("IB0"),
        "primary_usergroup": groups[primary]["id"],
        "barriered_from_usergroup": groups[blocked]["id"],
    }


def _barrier_step(barrier: JSON, action: str, blocked: list[str]) -> Step:
    def step(st: State, s: Session, ts: int) -> None:
        ids = [st.world.usergroups[g]["id"] for g in blocked]
        details: JSON = {
            "barrier_id": barrier["id"],
            "primary_usergroup_id": barrier["primary_usergroup"],
            "barriered_from_usergroup_ids": ids,
            "restricted_subjects": ["im", "mpim", "call"],
        }
        st.act(s, ts, action, ent("barrier", barrier), details, enterprise=True)

    return step


def legal_hold_story(st: State) -> None:
    """A litigation hold is opened, scoped and renamed; an old audit hold is released."""
    owner = next(u for u in st.org.users if u.role == "owner")
    case: JSON = {"id": st.new_id("LH0"), "name": "Globex v. Acme"}
    audit: JSON = {"id": st.new_id("LH0"), "name": "FY24 financial audit"}
    custodians = [regular_member(st).id for _ in range(6)]
    at(st, 0.03, _hold_step("legal_hold_policy_created", audit), owner)
    at(st, 0.16, _hold_step("legal_hold_policy_created", case), owner)
    at(st, 0.17, _hold_step("legal_hold_policy_entities_added", case, {"user_ids": custodians}))
    renamed: JSON = {"id": case["id"], "name": "Globex v. Acme (amended complaint)"}
    change: JSON = {
        "old_legal_hold_policy": {"name": case["name"]},
        "new_legal_hold_policy": {"name": renamed["name"]},
    }
    at(st, 0.52, _hold_step("legal_hold_policy_updated", renamed, change), owner)
    at(st, 0.81, _hold_step("legal_hold_policy_released", audit), owner)


def _hold_step(action: str, policy: JSON, details: JSON | None = None) -> Step:
    def step(st: State, s: Session, ts: int) -> None:
        st.act(s, ts, action, ent("legal_hold_policy", policy), details, enterprise=True)

    return step


def app_story(st: State) -> None:
    apps = st.world.apps
    at(st, 0.08, _app_step(apps["Notion"], "app_approved"))
    at(st, 0.09, _app_step(apps["Notion"], "app_installed"))
    at(st, 0.33, _app_step(apps["Zoom"], "org_app_workspace_added"))
    at(st, 0.37, _app_step(apps["Polly"], "app_restricted"))
    at(st, 0.56, _scopes_step(apps["Notion"], ["files:read", "channels:history"]))
    at(st, 0.73, _app_step(apps["Donut"], "app_uninstalled"))


def app_flags(app: App) -> JSON:
    return {
        "app_owner_id": app.creator,
        "is_internal_integration": not app.is_distributed,
        "is_token_rotation_enabled_app": False,
    }


def _app_step(app: App, action: str) -> Step:
    def step(st: State, s: Session, ts: int) -> None:
        details = app_flags(app)
        if action == "app_approved":
            details = {"approver_id": s.user.id, "app_previously_approved": False}
        elif action == "app_installed":
            details |= {"scopes": list(app.scopes), "bot_scopes": list(app.bot_scopes)}
        org_level = action.startswith("org_")
        st.act(s, ts, action, app_ent(app), details, enterprise=org_level)

    return step


def _scopes_step(app: App, extra: list[str]) -> Step:
    def step(st: State, s: Session, ts: int) -> None:
        before = list(app.bot_scopes)
        app.bot_scopes = (*app.bot_scopes, *extra)
        details = app_flags(app) | {
            "granular_bot_token": True,
            "previous_scopes": before,
            "new_scopes": list(app.bot_scopes),
        }
        st.act(s, ts, "app_scopes_expanded", app_ent(app), details)

    return step


def _workdays(st: State, hour_utc: int) -> list[int]:
    first = st.lo // DAY + 1
    days = range(first, st.hi // DAY)
    return [d * DAY + hour_utc * HOUR for d in days if (d + 3) % 7 < 5]


def provisioner_bot(st: State) -> None:
    """An internal bot opens incident channels through its token (no session)."""
    app = st.world.apps["Acme Provisioner"]
    team = app.team
    for day in _workdays(st, 14):
        if st.rng.random() < 0.45:
            ts = day + st.rng.randint(0, 6 * HOUR)
            name = f"inc-{st.rng.randint(1000, 9999)}-{st.rng.choice(NEW_CHANNEL_WORDS)}"
            ch = Channel(st.new_id("C0"), name, "public", team)
            st.world.channels[team].append(ch)
            entity = channel_ent(ch)
            st.emit(ts, "public_channel_created", app.bot_user(), entity, st.app_ctx(app))


def report_bot(st: State) -> None:
    """A reporting bot uploads and shares a daily report every workday morning."""
    app = st.world.apps["Acme Report Bot"]
    hq = st.org.workspaces[0].id
    target = next(c for c in st.world.channels[hq] if c.name == "general")
    for day in _workdays(st, 13):
        ts = day + st.rng.randint(0, 120)
        f = new_file(st, hq, app.bot_id())
        st.world.files[hq].append(f)
        entity = file_ent(f)
        st.emit(ts, "file_uploaded", app.bot_user(), entity, st.app_ctx(app, st.locations[hq]))
        st.emit(
            ts + 1,
            "file_shared",
            app.bot_user(),
            file_ent(f),
            st.app_ctx(app, st.locations[hq]),
            details=share_details(st, f, target),
        )
