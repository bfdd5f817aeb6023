"""Synthetic audit history: catalog-valid events made fast from templates, and their bulk load.

An event's bytes are spliced from fragments (actor, entity, context) serialized once each the way
`canonical_bytes` serializes them, so a synthetic body is exactly what the ingest path would store
for the same event; a test holds the two to that.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple

import orjson

from trailkeeper.directory import admin
from trailkeeper.directory.records import Organization, Workspace
from trailkeeper.events import PreparedEvent
from trailkeeper.storage.base import DirectoryStore, EventStore

EVENTS_PER_S = 2  # mean density of the history: a busy organization of a few thousand people
MIN_SPAN_S = 2 * 3600  # even a small history spans two hours, so a one-hour window fits inside
BULK_BATCH = 10_000

COMMON_ACTION = "user_login"
RARE_ACTION = "user_deactivated"

# Entity kinds: SELF is the actor as the entity (logins, profile changes); the others name pools.
SELF, USER, CHANNEL, FILE, APP, WORKSPACE = "self", "user", "channel", "file", "app", "workspace"

# (action, entity kind, weight): a skewed mix with one common and one rare action (about 1/9000).
ACTION_MIX: tuple[tuple[str, str, int], ...] = (
    ("user_login", SELF, 2500),
    ("file_downloaded", FILE, 1400),
    ("user_logout", SELF, 900),
    ("user_channel_join", CHANNEL, 900),
    ("file_uploaded", FILE, 700),
    ("file_shared", FILE, 500),
    ("user_login_failed", SELF, 400),
    ("user_profile_updated", SELF, 400),
    ("user_channel_leave", CHANNEL, 350),
    ("user_session_invalidated", SELF, 200),
    ("public_channel_created", CHANNEL, 150),
    ("file_public_link_created", FILE, 100),
    ("private_channel_created", CHANNEL, 80),
    ("channel_renamed", CHANNEL, 60),
    ("emoji_added", WORKSPACE, 60),
    ("user_created", USER, 60),
    ("guest_created", USER, 30),
    ("app_installed", APP, 20),
    ("public_channel_archive", CHANNEL, 20),
    ("app_scopes_expanded", APP, 10),
    ("role_change_to_admin", USER, 5),
    ("user_deactivated", USER, 1),
)

# Slack's top-level key order (events.TOP_LEVEL_KEYS); each spliced fragment is sorted-key JSON.
BODY_TEMPLATE = b'{"id":"%s","date_create":%d,"action":"%s","actor":%s,"entity":%s,"context":%s}'

FIRST_NAMES = ("ada", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivo", "june")
LAST_NAMES = ("park", "silva", "okafor", "novak", "haas", "tanaka", "ruiz", "berg", "ali", "kim")
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Slack/4.38.125 (Macintosh; Intel Mac OS X 14_4) Electron/29.1.4",
    "com.tinyspeck.chatlyio/24.04.10 (iPhone; iOS 17.4.1; Scale/3.00)",
    "Slack/24.04.10.0 (Android 14; Pixel 8)",
)
PUBLIC_FIRST_OCTETS = (23, 31, 34, 52, 81, 94, 104, 151, 185, 203)
FILE_TYPES = ("pdf", "png", "docx", "xlsx", "csv", "zip", "mp4", "txt")


class Fragment(NamedTuple):
    """A pre-serialized piece of an event: the id it is filtered by and its JSON bytes."""

    id: str | None
    json: bytes


@dataclass(frozen=True)
class SynthOrg:
    """An organization and its workspaces, as the benchmark creates them."""

    org: Organization
    workspaces: tuple[Workspace, ...]


@dataclass(frozen=True)
class Timeline:
    """`total` events spread evenly over `span_s` seconds from `start`, oldest first."""

    start: int
    span_s: int
    total: int

    def date_of(self, index: int) -> int:
        """The `date_create` of the event at `index`."""
        return self.start + (index * self.span_s) // max(self.total, 1)

    @property
    def end(self) -> int:
        """The last second of the timeline."""
        return self.start + self.span_s


@dataclass(frozen=True)
class LoadResult:
    """How long a bulk load of `events` events took."""

    events: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        """Load rate."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def synth_org(org_id: str, domain: str, workspaces: int = 4) -> SynthOrg:
    """An organization `org_id` (E…) with workspaces `T<rest of org id><n>`."""
    org = Organization(org_id, f"{domain.title()} Org", domain)
    spaces = tuple(
        Workspace(f"T{org_id[1:]}{n}", org_id, f"{domain.title()} {n}", f"{domain}-{n}")
        for n in range(1, workspaces + 1)
    )
    return SynthOrg(org, spaces)


