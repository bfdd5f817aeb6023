"""Normal API use in the simulator keeps to the context of its clock hour.

A person's context (address, client) is computed once per clock hour; an hour of API use that
started mid-hour used to spill its signals into the next hour with the old address, so a laptop
seemed to use two networks at once whenever it changed network on the hour (a hijack's very
signature). Every unlabelled event and signal of one session in one clock hour must now agree.
"""

from __future__ import annotations

from simulate.conftest import SMALL, stream_for
from trailkeeper.simulate.records import JSON
from trailkeeper.simulate.stream import Stream

HOUR = 3600


def _addresses(stream: Stream) -> dict[tuple[int, int], set[str]]:
    """The addresses of benign activity per (session, clock hour)."""
    seen: dict[tuple[int, int], set[str]] = {}

    def note(item: JSON, sid: object, ts: int, ip: str) -> None:
        if isinstance(sid, int) and item["id"] not in stream.labels:
            seen.setdefault((sid, ts // HOUR), set()).add(ip)

    for e in stream.events:
        c = e["context"]
        note(e, c.get("session_id"), int(e["date_create"]), str(c["ip_address"]))
    for s in stream.signals:
        note(s, s.get("session_id"), int(s["date"]), str(s["ip_address"]))
    return seen


def test_a_session_uses_one_address_per_clock_hour() -> None:
    stream = stream_for(SMALL, 3)
    seen = _addresses(stream)
    assert len(seen) > 1000  # the check covers plenty of session-hours
    split = [key for key, ips in seen.items() if len(ips) > 1]
    assert split == []
