"""Volume reasons judged with context: a download burst alone must be extreme (legitimate bulk
days look the same), in a session that began on a network new to the actor it needs less, and
after an identity anomaly least; message purges arrive as `chat.delete` activity signals."""

from __future__ import annotations

from typing import Any

from trailkeeper.detect.tuning import Params

from .conftest import DAY, START, Story

ANN = "U0ANN"


def warm(story: Story, days: int = 14) -> float:
    """Ann downloads four files a working day from the office, among 20 colleagues."""
    assert story.population(days, users=20) == []
    for day in range(days):
        if day % 7 not in (5, 6):
            assert story.workday(ANN, day, downloads=4) == []
    return START + days * DAY


def burst(story: Story, n: int, t: float, **kw: Any) -> list[dict[str, Any]]:
    """`n` downloads ten seconds apart."""
    out: list[dict[str, Any]] = []
    for k in range(n):
        out += story.download(ANN, t + 10 * k, 1000 + k, **kw)
    return out


def reasons(found: list[dict[str, Any]]) -> list[list[str]]:
    return [a["details"]["reason"] for a in found]


def test_ten_times_the_daily_downloads_in_a_usual_session_is_a_bulk_hour(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, session=sid)
    assert burst(story, 40, t + 600, session=sid) == []


def test_the_same_hour_in_a_session_begun_on_a_new_network_is_excessive(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    assert story.event("user_login", ANN, t, net="home_us2", session=sid) == []
    found = burst(story, 40, t + 600, net="home_us2", session=sid)
    assert reasons(found) == [["excessive_downloads"]]
    threshold = found[0]["details"]["trailkeeper_evidence"]["baseline"]["threshold"]
    assert threshold < Params().downloads_floor


def test_a_novel_session_is_the_actors_own_after_its_first_day(story: Story) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", ANN, t, net="home_us2", session=sid)
    assert burst(story, 40, t + DAY + 3600, net="home_us2", session=sid) == []


def test_a_later_session_on_that_network_is_no_longer_novel(story: Story) -> None:
    t = warm(story)
    story.event("user_login", ANN, t, net="home_us2", session=story.session())
    sid = story.session()
    story.event("user_login", ANN, t + DAY, net="home_us2", session=sid)
    assert burst(story, 40, t + DAY + 600, net="home_us2", session=sid) == []


def test_a_newcomers_sessions_are_never_novel(story: Story) -> None:
    sid = story.session()
    story.event("user_login", "U0NEW", START, net="home_us2", session=sid)
    out: list[dict[str, Any]] = []
    for k in range(20):
        out += story.download("U0NEW", START + 60 + 10 * k, k, net="home_us2", session=sid)
    assert out == []


def test_an_extreme_hour_is_excessive_even_in_a_usual_session(story: Story) -> None:
    t = warm(story)
    assert reasons(burst(story, 120, t + 3600)) == [["excessive_downloads"]]


def test_downloads_after_an_identity_anomaly_need_only_twice_the_mean(story: Story) -> None:
    t = warm(story)
    story.event("user_login", ANN, t, net="cloud", ua="python-requests/2.32.3", session=5)
    found = burst(story, 10, t + 60, net="cloud", ua="python-requests/2.32.3", session=5)
    assert ["excessive_downloads"] in reasons(found)


def purge(story: Story, calls: list[int], t: float) -> list[dict[str, Any]]:
    """chat.delete activity signals of Ann's session, one per ten minutes."""
    out: list[dict[str, Any]] = []
    for k, count in enumerate(calls):
        out += story.signal(
            ANN, t + 600 * k, api_method="chat.delete", count=count, session_id=7,
            ip_address="100.64.1.10",
        )  # fmt: skip
    return out


def test_a_purge_through_chat_delete_calls_is_unexpected_message_deletion(story: Story) -> None:
    t = warm(story)
    found = purge(story, [60, 60, 60], t)
    assert reasons(found) == [["unexpected_message_deletion"]]
    assert found[0]["details"]["trailkeeper_evidence"]["baseline"]["hour_count"] >= 50


def test_deleting_a_few_messages_through_the_api_is_quiet(story: Story) -> None:
    t = warm(story)
    assert purge(story, [1, 2, 1, 3], t) == []


def test_other_api_methods_do_not_count_as_deletions(story: Story) -> None:
    t = warm(story)
    out: list[dict[str, Any]] = []
    for k in range(3):
        out += story.signal(ANN, t + 60 * k, api_method="chat.postMessage", count=200)
    assert out == []


def test_a_newcomers_first_bulk_hour_is_quiet_but_not_after_an_identity_anomaly(
    story: Story,
) -> None:
    t = warm(story)
    sid = story.session()
    story.event("user_login", "U0NEW", t, session=sid)
    out: list[dict[str, Any]] = []
    for k in range(150):  # a new power user's first afternoon
        out += story.download("U0NEW", t + 60 + 10 * k, k, session=sid)
    assert out == []
    story.event("user_login", "U0NEW", t + DAY, net="tor", session=9)
    for k in range(20):
        out += story.download("U0NEW", t + DAY + 60 + 10 * k, k, net="tor", session=9)
    assert ["excessive_downloads"] in reasons(out)
