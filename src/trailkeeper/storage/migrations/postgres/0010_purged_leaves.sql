-- The RFC 6962 leaf hash of every event a retention purge deleted, kept in the purge's own
-- transaction: proofs, tiles and verification still cover the purged range (32 bytes a leaf).
CREATE TABLE purged_leaves (
    org_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (org_id, seq)
);
