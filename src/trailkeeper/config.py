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
    read_threads: int = setting(
        0,
        "Worker threads that serve /audit/v1/logs reads at once (more requests queue); 0 is auto:"
        " one per core on SQLite (more thrash the GIL between cores), 8 on PostgreSQL (its"
        " connection pool; threads mostly wait on the network).",
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
    service_name: str = setting(
        "trailkeeper.local",
        "Log name in signed checkpoints: origins are NAME/audit/ORG and the signing key is"
        " NAME/audit. Set it once to a host name you control; changing it changes every origin.",
    )
    checkpoint_interval_s: int = setting(
        60,
        "Seconds between signed checkpoints of each growing log, made by the server;"
        " 0 turns the background checkpoints off (the CLI and API still make them on demand).",
    )
    cookie_secure: str = setting(
        "auto",
        "Sign-in cookies' Secure flag: auto (when PUBLIC_URL is https), always or never.",
    )
    session_ttl_s: int = setting(8 * 3600, "How long a browser sign-in lasts, in seconds.")
    auth_code_ttl_s: int = setting(
        600, "How long an OAuth authorization code may be redeemed, in seconds (Slack: 10 min)."
    )
    signin_window_s: int = setting(
        900, "Window in which failed sign-ins are counted, in seconds (at most a day)."
    )
    signin_max_failures: int = setting(
        5, "Failed sign-ins allowed per login in the window before sign-in is refused."
    )
    signin_max_failures_per_ip: int = setting(
        50, "Failed sign-ins allowed per address (IPv6: per /64) in the window."
    )
    console_search_window: int = setting(
        40_000,
        "Most events one console search reads when a filter (text, or several at once) cannot"
        " be answered by an index alone; the page then offers to search older events.",
    )

    detect: str = setting(
        "on",
        "Anomaly detection in the server process: on (tails the committed log, records anomaly"
        " events) or off (run `trailkeeper anomaly run` as a separate worker instead).",
    )
    detect_city_mmdb: str = setting(
        "", "GeoIP2/GeoLite2-City MMDB file for IP geolocation (empty: no geolocation)."
    )
    detect_asn_mmdb: str = setting("", "GeoLite2-ASN MMDB file for IP -> ASN (empty: none).")
    detect_tor_exits: str = setting(
        "", "Tor exit list: one IP per line or a TorDNSEL exit-address document (empty: none)."
    )
    detect_cloud_ranges: str = setting(
        "", "Cloud/hosting ranges: `CIDR [provider]` or `AS123 [name]` per line (empty: none)."
    )
    detect_ioc_list: str = setting(
        "", "Indicator-of-compromise ranges, `CIDR [label]` per line (empty: none)."
    )
    detect_vpn_ranges: str = setting(
        "", "Commercial VPN ranges or ASNs, same format as the cloud list (empty: none)."
    )
    detect_suspicious_asns: str = setting(
        "", "ASNs (`AS123` lines) or ranges behind Slack's `asn` reason (empty: none)."
    )
    detect_warmup_days: int = setting(
        7, "Days after an organization's first event in which only Tor/IOC/ASN-list reasons fire."
    )
    detect_reload_check_s: int = setting(
        60, "Seconds between checks of the data files' modification times (hot reload)."
    )
    detect_max_tor_age_h: int = setting(
        48, "Hours after which the Tor exit list is reported stale (exits churn in ~48 h)."
    )
    detect_max_geo_age_days: int = setting(
        60, "Days after which the MMDB files and range lists are reported stale."
    )
    detect_signal_retention_s: int = setting(
        3600, "How long platform activity signals are kept for the detectors, in seconds."
    )
    detect_snapshot_interval_s: int = setting(
        60, "Seconds between snapshots of the detection state (restarts resume from them)."
    )

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
    "read_threads": lambda v: None if 0 <= v <= 256 else "must be between 0 (auto) and 256",
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
    "service_name": lambda v: (
        None
        if v and not any(c.isspace() or c == "+" or ord(c) < 32 for c in v) and v[-1] != "/"
        else "must be a non-empty name without spaces, '+' or a trailing '/'"
    ),
    "checkpoint_interval_s": lambda v: None if v >= 0 else "must be 0 (off) or positive",
    "cookie_secure": lambda v: (
        None if v in {"auto", "always", "never"} else "must be auto, always or never"
    ),
    "session_ttl_s": lambda v: None if v > 0 else "must be positive",
    "auth_code_ttl_s": lambda v: None if 0 < v <= 3600 else "must be between 1 and 3600",
    "signin_window_s": lambda v: None if 0 < v <= 86400 else "must be between 1 and 86400",
    "signin_max_failures": lambda v: None if v > 0 else "must be positive",
    "signin_max_failures_per_ip": lambda v: None if v > 0 else "must be positive",
    "console_search_window": lambda v: (
        None if 100 <= v <= 10_000_000 else "must be between 100 and 10000000"
    ),
    "detect": lambda v: None if v in {"on", "off"} else "must be on or off",
    "detect_warmup_days": lambda v: None if 0 <= v <= 365 else "must be between 0 and 365",
    "detect_reload_check_s": lambda v: None if v > 0 else "must be positive",
    "detect_max_tor_age_h": lambda v: None if v > 0 else "must be positive",
    "detect_max_geo_age_days": lambda v: None if v > 0 else "must be positive",
    "detect_signal_retention_s": lambda v: None if v > 0 else "must be positive",
    "detect_snapshot_interval_s": lambda v: None if v > 0 else "must be positive",
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
