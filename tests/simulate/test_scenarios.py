"""Each injected scenario looks like what spec §3.2 describes, at each attacker tier."""

from __future__ import annotations

from collections import Counter
from typing import Any

from trailkeeper.detect.clients import parse_client
from trailkeeper.simulate.attacks import CHAIN_ACTIONS, Campaign
from trailkeeper.simulate.geography import ATTACK_COUNTRIES
from trailkeeper.simulate.stream import Stream

ATTACK_ISOS = {c.iso for c in ATTACK_COUNTRIES}


def items_of(stream: Stream, c: Campaign) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def mine(item_id: str) -> bool:
        label = stream.labels.get(item_id)
        return label is not None and label.campaign_id == c.id

    events = [e for e in stream.events if mine(e["id"])]
    signals = [s for s in stream.signals if mine(s["id"])]
    return events, signals


def campaigns(stream: Stream, scenario: str, tier: str | None = None) -> list[Campaign]:
    return [c for c in stream.campaigns if c.scenario == scenario and tier in (None, c.tier)]


def network_kinds(stream: Stream, events: list[dict[str, Any]]) -> set[str]:
    return {stream.world.locate(e["context"]["ip_address"]).kind for e in events}  # type: ignore[union-attr]


def test_naive_attackers_come_from_foreign_hosting(small_stream: Stream) -> None:
    for scenario in ("S1", "S4", "S6", "S8"):
        for c in campaigns(small_stream, scenario, "naive"):
            events, _ = items_of(small_stream, c)
            assert network_kinds(small_stream, events) == {"hosting"}
            countries = {
                small_stream.world.locate(e["context"]["ip_address"]).country for e in events
            }  # type: ignore[union-attr]
            assert countries <= ATTACK_ISOS


def test_vpn_tier_exits_in_the_victims_country(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    for c in campaigns(small_stream, "S1", "vpn"):
        events, _ = items_of(small_stream, c)
        nets = {small_stream.world.locate(e["context"]["ip_address"]) for e in events}
        assert {n.kind for n in nets if n} == {"vpn"}
        assert {n.country for n in nets if n} == {people[c.victim].home.country}


def test_targeted_theft_uses_the_victims_city_and_user_agent(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    for c in campaigns(small_stream, "S1", "targeted"):
        events, _ = items_of(small_stream, c)
        victim = people[c.victim]
        login = next(e for e in events if e["action"] == "user_login")
        net = small_stream.world.locate(login["context"]["ip_address"])
        assert net is not None
        assert net.kind == "residential"
        assert net.city == victim.home
        assert login["context"]["ua"] == victim.devices[0].ua(login["date_create"])


def test_tor_campaigns_log_in_from_an_exit(small_stream: Stream) -> None:
    exits = set(small_stream.world.tor_exits)
    for c in campaigns(small_stream, "S2"):
        events, _ = items_of(small_stream, c)
        assert any(e["action"] == "user_login" for e in events)
        assert {e["context"]["ip_address"] for e in events} <= exits


def test_hijacks_replay_a_live_session_of_the_victim_without_logging_in(
    small_stream: Stream,
) -> None:
    for c in campaigns(small_stream, "S3"):
        events, signals = items_of(small_stream, c)
        sids = {e["context"]["session_id"] for e in events} | {s["session_id"] for s in signals}
        assert len(sids) == 1
        sid = sids.pop()
        own = [
            e
            for e in small_stream.events
            if e["context"]["session_id"] == sid and e["id"] not in small_stream.labels
        ]
        assert own
        assert all(e["actor"]["user"]["id"] == c.victim for e in own)
        assert not any(e["action"] == "user_login" for e in events)
        if c.variant["fingerprint"] == "absent":
            assert all("client_fingerprint" not in s for s in signals)


def test_scrapers_read_hundreds_of_conversations_an_hour(small_stream: Stream) -> None:
    for c in campaigns(small_stream, "S5"):
        events, signals = items_of(small_stream, c)
        per_hour = Counter(s["date"] // 3600 for s in signals if "target_id" in s)
        assert max(per_hour.values()) >= 50
        assert not any(s["api_method"] == "client.counts" for s in signals)
        if c.variant["mode"] == "script":
            assert all(parse_client(e["context"]["ua"]).is_script for e in events)
        else:
            assert not any(parse_client(e["context"]["ua"]).is_script for e in events)


def test_escalation_promotes_an_accomplice_who_weakens_controls(small_stream: Stream) -> None:
    for c in campaigns(small_stream, "S6"):
        events, _ = items_of(small_stream, c)
        victim, accomplice = c.actors
        promotion = next(e for e in events if e["action"].startswith("role_change_to_"))
        assert promotion["actor"]["user"]["id"] == victim
        assert promotion["entity"]["user"]["id"] == accomplice
        chain = [e for e in events if e["action"] in CHAIN_ACTIONS]
        assert len(chain) >= 2
        assert all(e["actor"]["user"]["id"] == accomplice for e in chain)
        assert all(0 < e["date_create"] - promotion["date_create"] < 86_400 for e in chain)


def test_sprays_fail_on_many_accounts_from_few_addresses_then_succeed(small_stream: Stream) -> None:
    for c in campaigns(small_stream, "S7"):
        events, _ = items_of(small_stream, c)
        failures = [e for e in events if e["action"] == "user_login_failed"]
        accounts = {e["actor"]["user"]["id"] for e in failures}
        addresses = {e["context"]["ip_address"] for e in failures}
        assert len(accounts) >= 30
        assert len(addresses) < len(accounts)
        success = [e for e in events if e["action"] == "user_login"]
        assert [e["actor"]["user"]["id"] for e in success] == [c.victim]
        assert success[0]["context"]["ip_address"] in addresses
        assert success[0]["date_create"] > max(e["date_create"] for e in failures)


def test_purges_delete_hundreds_of_messages(small_stream: Stream) -> None:
    for c in campaigns(small_stream, "S8"):
        _, signals = items_of(small_stream, c)
        deleted = sum(s["count"] for s in signals if s["api_method"] == "chat.delete")
        assert deleted >= 100


def test_mass_downloads_reach_their_multiple(small_stream: Stream) -> None:
    people = small_stream.population.by_id
    for c in campaigns(small_stream, "S4"):
        events, _ = items_of(small_stream, c)
        downloads = [e for e in events if e["action"] == "file_downloaded"]
        if c.variant["k"] != "slow":
            mean = max(people[c.victim].downloads_mean, 1.0)
            assert len(downloads) >= round(float(c.variant["k"]) * mean)
            assert (
                max(e["date_create"] for e in downloads) - min(e["date_create"] for e in downloads)
                <= 3600
            )
