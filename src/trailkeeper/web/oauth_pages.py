"""The browser side of installing an app: sign-in, consent, sign-out, as server-rendered pages.

    GET  /oauth/v2/authorize   the install URL: sign in if needed, then consent (or a refusal)
    POST /oauth/v2/authorize   the decision: Allow (install, code, redirect) or Cancel
    GET|POST /signin, POST /signout, GET / (who is signed in), GET /demo/oauth-callback

Every post carries the browser's CSRF token; every failure is a page saying what happened in
words and in Slack's error string, never a redirect to an unchecked URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from urllib.parse import urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.directory.activity import user_event
from trailkeeper.directory.errors import SignInRefused, SignInThrottled, UserNotAuthorized
from trailkeeper.directory.signin import end_session, sign_in, start_session
from trailkeeper.errors import (
    InvalidArguments,
    InvalidPayload,
    NotFound,
    PayloadTooLarge,
    StorageError,
    TrailkeeperError,
)
from trailkeeper.oauth.consent import (
    ORGANIZATION_TARGET,
    approve,
    cancel_redirect,
    check_consent,
    install_targets,
)
from trailkeeper.oauth.errors import (
    AppNotDistributed,
    MalformedAuthorizeRequest,
    RedirectMismatch,
    ScopeNotAllowed,
    UnknownClient,
)
from trailkeeper.oauth.requests import PARAMETERS, AuthorizeRequest, parse_authorize_request
from trailkeeper.web.csrf import is_valid_post
from trailkeeper.web.forms import body_values, query_values
from trailkeeper.web.pages import CSS_PATH, origin_of, redirect, render, stylesheet
from trailkeeper.web.sessions import (
    AccountServices,
    Browser,
    accounts_of,
    anonymous_browser,
    browser_of,
    set_session_cookie,
)

AUTHORIZE_PATH = "/oauth/v2/authorize"
DEMO_CALLBACK_PATH = "/demo/oauth-callback"
CONSOLE_PATH = "/console/"  # the admin console (web/console_pages.py)
MAX_NEXT_CHARS = 4096
log = logging.getLogger("trailkeeper.accounts")

# What Slack's consent screen says of the scope (docs.slack.dev/reference/scopes/auditlogs.read).
SCOPE_DESCRIPTIONS = {
    "auditlogs:read": "View events from all workspaces, channels and users of the organization",
}

# Error -> (status, Slack's error string, heading, explanation). First match wins.
PAGE_ERRORS: tuple[tuple[type[Exception], int, str, str, str], ...] = (
    (UnknownClient, 400, "invalid_client_id", "This install link is not valid",
     "No app has this client ID. Ask the app's developer for a new install link."),
    (RedirectMismatch, 400, "bad_redirect_uri", "This install link is not valid",
     "Its redirect URL is not exactly one the app registered, so nothing will be sent there."),
    (ScopeNotAllowed, 400, "invalid_scope", "This install link is not valid",
     "It asks for permissions the app is not registered for, or for none."),
    (AppNotDistributed, 403, "invalid_team_for_non_distributed_app", "This app cannot be installed",
     "Its developer has not turned on public distribution."),
    (MalformedAuthorizeRequest, 400, "invalid_request", "This install link is not valid",
     "A parameter is missing, repeated or malformed."),
    (UserNotAuthorized, 403, "user_not_authorized",
     "Only the organization's Owner can install this app",
     "Apps that read the audit logs (auditlogs:read) must be installed by the Owner of the "
     "Enterprise organization. Nothing was installed."),
    (InvalidArguments, 400, "invalid_arguments", "That request could not be understood",
     "Go back and try again."),
    (PayloadTooLarge, 413, "request_too_large", "That form was too large",
     "Go back and try again."),
    (InvalidPayload, 400, "invalid_form_data", "That form could not be read",
     "Go back and try again."),
    (NotFound, 404, "not_found", "Not found", "It may have been removed. Go back and try again."),
    (StorageError, 503, "service_unavailable", "Trailkeeper is unavailable",
     "Try again in a moment."),
)  # fmt: skip
CSRF_ERROR = (403, "invalid_form", "This form has expired", "Reload the page and try again.")

PageWork = Callable[[AccountServices, Browser], Response]


def safe_next(value: str) -> str:
    """Where to go after signing in: an install URL or a console page of this server, else home
    (no open redirect)."""
    if (
        value.startswith((AUTHORIZE_PATH + "?", CONSOLE_PATH))
        and len(value) <= MAX_NEXT_CHARS
        and value.isprintable()
        and "\\" not in value
    ):
        return value
    return "/"


def signin_url(next_url: str, **extra: str) -> str:
    """The sign-in page, coming back to `next_url`."""
    return "/signin?" + urlencode({"next": next_url, **extra})


def authorize_next(request: AuthorizeRequest) -> str:
    """The install URL to come back to after signing in."""
    return f"{AUTHORIZE_PATH}?{request.query()}"


def _error_parts(exc: Exception) -> tuple[int, str, str, str]:
    for cls, status, code, heading, message in PAGE_ERRORS:
        if isinstance(exc, cls):
            return status, code, heading, message
    log.exception("unhandled error on a page", exc_info=exc)
    return 500, "internal_error", "Something went wrong", "Trailkeeper hit a problem. Try again."


def error_page(
    exc: Exception | tuple[int, str, str, str],
    accounts: AccountServices | None = None,
    browser: Browser | None = None,
    next_url: str = "/",
) -> Response:
    """A page explaining a failure; a refused user may sign out and come back to `next_url`."""
    status, code, heading, message = exc if isinstance(exc, tuple) else _error_parts(exc)
    user = browser.user if browser else None
    context = {
        "title": heading,
        "heading": heading,
        "message": message,
        "code": code,
        "user": user,
        "signout": user is not None and accounts is not None,
        "csrf": browser.csrf(accounts) if browser and accounts else "",
        "next": next_url,
    }
    secure = accounts.is_secure if accounts else False
    return render("error.html", context, status=status, secure=secure)


async def run_page(request: Request, work: PageWork) -> Response:
    """Run a page's work in a worker thread (it reads the store, hashes passwords) and make
    sure a new browser gets its cookie."""

    here = safe_next(f"{request.url.path}?{request.url.query}")

    def run() -> Response:
        accounts = accounts_of(request)
        browser = browser_of(accounts, request)
        try:
            response = work(accounts, browser)
        except Exception as exc:
            response = error_page(exc, accounts, browser, here)
        if browser.is_new and "set-cookie" not in response.headers:
            set_session_cookie(response, accounts, browser.cookie)
        return response

    try:
        return await anyio.to_thread.run_sync(run)
    except Exception as exc:  # the store failed before the browser was known
        return error_page(exc)


# --- the install URL and the decision ---------------------------------------------------------


def consent_page(
    accounts: AccountServices, browser: Browser, request: AuthorizeRequest
) -> Response:
    """The consent page: the app, its scopes, where to install it; Allow or Cancel."""
    user = browser.user
    assert user is not None
    org = accounts.store.get_organization(user.org_id)
    context = {
        "title": f"Install {request.app.name}",
        "user": user,
        "app": request.app,
        "org": org,
        "user_scopes": [
            {"name": s, "description": SCOPE_DESCRIPTIONS.get(s, s)}
            for s in sorted(request.user_scopes)
        ],
        "bot_scopes": sorted(request.bot_scopes),
        "workspaces": install_targets(accounts.store, user),
        "parameters": list(request.parameters),
        "csrf": browser.csrf(accounts),
        "next": authorize_next(request),
        "redirect_host": origin_of(request.redirect_uri),
    }
    return render(
        "consent.html", context, form_target=request.redirect_uri, secure=accounts.is_secure
    )


async def authorize(request: Request) -> Response:
    """`GET /oauth/v2/authorize`: sign in if needed, then consent, or refuse at once."""
    try:
        params = query_values(request)
    except TrailkeeperError as exc:
        return error_page(MalformedAuthorizeRequest(str(exc)))

    def work(accounts: AccountServices, browser: Browser) -> Response:
        auth = parse_authorize_request(accounts.store, params)
        if browser.user is None:
            return redirect(signin_url(authorize_next(auth)), secure=accounts.is_secure)
        check_consent(auth, browser.user)
        return consent_page(accounts, browser, auth)

    return await run_page(request, work)


def _decide(
    accounts: AccountServices, browser: Browser, form: Mapping[str, str], request: Request
) -> Response:
    auth = parse_authorize_request(accounts.store, {n: form[n] for n in PARAMETERS if n in form})
    if browser.user is None:  # the session ended while the page was open
        return redirect(signin_url(authorize_next(auth)), secure=accounts.is_secure)
    decision = form.get("decision", "")
    if decision == "cancel":
        return redirect(cancel_redirect(auth), secure=accounts.is_secure)
    if decision != "allow":
        raise InvalidArguments("choose Allow or Cancel")
    change = accounts.change(browser.user, browser.origin(request))
    target = form.get("target", ORGANIZATION_TARGET)
    ttl_s = accounts.settings.auth_code_ttl_s
    approval = approve(accounts.store, auth, target, change, ttl_s)
    return redirect(approval.redirect_to, form_target=auth.redirect_uri, secure=accounts.is_secure)


FormHandler = Callable[[AccountServices, Browser, Mapping[str, str], Request], Response]


async def form_post(request: Request, handle: FormHandler) -> Response:
    """Read a bounded form, refuse it without this browser's CSRF token, else handle it."""
    try:
        form = await body_values(request)
    except TrailkeeperError as exc:
        return error_page(exc)

    def work(accounts: AccountServices, browser: Browser) -> Response:
        if not is_valid_post(accounts.csrf_key, browser.cookie, form, request.headers):
            return error_page(CSRF_ERROR, accounts, browser)
        return handle(accounts, browser, form, request)

    return await run_page(request, work)


