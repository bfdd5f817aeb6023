"""The errors of accounts and sign-in, as branches of the project's one tree (`errors.py`).

AuthError
├── UserNotAuthorized      the approving user may not install this app here (Slack:
│                          `user_not_authorized`, "installing user is not an org owner")
└── SignInRefused          wrong login or password, or an account that cannot sign in;
    └── SignInThrottled    one generic error, so a guesser learns nothing; throttled: too
                           many failures for this login or address (carries retry_after_s)
"""

from __future__ import annotations

from trailkeeper.errors import AuthError


class UserNotAuthorized(AuthError):
    """Only the organization's Owner may approve an app asking for `auditlogs:read`."""


class SignInRefused(AuthError):
    """The sign-in failed; deliberately silent about which part was wrong."""


class SignInThrottled(SignInRefused):
    """Too many failed sign-ins; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins; retry after {retry_after_s}s")
