"""Identity detectors end to end through the pipeline: Tor, IP/ASN, sessions, UAs, clients."""

from __future__ import annotations

from .conftest import (
    CHROME,
    CHROME_OLD,
    DAY,
    DESKTOP,
    DESKTOP_OLD,
    FIREFOX,
    GO,
    IPHONE,
    OPERA,
    SCRIPT,
    START,
    Story,
)

ANN = "U0ANN"


def warm(story: Story, days: int = 10, users: int = 30) -> float:
    """A quiet organization with Ann among it; returns the time after the history."""
    assert story.population(days, users) == []
    for day in range(days):
        if day % 7 not in (5, 6):
            assert story.workday(ANN, day) == []
    return START + days * DAY


def test_a_quiet_organization_draws_no_anomaly(story: Story) -> None:
    warm(story, days=14)
    assert story.anomalies == []


def test_a_tor_exit_is_flagged_with_slack_details(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t + 3600, net="tor", host=3, ua=FIREFOX, session=77)
    assert len(found) == 1
    details = found[0]["details"]
    assert details["reason"][0] == "tor"
    assert details["action_timestamp"] == int(t + 3600) * 1_000_000
    assert details["location"] == "Frankfurt, Hesse"
    assert details["previous_ip_address"] == ""
    assert details["trailkeeper_evidence"]["detector"].startswith("TorExitDetector")
    assert found[0]["actor"]["user"]["id"] == ANN
    assert found[0]["entity"] == {"type": "user", "user": found[0]["actor"]["user"]}
    assert found[0]["context"]["ip_address"] == "198.18.128.3"


def test_tor_fires_even_for_a_brand_new_actor_and_during_warm_up(make_story: object) -> None:
    story = make_story(warmup_days=7)  # type: ignore[operator]
    found = story.event("user_login", "U0NEW", START, net="tor", ua=FIREFOX)
    assert [a["details"]["reason"] for a in found] == [["tor"]]


def test_tor_from_an_app_token_names_the_app_as_entity(story: Story) -> None:
    t = warm(story, days=3, users=5)
    app = {"id": "A0BOT", "name": "Bot"}
    found = story.event("file_downloaded", ANN, t, net="tor", app=app, session=None)
    assert found[0]["entity"] == {"type": "app", "app": {"id": "A0BOT", "name": "Bot"}}


def test_an_ioc_address_is_ip_address_in_ioc_list(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, net="ioc", session=5)
    assert found[0]["details"]["reason"] == ["ip_address"]
    assert found[0]["details"]["ip_address_details"] == ["in-ioc-list"]


def test_a_suspicious_asn_always_comes_with_ip_address(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, net="suspicious", session=5)
    assert found[0]["details"]["reason"] == ["asn", "ip_address"]


def test_a_cloud_login_with_a_script_is_flagged_cloud_asn(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, net="cloud", ua=SCRIPT, session=5)
    reasons = found[0]["details"]["reason"]
    assert "ip_address" in reasons
    assert {"unexpected_user_agent", "user_agent"} <= set(reasons)
    assert found[0]["details"]["ip_address_details"] == ["cloud-asn", "new-asn"]
    assert found[0]["details"]["user_agent_change_details"] == ["script-agent"]


def test_a_service_account_that_always_runs_in_the_cloud_is_quiet(story: Story) -> None:
    for day in range(12):
        for k in range(6):
            ts = START + day * DAY + k * 3000
            story.event("file_downloaded", "U0SVC", ts, net="cloud", ua=SCRIPT, session=None)
    assert story.anomalies == []


