"""The directory: admin rules, token authorization and hashing, and location resolution."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import ORG, OTHER_ORG, WS_A, WS_OTHER
from trailkeeper.directory import admin
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.directory.records import (
    KNOWN_SCOPES,
    READ_SCOPE,
    WRITE_SCOPE,
    Organization,
    TokenRecord,
    Workspace,
)
from trailkeeper.directory.tokens import (
    MAX_TOKEN_LENGTH,
    Grant,
    authorize,
    mint_token,
    new_token_id,
    token_hash,
)
from trailkeeper.errors import (
    Conflict,
    InvalidArguments,
    InvalidAuthentication,
    MissingScope,
    NotFound,
    TeamNotAuthorized,
)
from trailkeeper.storage.sqlite import SQLiteStore
from trailkeeper.validation import ResolvedLocation

READ = frozenset({READ_SCOPE})
WRITE = frozenset({WRITE_SCOPE})
BOTH = frozenset({READ_SCOPE, WRITE_SCOPE})


# --- organizations ------------------------------------------------------------------------------


def test_create_organization(store: SQLiteStore) -> None:
    org = admin.create_organization(store, "E0ACME42", "  Acme Corp ", "acme-corp")
    assert org == Organization("E0ACME42", "Acme Corp", "acme-corp")
    assert store.get_organization("E0ACME42") == org


@pytest.mark.parametrize(
    "org_id",
    ["", "E", "E0", "e0ACME", "T0ACME", "E0acme", "E0AC-ME", " E0ACME", "E0" + "A" * 31, "EÉ0"],
)
def test_organization_id_pattern(store: SQLiteStore, org_id: str) -> None:
    with pytest.raises(InvalidArguments, match="organization id"):
        admin.create_organization(store, org_id, "Name", "domain")
    assert store.list_organizations() == []


def test_organization_id_with_trailing_newline_refused(store: SQLiteStore) -> None:
    with pytest.raises(InvalidArguments):
        admin.create_organization(store, "E0ACME\n", "Acme", "acme")


def test_domain_with_trailing_newline_refused(store: SQLiteStore) -> None:
    with pytest.raises(InvalidArguments):
        admin.create_organization(store, "E0ACME", "Acme", "acme\n")


def test_workspace_id_with_trailing_newline_refused(directory: SQLiteStore) -> None:
    with pytest.raises(InvalidArguments):
        admin.create_workspace(directory, "T0NEW\n", ORG, "New", "new")


@pytest.mark.parametrize("org_id", ["E01", "E0ACME", "EABC", "E" + "A" * 31])
def test_organization_id_pattern_accepts(store: SQLiteStore, org_id: str) -> None:
    assert admin.create_organization(store, org_id, "Name", "domain").id == org_id


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_organization_name_rules(store: SQLiteStore, name: str) -> None:
    with pytest.raises(InvalidArguments, match="name"):
        admin.create_organization(store, "E0ACME", name, "acme")


@pytest.mark.parametrize(
    "domain", ["", "Acme", "-acme", "acme.com", "ac me", "acme_corp", "a" * 64, "ácme"]
)
def test_organization_domain_rules(store: SQLiteStore, domain: str) -> None:
    with pytest.raises(InvalidArguments, match="domain"):
        admin.create_organization(store, "E0ACME", "Acme", domain)


@pytest.mark.parametrize("domain", ["a", "0acme", "acme-", "a" * 63, "a-b-c"])
def test_organization_domain_accepts(store: SQLiteStore, domain: str) -> None:
    assert admin.create_organization(store, "E0ACME", "Acme", domain).domain == domain


def test_recreating_identical_organization_is_a_no_op(store: SQLiteStore) -> None:
    first = admin.create_organization(store, "E0ACME", "Acme", "acme")
    assert admin.create_organization(store, "E0ACME", " Acme ", "acme") == first
    assert store.list_organizations() == [first]


@pytest.mark.parametrize(("name", "domain"), [("Other", "acme"), ("Acme", "other")])
def test_conflicting_organization(store: SQLiteStore, name: str, domain: str) -> None:
    admin.create_organization(store, "E0ACME", "Acme", "acme")
    with pytest.raises(Conflict, match="E0ACME"):
        admin.create_organization(store, "E0ACME", name, domain)
    assert store.get_organization("E0ACME") == Organization("E0ACME", "Acme", "acme")


# --- workspaces ---------------------------------------------------------------------------------


def test_create_workspace(directory: SQLiteStore) -> None:
    ws = admin.create_workspace(directory, "T0NEW1", ORG, " New ", "new")
    assert ws == Workspace("T0NEW1", ORG, "New", "new")
    assert directory.get_workspace("T0NEW1") == ws
    assert "T0NEW1" in [w.id for w in directory.list_workspaces(ORG)]


@pytest.mark.parametrize("ws_id", ["", "T", "T0", "t0ABC", "E0ABC", "T0abc", "T0" + "A" * 31])
def test_workspace_id_pattern(directory: SQLiteStore, ws_id: str) -> None:
    with pytest.raises(InvalidArguments, match="workspace id"):
        admin.create_workspace(directory, ws_id, ORG, "Name", "domain")


def test_workspace_name_and_domain_rules(directory: SQLiteStore) -> None:
    with pytest.raises(InvalidArguments, match="name"):
        admin.create_workspace(directory, "T0NEW", ORG, " ", "new")
    with pytest.raises(InvalidArguments, match="domain"):
        admin.create_workspace(directory, "T0NEW", ORG, "New", "New")


def test_workspace_of_unknown_org(store: SQLiteStore) -> None:
    with pytest.raises(NotFound, match="E0NOBODY"):
        admin.create_workspace(store, "T0NEW", "E0NOBODY", "New", "new")
    assert store.get_workspace("T0NEW") is None


def test_recreating_identical_workspace_is_a_no_op(directory: SQLiteStore) -> None:
    again = admin.create_workspace(directory, WS_A, ORG, "Alpha", "alpha")
    assert again == directory.get_workspace(WS_A)


@pytest.mark.parametrize(
    ("org", "name", "domain"),
    [(OTHER_ORG, "Alpha", "alpha"), (ORG, "Renamed", "alpha"), (ORG, "Alpha", "other")],
    ids=["moved", "renamed", "redomained"],
)
def test_conflicting_workspace(directory: SQLiteStore, org: str, name: str, domain: str) -> None:
    with pytest.raises(Conflict, match=WS_A):
        admin.create_workspace(directory, WS_A, org, name, domain)
    assert directory.get_workspace(WS_A) == Workspace(WS_A, ORG, "Alpha", "alpha")


# --- tokens: issuing and revoking ---------------------------------------------------------------


def test_issue_read_token(directory: SQLiteStore) -> None:
    token, record = admin.issue_token(directory, ORG, READ, "siem", now=1234)
    assert token.startswith("xoxp-")
    assert len(token) > 40
    assert record.id.startswith("tok_")
    assert record.org_id == ORG
    assert record.scopes == READ
    assert record.label == "siem"
    assert record.created_at == 1234
    assert record.token_hash == token_hash(token)
    assert record.is_active
    assert directory.find_token(token_hash(token)) == record


def test_issue_write_token_prefix(directory: SQLiteStore) -> None:
    token, _ = admin.issue_token(directory, ORG, WRITE)
    assert token.startswith("tkw-")
    both, _ = admin.issue_token(directory, ORG, BOTH)
    assert both.startswith("xoxp-")


def test_tokens_are_unique(directory: SQLiteStore) -> None:
    issued = [admin.issue_token(directory, ORG, READ) for _ in range(20)]
    assert len({t for t, _ in issued}) == 20
    assert len({r.id for _, r in issued}) == 20
    assert len(directory.list_tokens(ORG)) == 20


def test_issue_token_label_is_truncated(directory: SQLiteStore) -> None:
    _, record = admin.issue_token(directory, ORG, READ, "x" * 500)
    assert record.label == "x" * 200


@pytest.mark.parametrize(
    "scopes",
    [frozenset(), frozenset({"auditlogs:admin"}), frozenset({READ_SCOPE, "chat:write"})],
    ids=["none", "unknown", "mixed"],
)
def test_issue_token_scope_rules(directory: SQLiteStore, scopes: frozenset[str]) -> None:
    with pytest.raises(InvalidArguments, match="scopes"):
        admin.issue_token(directory, ORG, scopes)
    assert directory.list_tokens() == []


def test_issue_token_unknown_org(store: SQLiteStore) -> None:
    with pytest.raises(NotFound, match="E0NOBODY"):
        admin.issue_token(store, "E0NOBODY", READ)


def test_revoke_token(directory: SQLiteStore) -> None:
    token, record = admin.issue_token(directory, ORG, READ)
    admin.revoke_token(directory, record.id, now=99)
    found = directory.find_token(token_hash(token))
    assert found is not None
    assert found.revoked_at == 99
    with pytest.raises(NotFound, match=record.id):
        admin.revoke_token(directory, record.id)
    with pytest.raises(NotFound):
        admin.revoke_token(directory, "tok_unknown")


# --- tokens: authorization ----------------------------------------------------------------------


def test_authorize_read_token(directory: SQLiteStore) -> None:
    token, record = admin.issue_token(directory, ORG, READ)
    grant = authorize(token, READ_SCOPE, directory.find_token)
    assert grant == Grant(token_id=record.id, org_id=ORG, scopes=READ)


def test_authorize_write_token(directory: SQLiteStore) -> None:
    token, _ = admin.issue_token(directory, OTHER_ORG, WRITE)
    assert authorize(token, WRITE_SCOPE, directory.find_token).org_id == OTHER_ORG


@pytest.mark.parametrize("token", ["", "xoxp-unknown", "x" * (MAX_TOKEN_LENGTH + 1)])
def test_authorize_unknown_or_malformed(directory: SQLiteStore, token: str) -> None:
    admin.issue_token(directory, ORG, BOTH)
    for scope in (READ_SCOPE, WRITE_SCOPE):
        with pytest.raises(InvalidAuthentication):
            authorize(token, scope, directory.find_token)


def test_authorize_revoked(directory: SQLiteStore) -> None:
    token, record = admin.issue_token(directory, ORG, BOTH)
    admin.revoke_token(directory, record.id)
    for scope in (READ_SCOPE, WRITE_SCOPE):
        with pytest.raises(InvalidAuthentication, match="revoked"):
            authorize(token, scope, directory.find_token)


def test_missing_read_scope_is_invalid_authentication(directory: SQLiteStore) -> None:
    token, _ = admin.issue_token(directory, ORG, WRITE)
    with pytest.raises(InvalidAuthentication) as info:
        authorize(token, READ_SCOPE, directory.find_token)
    assert not isinstance(info.value, MissingScope)


def test_missing_write_scope_is_missing_scope(directory: SQLiteStore) -> None:
    token, _ = admin.issue_token(directory, ORG, READ)
    with pytest.raises(MissingScope) as info:
        authorize(token, WRITE_SCOPE, directory.find_token)
    assert info.value.needed == WRITE_SCOPE
    assert info.value.provided == READ_SCOPE


def test_workspace_install_token(directory: SQLiteStore) -> None:
    token, _ = admin.issue_token(directory, ORG, BOTH, workspace_id=WS_A, installation_id="I0X")
    with pytest.raises(TeamNotAuthorized):
        authorize(token, READ_SCOPE, directory.find_token)
    assert authorize(token, WRITE_SCOPE, directory.find_token).org_id == ORG
    write_only, _ = admin.issue_token(directory, ORG, WRITE, workspace_id=WS_A)
    # The scope check comes first: no read scope at all is still invalid_authentication.
    with pytest.raises(InvalidAuthentication):
        authorize(write_only, READ_SCOPE, directory.find_token)


def test_authorize_checks_the_hash_it_is_given(directory: SQLiteStore) -> None:
    """A lookup returning some other record (e.g. a buggy backend) must not authenticate."""
    token, _ = admin.issue_token(directory, ORG, READ)
    stranger = TokenRecord("tok_x", ORG, b"\x00" * 32, READ, "", 0)
    with pytest.raises(InvalidAuthentication):
        authorize(token, READ_SCOPE, lambda _digest: stranger)


# --- tokens: hashing and storage ----------------------------------------------------------------


def test_token_hash() -> None:
    token = mint_token(READ)
    digest = token_hash(token)
    assert digest == hashlib.sha256(token.encode()).digest()
    assert len(digest) == 32
    assert digest != token.encode()
    assert token.encode() not in digest
    assert token_hash(token) == digest
    assert token_hash(token + "x") != digest
    # Pinned vector, and a must-fail neighbour.
    pinned = "9da0c69dbadc80a8bb8a0acdf1c138f74320cdebf00d750d53e2d5cc22599a04"
    assert token_hash("xoxp-test").hex() == pinned
    assert token_hash("xoxp-tesT").hex() != pinned


def test_mint_token_and_id_shapes() -> None:
    assert mint_token(READ).startswith("xoxp-")
    assert mint_token(WRITE).startswith("tkw-")
    assert mint_token(READ) != mint_token(READ)
    token_id = new_token_id()
    assert token_id.startswith("tok_")
    assert len(token_id) == 4 + 16


def _database_bytes(path: str) -> bytes:
    files = [Path(path), Path(path + "-wal"), Path(path + "-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_tokens_are_stored_hashed_only(directory: SQLiteStore) -> None:
    issued = [
        admin.issue_token(directory, ORG, s, f"label-{i}")
        for i, s in enumerate([READ, WRITE, BOTH])
    ]
    raw = _database_bytes(directory.path)
    for token, record in issued:
        assert record.token_hash in raw  # we are looking at the right bytes
        assert token.encode() not in raw
        assert token.split("-", 1)[1].encode() not in raw
    assert b"label-0" in raw


# --- locations ----------------------------------------------------------------------------------


class CountingStore:
    """The directory part of a store, counting lookups."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.calls: list[tuple[str, str]] = []

    def get_organization(self, org_id: str) -> Organization | None:
        self.calls.append(("org", org_id))
        return self.store.get_organization(org_id)

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        self.calls.append(("ws", workspace_id))
        return self.store.get_workspace(workspace_id)


