"""Retention: how long each organization keeps its audit log, and removing what has expired.

Every change of policy and every purge is itself an event in the organization's log (and so in
its Merkle tree), recorded under the service actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailkeeper.errors import InvalidArguments, NotFound
from trailkeeper.recorder import Recorder, organization_event
from trailkeeper.storage.base import Store

DAY_S = 86_400
MAX_KEEP_DAYS = 36_500


@dataclass(frozen=True)
class Purge:
    """What one enforcement run removed from one organization."""

    org_id: str
    cutoff: int
    keep_days: int
    purged: int


def set_policy(store: Store, recorder: Recorder, org_id: str, keep_days: int | None) -> None:
    """Keep `org_id`'s events for `keep_days` days (None: forever); recorded in its log."""
    if keep_days is not None and not 1 <= keep_days <= MAX_KEEP_DAYS:
        raise InvalidArguments(f"keep days must be between 1 and {MAX_KEEP_DAYS}")
    if store.get_organization(org_id) is None:
        raise NotFound(f"no organization {org_id}")
    previous = store.retention_policies().get(org_id)
    store.set_retention(org_id, keep_days)
    recorder.record(
        organization_event(
            "pref.ext_audit_log_retention_duration_changed",
            org_id,
            {"previous_value": _label(previous), "new_value": _label(keep_days)},
        )
    )


def _label(keep_days: int | None) -> str:
    return "forever" if keep_days is None else f"{keep_days} days"


def enforce(store: Store, recorder: Recorder, now: int) -> list[Purge]:
    """Delete every organization's expired events and record each purge in its log."""
    policies = store.retention_policies()
    cutoffs = {org: now - days * DAY_S for org, days in policies.items()}
    purges = []
    for org_id, count in sorted(store.purge(cutoffs).items()):
        if count:
            purge = Purge(org_id, cutoffs[org_id], policies[org_id], count)
            recorder.record(
                organization_event(
                    "audit_logs_purged",
                    org_id,
                    {
                        "keep_days": purge.keep_days,
                        "cutoff": purge.cutoff,
                        "purged_events": count,
                    },
                )
            )
            purges.append(purge)
    return purges
