-- Trailkeeper's first schema on SQLite: the directory, tokens, and the append-only event log.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL
);

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL
);
CREATE INDEX workspaces_org ON workspaces(org_id);

CREATE TABLE tokens (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id),
    token_hash      BLOB NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    label           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER,
    workspace_id    TEXT,
    installation_id TEXT
);
CREATE INDEX tokens_org ON tokens(org_id);

-- The next sequence number of each organization, advanced inside the appending transaction so
-- that sequences stay gap-free even when several processes append to one database file.
CREATE TABLE org_heads (
    org_id      TEXT PRIMARY KEY,
    next_seq    INTEGER NOT NULL
);

-- Events are immutable: `body` holds the exact canonical bytes served by /audit/v1/logs.
CREATE TABLE events (
    rid         INTEGER PRIMARY KEY,
    org_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    date_create INTEGER NOT NULL,
    action      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    entity_id   TEXT,
    body        BLOB NOT NULL
);
-- One index per filter kind of /logs, each ending in the page order (date_create, seq).
CREATE UNIQUE INDEX events_org_id ON events(org_id, id);
CREATE INDEX events_org_time ON events(org_id, date_create, seq);
CREATE INDEX events_org_action ON events(org_id, action, date_create, seq);
CREATE INDEX events_org_actor ON events(org_id, actor_id, date_create, seq);
CREATE INDEX events_org_entity ON events(org_id, entity_id, date_create, seq);

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL
);
