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

/// Every column of `webhook_endpoints e`, aliased `e_*` (the secrets as JSON text).
macro_rules! webhook_endpoint_columns {
    () => {
        "e.id AS e_id, e.url AS e_url, e.description AS e_description, \
         e.event_types AS e_event_types, e.organization_id AS e_organization_id, \
         e.enabled AS e_enabled, e.disabled_reason AS e_disabled_reason, \
         e.secrets::text AS e_secrets, e.created_at AS e_created_at, \
         e.updated_at AS e_updated_at, e.failing_since AS e_failing_since, \
         e.last_sequence AS e_last_sequence"
    };
}

/// The columns of `webhook_deliveries d` a `Delivery` holds, aliased `d_*`, then those of its
/// event `events ev`, aliased `ev_*` (the payload as JSON text).
macro_rules! webhook_delivery_columns {
    () => {
        "d.id AS d_id, d.endpoint_id AS d_endpoint_id, d.status AS d_status, \
         d.attempts AS d_attempts, d.next_attempt_at AS d_next_attempt_at, \
         d.last_attempt_at AS d_last_attempt_at, d.last_status AS d_last_status, \
         d.last_error AS d_last_error, d.created_at AS d_created_at, \
         ev.sequence AS ev_sequence, ev.id AS ev_id, ev.type AS ev_type, \
         ev.occurred_at AS ev_occurred_at, ev.organization_id AS ev_organization_id, \
         ev.member_id AS ev_member_id, ev.session_id AS ev_session_id, \
         ev.actor_type AS ev_actor_type, ev.actor_id AS ev_actor_id, \
         ev.request_id AS ev_request_id, ev.ip_address AS ev_ip_address, \
         ev.user_agent AS ev_user_agent, ev.payload::text AS ev_payload"
    };
}
