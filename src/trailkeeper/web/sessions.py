"""Browser sessions: the session cookie, who it signs in, and the account pages' collaborators.

The cookie holds 256 random bits; the server keeps only their SHA-256 hash. A browser that is
not signed in still gets a random cookie (never stored) so its forms carry a CSRF token; the
value changes at sign-in and sign-out, so a planted cookie never becomes a session. Cookies are
HttpOnly, SameSite=Lax, and Secure with the `__Host-` prefix when served over https.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.config import Settings
from trailkeeper.directory.accounts import SignInSession, User
from trailkeeper.directory.activity import ChangeContext, Event, Origin
from trailkeeper.directory.signin import ThrottlePolicy, session_user
from trailkeeper.ingest import Ingestor
from trailkeeper.storage.base import Store
from trailkeeper.validation import EventRejected
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.csrf import csrf_token

COOKIE = "tk_session"
SECURE_COOKIE = "__Host-tk_session"  # RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain
CSRF_SECRET = "csrf-hmac"
log = logging.getLogger("trailkeeper.accounts")


@dataclass
class AccountServices:
    """What the sign-in, consent and Slack Web API handlers share; built once per app."""

    settings: Settings
    store: Store
    ingestor: Ingestor
    csrf_key: bytes
    throttle: ThrottlePolicy
    clock: Callable[[], float] = time.time

    @property
    def is_secure(self) -> bool:
        """Whether cookies carry the Secure flag."""
        mode = self.settings.cookie_secure
        return mode == "always" or (mode == "auto" and self.settings.base_url.startswith("https:"))

    @property
    def cookie_name(self) -> str:
        """The session cookie's name (`__Host-` prefixed when Secure)."""
        return SECURE_COOKIE if self.is_secure else COOKIE

    def now(self) -> int:
        """The current Unix second."""
        return int(self.clock())

    def record(self, events: list[Event]) -> None:
        """Record account events in their organization's log, durably, through ingest."""
        report = self.ingestor.ingest(events)
        if report.rejected:
            log.error("account event rejected: %s", report.rejected[0].reason)
            raise EventRejected(report.rejected[0].reason)

    def change(self, actor: User | None, origin: Origin) -> ChangeContext:
        """A change made now by `actor` from `origin`, recorded through this app."""
        return ChangeContext(actor, origin, self.record, self.now())


def _build(request: Request) -> AccountServices:
    services = services_of(request)
    settings = services.settings
    return AccountServices(
        settings=settings,
        store=services.store,
        ingestor=services.ingestor,
        csrf_key=services.store.secret(CSRF_SECRET),
        throttle=ThrottlePolicy(
            settings.signin_window_s,
            settings.signin_max_failures,
            settings.signin_max_failures_per_ip,
        ),
        clock=services.clock,
    )


def accounts_of(request: Request) -> AccountServices:
    """The app's account services, built on first use (call from a worker thread: it may read
    the database)."""
    state = request.app.state
    found: AccountServices | None = getattr(state, "accounts", None)
    if found is None:
        found = state.accounts = _build(request)
    return found


@dataclass(frozen=True)
class Browser:
    """The browser behind a request: its cookie (kept or new) and who it signs in, if anyone."""

    cookie: str
    is_new: bool
    session: SignInSession | None = None
    user: User | None = None

    def csrf(self, accounts: AccountServices) -> str:
        """The CSRF token its forms carry."""
        return csrf_token(accounts.csrf_key, self.cookie)

    def origin(self, request: Request) -> Origin:
        """Where its actions come from, for audit events."""
        return Origin(
            ip=request.client.host if request.client else "",
            ua=request.headers.get("user-agent", "")[:512],
            session_id=self.session.number if self.session else None,
        )


def browser_of(accounts: AccountServices, request: Request) -> Browser:
    """The browser of a request, with its live session (reads the store: run in a thread)."""
    cookie = request.cookies.get(accounts.cookie_name, "")
    if not cookie or len(cookie) > 128:
        return anonymous_browser()
    found = session_user(accounts.store, cookie, accounts.now())
    if found is None:
        return Browser(cookie, is_new=False)
    return Browser(cookie, is_new=False, session=found[0], user=found[1])


def anonymous_browser() -> Browser:
    """A browser given a fresh, never-stored cookie (for its CSRF token)."""
    return Browser(secrets.token_urlsafe(32), is_new=True)


def set_session_cookie(
    response: Response, accounts: AccountServices, cookie: str, max_age: int | None = None
) -> None:
    """Send the session cookie (a signed-in session's lasts `max_age` seconds)."""
    response.set_cookie(
        accounts.cookie_name,
        cookie,
        max_age=max_age,
        path="/",
        secure=accounts.is_secure,
        httponly=True,
        samesite="lax",
    )
