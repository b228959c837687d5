-- Tessera schema, version 6: webhook endpoints and their deliveries (the outbox is `events`).
--
-- `event_types` holds event type strings (empty: every type); `secrets` a JSON array of
-- `{"secret", "created_at", "expires_at"}` (instants in microseconds since the Unix epoch), the
-- `whsec_…` text in clear because every attempt is signed with it. `organization_id` has no
-- foreign key: an endpoint filtered on an organization still gets that organization's deletion.
-- `last_sequence` is the fan-out cursor along `events.sequence`; a fan-out takes the endpoint's
-- row `FOR UPDATE SKIP LOCKED`, so two nodes never move one cursor at once.
CREATE TABLE webhook_endpoints (
    id              uuid        NOT NULL,
    url             text        NOT NULL,
    description     text,
    event_types     text[]      NOT NULL,
    organization_id uuid,
    enabled         boolean     NOT NULL,
    disabled_reason text,
    secrets         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    failing_since   timestamptz,
    last_sequence   bigint      NOT NULL,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_last_sequence_check CHECK (last_sequence >= 0)
);

-- One row per event and endpoint. `event_sequence` points into `events` without a foreign key:
-- the audit log's retention purge must never be blocked by a delivery (one whose event is gone
-- is made dead when it is next claimed). `lease_until`: a dispatcher is sending it until then;
-- claims select `FOR UPDATE SKIP LOCKED` and set it in the same statement.
CREATE TABLE webhook_deliveries (
    id              uuid        NOT NULL,
    endpoint_id     uuid        NOT NULL,
    event_sequence  bigint      NOT NULL,
    status          text        NOT NULL,
    attempts        integer     NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    -- A delivery is never created twice; also the index of the cascade from endpoints.
    CONSTRAINT webhook_deliveries_event_key UNIQUE (endpoint_id, event_sequence),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check
        CHECK (status IN ('pending', 'delivered', 'dead')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_last_status_check
        CHECK (last_status IS NULL OR last_status BETWEEN 0 AND 65535)
);

-- Claiming (pending and due, earliest first) and the backlog gauges.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
