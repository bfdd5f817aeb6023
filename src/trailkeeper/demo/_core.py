"""Generation state, world objects and the Slack-shaped JSON builders."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from trailkeeper.demo._org import DemoOrganization, DemoUser, slack_id

JSON = dict[str, object]
DAY = 86400
HOUR = 3600


@dataclass(slots=True, eq=False)
class Session:
    """One login session of one user on one device."""

    user: DemoUser
    start: int
    end: int
    ua: str
    ip: str
    sid: int
    workspace: str
    kind: str
    logout: bool


@dataclass(slots=True, eq=False)
class Channel:
    id: str
    name: str
    privacy: str
    team: str
    is_shared: bool = False
    is_org_shared: bool = False
    shared_with: tuple[str, ...] = ()
    archived: bool = False

    def payload(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "privacy": self.privacy,
            "is_shared": self.is_shared,
            "is_org_shared": self.is_org_shared,
            "teams_shared_with": list(self.shared_with),
        }


@dataclass(slots=True, eq=False)
class File:
    id: str
    name: str
    filetype: str
    title: str
    team: str
    owner: str

    def payload(self) -> JSON:
        return {"id": self.id, "name": self.name, "filetype": self.filetype, "title": self.title}

    def url(self) -> str:
        return f"https://files.slack.com/files-pri/{self.team}-{self.id}/{self.name}"


@dataclass(slots=True, eq=False)
class App:
    id: str
    name: str
    scopes: tuple[str, ...]
    bot_scopes: tuple[str, ...]
    is_distributed: bool
    is_directory_approved: bool
    is_workflow_app: bool
    creator: str = ""
    team: str = ""
    ua: str = ""
    ip: str = ""

    def payload(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "is_distributed": self.is_distributed,
            "is_directory_approved": self.is_directory_approved,
            "is_workflow_app": self.is_workflow_app,
            "scopes": list(self.scopes),
            "bot_scopes": list(self.bot_scopes),
        }

    def context(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "scopes_bot": list(self.bot_scopes),
            "creator": self.creator,
            "team": self.team,
        }

    def bot_id(self) -> str:
        return "U0BOT" + self.id[2:8]

    def bot_user(self) -> JSON:
        email = f"botuser-{self.team}-{self.id}@slack-bots.com"
        return {"id": self.bot_id(), "name": self.name, "email": email, "team": self.team}


@dataclass(slots=True, eq=False)
class WorkflowV2:
    id: str
    app_id: str
    callback_id: str
    name: str
    steps: tuple[tuple[str, str, str], ...]

    def payload(self, updated: int, updated_by: str) -> JSON:
        steps = [
            {"name": n, "step_function_type": t, "step_function_app_id": a}
            for n, t, a in self.steps
        ]
        return {
            "id": self.id,
            "app_id": self.app_id,
            "date_updated": updated,
            "callback_id": self.callback_id,
            "name": self.name,
            "updated_by": updated_by,
            "step_configuration": steps,
        }


@dataclass
class World:
    """Everything users act on; filled by ``_world.build_world``."""

    channels: dict[str, list[Channel]] = field(default_factory=dict)
    archived: list[Channel] = field(default_factory=list)
    files: dict[str, list[File]] = field(default_factory=dict)
    canvases: dict[str, list[File]] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    usergroups: dict[str, JSON] = field(default_factory=dict)
    workflows: list[JSON] = field(default_factory=list)
    workflows_v2: list[WorkflowV2] = field(default_factory=list)
    templates: list[JSON] = field(default_factory=list)
    roles: list[JSON] = field(default_factory=list)
    account_roles: list[JSON] = field(default_factory=list)
    members: dict[str, list[Channel]] = field(default_factory=dict)
    default_channel: Channel | None = None


class State:
    """Mutable generation state: rng, time window, lookups and the output list."""

    def __init__(self, org: DemoOrganization, lo: int, hi: int, seed: int) -> None:
        self.org = org
        self.lo, self.hi = lo, hi
        self.rng = random.Random(f"trailkeeper-demo-events-{seed}-{lo}-{hi}")
        self.events: list[JSON] = []
        self.taken: set[str] = {u.id for u in org.users} | {w.id for w in org.workspaces}
        self.sids: set[int] = set()
        self.people: dict[str, JSON] = {u.id: user_obj(u) for u in org.users}
        self.users = {u.id: u for u in org.users}
        self.locations: dict[str, JSON] = {
            w.id: {"type": "workspace", "id": w.id, "name": w.name, "domain": w.domain}
            for w in org.workspaces
        }
        self.enterprise: JSON = {
            "type": "enterprise",
            "id": org.id,
            "name": org.name,
            "domain": org.domain,
        }
        self.world = World()
        self.sessions: dict[str, list[Session]] = {}
        self.active: dict[str, tuple[int, int]] = {u.id: (lo, hi) for u in org.users}
        self.admins = [u for u in org.users if u.role in ("owner", "admin")]

    def new_id(self, prefix: str, length: int = 9) -> str:
        return slack_id(self.rng, prefix, self.taken, length)

    def new_sid(self) -> int:
        while True:
            sid = self.rng.randrange(10**12, 10**13)
            if sid not in self.sids:
                self.sids.add(sid)
                return sid

    def emit(
        self,
        ts: int,
        action: str,
        actor: JSON,
        entity: JSON,
        context: JSON,
        *,
        details: JSON | None = None,
    ) -> None:
        """Append one audit event if ``ts`` falls inside the window."""
        if ts < self.lo or ts > self.hi:
            return
        event: JSON = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "date_create": ts,
            "action": action,
            "actor": {"type": "user", "user": dict(actor)},
            "entity": entity,
            "context": context,
        }
        if details:
            event["details"] = details
        self.events.append(event)

    def ctx(self, s: Session, location: JSON | None = None) -> JSON:
        """The context of an action taken in session ``s``."""
        loc = location if location is not None else self.locations[s.workspace]
        return {"location": dict(loc), "ua": s.ua, "ip_address": s.ip, "session_id": s.sid}

    def app_ctx(self, app: App, location: JSON | None = None) -> JSON:
        """The context of an action an app took through its token."""
        loc = location if location is not None else self.locations[app.team]
        return {
            "location": dict(loc),
            "ua": app.ua,
            "ip_address": app.ip,
            "session_id": None,
            "app": app.context(),
        }

    def act(
        self,
        s: Session,
        ts: int,
        action: str,
        entity: JSON,
        details: JSON | None = None,
        *,
        enterprise: bool = False,
    ) -> None:
        """Emit an action by the session's user in the session's context."""
        loc = self.enterprise if enterprise else None
        self.emit(ts, action, self.people[s.user.id], entity, self.ctx(s, loc), details=details)

    def session_at(self, user: DemoUser, ts: int) -> Session | None:
        """The first session of ``user`` that is still open at or after ``ts``."""
        return next((s for s in self.sessions.get(user.id, []) if s.end >= ts), None)

    def admin_slot(self, ts: int, admin: DemoUser | None = None) -> tuple[Session, int] | None:
        """A session of an admin open at or after ``ts`` and a time inside it."""
        who = admin or self.rng.choice(self.admins)
        found = (x for x in self.sessions.get(who.id, []) if x.end >= ts and x.kind != "mobile")
        s = next(found, None)
        if s is None:
            return None
        lo = max(s.start + 120, ts)
        return s, self.rng.randint(lo, max(lo, s.end - 120))

    def is_active(self, user: DemoUser, ts: int) -> bool:
        lo, hi = self.active[user.id]
        return lo <= ts <= hi


def user_obj(u: DemoUser) -> JSON:
    return {"id": u.id, "name": u.name, "email": u.email, "team": u.team}


def ent(kind: str, payload: JSON) -> JSON:
    """An entity of ``kind`` wrapping a fresh copy of a flat payload."""
    return {"type": kind, kind: dict(payload)}


def user_ent(u: DemoUser) -> JSON:
    return {"type": "user", "user": user_obj(u)}


def channel_ent(ch: Channel) -> JSON:
    return {"type": "channel", "channel": ch.payload()}


def file_ent(f: File) -> JSON:
    return {"type": "file", "file": f.payload()}


def canvas_ent(f: File) -> JSON:
    return {"type": "canvas", "canvas": {"id": f.id, "filetype": f.filetype, "title": f.title}}


def app_ent(a: App) -> JSON:
    return {"type": "app", "app": a.payload()}
