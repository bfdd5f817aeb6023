"""The one exception tree of Trailkeeper.

    TrailkeeperError
    ├── ConfigError                    settings that cannot be loaded (every problem listed)
    ├── RequestError                   a caller's input is wrong; the edge maps each to a wire code
    │   ├── InvalidAction              an `action` filter names an action the catalog lacks
    │   ├── InvalidCursor              a cursor that is malformed, tampered with or expired
    │   ├── InvalidRange               `oldest`/`latest` unparseable, reversed or in the future
    │   ├── InvalidArguments           any other malformed argument (e.g. a non-numeric `limit`)
    │   └── InvalidPayload             an ingest body that is not a batch of JSON objects
    │       └── PayloadTooLarge        an ingest body over the size limit
    ├── AuthError                      who is calling, and may they
    │   ├── MissingAuthentication      no credentials, or not a bearer token
    │   ├── InvalidAuthentication      unknown or revoked token, or one without the read scope
    │   ├── MissingScope               a valid token without the scope an ingest call needs
    │   ├── TeamNotAuthorized          a token of a workspace-level install
    │   └── RateLimited                too many calls for the organization (carries retry_after_s)
    ├── NotFound                       an organization, workspace or token is unknown
    ├── Conflict                       creating something that already exists
    ├── ServiceUnavailable             not now, on purpose; retry (carries retry_after_s)
    │   └── LoggingPaused              an operator paused recording for the organization
    └── StorageError                   the backend failed; never caused by caller input

The domain raises these and never knows HTTP: `web/errors.py` maps each class to a status and
Slack's error string in one table.
"""

from __future__ import annotations


class TrailkeeperError(Exception):
    """Root of every error Trailkeeper raises on purpose."""


class ConfigError(TrailkeeperError):
    """Settings could not be loaded; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))


class RequestError(TrailkeeperError):
    """The caller sent something we cannot accept."""


class InvalidAction(RequestError):
    """An action filter names an action that is not in the catalog."""


class InvalidCursor(RequestError):
    """A pagination cursor is malformed, tampered with, foreign or expired."""


class InvalidRange(RequestError):
    """The time range is unparseable, reversed or starts in the future."""


class InvalidArguments(RequestError):
    """Some other argument is malformed."""


class InvalidPayload(RequestError):
    """An ingest body is not a JSON array or NDJSON batch of objects, or is too large."""


class PayloadTooLarge(InvalidPayload):
    """An ingest body is larger than the configured limit."""


class AuthError(TrailkeeperError):
    """The caller is not (or no longer) allowed to do this."""


class MissingAuthentication(AuthError):
    """No bearer credentials were presented."""


class InvalidAuthentication(AuthError):
    """The token is unknown, revoked, expired or lacks the read scope."""


class MissingScope(AuthError):
    """A valid token lacks the scope the call needs."""

    def __init__(self, needed: str, provided: str) -> None:
        self.needed = needed
        self.provided = provided
        super().__init__(f"token lacks scope {needed}")


class TeamNotAuthorized(AuthError):
    """The app that issued this token is installed on a workspace, not the organization."""


class RateLimited(AuthError):
    """The organization has used up its calls for now."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"rate limited; retry after {retry_after_s}s")


class NotFound(TrailkeeperError):
    """A directory object does not exist."""


class Conflict(TrailkeeperError):
    """The object to create already exists."""


class StorageError(TrailkeeperError):
    """The storage backend failed."""


class ServiceUnavailable(TrailkeeperError):
    """The service refuses this for now, on purpose; the caller should retry later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class LoggingPaused(ServiceUnavailable):
    """Recording for the organization is paused (`trailkeeper logging pause`); nothing of the
    refused request was stored."""

    def __init__(self, org_id: str, paused_at: int, retry_after_s: int) -> None:
        self.org_id = org_id
        self.paused_at = paused_at
        super().__init__(f"recording for {org_id} is paused; retry later", retry_after_s)
