"""Detection throughput, state size and a quick benign/attack check on a synthetic organization.

    .venv/bin/python benchmarks/detect_bench.py [--users 1000] [--days 14] [--seed 1]

Builds the synthetic IP world of the tests (real MMDB files written with mmdb-writer), generates
working days for a population (office/home/mobile networks, desktop/browser/mobile clients,
DHCP churn, trips abroad, VPN users, new devices, legitimate bulk-download days, cloud service
accounts with script agents), injects a few
attacks after the warm-up, and runs everything through one DetectionPipeline in one process:

- events/s per core, enrichment included (MMDB lookups behind the LRU cache);
- bytes of detection state per active user (deep size, shared objects counted once);
- benign anomalies per 1,000 users per day after warm-up, and which injected attacks were seen.

It is a smoke benchmark, not the evaluation: `trailkeeper simulate`/`evaluate` own the quality
figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from detect.world import ip, write_world  # noqa: E402
from trailkeeper.detect.enrichment import load_enrichment  # noqa: E402
from trailkeeper.detect.pipeline import DetectionPipeline  # noqa: E402

DAY = 86_400
START = 1_767_225_600  # 2026-01-01 00:00 UTC
SLACK = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/{v} Chrome/128.0.6613.186 Electron/32.2.2 Safari/537.36 Sonic Slack_SSB/{v}"  # noqa: E501
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"  # noqa: E501
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
IPHONE = "com.tinyspeck.chatlyio/24.{v}.10 (iPhone; iOS 18.1; Scale/3.00)"
HOMES = ["home_us", "home_us2", "home_gb", "home_de"]
WARMUP_DAYS = 7


class Person:
    def __init__(self, uid: str, rng: random.Random) -> None:
        self.uid = uid
        self.home = rng.choice(HOMES)
        self.host = rng.randrange(1, 4000)
        self.office = rng.random() < 0.6
        self.client = rng.choice(["desktop", "desktop", "browser"])
        self.mobile = rng.random() < 0.5
        self.vpn = rng.random() < 0.05
        self.downloads = max(0.5, rng.lognormvariate(1.1, 0.9))
        self.service = rng.random() < 0.02

    def ua(self, day: int, kind: str) -> str:
        version = day // 28  # monotone upgrades every four weeks
        if kind == "desktop":
            return SLACK.format(v=f"4.{41 + version}.105")
        if kind == "browser":
            return CHROME.format(v=130 + version)
        if kind == "firefox":
            return FIREFOX.format(v=132 + version)
        return IPHONE.format(v=11 + version)


def event(
    uid: str,
    action: str,
    ts: float,
    addr: str,
    ua: str,
    sid: int | None,
    entity: dict[str, Any] | None = None,
    eid: str = "",
) -> dict[str, Any]:
    user = {"id": uid, "name": uid}
    return {
        "id": eid,
        "date_create": int(ts),
        "action": action,
        "actor": {"type": "user", "user": user},
        "entity": entity or {"type": "user", "user": user},
        "context": {
            "location": {"type": "workspace", "id": "T0B"},
            "ua": ua,
            "ip_address": addr,
            "session_id": sid,
        },
    }


def working_day(p: Person, day: int, rng: random.Random, out: list[dict[str, Any]]) -> None:
    if p.service:
        for k in range(rng.randint(20, 60)):
            ts = START + day * DAY + k * 1200
            file = {"type": "file", "file": {"id": f"F{rng.randrange(9999)}"}}
            out.append(
                event(
                    p.uid,
                    "file_downloaded",
                    ts,
                    ip("cloud", 7),
                    "python-requests/2.32.3",
                    None,
                    file,
                )
            )
        return
    if day % 7 in (5, 6) and rng.random() > 0.1:
        return
    trip = (day // 30 + int(p.uid[1:])) % 60 == day % 60 and rng.random() < 0.5
    net = "hotel_fr" if trip else ("office" if p.office and rng.random() < 0.8 else p.home)
    if p.vpn and rng.random() < 0.3:
        net = "vpn"
    host = p.host if net != "office" else 10
    if net in HOMES and rng.random() < 0.05:
        p.host = rng.randrange(1, 4000)  # DHCP churn
    start = START + day * DAY + (8 + rng.gauss(0.5, 0.7)) * 3600
    sid = rng.randrange(10**12)
    if rng.random() < 1 / 180:  # a new device now and then
        p.client = rng.choice(["desktop", "browser", "firefox"])
    ua = p.ua(day, p.client)
    addr = ip(net, host)
    out.append(event(p.uid, "user_login", start, addr, ua, sid))
    n = int(rng.expovariate(1 / p.downloads)) + rng.randint(0, 2)
    span = 8 * 3600
    if rng.random() < 0.01:  # a legitimate bulk day: 5-20x the usual, over 2-8 hours
        n, span = int(p.downloads * rng.uniform(5, 20)) + 5, rng.uniform(2, 8) * 3600
    for _ in range(n):
        file = {"type": "file", "file": {"id": f"F{rng.randrange(99999)}"}}
        out.append(
            event(p.uid, "file_downloaded", start + rng.uniform(60, span), addr, ua, sid, file)
        )
    for _ in range(rng.randint(1, 6)):
        canvas = {"type": "canvas", "canvas": {"id": f"F{rng.randrange(300)}C"}}
        out.append(
            event(p.uid, "canvas_opened", start + rng.uniform(60, 8 * 3600), addr, ua, sid, canvas)
        )
    if p.mobile and rng.random() < 0.4:
        msid = rng.randrange(10**12)
        maddr = ip("mobile_us", rng.randrange(1, 4000))
        out.append(event(p.uid, "user_login", start + 11 * 3600, maddr, p.ua(day, "mobile"), msid))


def tor_login(p: Person, day: int, t: float) -> list[dict[str, Any]]:
    return [event(p.uid, "user_login", t, ip("tor", 3), p.ua(day, "browser"), 1)]


def naive_theft(p: Person, day: int, t: float) -> list[dict[str, Any]]:
    """Foreign hosting network and a script agent (spec §3.2 S1, naive tier)."""
    return [event(p.uid, "user_login", t, ip("cloud", 99), "python-requests/2.32.3", 2)]


def session_hijack(p: Person, day: int, t: float) -> list[dict[str, Any]]:
    """The victim's live session replayed from another country with the same agent (S3)."""
    ua, sid = p.ua(day, p.client), 555
    out = [event(p.uid, "user_login", t, ip("office"), ua, sid)]
    for k in range(1, 4):
        canvas = {"type": "canvas", "canvas": {"id": f"F{k}C"}}
        out.append(event(p.uid, "canvas_opened", t + 60 * k, ip("far_br", 5), ua, sid, canvas))
    return out


