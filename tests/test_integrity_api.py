"""The proof API on a real server: keys, signed checkpoints, inclusion and consistency proofs,
leaves and entries, authorized by the audit tokens; its errors in the one shape; the background
checkpointer; and /audit/v1/logs still serving exactly the stored bytes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.audit_logs.v1.logs import LogsResponse

from conftest import ORG, OTHER_ORG, LiveServer, make_event
from trailkeeper.catalog import load_catalog
from trailkeeper.integrity import merkle
from trailkeeper.integrity.checkpoint import VerifierKey, verify_checkpoint
from trailkeeper.integrity.service import IntegrityService
from trailkeeper.integrity.verifier import (
    ProofClient,
    StateFile,
    monitor_once,
    verify_online,
)
from trailkeeper.recorder import Recorder, organization_event

API = "/integrity/v1"
SERVICE = "trailkeeper.local"  # the settings default the live server runs with


class Api:
    """A live server, its store's integrity service, and a little HTTP."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.recorder = Recorder(live.store, load_catalog())
        self.service = IntegrityService(
            live.store,
            SERVICE,
            record_event=lambda a, o, d: self.recorder.record(organization_event(a, o, d)),
        )
        self.ids: list[str] = []

    def add(self, count: int) -> list[str]:
        ids = [f"api-{len(self.ids) + i}" for i in range(count)]
        report = self.recorder.record_many(
            [make_event(id=i, date=1_700_000_000 + n) for n, i in enumerate(ids)]
        )
        assert not report.rejected
        self.ids += ids
        return ids

    def get(self, path: str, token: str | None = "read", **params: Any) -> httpx.Response:
        return self.request("GET", path, token, params=params)

    def request(
        self, method: str, path: str, token: str | None = "read", **kwargs: Any
    ) -> httpx.Response:
        headers = {}
        if token is not None:
            secret = {"read": self.live.read_token, "other": self.live.other_read_token}
            headers["Authorization"] = f"Bearer {secret.get(token, token)}"
        with httpx.Client(base_url=self.live.url, trust_env=False) as client:
            return client.request(method, path, headers=headers, **kwargs)

    def verifiers(self) -> list[VerifierKey]:
        return [VerifierKey.from_vkey(k["vkey"]) for k in self.get(f"{API}/keys").json()["keys"]]


@pytest.fixture
def api(live_server: LiveServer) -> Api:
    return Api(live_server)


@pytest.fixture
def signed(api: Api) -> Api:
    """A server whose log has a key, 40 events and a checkpoint."""
    api.service.generate_key()
    api.add(40)
    api.service.checkpoint(ORG)
    return api


def b64(value: str) -> bytes:
    return base64.b64decode(value)


# --- keys and checkpoints -----------------------------------------------------------------------


def test_keys_are_public_and_list_retired_ones_with_their_endorsements(api: Api) -> None:
    assert api.get(f"{API}/keys", token=None).json() == {"ok": True, "keys": []}
    first = api.service.generate_key()
    api.service.rotate_key()
    keys = api.get(f"{API}/keys", token=None).json()["keys"]
    assert keys[0]["vkey"] == first.vkey
    assert keys[0]["retired_at"] is not None
    assert keys[0]["endorsement"] is None
    assert keys[1]["retired_at"] is None
    assert keys[1]["endorsement"].startswith("trailkeeper signing key endorsement\n")
    assert set(keys[1]) == {"vkey", "name", "key_id", "created_at", "retired_at", "endorsement"}
    assert "PRIVATE" not in json.dumps(keys)


