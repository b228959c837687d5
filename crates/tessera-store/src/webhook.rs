//! What the store keeps for webhook delivery: endpoints, and one delivery per event and endpoint.
//!
//! The audit log (`events`) is the outbox. Every change appends its events in its own
//! transaction with a commit-ordered sequence; [`fan_out`] walks each endpoint's cursor
//! ([`WebhookEndpoint::last_sequence`]) along that sequence and inserts a pending [`Delivery`]
//! for each event the endpoint wants ([`WebhookEndpoint::wants`], the one filter rule every
//! backend applies); dispatchers [`claim_deliveries`] under a lease, send them (signing and
//! HTTP are `tessera-webhooks`'), and [`record_attempt`]. A dispatcher that dies between sending
//! and recording lets its lease run out, and the delivery is claimed again with the same id:
//! delivery is at least once, and receivers drop duplicates by that id.
//!
//! [`fan_out`]: crate::WebhookRepository::fan_out
//! [`claim_deliveries`]: crate::WebhookRepository::claim_deliveries
//! [`record_attempt`]: crate::WebhookRepository::record_attempt

use std::fmt;

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use tessera_core::{Event, EventType, OrganizationId};
use uuid::Uuid;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use self::row::{DeliveryRow, EndpointRow, live_secrets, secrets_json};

/// The longest error text or disable reason a store keeps, in characters (longer ones are cut
/// on a character boundary): a receiver's answer must not be a way to fill the database.
pub const MAX_STORED_ERROR_CHARS: usize = 500;

/// Why an endpoint that answered `410 Gone` is disabled ([`AttemptRecord::Gone`]).
pub const GONE_REASON: &str = "the endpoint answered 410 Gone";

/// The error a delivery is dead with when its event was purged (by the audit log's retention)
/// before it could be sent.
pub const EVENT_PURGED: &str = "the event was purged before delivery";

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
/// `text` cut to [`MAX_STORED_ERROR_CHARS`] characters.
pub(crate) fn bounded(text: &str) -> String {
    text.chars().take(MAX_STORED_ERROR_CHARS).collect()
}

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
/// The end of a lease taken at `now`: at least a microsecond later (so that a claim never
/// takes what it has just leased again), at most the last representable instant.
pub(crate) fn lease_until(now: DateTime<Utc>, lease: chrono::TimeDelta) -> DateTime<Utc> {
    now.checked_add_signed(lease.max(chrono::TimeDelta::microseconds(1)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A UUIDv7 from `now` and the caller's random source (as the core's ids are made).
fn uuid_v7<R: CryptoRng + ?Sized>(now: DateTime<Utc>, rng: &mut R) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    // Times before the epoch cannot be encoded in a UUIDv7; they do not occur outside tests.
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (e.g. one read back from storage or parsed from a path).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// A webhook endpoint: a UUIDv7, so that endpoints sort by creation like every other id.
    WebhookEndpointId
);
uuid_id!(
    /// One delivery: one event for one endpoint, the same on every attempt (a receiver's
    /// duplicate key). Made by the store from the event's and the endpoint's ids, never by a
    /// caller.
    DeliveryId
);

impl WebhookEndpointId {
    /// A new time-ordered id for an endpoint created at `now`.
    pub fn generate<R: CryptoRng + ?Sized>(now: DateTime<Utc>, rng: &mut R) -> Self {
        Self(uuid_v7(now, rng))
    }
}

impl DeliveryId {
    #[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
    /// The id of the delivery of `event` to `endpoint`: the event's id (a UUIDv7) with its
    /// random bits mixed with the endpoint's. Deterministic, so that a store needs no random
    /// source and fanning one event out to one endpoint twice names the same delivery; a UUIDv7
    /// with the event's time, so that deliveries listed in id order are in event time order.
    /// Distinct for the events of one endpoint (a fixed XOR is a bijection), and for the
    /// endpoints of one event unless two endpoint ids share their 74 random bits.
    pub(crate) fn of(endpoint: WebhookEndpointId, event: tessera_core::EventId) -> Self {
        let mut bytes = *event.as_uuid().as_bytes();
        let mix = endpoint.as_uuid().as_bytes();
        for i in 6..16 {
            // The version nibble (byte 6) and the variant bits (byte 8) stay the event's.
            let mask = match i {
                6 => 0x0F,
                8 => 0x3F,
                _ => 0xFF,
            };
            bytes[i] ^= mix[i] & mask;
        }
        Self(Uuid::from_bytes(bytes))
    }
}

/// One signing secret of an endpoint.
///
/// `secret` is the `whsec_…` text, kept in clear because every attempt is signed with it
/// (`tessera-webhooks` parses it); `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecret {
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// From this instant on the secret no longer signs. During a rotation the old secret keeps
    /// signing until then (each attempt carries one signature per secret), so that receivers can
    /// switch to the new one without missing a message.
    pub expires_at: Option<DateTime<Utc>>,
}

