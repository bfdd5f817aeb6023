-- Reading an organization's events in sequence order (integrity proofs, the committed-event relay,
-- copying a store), and a second guard that sequence numbers are never reused.
CREATE UNIQUE INDEX events_org_seq ON events(org_id, seq);
