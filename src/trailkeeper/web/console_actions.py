"""The console's apps-and-tokens page and the changes it makes, plus exports: every form post
carries the browser's CSRF token, and every change is recorded in the organization's log.

    GET  /console/apps                       installed apps (scopes, installer) and tokens
    POST /console/tokens/revoke              revoke one token      -> audit_logs_token_revoked
    POST /console/installations/uninstall    uninstall one app     -> org_app_uninstalled
    POST /console/export                     the filter as JSONL or CSV -> audit_logs_export_*
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from trailkeeper.console.activity import export_event, token_revoked_event
from trailkeeper.console.export import FORMATS, ExportFormat, export_bytes, export_rows
from trailkeeper.console.filters import format_time, parse_filter
from trailkeeper.console.search import EventQuery, SearchPage
from trailkeeper.directory.accounts import App, Installation, User
from trailkeeper.directory.installations import revoke_installation
from trailkeeper.directory.records import TokenRecord
from trailkeeper.errors import NotFound, TrailkeeperError
from trailkeeper.query import Position
from trailkeeper.web.console_visit import PREFIX, Visit, console_headers, serve
from trailkeeper.web.csrf import is_valid_post
from trailkeeper.web.forms import body_values
from trailkeeper.web.oauth_pages import CSRF_ERROR, error_page
from trailkeeper.web.pages import redirect

APPS = f"{PREFIX}/apps"
MAX_ID = 64


@dataclass(frozen=True)
class InstalledApp:
    """An installation in force: the app, its scopes, who installed it, where."""

    installation: Installation
    app: App
    installer: User | None
    where: str
    installed: str


@dataclass(frozen=True)
class TokenRow:
    """A token as listed (never its secret): where it came from and when it was last used."""

    record: TokenRecord
    source: str
    created: str
    last_used: str
    revoked: str


def _when(seconds: int | None) -> str:
    return "" if seconds is None else format_time(seconds)


def installed_apps(visit: Visit) -> list[InstalledApp]:
    """The organization's installations in force, newest first."""
    store, found = visit.services.store, []
    names = {w.id: w.name for w in store.list_workspaces(visit.org.id)}
    for app in store.list_apps():
        for i in store.list_installations(app.id, visit.org.id):
            if i.revoked_at is None:
                where = (
                    f"Workspace {names.get(i.workspace_id, i.workspace_id)}"
                    if (i.workspace_id)
                    else f"The whole {visit.org.name} organization"
                )
                installer = store.get_user(i.installer_id)
                found.append(InstalledApp(i, app, installer, where, _when(i.created_at)))
    return sorted(found, key=lambda a: -a.installation.created_at)


def token_rows(visit: Visit, apps: dict[str, InstalledApp]) -> list[TokenRow]:
    """The organization's tokens: active ones first, newest first."""
    rows = []
    for t in visit.services.store.list_tokens(visit.org.id):
        installed = apps.get(t.installation_id or "")
        source = (
            f"{installed.app.name} (app)"
            if installed
            else ("an app, since uninstalled" if t.installation_id else "issued by an operator")
        )
        created, used, revoked = _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at)
        rows.append(TokenRow(t, source, created, used or "never", revoked))
    return sorted(rows, key=lambda r: (not r.record.is_active, -r.record.created_at))


def apps_work(visit: Visit) -> Response:
    """`GET /console/apps`: installed apps and tokens, with their revoke buttons."""
    apps = installed_apps(visit)
    by_installation = {a.installation.id: a for a in apps}
    context = {
        "title": "Apps and tokens",
        "nav": "apps",
        "apps": apps,
        "tokens": token_rows(visit, by_installation),
        "revoked": visit.params.get("revoked", "")[:MAX_ID],
        "uninstalled": visit.params.get("uninstalled", "")[:MAX_ID],
    }
    return visit.render("console_apps.html", context)


async def apps_page(request: Request) -> Response:
    """`GET /console/apps`."""
    return await serve(request, apps_work)


# --- changes: one form post each -------------------------------------------------------------

Change = Callable[[Visit, dict[str, str]], Response]


