//! The in-memory backend: every repository over one lock-protected state.
//!
//! For tests and small embeds that can lose their sessions on restart. Reads take a shared lock,
//! writes an exclusive one; no lock is held across an `.await`, so each method is atomic.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, Event, EventFilter, EventRecord,
    Member, MemberId, MemberRef, MemberSession, MemberUpdate, Organization, OrganizationId,
    OrganizationRef, OrganizationUpdate, SessionId, TokenHash,
};

use crate::{
    deployment::Deployment,
    error::{Constraint, Entity, StoreError, StoreResult},
    events,
    repository::{
        AuthenticationWrite, DeploymentRepository, EventRepository, MemberRepository,
        OrganizationRepository, SessionKey, SessionRepository, SigningKeyRepository, Store,
        WebhookRepository,
    },
    signing_key::SigningKey,
    webhook::{
        self, AttemptRecord, Backlog, ClaimedDelivery, Delivery, DeliveryFilter, DeliveryId,
        DeliveryStatus, EndpointEffect, EndpointSecret, EndpointUpdate, WebhookEndpoint,
        WebhookEndpointId,
    },
};

/// All data in process memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Shared with the lookups that return them (`AuthenticatedSession`): a write replaces the
    /// value, so a reader's copy never changes under it.
    organizations: HashMap<OrganizationId, Arc<Organization>>,
    members: HashMap<MemberId, Arc<Member>>,
    sessions: HashMap<SessionId, StoredSession>,
    session_by_token: HashMap<TokenHash, SessionId>,
    signing_keys: Vec<SigningKey>,
    deployment: Option<Deployment>,
    /// The audit log, in sequence order, and the last sequence given (never reused).
    events: Vec<Event>,
    last_sequence: u64,
    webhook_endpoints: HashMap<WebhookEndpointId, WebhookEndpoint>,
    /// By id, which is listing order.
    deliveries: BTreeMap<DeliveryId, StoredDelivery>,
    /// The (endpoint, event sequence) of every delivery: at most one each.
    delivery_keys: HashSet<(WebhookEndpointId, u64)>,
}

