"""What every command starts from: settings from the environment and a migrated store."""

from __future__ import annotations

from typing import Any

from trailkeeper.config import Settings, load_settings
from trailkeeper.storage import open_store
from trailkeeper.storage.base import Store


def settings_from_env(**overrides: Any) -> Settings:
    """Settings from `TRAILKEEPER_*` variables, with command-line overrides."""
    return load_settings(None, **overrides)


def migrated_store(settings: Settings) -> Store:
    """The configured store, with every migration applied."""
    store = open_store(settings.resolved_database_url)
    store.migrate()
    return store