def test_location_index_resolves_workspace_and_enterprise(directory: SQLiteStore) -> None:
    index = LocationIndex(directory)
    assert index("workspace", WS_A) == ResolvedLocation(ORG, "Alpha", "alpha")
    assert index("workspace", WS_OTHER) == ResolvedLocation(OTHER_ORG, "Other", "other")
    assert index("enterprise", ORG) == ResolvedLocation(ORG, "Test Org", "testorg")
    assert index("enterprise", OTHER_ORG) == ResolvedLocation(OTHER_ORG, "Other Org", "otherorg")


def test_location_index_unknown_and_mismatched_kinds(directory: SQLiteStore) -> None:
    index = LocationIndex(directory)
    assert index("workspace", "T0NOWHERE") is None
    assert index("enterprise", "E0NOWHERE") is None
    # A workspace id is not an enterprise, and vice versa.
    assert index("enterprise", WS_A) is None
    assert index("workspace", ORG) is None


def test_location_index_caches_hits(directory: SQLiteStore) -> None:
    counting = CountingStore(directory)
    index = LocationIndex(counting)  # type: ignore[arg-type]
    for _ in range(5):
        assert index("workspace", WS_A) is not None
        assert index("enterprise", ORG) is not None
    assert counting.calls == [("ws", WS_A), ("org", ORG)]
    # Cached values survive a rename until forget().
    directory.put_workspace(Workspace(WS_A, ORG, "Renamed", "renamed"))
    assert index("workspace", WS_A) == ResolvedLocation(ORG, "Alpha", "alpha")
    index.forget()
    assert index("workspace", WS_A) == ResolvedLocation(ORG, "Renamed", "renamed")


def test_location_index_finds_workspace_created_after_a_miss(directory: SQLiteStore) -> None:
    index = LocationIndex(directory)
    assert index("workspace", "T0LATE") is None
    assert index("enterprise", "E0LATE") is None
    # Created by another store instance on the same file (the CLI next to a running server).
    other = SQLiteStore(directory.path)
    try:
        admin.create_organization(other, "E0LATE", "Late", "late")
        admin.create_workspace(other, "T0LATE", "E0LATE", "Late WS", "latews")
    finally:
        other.close()
    assert index("workspace", "T0LATE") == ResolvedLocation("E0LATE", "Late WS", "latews")
    assert index("enterprise", "E0LATE") == ResolvedLocation("E0LATE", "Late", "late")


def test_known_scopes() -> None:
    assert {"auditlogs:read", "auditlogs:write", "admin:directory"} == KNOWN_SCOPES
