"""Normal days: people work in their local hours, sign in once per session, admins do admin
work, service accounts run scripts, and API use arrives as sampled hourly signals."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from trailkeeper.simulate.behaviour import negbin, poisson, split
from trailkeeper.simulate.presence import local_hour
from trailkeeper.simulate.stream import Stream


def unlabelled(stream: Stream) -> list[dict]:
    return [e for e in stream.events if e["id"] not in stream.labels]


def test_people_work_in_their_local_daytime(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    hours = Counter()
    for e in unlabelled(small_stream):
        p = people[e["actor"]["user"]["id"]]
        if p.role == "member" and not p.night_shift and e["action"] == "file_downloaded":
            hours[int(local_hour(p, e["date_create"]))] += 1
    daytime = sum(n for h, n in hours.items() if 8 <= h < 19)
    assert daytime / sum(hours.values()) > 0.8


def test_weekends_are_quiet(small_stream: Stream) -> None:
    per_weekday = Counter((e["date_create"] // 86_400 + 3) % 7 for e in unlabelled(small_stream))
    weekday = sum(per_weekday[d] for d in range(5)) / 5
    weekend = (per_weekday[5] + per_weekday[6]) / 2
    assert weekend < 0.25 * weekday


def test_every_session_signs_in_once_before_it_is_used(small_stream: Stream) -> None:
    first_use: dict[int, int] = {}
    logins: Counter[int] = Counter()
    login_at: dict[int, int] = {}
    for e in unlabelled(small_stream):
        sid = e["context"]["session_id"]
        if sid is None:
            continue
        first_use.setdefault(sid, e["date_create"])
        if e["action"] == "user_login":
            logins[sid] += 1
            login_at[sid] = e["date_create"]
    assert max(logins.values()) == 1
    inside = [sid for sid in logins if first_use[sid] > small_stream.start + 3600]
    assert all(first_use[sid] == login_at[sid] for sid in inside)


def test_sessions_belong_to_one_person_and_one_client_family(small_stream: Stream) -> None:
    owners: dict[int, set[str]] = defaultdict(set)
    families: dict[int, set[str]] = defaultdict(set)
    for e in unlabelled(small_stream):
        sid = e["context"]["session_id"]
        if sid is not None:
            owners[sid].add(e["actor"]["user"]["id"])
            families[sid].add(e["context"]["ua"].split("/")[0][:12])
    assert all(len(v) == 1 for v in owners.values())
    assert sum(len(v) > 1 for v in families.values()) == 0


def test_admin_work_is_done_by_admins(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    promoted = {
        e["entity"]["user"]["id"]
        for e in unlabelled(small_stream)
        if e["action"] == "role_change_to_admin"
    }
    admin_actions = {"user_created", "user_deactivated", "app_approved", "app_restricted"}
    for e in unlabelled(small_stream):
        if e["action"] in admin_actions:
            who = e["actor"]["user"]["id"]
            assert people[who].is_admin or who in promoted


def test_api_use_is_sampled_hourly_and_modest(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    per_hour: Counter[tuple[str, int]] = Counter()
    for s in small_stream.signals:
        if s["id"] not in small_stream.labels and people[s["actor_id"]].role != "service":
            per_hour[(s["actor_id"], s["date"] // 3600)] += s["count"]
    assert per_hour
    assert max(per_hour.values()) < 1500  # the volume floor is far above normal use


def test_count_distributions() -> None:
    rng = random.Random(1)
    draws = [poisson(rng, 3.0) for _ in range(5000)]
    assert 2.9 < sum(draws) / len(draws) < 3.1
    big = [poisson(rng, 100.0) for _ in range(2000)]
    assert 98 < sum(big) / len(big) < 102
    over = [negbin(rng, 3.0) for _ in range(5000)]
    mean = sum(over) / len(over)
    variance = sum((x - mean) ** 2 for x in over) / len(over)
    assert variance > 1.5 * mean  # over-dispersed
    assert poisson(rng, 0.0) == negbin(rng, 0.0) == 0


def test_split_gives_every_target_at_least_one_call() -> None:
    parts = split(random.Random(2), 10, 4)
    assert len(parts) == 4
    assert min(parts) >= 1
    assert split(random.Random(2), 0, 1) == [1]
