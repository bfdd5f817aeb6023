"""A visit to the console: the signed-in Owner or Admin, their organization, the page headers
(a script policy of our own files only), and the wrapper that turns everyone else away.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from trailkeeper.console.activity import search_event
from trailkeeper.console.filters import ConsoleFilter, ResolvedFilter, query_params, resolve
from trailkeeper.console.pages import Reader
from trailkeeper.directory.accounts import ADMIN, OWNER, User
from trailkeeper.directory.activity import Origin
from trailkeeper.directory.records import Organization
from trailkeeper.errors import InvalidArguments, NotFound
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.oauth_pages import run_page, signin_url
from trailkeeper.web.pages import environment, redirect, security_headers
from trailkeeper.web.services import Services
from trailkeeper.web.sessions import AccountServices, Browser

PREFIX = "/console"
HOME = f"{PREFIX}/logs"
CONSOLE_ROLES = (OWNER, ADMIN)
# Scripts and fetches from this server only; no inline script or style, no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Visit:
    """A request of a signed-in Owner or Admin: who, from where, and what the pages need."""

    request: Request
    services: Services
    accounts: AccountServices
    browser: Browser
    user: User
    org: Organization
    params: dict[str, str]

    @property
    def reader(self) -> Reader:
        """The organization's log, with the console's bounds."""
        window = self.services.settings.console_search_window
        return Reader(self.services.store, self.services.catalog, self.org.id, window)

    @property
    def origin(self) -> Origin:
        """Where the visit comes from, for the audit events it causes."""
        return self.browser.origin(self.request)

    def now(self) -> int:
        """The current Unix second."""
        return int(self.services.clock())

    def resolve(self, f: ConsoleFilter) -> ResolvedFilter:
        """The filter's query now; an actor given by email is looked up in this organization."""
        store, org_id = self.services.store, self.org.id

        def find_login(email: str) -> str | None:
            user = store.find_user_by_login(email)
            return user.id if user is not None and user.org_id == org_id else None

        return resolve(f, self.services.catalog, self.now(), find_login)

    def render(self, template: str, context: dict[str, Any], status: int = 200) -> Response:
        """A console page (or fragment) with the console's headers."""
        base = {
            "user": self.user,
            "org": self.org,
            "csrf": self.browser.csrf(self.accounts),
            "here": self.request.url.path,
        }
        html = environment().get_template(template).render(**base, **context)
        return HTMLResponse(html, status_code=status, headers=console_headers(self.accounts))

    def record_search(self, view: str, f: ConsoleFilter) -> None:
        """Record that this person searched the records (before anything is shown)."""
        self.accounts.record([search_event(self.user, self.origin, self.org, view, f)])

    def search_tag(self, view: str, f: ConsoleFilter) -> str:
        """A tag naming a recorded search, carried by its further pages and its chart, so they
        are not recorded again; any other filter with it is a new search and is recorded."""
        message = f"{self.org.id}\0{self.user.id}\0{view}\0{f.query_string()}".encode()
        key = self.accounts.csrf_key
        return hmac.new(key, b"search:" + message, hashlib.sha256).hexdigest()[:24]

    def is_recorded(self, view: str, f: ConsoleFilter) -> bool:
        """Whether the request carries the tag of an already recorded search of `f`."""
        given = self.params.get("tag", "")[:64].encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self.search_tag(view, f).encode())


ConsoleWork = Callable[[Visit], Response]


def console_headers(accounts: AccountServices) -> dict[str, str]:
    """The pages' security headers, with the console's script policy."""
    headers = security_headers(secure=accounts.is_secure)
    headers["Content-Security-Policy"] = CSP
    return headers


def console_url(path: str, params: dict[str, str]) -> str:
    """Where to come back to after signing in."""
    query = urlencode(params)
    return f"{path}?{query}" if query else path


def refusal(accounts: AccountServices, browser: Browser, user: User) -> Response:
    """The page a member or guest gets: they may sign out and let an Owner or Admin in."""
    context = {
        "title": "Only Owners and Admins can read the audit log",
        "heading": "Only the organization's Owners and Admins can read its audit log",
        "message": "Your account is a " + user.role + " of the organization. Ask an Owner or "
        "an Admin if you need something from the log.",
        "code": "user_not_authorized",
        "user": user,
        "org": None,
        "csrf": browser.csrf(accounts),
        "here": HOME,
    }
    html = environment().get_template("console_message.html").render(**context)
    return HTMLResponse(html, status_code=403, headers=console_headers(accounts))


async def serve(
    request: Request, work: ConsoleWork, params: dict[str, str] | None = None
) -> Response:
    """Run a console page for a signed-in Owner or Admin (others: sign in, or a refusal)."""
    started = time.perf_counter()
    problem: Exception | None = None
    try:
        given = query_params(request.url.query) if params is None else params
    except InvalidArguments as exc:
        given, problem = {}, exc

    def page(accounts: AccountServices, browser: Browser) -> Response:
        user = browser.user
        if user is None:
            back = console_url(request.url.path, given) if request.method == "GET" else HOME
            return redirect(signin_url(back), secure=accounts.is_secure)
        if user.role not in CONSOLE_ROLES or not user.is_active:
            return refusal(accounts, browser, user)
        if problem is not None:
            raise problem
        services = services_of(request)
        org = services.store.get_organization(user.org_id)
        if org is None:
            raise NotFound("the organization is unknown")
        return work(Visit(request, services, accounts, browser, user, org, given))

    response = await run_page(request, page)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response
