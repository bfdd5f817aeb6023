-- How far each consumer of the committed log (relay, detectors) has read, per organization.
CREATE TABLE consumer_positions (
    consumer    TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    next_seq    BIGINT NOT NULL,
    PRIMARY KEY (consumer, org_id)
);