/// A delivery without its event, which stays in the log (`event_sequence` finds it).
#[derive(Debug, Clone)]
struct StoredDelivery {
    endpoint_id: WebhookEndpointId,
    event_sequence: u64,
    attempts: u32,
    status: DeliveryStatus,
    next_attempt_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<u16>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct StoredSession {
    session: MemberSession,
    token_hash: TokenHash,
}

impl StoredSession {
    fn in_organization(&self, organization_id: OrganizationId) -> bool {
        self.session.organization_id == organization_id
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A [`Store`] over a new, empty memory backend.
    pub fn store() -> Store {
        Store::new(Arc::new(Self::new()), "memory")
    }

    // A panic while holding the lock cannot leave the state half-written (every write checks
    // first and mutates last), so a poisoned lock is still consistent.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Appends to the log; called last in a write, once nothing can fail.
    fn append(&mut self, records: &[EventRecord]) {
        for record in records {
            self.last_sequence += 1;
            self.events.push(Event { sequence: self.last_sequence, record: record.clone() });
        }
    }

    /// The logged event with this sequence, if it was not purged.
    fn event(&self, sequence: u64) -> Option<&Event> {
        self.events
            .binary_search_by_key(&sequence, |e| e.sequence)
            .ok()
            .and_then(|i| self.events.get(i))
    }

    /// A stored delivery with its event; `None` if the event was purged.
    fn delivery(&self, id: DeliveryId, stored: &StoredDelivery) -> Option<Delivery> {
        Some(Delivery {
            id,
            endpoint_id: stored.endpoint_id,
            event: self.event(stored.event_sequence)?.clone(),
            attempts: stored.attempts,
            status: stored.status,
            next_attempt_at: stored.next_attempt_at,
            last_attempt_at: stored.last_attempt_at,
            last_status: stored.last_status,
            last_error: stored.last_error.clone(),
            created_at: stored.created_at,
        })
    }

    fn endpoint_mut(&mut self, id: WebhookEndpointId) -> StoreResult<&mut WebhookEndpoint> {
        self.webhook_endpoints.get_mut(&id).ok_or(StoreError::NotFound(Entity::WebhookEndpoint))
    }

    /// Fans one endpoint out by up to `batch` events (see `WebhookRepository::fan_out`).
    fn fan_out_endpoint(&mut self, id: WebhookEndpointId, now: DateTime<Utc>, batch: u32) -> u64 {
        let Some(endpoint) = self.webhook_endpoints.get(&id) else { return 0 };
        let start = self.events.partition_point(|e| e.sequence <= endpoint.last_sequence);
        let read: Vec<&Event> = self.events.iter().skip(start).take(batch as usize).collect();
        let Some(last) = read.last().map(|e| e.sequence) else { return 0 };
        let wanted: Vec<(DeliveryId, u64)> = read
            .iter()
            .filter(|e| endpoint.wants(e.record.event_type, e.record.organization_id))
            .map(|e| (DeliveryId::of(id, e.record.id), e.sequence))
            .collect();
        let mut created = 0;
        for (delivery_id, sequence) in wanted {
            if self.delivery_keys.insert((id, sequence)) {
                self.deliveries.insert(
                    delivery_id,
                    StoredDelivery {
                        endpoint_id: id,
                        event_sequence: sequence,
                        attempts: 0,
                        status: DeliveryStatus::Pending,
                        next_attempt_at: now,
                        lease_until: None,
                        last_attempt_at: None,
                        last_status: None,
                        last_error: None,
                        created_at: now,
                    },
                );
                created += 1;
            }
        }
        if let Some(endpoint) = self.webhook_endpoints.get_mut(&id) {
            endpoint.last_sequence = last;
        }
        created
    }

    fn organization(&self, reference: &OrganizationRef) -> Option<&Organization> {
        match reference {
            OrganizationRef::Id(id) => self.organizations.get(id),
            OrganizationRef::Slug(slug) => self.organizations.values().find(|o| &o.slug == slug),
        }
        .map(Arc::as_ref)
    }

    fn member_in(&self, organization_id: OrganizationId, member_id: MemberId) -> Option<&Member> {
        self.shared_member_in(organization_id, member_id).map(Arc::as_ref)
    }

    fn shared_member_in(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
    ) -> Option<&Arc<Member>> {
        self.members.get(&member_id).filter(|m| m.organization_id == organization_id)
    }

    fn check_organization_unique(&self, candidate: &Organization) -> StoreResult<()> {
        for other in self.organizations.values().filter(|o| o.id != candidate.id) {
            if other.slug == candidate.slug {
                return Err(StoreError::Conflict(Constraint::OrganizationSlug));
            }
            if candidate.external_id.is_some() && other.external_id == candidate.external_id {
                return Err(StoreError::Conflict(Constraint::OrganizationExternalId));
            }
        }
        Ok(())
    }

    fn check_member_unique(&self, candidate: &Member) -> StoreResult<()> {
        let email = candidate.email_address.normalized();
        let peers = self
            .members
            .values()
            .filter(|m| m.organization_id == candidate.organization_id && m.id != candidate.id);
        for other in peers {
            if other.email_address.normalized() == email {
                return Err(StoreError::Conflict(Constraint::MemberEmail));
            }
            if candidate.external_id.is_some() && other.external_id == candidate.external_id {
                return Err(StoreError::Conflict(Constraint::MemberExternalId));
            }
        }
        Ok(())
    }

    fn authenticated(
        &self,
        stored: &StoredSession,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        let session = &stored.session;
        let member = self
            .shared_member_in(session.organization_id, session.member_id)
            .ok_or(StoreError::NotFound(Entity::Session))?;
        let organization = self
            .organizations
            .get(&session.organization_id)
            .ok_or(StoreError::NotFound(Entity::Session))?;
        let found = AuthenticatedSession {
            session: session.clone(),
            member: Arc::clone(member),
            organization: Arc::clone(organization),
        };
        if found.status(now).is_active() {
            Ok(found)
        } else {
            Err(StoreError::NotFound(Entity::Session))
        }
    }

    /// The condition every session write carries: the session is active at `now` under its
    /// organization's lifetime rules, so no write can revive an ended session.
    fn is_active(
        organizations: &HashMap<OrganizationId, Arc<Organization>>,
        stored: &StoredSession,
        now: DateTime<Utc>,
    ) -> bool {
        organizations.get(&stored.session.organization_id).is_some_and(|organization| {
            stored.session.times.status(now, &organization.settings.lifetime).is_active()
        })
    }

    /// The active session `session_id` of `organization_id` (at `generation`, when given), for a
    /// conditional write.
    fn live_session_mut(
        &mut self,
        organization_id: OrganizationId,
        session_id: SessionId,
        generation: Option<u32>,
        now: DateTime<Utc>,
    ) -> StoreResult<&mut StoredSession> {
        let organizations = &self.organizations;
        self.sessions
            .get_mut(&session_id)
            .filter(|s| {
                s.in_organization(organization_id)
                    && generation.is_none_or(|g| s.session.token_generation == g)
                    && Self::is_active(organizations, s, now)
            })
            .ok_or(StoreError::NotFound(Entity::Session))
    }

    fn live_key_mut(
        &mut self,
        key: &SessionKey,
        now: DateTime<Utc>,
    ) -> StoreResult<&mut StoredSession> {
        self.live_session_mut(key.organization_id, key.session_id, Some(key.token_generation), now)
    }

    fn check_session_insertable(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
    ) -> StoreResult<()> {
        if !self.organizations.contains_key(&session.organization_id) {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        if self.member_in(session.organization_id, session.member_id).is_none() {
            return Err(StoreError::NotFound(Entity::Member));
        }
        if self.sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(Constraint::PrimaryKey));
        }
        if self.session_by_token.contains_key(token_hash) {
            return Err(StoreError::Conflict(Constraint::SessionTokenHash));
        }
        Ok(())
    }

