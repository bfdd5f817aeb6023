"""Slack-shaped audit events (they pass `validation.prepare_event`), activity signals in the
`detect.signals` shape (one API method and count each) and their labels, collected by `Emitter`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from trailkeeper.simulate.population import ORG_ID, ORG_NAME, WORKSPACES, Person

JSON = dict[str, Any]
FILES_PER_WORKSPACE = 1500
CHANNELS_PER_WORKSPACE = 80
FILE_TYPES = (
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("png", "image/png"),
    ("csv", "text/csv"),
    ("zip", "application/zip"),
    ("txt", "text/plain"),
)
TOPICS = (
    "roadmap", "budget", "contract", "design", "invoice", "report", "notes", "export",
    "customer_list", "architecture", "pricing", "forecast", "offer_letter", "incident",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth of one malicious event or signal."""

    campaign_id: str
    scenario: str
    phase: str


@dataclass(frozen=True, slots=True)
class Act:
    """What is done: an action on an entity, its details, and whether it is organization-wide
    (then `context.location` is the enterprise rather than the actor's workspace)."""

    action: str
    entity: JSON
    details: JSON | None = None
    org_wide: bool = False


Usage = tuple[dict[str, int], list[tuple[str, int]]]


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where and how an action is taken: client, address, session and workspace."""

    ua: str
    ip: str
    sid: int | None
    team: str
    ja4: str | None = None


def _files(rng: random.Random, team: str) -> list[JSON]:
    files = []
    for n in range(FILES_PER_WORKSPACE):
        ext, mime = rng.choice(FILE_TYPES)
        topic = rng.choice(TOPICS)
        fid = f"F0{team[5:8]}{n:06d}"
        files.append({"id": fid, "name": f"{topic}_{n}.{ext}", "filetype": mime, "title": topic})
    return files


def _channels(rng: random.Random, team: str) -> list[JSON]:
    return [
        {
            "id": f"C0{team[5:8]}{n:05d}",
            "name": f"{team[5:].lower()}-channel-{n}",
            "privacy": "private" if rng.random() < 0.2 else "public",
            "is_shared": False,
            "is_org_shared": False,
        }
        for n in range(CHANNELS_PER_WORKSPACE)
    ]


class Emitter:
    """Collects events, signals and labels; builds Slack's shapes with shared sub-objects."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"trailkeeper-sim-objects-{seed}")
        self.events: list[JSON] = []
        self.signals: list[JSON] = []
        self.labels: dict[str, Label] = {}
        self.locations = {
            ws: {"type": "workspace", "id": ws, "name": name, "domain": domain}
            for ws, name, domain in WORKSPACES
        }
        self.enterprise = {
            "type": "enterprise",
            "id": ORG_ID,
            "name": ORG_NAME,
            "domain": "sim-org",
        }
        self.files = {ws: _files(rng, ws) for ws, _, _ in WORKSPACES}
        self.channels = {ws: _channels(rng, ws) for ws, _, _ in WORKSPACES}
        self._actors: dict[str, JSON] = {}

    def actor(self, p: Person) -> JSON:
        """The (shared) actor object of a person."""
        found = self._actors.get(p.id)
        if found is None:
            found = self._actors[p.id] = {"type": "user", "user": p.user_object()}
        return found

    def event(
        self, rng: random.Random, ts: int, who: Person, ctx: Ctx, act: Act, *, label: Label | None
    ) -> str:
        """Append one audit event; returns its id."""
        event_id = uuid4_text(rng)
        location = self.enterprise if act.org_wide else self.locations[ctx.team]
        event: JSON = {
            "id": event_id,
            "date_create": ts,
            "action": act.action,
            "actor": self.actor(who),
            "entity": act.entity,
            "context": {
                "location": location,
                "ua": ctx.ua,
                "ip_address": ctx.ip,
                "session_id": ctx.sid,
            },
        }
        if act.details:
            event["details"] = act.details
        self.events.append(event)
        if label is not None:
            self.labels[event_id] = label
        return event_id

    def signal(
        self, rng: random.Random, ts: int, who: Person, ctx: Ctx, call: tuple[str, int, str | None]
    ) -> str:
        """Append one activity signal: `call` = (API method, count, target id or None).

        The shape is `detect.signals`' (one method per signal) plus an `id` for the labels,
        which the evaluation strips before handing the signal over.
        """
        signal_id = f"sig-{rng.getrandbits(64):016x}"
        method, count, target = call
        signal: JSON = {
            "id": signal_id,
            "date": ts,
            "actor_id": who.id,
            "api_method": method,
            "count": count,
            "session_id": ctx.sid,
            "ip_address": ctx.ip,
            "ua": ctx.ua,
            "workspace_id": ctx.team,
        }
        if target is not None:
            signal["target_id"] = target
        if ctx.ja4:
            signal["client_fingerprint"] = ctx.ja4
        self.signals.append(signal)
        return signal_id

    def usage(
        self, rng: random.Random, window: tuple[int, int], who: Person, ctx: Ctx, calls: Usage
    ) -> list[str]:
        """An hour (or `window` = (start, seconds)) of API use as signals at random moments.

        `calls` = (untargeted method counts, [(conversation read, history calls)]): one signal
        per method and one per conversation read, as a producer aggregating per minute would.
        Returns the signals' ids.
        """
        start, span = window
        methods, reads = calls
        calls_made: list[tuple[str, int, str | None]] = [
            (m, n, None) for m, n in methods.items() if n > 0
        ]
        calls_made += [("conversations.history", max(1, n), t) for t, n in reads]
        return [self.signal(rng, start + rng.randrange(span), who, ctx, c) for c in calls_made]

    def label(self, ids: list[str], label: Label) -> None:
        """Label events or signals as part of a campaign."""
        for item_id in ids:
            self.labels[item_id] = label

    def file_entity(self, rng: random.Random, team: str) -> JSON:
        """A file of the workspace (recent files are likelier)."""
        pool = self.files[team]
        f = rng.choice(pool[-200:]) if rng.random() < 0.4 else rng.choice(pool)
        return {"type": "file", "file": f}

    def channel_entity(self, rng: random.Random, team: str) -> JSON:
        """A channel of the workspace."""
        return {"type": "channel", "channel": rng.choice(self.channels[team])}

    def enterprise_entity(self) -> JSON:
        """The organization as an entity."""
        e = self.enterprise
        return {"type": "enterprise", "enterprise": {k: e[k] for k in ("id", "name", "domain")}}

    def workspace_entity(self, team: str) -> JSON:
        """A workspace as an entity."""
        loc = self.locations[team]
        return {"type": "workspace", "workspace": {k: loc[k] for k in ("id", "name", "domain")}}


def uuid4_text(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from `rng`, as text; what `uuid.UUID(int=..., version=4)`
    gives, without building the object (one per event adds up)."""
    h = f"{rng.getrandbits(128):032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def user_entity(p: Person) -> JSON:
    """A person as an entity."""
    return {"type": "user", "user": p.user_object()}


def file_url(team: str, f: JSON) -> str:
    """The private URL of a file."""
    return f"https://files.slack.com/files-pri/{team}-{f['id']}/{f['name']}"
