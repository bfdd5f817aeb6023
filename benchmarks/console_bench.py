"""Server time of the admin console on a log of a million events (docs/console.md).

    .venv/bin/python benchmarks/console_bench.py [--events 1000000] [--db PATH] [--runs 15]
                                                 [--postgres URL] [--append 200000]

Builds (or reuses) a store holding `--events` synthetic events of one organization, appended
through `Store.append` in batches of 20,000 (`bench.synth`: ~2 events/s over the history, 5,000
people, a skewed mix of 22 actions), plus 200 anomalies; starts the real app on uvicorn; signs an
Owner in; then times each console request: first paint of the log, filter changes, the next page,
the chart, an event, the anomalies, an export. Each figure is the median (and p95) over `--runs`
requests after two warm-ups, both as the app measured itself (`Server-Timing`) and as the client
saw it over loopback HTTP. `--append N` also compares append throughput with and without the
console's three indexes. Targets: first paint <= 300 ms, filter changes <= 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import serve_in_thread  # noqa: E402
from trailkeeper.bench.synth import (  # noqa: E402
    EventFactory,
    bulk_load,
    ensure_directory,
    history_timeline,
    synth_org,
)
from trailkeeper.catalog import load_catalog  # noqa: E402
from trailkeeper.config import load_settings  # noqa: E402
from trailkeeper.directory.accounts import User  # noqa: E402
from trailkeeper.directory.signin import start_session  # noqa: E402
from trailkeeper.query import LogFilter  # noqa: E402
from trailkeeper.recorder import Recorder  # noqa: E402
from trailkeeper.storage import open_store  # noqa: E402
from trailkeeper.storage.base import Store  # noqa: E402
from trailkeeper.web.app import create_app  # noqa: E402

ORG = "E0BENCH"
OWNER = "U0BENCHOWNER"
BATCH = 20_000


def build(store: Store, total: int) -> float:
    """The history, unless the store already holds it; seconds spent appending."""
    synth = synth_org(ORG, "bench")
    ensure_directory(store, synth)
    seconds = 0.0
    if store.count_events(ORG) < total:
        factory = EventFactory(synth, seed=1)
        timeline = history_timeline(total, int(time.time()) - 60)

        def progress(done: int) -> None:
            if done % 200_000 == 0:
                print(f"  appended {done:,} events", flush=True)

        seconds = bulk_load(store, factory, timeline, batch=BATCH, progress=progress).seconds
    if not store.scan(ORG, LogFilter(actions=("anomaly",)), None, 1):
        add_anomalies(store)
    return seconds


def add_anomalies(store: Store) -> None:
    """200 anomaly events citing real downloads, through the normal ingest path."""
    rows = store.scan(ORG, LogFilter(actions=("file_downloaded",)), None, 1000)
    events = []
    for row in rows[::5]:
        trigger = orjson.loads(row.body)
        events.append({
            "action": "anomaly", "date_create": trigger["date_create"],
            "actor": trigger["actor"], "entity": {"type": "user", "user": trigger["actor"]["user"]},
            "context": trigger["context"],
            "details": {"reason": ["excessive_downloads"],
                        "action_timestamp": trigger["date_create"] * 1_000_000,
                        "trailkeeper_evidence": {"detector": "ExcessiveDownloadsDetector",
                                                 "score": 5.0, "event_ids": [trigger["id"]]}},
        })  # fmt: skip
    report = Recorder(store, load_catalog()).record_many(events)
    assert not report.rejected, report.rejected[:1]


def owner_cookie(store: Store) -> str:
    if store.get_user(OWNER) is None:
        store.put_user(User(OWNER, ORG, "Bench Owner", "owner@bench.example", "owner", 0))
    user = store.get_user(OWNER)
    assert user is not None
    cookie, _ = start_session(store, user, 86_400, int(time.time()))
    return cookie


@dataclass
class Figure:
    name: str
    server_ms: list[float]
    client_ms: list[float]
    note: str = ""

    def row(self) -> str:
        def stat(values: list[float]) -> str:
            p95 = sorted(values)[max(0, int(len(values) * 0.95) - 1)]
            return f"{statistics.median(values):7.1f} {p95:7.1f}"

        return f"{self.name:<44} {stat(self.server_ms)}   {stat(self.client_ms)}  {self.note}"


def timed(client: httpx.Client, path: str, runs: int) -> tuple[list[float], list[float], str]:
    server, wall, body = [], [], ""
    for n in range(runs + 2):
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        if n >= 2:
            wall.append(elapsed)
            server.append(float(answer.headers["server-timing"].split("dur=")[1]))
        body = answer.text
    return server, wall, body


def samples(store: Store) -> dict[str, Any]:
    """Values to filter by, taken from the log itself."""
    rows = store.scan(ORG, LogFilter(), None, 20_000)
    events = [orjson.loads(r.body) for r in rows]
    actors = Counter(e["actor"]["user"]["id"] for e in events)
    mid = events[len(events) // 2]
    top = actors.most_common(1)[0][0]
    return {
        "top_actor": top,
        "top_email": next(e["actor"]["user"]["email"] for e in events
                          if e["actor"]["user"]["id"] == top),
        "mid_actor": actors.most_common(200)[-1][0],
        "ip": mid["context"]["ip_address"],
        "session": mid["context"]["session_id"],
        "workspace": mid["context"]["location"]["id"],
        "channel": next(e["entity"]["channel"]["id"] for e in events if "channel" in e["entity"]),
        "event": mid["id"],
        "newest": events[0]["date_create"],
    }  # fmt: skip


def scenarios(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, path) of each timed request."""
    day = s["newest"] - 2 * 86_400
    logs, counts = "/console/logs?range=all", "/console/counts?partial=1"
    return [
        ("first paint: log, default (last 7 days)", "/console/logs"),
        ("first paint: log, all time", logs),
        ("filter: action (user_login)", f"{logs}&action=user_login"),
        ("filter: rare action (user_deactivated)", f"{logs}&action=user_deactivated"),
        ("filter: actor (busiest person)", f"{logs}&actor={s['top_actor']}"),
        ("filter: actor by email", f"{logs}&actor={s['top_email']}"),
        ("filter: actor + action", f"{logs}&actor={s['mid_actor']}&action=file_downloaded"),
        ("filter: entity (a channel)", f"{logs}&entity={s['channel']}"),
        ("filter: workspace", f"{logs}&workspace={s['workspace']}"),
        ("filter: IP address", f"{logs}&ip={s['ip']}"),
        ("filter: session", f"{logs}&session={s['session']}"),
        ("filter: last 24 hours", "/console/logs?range=24h"),
        ("filter: custom hour two days back", f"/console/logs?from={day}&to={day + 3600}"),
        ("filter: workspace + rare action",
         f"{logs}&workspace={s['workspace']}&action=user_deactivated"),
        ("filter: text, common (a person's email)", f"{logs}&q={s['top_email']}"),
        ("filter: text, absent (reads the window)", f"{logs}&q=no-such-text-anywhere"),
        ("filter: text + IP", f"{logs}&q=file&ip={s['ip']}"),
        ("chart: all time (whole range counted)", f"{counts}&range=all"),
        ("chart: last 24 hours", f"{counts}&range=24h"),
        ("chart: workspace (window)", f"{counts}&range=all&workspace={s['workspace']}"),
        ("chart: text (window)", f"{counts}&range=all&q={s['top_email']}"),
        ("event detail (+ neighbours, proof)", f"/console/events/{s['event']}"),
        ("anomalies", "/console/anomalies?range=all"),
        ("apps and tokens", "/console/apps"),
    ]  # fmt: skip


