"""Administrator work: people lifecycle, settings, policies, roles, apps, exports."""

from __future__ import annotations

import copy
from collections.abc import Callable

from trailkeeper.demo._core import (
    DAY,
    HOUR,
    JSON,
    Session,
    State,
    channel_ent,
    ent,
    user_ent,
)
from trailkeeper.demo._data import PERMISSIONS, PREF_CHANGES
from trailkeeper.demo._org import DemoUser
from trailkeeper.demo._routine import tombstone

Step = Callable[[State, Session, int], None]


def at(st: State, frac: float, step: Step, admin: DemoUser | None = None) -> int | None:
    """Run ``step`` in the first admin session after ``frac`` of the window; its time."""
    slot = st.admin_slot(st.lo + int(frac * (st.hi - st.lo)), admin)
    if slot is None:
        return None
    step(st, *slot)
    return slot[1]


def plan_lifecycle(st: State) -> list[tuple[str, DemoUser, int]]:
    """Pick joiners and leavers among members; fix their active windows."""
    rng = st.rng
    members = [u for u in st.org.users if u.role == "member"]
    guests = [u for u in st.org.users if u.role == "guest"]
    chosen = rng.sample(members, 8) + rng.sample(guests, min(1, len(guests)))
    plan: list[tuple[str, DemoUser, int]] = []
    for k, u in enumerate(chosen):
        kind = "leave" if k < 4 else "join"
        slot = st.admin_slot(st.lo + int(rng.uniform(0.1, 0.85) * (st.hi - st.lo)))
        if slot is None:
            continue
        ts = slot[1]
        st.active[u.id] = (st.lo, ts) if kind == "leave" else (ts + 2 * HOUR, st.hi)
        plan.append((kind, u, ts))
    return plan


def emit_lifecycle(st: State, plan: list[tuple[str, DemoUser, int]]) -> None:
    for kind, u, ts in plan:
        slot = st.admin_slot(ts)
        if slot is None:
            continue
        s = slot[0]
        if kind == "leave":
            st.act(s, ts, "user_deactivated", user_ent(u), enterprise=True)
        elif u.role == "guest":
            st.act(s, ts, "guest_created", user_ent(u), enterprise=True)
            expires: JSON = {"expires_on": ts + 90 * DAY}
            st.act(s, ts + 40, "guest_expiration_set", user_ent(u), expires, enterprise=True)
        else:
            st.act(s, ts, "user_created", user_ent(u), enterprise=True)
            group = st.world.usergroups["all-staff"]
            st.act(
                s,
                ts + 60,
                "user_added_to_usergroup",
                ent("usergroup", group),
                {"target_user": u.id},
            )


def regular_member(st: State) -> DemoUser:
    while True:
        u = st.rng.choice(st.org.users)
        if u.role == "member" and st.active[u.id] == (st.lo, st.hi):
            return u


def pref_step(action: str, before: object, after: object, scope: str) -> Step:
    def step(st: State, s: Session, ts: int) -> None:
        details: JSON = {"previous_value": copy.deepcopy(before), "new_value": copy.deepcopy(after)}
        if scope == "enterprise":
            entity: JSON = {"type": "enterprise", "enterprise": _plain(st.enterprise)}
            st.act(s, ts, action, entity, details, enterprise=True)
        else:
            st.act(
                s,
                ts,
                action,
                {"type": "workspace", "workspace": _plain(st.locations[s.workspace])},
                details,
            )

    return step


def _plain(location: JSON) -> JSON:
    return {"id": location["id"], "name": location["name"], "domain": location["domain"]}


def role_story(st: State) -> None:
    """A member is made admin for a migration, then demoted again."""
    u = regular_member(st)
    at(
        st,
        0.3,
        lambda st, s, ts: st.act(s, ts, "role_change_to_admin", user_ent(u), enterprise=True),
    )
    at(
        st,
        0.62,
        lambda st, s, ts: st.act(s, ts, "role_change_to_user", user_ent(u), enterprise=True),
    )
    for frac in (0.22, 0.5, 0.71, 0.77):
        at(st, frac, _role_assign)


def _role_assign(st: State, s: Session, ts: int) -> None:
    role = st.rng.choice(st.world.roles)
    action = "role_removed" if st.rng.random() < 0.25 else "role_assigned"
    details: JSON = {"target_user": regular_member(st).id, "target_entity": st.org.id}
    st.act(s, ts, action, ent("role", role), details, enterprise=True)


def _permissions(st: State, s: Session, ts: int) -> None:
    role = st.rng.choice(st.world.account_roles)
    action = "permissions_removed" if st.rng.random() < 0.3 else "permissions_assigned"
    changed = st.rng.sample(PERMISSIONS, st.rng.randint(1, 3))
    details: JSON = {"target_entity_id": s.workspace, "changed_permissions": changed}
    st.act(s, ts, action, ent("account_type_role", role), details, enterprise=True)


def _usergroup(st: State, s: Session, ts: int) -> None:
    name = st.rng.choice(list(st.world.usergroups))
    group = st.world.usergroups[name]
    action = "user_removed_from_usergroup" if st.rng.random() < 0.3 else "user_added_to_usergroup"
    st.act(s, ts, action, ent("usergroup", group), {"target_user": regular_member(st).id})


