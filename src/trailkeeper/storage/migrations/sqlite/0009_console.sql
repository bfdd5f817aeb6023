-- The console's filters beyond Slack's (docs/console.md): an event's workspace (context.location),
-- IP address and sign-in session, written by the store at append (storage/console_sql.py,
-- `console_columns`), each with an index ending in the page order (date_create, seq) like the
-- /logs indexes. Existing events are filled here, once; bytes that are not JSON stay NULL.
-- CAST AS TEXT: from SQLite 3.45 the JSON functions read a BLOB argument as JSONB.
ALTER TABLE events ADD COLUMN location_id TEXT;
ALTER TABLE events ADD COLUMN ip_address TEXT;
ALTER TABLE events ADD COLUMN session_id INTEGER;
UPDATE events SET
    location_id = json_extract(CAST(body AS TEXT), '$.context.location.id'),
    ip_address = json_extract(CAST(body AS TEXT), '$.context.ip_address'),
    session_id = json_extract(CAST(body AS TEXT), '$.context.session_id')
WHERE json_valid(CAST(body AS TEXT));
CREATE INDEX events_org_location ON events(org_id, location_id, date_create, seq);
CREATE INDEX events_org_ip ON events(org_id, ip_address, date_create, seq);
CREATE INDEX events_org_session ON events(org_id, session_id, date_create, seq);
