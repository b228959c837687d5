-- Tessera schema, version 5: the audit log.
--
-- Append-only (but for the retention purge). `sequence` is the log position, given from the
-- one-row counter `event_sequence` by the statement that appends, the last of its transaction:
-- the counter row stays locked until that transaction commits, so sequences are given in commit
-- order and a reader following `sequence > last_seen` never misses a row that commits late (a
-- plain sequence would hand out numbers in start order). The price: transactions that append
-- events commit one after the other, each holding the counter for its commit only.
-- Organization, member and session ids are plain columns, no foreign keys: deleting an
-- organization must not erase its history.
CREATE TABLE event_sequence (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT event_sequence_one_row CHECK (singleton),
    last      bigint NOT NULL
);
INSERT INTO event_sequence (singleton, last) VALUES (true, 0);

CREATE TABLE events (
    sequence        bigint PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    type            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    organization_id uuid,
    member_id       uuid,
    session_id      uuid,
    actor_type      text NOT NULL,
    actor_id        uuid,
    request_id      text,
    ip_address      text,
    user_agent      text,
    payload         jsonb NOT NULL
);

CREATE INDEX events_organization_idx ON events (organization_id, sequence);
CREATE INDEX events_member_idx ON events (member_id, sequence);
CREATE INDEX events_session_idx ON events (session_id, sequence);
CREATE INDEX events_occurred_at_idx ON events (occurred_at);
