-- `/audit/v1/logs?actor=U…&action=…` (who did this kind of thing): without this index the scan
-- walks the actor's whole history and tests each row's action (a heavy actor and a rare action
-- read everything). Ends in the page order like the other filter indexes.
CREATE INDEX events_org_actor_action ON events(org_id, actor_id, action, date_create, seq);
