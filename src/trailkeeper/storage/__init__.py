"""Storage: the Store protocol and its backends, chosen by database URL."""

from __future__ import annotations

from trailkeeper.errors import ConfigError
from trailkeeper.storage.base import Store


def open_store(url: str) -> Store:
    """The store behind a database URL (`sqlite:///path`; PostgreSQL arrives with its backend)."""
    if url.startswith("sqlite:///"):
        from trailkeeper.storage.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    raise ConfigError([f"unsupported database URL {url.split(':', 1)[0]}://…"])
