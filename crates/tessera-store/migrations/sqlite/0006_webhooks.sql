-- Tessera SQLite schema, version 6: webhook endpoints and their deliveries (the outbox is
-- `events`).
--
-- `event_types` is a JSON array of event type strings (empty: every type); `secrets` a JSON
-- array of `{"secret", "created_at", "expires_at"}` (instants in microseconds), the `whsec_…`
-- text in clear because every attempt is signed with it. `organization_id` has no foreign key:
-- an endpoint filtered on an organization still gets that organization's deletion.
-- `last_sequence` is the fan-out cursor along `events.sequence`.
CREATE TABLE webhook_endpoints (
    id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    url             TEXT    NOT NULL,
    description     TEXT,
    event_types     TEXT    NOT NULL,
    organization_id BLOB    CHECK (organization_id IS NULL OR length(organization_id) = 16),
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason TEXT,
    secrets         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    failing_since   INTEGER,
    last_sequence   INTEGER NOT NULL CHECK (last_sequence >= 0)
) STRICT;

-- One row per event and endpoint. `event_sequence` points into `events` without a foreign key:
-- the audit log's retention purge must never be blocked by a delivery (one whose event is gone
-- is made dead when it is next claimed). `lease_until`: a dispatcher is sending it until then.
CREATE TABLE webhook_deliveries (
    id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    endpoint_id     BLOB    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_sequence  INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_attempt_at INTEGER,
    last_status     INTEGER CHECK (last_status IS NULL OR last_status BETWEEN 0 AND 65535),
    last_error      TEXT,
    created_at      INTEGER NOT NULL
) STRICT;

-- A delivery is never created twice; also the index of the cascade from endpoints.
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (endpoint_id, event_sequence);
-- Claiming (pending and due, earliest first) and the backlog gauges.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
