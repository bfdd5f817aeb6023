"""Normal activity in the simulator keeps to the context of its clock hour and device.

A person's context (address, client) is computed once per clock hour; an hour of API use that
started mid-hour used to spill its signals into the next hour with the old address, so a laptop
seemed to use two networks at once whenever it changed network on the hour (a hijack's very
signature). Likewise an activity of a kind the person has no device for (a "browser" moment of
a desktop-only person) computed its own context for the same device, from another moment of the
hour. Every unlabelled event and signal of one session in one clock hour must now agree.
"""

from __future__ import annotations

import random

from simulate.conftest import SMALL, stream_for
from trailkeeper.simulate.behaviour import Behaviour
from trailkeeper.simulate.population import PopulationConfig, build_population
from trailkeeper.simulate.presence import Sessions, place_at
from trailkeeper.simulate.records import JSON, Emitter
from trailkeeper.simulate.stream import DEFAULT_START, Stream
from trailkeeper.simulate.world import build_world

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


def test_a_device_has_one_context_per_hour_whichever_activity_asks_first() -> None:
    world = build_world(5)
    pop = build_population(world, PopulationConfig(80, DEFAULT_START, 20), 5)
    beh = Behaviour(Emitter(5), world, pop, Sessions(pop.start, pop.end), 5)
    rng = random.Random(5)
    # a desktop-only person whose home lease changes in the middle of a clock hour, at home
    found = [
        (p, lease.start)
        for p in pop.people
        if {d.kind for d in p.devices} == {"desktop"}
        for lease in p.leases[1:]
        if 600 < lease.start % HOUR < HOUR - 600 and place_at(p, lease.start)[0] == "home"
    ]
    assert found
    person, change = found[0]
    before = beh.ctx(person, change - 300, "desktop", rng)
    after = beh.ctx(person, change + 300, "browser", rng)  # no browser: the desktop is used
    assert before is not None
    assert after is before
