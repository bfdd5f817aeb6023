"""Volume, scraping, API volume, admin and credential-testing detectors through the pipeline."""

from __future__ import annotations

import itertools

from .conftest import CHROME, DAY, DESKTOP, SCRIPT, SDK, START, Story

ANN = "U0ANN"
ADMIN = "U0ADM"


def warm(story: Story, days: int = 14) -> float:
    assert story.population(days, users=20) == []
    for day in range(days):
        if day % 7 not in (5, 6):
            assert story.workday(ANN, day, downloads=4) == []
    return START + days * DAY


def downloads(story: Story, n: int, t: float, gap_s: float = 10.0, **kw: object) -> list[dict]:
    out = []
    for k in range(n):
        out += story.download(ANN, t + k * gap_s, 1000 + k, **kw)  # type: ignore[arg-type]
    return out


def test_25_times_the_daily_downloads_in_an_hour_is_excessive_downloads(story: Story) -> None:
    t = warm(story)
    found = downloads(story, 100, t + 3600)
    assert [a["details"]["reason"] for a in found] == [["excessive_downloads"]]
    evidence = found[0]["details"]["trailkeeper_evidence"]
    assert evidence["window_s"] == 3600
    assert evidence["baseline"]["hour_count"] >= evidence["baseline"]["threshold"]
    assert len(evidence["event_ids"]) == 20
    assert evidence["event_ids"][-1].startswith("ev")
    assert evidence["detector"] == "ExcessiveDownloadsDetector"


def test_a_busy_day_spread_over_working_hours_is_quiet(story: Story) -> None:
    t = warm(story)
    # 60 downloads (15x the daily mean) spread over 8 hours: a legitimate bulk day
    assert downloads(story, 60, t + 3600, gap_s=480) == []


def test_a_power_user_with_a_high_baseline_is_quiet_at_the_same_volume(story: Story) -> None:
    story.population(14, users=20)
    for day in range(14):
        story.workday(ANN, day, downloads=30)
    assert downloads(story, 45, START + 14 * DAY + 3600, gap_s=60) == []