def test_the_latest_checkpoint_is_a_signed_note_of_the_tokens_organization(signed: Api) -> None:
    response = signed.get(f"{API}/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    note = response.json()["checkpoint"]
    checkpoint = verify_checkpoint(note, signed.verifiers(), origin=f"{SERVICE}/audit/{ORG}")
    assert checkpoint.tree_size == 41
    leaves = [merkle.leaf_hash(r.body) for r in signed.live.store.events_from(ORG, 0, 100)]
    assert checkpoint.root_hash == merkle.root_hash(leaves)


def test_an_older_checkpoint_is_served_by_size(signed: Api) -> None:
    signed.add(5)
    created = signed.request("POST", f"{API}/checkpoints")
    assert created.status_code == 200
    newest = verify_checkpoint(created.json()["checkpoint"], signed.verifiers())
    assert newest.tree_size == 46
    older = signed.get(f"{API}/checkpoint", size=41).json()["checkpoint"]
    assert verify_checkpoint(older, signed.verifiers()).tree_size == 41


def test_posting_a_checkpoint_when_nothing_grew_returns_the_latest(signed: Api) -> None:
    before = signed.get(f"{API}/checkpoint").json()
    assert signed.request("POST", f"{API}/checkpoints").json() == before


def test_each_organization_sees_only_its_own_checkpoints(signed: Api) -> None:
    assert signed.get(f"{API}/checkpoint", token="other").status_code == 404
    signed.recorder.record(organization_event("audit_logging_paused", OTHER_ORG, {}))
    signed.service.checkpoint_all()
    note = signed.get(f"{API}/checkpoint", token="other").json()["checkpoint"]
    assert verify_checkpoint(note, signed.verifiers()).origin == f"{SERVICE}/audit/{OTHER_ORG}"


# --- proofs -------------------------------------------------------------------------------------


def test_every_event_is_proven_included_over_http(signed: Api) -> None:
    checkpoint = verify_checkpoint(
        signed.get(f"{API}/checkpoint").json()["checkpoint"], signed.verifiers()
    )
    for seq, event_id in enumerate(signed.ids, start=1):
        body = signed.get(f"{API}/proof/inclusion", id=event_id).json()
        assert body["leaf_index"] == seq
        assert body["tree_size"] == checkpoint.tree_size
        assert body["checkpoint"] is not None
        event = b64(body["event"])
        assert json.loads(event)["id"] == event_id
        assert merkle.leaf_hash(event) == b64(body["leaf_hash"])
        merkle.verify_inclusion(
            merkle.leaf_hash(event),
            seq,
            checkpoint.tree_size,
            [b64(h) for h in body["proof"]],
            checkpoint.root_hash,
        )


def test_consistency_is_proven_over_http(signed: Api) -> None:
    old = verify_checkpoint(
        signed.get(f"{API}/checkpoint").json()["checkpoint"], signed.verifiers()
    )
    signed.add(30)
    new_note = signed.request("POST", f"{API}/checkpoints").json()["checkpoint"]
    new = verify_checkpoint(new_note, signed.verifiers())
    body = signed.get(f"{API}/proof/consistency", first=old.tree_size).json()
    assert (body["first"], body["second"]) == (old.tree_size, new.tree_size)
    merkle.verify_consistency(
        old.tree_size, new.tree_size, old.root_hash, new.root_hash, [b64(h) for h in body["proof"]]
    )


def test_leaves_and_entries_pages(signed: Api) -> None:
    records = signed.live.store.events_from(ORG, 0, 100)
    leaves = signed.get(f"{API}/leaves", start=1, end=4).json()
    assert leaves == {
        "ok": True,
        "start": 1,
        "leaf_hashes": [base64.b64encode(merkle.leaf_hash(r.body)).decode() for r in records[1:4]],
    }
    page = signed.get(f"{API}/entries", start=0, end=32).json()
    assert page["log_size"] == 41
    assert [e["seq"] for e in page["entries"]] == list(range(32))
    first = page["entries"][1]
    assert b64(first["event"]) == records[1].body
    assert (first["id"], first["action"], first["actor_id"]) == ("api-0", "user_login", "U0ANN")
    assert [t["index"] for t in page["tiles"]] == [0, 1]
    tile = merkle.root_hash([merkle.leaf_hash(r.body) for r in records[16:32]])
    assert b64(page["tiles"][1]["hash"]) == tile


def test_a_token_of_another_organization_cannot_prove_this_ones_events(signed: Api) -> None:
    response = signed.get(f"{API}/proof/inclusion", token="other", id=signed.ids[0])
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "not_found"}


# --- errors: one shape --------------------------------------------------------------------------


