"""Storage: the Store protocol and its backends, chosen by database URL."""

from __future__ import annotations

from trailkeeper.errors import ConfigError
from trailkeeper.storage.base import Store


def open_store(url: str) -> Store:
    """The store behind a database URL (`sqlite:///path` or `postgresql://…`)."""
    if url.startswith("sqlite:///"):
        from trailkeeper.storage.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from trailkeeper.storage.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError([f"unsupported database URL {url.split(':', 1)[0]}://…"])