def test_downloads_after_an_identity_anomaly_have_a_lower_bar(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    hijack = story.download(ANN, t + 60, net="home_de", session=sid)
    assert hijack
    assert "session_fingerprint" in hijack[0]["details"]["reason"]
    found = downloads(story, 15, t + 120, net="home_de", session=sid)
    assert ["excessive_downloads"] in [a["details"]["reason"] for a in found]


def test_an_app_downloading_in_bulk_is_flagged_with_the_app_as_entity(story: Story) -> None:
    t = warm(story, days=3)
    app = {"id": "A0EDISC", "name": "eDiscovery"}
    for day in range(8):  # a week of two downloads a day: the app's own baseline
        assert downloads(story, 2, t + day * DAY, app=app, session=None) == []
    found = downloads(story, 150, t + 8 * DAY, gap_s=1, app=app, session=None)
    assert found[0]["entity"]["type"] == "app"
    assert found[0]["details"]["reason"] == ["excessive_downloads"]


def test_public_links_in_bulk_are_excessive_file_shares(story: Story) -> None:
    t = warm(story)
    found = []
    for k in range(8):
        file = {"type": "file", "file": {"id": f"FS{k}"}}
        found += story.event("file_public_link_created", ANN, t + k * 30, entity=file)
    assert [a["details"]["reason"] for a in found] == [["excessive_file_shares"]]


def test_a_message_purge_is_unexpected_message_deletion(story: Story) -> None:
    t = warm(story)
    found = []
    for k in range(60):
        message = {"type": "message", "message": {"channel": "C0X", "timestamp": f"{k}.0"}}
        found += story.event("message_tombstoned", ANN, t + k * 20, entity=message)
    assert [a["details"]["reason"] for a in found] == [["unexpected_message_deletion"]]


def test_a_few_deletions_are_quiet(story: Story) -> None:
    t = warm(story)
    for k in range(10):
        message = {"type": "message", "message": {"channel": "C0X", "timestamp": f"{k}.0"}}
        assert story.event("message_tombstoned", ANN, t + k * 20, entity=message) == []


def test_a_scraping_tool_on_a_person_token_is_unexpected_scraping(story: Story) -> None:
    t = warm(story)
    found = story.signal(
        ANN, t, ua=SCRIPT, ip_address="100.64.1.10", target_id="C0ONE", session_id=3
    )
    scraping = [a for a in found if a["details"]["reason"] == ["unexpected_scraping"]]
    assert scraping[0]["details"]["scraping_tool"] == "Python-based tool"
    assert scraping[0]["details"]["trailkeeper_evidence"]["event_ids"] == []


def test_reading_hundreds_of_channels_in_an_hour_is_unexpected_scraping(story: Story) -> None:
    t = warm(story)
    found = []
    for k in range(80):
        found += story.signal(
            ANN, t + k * 20, ua=CHROME, ip_address="100.64.1.10", target_id=f"C{k:05d}"
        )
    assert ["unexpected_scraping"] in [a["details"]["reason"] for a in found]


def test_rereading_a_few_channels_all_day_is_quiet(story: Story) -> None:
    t = warm(story)
    for k in range(300):
        assert (
            story.signal(
                ANN, t + k * 60, ua=DESKTOP, ip_address="100.64.1.10", target_id=f"C{k % 8}"
            )
            == []
        )


def test_api_call_volume_far_above_a_person_is_flagged(story: Story) -> None:
    t = warm(story)
    found = []
    for k in range(30):
        found += story.signal(ANN, t + k * 60, ua=CHROME, ip_address="100.64.1.10", count=100)
    reasons = [a["details"]["reason"] for a in found]
    assert ["unexpected_api_call_volume"] in reasons
    assert reasons.count(["unexpected_api_call_volume"]) == 1  # de-duplicated for the hour


def test_api_volume_repeats_hourly_while_it_persists(story: Story) -> None:
    t = warm(story)
    found = []
    for k in range(200):
        found += story.signal(ANN, t + k * 60, ua=CHROME, ip_address="100.64.1.10", count=100)
    volume = [a for a in found if a["details"]["reason"] == ["unexpected_api_call_volume"]]
    assert len(volume) == 4  # 200 minutes: the first and three hourly repeats
    times = [a["date_create"] for a in volume]
    assert all(b - a >= 3600 for a, b in itertools.pairwise(times))


def admin_day(story: Story, day: int, actions: int = 2) -> None:
    t = START + day * DAY + 3600
    sid = story.session()
    story.event("user_login", ADMIN, t, session=sid)
    for k in range(actions):
        target = {"type": "user", "user": {"id": f"U0T{k:03d}"}}
        story.event("user_session_reset_by_admin", ADMIN, t + 600 * k, entity=target, session=sid)
        story.event("role_change_to_admin", ADMIN, t + 600 * k + 60, entity=target, session=sid)
    story.download(ADMIN, t + 3000, session=sid)


def warm_admin(story: Story, days: int = 20) -> float:
    story.population(days, users=10)
    for day in range(days):
        if day % 7 not in (5, 6):
            admin_day(story, day)
    return START + days * DAY


ENTERPRISE = {"type": "enterprise", "enterprise": {"id": "E0TEST"}}


def test_an_admin_at_night_from_a_hosting_network_is_unexpected_admin_action(
    story: Story,
) -> None:
    t = warm_admin(story)
    night = t - 6 * 3600  # 02:00 UTC, never an hour this admin works
    target = {"type": "user", "user": {"id": "U0MAL"}}
    found = story.event("role_change_to_admin", ADMIN, night, net="cloud", ua=CHROME, entity=target)
    admin = [a for a in found if a["details"]["reason"] == ["unexpected_admin_action"]]
    assert admin, found
    baseline = admin[0]["details"]["trailkeeper_evidence"]["baseline"]
    assert baseline["off_hours"]
    assert baseline["cloud_network"]


def test_routine_admin_work_in_office_hours_is_quiet(story: Story) -> None:
    warm_admin(story, days=25)
    assert story.anomalies == []


def test_an_escalation_chain_is_flagged_on_the_promoted_account(story: Story) -> None:
    t = warm_admin(story)
    promoted = {"type": "user", "user": {"id": "U0P03"}}
    story.event("role_change_to_admin", ADMIN, t + 3600, entity=promoted)
    found = story.event("pref.two_factor_auth_changed", "U0P03", t + 7200, entity=ENTERPRISE)
    found += story.event("manual_export_started", "U0P03", t + 7300, entity=ENTERPRISE)
    chain = [a for a in found if a["details"]["reason"] == ["unexpected_admin_action"]]
    assert len(chain) == 1
    assert chain[0]["details"]["trailkeeper_evidence"]["baseline"]["promoted_by"] == ADMIN


def test_a_promotion_followed_by_nothing_unusual_is_quiet(story: Story) -> None:
    t = warm_admin(story)
    promoted = {"type": "user", "user": {"id": "U0P03"}}
    story.event("role_change_to_admin", ADMIN, t + 3600, entity=promoted)
    later = t + 2 * DAY + 3 * 3600  # in U0P03's working hours, after the chain window
    assert story.event("user_login", "U0P03", later, session=99) == []
    assert story.event("pref.two_factor_auth_changed", "U0P03", later, entity=ENTERPRISE) == []


def test_password_spray_puts_the_address_on_the_ioc_list_for_the_success(story: Story) -> None:
    t = warm(story)
    for k in range(25):
        target = f"U0P{k % 20:02d}" if k < 20 else f"U0X{k}"
        failed = story.event(
            "user_login_failed", target, t + k * 9, net="cloud", host=66, ua=SCRIPT, session=None
        )
        assert failed == []
    found = story.event("user_login", ANN, t + 300, net="cloud", host=66, ua=SCRIPT, session=5)
    assert found[0]["details"]["ip_address_details"] == ["in-ioc-list"]


def test_app_token_tested_from_a_new_network_is_unexpected_credential_testing(
    story: Story,
) -> None:
    t = warm(story, days=3)
    for k in range(25):
        story.signal(ANN, t + k * 60, app_id="A0BOT", ip_address="100.64.1.20", ua=SDK,
                     api_method="chat.postMessage")  # fmt: skip
    found = story.signal(
        ANN, t + 3 * 3600, app_id="A0BOT", ip_address="100.81.0.9", ua=SDK, api_method="auth.test"
    )
    assert found[0]["details"]["reason"] == ["unexpected_credential_testing"]
    assert found[0]["entity"] == {"type": "app", "app": {"id": "A0BOT"}}


def test_app_token_checked_from_its_usual_network_is_quiet(story: Story) -> None:
    t = warm(story, days=3)
    for k in range(30):
        method = "auth.test" if k % 5 == 0 else "chat.postMessage"
        assert story.signal(ANN, t + k * 60, app_id="A0BOT", ip_address="100.64.1.20", ua=SDK,
                            api_method=method) == []  # fmt: skip