def next_page(client: httpx.Client, runs: int) -> Figure:
    """Infinite scrolling: the rows of the page after the first, by the API's cursor."""
    import html
    import re

    first = client.get("/console/logs?range=all").text
    more = html.unescape(re.findall(r'href="([^"]+)" rel="next"', first)[0]) + "&partial=1"
    server, wall, _ = timed(client, more, runs)
    return Figure("next page (scrolling, rows only)", server, wall)


def export_rate(client: httpx.Client, newest: int) -> str:
    page = client.get("/console/logs").text
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    form = {"csrf_token": token.group(1), "format": "jsonl", "from": str(newest - 86_400)}
    started = time.perf_counter()
    lines = 0
    with client.stream("POST", "/console/export", data=form) as answer:
        for chunk in answer.iter_bytes():
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    rate = lines / seconds
    return (
        f"export of the last 24 hours as JSONL: {lines:,} events in {seconds:.2f} s ({rate:,.0f}/s)"
    )


def append_rates(count: int, tmp: Path) -> str:
    """Append throughput on a fresh SQLite store, with and without the console's indexes."""
    rates = []
    for keep in (False, True):
        store = open_store(f"sqlite:///{tmp / f'append-{keep}.db'}")
        store.migrate()
        if not keep:
            for name in ("events_org_location", "events_org_ip", "events_org_session"):
                store._execute(f"DROP INDEX {name}")  # type: ignore[attr-defined]
        synth = synth_org(ORG, "bench")
        ensure_directory(store, synth)
        loaded = bulk_load(
            store,
            EventFactory(synth, seed=2),
            history_timeline(count, int(time.time())),
            batch=BATCH,
        )
        rates.append(loaded.events_per_s)
        store.close()
    change = rates[1] / rates[0] - 1
    return (
        f"append of {count:,} events in batches of {BATCH:,}: {rates[0]:,.0f} events/s without"
        f" the console's indexes, {rates[1]:,.0f} with them ({change:+.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--db", default=str(Path(tempfile.gettempdir()) / "trailkeeper-console-bench.db")
    )
    parser.add_argument("--postgres", default="", help="PostgreSQL URL instead of the SQLite file")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--append", type=int, default=0)
    parser.add_argument("--window", type=int, default=0, help="console_search_window to use")
    args = parser.parse_args()
    url = args.postgres or f"sqlite:///{args.db}"
    store = open_store(url)
    store.migrate()
    print(f"store: {url.split('?')[0]}")
    seconds = build(store, args.events)
    total = store.count_events(ORG)
    if seconds:
        print(f"built {total:,} events in {seconds:.0f} s ({total / seconds:,.0f} events/s)")
    if args.postgres:  # what autovacuum does after a bulk load: statistics, visibility map
        store._execute("VACUUM ANALYZE events")  # type: ignore[attr-defined]
    settings = load_settings({}, data_dir=tempfile.mkdtemp(), rate_limit_per_minute=0, detect="off",
                             checkpoint_interval_s=0, database_url=url,
                             console_search_window=args.window or None)  # fmt: skip
    server, thread, base = serve_in_thread(create_app(settings, store))
    client = httpx.Client(base_url=base, trust_env=False, timeout=60,
                          cookies={"tk_session": owner_cookie(store)})  # fmt: skip
    found = samples(store)
    if store.get_user(found["top_actor"]) is None:  # so that filtering by email finds them
        store.put_user(User(found["top_actor"], ORG, "Top", found["top_email"], "member", 0))
    print(f"\n{total:,} events; median and p95 of {args.runs} requests, in ms\n")
    print(f"{'':<44} {'server':>7} {'p95':>7}   {'client':>7} {'p95':>7}")
    for name, path in scenarios(found):
        server_ms, wall, _ = timed(client, path, args.runs)
        print(Figure(name, server_ms, wall).row(), flush=True)
    print(next_page(client, args.runs).row())
    print("\n" + export_rate(client, found["newest"]))
    if args.append:
        print(append_rates(args.append, Path(tempfile.mkdtemp())))
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


if __name__ == "__main__":
    main()
