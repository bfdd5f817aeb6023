-- Trailkeeper's first schema on PostgreSQL. Every table is keyed by org_id first, so the schema can
-- later be distributed by organization (e.g. Citus) without a rewrite.

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
    token_hash      BYTEA NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    label           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT,
    workspace_id    TEXT,
    installation_id TEXT
);
CREATE INDEX tokens_org ON tokens(org_id);

-- The next sequence number of each organization. Appends lock the row (SELECT ... FOR UPDATE),
-- so sequences stay gap-free and unforked across any number of nodes.
CREATE TABLE org_heads (
    org_id      TEXT PRIMARY KEY,
    next_seq    BIGINT NOT NULL
);

-- The event log, partitioned by month of date_create; partitions are created ahead by the store.
CREATE TABLE events (
    org_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL,
    date_create BIGINT NOT NULL,
    action      TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    entity_id   TEXT,
    body        BYTEA NOT NULL
) PARTITION BY RANGE (date_create);
CREATE INDEX events_org_time ON events (org_id, date_create, seq);
CREATE INDEX events_org_action ON events (org_id, action, date_create, seq);
CREATE INDEX events_org_actor ON events (org_id, actor_id, date_create, seq);
CREATE INDEX events_org_entity ON events (org_id, entity_id, date_create, seq);

-- Event ids per organization (a partitioned table cannot enforce it): idempotent ingest, and the
-- way from an event id or a sequence number to its partition.
CREATE TABLE event_ids (
    org_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    date_create BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX event_ids_seq ON event_ids (org_id, seq);

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL
);
