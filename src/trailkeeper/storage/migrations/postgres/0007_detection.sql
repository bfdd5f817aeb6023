-- Anomaly detection: per-organization controls, platform activity signals (kept briefly, never
-- served by /audit/v1/logs), snapshots of the pipeline's state, and anomalies held back by
-- shadow mode.
CREATE TABLE detect_controls (
    org_id      TEXT PRIMARY KEY,
    controls    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE detect_signals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX detect_signals_by_org ON detect_signals (org_id, id);
CREATE INDEX detect_signals_by_time ON detect_signals (received_at);
CREATE TABLE detect_snapshots (
    consumer    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    next_seq    BIGINT NOT NULL,
    next_signal BIGINT NOT NULL,
    taken_at    BIGINT NOT NULL,
    state       BYTEA NOT NULL,
    PRIMARY KEY (consumer, org_id)
);
CREATE TABLE detect_shadow (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX detect_shadow_by_org ON detect_shadow (org_id, id);
