"""Fixtures for detection tests: a synthetic IP world (real MMDB files) and a `Story` that
writes Slack-shaped events of an organization through a real pipeline."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from trailkeeper.detect.controls import OrgControls
from trailkeeper.detect.enrichment import Enrichment, load_enrichment
from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.tuning import Params

from .world import ip, write_world

ORG = "E0TEST"
WS = "T0TESTA"
DAY = 86_400
START = 1_700_006_400 - 1_700_006_400 % DAY + 8 * 3600  # a day at 08:00 UTC
DESKTOP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.2 Safari/537.36 Sonic Slack_SSB/4.41.105"
)
DESKTOP_OLD = DESKTOP.replace("4.41.105", "4.38.121")
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
CHROME_OLD = CHROME.replace("130.0.0.0", "118.0.0.0")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
OPERA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36 OPR/114.0.0.0"
)
IPHONE = "com.tinyspeck.chatlyio/24.11.10 (iPhone; iOS 18.1; Scale/3.00)"
SCRIPT = "python-requests/2.32.3"
GO = "Go-http-client/1.1"
SDK = "Python/3.11.9 slackclient/3.33.1 Linux/5.15.0-1064-aws"


@pytest.fixture(scope="session")
def world_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def enrichment(world_paths: dict[str, str]) -> Enrichment:
    return load_enrichment(**world_paths)


def user_obj(uid: str) -> dict[str, Any]:
    return {"id": uid, "name": f"user {uid}", "email": f"{uid.lower()}@example.com", "team": WS}


class Story:
    """Writes one organization's events through a pipeline and keeps what it emitted."""

    def __init__(self, pipeline: DetectionPipeline) -> None:
        self.pipeline = pipeline
        self.anomalies: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._sessions = itertools.count(10_000)

    def session(self) -> int:
        return next(self._sessions)

    def event(
        self,
        action: str,
        user: str,
        ts: float,
        *,
        net: str = "office",
        host: int = 10,
        ua: str = DESKTOP,
        session: int | None = 1,
        entity: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        app: dict[str, Any] | None = None,
        address: str | None = None,
    ) -> list[dict[str, Any]]:
        event: dict[str, Any] = {
            "id": f"ev{next(self._ids)}",
            "date_create": int(ts),
            "action": action,
            "actor": {"type": "user", "user": user_obj(user)},
            "entity": entity or {"type": "user", "user": user_obj(user)},
            "context": {
                "location": {"type": "workspace", "id": WS},
                "ua": ua,
                "ip_address": address or ip(net, host),
                "session_id": session,
            },
        }
        if app is not None:
            event["context"]["app"] = app
        if details:
            event["details"] = details
        found = self.pipeline.process(event, org_id=ORG)
        self.anomalies += found
        return found

    def signal(self, user: str, ts: float, **fields: Any) -> list[dict[str, Any]]:
        payload = {"actor_id": user, "date": int(ts), "api_method": "conversations.history"}
        payload.update(fields)
        found = self.pipeline.process_signal(ORG, payload)
        self.anomalies += found
        return found

    def download(self, user: str, ts: float, n: int = 0, **kw: Any) -> list[dict[str, Any]]:
        file = {"type": "file", "file": {"id": f"F{n:08d}", "name": "f.pdf"}}
        return self.event("file_downloaded", user, ts, entity=file, **kw)

    def workday(
        self,
        user: str,
        day: int,
        *,
        net: str = "office",
        ua: str = DESKTOP,
        downloads: int = 3,
        hour: float = 9.0,
    ) -> list[dict[str, Any]]:
        """A quiet working day: a login, a few downloads and canvas opens, a logout."""
        t = START + day * DAY + (hour - 8) * 3600
        sid = self.session()
        out = self.event("user_login", user, t, net=net, ua=ua, session=sid)
        for k in range(downloads):
            out += self.download(user, t + 600 + k * 1800, k, net=net, ua=ua, session=sid)
        canvas = {"type": "canvas", "canvas": {"id": f"F{day % 3:08d}C"}}
        out += self.event(
            "canvas_opened", user, t + 3000, net=net, ua=ua, session=sid, entity=canvas
        )
        out += self.event("user_logout", user, t + 8 * 3600, net=net, ua=ua, session=sid)
        return out

    def population(
        self, days: int, users: int = 30, prefix: str = "U0P", **kw: Any
    ) -> list[dict[str, Any]]:
        """`users` colleagues (U0P00...) with quiet working days, for organization baselines."""
        out = []
        for day in range(days):
            if day % 7 in (5, 6):
                continue
            for u in range(users):
                out += self.workday(f"{prefix}{u:02d}", day, **kw)
        return out

    def reasons(self) -> list[list[str]]:
        return [a["details"]["reason"] for a in self.anomalies]


@pytest.fixture
def make_story(enrichment: Enrichment) -> Callable[..., Story]:
    def make(
        controls: OrgControls | None = None,
        warmup_days: float = 0.0,
        params: Params | None = None,
    ) -> Story:
        pipeline = DetectionPipeline(
            enrichment,
            controls_provider=(lambda org: controls) if controls else None,
            warmup_days=warmup_days,
            params=params,
        )
        return Story(pipeline)

    return make


@pytest.fixture
def story(make_story: Callable[..., Story]) -> Story:
    return make_story()
