"""Settings: one frozen object read from `TRAILKEEPER_*` variables, the only place they are read.

Every field carries its environment variable, default and help text; `load_settings` validates
them all and reports every problem at once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trailkeeper.errors import ConfigError

PREFIX = "TRAILKEEPER_"


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "trailkeeper")


def setting(default: Any, help: str) -> Any:
    """Declare a setting field with its help text."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every knob of Trailkeeper, with its default."""

    data_dir: str = setting(_default_data_dir(), "Directory for the default SQLite database.")
    database_url: str = setting(
        "",
        "Database URL: sqlite:///PATH or postgresql://... (empty: DATA_DIR/trailkeeper.db).",
    )
    host: str = setting("127.0.0.1", "Address the API server binds to.")
    port: int = setting(8000, "Port the API server listens on.")
    public_url: str = setting(
        "", "Base URL clients use to reach the server (default: from host/port)."
    )
    rate_limit_per_minute: int = setting(
        50, "Audit API calls allowed per organization per minute (Slack Tier 3); 0 turns it off."
    )
    redis_url: str = setting(
        "",
        "Redis URL (redis://host:6379/0) for a rate limit shared by nodes (empty: per process).",
    )
    nats_url: str = setting(
        "nats://127.0.0.1:4222", "NATS server with JetStream, for `ingest-worker` and `relay`."
    )
    default_page_limit: int = setting(
        100, "Entries per /audit/v1/logs page when `limit` is absent."
    )
    max_same_second_extension: int = setting(
        20000,
        "Most extra entries a page may carry to keep one second together before splitting it.",
    )
    cursor_ttl_s: int = setting(30 * 86400, "How long a pagination cursor stays valid, in seconds.")
    max_request_bytes: int = setting(16 * 1024 * 1024, "Largest ingest request body accepted.")
    max_batch_events: int = setting(10000, "Most events accepted in one ingest request.")
    max_event_bytes: int = setting(64 * 1024, "Largest single event accepted, in bytes.")
    catalog_extensions: str = setting(
        "", "Path of a TOML file registering custom actions and entity types (empty: none)."
    )
    log_level: str = setting("info", "Log level: debug, info, warning or error.")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir) / 'trailkeeper.db'}"

    @property
    def base_url(self) -> str:
        """Where clients reach the server (no trailing slash)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"


def env_name(name: str) -> str:
    """The environment variable of a setting."""
    return PREFIX + name.upper()


def describe_settings() -> list[tuple[str, str, str, str]]:
    """(field, environment variable, default, help) for every setting, in declaration order."""
    rows = []
    for f in dataclasses.fields(Settings):
        rows.append((f.name, env_name(f.name), repr(f.default), str(f.metadata["help"])))
    return rows


_PARSERS: dict[type, Callable[[str], Any]] = {int: int, str: str}
_VALIDATORS: dict[str, Callable[[Any], str | None]] = {
    "port": lambda v: None if 0 < v < 65536 else "must be between 1 and 65535",
    "rate_limit_per_minute": lambda v: None if v >= 0 else "must be 0 (off) or positive",
    "default_page_limit": lambda v: None if 1 <= v <= 9999 else "must be between 1 and 9999",
    "max_same_second_extension": lambda v: None if v >= 0 else "must not be negative",
    "cursor_ttl_s": lambda v: None if v > 0 else "must be positive",
    "max_request_bytes": lambda v: None if v > 0 else "must be positive",
    "max_batch_events": lambda v: None if v > 0 else "must be positive",
    "max_event_bytes": lambda v: None if v > 0 else "must be positive",
    "log_level": lambda v: (
        None
        if v in {"debug", "info", "warning", "error"}
        else "must be debug, info, warning or error"
    ),
    "redis_url": lambda v: (
        None
        if v == "" or v.startswith(("redis://", "rediss://", "unix://"))
        else "must start with redis://, rediss:// or unix://"
    ),
    "database_url": lambda v: (
        None
        if v == "" or v.startswith(("sqlite:///", "postgresql://", "postgres://"))
        else "must start with sqlite:/// or postgresql://"
    ),
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from `environ` (default: the process environment), then apply overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in dataclasses.fields(Settings):
        raw = env.get(env_name(f.name))
        if raw is None:
            continue
        kind = type(f.default)
        try:
            values[f.name] = _PARSERS[kind](raw.strip())
        except ValueError:
            problems.append(f"{env_name(f.name)}={raw!r}: expected {kind.__name__}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    for name, check in _VALIDATORS.items():
        problem = check(getattr(settings, name))
        if problem:
            problems.append(f"{env_name(name)}: {problem}")
    if problems:
        raise ConfigError(problems)
    return settings
