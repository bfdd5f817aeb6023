-- Anomaly detection: per-organization controls, platform activity signals (kept briefly, never
-- served by /audit/v1/logs), snapshots of the pipeline's state, and anomalies held back by
-- shadow mode.
CREATE TABLE detect_controls (
    org_id      TEXT PRIMARY KEY,
    controls    TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE detect_signals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX detect_signals_by_org ON detect_signals (org_id, id);
CREATE INDEX detect_signals_by_time ON detect_signals (received_at);
CREATE TABLE detect_snapshots (
    consumer    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    next_seq    INTEGER NOT NULL,
    next_signal INTEGER NOT NULL,
    taken_at    INTEGER NOT NULL,
    state       BLOB NOT NULL,
    PRIMARY KEY (consumer, org_id)
);
CREATE TABLE detect_shadow (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX detect_shadow_by_org ON detect_shadow (org_id, id);