async def decide(request: Request) -> Response:
    """`POST /oauth/v2/authorize`: the consent form's Allow or Cancel."""
    return await form_post(request, _decide)


# --- signing in and out -----------------------------------------------------------------------


def signin_page(
    accounts: AccountServices,
    browser: Browser,
    next_url: str,
    *,
    notice: tuple[str, str] = ("", ""),
    login: str = "",
    status: int = 200,
) -> Response:
    """The sign-in form; `notice` is (message, error)."""
    purpose = "Sign in to continue installing the app." if next_url != "/" else ""
    if next_url.startswith(CONSOLE_PATH):
        purpose = "Sign in to read the organization's audit log."
    context = {
        "title": "Sign in",
        "purpose": purpose,
        "message": notice[0],
        "error": notice[1],
        "login": login,
        "next": next_url,
        "csrf": browser.csrf(accounts),
        "user": None,
    }
    return render("signin.html", context, status=status, secure=accounts.is_secure)


async def signin_form(request: Request) -> Response:
    """`GET /signin`."""
    params = dict(request.query_params)
    next_url = safe_next(params.get("next", ""))
    signed_out = "You have signed out." if params.get("signed_out") else ""

    def work(accounts: AccountServices, browser: Browser) -> Response:
        if browser.user is not None:
            return redirect(next_url, secure=accounts.is_secure)
        return signin_page(accounts, browser, next_url, notice=(signed_out, ""))

    return await run_page(request, work)