impl EndpointSecret {
    /// Whether the secret still signs at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointSecret")
            .field("secret", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where and what to deliver. `Debug` redacts the secrets (through [`EndpointSecret`]'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    /// As checked by `tessera-webhooks` (`WebhookUrl`) before it was stored.
    pub url: String,
    pub description: Option<String>,
    /// The event types delivered; empty: every type.
    pub event_types: Vec<EventType>,
    /// Only events of this organization; `None`: every event, those without an organization
    /// (deployment-wide ones) included. An endpoint with this filter never gets the latter.
    pub organization_id: Option<OrganizationId>,
    /// A disabled endpoint is neither fanned out to (its cursor waits: after re-enabling it gets
    /// what happened meanwhile, within the audit log's retention) nor are its deliveries claimed.
    pub enabled: bool,
    /// Why the endpoint was disabled by the store or a dispatcher ([`GONE_REASON`], "failing for
    /// 5 days"); cleared when it is enabled again.
    pub disabled_reason: Option<String>,
    /// Every attempt is signed with each secret that is live at its time.
    pub secrets: Vec<EndpointSecret>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Since when attempts have failed without a success in between (a dispatcher disables an
    /// endpoint failing for too long); `None` while it is healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// The fan-out cursor: every event with a sequence up to this one has been considered.
    /// Set by the store: [`create_endpoint`](crate::WebhookRepository::create_endpoint) starts
    /// it at the newest event, so that an endpoint gets only what happens after its creation.
    pub last_sequence: u64,
}

impl WebhookEndpoint {
    /// Whether this endpoint wants an event of `event_type` about `organization_id`: the one
    /// filter rule, applied by every backend's fan-out (the SQL ones read each batch of events
    /// and filter it here).
    pub fn wants(&self, event_type: EventType, organization_id: Option<OrganizationId>) -> bool {
        (self.event_types.is_empty() || self.event_types.contains(&event_type))
            && self.organization_id.is_none_or(|wanted| organization_id == Some(wanted))
    }

    /// The secrets that sign at `now`, oldest first.
    pub fn live_secrets(&self, now: DateTime<Utc>) -> Vec<EndpointSecret> {
        self.secrets.iter().filter(|s| s.is_live(now)).cloned().collect()
    }

    #[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
    /// The secrets after a rotation at `now` to `new`: those already expired are dropped, the
    /// others expire at `old_expires_at` (or earlier, if they were to expire earlier already: a
    /// rotation never extends a secret's life), and `new` is added last.
    pub(crate) fn rotated_secrets(
        &self,
        new: EndpointSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<EndpointSecret> {
        let mut secrets: Vec<EndpointSecret> = self
            .secrets
            .iter()
            .filter(|s| s.is_live(now))
            .map(|s| EndpointSecret {
                expires_at: Some(s.expires_at.map_or(old_expires_at, |at| at.min(old_expires_at))),
                ..s.clone()
            })
            .collect();
        secrets.push(new);
        secrets
    }
}

/// A change to some fields of an endpoint: `None` leaves a field as it is; for optional fields,
/// `Some(None)` clears it. Applied by the store to the endpoint as stored, in one transaction,
/// like `OrganizationUpdate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<EventType>>,
    pub organization_id: Option<Option<OrganizationId>>,
    /// `Some(true)` on a disabled endpoint enables it again and clears its `disabled_reason` and
    /// `failing_since` (a fresh start); `Some(false)` disables it (keeping a reason it has).
    pub enabled: Option<bool>,
}

impl EndpointUpdate {
    /// Applies the named fields to `endpoint`, and `updated_at = now`.
    pub fn apply_to(&self, endpoint: &mut WebhookEndpoint, now: DateTime<Utc>) {
        let Self { url, description, event_types, organization_id, enabled } = self;
        if let Some(url) = url {
            endpoint.url = url.clone();
        }
        if let Some(description) = description {
            endpoint.description = description.clone();
        }
        if let Some(types) = event_types {
            endpoint.event_types = types.clone();
        }
        if let Some(organization_id) = organization_id {
            endpoint.organization_id = *organization_id;
        }
        match enabled {
            Some(true) if !endpoint.enabled => {
                endpoint.enabled = true;
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
            Some(false) => endpoint.enabled = false,
            _ => {}
        }
        endpoint.updated_at = now;
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// To be sent at `next_attempt_at` (or being sent, under a dispatcher's lease).
    Pending,
    /// An attempt got a 2xx. Final.
    Delivered,
    /// No attempt left, the endpoint is gone, or the event was purged: the dead-letter list.
    /// [`retry_delivery`](crate::WebhookRepository::retry_delivery) makes it pending again.
    Dead,
}

impl DeliveryStatus {
    /// The stored and wire form: `pending`, `delivered`, `dead`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// The status named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead].into_iter().find(|status| status.as_str() == s)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event for one endpoint, with what its attempts so far gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    /// Read from the audit log (the delivery keeps only its sequence).
    pub event: Event,
    pub attempts: u32,
    pub status: DeliveryStatus,
    /// When a pending delivery is due.
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, at most [`MAX_STORED_ERROR_CHARS`] characters.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A delivery a dispatcher has claimed, with what it needs to send it. `Debug` redacts the
/// secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub url: String,
    /// The endpoint's secrets that are live at the claim's `now`, oldest first: sign with each.
    pub secrets: Vec<EndpointSecret>,
}

/// What a dispatcher reports after one attempt
/// ([`record_attempt`](crate::WebhookRepository::record_attempt)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptRecord {
    /// A 2xx: the delivery is delivered, and the endpoint no longer failing.
    Delivered { status: u16 },
    /// A failure with attempts left: pending again, due at `next_attempt_at`.
    Retry { status: Option<u16>, error: String, next_attempt_at: DateTime<Utc> },
    /// A failure with no attempt left: dead.
    Dead { status: Option<u16>, error: String },
    /// `410 Gone`: the delivery is dead and the endpoint disabled ([`GONE_REASON`]).
    Gone { status: u16 },
}

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
/// What an [`AttemptRecord`] does to its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointEffect {
    /// Clear `failing_since`.
    Recovered,
    /// Set `failing_since` to the attempt's time, unless it is set.
    Failing,
    /// [`Self::Failing`], and disable the endpoint with [`GONE_REASON`].
    Gone,
}

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
/// What an [`AttemptRecord`] writes to its delivery (besides `attempts + 1`, `last_attempt_at`
/// and the lease cleared), the same on every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptOutcome {
    pub(crate) status: DeliveryStatus,
    /// The new `next_attempt_at`; `None` keeps it.
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    pub(crate) last_status: Option<u16>,
    /// Bounded to [`MAX_STORED_ERROR_CHARS`].
    pub(crate) last_error: Option<String>,
    pub(crate) endpoint: EndpointEffect,
}

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
impl AttemptRecord {
    pub(crate) fn outcome(&self) -> AttemptOutcome {
        match self {
            Self::Delivered { status } => AttemptOutcome {
                status: DeliveryStatus::Delivered,
                next_attempt_at: None,
                last_status: Some(*status),
                last_error: None,
                endpoint: EndpointEffect::Recovered,
            },
            Self::Retry { status, error, next_attempt_at } => AttemptOutcome {
                status: DeliveryStatus::Pending,
                next_attempt_at: Some(*next_attempt_at),
                last_status: *status,
                last_error: Some(bounded(error)),
                endpoint: EndpointEffect::Failing,
            },
            Self::Dead { status, error } => AttemptOutcome {
                status: DeliveryStatus::Dead,
                next_attempt_at: None,
                last_status: *status,
                last_error: Some(bounded(error)),
                endpoint: EndpointEffect::Failing,
            },
            Self::Gone { status } => AttemptOutcome {
                status: DeliveryStatus::Dead,
                next_attempt_at: None,
                last_status: Some(*status),
                last_error: Some(GONE_REASON.to_owned()),
                endpoint: EndpointEffect::Gone,
            },
        }
    }
}

/// Which deliveries a listing returns: every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<WebhookEndpointId>,
    /// `Some(Dead)`: the dead-letter list.
    pub status: Option<DeliveryStatus>,
    /// The cursor: only deliveries with a greater id.
    pub after: Option<DeliveryId>,
}

impl DeliveryFilter {
    #[cfg(feature = "memory")]
    /// Whether a delivery passes this filter (the memory store's rule; the SQL stores say it in
    /// SQL).
    pub(crate) fn matches(
        &self,
        id: DeliveryId,
        endpoint_id: WebhookEndpointId,
        status: DeliveryStatus,
    ) -> bool {
        self.endpoint_id.is_none_or(|wanted| wanted == endpoint_id)
            && self.status.is_none_or(|wanted| wanted == status)
            && self.after.is_none_or(|after| id > after)
    }
}

/// The deliveries waiting to be sent, for gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Pending deliveries of enabled endpoints that are due (`next_attempt_at <= now`), those
    /// being sent under a lease included; retries scheduled later are not counted yet.
    pub pending: u64,
    /// The earliest `next_attempt_at` among them: `now` minus it is how long the oldest has
    /// waited.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use tessera_core::{Event, EventType, OrganizationId};
    use uuid::Uuid;

