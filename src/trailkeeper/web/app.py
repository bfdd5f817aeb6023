"""The ASGI app: one route table, the error handlers, and `create_app(settings, store)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trailkeeper.catalog import Catalog, load_catalog
from trailkeeper.config import Settings
from trailkeeper.ratelimit import RateLimiter
from trailkeeper.storage.base import Store
from trailkeeper.web import (
    admin_api,
    audit_api,
    console_pages,
    detect_api,
    ingest_api,
    integrity_api,
    oauth_pages,
    slack_web_api,
)
from trailkeeper.web.catalog_bodies import actions_body, schemas_body
from trailkeeper.web.errors import error_response, json_response, response_for
from trailkeeper.web.services import build_services

AUDIT_PREFIXES = ("/audit/v1", "/api/audit/v1")  # the second serves slack-go's default layout


async def health(request: Request) -> Response:
    """Liveness: the process answers."""
    return json_response({"ok": True})


def routes() -> list[Route]:
    """The route table of the whole service."""
    table = [Route("/healthz", health, methods=["GET"])]
    for prefix in AUDIT_PREFIXES:
        table += [
            Route(f"{prefix}/logs", audit_api.logs, methods=["GET"]),
            Route(f"{prefix}/schemas", audit_api.schemas, methods=["GET"]),
            Route(f"{prefix}/actions", audit_api.actions, methods=["GET"]),
        ]
    table.append(Route("/ingest/v1/events", ingest_api.ingest_events, methods=["POST"]))
    for path, endpoint, verbs in detect_api.ROUTES:  # signals and anomaly controls
        table.append(Route(path, endpoint, methods=list(verbs)))
    for path, endpoint, method in integrity_api.ROUTES:
        table.append(Route(integrity_api.PREFIX + path, endpoint, methods=[method]))
    for module in (oauth_pages, slack_web_api, admin_api):  # the install story (docs/oauth.md)
        table += [Route(path, func, methods=list(verbs)) for path, func, verbs in module.ROUTES]
    table += [Route(path, func, methods=list(verbs)) for path, func, verbs in console_pages.ROUTES]
    for route in table:
        # Starlette adds HEAD to every GET route; a HEAD of /logs would run the query and spend
        # the organization's rate limit for nothing, so the API answers method_not_allowed.
        if route.methods is not None:
            route.methods.discard("HEAD")
    return table


async def http_error(request: Request, exc: Exception) -> Response:
    """404 and 405 in the API's error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response("bad_endpoint", 404)
    if status == 405:
        return error_response("method_not_allowed", 405)
    return error_response("invalid_request", status)


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: an opaque 500, traceback to the log."""
    return response_for(exc)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Background work while the server runs: periodic signed checkpoints."""
    services = app.state.services
    detection = app.state.detection  # anomaly detection: resumes its state, then tails the log
    if detection is not None:
        await anyio.to_thread.run_sync(detection.start)
    async with anyio.create_task_group() as tasks:
        if services.settings.checkpoint_interval_s:
            tasks.start_soon(
                integrity_api.checkpoint_loop,
                services.integrity,
                services.settings.checkpoint_interval_s,
            )
        yield
        tasks.cancel_scope.cancel()
    if detection is not None:
        await anyio.to_thread.run_sync(detection.stop)


def create_app(
    settings: Settings,
    store: Store,
    catalog: Catalog | None = None,
    limiter: RateLimiter | None = None,
) -> Starlette:
    """The whole service on a migrated store."""
    catalog = catalog or load_catalog(settings.catalog_extensions)
    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.services = build_services(settings, store, catalog, limiter)
    app.state.detection = detect_api.detection_runner(settings, store, catalog)
    app.state.actions_body = actions_body(catalog)
    app.state.schemas_body = schemas_body(catalog)
    return app
