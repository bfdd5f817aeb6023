-- Signed checkpoints (docs/integrity.md). The Ed25519 keys that sign them: `generation` counts
-- rotations (the highest signs; a primary key, so two processes cannot both create or rotate),
-- retired keys stay so old checkpoints still verify. The private key string lives here.
CREATE TABLE signing_keys (
    generation  INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    vkey        TEXT NOT NULL UNIQUE,
    private_key TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER,
    endorsement TEXT
);

-- One signed C2SP checkpoint per organization and tree size; `note` is the signed text served.
CREATE TABLE checkpoints (
    org_id      TEXT NOT NULL,
    tree_size   INTEGER NOT NULL,
    root_hash   BLOB NOT NULL,
    timestamp   INTEGER NOT NULL,
    key_name    TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    note        TEXT NOT NULL,
    PRIMARY KEY (org_id, tree_size)
) WITHOUT ROWID;
