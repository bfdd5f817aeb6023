-- Per-organization retention: keep_days NULL (or no row) means keep forever.
CREATE TABLE retention_policies (
    org_id      TEXT PRIMARY KEY REFERENCES organizations(id),
    keep_days   INTEGER
);
