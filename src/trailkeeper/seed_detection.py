"""The demo's anomalies: its IP world written as the enrichment files detection loads, and the
real detection pipeline run over the freshly seeded history, so `trailkeeper demo` opens on a
log that already holds the anomalies of its injected attacks.

Only when the operator names no enrichment file of their own (`TRAILKEEPER_DETECT_*`): then
the demo's files are written into `DATA_DIR/demo-enrichment/` (rewritten on every start, so
they are never reported stale) and the server's detection is pointed at them.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

from trailkeeper import demo
from trailkeeper.catalog import Catalog
from trailkeeper.config import Settings
from trailkeeper.demo.enrichment import DemoIpWorld, demo_ip_world
from trailkeeper.detect.service import build_runner
from trailkeeper.ingest import IngestReport
from trailkeeper.recorder import Recorder
from trailkeeper.seed import seed_demo
from trailkeeper.storage.base import Store

DEMO_ENRICHMENT_DIR = "demo-enrichment"
# setting -> file name of each file written; the settings an operator may set are all below
FILES = {
    "detect_city_mmdb": "GeoLite2-City.mmdb",
    "detect_asn_mmdb": "GeoLite2-ASN.mmdb",
    "detect_tor_exits": "tor-exits.txt",
    "detect_cloud_ranges": "cloud-ranges.txt",
    "detect_suspicious_asns": "suspicious-asns.txt",
}
ENRICHMENT_SETTINGS = (*FILES, "detect_ioc_list", "detect_vpn_ranges")


@dataclass(frozen=True)
class DemoSeed:
    """What `prepare_demo` did: events stored (0: the organization existed), the anomalies
    detection recorded over them by reason set, and the settings to serve the demo with."""

    events: int
    anomalies: Counter[str]
    settings: Settings


def prepare_demo(
    store: Store, settings: Settings, catalog: Catalog, *, now: int | None = None, seed: int = 7
) -> DemoSeed:
    """Seed the demo organization if it is missing, and run detection over its history."""
    settings = demo_detection_settings(settings, seed)
    stored = seed_demo(store, catalog, now=now, seed=seed)
    found = detect_history(store, settings, catalog, seed) if stored else Counter[str]()
    return DemoSeed(stored, found, settings)


def demo_detection_settings(settings: Settings, seed: int = 7) -> Settings:
    """`settings` with detection pointed at the demo's enrichment files (written into the data
    dir), or unchanged when the operator configured any enrichment file."""
    if any(getattr(settings, name) for name in ENRICHMENT_SETTINGS):
        return settings
    paths: dict[str, Any] = write_demo_enrichment(
        Path(settings.data_dir) / DEMO_ENRICHMENT_DIR, seed
    )
    return dataclasses.replace(settings, **paths)


def write_demo_enrichment(directory: str | Path, seed: int = 7) -> dict[str, str]:
    """Write the demo's enrichment files into `directory`; setting name -> path of each."""
    world = demo_ip_world(demo.demo_organization(seed))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: str(out / file) for name, file in FILES.items()}
    _write_mmdb(world, paths["detect_city_mmdb"], "City")
    _write_mmdb(world, paths["detect_asn_mmdb"], "ASN")
    _write_lines(paths["detect_tor_exits"], "Tor exit addresses", world.tor_exits)
    _write_lines(paths["detect_cloud_ranges"], "cloud and hosting ranges", world.cloud_lines())
    _write_lines(paths["detect_suspicious_asns"], "abused ASNs", world.suspicious_asn_lines())
    return paths


def _write_mmdb(world: DemoIpWorld, path: str, kind: str) -> None:
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=f"GeoLite2-{kind}",
        languages=["en"],
        description=f"Trailkeeper demo GeoLite2-{kind} (demo data only)",
    )
    for network in world.networks:  # broadest first: a more specific network overrides
        record = network.city_record() if kind == "City" else network.asn_record()
        writer.insert_network(IPSet([network.cidr]), record)
    temporary = path + ".tmp"
    writer.to_db_file(temporary)
    os.replace(temporary, path)  # atomic: a running server's hot reload never sees half a file


def _write_lines(path: str, what: str, lines: Iterable[str]) -> None:
    temporary = Path(path + ".tmp")
    body = "".join(f"{line}\n" for line in lines)
    temporary.write_text(f"# Trailkeeper demo: {what}\n{body}", encoding="utf-8")
    os.replace(temporary, path)


class _Tally:
    """Records anomalies through a `Recorder`, counting the stored ones by reason set."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.reasons: Counter[str] = Counter()

    def paused_organizations(self) -> Collection[str]:
        return self.recorder.paused_organizations()

    def record_many(self, events: Sequence[dict[str, Any]]) -> IngestReport:
        report = self.recorder.record_many(events)
        refused = {r.index for r in report.rejected}
        already = set(report.duplicates)
        for index, event in enumerate(events):
            if index not in refused and event.get("id") not in already:
                self.reasons["+".join(event["details"]["reason"])] += 1
        return report


def detect_history(
    store: Store, settings: Settings, catalog: Catalog, seed: int = 7
) -> Counter[str]:
    """Run detection over the demo organization's whole history with alerts on (what
    `trailkeeper anomaly backfill` does: anomalies dated at their triggering events, warm-up
    from the first event) and save the state, so the server resumes from the head of the log
    instead of learning it again. The anomalies recorded, by reason set."""
    tally = _Tally(Recorder(store, catalog))
    runner = build_runner(settings, store, tally, clock=None)
    runner.replay(demo.demo_organization(seed).id)
    runner.snapshot_now()
    return tally.reasons