def exfiltration(p: Person, day: int, t: float) -> list[dict[str, Any]]:
    """Ten times the victim's daily mean in one hour, from its own network and client (S4)."""
    volume = round(10 * (p.downloads + 1))  # the generator's mean: expovariate + randint(0, 2)
    addr, ua = ip(p.home, p.host), p.ua(day, p.client)
    return [
        event(p.uid, "file_downloaded", t + k * 3000 / volume, addr, ua, 9,
              {"type": "file", "file": {"id": f"FX{k}"}})
        for k in range(volume)
    ]  # fmt: skip


SCENARIOS = {
    "tor": tor_login,
    "naive theft": naive_theft,
    "session hijack (other country)": session_hijack,
    "exfiltration 10x": exfiltration,
}


def attacks(people: list[Person], days: int, per: int, rng: random.Random) -> dict[str, list]:
    """Events of `per` campaigns of each scenario, on scored days; victim uid -> scenario."""
    pool = rng.sample([p for p in people if not p.service], per * len(SCENARIOS))
    by_day: dict[int, list[dict[str, Any]]] = {}
    labels: dict[str, str] = {}
    plan = [(name, make) for name, make in SCENARIOS.items() for _ in range(per)]
    for n, (name, make) in enumerate(plan):
        victim = pool[n]
        day = rng.randrange(WARMUP_DAYS + 3, days)
        by_day.setdefault(day, []).extend(make(victim, day, START + day * DAY + 14 * 3600))
        labels[victim.uid] = name
    return {"events": by_day, "labels": labels}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--campaigns", type=int, default=10, help="campaigns per scenario")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    people = [Person(f"U{n:06d}", rng) for n in range(args.users)]
    injected = attacks(people, args.days, args.campaigns, rng)
    labels: dict[str, str] = injected["labels"]  # type: ignore[assignment]
    events: list[dict[str, Any]] = []
    for day in range(args.days):
        todays: list[dict[str, Any]] = []
        for p in people:
            working_day(p, day, rng, todays)
        todays += injected["events"].get(day, [])  # type: ignore[attr-defined]
        todays.sort(key=lambda e: e["date_create"])
        events += todays
    for n, e in enumerate(events):
        e["id"] = f"ev{n}"

    with tempfile.TemporaryDirectory() as folder:
        enrichment = load_enrichment(**write_world(Path(folder)))
        pipeline = DetectionPipeline(enrichment, warmup_days=WARMUP_DAYS)
        found: list[dict[str, Any]] = []
        cpu = time.process_time()
        for e in events:
            found += pipeline.process(e, org_id="E0BENCH")
        cpu = time.process_time() - cpu

    scored_from = START + WARMUP_DAYS * DAY
    benign = [
        a
        for a in found
        if a["actor"]["user"]["id"] not in labels
        and a["details"]["action_timestamp"] >= scored_from * 1_000_000
    ]
    scored_days = args.days - WARMUP_DAYS
    seen = {a["actor"]["user"]["id"] for a in found if a["actor"]["user"]["id"] in labels}
    active = pipeline.active_actors()
    print(f"events: {len(events):,} from {args.users:,} users over {args.days} days")
    print(f"throughput: {len(events) / cpu:,.0f} events/s per core (cpu {cpu:.1f}s)")
    print(
        f"state: {pipeline.state_bytes() / active:,.0f} bytes per active user ({active:,} active)"
    )
    print(f"snapshot: {len(pipeline.snapshot()) / active:,.0f} bytes per user compressed")
    print(f"enrichment cache: {enrichment.cache_info()}")
    rate = len(benign) / (args.users / 1000) / scored_days
    print(f"benign anomalies after warm-up: {len(benign)} = {rate:.2f} per 1,000 users per day")
    for reasons, count in Counter(tuple(a["details"]["reason"]) for a in benign).most_common():
        print(f"  {count:4d}  {list(reasons)}")
    for scenario in SCENARIOS:
        victims = [uid for uid, name in labels.items() if name == scenario]
        hits = sum(uid in seen for uid in victims)
        print(f"attack {scenario}: {hits}/{len(victims)} campaigns detected")


if __name__ == "__main__":
    main()
