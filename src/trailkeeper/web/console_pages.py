"""The admin console under `/console/`: the log, an event, anomalies, and the console's route table.

Server-rendered pages for an organization's Owners and Admins, signed in with the directory's
accounts (the sessions, CSRF tokens and forms of the sign-in pages). Every search of the records
is itself recorded (`audit_logs_records_searched`); so are exports and revocations
(`web/console_actions.py`). A small script (`static/console.js`) only enhances the pages.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.console.filters import (
    PAGE_SIZES,
    PRESETS,
    Problem,
    ResolvedFilter,
    parse_filter,
)
from trailkeeper.console.pages import event_detail, proof_status
from trailkeeper.console.views import ActionGroup, action_groups, by_day
from trailkeeper.errors import InvalidCursor
from trailkeeper.query import Position, decode_cursor, encode_cursor
from trailkeeper.web import console_actions
from trailkeeper.web.console_visit import HOME, PREFIX, Visit, serve
from trailkeeper.web.pages import redirect

ANOMALY_PAGE = 25
CHART_BARS = 25  # bars beside the log; the counts page shows them all
MAX_EVENT_ID = 128
NO_EVENT = {
    "title": "No such event",
    "nav": "log",
    "heading": "No such event",
    "message": "This organization's log has no event with that id.",
    "code": "not_found",
}
STATIC_TYPES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript"}


# --- the log ------------------------------------------------------------------------------------


def _start(visit: Visit, problems: list[Problem]) -> Position | None:
    """The page's starting position, from the API's own cursor."""
    cursor = visit.params.get("cursor", "")
    if not cursor:
        return None
    settings = visit.services.settings
    try:
        return decode_cursor(
            cursor,
            org_id=visit.org.id,
            key=visit.services.cursor_key,
            now=visit.now(),
            ttl_s=settings.cursor_ttl_s,
        )
    except InvalidCursor:
        problems.append(Problem("cursor", "That link to older events has expired or was altered."))
        return None


def _cursor(visit: Visit, position: Position | None) -> str:
    if position is None:
        return ""
    key = visit.services.cursor_key
    return encode_cursor(position, org_id=visit.org.id, key=key, now=visit.now())


def _groups(visit: Visit) -> tuple[ActionGroup, ...]:
    """The action picker's groups, built once per app."""
    state = visit.request.app.state
    found: tuple[ActionGroup, ...] | None = getattr(state, "console_groups", None)
    if found is None:
        found = state.console_groups = action_groups(visit.services.catalog)
    return found


def form_context(visit: Visit, resolved: ResolvedFilter) -> dict[str, Any]:
    """What the filter form shows: the filter, its problems, the choices."""
    return {
        "f": resolved.filter,
        "resolved": resolved,
        "presets": PRESETS,
        "page_sizes": PAGE_SIZES,
        "groups": _groups(visit),
        "workspaces": visit.services.store.list_workspaces(visit.org.id),
    }


def logs_work(visit: Visit) -> Response:
    """`GET /console/logs`: the filter, a page of events (or just the rows, `partial=1`)."""
    f = parse_filter(visit.params)
    resolved = visit.resolve(f)
    problems = list(resolved.problems)
    start = _start(visit, problems)
    page = None
    if not problems:
        page = visit.reader.page(resolved.query, start, f.limit)
        if not (start is not None and visit.is_recorded("log", f)):
            visit.record_search("log", f)
    tag = visit.search_tag("log", f)
    more = ""
    if page is not None and page.next_position is not None:
        more = f"{HOME}?{f.query_string(cursor=_cursor(visit, page.next_position), tag=tag)}"
    context = {
        "title": "Audit log",
        "nav": "log",
        "page": page,
        "problems": problems,
        "more": more,
        "is_continuation": start is not None,
        "chart_url": f"{PREFIX}/counts?{f.query_string(tag=tag)}",
        **form_context(visit, ResolvedFilter(f, resolved.query, tuple(problems))),
    }
    if visit.params.get("partial") == "1":
        return visit.render("console_rows.html", context)
    return visit.render("console_log.html", context)


async def logs(request: Request) -> Response:
    """`GET /console/logs`."""
    return await serve(request, logs_work)


