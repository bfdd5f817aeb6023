"""Detection wired from settings: the enrichment files, the pipeline and the runner over a store.

The server (`web/app.py`) and the `trailkeeper anomaly run` worker both build it here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from trailkeeper.config import Settings
from trailkeeper.detect.controls import CachedControls
from trailkeeper.detect.enrichment import DAY_S, Enrichment, load_enrichment
from trailkeeper.detect.pipeline import DetectionPipeline
from trailkeeper.detect.runner import AnomalyRecorder, DetectionRunner
from trailkeeper.storage.base import Store


def enrichment_from(settings: Settings) -> Enrichment:
    """The enrichment over the operator's data files named in settings."""
    geo_age = settings.detect_max_geo_age_days * DAY_S
    ages = {
        "tor_exits": settings.detect_max_tor_age_h * 3600.0,
        "city_mmdb": geo_age,
        "asn_mmdb": geo_age,
        "cloud_ranges": geo_age,
        "ioc_list": geo_age,
        "vpn_ranges": geo_age,
        "suspicious_asns": geo_age,
    }
    return load_enrichment(
        settings.detect_city_mmdb or None,
        settings.detect_asn_mmdb or None,
        settings.detect_tor_exits or None,
        settings.detect_cloud_ranges or None,
        settings.detect_ioc_list or None,
        vpn_ranges=settings.detect_vpn_ranges or None,
        suspicious_asns=settings.detect_suspicious_asns or None,
        reload_check_s=settings.detect_reload_check_s,
        max_age_s=ages,
    )


def build_pipeline(
    settings: Settings, store: Store, clock: Callable[[], float] | None = time.time
) -> DetectionPipeline:
    """A pipeline with the settings' data files and the organizations' stored controls."""
    return DetectionPipeline(
        enrichment_from(settings),
        controls_provider=CachedControls(store),
        clock=clock,
        warmup_days=settings.detect_warmup_days,
    )


def build_runner(
    settings: Settings,
    store: Store,
    recorder: AnomalyRecorder,
    *,
    batch: int = 1000,
    consumer: str = "detect:anomaly",
    clock: Callable[[], float] | None = time.time,
) -> DetectionRunner:
    """A runner over `store` (anomalies dated by `clock`; None: by their triggering event)."""
    return DetectionRunner(
        store,
        build_pipeline(settings, store, clock),
        recorder,
        consumer,
        batch=batch,
        snapshot_interval_s=settings.detect_snapshot_interval_s,
        signal_retention_s=settings.detect_signal_retention_s,
    )
