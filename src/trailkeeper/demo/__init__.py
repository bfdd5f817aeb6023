"""Deterministic demo data: an enterprise organization and its Slack-shaped audit history.

Pure and stdlib-only: no I/O, no database, no web framework. The same ``seed`` and ``end``
always give the same events, in ascending ``date_create`` order.
"""

from __future__ import annotations

import gc
from operator import itemgetter

from trailkeeper.demo._admin import emit_lifecycle, plan_lifecycle, run_admin_jobs
from trailkeeper.demo._core import DAY, State
from trailkeeper.demo._episodes import run_bursts, run_episodes
from trailkeeper.demo._org import DemoOrganization, DemoUser, DemoWorkspace, demo_organization
from trailkeeper.demo._routine import run_session
from trailkeeper.demo._sessions import emit_frame, plan_sessions
from trailkeeper.demo._stories import run_stories
from trailkeeper.demo._world import build_world

__all__ = [
    "DemoOrganization",
    "DemoUser",
    "DemoWorkspace",
    "demo_events",
    "demo_organization",
]


def demo_events(
    org: DemoOrganization, *, end: int, days: int = 30, seed: int = 7
) -> list[dict[str, object]]:
    """The audit events of ``org`` in ``[end - days * 86400, end]``, oldest first.

    ``org`` is expected to come from :func:`demo_organization`.
    """
    if days <= 0:
        raise ValueError("days must be positive")
    roles = [u.role for u in org.users]
    if roles.count("member") < 40 or "owner" not in roles or "admin" not in roles:
        raise ValueError("org must look like demo_organization(): an owner, admins, members")
    was_enabled = gc.isenabled()
    gc.disable()  # ~60k small dicts: cyclic GC passes would cost ~40% of the run time
    try:
        return _generate(org, end - days * DAY, end, seed)
    finally:
        if was_enabled:
            gc.enable()


def _generate(org: DemoOrganization, lo: int, hi: int, seed: int) -> list[dict[str, object]]:
    st = State(org, lo, hi, seed)
    build_world(st)
    plan_sessions(st, st.admins)
    lifecycle = plan_lifecycle(st)
    plan_sessions(st, [u for u in org.users if u not in st.admins])
    for user in org.users:
        for session in st.sessions[user.id]:
            emit_frame(st, session)
            run_session(st, session)
    emit_lifecycle(st, lifecycle)
    run_admin_jobs(st)
    run_stories(st)
    run_bursts(st)
    run_episodes(st, lifecycle)
    st.events.sort(key=itemgetter("date_create"))
    return st.events