    /// Which live sessions of `session`'s member a new session revokes under its organization's
    /// limit (least recently used first), or the refusal. Reads only; see
    /// `SessionRepository::create_session`.
    fn room_for(
        &mut self,
        session: &MemberSession,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let Some(limit) = self
            .organizations
            .get(&session.organization_id)
            .and_then(|organization| organization.settings.session_limit)
        else {
            return Ok(Vec::new());
        };
        let now = session.times.last_accessed_at;
        let mut live: Vec<&StoredSession> = self
            .sessions
            .values()
            .filter(|s| {
                s.in_organization(session.organization_id)
                    && s.session.member_id == session.member_id
                    && Self::is_active(&self.organizations, s, now)
            })
            .collect();
        let excess = match limit.make_room(live.len() as u64) {
            Ok(excess) => excess,
            Err(refused) => {
                self.append(&events::limit_denial(events, limit.max_sessions()));
                return Err(refused.into());
            }
        };
        live.sort_by_key(|s| (s.session.times.last_accessed_at, s.session.id));
        Ok(live.iter().take(excess as usize).map(|s| s.session.id).collect())
    }

    fn revoke(&mut self, ids: &[SessionId], now: DateTime<Utc>) {
        for id in ids {
            if let Some(stored) = self.sessions.get_mut(id) {
                stored.session.times.revoked_at = Some(now);
                stored.session.updated_at = now;
            }
        }
    }

    fn insert_session(&mut self, session: &MemberSession, token_hash: &TokenHash) {
        self.session_by_token.insert(*token_hash, session.id);
        self.sessions.insert(
            session.id,
            StoredSession { session: session.clone(), token_hash: *token_hash },
        );
    }

    fn remove_sessions_where(
        &mut self,
        doomed: impl Fn(&StoredSession) -> bool,
        limit: usize,
    ) -> u64 {
        let ids: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| doomed(s))
            .take(limit)
            .map(|s| s.session.id)
            .collect();
        self.remove_sessions(&ids)
    }

    fn remove_sessions(&mut self, ids: &[SessionId]) -> u64 {
        for id in ids {
            if let Some(stored) = self.sessions.remove(id) {
                self.session_by_token.remove(&stored.token_hash);
            }
        }
        ids.len() as u64
    }
}

