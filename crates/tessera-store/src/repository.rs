//! The repository traits every backend implements, and [`Store`], which bundles them.
//!
//! Rules every implementation keeps (the conformance suite in [`crate::testing`] checks them):
//! - Every method that reads or writes a member or a session takes the `organization_id` and
//!   filters on it. Something of another organization is `NotFound`, exactly as if it did not
//!   exist. There are three exceptions, all reads:
//!   - [`SessionRepository::find_session_by_token`], which returns the organization it found
//!     (the token is the credential);
//!   - [`MemberRepository::find_member_organization`] and
//!     [`SessionRepository::find_session_organization`], which return nothing but the id of the
//!     organization a member or session belongs to (ids are global). They serve only callers
//!     holding the deployment's credentials, which may act on every organization, when a request
//!     names a member or session without its organization; those callers then continue with
//!     the organization-scoped methods.
//! - Each write is atomic: it applies whole or not at all. A failed write leaves no trace.
//! - Session writes are conditional on the session being active at the `now` they are given
//!   (not revoked, not expired, within its organization's absolute lifetime, not idle: the rule of
//!   `SessionTimes::status`), in the same statement that writes, so a revoke that returned can
//!   never be undone by a concurrent touch, extension, patch or rotation, and no write revives a
//!   session that ended.
//! - Raw tokens never reach storage: sessions are stored and found by [`TokenHash`].
//! - Every write takes the `events` (`EventRecord`s) that record it and appends them **in its
//!   transaction**: a write that fails or finds nothing to change appends none, a write that
//!   commits appends all, each with the next sequence number (monotonic in commit order). A store
//!   adds what only it knows: the `revoked_count` of a wide revoke, and the events a session limit
//!   derives from the sign-in's `session.created` event (a `session.revoked` per session it
//!   revoked, or a `session.limit_denied`, which is appended although the sign-in is refused).
//!   Callers that record nothing pass `&[]`.

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, Event, EventFilter, EventRecord,
    Member, MemberId, MemberRef, MemberSession, MemberUpdate, Organization, OrganizationId,
    OrganizationRef, OrganizationUpdate, SessionId, TokenHash,
};

use crate::{
    deployment::Deployment,
    error::StoreResult,
    signing_key::SigningKey,
    webhook::{
        AttemptRecord, Backlog, ClaimedDelivery, Delivery, DeliveryFilter, DeliveryId,
        EndpointSecret, EndpointUpdate, WebhookEndpoint, WebhookEndpointId,
    },
};

/// Organizations: the tenants. Deleting one deletes its members and their sessions.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// Fails with `Conflict` on a used id, slug or external id.
    async fn create_organization(
        &self,
        organization: &Organization,
        events: &[EventRecord],
    ) -> StoreResult<()>;

    /// By id or slug.
    async fn get_organization(&self, organization: &OrganizationRef) -> StoreResult<Organization>;

    /// Writes exactly the fields `update` names, and `updated_at = now`, in one statement, and
    /// returns the organization as stored afterwards: two concurrent updates of different fields
    /// are both kept. `NotFound(Organization)`; `Conflict` on a slug or external id used by
    /// another organization (nothing written).
    async fn update_organization(
        &self,
        organization_id: OrganizationId,
        update: &OrganizationUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Organization>;

    /// Deletes the organization, its members and their sessions.
    async fn delete_organization(
        &self,
        organization_id: OrganizationId,
        events: &[EventRecord],
    ) -> StoreResult<()>;

    /// Organizations in id (creation) order, after `after`, at most `limit`.
    async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: u32,
    ) -> StoreResult<Vec<Organization>>;
}