def history_timeline(total: int, end: int) -> Timeline:
    """A history of `total` events ending at `end`, at EVENTS_PER_S on average."""
    span = max(total // EVENTS_PER_S, MIN_SPAN_S)
    return Timeline(end - span, span, total)


def recover_history_timeline(total: int, newest: int) -> Timeline:
    """The timeline `history_timeline` made, found again from its newest event's date."""
    span = max(total // EVENTS_PER_S, MIN_SPAN_S)
    start = newest - ((total - 1) * span) // max(total, 1)
    return Timeline(start, span, total)


def ensure_directory(store: DirectoryStore, synth: SynthOrg) -> None:
    """Create the organization and its workspaces (no-op when they exist)."""
    admin.create_organization(store, synth.org.id, synth.org.name, synth.org.domain)
    for ws in synth.workspaces:
        admin.create_workspace(store, ws.id, ws.org_id, ws.name, ws.domain)


def _dump(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2a02:{rng.randrange(65536):x}:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
    first = rng.choice(PUBLIC_FIRST_OCTETS)
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _zipf_cum_weights(count: int, exponent: float = 0.8) -> list[float]:
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += rank**-exponent
        cumulative.append(total)
    return cumulative


class EventFactory:
    """Makes an organization's events; the same seed and indexes always give the same events."""

    def __init__(
        self, synth: SynthOrg, *, seed: int, users: int = 5000, channels: int = 2000
    ) -> None:
        self.synth = synth
        self.seed = seed
        rng = random.Random(seed)
        self.users = [self._user(rng, n) for n in range(users)]
        self.actor_weights = _zipf_cum_weights(users)
        self.channels = [self._channel(rng, n) for n in range(channels)]
        self.channel_weights = _zipf_cum_weights(channels)
        self.files = [self._file(rng, n) for n in range(users * 4)]
        self.apps = [self._app(rng, n) for n in range(60)]
        self.workspaces = [
            Fragment(ws.id, _dump({"type": "workspace", "workspace": self._place(ws)}))
            for ws in synth.workspaces
        ]
        self.contexts = [self._context(rng) for _ in range(4096)]
        self.action_weights = [float(w) for w in accumulate(w for _, _, w in ACTION_MIX)]

    @staticmethod
    def _place(ws: Workspace) -> dict[str, str]:
        return {"id": ws.id, "name": ws.name, "domain": ws.domain}

    def _user(self, rng: random.Random, n: int) -> Fragment:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        uid = f"U0{n:07X}"
        user = {
            "id": uid,
            "name": f"{first.title()} {last.title()}",
            "email": f"{first}.{last}{n}@{self.synth.org.domain}.example",
            "team": rng.choice(self.synth.workspaces).id,
        }
        return Fragment(uid, _dump({"type": "user", "user": user}))

    @staticmethod
    def _channel(rng: random.Random, n: int) -> Fragment:
        cid = f"C0{n:07X}"
        private = rng.random() < 0.3
        channel = {
            "id": cid,
            "name": f"{'priv' if private else 'team'}-{n}",
            "privacy": "private" if private else "public",
            "is_shared": rng.random() < 0.05,
            "is_org_shared": rng.random() < 0.2,
        }
        return Fragment(cid, _dump({"type": "channel", "channel": channel}))

    @staticmethod
    def _file(rng: random.Random, n: int) -> Fragment:
        fid, kind = f"F0{n:07X}", rng.choice(FILE_TYPES)
        file = {"id": fid, "name": f"doc-{n}.{kind}", "filetype": kind, "title": f"Document {n}"}
        return Fragment(fid, _dump({"type": "file", "file": file}))

    @staticmethod
    def _app(rng: random.Random, n: int) -> Fragment:
        aid = f"A0{n:07X}"
        app: dict[str, Any] = {
            "id": aid,
            "name": f"Integration {n}",
            "is_distributed": rng.random() < 0.5,
            "is_directory_approved": rng.random() < 0.5,
            "is_workflow_app": False,
            "scopes": rng.sample(["channels:read", "chat:write", "files:read", "users:read"], 2),
        }
        return Fragment(aid, _dump({"type": "app", "app": app}))

    def _context(self, rng: random.Random) -> bytes:
        ws = rng.choice(self.synth.workspaces)
        context = {
            "location": {"type": "workspace", **self._place(ws)},
            "ua": rng.choice(USER_AGENTS),
            "ip_address": _ip(rng),
            "session_id": rng.randrange(10**9, 10**10),
        }
        return _dump(context)

    def _entity(self, rng: random.Random, kind: str, actor: Fragment) -> Fragment:
        if kind == SELF:
            return actor
        if kind == USER:
            return self.users[rng.randrange(len(self.users))]
        if kind == CHANNEL:
            return rng.choices(self.channels, cum_weights=self.channel_weights)[0]
        if kind == FILE:
            return self.files[rng.randrange(len(self.files))]
        if kind == APP:
            return self.apps[rng.randrange(len(self.apps))]
        return rng.choice(self.workspaces)

    def make_events(self, start: int, count: int, timeline: Timeline) -> list[PreparedEvent]:
        """Events `start` .. `start + count - 1` of the timeline, oldest first."""
        rng = random.Random(self.seed * 4_294_967_296 + start)
        mix = rng.choices(ACTION_MIX, cum_weights=self.action_weights, k=count)
        actors = rng.choices(self.users, cum_weights=self.actor_weights, k=count)
        contexts = rng.choices(self.contexts, k=count)
        org_id, events = self.synth.org.id, []
        for n in range(count):
            action, kind, _ = mix[n]
            actor, bits = actors[n], f"{rng.getrandbits(128):032x}"
            entity = self._entity(rng, kind, actor)
            event_id = f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-{bits[16:20]}-{bits[20:]}"
            date = timeline.date_of(start + n)
            body = BODY_TEMPLATE % (
                event_id.encode(),
                date,
                action.encode(),
                actor.json,
                entity.json,
                contexts[n],
            )
            events.append(
                PreparedEvent(org_id, event_id, date, action, actor.id or "", entity.id, body)
            )
        return events


def batch_payload(events: Sequence[PreparedEvent]) -> bytes:
    """An ingest request body (a JSON array) carrying these events, ids and dates included."""
    return b"[" + b",".join(e.body for e in events) + b"]"


def bulk_load(
    store: EventStore,
    factory: EventFactory,
    timeline: Timeline,
    *,
    batch: int = BULK_BATCH,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Append the whole timeline through `Store.append`, `batch` events per commit."""
    started = time.perf_counter()
    for start in range(0, timeline.total, batch):
        count = min(batch, timeline.total - start)
        store.append(factory.make_events(start, count, timeline))
        if progress is not None:
            progress(start + count)
    return LoadResult(timeline.total, time.perf_counter() - started)