ERROR_CASES: list[tuple[str, str, dict[str, Any], str | None, int, str]] = [
    ("GET", "/checkpoint", {}, None, 401, "missing_authentication"),
    ("GET", "/checkpoint", {}, "xoxp-not-a-token", 401, "invalid_authentication"),
    ("GET", "/proof/inclusion", {}, None, 401, "missing_authentication"),
    ("POST", "/checkpoints", {}, None, 401, "missing_authentication"),
    ("GET", "/checkpoint", {"size": "abc"}, "read", 400, "invalid_arguments"),
    ("GET", "/checkpoint", {"size": "7"}, "read", 404, "not_found"),
    ("GET", "/proof/inclusion", {}, "read", 400, "invalid_arguments"),
    ("GET", "/proof/inclusion", {"id": "x" * 129}, "read", 400, "invalid_arguments"),
    ("GET", "/proof/inclusion", {"id": "nope"}, "read", 404, "not_found"),
    (
        "GET",
        "/proof/inclusion",
        {"id": "api-3", "tree_size": "-1"},
        "read",
        400,
        "invalid_arguments",
    ),
    (
        "GET",
        "/proof/inclusion",
        {"id": "api-3", "tree_size": "2"},
        "read",
        400,
        "invalid_arguments",
    ),
    (
        "GET",
        "/proof/inclusion",
        {"id": "api-3", "tree_size": "10000"},
        "read",
        400,
        "invalid_arguments",
    ),
    ("GET", "/proof/consistency", {}, "read", 400, "invalid_arguments"),
    ("GET", "/proof/consistency", {"first": "9", "second": "3"}, "read", 400, "invalid_arguments"),
    (
        "GET",
        "/proof/consistency",
        {"first": "1", "second": "999"},
        "read",
        400,
        "invalid_arguments",
    ),
    ("GET", "/proof/consistency", {"first": "1e3"}, "read", 400, "invalid_arguments"),
    ("GET", "/leaves", {"start": "5"}, "read", 400, "invalid_arguments"),
    ("GET", "/leaves", {"start": "5", "end": "5"}, "read", 400, "invalid_arguments"),
    ("GET", "/leaves", {"start": "0", "end": "10001"}, "read", 400, "invalid_arguments"),
    ("GET", "/entries", {"start": "x", "end": "3"}, "read", 400, "invalid_arguments"),
    ("GET", "/entries", {"start": "0", "end": str(10**20)}, "read", 400, "invalid_arguments"),
    (
        "GET",
        "/entries",
        {"start": str(2**63), "end": str(2**63 + 5)},
        "read",
        400,
        "invalid_arguments",
    ),
    ("GET", "/entries", {"start": str(2**63 - 9), "end": str(2**63 - 1)}, "read", 200, ""),
    ("POST", "/checkpoint", {}, "read", 405, "method_not_allowed"),
    ("GET", "/checkpoints", {}, "read", 405, "method_not_allowed"),
    ("HEAD", "/checkpoint", {}, "read", 405, "method_not_allowed"),
    ("DELETE", "/keys", {}, None, 405, "method_not_allowed"),
    ("GET", "/proof", {}, "read", 404, "bad_endpoint"),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "token", "status", "code"),
    ERROR_CASES,
    ids=[f"{c[0]} {c[1]} {c[5]}" for c in ERROR_CASES],
)
def test_every_error_has_the_one_shape_and_no_input_is_a_500(
    signed: Api,
    method: str,
    path: str,
    params: dict[str, Any],
    token: str | None,
    status: int,
    code: str,
) -> None:
    response = signed.request(method, API + path, token, params=params)
    assert response.status_code == status
    if status == 200:
        assert response.json()["entries"] == []
    elif method != "HEAD":
        assert (
            response.content
            == json.dumps({"ok": False, "error": code}, separators=(",", ":")).encode()
        )


def test_a_missing_signing_key_is_not_found_on_demand(api: Api) -> None:
    api.add(2)
    response = api.request("POST", f"{API}/checkpoints")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "not_found"}


def test_a_proof_over_a_damaged_store_is_a_503_not_a_500(signed: Api) -> None:
    import sqlite3

    conn = sqlite3.connect(signed.live.store.path)
    conn.execute("DELETE FROM events WHERE org_id = ? AND seq = 3", (ORG,))
    conn.commit()
    conn.close()
    response = signed.get(f"{API}/proof/inclusion", id=signed.ids[3])
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "service_unavailable"}


# --- the Slack API is untouched, the background task signs -------------------------------------


