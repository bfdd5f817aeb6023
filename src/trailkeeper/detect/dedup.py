"""De-duplication: one anomaly per actor, reason set and session within a window; while the
condition persists it is repeated at most once per `repeat_s` (Slack re-emits hourly).
"""

from __future__ import annotations

from trailkeeper.detect.state import ActorState


def dedup_key(reasons: tuple[str, ...], session_id: int | None) -> str:
    """The key an anomaly is de-duplicated under (the actor is implied by the state)."""
    return "+".join(reasons) + "|" + ("-" if session_id is None else str(session_id))


def should_emit(
    actor: ActorState, key: str, now: float, *, window_s: float, repeat_s: float
) -> bool:
    """Emit now? True for a new episode, or a repeat an interval after the last emission.

    An episode begins with the first emission and lasts `window_s`; inside it the same key is
    emitted again only when at least `repeat_s` has passed since the last emission (the
    detector firing again is what shows the condition persists).
    """
    seen = actor.dedup.get(key) if actor.dedup else None
    if seen is None or now - seen[0] > window_s:
        actor.note_emitted(key, now, first=now)
        return True
    first, last = seen
    if now - last >= repeat_s:
        actor.note_emitted(key, now, first=first)
        return True
    return False