def _refused(
    accounts: AccountServices, browser: Browser, next_url: str, login: str, exc: Exception
) -> Response:
    if isinstance(exc, SignInThrottled):
        minutes = max(1, -(-exc.retry_after_s // 60))
        error = f"Too many failed attempts. Try again in {minutes} minute(s)."
        response = signin_page(
            accounts, browser, next_url, notice=("", error), login=login, status=429
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    error = "That email and password do not match an account that can sign in here."
    return signin_page(accounts, browser, next_url, notice=("", error), login=login, status=401)


def _sign_in(
    accounts: AccountServices, browser: Browser, form: Mapping[str, str], request: Request
) -> Response:
    next_url = safe_next(form.get("next", ""))
    login = form.get("login", "")[:254]
    origin = browser.origin(request)
    try:
        user = sign_in(
            accounts.store,
            login,
            form.get("password", ""),
            accounts.throttle,
            accounts.change(None, replace(origin, session_id=None)),
        )
    except SignInRefused as exc:
        return _refused(accounts, browser, next_url, login, exc)
    if browser.session is not None:
        end_session(accounts.store, browser.cookie)
    ttl_s = accounts.settings.session_ttl_s
    cookie, session = start_session(accounts.store, user, ttl_s, accounts.now())
    origin = replace(origin, session_id=session.number)
    details = {"authentication_method": "password"}
    accounts.record([user_event("user_login", user, user, origin, details)])
    response = redirect(next_url, secure=accounts.is_secure)
    set_session_cookie(response, accounts, cookie, max_age=ttl_s)
    return response


async def signin_submit(request: Request) -> Response:
    """`POST /signin`: check the password (throttled), start a session, go on."""
    return await form_post(request, _sign_in)


async def signout(request: Request) -> Response:
    """`POST /signout`: end the session (recorded as `user_logout`), back to the sign-in page."""
    return await form_post(request, _sign_out)


def _sign_out(
    accounts: AccountServices, browser: Browser, form: Mapping[str, str], request: Request
) -> Response:
    if browser.session is not None and browser.user is not None:
        end_session(accounts.store, browser.cookie)
        event = user_event("user_logout", browser.user, browser.user, browser.origin(request))
        accounts.record([event])
    response = redirect(
        signin_url(safe_next(form.get("next", "")), signed_out="1"), secure=accounts.is_secure
    )
    set_session_cookie(response, accounts, anonymous_browser().cookie)
    return response


# --- home and the demo app's landing page -----------------------------------------------------


async def home(request: Request) -> Response:
    """`GET /`: who is signed in."""

    def work(accounts: AccountServices, browser: Browser) -> Response:
        org = accounts.store.get_organization(browser.user.org_id) if browser.user else None
        context = {
            "title": "Home",
            "user": browser.user,
            "org_name": org.name if org else "",
            "csrf": browser.csrf(accounts),
        }
        return render("home.html", context, secure=accounts.is_secure)

    return await run_page(request, work)


DEMO_SNIPPET = """\
from slack_sdk import WebClient
from slack_sdk.audit_logs import AuditLogsClient

api = WebClient(base_url="{base}/api/")
access = api.oauth_v2_access(
    client_id="{client_id}",
    client_secret="<client secret from the demo output>",
    code="{code}",
    redirect_uri="{redirect_uri}",
)
token = access["authed_user"]["access_token"]
audit = AuditLogsClient(token=token, base_url="{base}/audit/v1/")
print([e.action for e in audit.logs(limit=5).typed_body.entries])"""


async def demo_callback(request: Request) -> Response:
    """`GET /demo/oauth-callback`: the demo app's redirect URL, showing what the app received."""
    params = dict(request.query_params)

    def work(accounts: AccountServices, browser: Browser) -> Response:
        base = str(request.base_url).rstrip("/")  # where this browser reached the page
        callback = base + DEMO_CALLBACK_PATH
        apps = [a for a in accounts.store.list_apps() if callback in a.redirect_urls]
        snippet = DEMO_SNIPPET.format(
            base=base,
            client_id=apps[-1].client_id if apps else "<client id from the demo output>",
            code=params.get("code", "")[:256],
            redirect_uri=callback,
        )
        context = {
            "title": "Demo app",
            "user": browser.user,
            "code": params.get("code", "")[:256],
            "state": params.get("state", "")[:256],
            "error": params.get("error", "")[:64],
            "snippet": snippet,
            "ttl_min": accounts.settings.auth_code_ttl_s // 60,
        }
        return render("demo_callback.html", context, secure=accounts.is_secure)

    return await run_page(request, work)


ROUTES = (
    ("/", home, ("GET",)),
    (AUTHORIZE_PATH, authorize, ("GET",)),
    (AUTHORIZE_PATH, decide, ("POST",)),
    ("/signin", signin_form, ("GET",)),
    ("/signin", signin_submit, ("POST",)),
    ("/signout", signout, ("POST",)),
    (CSS_PATH, stylesheet, ("GET",)),
    (DEMO_CALLBACK_PATH, demo_callback, ("GET",)),
)
