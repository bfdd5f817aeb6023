"""The pipeline around the detectors: controls, combination rules, warm-up, de-duplication,
snapshots and the size of state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from trailkeeper.detect.anomaly import permitted
from trailkeeper.detect.controls import OrgControls, apply_changes
from trailkeeper.detect.pipeline import DetectionPipeline

from .conftest import DAY, GO, START, Story

ANN = "U0ANN"
MakeStory = Callable[..., Story]


def warm(story: Story, days: int = 10) -> float:
    story.population(days, users=20)
    for day in range(days):
        if day % 7 not in (5, 6):
            story.workday(ANN, day)
    return START + days * DAY


def controls(**changes: Any) -> OrgControls:
    return apply_changes(OrgControls(), changes)


def test_a_trusted_cidr_suppresses_anomalies_from_it(make_story: MakeStory) -> None:
    story = make_story(controls(trusted_cidr=["198.18.128.0/24"]))
    assert story.event("user_login", ANN, START, net="tor") == []


def test_a_trusted_asn_suppresses_anomalies_from_it(make_story: MakeStory) -> None:
    story = make_story(controls(trusted_asn=[64530]))
    assert story.event("user_login", ANN, START, net="tor") == []


def test_an_exempt_member_draws_no_anomaly(make_story: MakeStory) -> None:
    story = make_story(controls(exempt_users=[ANN]))
    assert story.event("user_login", ANN, START, net="tor") == []
    assert story.event("user_login", "U0BOB", START, net="tor") != []


def test_a_disabled_reason_is_not_emitted(make_story: MakeStory) -> None:
    story = make_story(controls(disabled_reasons=["tor"]))
    assert story.event("user_login", ANN, START, net="tor") == []


def test_mode_off_emits_nothing_and_shadow_keeps_anomalies_out_of_the_log(
    make_story: MakeStory,
) -> None:
    off = make_story(controls(mode="off"))
    assert off.event("user_login", ANN, START, net="tor") == []
    shadow = make_story(controls(mode="shadow"))
    assert shadow.event("user_login", ANN, START, net="tor") == []
    assert [a["details"]["reason"] for a in shadow.pipeline.shadowed] == [["tor"]]


def test_partner_rules_follow_slack() -> None:
    everything = OrgControls()
    assert permitted(("asn",), everything, app=False) == ("asn", "ip_address")
    assert permitted(("unexpected_user_agent",), everything, app=False) == (
        "unexpected_user_agent",
        "user_agent",
    )
    assert permitted(("spoofed_user_agent",), everything, app=False) == (
        "spoofed_user_agent",
        "unexpected_client",
    )
    no_ip = controls(disabled_reasons=["ip_address"])
    assert permitted(("asn", "tor"), no_ip, app=False) == ("tor",)


def test_apps_only_get_the_reasons_slack_monitors_apps_for() -> None:
    reasons = ("tor", "session_fingerprint", "unexpected_admin_action", "excessive_downloads")
    assert permitted(reasons, OrgControls(), app=True) == ("tor", "excessive_downloads")


def test_high_sensitivity_halves_the_volume_threshold(make_story: MakeStory) -> None:
    quiet = make_story()
    t = warm(quiet)
    sensitive = make_story(controls(sensitivity={"excessive_downloads": "high"}))
    warm(sensitive)
    for story in (quiet, sensitive):
        for k in range(50):
            story.download(ANN, t + k * 10, 500 + k)
    assert quiet.anomalies == []
    assert [a["details"]["reason"] for a in sensitive.anomalies] == [["excessive_downloads"]]


def test_warm_up_emits_only_intrinsic_reasons(make_story: MakeStory) -> None:
    story = make_story(warmup_days=30)
    t = warm(story)
    assert story.event("user_login", ANN, t, ua=GO, session=5) == []  # baseline reason: held
    assert story.event("user_login", ANN, t + 60, net="tor", session=6) != []  # intrinsic


def test_one_anomaly_per_actor_reason_and_session_within_the_window(story: Story) -> None:
    t = warm(story)
    first = story.event("user_login", ANN, t, net="tor", session=7)
    again = [story.download(ANN, t + 60 * k, k, net="tor", session=7) for k in (1, 2)]
    other_session = story.download(ANN, t + 200, net="tor", session=8)
    hour_later = story.download(ANN, t + 3700, net="tor", session=7)
    assert len(first) == 1
    assert again == [[], []]
    assert len(other_session) == 1
    assert len(hour_later) == 1


def test_anomaly_ids_are_deterministic_so_a_replay_cannot_store_twice(
    make_story: MakeStory,
) -> None:
    a, b = make_story(), make_story()
    found_a = a.event("user_login", ANN, START, net="tor")
    found_b = b.event("user_login", ANN, START, net="tor")
    assert found_a[0]["id"] == found_b[0]["id"]


def test_anomalies_are_dated_by_the_clock_when_one_is_given(enrichment: Any) -> None:
    pipeline = DetectionPipeline(enrichment, clock=lambda: START + 5.0, warmup_days=0)
    story = Story(pipeline)
    found = story.event("user_login", ANN, START, net="tor")
    assert found[0]["date_create"] == START + 5
    assert found[0]["details"]["action_timestamp"] == START * 1_000_000


def test_own_anomaly_events_and_service_events_are_not_input(story: Story) -> None:
    found = story.event("user_login", ANN, START, net="tor")
    assert story.pipeline.process(found[0]) == []
    service = dict(
        found[0], action="user_login", actor={"type": "user", "user": {"id": "USLACKUSER"}}
    )
    assert story.pipeline.process(service) == []


def test_a_restored_snapshot_detects_exactly_like_the_original(make_story: MakeStory) -> None:
    original = make_story()
    t = warm(original)
    clone = make_story()
    clone.pipeline.restore(original.pipeline.snapshot())
    for story in (original, clone):
        story.anomalies.clear()
        story.event("user_login", ANN, t, ua=GO, session=5)
        for k in range(40):
            story.download(ANN, t + 3600 + k * 10, 900 + k)
    assert original.reasons() == clone.reasons() != []
    assert original.pipeline.snapshot() == clone.pipeline.snapshot()


def test_a_snapshot_of_an_unknown_format_is_refused(story: Story) -> None:
    import zlib

    with pytest.raises(ValueError, match="format"):
        story.pipeline.restore(zlib.compress(b'{"format":99,"orgs":{}}'))


def test_state_stays_small_per_active_user(story: Story) -> None:
    warm(story, days=30)
    active = story.pipeline.active_actors()
    assert active == 21
    per_user = story.pipeline.state_bytes() / active
    assert per_user < 4096, per_user
