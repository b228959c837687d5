-- Tessera schema, version 4: a limit on the live sessions of a member per organization.
--
-- NULL: no limit. The behaviour at the limit is `revoke_least_recently_used` or `refuse`.
ALTER TABLE organizations ADD COLUMN max_sessions_per_member integer
    CONSTRAINT organizations_max_sessions_bounds
    CHECK (max_sessions_per_member IS NULL OR max_sessions_per_member BETWEEN 1 AND 1000);
ALTER TABLE organizations ADD COLUMN session_limit_behavior text
    CONSTRAINT organizations_session_limit_behavior_known
    CHECK (session_limit_behavior IS NULL
           OR session_limit_behavior IN ('revoke_least_recently_used', 'refuse'));