#[async_trait]
impl OrganizationRepository for MemoryStore {
    async fn create_organization(
        &self,
        organization: &Organization,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        if state.organizations.contains_key(&organization.id) {
            return Err(StoreError::Conflict(Constraint::PrimaryKey));
        }
        state.check_organization_unique(organization)?;
        state.organizations.insert(organization.id, Arc::new(organization.clone()));
        state.append(events);
        Ok(())
    }

    async fn get_organization(&self, organization: &OrganizationRef) -> StoreResult<Organization> {
        self.read()
            .organization(organization)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Organization))
    }

    async fn update_organization(
        &self,
        organization_id: OrganizationId,
        update: &OrganizationUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Organization> {
        let mut state = self.write();
        let mut updated = state
            .organizations
            .get(&organization_id)
            .map(|o| Organization::clone(o))
            .ok_or(StoreError::NotFound(Entity::Organization))?;
        update.apply_to(&mut updated);
        updated.updated_at = now;
        state.check_organization_unique(&updated)?;
        state.organizations.insert(organization_id, Arc::new(updated.clone()));
        state.append(events);
        Ok(updated)
    }

    async fn delete_organization(
        &self,
        organization_id: OrganizationId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        if state.organizations.remove(&organization_id).is_none() {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        state.members.retain(|_, m| m.organization_id != organization_id);
        state.remove_sessions_where(|s| s.in_organization(organization_id), usize::MAX);
        state.append(events);
        Ok(())
    }

    async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: u32,
    ) -> StoreResult<Vec<Organization>> {
        let state = self.read();
        let mut page: Vec<Organization> = state
            .organizations
            .values()
            .filter(|o| after.is_none_or(|after| o.id > after))
            .map(|o| Organization::clone(o))
            .collect();
        page.sort_by_key(|o| o.id);
        page.truncate(limit as usize);
        Ok(page)
    }
}

#[async_trait]
impl MemberRepository for MemoryStore {
    async fn create_member(&self, member: &Member, events: &[EventRecord]) -> StoreResult<()> {
        let mut state = self.write();
        if !state.organizations.contains_key(&member.organization_id) {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        if state.members.contains_key(&member.id) {
            return Err(StoreError::Conflict(Constraint::PrimaryKey));
        }
        state.check_member_unique(member)?;
        state.members.insert(member.id, Arc::new(member.clone()));
        state.append(events);
        Ok(())
    }

    async fn get_member(
        &self,
        organization_id: OrganizationId,
        member: &MemberRef,
    ) -> StoreResult<Member> {
        let state = self.read();
        let found = match member {
            MemberRef::Id(id) => state.member_in(organization_id, *id),
            MemberRef::ExternalId(external_id) => state
                .members
                .values()
                .find(|m| {
                    m.organization_id == organization_id
                        && m.external_id.as_ref() == Some(external_id)
                })
                .map(Arc::as_ref),
            MemberRef::Email(email) => {
                let email = email.normalized();
                state
                    .members
                    .values()
                    .find(|m| {
                        m.organization_id == organization_id
                            && m.email_address.normalized() == email
                    })
                    .map(Arc::as_ref)
            }
        };
        found.cloned().ok_or(StoreError::NotFound(Entity::Member))
    }

    async fn update_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Member> {
        let mut state = self.write();
        let mut updated = state
            .member_in(organization_id, member_id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::Member))?;
        update.apply_to(&mut updated);
        updated.updated_at = now;
        state.check_member_unique(&updated)?;
        state.members.insert(member_id, Arc::new(updated.clone()));
        state.append(events);
        Ok(updated)
    }

