-- Tessera SQLite schema, version 1.
--
-- Ids are 16-byte UUIDs (BLOB): byte order is UUID order, so UUIDv7 ids sort by creation.
-- Instants are INTEGER microseconds since the Unix epoch, UTC.
-- JSON columns hold the serde form of the tessera-core types; they are validated on read.
-- Unique indexes are named `<table>_<what>_key`; a violation is reported with the indexed
-- columns, which is how the store tells which uniqueness rule a write ran into.

CREATE TABLE organizations (
    id                   BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    slug                 TEXT    NOT NULL,
    external_id          TEXT,
    name                 TEXT    NOT NULL,
    email                TEXT,
    trusted_metadata     TEXT    NOT NULL,
    mfa_policy           TEXT    NOT NULL,
    max_lifetime_minutes INTEGER NOT NULL,
    idle_timeout_minutes INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);
CREATE UNIQUE INDEX organizations_external_id_key ON organizations (external_id)
    WHERE external_id IS NOT NULL;

CREATE TABLE members (
    id                 BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    organization_id    BLOB    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email_address      TEXT    NOT NULL,
    -- Lower-cased email_address: the key for uniqueness and lookups.
    email_normalized   TEXT    NOT NULL,
    external_id        TEXT,
    name               TEXT,
    roles              TEXT    NOT NULL,
    trusted_metadata   TEXT    NOT NULL,
    untrusted_metadata TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

-- The target of the sessions' composite foreign key, and the index for listing members.
CREATE UNIQUE INDEX members_organization_id_key ON members (organization_id, id);
CREATE UNIQUE INDEX members_email_key ON members (organization_id, email_normalized);
CREATE UNIQUE INDEX members_external_id_key ON members (organization_id, external_id)
    WHERE external_id IS NOT NULL;

CREATE TABLE sessions (
    id                     BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    organization_id        BLOB    NOT NULL,
    member_id              BLOB    NOT NULL,
    -- SHA-256 of the session token. The token itself is never stored.
    token_hash             BLOB    NOT NULL CHECK (length(token_hash) = 32),
    started_at             INTEGER NOT NULL,
    last_accessed_at       INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    revoked_at             INTEGER,
    authentication_factors TEXT    NOT NULL,
    custom_claims          TEXT    NOT NULL,
    ip_address             TEXT,
    user_agent             TEXT,
    return_url             TEXT,
    updated_at             INTEGER NOT NULL,
    -- Composite, so that a session can never point at a member of another organization.
    FOREIGN KEY (organization_id, member_id)
        REFERENCES members (organization_id, id) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_member_idx ON sessions (organization_id, member_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE signing_keys (
    kid             TEXT    NOT NULL PRIMARY KEY,
    algorithm       TEXT    NOT NULL,
    private_key_der BLOB    NOT NULL,
    public_key_der  BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER
) STRICT;
