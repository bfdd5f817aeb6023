"""Slack-shaped events and detect-shaped signals as the emitter builds them."""

from __future__ import annotations

import random

from trailkeeper.simulate.population import ORG_ID
from trailkeeper.simulate.records import Act, Ctx, Emitter, Label
from trailkeeper.simulate.stream import Stream

CTX = Ctx("python-requests/2.32.3", "100.64.0.9", 1_234_567_890_123, "T0SIMHQ", "t13d1516h2_x_y")


def test_events_have_slacks_shape_and_an_optional_label(small_stream: Stream) -> None:
    em = Emitter(1)
    person = small_stream.population.people[0]
    rng = random.Random(1)
    act = Act("file_downloaded", em.file_entity(rng, "T0SIMHQ"), {"url_private": "u"})
    event_id = em.event(rng, 1_767_600_000, person, CTX, act, label=Label("c", "S1", "exfil"))
    event = em.events[0]
    assert list(event) == ["id", "date_create", "action", "actor", "entity", "context", "details"]
    assert event["id"] == event_id
    assert event["actor"] == {"type": "user", "user": person.user_object()}
    assert event["context"]["location"]["id"] == "T0SIMHQ"
    assert em.labels[event_id] == Label("c", "S1", "exfil")


def test_organization_wide_actions_are_located_at_the_enterprise(small_stream: Stream) -> None:
    em = Emitter(1)
    person = small_stream.population.people[0]
    act = Act("pref.sso_setting_changed", em.enterprise_entity(), None, org_wide=True)
    em.event(random.Random(2), 1_767_600_000, person, CTX, act, label=None)
    assert em.events[0]["context"]["location"]["id"] == ORG_ID
    assert "details" not in em.events[0]


def test_an_hour_of_usage_becomes_one_signal_per_method_and_conversation(
    small_stream: Stream,
) -> None:
    em = Emitter(1)
    person = small_stream.population.people[0]
    usage = ({"client.counts": 40, "chat.delete": 0}, [("C0A", 5), ("C0B", 2)])
    ids = em.usage(random.Random(3), (1_767_600_000, 3600), person, CTX, usage)
    assert len(ids) == 3  # no signal for a zero count
    methods = sorted((s["api_method"], s["count"], s.get("target_id")) for s in em.signals)
    assert methods == [
        ("client.counts", 40, None),
        ("conversations.history", 2, "C0B"),
        ("conversations.history", 5, "C0A"),
    ]
    assert all(1_767_600_000 <= s["date"] < 1_767_603_600 for s in em.signals)
    assert all(s["client_fingerprint"] == CTX.ja4 for s in em.signals)
    em.label(ids, Label("c", "S5", "scrape"))
    assert set(em.labels) == set(ids)
