-- The console's filters beyond Slack's (docs/console.md): an event's workspace (context.location),
-- IP address and sign-in session, written by the store at append (storage/console_sql.py,
-- `console_columns`), each with an index ending in the page order (date_create, seq) like the
-- /logs indexes. Adding nullable columns rewrites nothing; existing events are filled here,
-- once, by a function that leaves NULL where the bytes are not UTF-8 JSON (a `\u0000` escape,
-- valid JSON that every json operator refuses, is replaced first).
ALTER TABLE events
    ADD COLUMN location_id TEXT,
    ADD COLUMN ip_address TEXT,
    ADD COLUMN session_id BIGINT;

CREATE FUNCTION trailkeeper_console_field(body BYTEA, path TEXT[]) RETURNS TEXT
    LANGUAGE plpgsql IMMUTABLE STRICT
    AS $$
BEGIN
    RETURN replace(convert_from(body, 'UTF8'), '\u0000', '\ufffd')::json #>> path;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;
UPDATE events SET
    location_id = trailkeeper_console_field(body, '{context,location,id}'),
    ip_address = trailkeeper_console_field(body, '{context,ip_address}'),
    session_id = CASE WHEN trailkeeper_console_field(body, '{context,session_id}') ~ '^[0-9]{1,18}$'
                      THEN trailkeeper_console_field(body, '{context,session_id}')::BIGINT END;
DROP FUNCTION trailkeeper_console_field(BYTEA, TEXT[]);

CREATE INDEX events_org_location ON events (org_id, location_id, date_create, seq);
CREATE INDEX events_org_ip ON events (org_id, ip_address, date_create, seq);
CREATE INDEX events_org_session ON events (org_id, session_id, date_create, seq);