/// Members of one organization.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MemberRepository: Send + Sync {
    /// Fails with `NotFound(Organization)` if the member's organization does not exist, and with
    /// `Conflict` on a used id, email (ignoring case) or external id in that organization.
    async fn create_member(&self, member: &Member, events: &[EventRecord]) -> StoreResult<()>;

    /// By id, external id or email (ignoring case), within `organization_id`.
    async fn get_member(
        &self,
        organization_id: OrganizationId,
        member: &MemberRef,
    ) -> StoreResult<Member>;

    /// Writes exactly the fields `update` names, and `updated_at = now`, in one statement, to the
    /// member with this id in this organization, and returns the member as stored afterwards:
    /// two concurrent updates of different fields are both kept. `NotFound(Member)`; `Conflict`
    /// on an email or external id used by another member of the organization.
    async fn update_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Member>;

    /// Deletes the member and every session of theirs.
    async fn delete_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        events: &[EventRecord],
    ) -> StoreResult<()>;

    /// Members of the organization in id order, after `after`, at most `limit`.
    async fn list_members(
        &self,
        organization_id: OrganizationId,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>>;

    /// The organization of the member with this id. Deployment-wide (ids are global): for callers
    /// holding the project credentials, which then continue with organization-scoped calls.
    /// `NotFound(Member)` if there is none.
    async fn find_member_organization(&self, member_id: MemberId) -> StoreResult<OrganizationId>;
}

/// One session as a write names it: its organization, its id, and the token generation the
/// caller read. Writes keyed by it apply only while the session still holds that generation, so
/// nothing read through a token (or a JWT) that a rotation has since replaced can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    pub organization_id: OrganizationId,
    pub session_id: SessionId,
    pub token_generation: u32,
}

impl SessionKey {
    /// The key of a session as it was read.
    pub fn of(session: &MemberSession) -> Self {
        Self {
            organization_id: session.organization_id,
            session_id: session.id,
            token_generation: session.token_generation,
        }
    }
}

/// Authenticate's one write ([`SessionRepository::record_authentication`]): any of an extension,
/// a claims patch and a coalesced access record, applied together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthenticationWrite {
    /// Set `expires_at` (the caller computed it under the lifetime rules); an extension also
    /// records an access at `now`.
    pub expires_at: Option<DateTime<Utc>>,
    /// A JSON Merge Patch of the custom claims, applied to the claims as stored (so concurrent
    /// patches are not lost); refused by the claim rules, the whole write is refused.
    pub claims_patch: Option<Value>,
    /// Record an access at `now` if the last recorded one is at or before this instant (the
    /// caller's `now - touch_threshold`); `None` records none (unless extending).
    pub touch_if_accessed_by: Option<DateTime<Utc>>,
}

impl AuthenticationWrite {
    /// Whether there is anything to write.
    pub fn is_empty(&self) -> bool {
        self.expires_at.is_none()
            && self.claims_patch.is_none()
            && self.touch_if_accessed_by.is_none()
    }
}

