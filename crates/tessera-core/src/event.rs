//! The audit log: what happened to organizations, members, sessions and the deployment's
//! credentials, by whom, from where.
//!
//! An [`EventRecord`] is made by the service before a write and appended by the store **in the
//! transaction of that write**, so the log holds an event exactly when the change it records
//! happened. The store gives each its [`Event::sequence`], monotonic in commit order. Events are
//! append-only; their ids of organizations, members and sessions are plain values (no foreign
//! key), so deleting an organization erases none of its history.
//!
//! A payload never holds a session token, a JWT or a secret: only ids, counts, reasons, field
//! names and the values of fields that are not credentials.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    error::{Error, echo},
    id::{MemberId, OrganizationId, SessionId},
};

/// The id of one event: a UUIDv7, so that ids sort by time like every other id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

impl EventId {
    /// A new time-ordered id for an event that happens at `now`.
    pub fn generate<R: CryptoRng + ?Sized>(now: DateTime<Utc>, rng: &mut R) -> Self {
        let mut random = [0u8; 10];
        rng.fill_bytes(&mut random);
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        Self(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    /// The id of the `n`th event that the store derives from this one inside the same write (a
    /// session that a session limit revoked, a refusal by the limit). Deterministic, so that a
    /// store needs no random source, and distinct from this id and from every other `n`: the
    /// timestamp is kept, the random bits are this id's mixed with `n + 1`.
    pub fn derived(&self, n: u16) -> Self {
        let mut bytes = *self.0.as_bytes();
        let [high, low] = (n.wrapping_add(1)).to_be_bytes();
        // Bytes 8 and 9 hold the variant bits and random bits; 14 and 15 are random only.
        bytes[14] ^= high;
        bytes[15] ^= low;
        Self(Uuid::from_bytes(bytes))
    }

    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0.hyphenated())
    }
}

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)+) => {
        /// What an event records. The wire strings are `object.action`, stable once published
        /// (Standard Webhooks' `type`: dot-separated `[a-z_]`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $($(#[$doc])* $variant,)+
        }

        impl EventType {
            /// Every type, in the order of this list.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }
    };
}

event_types! {
    OrganizationCreated => "organization.created",
    /// The payload names the fields that changed (`changed`).
    OrganizationUpdated => "organization.updated",
    OrganizationDeleted => "organization.deleted",
    MemberCreated => "member.created",
    /// The payload names the fields that changed (`changed`).
    MemberUpdated => "member.updated",
    /// The payload holds the roles before and after.
    MemberRolesChanged => "member.roles_changed",
    MemberDeleted => "member.deleted",
    /// The payload says how (`method`: `api`, `polar` or `exchange`) and with which factors.
    SessionCreated => "session.created",
    /// A step-up: a factor was added and the token replaced.
    SessionTokenRotated => "session.token_rotated",
    /// Recorded only when the deployment opts in (one per extending authenticate).
    SessionExtended => "session.extended",
    /// The payload says the scope (`session`, `member`, `organization`, `deployment`), the
    /// reason, and for the wide scopes how many (`revoked_count`).
    SessionRevoked => "session.revoked",
    /// The payload names the new session and its organization.
    SessionExchanged => "session.exchanged",
    /// A sign-in refused by the organization's session limit.
    SessionLimitDenied => "session.limit_denied",
    /// Recorded only when the deployment opts in: one per purge run, with the count.
    SessionsPurged => "session.purged",
    ApiSecretRotated => "api_secret.rotated",
    SigningKeyRotated => "signing_key.rotated",
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::InvalidEventType { value: echo(s) })
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A caller holding the project's credentials (the host application's backend).
    Project,
    /// A member acting through their own session (e.g. revoking it, or stepping up).
    Member(MemberId),
    /// The operator, through the `tessera` command line.
    Operator,
    /// Tessera itself: a session limit, a purge, a key rotation on schedule.
    System,
}

impl Actor {
    /// The stored kind: `project`, `member`, `operator`, `system`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Member(_) => "member",
            Self::Operator => "operator",
            Self::System => "system",
        }
    }

    /// The actor from its stored kind and id; `None` for an unknown kind or a member without id.
    pub fn from_stored(kind: &str, member: Option<MemberId>) -> Option<Self> {
        match (kind, member) {
            ("project", _) => Some(Self::Project),
            ("member", Some(id)) => Some(Self::Member(id)),
            ("operator", _) => Some(Self::Operator),
            ("system", _) => Some(Self::System),
            _ => None,
        }
    }

    pub const fn member_id(&self) -> Option<MemberId> {
        match self {
            Self::Member(id) => Some(*id),
            _ => None,
        }
    }
}

/// The longest request id, IP address or user agent an event keeps (longer ones are cut, on a
/// character boundary: a log must not be a way to store unbounded input).
pub const EVENT_CONTEXT_MAX_CHARS: usize = 512;

/// Where a request came from, as far as Tessera knows it. Every field is optional: an operator
/// command or a purge has none of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// A context from untrusted values, each cut to [`EVENT_CONTEXT_MAX_CHARS`] characters.
    pub fn new(
        request_id: Option<&str>,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
    ) -> Self {
        let bounded = |s: Option<&str>| {
            s.filter(|s| !s.is_empty()).map(|s| s.chars().take(EVENT_CONTEXT_MAX_CHARS).collect())
        };
        Self {
            request_id: bounded(request_id),
            ip_address: bounded(ip_address),
            user_agent: bounded(user_agent),
        }
    }
}

/// An event about to be appended: everything but its sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// UTC, microsecond precision (what every backend stores).
    pub occurred_at: DateTime<Utc>,
    pub organization_id: Option<OrganizationId>,
    pub member_id: Option<MemberId>,
    pub session_id: Option<SessionId>,
    pub actor: Actor,
    #[serde(flatten)]
    pub request: RequestContext,
    /// A JSON object; never a token, a JWT or a secret.
    pub payload: Value,
}

