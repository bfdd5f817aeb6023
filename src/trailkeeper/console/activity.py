"""The console's own audit events: searches, exports and token revocations, by the signed-in
person, from their address, user agent and session. Pure builders (see directory.activity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailkeeper.console.filters import ConsoleFilter
from trailkeeper.directory.accounts import App, User
from trailkeeper.directory.activity import Event, Origin, account_event
from trailkeeper.directory.records import Organization, TokenRecord

SEARCHED = "audit_logs_records_searched"
TOKEN_REVOKED = "audit_logs_token_revoked"


def enterprise_entity(org: Organization) -> dict[str, Any]:
    """The organization as Slack's `enterprise` entity."""
    enterprise = {"id": org.id, "name": org.name, "domain": org.domain}
    return {"type": "enterprise", "enterprise": enterprise}


def console_event(
    action: str, actor: User, origin: Origin, org: Organization, details: Mapping[str, Any]
) -> Event:
    """An event about the organization's log, by a person using the console."""
    entity = enterprise_entity(org)
    location = ("enterprise", org.id)
    return account_event(action, actor, entity, origin, location=location, details=details)


def search_event(
    actor: User, origin: Origin, org: Organization, view: str, f: ConsoleFilter
) -> Event:
    """`audit_logs_records_searched`: which view, with which filter."""
    details = {"view": view, "filters": dict(f.items())}
    return console_event(SEARCHED, actor, origin, org, details)


def export_event(
    action: str, actor: User, origin: Origin, org: Organization, f: ConsoleFilter
) -> Event:
    """`audit_logs_export_json_started` / `audit_logs_export_csv_started`, with the filter."""
    return console_event(action, actor, origin, org, {"filters": dict(f.items())})


def token_revoked_event(
    actor: User, origin: Origin, org: Organization, token: TokenRecord, app: App | None
) -> Event:
    """`audit_logs_token_revoked`: which token (never its secret), and the app that held it."""
    details: dict[str, Any] = {
        "token_id": token.id,
        "label": token.label,
        "scopes": sorted(token.scopes),
    }
    if app is not None:
        details |= {"app_id": app.id, "app_name": app.name}
        details["installation_id"] = token.installation_id
    return console_event(TOKEN_REVOKED, actor, origin, org, details)
