-- Tessera schema, version 3: token generations and purge by any end.
--
-- `token_generation` counts the rotations of a session's token (step-up). Session JWTs carry the
-- generation they were minted at, and writes keyed by a generation apply only while the session
-- still holds it, so a JWT (or a token) from before a rotation can no longer act on the session.
ALTER TABLE sessions ADD COLUMN token_generation integer NOT NULL DEFAULT 0
    CONSTRAINT sessions_token_generation_nonnegative CHECK (token_generation >= 0);

-- Purge deletes sessions that ended by their organization's idle timeout or absolute lifetime
-- too, not only expired or revoked ones: per organization, an index range on the last access
-- (idle) and on the start (absolute lifetime) finds them.
-- Listing a member's sessions oldest first reads them in index order.
DROP INDEX sessions_member_idx;
CREATE INDEX sessions_member_idx ON sessions (organization_id, member_id, started_at);

CREATE INDEX sessions_last_accessed_idx ON sessions (organization_id, last_accessed_at);
CREATE INDEX sessions_started_idx ON sessions (organization_id, started_at);
