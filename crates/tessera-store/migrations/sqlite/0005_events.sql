-- Tessera SQLite schema, version 5: the audit log.
--
-- Append-only (but for the retention purge). `sequence` is the log position: AUTOINCREMENT so
-- that a purged sequence is never given again, and, with the one writer connection, in commit
-- order. Organization, member and session ids are plain columns, no foreign keys: deleting an
-- organization must not erase its history. Instants are microseconds since the Unix epoch (UTC).
CREATE TABLE events (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    id              BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    type            TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    organization_id BLOB,
    member_id       BLOB,
    session_id      BLOB,
    actor_type      TEXT NOT NULL,
    actor_id        BLOB,
    request_id      TEXT,
    ip_address      TEXT,
    user_agent      TEXT,
    payload         TEXT NOT NULL
) STRICT;

-- Listings filtered by organization, member or session, each read from a cursor on.
CREATE INDEX events_organization_idx ON events (organization_id, sequence);
CREATE INDEX events_member_idx ON events (member_id, sequence);
CREATE INDEX events_session_idx ON events (session_id, sequence);
-- Time ranges and the retention purge.
CREATE INDEX events_occurred_at_idx ON events (occurred_at);
