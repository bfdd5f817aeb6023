"""The proof API under `/integrity/v1/`: keys, signed checkpoints, inclusion and consistency
proofs, leaf hashes and verification pages; plus the server's background checkpoint task.

Same bearer tokens (`auditlogs:read`) and error shape as the audit API; hashes and event bytes
are standard base64. Success bodies carry `"ok":true` (docs/integrity.md lists every field).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from trailkeeper.directory.records import READ_SCOPE
from trailkeeper.errors import InvalidArguments
from trailkeeper.integrity.service import CheckpointRecord, InclusionProof, IntegrityService
from trailkeeper.web.audit_api import services_of
from trailkeeper.web.credentials import bearer_token
from trailkeeper.web.errors import json_response, response_for
from trailkeeper.web.services import Services

PREFIX = "/integrity/v1"
_NUMBER = re.compile(r"[0-9]{1,19}")
MAX_NUMBER = (1 << 63) - 1  # the databases' BIGINT
log = logging.getLogger("trailkeeper.integrity")

Handler = Callable[[IntegrityService, str, Mapping[str, str]], dict[str, Any]]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _number(params: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name, "")
    if raw == "" and default is not None:
        return default
    if not _NUMBER.fullmatch(raw) or int(raw) > MAX_NUMBER:
        raise InvalidArguments(f"`{name}` must be a non-negative integer below 2**63")
    return int(raw)


def _optional_number(params: Mapping[str, str], name: str) -> int | None:
    return None if params.get(name, "") == "" else _number(params, name)


def _checkpoint_body(record: CheckpointRecord) -> dict[str, Any]:
    return {"ok": True, "checkpoint": record.note}


def _inclusion_body(proof: InclusionProof) -> dict[str, Any]:
    return {
        "ok": True,
        "id": proof.event_id,
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": _b64(proof.leaf_hash),
        "proof": [_b64(h) for h in proof.proof],
        "event": _b64(proof.body),
        "checkpoint": proof.checkpoint,
    }


# --- handlers (sync, run in a worker thread) --------------------------------------------------


def get_checkpoint(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """Latest signed checkpoint, or `?size=N` for an older one."""
    return _checkpoint_body(service.checkpoint_record(org_id, _optional_number(params, "size")))


def post_checkpoint(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """Checkpoint now if the tree grew; answer with the latest checkpoint."""
    service.checkpoint(org_id)
    return _checkpoint_body(service.checkpoint_record(org_id))


def get_inclusion(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """`?id=<event id>[&tree_size=N]`."""
    event_id = params.get("id", "")
    if not event_id or len(event_id) > 128:
        raise InvalidArguments("`id` must name an event")
    return _inclusion_body(
        service.inclusion(org_id, event_id, _optional_number(params, "tree_size"))
    )


def get_consistency(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """`?first=M[&second=N]` (second defaults to the latest checkpoint's size)."""
    first, second, proof = service.consistency(
        org_id, _number(params, "first"), _optional_number(params, "second")
    )
    return {"ok": True, "first": first, "second": second, "proof": [_b64(h) for h in proof]}


def get_leaves(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """`?start=S&end=E`: leaf hashes recomputed from the stored bytes, or kept for a purged
    event (null: neither)."""
    start, end = _number(params, "start"), _number(params, "end")
    hashes = service.leaf_hashes(org_id, start, end)
    return {
        "ok": True,
        "start": start,
        "leaf_hashes": [None if h is None else _b64(h) for h in hashes],
    }


def get_entries(service: IntegrityService, org_id: str, params: Mapping[str, str]) -> Any:
    """`?start=S&end=E`: stored events (bytes and index columns), tile hashes, and the kept leaf
    hashes of purged events."""
    page = service.entries(org_id, _number(params, "start"), _number(params, "end"))
    return {
        "ok": True,
        "log_size": page.log_size,
        "entries": [
            {
                "seq": r.seq,
                "id": r.id,
                "date_create": r.date_create,
                "action": r.action,
                "actor_id": r.actor_id,
                "entity_id": r.entity_id,
                "event": _b64(r.body),
            }
            for r in page.records
        ],
        "tiles": [{"index": i, "hash": _b64(h)} for i, h in sorted(page.tiles.items())],
        "purged": [{"seq": s, "leaf_hash": _b64(h)} for s, h in sorted(page.purged.items())],
    }


def _authorized(handler: Handler, services: Services, request: Request) -> dict[str, Any]:
    grant = services.grant(bearer_token(dict(request.headers)), READ_SCOPE)
    return handler(services.integrity, grant.org_id, dict(request.query_params))


async def _serve(handler: Handler, request: Request) -> Response:
    services = services_of(request)
    try:
        body = await anyio.to_thread.run_sync(_authorized, handler, services, request)
    except Exception as exc:
        return response_for(exc)
    return json_response(body)


# --- routes -----------------------------------------------------------------------------------


async def keys(request: Request) -> Response:
    """`GET /integrity/v1/keys`: every public key, retired ones too; no token needed."""
    services = services_of(request)
    try:
        records = await anyio.to_thread.run_sync(services.integrity.public_keys)
    except Exception as exc:
        return response_for(exc)
    return json_response(
        {
            "ok": True,
            "keys": [
                {
                    "vkey": k.vkey,
                    "name": k.name,
                    "key_id": k.key_id,
                    "created_at": k.created_at,
                    "retired_at": k.retired_at,
                    "endorsement": k.endorsement,
                }
                for k in records
            ],
        }
    )


async def checkpoint(request: Request) -> Response:
    """`GET /integrity/v1/checkpoint`."""
    return await _serve(get_checkpoint, request)


async def create_checkpoint(request: Request) -> Response:
    """`POST /integrity/v1/checkpoints`."""
    return await _serve(post_checkpoint, request)


async def inclusion(request: Request) -> Response:
    """`GET /integrity/v1/proof/inclusion`."""
    return await _serve(get_inclusion, request)


async def consistency(request: Request) -> Response:
    """`GET /integrity/v1/proof/consistency`."""
    return await _serve(get_consistency, request)


async def leaves(request: Request) -> Response:
    """`GET /integrity/v1/leaves`."""
    return await _serve(get_leaves, request)


async def entries(request: Request) -> Response:
    """`GET /integrity/v1/entries`."""
    return await _serve(get_entries, request)


ROUTES: tuple[tuple[str, Callable[[Request], Any], str], ...] = (
    ("/keys", keys, "GET"),
    ("/checkpoint", checkpoint, "GET"),
    ("/checkpoints", create_checkpoint, "POST"),
    ("/proof/inclusion", inclusion, "GET"),
    ("/proof/consistency", consistency, "GET"),
    ("/leaves", leaves, "GET"),
    ("/entries", entries, "GET"),
)


# --- the background checkpointer --------------------------------------------------------------


async def checkpoint_loop(service: IntegrityService, interval_s: int) -> None:
    """Every `interval_s` seconds, checkpoint each organization whose tree grew (until
    cancelled); a failing round is logged and the next one tries again."""
    while True:
        await anyio.sleep(interval_s)
        try:
            await anyio.to_thread.run_sync(service.checkpoint_all)
        except Exception:
            log.exception("checkpoint round failed")
