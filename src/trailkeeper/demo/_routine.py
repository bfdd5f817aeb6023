"""Everyday activity inside a session: files, canvases, channels, messages."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

from trailkeeper.demo._core import (
    HOUR,
    JSON,
    Channel,
    File,
    Session,
    State,
    canvas_ent,
    channel_ent,
    ent,
    file_ent,
    user_ent,
)
from trailkeeper.demo._data import EMOJI, NEW_CHANNEL_WORDS
from trailkeeper.demo._world import new_canvas, new_file

Handler = Callable[[State, Session, int], None]
EVENTS_PER_HOUR = 1.15


def run_session(st: State, s: Session) -> None:
    """Emit the routine activity of one session at random moments inside it."""
    rng = st.rng
    hours = (s.end - s.start) / HOUR
    rate = EVENTS_PER_HOUR * s.user.activity * (0.6 if s.kind == "mobile" else 1.0)
    n = poisson(rng, rate * hours)
    if n == 0 or s.end - s.start < 120:
        return
    table = GUEST_TABLE if s.user.role == "guest" else STAFF_TABLE
    picks = rng.choices(table[0], cum_weights=table[1], k=n)
    for handler in picks:
        handler(st, s, rng.randint(s.start + 30, s.end - 30))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def md5ish(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def my_channel(st: State, s: Session) -> Channel | None:
    """A channel the session's user belongs to, in the session's workspace."""
    mine = [
        c
        for c in st.world.members[s.user.id]
        if not c.archived and (c.team == s.workspace or c.is_org_shared)
    ]
    return st.rng.choice(mine) if mine else None


def pick_file(st: State, team: str) -> File:
    files = st.world.files[team]
    if st.rng.random() < 0.4:
        return st.rng.choice(files[-60:])
    return st.rng.choice(files)


def download(st: State, s: Session, ts: int) -> None:
    f = pick_file(st, s.workspace)
    st.act(s, ts, "file_downloaded", file_ent(f), {"url_private": f.url()})


def upload(st: State, s: Session, ts: int) -> None:
    f = new_file(st, s.workspace, s.user.id)
    st.world.files[s.workspace].append(f)
    st.act(s, ts, "file_uploaded", file_ent(f))
    if st.rng.random() < 0.6:
        share_file(st, s, ts + st.rng.randint(1, 20), f)


def share(st: State, s: Session, ts: int) -> None:
    share_file(st, s, ts, pick_file(st, s.workspace))


def share_file(st: State, s: Session, ts: int, f: File) -> None:
    ch = my_channel(st, s)
    if ch is not None:
        st.act(s, ts, "file_shared", file_ent(f), share_details(st, f, ch))


def share_details(st: State, f: File, ch: Channel) -> JSON:
    return {
        "url_private": f.url(),
        "shared_with": {"channel_id": ch.id, "access_level": "read"},
        "is_ext_shared": ch.is_shared,
        "teams_shared_with": list(ch.shared_with),
        "md5_hash": md5ish(st.rng),
    }


def canvas_open(st: State, s: Session, ts: int) -> None:
    c = st.rng.choice(st.world.canvases[s.workspace])
    ch = my_channel(st, s) if st.rng.random() < 0.3 else None
    details: JSON = {"is_channel_canvas": ch is not None}
    if ch is not None:
        details["linked_channel_id"] = ch.id
    st.act(s, ts, "canvas_opened", canvas_ent(c), details)


def canvas_simple(action: str) -> Handler:
    def handler(st: State, s: Session, ts: int) -> None:
        st.act(s, ts, action, canvas_ent(st.rng.choice(st.world.canvases[s.workspace])))

    return handler


def canvas_create(st: State, s: Session, ts: int) -> None:
    c = new_canvas(st, s.workspace, s.user.id)
    st.world.canvases[s.workspace].append(c)
    st.act(s, ts, "canvas_created", canvas_ent(c))


def canvas_share(st: State, s: Session, ts: int) -> None:
    ch = my_channel(st, s)
    if ch is not None:
        c = st.rng.choice(st.world.canvases[s.workspace][-40:])
        st.act(s, ts, "canvas_shared", canvas_ent(c), {"channel": ch.id, "access_level": "read"})


def canvas_access(st: State, s: Session, ts: int) -> None:
    c = st.rng.choice(st.world.canvases[s.workspace])
    other = st.rng.choice(st.org.users)
    details: JSON = {"entity_type": "user", "user": other.id, "access_level": "write"}
    st.act(s, ts, "canvas_access_added", canvas_ent(c), details)


def join(st: State, s: Session, ts: int) -> None:
    mine = set(st.world.members[s.user.id])
    pool = [
        c
        for c in st.world.channels[s.workspace]
        if c.privacy == "public" and not c.archived and c not in mine
    ]
    if pool:
        ch = st.rng.choice(pool)
        st.world.members[s.user.id].append(ch)
        action = "guest_channel_join" if s.user.role == "guest" else "user_channel_join"
        st.act(s, ts, action, channel_ent(ch))


def invite(st: State, s: Session, ts: int) -> None:
    """``s.user`` adds a colleague: the event is the colleague's join, in the inviter's context."""
    ch = my_channel(st, s)
    who = st.rng.choice(st.org.users)
    if ch is None or who is s.user or not st.is_active(who, ts) or ch.team not in who.workspaces:
        return
    if ch in st.world.members[who.id]:
        return
    st.world.members[who.id].append(ch)
    action = "guest_channel_join" if who.role == "guest" else "user_channel_join"
    details: JSON = {"inviter": dict(st.people[s.user.id]), "is_workflow": False}
    st.emit(ts, action, st.people[who.id], channel_ent(ch), st.ctx(s), details=details)


def leave(st: State, s: Session, ts: int) -> None:
    ch = my_channel(st, s)
    if ch is None or ch.is_org_shared or ch.name == "general":
        return
    st.world.members[s.user.id].remove(ch)
    action = "guest_channel_leave" if s.user.role == "guest" else "user_channel_leave"
    st.act(s, ts, action, channel_ent(ch))


def create_channel(st: State, s: Session, ts: int) -> None:
    rng = st.rng
    privacy = "public" if rng.random() < 0.72 else "private"
    name = f"{rng.choice(NEW_CHANNEL_WORDS)}-{rng.randint(2, 999)}"
    ch = Channel(st.new_id("C0"), name, privacy, s.workspace)
    st.world.channels[s.workspace].append(ch)
    st.world.members[s.user.id].append(ch)
    st.act(s, ts, f"{privacy}_channel_created", channel_ent(ch))


def rename_channel(st: State, s: Session, ts: int) -> None:
    ch = my_channel(st, s)
    if ch is None or ch.is_org_shared or ch.name == "general":
        return
    ch.name = f"{ch.name.split('-')[0]}-{st.rng.choice(NEW_CHANNEL_WORDS)}"
    st.act(s, ts, "channel_renamed", channel_ent(ch))


def archive_channel(st: State, s: Session, ts: int) -> None:
    ch = my_channel(st, s)
    if ch is None or ch.is_org_shared or ch.name == "general" or ch.is_shared:
        return
    ch.archived = True
    st.world.archived.append(ch)
    st.act(s, ts, f"{ch.privacy}_channel_archive", channel_ent(ch))


def tombstone(st: State, s: Session, ts: int) -> None:
    ch = my_channel(st, s)
    if ch is not None:
        posted = ts - st.rng.randint(60, 5 * 86400)
        stamp = f"{posted}.{st.rng.randint(0, 999999):06d}"
        payload: JSON = {"team": s.workspace, "channel": ch.id, "timestamp": stamp}
        st.act(s, ts, "message_tombstoned", ent("message", payload))


def public_link(st: State, s: Session, ts: int) -> None:
    f = pick_file(st, s.workspace)
    st.act(s, ts, "file_public_link_created", file_ent(f))
    later = ts + st.rng.randint(300, 4 * HOUR)
    if st.rng.random() < 0.5 and later < s.end:
        st.act(s, later, "file_public_link_revoked", file_ent(f))


def delete_file(st: State, s: Session, ts: int) -> None:
    files = st.world.files[s.workspace]
    f = st.rng.choice(files[-80:])
    if f.owner == s.user.id and len(files) > 500:
        files.remove(f)
        st.act(s, ts, "file_deleted", file_ent(f))


def workflow(st: State, s: Session, ts: int) -> None:
    wf = st.rng.choice(st.world.workflows)
    action = st.rng.choice(
        (
            "workflow_published",
            "workflow_modified",
            "workflow_created",
            "workflow_responses_csv_download",
        )
    )
    details: JSON | None = None
    if action == "workflow_published":
        details = {"new_version_id": st.new_id("Wv0"), "trigger": "shortcut"}
    st.act(s, ts, action, ent("workflow", wf), details)


def emoji(st: State, s: Session, ts: int) -> None:
    name = f"{st.rng.choice(EMOJI)}-{st.rng.randint(2, 99)}"
    st.act(s, ts, "emoji_added", ent("workspace", _workspace(st, s.workspace)), {"name": name})


def _workspace(st: State, team: str) -> JSON:
    loc = st.locations[team]
    return {"id": loc["id"], "name": loc["name"], "domain": loc["domain"]}


def profile(st: State, s: Session, ts: int) -> None:
    first, _, last = s.user.name.partition(" ")
    before = {"real_name": s.user.name, "first_name": first, "last_name": last, "display_name": ""}
    after = {**before, "display_name": f"{first.lower()}{last[:1].lower()}"}
    details: JSON = {"previous_profile": before, "new_profile": after}
    st.act(s, ts, "user_profile_updated", user_ent(s.user), details)


def workflow_v2(st: State, s: Session, ts: int) -> None:
    wf = st.rng.choice(st.world.workflows_v2)
    entity: JSON = {"type": "workflow_v2", "workflow_v2": wf.payload(ts, s.user.id)}
    st.act(s, ts, "workflow_v2_published", entity)


def _table(pairs: list[tuple[Handler, float]]) -> tuple[list[Handler], list[float]]:
    return [h for h, _ in pairs], list(itertools.accumulate(w for _, w in pairs))


STAFF_TABLE = _table(
    [
        (download, 34),
        (upload, 9),
        (share, 8),
        (canvas_open, 11),
        (canvas_simple("canvas_edited"), 5),
        (canvas_create, 1.2),
        (canvas_share, 0.8),
        (canvas_access, 0.6),
        (canvas_simple("canvas_downloaded"), 0.4),
        (join, 5),
        (invite, 1.5),
        (leave, 1.3),
        (create_channel, 0.7),
        (rename_channel, 0.12),
        (archive_channel, 0.25),
        (tombstone, 1.0),
        (public_link, 0.25),
        (delete_file, 0.6),
        (workflow, 0.5),
        (emoji, 0.12),
        (profile, 0.12),
        (workflow_v2, 0.08),
    ]
)
GUEST_TABLE = _table(
    [
        (download, 40),
        (upload, 8),
        (share, 6),
        (canvas_open, 10),
        (join, 2),
        (leave, 1),
    ]
)
