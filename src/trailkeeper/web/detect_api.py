"""Detection's HTTP edge: activity signals in, per-organization anomaly controls.

- `POST /ingest/v1/signals` (`auditlogs:write`): a JSON array or NDJSON batch of activity
  signals (detect/signals.py). Stored briefly for the detectors; never served by `/logs`.
- `GET|PATCH /admin/v1/anomaly-controls` (`admin:directory`): the organization's controls;
  PATCH takes the fields to change and records the change in the audit log.
- `GET /admin/v1/anomaly-shadow` (`admin:directory`): anomalies held back by shadow mode.
- Slack's Web API methods `admin.audit.anomaly.allow.getItem|updateItem` under `/api/`
  (`admin:directory`): the trusted ASN/CIDR allow-list, Slack's shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.catalog import Catalog
from trailkeeper.config import Settings
from trailkeeper.detect.controls import controls_from_json, update_controls
from trailkeeper.detect.runner import DetectionRunner
from trailkeeper.detect.service import build_runner
from trailkeeper.detect.signals import SignalRejected, parse_signal
from trailkeeper.directory.records import ADMIN_SCOPE, WRITE_SCOPE
from trailkeeper.errors import InvalidArguments, InvalidPayload
from trailkeeper.ingest import parse_batch
from trailkeeper.recorder import Recorder
from trailkeeper.storage.base import Store
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.credentials import bearer_token
from trailkeeper.web.errors import json_response, response_for
from trailkeeper.web.ingest_api import read_body
from trailkeeper.web.services import Services

MAX_CONTROLS_BYTES = 256 * 1024
MAX_SHADOW = 1000


def detection_runner(settings: Settings, store: Store, catalog: Catalog) -> DetectionRunner | None:
    """The in-process detection runner of the server (None when `TRAILKEEPER_DETECT=off`)."""
    if settings.detect != "on":
        return None
    return build_runner(settings, store, Recorder(store, catalog))


def _notify(request: Request) -> None:
    runner = getattr(request.app.state, "detection", None)
    if runner is not None:
        runner.notify()


def _invalidate(request: Request, org_id: str) -> None:
    runner = getattr(request.app.state, "detection", None)
    invalidate = getattr(getattr(runner, "pipeline", None), "controls", None)
    if invalidate is not None and hasattr(invalidate, "invalidate"):
        invalidate.invalidate(org_id)


# --- signals --------------------------------------------------------------------------------


def store_signals(services: Services, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Authorize, validate each signal and keep the valid ones."""
    grant = services.grant(bearer_token(headers), WRITE_SCOPE)
    services.ingestor.pauses.check_org(grant.org_id)  # recording paused: retry later
    items = parse_batch(body, max_events=services.settings.max_batch_events)
    now = int(services.clock())
    kept, rejected = [], []
    for index, item in enumerate(items):
        try:
            kept.append(orjson.dumps(parse_signal(item, now).to_dict()).decode())
        except SignalRejected as exc:
            rejected.append({"index": index, "reason": exc.reason})
    services.store.add_signals(grant.org_id, kept, now)
    return {"ok": not rejected, "accepted": len(kept), "rejected": rejected}


async def ingest_signals(request: Request) -> Response:
    """`POST /ingest/v1/signals`."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        bearer_token(headers)
        body = await read_body(request, services.settings.max_request_bytes)
        result = await anyio.to_thread.run_sync(store_signals, services, headers, body)
    except Exception as exc:
        return response_for(exc)
    _notify(request)
    if result["rejected"] and not result["accepted"]:
        return json_response({**result, "error": "invalid_signals"}, 400)
    return json_response(result)


# --- controls -------------------------------------------------------------------------------


def _changes(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        return {k: _form_list(v) for k, v in form.items() if k in ("trusted_asn", "trusted_cidr")}
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload("body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidArguments("the body must be an object of controls to change")
    return payload


def _form_list(value: str) -> list[str]:
    """Slack's Web API takes lists in forms as comma-separated strings (or JSON arrays)."""
    text = value.strip()
    if text.startswith("["):
        decoded = orjson.loads(text)
        return [str(v) for v in decoded] if isinstance(decoded, list) else []
    return [v.strip() for v in text.split(",") if v.strip()]