    async fn delete_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        if state.member_in(organization_id, member_id).is_none() {
            return Err(StoreError::NotFound(Entity::Member));
        }
        state.members.remove(&member_id);
        state.remove_sessions_where(|s| s.session.member_id == member_id, usize::MAX);
        state.append(events);
        Ok(())
    }

    async fn list_members(
        &self,
        organization_id: OrganizationId,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        let state = self.read();
        let mut page: Vec<Member> = state
            .members
            .values()
            .filter(|m| m.organization_id == organization_id)
            .filter(|m| after.is_none_or(|after| m.id > after))
            .map(|m| Member::clone(m))
            .collect();
        page.sort_by_key(|m| m.id);
        page.truncate(limit as usize);
        Ok(page)
    }

    async fn find_member_organization(&self, member_id: MemberId) -> StoreResult<OrganizationId> {
        self.read()
            .members
            .get(&member_id)
            .map(|m| m.organization_id)
            .ok_or(StoreError::NotFound(Entity::Member))
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn create_session(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let mut state = self.write();
        state.check_session_insertable(session, token_hash)?;
        let revoked = state.room_for(session, events)?;
        state.revoke(&revoked, session.times.last_accessed_at);
        state.insert_session(session, token_hash);
        state.append(&events::with_limit_revocations(events, &revoked));
        Ok(revoked)
    }

    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        let state = self.read();
        let stored = state
            .session_by_token
            .get(token_hash)
            .and_then(|id| state.sessions.get(id))
            .ok_or(StoreError::NotFound(Entity::Session))?;
        state.authenticated(stored, now)
    }

    async fn find_session_by_id(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        let state = self.read();
        let stored = state
            .sessions
            .get(&session_id)
            .filter(|s| s.in_organization(organization_id))
            .ok_or(StoreError::NotFound(Entity::Session))?;
        state.authenticated(stored, now)
    }

    async fn find_session_organization(
        &self,
        session_id: SessionId,
    ) -> StoreResult<OrganizationId> {
        self.read()
            .sessions
            .get(&session_id)
            .map(|s| s.session.organization_id)
            .ok_or(StoreError::NotFound(Entity::Session))
    }

    async fn record_authentication(
        &self,
        key: &SessionKey,
        write: &AuthenticationWrite,
        namespaces: &ClaimNamespaces,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        let mut state = self.write();
        let stored = state.live_key_mut(key, now)?;
        // Everything is computed before anything is changed, so a refused patch changes nothing.
        let claims = write
            .claims_patch
            .as_ref()
            .map(|patch| stored.session.custom_claims.patched(patch, namespaces))
            .transpose()?;
        let session = &mut stored.session;
        if let Some(expires_at) = write.expires_at {
            session.times.expires_at = expires_at;
            session.times.last_accessed_at = session.times.last_accessed_at.max(now);
            session.updated_at = now;
        } else if write.touch_if_accessed_by.is_some_and(|by| session.times.last_accessed_at <= by)
        {
            session.times.last_accessed_at = session.times.last_accessed_at.max(now);
        }
        if let Some(claims) = claims {
            session.custom_claims = claims;
            session.updated_at = now;
        }
        let session = session.clone();
        state.append(events);
        Ok(session)
    }

    async fn rotate_session_token(
        &self,
        key: &SessionKey,
        next: &TokenHash,
        factors: &[AuthenticationFactor],
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        let mut state = self.write();
        if state.session_by_token.contains_key(next) {
            return Err(StoreError::Conflict(Constraint::SessionTokenHash));
        }
        let stored = state.live_key_mut(key, now)?;
        let current = std::mem::replace(&mut stored.token_hash, *next);
        let session = &mut stored.session;
        session.token_generation += 1;
        session.authentication_factors = factors.to_vec();
        if let Some(expires_at) = expires_at {
            session.times.expires_at = expires_at;
        }
        session.times.last_accessed_at = session.times.last_accessed_at.max(now);
        session.updated_at = now;
        let session = session.clone();
        state.session_by_token.remove(&current);
        state.session_by_token.insert(*next, key.session_id);
        state.append(events);
        Ok(session)
    }

    async fn revoke_session(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        token_generation: Option<u32>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        let stored = state.live_session_mut(organization_id, session_id, token_generation, now)?;
        stored.session.times.revoked_at = Some(now);
        stored.session.updated_at = now;
        state.append(events);
        Ok(())
    }

    async fn revoke_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let mut state = self.write();
        if state.member_in(organization_id, member_id).is_none() {
            return Err(StoreError::NotFound(Entity::Member));
        }
        let mut revoked = 0;
        let State { organizations, sessions, .. } = &mut *state;
        for stored in sessions.values_mut() {
            if stored.in_organization(organization_id)
                && stored.session.member_id == member_id
                && State::is_active(organizations, stored, now)
            {
                stored.session.times.revoked_at = Some(now);
                stored.session.updated_at = now;
                revoked += 1;
            }
        }
        state.append(&events::counted(events, revoked));
        Ok(revoked)
    }

    async fn list_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberSession>> {
        let state = self.read();
        if state.member_in(organization_id, member_id).is_none() {
            return Err(StoreError::NotFound(Entity::Member));
        }
        let mut sessions: Vec<MemberSession> = state
            .sessions
            .values()
            .filter(|s| s.in_organization(organization_id) && s.session.member_id == member_id)
            .filter_map(|s| state.authenticated(s, now).ok().map(|found| found.session))
            .collect();
        sessions.sort_by_key(|s| (s.times.started_at, s.id));
        Ok(sessions)
    }

    async fn exchange_session(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let mut state = self.write();
        state.live_key_mut(from, now)?;
        state.check_session_insertable(to, to_token_hash)?;
        // Everything that can refuse runs before anything is written (but the refusal's event).
        let revoked = state.room_for(to, events)?;
        if let Ok(old) = state.live_key_mut(from, now) {
            old.session.times.revoked_at = Some(now);
            old.session.updated_at = now;
        }
        state.revoke(&revoked, now);
        state.insert_session(to, to_token_hash);
        state.append(&events::with_limit_revocations(events, &revoked));
        Ok(revoked)
    }

    async fn revoke_organization_sessions(
        &self,
        organization_id: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let mut state = self.write();
        if !state.organizations.contains_key(&organization_id) {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        let live: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|s| {
                s.in_organization(organization_id)
                    && Some(s.session.id) != except
                    && State::is_active(&state.organizations, s, now)
            })
            .map(|s| s.session.id)
            .collect();
        state.revoke(&live, now);
        state.append(&events::counted(events, live.len() as u64));
        Ok(live.len() as u64)
    }

    async fn revoke_all_sessions(
        &self,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let mut state = self.write();
        let live: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|s| State::is_active(&state.organizations, s, now))
            .map(|s| s.session.id)
            .collect();
        state.revoke(&live, now);
        state.append(&events::counted(events, live.len() as u64));
        Ok(live.len() as u64)
    }

    async fn purge_sessions(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        let mut state = self.write();
        let ended: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|s| {
                state.organizations.get(&s.session.organization_id).is_none_or(|organization| {
                    s.session.times.ends_at(&organization.settings.lifetime) < before
                })
            })
            .take(batch_size as usize)
            .map(|s| s.session.id)
            .collect();
        Ok(state.remove_sessions(&ended))
    }
}

