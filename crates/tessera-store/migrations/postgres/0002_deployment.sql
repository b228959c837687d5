-- Tessera schema, version 2: the deployment record.
--
-- One row at most (the `singleton` key can only be 1): the project id and the SHA-256 of the API
-- secret that every node on this database shares. The secret itself is never stored. The first
-- node to start inserts its candidate (`ON CONFLICT DO NOTHING`); every node then reads the row.

CREATE TABLE deployment (
    singleton   smallint    NOT NULL DEFAULT 1,
    project_id  text        NOT NULL,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT deployment_pkey PRIMARY KEY (singleton),
    CONSTRAINT deployment_singleton CHECK (singleton = 1),
    CONSTRAINT deployment_secret_hash_length CHECK (octet_length(secret_hash) = 32)
);
