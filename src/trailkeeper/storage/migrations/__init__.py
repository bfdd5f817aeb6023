"""Migrations: numbered SQL files per backend, applied in order by `trailkeeper.storage.migrate`."""
