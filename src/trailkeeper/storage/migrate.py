"""Which migrations exist for a backend, and which of them a database still lacks.

Written here rather than taken from Alembic or yoyo: migrations are plain SQL files per backend,
applied by each store inside its own connection and lock, and this is all the machinery needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Migration:
    """One numbered SQL script."""

    name: str
    sql: str


def migrations_for(backend: str) -> list[Migration]:
    """The migrations of a backend (`sqlite` or `postgres`), in the order they apply."""
    folder = resources.files("trailkeeper.storage.migrations").joinpath(backend)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [Migration(n.removesuffix(".sql"), folder.joinpath(n).read_text("utf-8")) for n in names]


def pending(all_migrations: list[Migration], applied: set[str]) -> list[Migration]:
    """The migrations not yet applied, in order."""
    return [m for m in all_migrations if m.name not in applied]