    use super::{
        Delivery, DeliveryId, DeliveryStatus, EndpointSecret, WebhookEndpoint, WebhookEndpointId,
    };
    use crate::error::{StoreError, StoreResult};

    const ENDPOINTS: &str = "webhook_endpoints";
    const DELIVERIES: &str = "webhook_deliveries";

    /// A secret as both SQL backends store it in the `secrets` JSON array: instants as integer
    /// microseconds since the Unix epoch.
    #[derive(Serialize, Deserialize)]
    struct StoredSecret {
        secret: String,
        created_at: i64,
        expires_at: Option<i64>,
    }

    /// The `secrets` column of an endpoint.
    pub(crate) fn secrets_json(secrets: &[EndpointSecret]) -> StoreResult<String> {
        let stored: Vec<StoredSecret> = secrets
            .iter()
            .map(|s| StoredSecret {
                secret: s.secret.clone(),
                created_at: s.created_at.timestamp_micros(),
                expires_at: s.expires_at.map(|at| at.timestamp_micros()),
            })
            .collect();
        serde_json::to_string(&stored)
            .map_err(|e| StoreError::corrupt_with(ENDPOINTS, "cannot encode secrets as JSON", e))
    }

    /// The secrets of a `secrets` column that are live at `now` (what a claim hands out).
    pub(crate) fn live_secrets(text: &str, now: DateTime<Utc>) -> StoreResult<Vec<EndpointSecret>> {
        Ok(secrets_from_json(text)?.into_iter().filter(|s| s.is_live(now)).collect())
    }