def counts_work(visit: Visit) -> Response:
    """`GET /console/counts`: events per action over the filter (the log page's chart)."""
    f = parse_filter(visit.params)
    resolved = visit.resolve(f)
    chart = None
    if not resolved.problems:
        if not visit.is_recorded("log", f):
            visit.record_search("counts", f)
        chart = visit.reader.counts(resolved.query)
    context = {
        "title": "Events per action",
        "nav": "log",
        "chart": chart,
        "f": f,
        "problems": resolved.problems,
    }
    if visit.params.get("partial") == "1":
        return visit.render("console_chart.html", context | {"max_bars": CHART_BARS})
    return visit.render(
        "console_counts.html", context | {"max_bars": len(chart.bars) if chart else 0}
    )


async def counts(request: Request) -> Response:
    """`GET /console/counts`."""
    return await serve(request, counts_work)


# --- an event ---------------------------------------------------------------------------------


def event_work(visit: Visit) -> Response:
    """`GET /console/events/{id}`: the exact stored event and its neighbourhood."""
    event_id = str(visit.request.path_params.get("event_id", ""))
    row = visit.reader.event(event_id) if 0 < len(event_id) <= MAX_EVENT_ID else None
    if row is None:
        return visit.render("console_message.html", NO_EVENT, status=404)
    integrity, org_id = visit.services.integrity, visit.org.id
    detail = event_detail(visit.reader, row, lambda i: proof_status(integrity, org_id, i))
    context: dict[str, Any] = {"title": f"Event {detail.event.action}", "nav": "log"}
    return visit.render("console_event.html", context | {"d": detail})


async def event(request: Request) -> Response:
    """`GET /console/events/{event_id}`."""
    return await serve(request, event_work)


# --- anomalies ----------------------------------------------------------------------------------


def anomalies_work(visit: Visit) -> Response:
    """`GET /console/anomalies`: anomaly events by day, for everyone or one actor's timeline."""
    f = parse_filter(visit.params).but(action="anomaly", limit=ANOMALY_PAGE)
    resolved = visit.resolve(f)
    problems = list(resolved.problems)
    start = _start(visit, problems)
    page = None
    if not problems:
        page = visit.reader.anomalies(resolved.query, start, ANOMALY_PAGE)
        if not (start is not None and visit.is_recorded("anomalies", f)):
            visit.record_search("anomalies", f)
    more = ""
    if page is not None and page.next_position is not None:
        tag = visit.search_tag("anomalies", f)
        cursor = _cursor(visit, page.next_position)
        more = f"{PREFIX}/anomalies?{f.but(action='').query_string(cursor=cursor, tag=tag)}"
    context = {
        "title": "Anomalies",
        "nav": "anomalies",
        "page": page,
        "days": by_day(page.anomalies) if page else [],
        "problems": problems,
        "more": more,
        "f": f,
        "presets": PRESETS,
    }
    return visit.render("console_anomalies.html", context)


async def anomalies(request: Request) -> Response:
    """`GET /console/anomalies`."""
    return await serve(request, anomalies_work)


# --- the rest -----------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    """`GET /console/`: the log."""
    return redirect(HOME)


async def not_found(request: Request) -> Response:
    """Any other console URL: a page, not the API's JSON."""

    def work(visit: Visit) -> Response:
        context = {"title": "Not found", "nav": "", "heading": "There is no such page",
                   "message": "Go back to the log.", "code": "not_found"}  # fmt: skip
        return visit.render("console_message.html", context, status=404)

    return await serve(request, work)


@cache
def _static(name: str) -> bytes:
    return resources.files("trailkeeper.web").joinpath(f"static/{name}").read_bytes()


async def static(request: Request) -> Response:
    """`GET /console/static/console.css|console.js`."""
    name = str(request.path_params.get("name", ""))
    if name not in STATIC_TYPES:
        return Response(b"", status_code=404)
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_static(name), media_type=STATIC_TYPES[name], headers=headers)


ROUTES = (
    (PREFIX, home, ("GET",)),
    (PREFIX + "/", home, ("GET",)),
    (HOME, logs, ("GET",)),
    (PREFIX + "/counts", counts, ("GET",)),
    (PREFIX + "/events/{event_id}", event, ("GET",)),
    (PREFIX + "/anomalies", anomalies, ("GET",)),
    (console_actions.APPS, console_actions.apps_page, ("GET",)),
    (PREFIX + "/tokens/revoke", console_actions.revoke, ("POST",)),
    (PREFIX + "/installations/uninstall", console_actions.uninstall, ("POST",)),
    (PREFIX + "/export", console_actions.export, ("POST",)),
    (PREFIX + "/static/{name}", static, ("GET",)),
    (PREFIX + "/{rest:path}", not_found, ("GET",)),  # last: every other console URL
)
