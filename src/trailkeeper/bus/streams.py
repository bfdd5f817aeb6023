"""The three JetStream streams of Trailkeeper: their names, subjects, configuration and creation.

`<prefix>.ingest.<org>` (work queue) carries producers' events in, `<prefix>.deadletter.<org>`
keeps what could not be accepted and why, `<prefix>.committed.<org>` carries the stored log out.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

STREAM_NAME_IN_USE = (
    10058  # JetStream API error: a stream of that name exists, configured otherwise
)
DEFAULT_DUPLICATE_WINDOW_S = 120.0
DEFAULT_COMMITTED_MAX_AGE_S = 7 * 86400.0
# One subject token: NATS subjects are dot-separated and `*`/`>` are wildcards.
ORG_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class BusNames:
    """Stream, subject and consumer names; tests pass their own prefixes so runs never clash."""

    subject_prefix: str = "trailkeeper"
    stream_prefix: str = "TRAILKEEPER"
    worker_durable: str = "ingest-workers"

    @property
    def ingest_stream(self) -> str:
        """The work-queue stream producers publish to."""
        return f"{self.stream_prefix}_INGEST"

    @property
    def deadletter_stream(self) -> str:
        """The stream of refused events and messages."""
        return f"{self.stream_prefix}_DEADLETTER"

    @property
    def committed_stream(self) -> str:
        """The stream of committed events, in each organization's sequence."""
        return f"{self.stream_prefix}_COMMITTED"

    @property
    def relay_consumer(self) -> str:
        """The store position name under which the relay records its progress."""
        return f"relay:{self.committed_stream}"

    def ingest_subject(self, org_id: str) -> str:
        """Where producers publish an organization's events."""
        return f"{self.subject_prefix}.ingest.{checked_org(org_id)}"

    def deadletter_subject(self, org_id: str) -> str:
        """Where an organization's refused events go."""
        return f"{self.subject_prefix}.deadletter.{checked_org(org_id)}"

    def committed_subject(self, org_id: str) -> str:
        """Where an organization's committed events are published."""
        return f"{self.subject_prefix}.committed.{checked_org(org_id)}"

    def all_subjects(self, kind: str) -> str:
        """The wildcard subject of one kind (`ingest`, `deadletter`, `committed`)."""
        return f"{self.subject_prefix}.{kind}.*"

    def org_of(self, subject: str) -> str | None:
        """The organization an ingest subject names, or None when it names none."""
        head = f"{self.subject_prefix}.ingest."
        org_id = subject.removeprefix(head)
        if org_id == subject or not ORG_TOKEN.fullmatch(org_id):
            return None
        return org_id


def checked_org(org_id: str) -> str:
    """`org_id`, when it can be one subject token; ValueError otherwise."""
    if not ORG_TOKEN.fullmatch(org_id):
        raise ValueError(f"organization id {org_id!r} cannot be a NATS subject token")
    return org_id


def stream_configs(
    names: BusNames,
    *,
    duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S,
    committed_max_age_s: float = DEFAULT_COMMITTED_MAX_AGE_S,
) -> list[StreamConfig]:
    """The configuration of each stream (file storage; the committed stream ages out)."""
    return [
        StreamConfig(
            name=names.ingest_stream,
            subjects=[names.all_subjects("ingest")],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=duplicate_window_s,
        ),
        StreamConfig(
            name=names.deadletter_stream,
            subjects=[names.all_subjects("deadletter")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=duplicate_window_s,
        ),
        StreamConfig(
            name=names.committed_stream,
            subjects=[names.all_subjects("committed")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=duplicate_window_s,
            max_age=committed_max_age_s or None,
        ),
    ]


async def ensure_streams(
    js: JetStreamContext,
    names: BusNames | None = None,
    *,
    duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S,
    committed_max_age_s: float = DEFAULT_COMMITTED_MAX_AGE_S,
) -> None:
    """Create the streams, or bring existing ones to this configuration; safe to run anywhere."""
    configs = stream_configs(
        names or BusNames(),
        duplicate_window_s=duplicate_window_s,
        committed_max_age_s=committed_max_age_s,
    )
    for config in configs:
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != STREAM_NAME_IN_USE:
                raise
            await js.update_stream(config)


async def delete_streams(js: JetStreamContext, names: BusNames) -> None:
    """Delete the streams of `names` (tests and teardown; the store keeps the log)."""
    for config in stream_configs(names):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(str(config.name))