/// Member sessions.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session under the hash of its token. Fails with `NotFound(Organization)` or
    /// `NotFound(Member)` unless the member exists in the session's organization, and with
    /// `Conflict` on a used id or token hash.
    ///
    /// Under the organization's session limit (`OrganizationSettings::session_limit`), in the same
    /// transaction: counts the member's live sessions (at the new session's `last_accessed_at`,
    /// the moment it is made), then refuses with `Rejected(SessionLimitReached)` (nothing
    /// written) or revokes the least recently used ones to make room, and returns their ids.
    /// Concurrent creates are counted one after the other: the limit is never exceeded.
    async fn create_session(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>>;

    /// The hot path: the session holding this token, with its member and organization, in one
    /// round trip. `NotFound(Session)` unless the session is active at `now` (not revoked,
    /// expired, past its absolute lifetime or idle).
    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession>;

    /// Like [`Self::find_session_by_token`], by id within an organization (for session JWTs).
    async fn find_session_by_id(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession>;

    /// The organization of the session with this id, whatever its status. Deployment-wide, like
    /// [`MemberRepository::find_member_organization`]. `NotFound(Session)` if there is none.
    async fn find_session_organization(&self, session_id: SessionId)
    -> StoreResult<OrganizationId>;

    /// Authenticate's one write, in one transaction: the extension, the claims patch and the
    /// access record of `write`, all or nothing, to the live session `key` (still at its token
    /// generation). Returns the session as stored afterwards (also when the access record was
    /// not due after all, a concurrent access having recorded one). `NotFound(Session)` if the
    /// session is not live at `now` or was rotated; `Rejected` if the claim rules refuse the
    /// patched claims (nothing written).
    async fn record_authentication(
        &self,
        key: &SessionKey,
        write: &AuthenticationWrite,
        namespaces: &ClaimNamespaces,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession>;

    /// Step-up: replaces the token hash and the factors of the live session `key` (still at its
    /// generation), bumps its token generation, records an access at `now` and, with
    /// `expires_at`, sets the expiry. After this returns, the old token finds nothing and writes
    /// keyed by the old generation apply to nothing.
    async fn rotate_session_token(
        &self,
        key: &SessionKey,
        next: &TokenHash,
        factors: &[AuthenticationFactor],
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession>;

    /// Revokes one live session; with `token_generation`, only while the session still holds
    /// it (a revoke by a token or a JWT). `NotFound(Session)` if there is none to revoke.
    async fn revoke_session(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        token_generation: Option<u32>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<()>;

    /// Revokes every live session of a member; returns how many. `NotFound(Member)` unless the
    /// member exists in the organization.
    async fn revoke_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64>;

    /// A member's sessions that are active at `now`, oldest first. `NotFound(Member)` unless the
    /// member exists in the organization.
    async fn list_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberSession>>;

    /// Atomically stores `to` and revokes the live session `from` (still at its token
    /// generation): either both happen or neither. `to` is subject to its organization's session
    /// limit as in [`Self::create_session`]; returns the sessions revoked to make room.
    async fn exchange_session(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>>;

    /// Revokes every live session of an organization, but `except` if given; returns how many.
    /// One statement. `NotFound(Organization)` if there is no such organization.
    async fn revoke_organization_sessions(
        &self,
        organization_id: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64>;

    /// Revokes every live session of the deployment; returns how many. One statement; an
    /// operator's act (`tessera sessions revoke-all`), not scoped by organization.
    async fn revoke_all_sessions(
        &self,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64>;

    /// Deletes up to `batch_size` sessions that ended before `before`, whatever ended them: expiry,
    /// revocation, the idle timeout or the absolute lifetime of their organization (under its
    /// current settings, the rule of `SessionTimes::ends_at`); returns how many. Callers loop
    /// until it returns less than `batch_size`, so that no single statement holds locks for long.
    /// Deployment-wide maintenance: not scoped by organization.
    async fn purge_sessions(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64>;
}

/// JWT signing keys of the deployment (not scoped by organization).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SigningKeyRepository: Send + Sync {
    /// Fails with `Conflict(SigningKeyId)` on a used `kid`.
    async fn insert_signing_key(&self, key: &SigningKey, events: &[EventRecord])
    -> StoreResult<()>;

    /// Every stored key, oldest first.
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>>;

    /// Stops a key from signing from `at` on; it stays listed (for verification) until deleted.
    /// `NotFound(SigningKey)` if no such key is active.
    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// `NotFound(SigningKey)` if there is no such key.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()>;
}

/// The deployment record (project id and API secret hash): one per store, shared by every node
/// on it (not scoped by organization).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait DeploymentRepository: Send + Sync {
    /// The stored deployment, if any.
    async fn get_deployment(&self) -> StoreResult<Option<Deployment>>;

    /// Stores `candidate` unless a deployment exists; returns the one that is stored afterwards
    /// (the first writer wins, so nodes starting at once agree).
    async fn init_deployment(&self, candidate: &Deployment) -> StoreResult<Deployment>;

    /// Replaces the secret hash (secret rotation). `NotFound(Deployment)` if none.
    async fn set_deployment_secret(
        &self,
        secret_hash: &[u8; 32],
        events: &[EventRecord],
    ) -> StoreResult<()>;
}

/// The audit log: append-only, but for the retention purge. Not scoped by organization (it is
/// the deployment's log); a filter narrows it.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Appends events that record no other change of the store (a purge run), in one
    /// transaction.
    async fn append_events(&self, events: &[EventRecord]) -> StoreResult<()>;

    /// The events `filter` matches, in sequence order, at most `limit`. A reader that passes the
    /// last sequence it saw as `filter.after_sequence` misses nothing committed since.
    async fn list_events(&self, filter: &EventFilter, limit: u32) -> StoreResult<Vec<Event>>;

    /// Deletes up to `batch_size` of the oldest events that occurred before `before`; returns
    /// how many. Callers loop until it returns less than `batch_size`. Sequences of deleted
    /// events are never reused.
    async fn purge_events(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64>;
}

/// Webhook delivery's storage: endpoints, and the deliveries fanned out to them from the audit
/// log (`webhook.rs` has the whole flow). Not scoped by organization: endpoints are the
/// deployment's (an endpoint may filter on one organization). These writes record no events:
/// the log is what they deliver.
///
/// Delivery is at least once: a delivery is sent until an attempt is recorded as delivered, dead
/// or gone, and a dispatcher that stops between sending and recording lets its lease run out, so
/// that the delivery is claimed again (with the same id). No two claims hold one delivery at
/// once, across every node on the store.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores a new endpoint and returns it as stored: its `last_sequence` is the newest event's
    /// sequence at that moment (read in the insert's transaction, whatever the caller set), so
    /// that it gets only the events after its creation. `Conflict(PrimaryKey)` on a used id.
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<WebhookEndpoint>;

    /// `NotFound(WebhookEndpoint)` if there is none.
    async fn get_endpoint(&self, id: WebhookEndpointId) -> StoreResult<WebhookEndpoint>;

    /// Every endpoint, in creation order (`created_at`, then id).
    async fn list_endpoints(&self) -> StoreResult<Vec<WebhookEndpoint>>;

    /// Applies `update` to the endpoint as stored, in one transaction (read, apply, write: two
    /// concurrent updates of different fields are both kept), and returns the result.
    /// `NotFound(WebhookEndpoint)`.
    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        update: &EndpointUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint>;

    /// Deletes the endpoint and its deliveries. `NotFound(WebhookEndpoint)`.
    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StoreResult<()>;

    /// Adds `new` to the endpoint's secrets, in one transaction: secrets expired at `now` are
    /// dropped, the others keep signing until `old_expires_at` (never later than they were to
    /// expire already), so that receivers have until then to switch. Returns the endpoint as
    /// stored. `NotFound(WebhookEndpoint)`.
    async fn rotate_endpoint_secret(
        &self,
        id: WebhookEndpointId,
        new: EndpointSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint>;

    /// Disables the endpoint with `reason` (at most `MAX_STORED_ERROR_CHARS` kept), e.g. after
    /// it failed for five days: it is no longer fanned out to and its deliveries are not
    /// claimed. `NotFound(WebhookEndpoint)`.
    async fn disable_endpoint(
        &self,
        id: WebhookEndpointId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Moves every enabled endpoint's cursor on by up to `batch` events, one transaction per
    /// endpoint: takes the endpoint (on PostgreSQL `FOR UPDATE SKIP LOCKED`: an endpoint another
    /// node is fanning out is skipped, not waited for), reads the events after its
    /// `last_sequence` in sequence order, inserts a pending delivery due at `now` for each one
    /// the endpoint [`wants`](WebhookEndpoint::wants) (none twice: one delivery per endpoint and
    /// event sequence), and sets `last_sequence` to the last event read, wanted or not. Events
    /// whose type this build cannot read are passed over (they could not be sent). Returns how
    /// many deliveries it created. Callers run it on a timer; an endpoint further behind than
    /// `batch` catches up over several runs.
    async fn fan_out(&self, now: DateTime<Utc>, batch: u32) -> StoreResult<u64>;

    /// Claims up to `limit` deliveries that are due: pending, `next_attempt_at <= now`, no live
    /// lease (none, or one that ran out by `now`), of an enabled endpoint; the earliest due
    /// first. Each is leased until `now + lease` in the claiming transaction, so no other claim
    /// takes it meanwhile (on PostgreSQL `FOR UPDATE SKIP LOCKED`: concurrent claims on any
    /// number of nodes take disjoint sets without waiting for each other). A delivery whose
    /// event was purged, or cannot be read, cannot be sent: the claim makes it dead instead
    /// (`last_error` says why) and returns it not.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Records one attempt of a delivery at `now`: `attempts + 1`, `last_attempt_at = now`, the
    /// record's status and error (cut to `MAX_STORED_ERROR_CHARS`), the lease cleared, and what
    /// the record means: delivered; pending again at its `next_attempt_at`; dead; or dead with
    /// the endpoint disabled (`Gone`). Delivered clears the endpoint's `failing_since`; any
    /// failure sets it to `now` unless it is set. A delivery that is delivered stays so: a late
    /// record (from a dispatcher whose lease ran out while another delivered it) changes
    /// nothing. `NotFound(WebhookDelivery)` if there is no such delivery.
    async fn record_attempt(
        &self,
        id: DeliveryId,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The deliveries `filter` matches, in id order (which is their events' time order), at
    /// most `limit`; `status: Some(Dead)` is the dead-letter list. A delivery whose event was
    /// purged is not listed: there is nothing left of it to show or send.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;

    /// Makes a dead or pending delivery pending and due at `now` (its attempts kept; a lease it
    /// holds is kept too, so one being sent is not sent twice at once) and returns it. A
    /// delivered delivery is returned as it is: it is final, and its status says so.
    /// `NotFound(WebhookDelivery)` if there is none, or its event was purged.
    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery>;

    /// What is due and not yet delivered at `now`, for gauges.
    async fn backlog(&self, now: DateTime<Utc>) -> StoreResult<Backlog>;
}

/// One handle on a whole backend: what the service layer holds.
///
/// Each repository is a trait object so that tests can mock any one of them; a backend is one
/// value implementing all of them ([`Store::new`]).
#[derive(Clone)]
pub struct Store {
    pub organizations: Arc<dyn OrganizationRepository>,
    pub members: Arc<dyn MemberRepository>,
    pub sessions: Arc<dyn SessionRepository>,
    pub signing_keys: Arc<dyn SigningKeyRepository>,
    pub deployment: Arc<dyn DeploymentRepository>,
    pub events: Arc<dyn EventRepository>,
    pub webhooks: Arc<dyn WebhookRepository>,
    backend: &'static str,
}

impl Store {
    /// Wraps a backend that implements every repository.
    pub fn new<B>(backend: Arc<B>, name: &'static str) -> Self
    where
        B: OrganizationRepository
            + MemberRepository
            + SessionRepository
            + SigningKeyRepository
            + DeploymentRepository
            + EventRepository
            + WebhookRepository
            + 'static,
    {
        Self {
            organizations: backend.clone(),
            members: backend.clone(),
            sessions: backend.clone(),
            signing_keys: backend.clone(),
            deployment: backend.clone(),
            events: backend.clone(),
            webhooks: backend,
            backend: name,
        }
    }

    /// Assembles a store from separate repositories (e.g. mocks).
    pub fn from_parts(
        organizations: Arc<dyn OrganizationRepository>,
        members: Arc<dyn MemberRepository>,
        sessions: Arc<dyn SessionRepository>,
        signing_keys: Arc<dyn SigningKeyRepository>,
        deployment: Arc<dyn DeploymentRepository>,
        events: Arc<dyn EventRepository>,
        webhooks: Arc<dyn WebhookRepository>,
    ) -> Self {
        Self {
            organizations,
            members,
            sessions,
            signing_keys,
            deployment,
            events,
            webhooks,
            backend: "custom",
        }
    }

    /// `memory`, `sqlite`, `postgres` or `custom`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}
