//! What every backend adds to the events a write is given, in one place: the events only the
//! store can know (how many a wide revoke ended; what a session limit did), and the row form of
//! an event that both SQL backends store.

use tessera_core::{EventRecord, EventType, SessionId};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use self::row::EventRow;
use crate::error::{StoreError, StoreResult};

/// The reason a session limit gives in the events it derives.
const SESSION_LIMIT: &str = "session_limit";

/// `events` with the count of a wide revoke in each payload (`revoked_count`).
pub(crate) fn counted(events: &[EventRecord], revoked: u64) -> Vec<EventRecord> {
    events.iter().map(|e| e.clone().with("revoked_count", revoked)).collect()
}

/// The sign-in's `session.created` event, from which a session limit derives its events.
fn sign_in(events: &[EventRecord]) -> Option<&EventRecord> {
    events.iter().find(|e| e.event_type == EventType::SessionCreated)
}

/// `events`, then a `session.revoked` for each session a session limit revoked to make room.
pub(crate) fn with_limit_revocations(
    events: &[EventRecord],
    revoked: &[SessionId],
) -> Vec<EventRecord> {
    let mut all = events.to_vec();
    if let Some(created) = sign_in(events) {
        all.extend(revoked.iter().zip(0u16..).map(|(id, n)| {
            created
                .derived(n, EventType::SessionRevoked, Some(*id), SESSION_LIMIT)
                .with("scope", "session")
        }));
    }
    all
}

/// What a sign-in refused by a session limit leaves in the log: a `session.limit_denied`
/// derived from its `session.created` event (none if it had none).
pub(crate) fn limit_denial(events: &[EventRecord], limit: u32) -> Vec<EventRecord> {
    sign_in(events)
        .map(|created| {
            let mut denied = created.derived(0, EventType::SessionLimitDenied, None, SESSION_LIMIT);
            denied.payload = created.payload.clone();
            vec![denied.with("reason", SESSION_LIMIT).with("limit", limit)]
        })
        .unwrap_or_default()
}

/// The limit of a sign-in that its organization's session limit refused, if `result` is that
/// refusal: the write rolled back, and the backend then appends [`limit_denial`] on its own.
pub(crate) fn refused_by_limit<T>(result: &StoreResult<T>) -> Option<u32> {
    match result {
        Err(StoreError::Rejected(tessera_core::Error::SessionLimitReached { limit })) => {
            Some(*limit)
        }
        _ => None,
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row {
    use chrono::{DateTime, Utc};
    use tessera_core::{
        Actor, Event, EventId, EventRecord, EventType, MemberId, OrganizationId, RequestContext,
        SessionId,
    };
    use uuid::Uuid;

    use crate::error::{StoreError, StoreResult};

    /// An event as both SQL backends store it: one column each, ids as UUIDs, the actor as kind and
    /// member id, the payload as JSON text.
    #[derive(Debug)]
    pub(crate) struct EventRow {
        pub(crate) sequence: i64,
        pub(crate) id: Uuid,
        pub(crate) event_type: String,
        pub(crate) occurred_at: DateTime<Utc>,
        pub(crate) organization_id: Option<Uuid>,
        pub(crate) member_id: Option<Uuid>,
        pub(crate) session_id: Option<Uuid>,
        pub(crate) actor_type: String,
        pub(crate) actor_id: Option<Uuid>,
        pub(crate) request_id: Option<String>,
        pub(crate) ip_address: Option<String>,
        pub(crate) user_agent: Option<String>,
        pub(crate) payload: String,
    }

    impl EventRow {
        /// The one conversion from stored columns into the domain type; a damaged row is `Corrupt`.
        pub(crate) fn into_event(self) -> StoreResult<Event> {
            let corrupt = |what: &str| StoreError::corrupt("events", format!("unreadable {what}"));
            let event_type = self.event_type.parse::<EventType>().map_err(|_| corrupt("type"))?;
            let actor =
                Actor::from_stored(&self.actor_type, self.actor_id.map(MemberId::from_uuid))
                    .ok_or_else(|| corrupt("actor"))?;
            let payload = serde_json::from_str(&self.payload).map_err(|_| corrupt("payload"))?;
            Ok(Event {
                sequence: u64::try_from(self.sequence).map_err(|_| corrupt("sequence"))?,
                record: EventRecord {
                    id: EventId::from_uuid(self.id),
                    event_type,
                    occurred_at: self.occurred_at,
                    organization_id: self.organization_id.map(OrganizationId::from_uuid),
                    member_id: self.member_id.map(MemberId::from_uuid),
                    session_id: self.session_id.map(SessionId::from_uuid),
                    actor,
                    request: RequestContext {
                        request_id: self.request_id,
                        ip_address: self.ip_address,
                        user_agent: self.user_agent,
                    },
                    payload,
                },
            })
        }
    }
}