def _usergroup_sync(st: State, s: Session, ts: int) -> None:
    group = st.world.usergroups[st.rng.choice(("engineering", "sales", "support"))]
    added = st.rng.randint(1, 4)
    details: JSON = {
        "subteam": group["id"],
        "action": "sync",
        "added_user_count": added,
        "removed_user_count": 0,
        "idp_group_member_count": 30 + added,
    }
    st.act(s, ts, "usergroup_updated", ent("usergroup", group), details, enterprise=True)


def _session_reset(st: State, s: Session, ts: int) -> None:
    details: JSON = {"mobile_only": st.rng.random() < 0.5, "web_only": False, "non_sso_only": False}
    st.act(
        s, ts, "user_session_reset_by_admin", user_ent(regular_member(st)), details, enterprise=True
    )


def _reactivate(st: State, s: Session, ts: int) -> None:
    """A deactivation by mistake, undone a few minutes later."""
    u = regular_member(st)
    st.act(s, ts, "user_deactivated", user_ent(u), enterprise=True)
    st.act(s, min(ts + 420, s.end), "user_reactivated", user_ent(u), enterprise=True)


def _email_update(st: State, s: Session, ts: int) -> None:
    st.act(s, ts, "user_email_updated", user_ent(regular_member(st)), enterprise=True)


def _workflow_v2(st: State, s: Session, ts: int) -> None:
    wf = st.rng.choice(st.world.workflows_v2)
    entity: JSON = {"type": "workflow_v2", "workflow_v2": wf.payload(ts, s.user.id)}
    st.act(s, ts, "workflow_v2_published", entity)
    channels = [c.id for c in st.world.channels[s.workspace][5:8]]
    details: JSON = {
        "trigger_id": st.new_id("Ft0"),
        "permission_type": "named_entities",
        "channel_ids": channels,
        "user_ids": [s.user.id],
    }
    entity = {"type": "workflow_v2", "workflow_v2": wf.payload(ts, s.user.id)}
    st.act(s, ts + 30, "workflow_trigger_permission_set", entity, details)


def _template(st: State, s: Session, ts: int) -> None:
    action = st.rng.choice(("template_updated", "template_provisioned", "template_created"))
    if action == "template_created":
        tpl: JSON = {"id": st.new_id("NT0"), "template_name": "Customer escalation"}
        st.world.templates.append(tpl)
    else:
        tpl = st.rng.choice(st.world.templates)
    st.act(s, ts, action, ent("template", tpl))


def _retention(st: State, s: Session, ts: int) -> None:
    ch = st.rng.choice(st.world.channels[s.workspace][5:])
    details: JSON = {
        "old_retention_policy": {"type": "RETAIN_ALL", "duration_days": 0},
        "new_retention_policy": {"type": "EXPIRE_MSGS", "duration_days": 365},
    }
    st.act(s, ts, "channel_retention_changed", channel_ent(ch), details)


def _convert(st: State, s: Session, ts: int) -> None:
    ch = st.rng.choice([c for c in st.world.channels[s.workspace][6:] if c.privacy == "public"])
    ch.privacy = "private"
    st.act(s, ts, "public_channel_converted_to_private", channel_ent(ch))


def _unarchive(st: State, s: Session, ts: int) -> None:
    if st.world.archived:
        ch = st.world.archived.pop(0)
        ch.archived = False
        st.act(s, ts, f"{ch.privacy}_channel_unarchive", channel_ent(ch))


def _export(st: State, s: Session, ts: int) -> None:
    workspace: JSON = {"type": "workspace", "workspace": _plain(st.locations[s.workspace])}
    details: JSON = {
        "export_type": "STANDARD",
        "export_start_ts": "2020-01-01 00:00:00",
        "export_end_ts": "now",
    }
    st.act(s, ts, "manual_export_started", workspace, details)
    st.act(s, min(ts + 40 * 60, s.end), "manual_export_completed", dict(workspace), details)


def _emoji_removed(st: State, s: Session, ts: int) -> None:
    workspace: JSON = {"type": "workspace", "workspace": _plain(st.locations[s.workspace])}
    st.act(s, ts, "emoji_removed", workspace, {"name": "this-is-fine-2"})


ROUTINE_JOBS: tuple[tuple[Step, int], ...] = (
    (_permissions, 3),
    (_usergroup, 16),
    (_usergroup_sync, 3),
    (_session_reset, 3),
    (_email_update, 2),
    (_reactivate, 1),
    (_workflow_v2, 4),
    (_template, 4),
    (_retention, 2),
    (_convert, 1),
    (_unarchive, 1),
    (_export, 1),
    (_emoji_removed, 1),
    (tombstone, 6),
)


def run_admin_jobs(st: State) -> None:
    """Spread the routine admin jobs and the one-off stories over the window."""
    for step, count in ROUTINE_JOBS:
        for _ in range(count):
            at(st, st.rng.uniform(0.02, 0.98), step)
    for k, (action, before, after, scope) in enumerate(PREF_CHANGES):
        at(st, 0.04 + 0.075 * k, pref_step(action, before, after, scope))
    role_story(st)