def test_audit_logs_still_serve_exactly_the_stored_bytes(signed: Api) -> None:
    signed.service.rotate_key()  # the log's own events are ordinary Slack-shaped entries
    response = signed.get("/audit/v1/logs", limit=1000)
    rows = signed.live.store.events_from(ORG, 0, 1000)
    newest_first = sorted(rows, key=lambda r: (r.date_create, r.seq), reverse=True)
    assert response.content == (
        b'{"entries":['
        + b",".join(r.body for r in newest_first)
        + b'],"response_metadata":{"next_cursor":""}}'
    )
    assert set(response.headers) >= {"content-type", "content-length"}
    assert not [h for h in response.headers if "integrity" in h or "checkpoint" in h]
    typed = LogsResponse(**response.json())
    actions = {e.action for e in typed.entries or []}
    assert {"audit_logs_signing_key_created", "audit_logs_signing_key_rotated"} <= actions


def test_the_server_signs_checkpoints_in_the_background(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    live = live_server_factory(checkpoint_interval_s=1)
    api = Api(live)
    api.service.generate_key()
    api.add(3)
    deadline = time.monotonic() + 15
    while live.store.latest_checkpoint(ORG) is None:
        assert time.monotonic() < deadline, "no checkpoint within 15 s"
        time.sleep(0.2)
    api.add(2)
    while live.store.latest_checkpoint(ORG).tree_size < 6:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the grown log was not checkpointed"
        time.sleep(0.2)


# --- online verification and monitoring against the live server --------------------------------


def test_online_verification_and_monitoring_pass_on_an_honest_server(
    signed: Api, tmp_path: Path
) -> None:
    state = StateFile(tmp_path / "state.json")
    client = ProofClient(signed.live.url, signed.live.read_token)
    try:
        report = verify_online(client, state)
        assert report.ok, report.render()
        assert report.events_verified == 41
        assert any("first use" in f.message for f in report.findings)
        saved = json.loads((tmp_path / "state.json").read_text())
        assert saved["logs"][f"{SERVICE}/audit/{ORG}"]["tree_size"] == 41
        assert len(state.ledger(f"{SERVICE}/audit/{ORG}")) == 41 * 32
        signed.add(10)
        signed.service.rotate_key()
        polled = monitor_once(client, StateFile(tmp_path / "state.json"))
        assert polled.ok, polled.render()
        assert polled.tree_size == 52
        again = verify_online(client, StateFile(tmp_path / "state.json"))
        assert again.ok, again.render()
        assert not any("first use" in f.message for f in again.findings)
    finally:
        client.close()


def test_an_inclusion_proof_against_an_explicit_older_size(signed: Api) -> None:
    signed.add(10)
    body = signed.get(f"{API}/proof/inclusion", id=signed.ids[4], tree_size=20).json()
    assert (body["leaf_index"], body["tree_size"], body["checkpoint"]) == (5, 20, None)
    leaves = [merkle.leaf_hash(r.body) for r in signed.live.store.events_from(ORG, 0, 20)]
    merkle.verify_inclusion(
        leaves[5], 5, 20, [b64(h) for h in body["proof"]], merkle.root_hash(leaves)
    )


def test_leaves_of_deleted_events_are_null(signed: Api) -> None:
    import sqlite3

    conn = sqlite3.connect(signed.live.store.path)
    conn.execute("DELETE FROM events WHERE org_id = ? AND seq = 2", (ORG,))
    conn.commit()
    conn.close()
    hashes = signed.get(f"{API}/leaves", start=1, end=4).json()["leaf_hashes"]
    assert hashes[1] is None
    assert None not in (hashes[0], hashes[2])
    entries = signed.get(f"{API}/entries", start=0, end=5).json()["entries"]
    assert [e["seq"] for e in entries] == [0, 1, 3, 4]


PARAM_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=200).map(str),
    st.integers(min_value=2**62, max_value=2**65).map(str),
    st.text(max_size=12),
    st.sampled_from(["", "0", "1e3", "0x10", " 7", "api-3", "api-39", "7.0"]),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        ["/checkpoint", "/proof/inclusion", "/proof/consistency", "/leaves", "/entries"]
    ),
    params=st.dictionaries(
        st.sampled_from(["size", "id", "tree_size", "first", "second", "start", "end"]),
        PARAM_VALUES,
        max_size=4,
    ),
)
def test_arbitrary_parameters_get_a_page_or_the_one_error_shape(
    signed: Api, path: str, params: dict[str, str]
) -> None:
    response = signed.get(API + path, **params)
    assert response.status_code in (200, 400, 404), (response.status_code, response.content)
    body = response.json()
    if response.status_code == 200:
        assert body["ok"] is True
    else:
        assert body == {
            "ok": False,
            "error": "invalid_arguments" if response.status_code == 400 else "not_found",
        }