def test_a_trip_abroad_with_own_devices_is_quiet(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    # 9 hours after the last login (a realistic flight), from a hotel in Paris, same laptop
    found = story.event("user_login", ANN, t + 9 * 3600, net="hotel_fr", session=sid)
    found += story.download(ANN, t + 10 * 3600, net="hotel_fr", session=sid)
    assert found == []


def test_a_new_rare_country_with_a_new_client_is_new_asn(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t + 9 * 3600, net="far_br", ua=FIREFOX, session=8)
    assert found[0]["details"]["reason"][0] == "ip_address"
    assert found[0]["details"]["ip_address_details"] == ["new-asn"]


def test_impossible_travel_to_a_new_country_is_flagged(story: Story) -> None:
    t = warm(story)
    story.event("user_login", ANN, t, session=story.session())  # New York
    found = story.event("user_login", ANN, t + 1800, net="far_sg", session=story.session())
    assert found
    assert found[0]["details"]["ip_address_details"] == ["new-asn"]
    evidence = found[0]["details"]["trailkeeper_evidence"]["baseline"]
    assert evidence["travel_kmh"] > 900


def test_a_new_isp_in_the_home_country_is_quiet(story: Story) -> None:
    t = warm(story)
    assert story.event("user_login", ANN, t, net="home_us2", session=9) == []


def test_a_session_replayed_from_another_country_is_session_fingerprint(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    story.download(ANN, t + 60, session=sid)
    found = story.download(ANN, t + 600, net="home_de", session=sid)
    assert "session_fingerprint" in found[0]["details"]["reason"]
    assert found[0]["details"]["previous_ip_address"] == "100.64.1.10"
    assert found[0]["details"]["previous_ua"] == ""


def test_a_session_used_from_two_home_country_asns_at_once_is_flagged(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    found = story.download(ANN, t + 60, net="home_us2", session=sid)  # thief, same country
    found += story.download(ANN, t + 120, session=sid)  # victim still at the office
    found += story.download(ANN, t + 180, net="home_us2", session=sid)  # thief again
    assert any("session_fingerprint" in a["details"]["reason"] for a in found)


def test_a_laptop_moving_from_office_to_home_in_one_session_is_quiet(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    found = story.download(ANN, t + 4 * 3600, net="home_us", session=sid)
    found += story.download(ANN, t + 5 * 3600, net="home_us", session=sid)
    assert found == []


def test_a_session_driven_by_another_client_is_flagged(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    found = story.download(ANN, t + 60, ua=CHROME, session=sid)
    assert "session_fingerprint" in found[0]["details"]["reason"]
    assert found[0]["details"]["previous_ua"] == DESKTOP


def test_a_client_fingerprint_change_inside_a_session_is_flagged(story: Story) -> None:
    t = warm(story)
    story.signal(
        ANN, t, session_id=42, ip_address="100.64.1.10", ua=DESKTOP, client_fingerprint="ja4:a"
    )
    found = story.signal(
        ANN, t + 60, session_id=42, ip_address="100.64.1.10", ua=DESKTOP, client_fingerprint="ja4:b"
    )
    assert found
    assert "session_fingerprint" in found[0]["details"]["reason"]


def test_a_fingerprint_of_another_client_is_spoofed_user_agent(story: Story) -> None:
    t = warm(story)
    story.signal("U0P01", t, ua=DESKTOP, client_fingerprint="ja4:desktop", session_id=5)
    found = story.signal(ANN, t + 60, ua=CHROME, client_fingerprint="ja4:desktop", session_id=6)
    assert found[0]["details"]["reason"][:2] == ["spoofed_user_agent", "unexpected_client"]
    assert found[0]["details"]["detected_client"] == "Chrome"


def test_a_go_client_on_a_person_token_is_unexpected_user_agent(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, ua=GO, session=5)
    reasons = found[0]["details"]["reason"]
    assert reasons[-2:] == ["unexpected_user_agent", "user_agent"]
    assert "unexpected_client" in reasons
    assert found[0]["details"]["detected_client"] == "Go-http-client"


def test_a_desktop_app_downgrade_is_user_agent(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, ua=DESKTOP_OLD, session=5)
    assert found[0]["details"]["reason"] == ["user_agent"]
    assert found[0]["details"]["user_agent_change_details"] == ["version-downgrade"]


def test_a_browser_downgrade_of_many_versions_is_user_agent(story: Story) -> None:
    t = warm(story)
    story.event("user_login", ANN, t, ua=CHROME, session=5)
    found = story.event("user_login", ANN, t + 3600, ua=CHROME_OLD, session=6)
    assert found[0]["details"]["reason"] == ["user_agent"]


def test_upgrades_and_a_second_device_are_quiet(story: Story) -> None:
    story.population(10, users=10, prefix="U0M", ua=IPHONE, net="mobile_us")
    story.population(10, users=10, prefix="U0B", ua=CHROME, net="home_us")
    t = warm(story)
    found = story.event("user_login", ANN, t, ua=DESKTOP.replace("4.41.105", "4.42.1"), session=5)
    found += story.event("user_login", ANN, t + 60, ua=IPHONE, net="mobile_us", session=6)
    found += story.event("user_login", ANN, t + 120, ua=CHROME, net="home_us", session=7)
    assert found == []


def test_a_client_rare_in_the_organization_is_unexpected_client(story: Story) -> None:
    t = warm(story)
    found = story.event("user_login", ANN, t, ua=OPERA, session=5)
    assert found[0]["details"]["reason"] == ["unexpected_client"]
    assert found[0]["details"]["detected_client"] == "Opera"
    assert found[0]["details"]["detected_os"] == "Windows"


def test_a_client_common_in_the_organization_is_quiet(story: Story) -> None:
    story.population(10, users=30, ua=CHROME)
    for day in range(10):
        story.workday(ANN, day)
    assert story.event("user_login", ANN, START + 10 * DAY, ua=CHROME, session=5) == []


def test_an_invited_join_does_not_judge_the_invitee_by_the_inviters_context(
    story: Story,
) -> None:
    t = warm(story)
    channel = {"type": "channel", "channel": {"id": "C0X", "name": "x"}}
    details = {"inviter": {"id": "U0P01"}}
    found = story.event(
        "user_channel_join", ANN, t, net="home_de", ua=CHROME, entity=channel, details=details
    )
    assert found == []
