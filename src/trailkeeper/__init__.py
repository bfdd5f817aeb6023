"""Trailkeeper: a self-hosted, Slack-compatible audit log service.

Record events from Python with `Recorder` (in-process, on a database) or `IngestClient` (over
HTTP with an `auditlogs:write` token).
"""

from trailkeeper.recorder import IngestClient, Recorder

__all__ = ["IngestClient", "Recorder"]
