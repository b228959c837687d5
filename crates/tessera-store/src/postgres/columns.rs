//! SQL fragments shared by the queries, as macros expanding to string literals so that every
//! query is one `concat!`-ed `&'static str` (no SQL is built at run time). The columns of
//! organizations, members and sessions are those of the row model ([`crate::row`]), read by
//! position; the queries alias the tables `o`, `m` and `s`. Webhook and event columns are
//! aliased with a table prefix (`e_`, `d_`, `ev_`) and read by name.

/// The session `s` of organization `o` is active at `$now` (a placeholder such as `"$3"`), by the
/// rule of [`crate::row`], so that conditional writes never revive a session that has ended.
macro_rules! session_active_at {
    ($now:literal) => {
        concat!(
            $crate::row::session_live_at!("s.", $now),
            " AND ",
            $crate::row::session_within_policy_at!(postgres, "s.", "o.", $now)
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
