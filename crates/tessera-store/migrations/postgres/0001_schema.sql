-- Tessera schema, version 1.
--
-- Applied once per database schema (the first schema of the connection's search_path) by
-- `PostgresStore::migrate`, which records it in `tessera_schema_migrations`. Never edit an
-- applied migration: add a new numbered file instead (the checksum of an applied one is checked).
--
-- Constraint and index names are part of the contract with the Rust code: a unique violation is
-- mapped to `Constraint::...` by its name (see src/postgres/errors.rs).

CREATE TABLE organizations (
    id                   uuid        NOT NULL,
    slug                 text        NOT NULL,
    external_id          text,
    name                 text        NOT NULL,
    email                text,
    trusted_metadata     jsonb       NOT NULL,
    mfa_policy           text        NOT NULL,
    max_lifetime_minutes integer     NOT NULL,
    idle_timeout_minutes integer,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);

CREATE UNIQUE INDEX organizations_external_id_key
    ON organizations (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE members (
    id                 uuid        NOT NULL,
    organization_id    uuid        NOT NULL,
    -- As entered; `email_normalized` is the uniqueness and lookup key, computed by Tessera
    -- (EmailAddress::normalized) so that it does not depend on the database's locale.
    email_address      text        NOT NULL,
    email_normalized   text        NOT NULL,
    name               text,
    external_id        text,
    roles              text[]      NOT NULL,
    trusted_metadata   jsonb       NOT NULL,
    untrusted_metadata jsonb       NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT members_pkey PRIMARY KEY (id),
    -- The target of sessions' composite foreign key.
    CONSTRAINT members_organization_id_id_key UNIQUE (organization_id, id),
    CONSTRAINT members_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX members_email_key ON members (organization_id, email_normalized);
CREATE UNIQUE INDEX members_external_id_key
    ON members (organization_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE sessions (
    id                     uuid        NOT NULL,
    organization_id        uuid        NOT NULL,
    member_id              uuid        NOT NULL,
    -- SHA-256 of the session token; the token itself is never stored.
    token_hash             bytea       NOT NULL,
    started_at             timestamptz NOT NULL,
    last_accessed_at       timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    revoked_at             timestamptz,
    authentication_factors jsonb       NOT NULL,
    custom_claims          jsonb       NOT NULL,
    attributes             jsonb       NOT NULL,
    return_url             text,
    updated_at             timestamptz NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_token_hash_length CHECK (octet_length(token_hash) = 32),
    -- A session can only point at a member of its own organization; deleting the member (or its
    -- organization, through members) deletes the session.
    CONSTRAINT sessions_member_fkey FOREIGN KEY (organization_id, member_id)
        REFERENCES members (organization_id, id) ON DELETE CASCADE
);

CREATE INDEX sessions_member_idx ON sessions (organization_id, member_id);
-- For purge: sessions expired or revoked before a cut-off.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE signing_keys (
    kid             text        NOT NULL,
    algorithm       text        NOT NULL,
    private_key_der bytea       NOT NULL,
    public_key_der  bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
);
