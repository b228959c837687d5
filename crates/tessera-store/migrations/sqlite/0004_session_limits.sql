-- Tessera SQLite schema, version 4: a limit on the live sessions of a member per organization.
--
-- NULL: no limit. The behaviour at the limit is `revoke_least_recently_used` or `refuse`.
-- Counting a member's live sessions and finding the least recently used one read
-- `sessions_member_idx` (organization, member, ...).
ALTER TABLE organizations ADD COLUMN max_sessions_per_member INTEGER
    CHECK (max_sessions_per_member IS NULL OR max_sessions_per_member BETWEEN 1 AND 1000);
ALTER TABLE organizations ADD COLUMN session_limit_behavior TEXT
    CHECK (session_limit_behavior IS NULL
           OR session_limit_behavior IN ('revoke_least_recently_used', 'refuse'));
