"""Resolving an event's `context.location` to its organization, with a cache over the store.

Organizations and workspaces change rarely; a miss reloads from the store, so a workspace created
by another process (the CLI next to a running server) is found on its first use.
"""

from __future__ import annotations

import threading

from trailkeeper.storage.base import DirectoryStore
from trailkeeper.validation import ResolvedLocation


class LocationIndex:
    """`LocationResolver` backed by the directory store."""

    def __init__(self, store: DirectoryStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], ResolvedLocation] = {}

    def __call__(self, kind: str, location_id: str) -> ResolvedLocation | None:
        key = (kind, location_id)
        found = self._cache.get(key)
        if found is None:
            found = self._load(kind, location_id)
            if found is not None:
                with self._lock:
                    self._cache[key] = found
        return found

    def _load(self, kind: str, location_id: str) -> ResolvedLocation | None:
        if kind == "enterprise":
            org = self._store.get_organization(location_id)
            return ResolvedLocation(org.id, org.name, org.domain) if org else None
        workspace = self._store.get_workspace(location_id)
        if workspace is None:
            return None
        return ResolvedLocation(workspace.org_id, workspace.name, workspace.domain)

    def forget(self) -> None:
        """Drop the cache (after renames)."""
        with self._lock:
            self._cache.clear()
