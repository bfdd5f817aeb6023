"""Loading the demo organization into a store, through the normal ingest path."""

from __future__ import annotations

import time

from trailkeeper import demo
from trailkeeper.catalog import Catalog
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.ingest import Ingestor
from trailkeeper.storage.base import Store

BATCH = 5000


def seed_demo(store: Store, catalog: Catalog, *, now: int | None = None, seed: int = 7) -> int:
    """Create the demo organization and its history unless it exists; return events stored."""
    organization = demo.demo_organization(seed)
    if store.get_organization(organization.id) is not None and store.count_events(organization.id):
        return 0
    admin.create_organization(store, organization.id, organization.name, organization.domain)
    for ws in organization.workspaces:
        admin.create_workspace(store, ws.id, organization.id, ws.name, ws.domain)
    events = demo.demo_events(organization, end=int(time.time()) if now is None else now, seed=seed)
    ingestor = Ingestor(store, catalog, LocationIndex(store), max_event_bytes=1 << 20)
    stored = 0
    for start in range(0, len(events), BATCH):
        report = ingestor.ingest(events[start : start + BATCH])
        if report.rejected:
            first = report.rejected[0]
            raise ValueError(f"demo event rejected: {first.reason}")
        stored += report.stored
    return stored


def demo_read_token(store: Store, seed: int = 7) -> str:
    """A fresh read token for the demo organization (stored hashed: never reprinted)."""
    token, _ = admin.issue_token(
        store, demo.demo_organization(seed).id, frozenset({READ_SCOPE}), "demo read token"
    )
    return token