impl EventRecord {
    /// An event of `event_type` at `now`, with an empty payload and no subject yet.
    pub fn new<R: CryptoRng + ?Sized>(
        event_type: EventType,
        now: DateTime<Utc>,
        rng: &mut R,
        actor: Actor,
        request: RequestContext,
    ) -> Self {
        Self {
            id: EventId::generate(now, rng),
            event_type,
            occurred_at: now,
            organization_id: None,
            member_id: None,
            session_id: None,
            actor,
            request,
            payload: Value::Object(Map::new()),
        }
    }

    pub fn organization(mut self, id: OrganizationId) -> Self {
        self.organization_id = Some(id);
        self
    }

    pub fn member(mut self, id: MemberId) -> Self {
        self.member_id = Some(id);
        self
    }

    pub fn session(mut self, id: SessionId) -> Self {
        self.session_id = Some(id);
        self
    }

    /// Sets one field of the payload.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Value::Object(map) = &mut self.payload {
            map.insert(key.to_owned(), value.into());
        }
        self
    }

    /// The `n`th event a store derives from this one in the same write: same time, actor,
    /// request and organization, the type and session given, the payload `{"reason": …}`.
    pub fn derived(
        &self,
        n: u16,
        event_type: EventType,
        session_id: Option<SessionId>,
        reason: &str,
    ) -> Self {
        Self {
            id: self.id.derived(n),
            event_type,
            occurred_at: self.occurred_at,
            organization_id: self.organization_id,
            member_id: self.member_id,
            session_id,
            actor: self.actor,
            request: self.request.clone(),
            payload: Value::Object(Map::new()),
        }
        .with("reason", reason)
    }
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log: strictly increasing in commit order, so a reader that remembers the
    /// last one it saw misses nothing that commits later.
    pub sequence: u64,
    #[serde(flatten)]
    pub record: EventRecord,
}

/// Which events a listing returns: every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub organization_id: Option<OrganizationId>,
    pub member_id: Option<MemberId>,
    pub session_id: Option<SessionId>,
    /// Any of these types (empty: every type).
    pub types: Vec<EventType>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Strictly before.
    pub until: Option<DateTime<Utc>>,
    /// The cursor: only events with a greater sequence.
    pub after_sequence: Option<u64>,
}

impl EventFilter {
    /// Whether `event` passes this filter (the memory store's rule; the SQL stores say it in SQL).
    pub fn matches(&self, event: &Event) -> bool {
        let r = &event.record;
        self.after_sequence.is_none_or(|after| event.sequence > after)
            && self.organization_id.is_none_or(|id| r.organization_id == Some(id))
            && self.member_id.is_none_or(|id| r.member_id == Some(id))
            && self.session_id.is_none_or(|id| r.session_id == Some(id))
            && (self.types.is_empty() || self.types.contains(&r.event_type))
            && self.since.is_none_or(|t| r.occurred_at >= t)
            && self.until.is_none_or(|t| r.occurred_at < t)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::error::ErrorType;

    fn record(rng: &mut StdRng) -> EventRecord {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        EventRecord::new(
            EventType::SessionCreated,
            now,
            rng,
            Actor::Project,
            RequestContext::default(),
        )
    }

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(seen.insert(t.as_str()), "{t} twice");
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
            assert!(t.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'));
        }
        let err = "session.hijacked".parse::<EventType>().unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidEventType);
    }

    #[test]
    fn derived_ids_differ_from_the_parent_and_from_each_other_and_keep_the_time() {
        let mut rng = StdRng::seed_from_u64(1);
        let parent = record(&mut rng);
        let ids: std::collections::HashSet<_> =
            (0..1000).map(|n| parent.id.derived(n)).chain([parent.id]).collect();
        assert_eq!(ids.len(), 1001);
        let child = parent.id.derived(3);
        assert_eq!(child.as_uuid().get_version_num(), 7);
        assert_eq!(child.as_uuid().get_timestamp(), parent.id.as_uuid().get_timestamp());
    }

    #[test]
    fn request_context_is_bounded() {
        let long = "a".repeat(10_000);
        let context = RequestContext::new(Some(&long), Some(""), None);
        assert_eq!(context.request_id.unwrap().chars().count(), EVENT_CONTEXT_MAX_CHARS);
        assert_eq!(context.ip_address, None);
    }

    #[test]
    fn actor_round_trips_through_its_stored_form() {
        let member = MemberId::parse("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b").unwrap();
        for actor in [Actor::Project, Actor::Member(member), Actor::Operator, Actor::System] {
            assert_eq!(Actor::from_stored(actor.kind(), actor.member_id()), Some(actor));
        }
        assert_eq!(Actor::from_stored("member", None), None);
        assert_eq!(Actor::from_stored("root", None), None);
    }

    #[test]
    fn filters_combine() {
        let mut rng = StdRng::seed_from_u64(2);
        let org = OrganizationId::generate(Utc::now(), &mut rng);
        let event = Event { sequence: 5, record: record(&mut rng).organization(org) };
        assert!(EventFilter::default().matches(&event));
        assert!(EventFilter { organization_id: Some(org), ..Default::default() }.matches(&event));
        assert!(!EventFilter { after_sequence: Some(5), ..Default::default() }.matches(&event));
        assert!(
            !EventFilter { types: vec![EventType::SessionRevoked], ..Default::default() }
                .matches(&event)
        );
        let member = MemberId::generate(Utc::now(), &mut rng);
        assert!(!EventFilter { member_id: Some(member), ..Default::default() }.matches(&event));
    }
}
