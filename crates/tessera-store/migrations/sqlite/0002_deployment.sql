-- Tessera SQLite schema, version 2: the deployment record.
--
-- One row at most (the `singleton` key can only be 1): the project id and the SHA-256 of the API
-- secret that every process on this file shares. The secret itself is never stored.

CREATE TABLE deployment (
    singleton   INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    project_id  TEXT    NOT NULL,
    secret_hash BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    created_at  INTEGER NOT NULL
) STRICT;