#[async_trait]
impl SigningKeyRepository for MemoryStore {
    async fn insert_signing_key(
        &self,
        key: &SigningKey,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        if state.signing_keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::Conflict(Constraint::SigningKeyId));
        }
        state.signing_keys.push(key.clone());
        state.signing_keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        state.append(events);
        Ok(())
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        Ok(self.read().signing_keys.clone())
    }

    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let mut state = self.write();
        let key = state
            .signing_keys
            .iter_mut()
            .find(|k| k.kid == kid && k.retired_at.is_none())
            .ok_or(StoreError::NotFound(Entity::SigningKey))?;
        key.retired_at = Some(at);
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        let mut state = self.write();
        let before = state.signing_keys.len();
        state.signing_keys.retain(|k| k.kid != kid);
        if state.signing_keys.len() == before {
            return Err(StoreError::NotFound(Entity::SigningKey));
        }
        Ok(())
    }
}

#[async_trait]
impl DeploymentRepository for MemoryStore {
    async fn get_deployment(&self) -> StoreResult<Option<Deployment>> {
        Ok(self.read().deployment.clone())
    }

    async fn init_deployment(&self, candidate: &Deployment) -> StoreResult<Deployment> {
        Ok(self.write().deployment.get_or_insert_with(|| candidate.clone()).clone())
    }

