-- Tamper evidence: each organization's Merkle frontier (next to its sequence head, advanced in the
-- same transaction) and the complete subtrees of height >= 4 that proofs read.
ALTER TABLE org_heads ADD COLUMN frontier BYTEA;

CREATE TABLE merkle_nodes (
    org_id      TEXT NOT NULL,
    level       INTEGER NOT NULL,
    idx         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (org_id, level, idx)
);
