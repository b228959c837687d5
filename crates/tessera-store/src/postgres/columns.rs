//! Column lists and SQL fragments shared by the queries, as macros expanding to string literals
//! so that every query is one `concat!`-ed `&'static str` (no SQL is built at run time).
//!
//! Columns are aliased with a table prefix (`o_`, `m_`, `s_`) so that a joined row can be decoded
//! by name ([`super::rows`]). The queries alias the tables `o`, `m` and `s`.

/// Every column of `organizations o`.
macro_rules! organization_columns {
    () => {
        "o.id AS o_id, o.slug AS o_slug, o.external_id AS o_external_id, o.name AS o_name, \
         o.email AS o_email, o.trusted_metadata AS o_trusted_metadata, \
         o.mfa_policy AS o_mfa_policy, o.max_lifetime_minutes AS o_max_lifetime_minutes, \
         o.idle_timeout_minutes AS o_idle_timeout_minutes, o.created_at AS o_created_at, \
         o.updated_at AS o_updated_at, o.max_sessions_per_member AS o_max_sessions_per_member, \
         o.session_limit_behavior AS o_session_limit_behavior"
    };
}

/// Every column of `members m`.
macro_rules! member_columns {
    () => {
        "m.id AS m_id, m.organization_id AS m_organization_id, \
         m.email_address AS m_email_address, m.name AS m_name, m.external_id AS m_external_id, \
         m.roles AS m_roles, m.trusted_metadata AS m_trusted_metadata, \
         m.untrusted_metadata AS m_untrusted_metadata, m.created_at AS m_created_at, \
         m.updated_at AS m_updated_at"
    };
}

/// Every column of `sessions s` but the token hash (a [`tessera_core::MemberSession`] has none).
macro_rules! session_columns {
    () => {
        "s.id AS s_id, s.organization_id AS s_organization_id, s.member_id AS s_member_id, \
         s.started_at AS s_started_at, s.last_accessed_at AS s_last_accessed_at, \
         s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, \
         s.authentication_factors AS s_authentication_factors, \
         s.custom_claims AS s_custom_claims, s.attributes AS s_attributes, \
         s.return_url AS s_return_url, s.updated_at AS s_updated_at, \
         s.token_generation AS s_token_generation"
    };
}

/// The session `s` of organization `o` is active at `$now` (a placeholder such as `"$3"`): not
/// revoked, before its expiry, within the organization's absolute lifetime and, if the
/// organization has one, its idle timeout. The same rule as `SessionTimes::status`, in SQL, so
/// that conditional writes never revive a session that has ended.
macro_rules! session_active_at {
    ($now:literal) => {
        concat!(
            "s.revoked_at IS NULL AND s.expires_at > ",
            $now,
            " AND s.started_at + make_interval(mins => o.max_lifetime_minutes) > ",
            $now,
            " AND (o.idle_timeout_minutes IS NULL \
             OR s.last_accessed_at + make_interval(mins => o.idle_timeout_minutes) > ",
            $now,
            ")"
        )
    };
}