    async fn set_deployment_secret(
        &self,
        secret_hash: &[u8; 32],
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let mut state = self.write();
        let deployment =
            state.deployment.as_mut().ok_or(StoreError::NotFound(Entity::Deployment))?;
        deployment.secret_hash = *secret_hash;
        state.append(events);
        Ok(())
    }
}

#[async_trait]
impl EventRepository for MemoryStore {
    async fn append_events(&self, events: &[EventRecord]) -> StoreResult<()> {
        self.write().append(events);
        Ok(())
    }

    async fn list_events(&self, filter: &EventFilter, limit: u32) -> StoreResult<Vec<Event>> {
        let state = self.read();
        Ok(state
            .events
            .iter()
            .filter(|e| filter.matches(e))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn purge_events(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        let mut state = self.write();
        // The log is in sequence order, which is nearly time order: purge the oldest prefix.
        let doomed = state
            .events
            .iter()
            .take(batch_size as usize)
            .take_while(|e| e.record.occurred_at < before)
            .count();
        state.events.drain(..doomed);
        Ok(doomed as u64)
    }
}

#[async_trait]
impl WebhookRepository for MemoryStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        let mut state = self.write();
        if state.webhook_endpoints.contains_key(&endpoint.id) {
            return Err(StoreError::Conflict(Constraint::PrimaryKey));
        }
        let stored = WebhookEndpoint { last_sequence: state.last_sequence, ..endpoint.clone() };
        state.webhook_endpoints.insert(endpoint.id, stored.clone());
        Ok(stored)
    }

    async fn get_endpoint(&self, id: WebhookEndpointId) -> StoreResult<WebhookEndpoint> {
        self.read()
            .webhook_endpoints
            .get(&id)
            .cloned()
            .ok_or(StoreError::NotFound(Entity::WebhookEndpoint))
    }