async def post(request: Request, change: Change) -> Response:
    """Read a bounded form, check its CSRF token, then make the change as the visitor."""
    try:
        form = await body_values(request)
    except TrailkeeperError as exc:
        return error_page(exc)

    def work(visit: Visit) -> Response:
        accounts, browser = visit.accounts, visit.browser
        if not is_valid_post(accounts.csrf_key, browser.cookie, form, request.headers):
            return error_page(CSRF_ERROR, accounts, browser)
        return change(visit, form)

    return await serve(request, work, params={})


def _token_of(visit: Visit, token_id: str) -> TokenRecord:
    for record in visit.services.store.list_tokens(visit.org.id):
        if record.id == token_id:
            return record
    raise NotFound("no such token in this organization")


def revoke_token(visit: Visit, form: dict[str, str]) -> Response:
    """Revoke one token of the organization; recorded as `audit_logs_token_revoked`."""
    token = _token_of(visit, form.get("token_id", "")[:MAX_ID])
    store = visit.services.store
    if store.revoke_token(token.id, visit.now()):
        installation = store.get_installation(token.installation_id or "")
        app = store.get_app(installation.app_id) if installation else None
        visit.accounts.record(
            [token_revoked_event(visit.user, visit.origin, visit.org, token, app)]
        )
    return redirect(f"{APPS}?revoked={token.id}", secure=visit.accounts.is_secure)


async def revoke(request: Request) -> Response:
    """`POST /console/tokens/revoke`."""
    return await post(request, revoke_token)


def uninstall_app(visit: Visit, form: dict[str, str]) -> Response:
    """Uninstall one installation (its tokens stop working); recorded as Slack records it."""
    store = visit.services.store
    installation = store.get_installation(form.get("installation_id", "")[:MAX_ID])
    if installation is None or installation.org_id != visit.org.id:
        raise NotFound("no such installation in this organization")
    revoke_installation(store, installation, visit.accounts.change(visit.user, visit.origin))
    return redirect(f"{APPS}?uninstalled={installation.id}", secure=visit.accounts.is_secure)


async def uninstall(request: Request) -> Response:
    """`POST /console/installations/uninstall`."""
    return await post(request, uninstall_app)


# --- exports ---------------------------------------------------------------------------------


def _range_of(visit: Visit, query: EventQuery) -> tuple[int, int]:
    """The export's time range, for the progress bar: open ends become the log's own ends."""
    span = visit.services.store.event_span(visit.org.id) or (visit.now(), visit.now())
    oldest = span[0] if query.oldest is None else query.oldest
    latest = min(span[1], visit.now()) if query.latest is None else query.latest
    return oldest, max(oldest, latest)


def refused_export(visit: Visit, problems: list[str]) -> Response:
    """A page saying why an export did not start (nothing was recorded)."""
    context = {
        "title": "Export not started",
        "nav": "log",
        "heading": "This export cannot start",
        "message": " ".join(problems),
        "code": "invalid_arguments",
    }
    return visit.render("console_message.html", context, status=400)


def export_work(visit: Visit, form: dict[str, str]) -> Response:
    """Stream the filter's events in the chosen format, newest first (recorded first)."""
    fmt: ExportFormat | None = FORMATS.get(form.get("format", ""))
    f = parse_filter(form)
    resolved = visit.resolve(f)
    problems = [p.message for p in resolved.problems]
    if fmt is None or problems:
        return refused_export(visit, problems or ["Choose JSON lines or CSV."])
    visit.accounts.record([export_event(fmt.action, visit.user, visit.origin, visit.org, f)])
    oldest, latest = _range_of(visit, resolved.query)
    query = replace(resolved.query, latest=latest)
    store, org_id, window = visit.services.store, visit.org.id, visit.reader.window

    def search(below: Position | None, limit: int) -> SearchPage:
        return store.search_events(org_id, query, below, limit, window)

    chunks: Iterator[bytes] = export_bytes(fmt, export_rows(search), visit.services.catalog)
    name = f"trailkeeper-{org_id}-{oldest}-{latest}.{fmt.extension}"
    headers = console_headers(visit.accounts) | {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Export-Oldest": str(oldest),
        "X-Export-Latest": str(latest),
    }
    return StreamingResponse(chunks, media_type=fmt.media_type, headers=headers)


async def export(request: Request) -> Response:
    """`POST /console/export`."""
    return await post(request, export_work)
