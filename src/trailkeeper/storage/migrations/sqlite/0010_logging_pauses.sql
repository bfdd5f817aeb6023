-- Recording paused by an operator (`trailkeeper logging pause`): a row means the organization's
-- ingest is refused until `logging resume` deletes it. Every node reads it (a short cache).
CREATE TABLE logging_pauses (
    org_id      TEXT PRIMARY KEY REFERENCES organizations(id),
    paused_at   INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