    fn secrets_from_json(text: &str) -> StoreResult<Vec<EndpointSecret>> {
        // The serde error could quote the text, a secret: keep only its position.
        let stored: Vec<StoredSecret> = serde_json::from_str(text).map_err(|e| {
            StoreError::corrupt(
                ENDPOINTS,
                format!(
                    "column secrets: not a list of secrets (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let instant = |us: i64| {
            DateTime::from_timestamp_micros(us).ok_or_else(|| {
                StoreError::corrupt(ENDPOINTS, "column secrets: instant out of range")
            })
        };
        stored
            .into_iter()
            .map(|s| {
                Ok(EndpointSecret {
                    secret: s.secret,
                    created_at: instant(s.created_at)?,
                    expires_at: s.expires_at.map(instant).transpose()?,
                })
            })
            .collect()
    }

    /// An endpoint as both SQL backends store it: the event types as their wire strings, the
    /// secrets as JSON text ([`secrets_json`]).
    #[derive(Debug)]
    pub(crate) struct EndpointRow {
        pub(crate) id: Uuid,
        pub(crate) url: String,
        pub(crate) description: Option<String>,
        pub(crate) event_types: Vec<String>,
        pub(crate) organization_id: Option<Uuid>,
        pub(crate) enabled: bool,
        pub(crate) disabled_reason: Option<String>,
        pub(crate) secrets: String,
        pub(crate) created_at: DateTime<Utc>,
        pub(crate) updated_at: DateTime<Utc>,
        pub(crate) failing_since: Option<DateTime<Utc>>,
        pub(crate) last_sequence: i64,
    }

    impl EndpointRow {
        /// The one conversion from stored columns into the domain type; a damaged row is
        /// `Corrupt`.
        pub(crate) fn into_endpoint(self) -> StoreResult<WebhookEndpoint> {
            let corrupt = |what: &str| StoreError::corrupt(ENDPOINTS, format!("unreadable {what}"));
            let event_types = self
                .event_types
                .iter()
                .map(|t| t.parse::<EventType>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::corrupt_with(ENDPOINTS, "unreadable event_types", e))?;
            Ok(WebhookEndpoint {
                id: WebhookEndpointId::from_uuid(self.id),
                url: self.url,
                description: self.description,
                event_types,
                organization_id: self.organization_id.map(OrganizationId::from_uuid),
                enabled: self.enabled,
                disabled_reason: self.disabled_reason,
                secrets: secrets_from_json(&self.secrets)?,
                created_at: self.created_at,
                updated_at: self.updated_at,
                failing_since: self.failing_since,
                last_sequence: u64::try_from(self.last_sequence)
                    .map_err(|_| corrupt("last_sequence"))?,
            })
        }
    }

    /// A delivery's own columns, as both SQL backends store them.
    #[derive(Debug)]
    pub(crate) struct DeliveryRow {
        pub(crate) id: Uuid,
        pub(crate) endpoint_id: Uuid,
        pub(crate) status: String,
        pub(crate) attempts: i64,
        pub(crate) next_attempt_at: DateTime<Utc>,
        pub(crate) last_attempt_at: Option<DateTime<Utc>>,
        pub(crate) last_status: Option<i64>,
        pub(crate) last_error: Option<String>,
        pub(crate) created_at: DateTime<Utc>,
    }

    impl DeliveryRow {
        /// The one conversion into the domain type, with its event; a damaged row is `Corrupt`.
        pub(crate) fn into_delivery(self, event: Event) -> StoreResult<Delivery> {
            let corrupt =
                |what: &str| StoreError::corrupt(DELIVERIES, format!("unreadable {what}"));
            Ok(Delivery {
                id: DeliveryId::from_uuid(self.id),
                endpoint_id: WebhookEndpointId::from_uuid(self.endpoint_id),
                event,
                attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
                status: DeliveryStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
                next_attempt_at: self.next_attempt_at,
                last_attempt_at: self.last_attempt_at,
                last_status: self
                    .last_status
                    .map(u16::try_from)
                    .transpose()
                    .map_err(|_| corrupt("last_status"))?,
                last_error: self.last_error,
                created_at: self.created_at,
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn secrets_round_trip_and_damage_does_not_echo_them() {
            let at = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap_or_default();
            let secrets = vec![
                EndpointSecret { secret: "whsec_old".into(), created_at: at, expires_at: Some(at) },
                EndpointSecret { secret: "whsec_new".into(), created_at: at, expires_at: None },
            ];
            let text = secrets_json(&secrets).unwrap_or_default();
            assert_eq!(secrets_from_json(&text).ok(), Some(secrets));
            let damaged = r#"[{"secret": "whsec_hunter2", "created_at": "soon"}]"#;
            let error = secrets_from_json(damaged).err().map(|e| format!("{e} {e:?}"));
            assert!(error.as_deref().is_some_and(|e| !e.contains("hunter2")), "{error:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use rand::{SeedableRng, rngs::StdRng};
    use tessera_core::EventId;

    use super::*;

    fn endpoint(rng: &mut StdRng) -> WebhookEndpoint {
        let at = DateTime::from_timestamp_micros(1_780_000_000_000_000).unwrap_or_default();
        WebhookEndpoint {
            id: WebhookEndpointId::generate(at, rng),
            url: "https://hooks.example.com/tessera".into(),
            description: None,
            event_types: Vec::new(),
            organization_id: None,
            enabled: true,
            disabled_reason: None,
            secrets: vec![EndpointSecret {
                secret: "whsec_c2VjcmV0".into(),
                created_at: at,
                expires_at: None,
            }],
            created_at: at,
            updated_at: at,
            failing_since: None,
            last_sequence: 0,
        }
    }

    #[test]
    fn delivery_ids_are_v7_distinct_and_keep_the_event_time() {
        let mut rng = StdRng::seed_from_u64(3);
        let at = DateTime::from_timestamp_micros(1_780_000_000_000_000).unwrap_or_default();
        let endpoints: Vec<_> =
            (0..20).map(|_| WebhookEndpointId::generate(at, &mut rng)).collect();
        let events: Vec<_> = (0..50).map(|_| EventId::generate(at, &mut rng)).collect();
        let mut ids = std::collections::HashSet::new();
        for endpoint in &endpoints {
            for event in &events {
                let id = DeliveryId::of(*endpoint, *event);
                assert_eq!(id.as_uuid().get_version_num(), 7);
                assert_eq!(id.as_uuid().get_variant(), uuid::Variant::RFC4122);
                assert_eq!(id.as_uuid().get_timestamp(), event.as_uuid().get_timestamp());
                assert_eq!(DeliveryId::of(*endpoint, *event), id, "deterministic");
                ids.insert(id);
            }
        }
        assert_eq!(ids.len(), 20 * 50);
    }

    #[test]
    fn filters_follow_type_and_organization() {
        let mut rng = StdRng::seed_from_u64(4);
        let org = OrganizationId::generate(Utc::now(), &mut rng);
        let other = OrganizationId::generate(Utc::now(), &mut rng);
        let mut e = endpoint(&mut rng);
        assert!(e.wants(EventType::SessionCreated, None));
        assert!(e.wants(EventType::SessionCreated, Some(org)));
        e.event_types = vec![EventType::SessionRevoked];
        assert!(!e.wants(EventType::SessionCreated, Some(org)));
        assert!(e.wants(EventType::SessionRevoked, Some(org)));
        e.organization_id = Some(org);
        assert!(e.wants(EventType::SessionRevoked, Some(org)));
        assert!(!e.wants(EventType::SessionRevoked, Some(other)));
        assert!(!e.wants(EventType::SessionRevoked, None), "deployment-wide events skip it");
    }

    #[test]
    fn rotation_drops_expired_secrets_and_never_extends_one() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut e = endpoint(&mut rng);
        let now = e.created_at + TimeDelta::days(1);
        let soon = now + TimeDelta::hours(1);
        e.secrets.push(EndpointSecret {
            secret: "whsec_expired".into(),
            created_at: e.created_at,
            expires_at: Some(now),
        });
        e.secrets.push(EndpointSecret {
            secret: "whsec_expiring".into(),
            created_at: e.created_at,
            expires_at: Some(soon),
        });
        let new = EndpointSecret { secret: "whsec_new".into(), created_at: now, expires_at: None };
        let rotated = e.rotated_secrets(new.clone(), now + TimeDelta::days(1), now);
        let shown: Vec<_> = rotated.iter().map(|s| (s.secret.as_str(), s.expires_at)).collect();
        assert_eq!(
            shown,
            vec![
                ("whsec_c2VjcmV0", Some(now + TimeDelta::days(1))),
                ("whsec_expiring", Some(soon)),
                ("whsec_new", None),
            ]
        );
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let mut rng = StdRng::seed_from_u64(6);
        let e = endpoint(&mut rng);
        let shown = format!("{e:?}");
        assert!(!shown.contains("whsec_"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn re_enabling_clears_the_failure_and_disabling_keeps_the_reason() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut e = endpoint(&mut rng);
        let now = e.created_at + TimeDelta::minutes(1);
        e.enabled = false;
        e.disabled_reason = Some(GONE_REASON.into());
        e.failing_since = Some(e.created_at);
        EndpointUpdate { enabled: Some(false), ..Default::default() }.apply_to(&mut e, now);
        assert_eq!(e.disabled_reason.as_deref(), Some(GONE_REASON));
        EndpointUpdate { enabled: Some(true), ..Default::default() }.apply_to(&mut e, now);
        assert!(e.enabled);
        assert_eq!((e.disabled_reason.clone(), e.failing_since), (None, None));
        assert_eq!(e.updated_at, now);
        // Enabling an enabled endpoint does not hide that it is failing.
        e.failing_since = Some(now);
        EndpointUpdate { enabled: Some(true), ..Default::default() }.apply_to(&mut e, now);
        assert_eq!(e.failing_since, Some(now));
    }

    #[test]
    fn errors_are_bounded_and_statuses_round_trip() {
        let long = "é".repeat(2000);
        let record = AttemptRecord::Dead { status: Some(500), error: long };
        let outcome = record.outcome();
        assert_eq!(outcome.last_error.map(|e| e.chars().count()), Some(MAX_STORED_ERROR_CHARS));
        for status in [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Dead] {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_string(&status).ok(),
                Some(format!("\"{}\"", status.as_str()))
            );
        }
        assert_eq!(DeliveryStatus::parse("Pending"), None);
    }
}