def read_controls(services: Services, headers: Mapping[str, str]) -> dict[str, Any]:
    """The organization's controls."""
    grant = services.grant(bearer_token(headers), ADMIN_SCOPE)
    controls = controls_from_json(services.store.get_detect_controls(grant.org_id))
    return {"ok": True, "controls": controls.to_dict()}


def change_controls(
    services: Services, headers: Mapping[str, str], changes: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Apply changes, record them in the log; the organization and the new controls."""
    grant = services.grant(bearer_token(headers), ADMIN_SCOPE)

    def record(events: list[dict[str, Any]]) -> object:
        return services.ingestor.ingest(events)

    new = update_controls(services.store, record, grant.org_id, changes)
    return grant.org_id, {"ok": True, "controls": new.to_dict()}


async def anomaly_controls(request: Request) -> Response:
    """`GET|PATCH /admin/v1/anomaly-controls`."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        bearer_token(headers)
        if request.method == "GET":
            return json_response(await anyio.to_thread.run_sync(read_controls, services, headers))
        body = await read_body(request, MAX_CONTROLS_BYTES)
        changes = _changes(body, headers.get("content-type", ""))
        org_id, result = await anyio.to_thread.run_sync(change_controls, services, headers, changes)
    except Exception as exc:
        return response_for(exc)
    _invalidate(request, org_id)
    return json_response(result)


def read_shadow(services: Services, headers: Mapping[str, str], limit: int) -> dict[str, Any]:
    """The organization's held-back anomalies, newest first."""
    grant = services.grant(bearer_token(headers), ADMIN_SCOPE)
    bodies = services.store.shadow_anomalies(grant.org_id, limit)
    return {"ok": True, "anomalies": [orjson.loads(b) for b in bodies]}


async def anomaly_shadow(request: Request) -> Response:
    """`GET /admin/v1/anomaly-shadow?limit=N`."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        raw = request.query_params.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_SHADOW:
            raise InvalidArguments(f"`limit` must be between 1 and {MAX_SHADOW}")
        result = await anyio.to_thread.run_sync(read_shadow, services, headers, int(raw))
    except Exception as exc:
        return response_for(exc)
    return json_response(result)


# --- Slack's allow-list methods --------------------------------------------------------------


def _allow_body(controls: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "trusted_asn": controls["trusted_asn"],
        "trusted_cidr": controls["trusted_cidr"],
    }


async def allow_get_item(request: Request) -> Response:
    """`admin.audit.anomaly.allow.getItem`."""
    services = services_of(request)
    try:
        result = await anyio.to_thread.run_sync(read_controls, services, dict(request.headers))
    except Exception as exc:
        return response_for(exc)
    return json_response(_allow_body(result["controls"]))


async def allow_update_item(request: Request) -> Response:
    """`admin.audit.anomaly.allow.updateItem`: overwrites the whole allow-list (Slack's rule)."""
    services = services_of(request)
    try:
        headers = dict(request.headers)
        bearer_token(headers)
        body = await read_body(request, MAX_CONTROLS_BYTES)
        given = _changes(body, headers.get("content-type", ""))
        if "trusted_asns" in given:  # the spelling of Slack's method metadata
            given.setdefault("trusted_asn", given.pop("trusted_asns"))
        changes = {
            "trusted_asn": given.get("trusted_asn") or [],
            "trusted_cidr": given.get("trusted_cidr") or [],
        }
        org_id, _ = await anyio.to_thread.run_sync(change_controls, services, headers, changes)
    except Exception as exc:
        return response_for(exc)
    _invalidate(request, org_id)
    return json_response({"ok": True})


ROUTES: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("/ingest/v1/signals", ingest_signals, ("POST",)),
    ("/admin/v1/anomaly-controls", anomaly_controls, ("GET", "PATCH")),
    ("/admin/v1/anomaly-shadow", anomaly_shadow, ("GET",)),
    ("/api/admin.audit.anomaly.allow.getItem", allow_get_item, ("GET", "POST")),
    ("/api/admin.audit.anomaly.allow.updateItem", allow_update_item, ("POST",)),
)