    async fn list_endpoints(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        let mut endpoints: Vec<WebhookEndpoint> =
            self.read().webhook_endpoints.values().cloned().collect();
        endpoints.sort_by_key(|e| (e.created_at, e.id));
        Ok(endpoints)
    }

    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        update: &EndpointUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        let mut state = self.write();
        let endpoint = state.endpoint_mut(id)?;
        update.apply_to(endpoint, now);
        Ok(endpoint.clone())
    }

    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StoreResult<()> {
        let mut state = self.write();
        if state.webhook_endpoints.remove(&id).is_none() {
            return Err(StoreError::NotFound(Entity::WebhookEndpoint));
        }
        state.deliveries.retain(|_, d| d.endpoint_id != id);
        state.delivery_keys.retain(|(endpoint_id, _)| *endpoint_id != id);
        Ok(())
    }

    async fn rotate_endpoint_secret(
        &self,
        id: WebhookEndpointId,
        new: EndpointSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        let mut state = self.write();
        let endpoint = state.endpoint_mut(id)?;
        endpoint.secrets = endpoint.rotated_secrets(new, old_expires_at, now);
        endpoint.updated_at = now;
        Ok(endpoint.clone())
    }

    async fn disable_endpoint(
        &self,
        id: WebhookEndpointId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.write();
        let endpoint = state.endpoint_mut(id)?;
        endpoint.enabled = false;
        endpoint.disabled_reason = Some(webhook::bounded(reason));
        endpoint.updated_at = now;
        Ok(())
    }

    async fn fan_out(&self, now: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let mut state = self.write();
        let mut enabled: Vec<(DateTime<Utc>, WebhookEndpointId)> = state
            .webhook_endpoints
            .values()
            .filter(|e| e.enabled)
            .map(|e| (e.created_at, e.id))
            .collect();
        enabled.sort();
        Ok(enabled.into_iter().map(|(_, id)| state.fan_out_endpoint(id, now, batch)).sum())
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut state = self.write();
        let mut due: Vec<(DateTime<Utc>, DeliveryId)> = state
            .deliveries
            .iter()
            .filter(|(_, d)| {
                d.status == DeliveryStatus::Pending
                    && d.next_attempt_at <= now
                    && d.lease_until.is_none_or(|until| until <= now)
                    && state.webhook_endpoints.get(&d.endpoint_id).is_some_and(|e| e.enabled)
            })
            .map(|(id, d)| (d.next_attempt_at, *id))
            .collect();
        due.sort();
        let lease_until = webhook::lease_until(now, lease);
        let mut claimed = Vec::new();
        for (_, id) in due {
            if claimed.len() >= limit as usize {
                break;
            }
            let Some(stored) = state.deliveries.get(&id) else { continue };
            let Some(endpoint) = state.webhook_endpoints.get(&stored.endpoint_id) else { continue };
            let (url, secrets) = (endpoint.url.clone(), endpoint.live_secrets(now));
            let delivery = state.delivery(id, stored);
            let Some(stored) = state.deliveries.get_mut(&id) else { continue };
            match delivery {
                Some(delivery) => {
                    stored.lease_until = Some(lease_until);
                    claimed.push(ClaimedDelivery { delivery, url, secrets });
                }
                None => {
                    stored.status = DeliveryStatus::Dead;
                    stored.last_error = Some(webhook::EVENT_PURGED.to_owned());
                }
            }
        }
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut state = self.write();
        let stored =
            state.deliveries.get_mut(&id).ok_or(StoreError::NotFound(Entity::WebhookDelivery))?;
        if stored.status == DeliveryStatus::Delivered {
            return Ok(());
        }
        let outcome = record.outcome();
        stored.attempts = stored.attempts.saturating_add(1);
        stored.status = outcome.status;
        if let Some(at) = outcome.next_attempt_at {
            stored.next_attempt_at = at;
        }
        stored.lease_until = None;
        stored.last_attempt_at = Some(now);
        stored.last_status = outcome.last_status;
        stored.last_error = outcome.last_error;
        let endpoint_id = stored.endpoint_id;
        if let Ok(endpoint) = state.endpoint_mut(endpoint_id) {
            match outcome.endpoint {
                EndpointEffect::Recovered => endpoint.failing_since = None,
                EndpointEffect::Failing => {
                    endpoint.failing_since.get_or_insert(now);
                }
                EndpointEffect::Gone => {
                    endpoint.failing_since.get_or_insert(now);
                    endpoint.enabled = false;
                    endpoint.disabled_reason = Some(webhook::GONE_REASON.to_owned());
                    endpoint.updated_at = now;
                }
            }
        }
        Ok(())
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let state = self.read();
        Ok(state
            .deliveries
            .iter()
            .filter(|(id, d)| filter.matches(**id, d.endpoint_id, d.status))
            .filter_map(|(id, d)| state.delivery(*id, d))
            .take(limit as usize)
            .collect())
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
        let mut state = self.write();
        let mut stored = state
            .deliveries
            .get(&id)
            .filter(|d| state.event(d.event_sequence).is_some())
            .cloned()
            .ok_or(StoreError::NotFound(Entity::WebhookDelivery))?;
        if stored.status != DeliveryStatus::Delivered {
            stored.status = DeliveryStatus::Pending;
            stored.next_attempt_at = now;
            state.deliveries.insert(id, stored.clone());
        }
        state.delivery(id, &stored).ok_or(StoreError::NotFound(Entity::WebhookDelivery))
    }

    async fn backlog(&self, now: DateTime<Utc>) -> StoreResult<Backlog> {
        let state = self.read();
        let due: Vec<DateTime<Utc>> = state
            .deliveries
            .values()
            .filter(|d| {
                d.status == DeliveryStatus::Pending
                    && d.next_attempt_at <= now
                    && state.webhook_endpoints.get(&d.endpoint_id).is_some_and(|e| e.enabled)
            })
            .map(|d| d.next_attempt_at)
            .collect();
        Ok(Backlog { pending: due.len() as u64, oldest_pending_at: due.into_iter().min() })
    }
}
