//! Member sessions: create, authenticate, list, revoke, add a factor (step-up), exchange.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tessera_core::{
    AssuranceRequirement, AuthenticatedSession, AuthenticationFactor, AuthorizationCheck,
    CustomClaims, EventRecord, EventType, FactorInput, Member, MemberRef, MemberSession,
    Organization, OrganizationRef, RoleId, SessionAttributes, SessionDuration, SessionId,
    SessionTimes, SessionToken, Verdict, assurance, factor::check_factor_count, touch_threshold,
};
use tessera_store::{AuthenticationWrite, SessionKey};

use super::SessionService;
use crate::{
    error::{ServiceError, ServiceResult},
    jwt::SessionJwt,
};

/// What a caller presents to prove a session. A bearer secret: `Debug` redacts it, and it has
/// no `PartialEq` (a comparison of secrets must be constant-time, and nothing here needs one).
#[derive(Clone)]
pub enum Credential {
    /// The opaque session token.
    Token(String),
    /// A session JWT. Accepted even if expired by its `exp`, as long as its signature verifies
    /// and its session is live (Stytch's behaviour): the answer carries a fresh JWT.
    Jwt(String),
}

impl std::fmt::Debug for Credential {
    /// Both forms are bearer secrets: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Credential::Token([redacted])"),
            Self::Jwt(_) => f.write_str("Credential::Jwt([redacted])"),
        }
    }
}

/// Input of [`SessionService::create_session`].
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSession {
    pub organization: OrganizationRef,
    pub member: MemberRef,
    /// The factors the host application verified, in the order they were proved.
    pub factors: Vec<FactorInput>,
    /// `None`: the deployment's default (60 minutes unless configured).
    pub duration: Option<SessionDuration>,
    /// Initial custom claims, as a merge patch onto `{}`.
    pub custom_claims: Option<Value>,
    pub return_url: Option<String>,
    pub attributes: SessionAttributes,
    /// Whether a sign-in that does not meet the organization's MFA policy becomes a session
    /// pending MFA (default) or is refused with `mfa_required`, writing nothing (for callers
    /// with no way to add a factor later, such as Polar's routes).
    pub allow_pending_mfa: bool,
    /// Which API the sign-in came through (its `session.created` event says).
    pub method: SignInMethod,
}

/// Which API a sign-in came through, as its `session.created` event records it (`method`; an
/// exchange's is `exchange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignInMethod {
    /// Stytch's B2B sessions API, or an embedding host.
    #[default]
    Api,
    /// Polar's member (customer) sessions API.
    Polar,
}

impl SignInMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Polar => "polar",
        }
    }
}

/// The payload of a `session.created` event: how, and with which factors (their types only).
fn created(event: EventRecord, session: &MemberSession, method: &str) -> EventRecord {
    let factors: Vec<&str> =
        session.authentication_factors.iter().map(|f| f.factor_type().as_str()).collect();
    event
        .organization(session.organization_id)
        .member(session.member_id)
        .session(session.id)
        .with("method", method)
        .with("factors", factors)
        .with("expires_at", session.times.expires_at.to_rfc3339())
}

/// A `session.revoked` event of one session.
fn revoked_one(event: EventRecord, session: &MemberSession, reason: &str) -> EventRecord {
    event
        .organization(session.organization_id)
        .member(session.member_id)
        .session(session.id)
        .with("scope", "session")
        .with("reason", reason)
}

impl CreateSession {
    pub fn new(organization: OrganizationRef, member: MemberRef) -> Self {
        Self {
            organization,
            member,
            factors: Vec::new(),
            duration: None,
            custom_claims: None,
            return_url: None,
            attributes: SessionAttributes::default(),
            allow_pending_mfa: true,
            method: SignInMethod::Api,
        }
    }

    /// Records the sign-in as made through Polar's API.
    pub fn via_polar(mut self) -> Self {
        self.method = SignInMethod::Polar;
        self
    }

    /// Refuse (`mfa_required`) instead of creating a session pending MFA.
    pub fn refusing_pending_mfa(mut self) -> Self {
        self.allow_pending_mfa = false;
        self
    }

    pub fn with_factor(mut self, factor: FactorInput) -> Self {
        self.factors.push(factor);
        self
    }
}

/// How long a sign-in that does not yet meet its organization's MFA policy lives before a
/// factor is added (Stytch's intermediate sessions live 10 minutes).
pub const PENDING_MFA_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// A session with its freshly minted token: the only time the raw token exists server-side.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub session: AuthenticatedSession,
    pub token: SessionToken,
    pub roles: Vec<RoleId>,
    /// A session JWT minted at the operation's `now`, from the state after its writes; `None`
    /// while the session does not meet its organization's MFA policy ([`Self::is_pending_mfa`]).
    pub jwt: Option<SessionJwt>,
}

impl IssuedSession {
    /// Whether the session still lacks the factors its organization's MFA policy requires: its
    /// token then serves only to add a factor ([`SessionService::add_factor`]); authenticate
    /// refuses it (`mfa_required`) and no session JWT exists for it, so no relying service can
    /// accept it. Stytch calls such a session an intermediate session.
    pub fn is_pending_mfa(&self) -> bool {
        !self.session.meets_mfa_policy()
    }
}

/// Input of [`SessionService::authenticate`].
#[derive(Debug, Clone)]
pub struct Authenticate {
    pub credential: Credential,
    /// Extend the session to `now + duration` (capped by the absolute lifetime). Without it the
    /// session is not extended (Stytch's rule).
    pub extend_by: Option<SessionDuration>,
    /// A JSON Merge Patch for the session's custom claims.
    pub custom_claims: Option<Value>,
    pub authorization_check: Option<AuthorizationCheck>,
    /// Step-up: require MFA and/or a recent factor, on top of the organization's policy.
    pub assurance: AssuranceRequirement,
    /// Answer with a session JWT (default; the HTTP API always does). An embedding host that
    /// only needs the answer can skip it, and the signature it costs.
    pub with_jwt: bool,
}

impl Authenticate {
    pub fn new(credential: Credential) -> Self {
        Self {
            credential,
            extend_by: None,
            custom_claims: None,
            authorization_check: None,
            assurance: AssuranceRequirement::default(),
            with_jwt: true,
        }
    }

    /// Answer without a session JWT.
    pub fn without_jwt(mut self) -> Self {
        self.with_jwt = false;
        self
    }
}

/// The answer to an authenticate: who, where, with which roles, and the verdict if one was asked.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: AuthenticatedSession,
    pub roles: Vec<RoleId>,
    pub verdict: Option<Verdict>,
    /// A session JWT of the state after the operation's writes (unless the request asked for
    /// none): minted at the operation's `now`, or, when nothing in its claims changed, the one
    /// minted for this session less than `JwtProfile::reuse_window` ago.
    pub jwt: Option<SessionJwt>,
}

/// What to revoke. `Debug` redacts the token and the JWT.
#[derive(Clone)]
pub enum Revoke {
    /// One session by id. Ids are global, so the organization may be left out: the session is
    /// then found deployment-wide (for callers holding the project credentials).
    Session {
        organization: Option<OrganizationRef>,
        session_id: SessionId,
    },
    Token(String),
    /// The session a session JWT designates (its signature must verify; an expired JWT of a live
    /// session is accepted, as on authenticate).
    Jwt(String),
    /// Every live session of the member. Without an organization, the member must be named by
    /// id (external ids and emails are only unique within an organization).
    Member {
        organization: Option<OrganizationRef>,
        member: MemberRef,
    },
    /// Every live session of the organization, but `except` (e.g. the administrator's own).
    Organization {
        organization: OrganizationRef,
        except: Option<SessionId>,
    },
    /// Every live session of the deployment: an operator's act (`tessera sessions revoke-all`).
    Deployment,
}

impl std::fmt::Debug for Revoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session { organization, session_id } => f
                .debug_struct("Session")
                .field("organization", organization)
                .field("session_id", session_id)
                .finish(),
            Self::Token(_) => f.write_str("Token([redacted])"),
            Self::Jwt(_) => f.write_str("Jwt([redacted])"),
            Self::Organization { organization, except } => f
                .debug_struct("Organization")
                .field("organization", organization)
                .field("except", except)
                .finish(),
            Self::Deployment => f.write_str("Deployment"),
            Self::Member { organization, member } => f
                .debug_struct("Member")
                .field("organization", organization)
                .field("member", member)
                .finish(),
        }
    }
}

/// Input of [`SessionService::add_factor`] (step-up). `Debug` redacts the token.
#[derive(Clone)]
pub struct AddFactor {
    /// The session token (of a full session, or of one pending MFA).
    pub token: String,
    pub factor: FactorInput,
    /// Extend the session to `now + duration` (capped by the absolute lifetime). Without it a
    /// full session keeps its expiry, and a session pending MFA that this factor completes gets
    /// the deployment's default duration.
    pub duration: Option<SessionDuration>,
}

impl AddFactor {
    pub fn new(token: impl Into<String>, factor: FactorInput) -> Self {
        Self { token: token.into(), factor, duration: None }
    }
}

impl std::fmt::Debug for AddFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddFactor")
            .field("token", &"[redacted]")
            .field("factor", &self.factor)
            .field("duration", &self.duration)
            .finish()
    }
}

/// Input of [`SessionService::exchange`].
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The session to leave: its token or a session JWT (Stytch accepts both). See
    /// [`SessionService::exchange`] for the one difference between them.
    pub credential: Credential,
    /// The organization to move into.
    pub organization: OrganizationRef,
    pub duration: Option<SessionDuration>,
    pub custom_claims: Option<Value>,
}

/// A member's active sessions.
#[derive(Debug, Clone)]
pub struct MemberSessions {
    pub sessions: Vec<MemberSession>,
    pub member: Member,
    pub organization: Organization,
    pub roles: Vec<RoleId>,
}

/// Longest `return_url` accepted, in characters.
pub const RETURN_URL_MAX_CHARS: usize = 2048;
/// Longest session `ip_address` attribute accepted, in characters.
pub const IP_ADDRESS_MAX_CHARS: usize = 64;
/// Longest session `user_agent` attribute accepted, in characters.
pub const USER_AGENT_MAX_CHARS: usize = 1024;

fn check_return_url(url: String) -> ServiceResult<String> {
    let plausible = (url.starts_with("https://") || url.starts_with("http://"))
        && url.chars().count() <= RETURN_URL_MAX_CHARS
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible {
        Ok(url)
    } else {
        Err(ServiceError::invalid(
            "return_url",
            "must be an absolute http(s) URL of at most 2048 characters without whitespace",
        ))
    }
}

fn check_attributes(attributes: &SessionAttributes) -> ServiceResult<()> {
    let bad = |value: &Option<String>, max: usize| {
        value.as_ref().is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control))
    };
    if bad(&attributes.ip_address, IP_ADDRESS_MAX_CHARS) {
        return Err(ServiceError::invalid(
            "attributes.ip_address",
            "at most 64 printable characters",
        ));
    }
    if bad(&attributes.user_agent, USER_AGENT_MAX_CHARS) {
        return Err(ServiceError::invalid(
            "attributes.user_agent",
            "at most 1024 printable characters",
        ));
    }
    Ok(())
}

impl SessionService {
    fn parse_token(&self, token: &str) -> ServiceResult<SessionToken> {
        Ok(SessionToken::parse(token, &self.shared.config.token_prefix)?)
    }

    /// The live session behind a raw token.
    async fn session_for_token(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> ServiceResult<AuthenticatedSession> {
        Ok(self.shared.store.sessions.find_session_by_token(&token.hash(), now).await?)
    }

    /// The live session behind a credential, token or JWT (see [`Self::session_for_jwt`]).
    async fn session_for(
        &self,
        credential: &Credential,
        now: DateTime<Utc>,
    ) -> ServiceResult<AuthenticatedSession> {
        match credential {
            Credential::Token(token) => {
                let token = self.parse_token(token)?;
                self.session_for_token(&token, now).await
            }
            Credential::Jwt(jwt) => self.session_for_jwt(jwt, now).await,
        }
    }

    fn initial_claims(&self, patch: Option<&Value>) -> ServiceResult<CustomClaims> {
        match patch {
            Some(patch) => {
                Ok(CustomClaims::empty().patched(patch, &self.shared.config.claim_namespaces)?)
            }
            None => Ok(CustomClaims::empty()),
        }
    }

    /// Signs a member in: validates everything, then stores the session under its token's hash.
    ///
    /// If the factors do not meet the organization's MFA policy, the session is **pending MFA**
    /// ([`IssuedSession::is_pending_mfa`]): it lives at most [`PENDING_MFA_LIFETIME`], carries no
    /// JWT, and its token serves only [`Self::add_factor`] until the missing factor is added.
    pub async fn create_session(&self, request: CreateSession) -> ServiceResult<IssuedSession> {
        let now = self.shared.clock.now();
        check_factor_count(request.factors.len())?;
        let factors = request
            .factors
            .into_iter()
            .map(|input| AuthenticationFactor::new(input, now))
            .collect::<Result<Vec<_>, _>>()?;
        let custom_claims = self.initial_claims(request.custom_claims.as_ref())?;
        let return_url = request.return_url.map(check_return_url).transpose()?;
        check_attributes(&request.attributes)?;

        let organization =
            self.shared.store.organizations.get_organization(&request.organization).await?;
        let member = self.shared.store.members.get_member(organization.id, &request.member).await?;
        let pending_mfa = !organization.settings.mfa_policy.is_met_by(&factors);
        if pending_mfa && !request.allow_pending_mfa {
            return Err(tessera_core::Error::MfaRequired.into());
        }
        let key = match pending_mfa {
            true => None,
            false => Some(self.signing_key(now).await?),
        };
        let duration = request.duration.unwrap_or(self.shared.config.default_session_duration);
        let mut times = SessionTimes::start(now, duration, &organization.settings.lifetime);
        if pending_mfa {
            times.expires_at = times.expires_at.min(now + PENDING_MFA_LIFETIME);
        }
        let session = MemberSession {
            id: SessionId::generate(now, &mut self.rng()),
            organization_id: organization.id,
            member_id: member.id,
            times,
            authentication_factors: factors,
            custom_claims,
            attributes: request.attributes,
            return_url,
            updated_at: now,
            token_generation: 0,
        };
        let token = self.new_token();
        let events = self.record(EventType::SessionCreated, now, |e| {
            created(e, &session, request.method.as_str())
        });
        let made_room =
            self.shared.store.sessions.create_session(&session, &token.hash(), &events).await?;
        self.remember_revoked(&made_room, now);
        let roles = self.shared.policy.session_roles(&member.roles);
        let found = AuthenticatedSession {
            session,
            member: Arc::new(member),
            organization: Arc::new(organization),
        };
        let jwt = key.map(|key| self.mint_jwt(&key, &found, &roles, now)).transpose()?;
        Ok(IssuedSession { session: found, token, roles, jwt })
    }

    /// Trades a token or a session JWT for the session, member, organization, roles and a fresh
    /// JWT. Every check (MFA, step-up, authorization, claim rules) runs before any write; then
    /// the extension, the claims patch and the access record (coalesced: at most once per
    /// [`touch_threshold`]) are written **in one store call, in one transaction**, all or
    /// nothing, and only while the session still holds the token generation that was read.
    ///
    /// A JWT is verified (signature, `alg` pinned to its key, `kid`, `typ`, `iss`, `aud`, `nbf`,
    /// `iat` not older than [`crate::JwtProfile::max_refresh_age`]; not `exp`), then its session
    /// is read by the organization and session id of its claims: a revoked session, or one whose
    /// token was rotated since the JWT was minted, is refused even though the JWT has not expired.
    pub async fn authenticate(&self, request: Authenticate) -> ServiceResult<Authenticated> {
        let now = self.shared.clock.now();
        let mut found = self.session_for(&request.credential, now).await?;
        let roles = found.roles(&self.shared.policy);

        assurance::check(
            &found.session.authentication_factors,
            found.organization.settings.mfa_policy,
            request.assurance,
            now,
        )?;
        let verdict = request
            .authorization_check
            .as_ref()
            .map(|check| self.shared.policy.authorize(&found.subject(&roles), check))
            .transpose()?;
        let namespaces = &self.shared.config.claim_namespaces;
        if let Some(patch) = &request.custom_claims {
            // Refuse a bad patch before anything is written; the store re-applies it atomically
            // against the claims as stored.
            found.session.custom_claims.patched(patch, namespaces)?;
        }
        let key = match request.with_jwt {
            true => Some(self.signing_key(now).await?),
            false => None,
        };

        let lifetime = &found.organization.settings.lifetime;
        let interval = self.shared.config.touch_interval;
        let write = AuthenticationWrite {
            expires_at: request
                .extend_by
                .map(|duration| found.session.times.extended_expiry(now, duration, lifetime)),
            claims_patch: request.custom_claims,
            touch_if_accessed_by: found
                .session
                .times
                .touch_due(now, interval, lifetime)
                .then(|| now - touch_threshold(interval, lifetime)),
        };
        if !write.is_empty() {
            let events = match write.expires_at {
                Some(expires_at) if self.shared.config.events.record_extensions => {
                    self.record(EventType::SessionExtended, now, |e| {
                        e.organization(found.session.organization_id)
                            .member(found.session.member_id)
                            .session(found.session.id)
                            .with("expires_at", expires_at.to_rfc3339())
                    })
                }
                _ => Vec::new(),
            };
            found.session = self
                .shared
                .store
                .sessions
                .record_authentication(
                    &SessionKey::of(&found.session),
                    &write,
                    namespaces,
                    now,
                    &events,
                )
                .await?;
        }
        let jwt = key.map(|key| self.reuse_or_mint_jwt(&key, &found, &roles, now)).transpose()?;
        Ok(Authenticated { session: found, roles, verdict, jwt })
    }

    /// A member's active sessions, oldest first.
    pub async fn list_sessions(
        &self,
        organization: &OrganizationRef,
        member: &MemberRef,
    ) -> ServiceResult<MemberSessions> {
        let now = self.shared.clock.now();
        let (member, organization) = self.get_member(organization, member).await?;
        let sessions = self
            .shared
            .store
            .sessions
            .list_member_sessions(organization.id, member.id, now)
            .await?;
        let roles = self.shared.policy.session_roles(&member.roles);
        Ok(MemberSessions { sessions, member, organization, roles })
    }

    /// Revokes one session (by id, token or JWT) or all of a member's; returns how many ended.
    /// Revoking a session that is not live is `session_not_found`, and so is revoking by a JWT
    /// minted before the session's token was rotated (it no longer designates the session).
    pub async fn revoke(&self, target: Revoke) -> ServiceResult<u64> {
        let now = self.shared.clock.now();
        match target {
            Revoke::Session { organization, session_id } => {
                let organization_id = match organization {
                    Some(organization) => {
                        self.shared.store.organizations.get_organization(&organization).await?.id
                    }
                    None => {
                        self.shared.store.sessions.find_session_organization(session_id).await?
                    }
                };
                // Read first, so that the event names the member (a session that is not live
                // is `session_not_found` either way).
                let found = self
                    .shared
                    .store
                    .sessions
                    .find_session_by_id(organization_id, session_id, now)
                    .await?;
                let events = self.record(EventType::SessionRevoked, now, |e| {
                    revoked_one(e, &found.session, "revoked_by_id")
                });
                self.shared
                    .store
                    .sessions
                    .revoke_session(organization_id, session_id, None, now, &events)
                    .await?;
                self.shared.revoked.revoke_session(session_id, now, self.revocation_retention());
                Ok(1)
            }
            Revoke::Token(token) => self.revoke_found(&Credential::Token(token), now).await,
            Revoke::Jwt(jwt) => self.revoke_found(&Credential::Jwt(jwt), now).await,
            Revoke::Member { organization, member } => {
                let organization = match (organization, &member) {
                    (Some(organization), _) => organization,
                    (None, MemberRef::Id(id)) => self.locate_member(*id).await?.into(),
                    (None, _) => {
                        return Err(ServiceError::invalid(
                            "organization_id",
                            "needed to find a member by external id or email",
                        ));
                    }
                };
                let (member, organization) = self.get_member(&organization, &member).await?;
                let events = self.record(EventType::SessionRevoked, now, |e| {
                    e.organization(organization.id)
                        .member(member.id)
                        .with("scope", "member")
                        .with("reason", "revoked_by_member")
                });
                let ended = self
                    .shared
                    .store
                    .sessions
                    .revoke_member_sessions(organization.id, member.id, now, &events)
                    .await?;
                self.shared.revoked.revoke_member(
                    organization.id,
                    member.id,
                    now,
                    self.revocation_retention(),
                );
                Ok(ended)
            }
            Revoke::Organization { organization, except } => {
                let organization =
                    self.shared.store.organizations.get_organization(&organization).await?;
                let events = self.record(EventType::SessionRevoked, now, |e| {
                    let e = e
                        .organization(organization.id)
                        .with("scope", "organization")
                        .with("reason", "revoked_by_organization");
                    match except {
                        Some(except) => e.with("except_session_id", except.to_string()),
                        None => e,
                    }
                });
                let ended = self
                    .shared
                    .store
                    .sessions
                    .revoke_organization_sessions(organization.id, except, now, &events)
                    .await?;
                self.shared.revoked.revoke_organization(
                    organization.id,
                    except,
                    now,
                    self.revocation_retention(),
                );
                Ok(ended)
            }
            Revoke::Deployment => {
                let events = self.record(EventType::SessionRevoked, now, |e| {
                    e.with("scope", "deployment").with("reason", "revoked_by_operator")
                });
                let ended = self.shared.store.sessions.revoke_all_sessions(now, &events).await?;
                self.shared.revoked.revoke_deployment(now, self.revocation_retention());
                Ok(ended)
            }
        }
    }

    /// Records sessions the store revoked to make room under a session limit, for the local
    /// JWT path.
    fn remember_revoked(&self, sessions: &[SessionId], now: DateTime<Utc>) {
        for session in sessions {
            self.shared.revoked.revoke_session(*session, now, self.revocation_retention());
        }
    }

    /// Revokes the session a credential designates, while it still holds the token generation
    /// the credential was minted for.
    async fn revoke_found(
        &self,
        credential: &Credential,
        now: DateTime<Utc>,
    ) -> ServiceResult<u64> {
        let found = self.session_for(credential, now).await?;
        let session = &found.session;
        let reason = match credential {
            Credential::Token(_) => "revoked_by_token",
            Credential::Jwt(_) => "revoked_by_jwt",
        };
        let events =
            self.record(EventType::SessionRevoked, now, |e| revoked_one(e, session, reason));
        self.shared
            .store
            .sessions
            .revoke_session(
                session.organization_id,
                session.id,
                Some(session.token_generation),
                now,
                &events,
            )
            .await?;
        self.shared.revoked.revoke_session(session.id, now, self.revocation_retention());
        Ok(1)
    }

    /// Step-up: records a newly proved factor on a live session (a full one, or one pending
    /// MFA) and rotates its token. The old token, and every JWT minted before, are dead the
    /// moment this returns; the new token is in the result, with a JWT if the session now meets
    /// its organization's MFA policy.
    pub async fn add_factor(&self, request: AddFactor) -> ServiceResult<IssuedSession> {
        let now = self.shared.clock.now();
        let token = self.parse_token(&request.token)?;
        let factor = AuthenticationFactor::new(request.factor, now)?;
        let factor_type = factor.factor_type();
        let found = self.session_for_token(&token, now).await?;

        let mut factors = found.session.authentication_factors.clone();
        match factors.iter_mut().find(|f| f.same_proof_as(&factor)) {
            Some(existing) => *existing = existing.reauthenticated(factor.last_authenticated_at()),
            None => factors.push(factor),
        }
        check_factor_count(factors.len())?;
        let policy = found.organization.settings.mfa_policy;
        let completes_mfa = !found.meets_mfa_policy() && policy.is_met_by(&factors);
        let key = match policy.is_met_by(&factors) {
            true => Some(self.signing_key(now).await?),
            false => None,
        };
        // A session that just met its MFA policy starts its real lifetime now.
        let duration = request
            .duration
            .or(completes_mfa.then_some(self.shared.config.default_session_duration));
        let lifetime = &found.organization.settings.lifetime;
        let expires_at =
            duration.map(|duration| found.session.times.extended_expiry(now, duration, lifetime));
        let next = self.new_token();
        let events = self.record(EventType::SessionTokenRotated, now, |e| {
            e.organization(found.session.organization_id)
                .member(found.session.member_id)
                .session(found.session.id)
                .with("factor", factor_type.as_str())
                .with("token_generation", found.session.token_generation + 1)
                .with("completes_mfa", completes_mfa)
        });
        let session = self
            .shared
            .store
            .sessions
            .rotate_session_token(
                &SessionKey::of(&found.session),
                &next.hash(),
                &factors,
                expires_at,
                now,
                &events,
            )
            .await?;
        self.shared.revoked.rotate_session(
            session.id,
            session.token_generation,
            now,
            self.revocation_retention(),
        );
        let roles = found.roles(&self.shared.policy);
        let found = AuthenticatedSession { session, ..found };
        let jwt = key.map(|key| self.mint_jwt(&key, &found, &roles, now)).transpose()?;
        Ok(IssuedSession { session: found, token: next, roles, jwt })
    }

    /// Moves the person behind a session into another organization of the deployment: a new
    /// session for their membership there (same email), carrying only the factors that prove
    /// that email (an email-delivered factor naming the address), and **keeping the sign-in
    /// time**: the new session's absolute lifetime counts from the original sign-in, so hopping
    /// between organizations never outlives it.
    ///
    /// The old session must be a full one (a session pending MFA only steps up), and is revoked
    /// in the same transaction that stores the new one, on condition that it still holds the
    /// token generation that was read; with a token or with a JWT alike.
    pub async fn exchange(&self, request: Exchange) -> ServiceResult<IssuedSession> {
        let now = self.shared.clock.now();
        // Every input is checked before the first read, as in every operation (the credential's
        // shape too, by `session_for`).
        let custom_claims = self.initial_claims(request.custom_claims.as_ref())?;
        let found = self.session_for(&request.credential, now).await?;
        if !found.meets_mfa_policy() {
            return Err(tessera_core::Error::MfaRequired.into());
        }

        let target =
            self.shared.store.organizations.get_organization(&request.organization).await?;
        if target.id == found.organization.id {
            return Err(ServiceError::invalid(
                "organization_id",
                "the session already belongs to this organization",
            ));
        }
        let member = self
            .shared
            .store
            .members
            .get_member(target.id, &MemberRef::Email(found.member.email_address.clone()))
            .await?;
        let factors: Vec<AuthenticationFactor> = found
            .session
            .authentication_factors
            .iter()
            .filter(|f| f.proves_email(&member.email_address))
            .cloned()
            .collect();
        if factors.is_empty() {
            return Err(ServiceError::InsufficientFactorsForExchange);
        }
        assurance::check(
            &factors,
            target.settings.mfa_policy,
            AssuranceRequirement::default(),
            now,
        )?;

        let duration = request.duration.unwrap_or(self.shared.config.default_session_duration);
        let times = SessionTimes::continuing(
            found.session.times.started_at,
            now,
            duration,
            &target.settings.lifetime,
        );
        if !times.status(now, &target.settings.lifetime).is_active() {
            return Err(tessera_core::Error::SignInTooOld {
                max_lifetime_minutes: target.settings.lifetime.max_lifetime.minutes(),
            }
            .into());
        }
        let key = self.signing_key(now).await?;
        let session = MemberSession {
            id: SessionId::generate(now, &mut self.rng()),
            organization_id: target.id,
            member_id: member.id,
            times,
            authentication_factors: factors,
            custom_claims,
            attributes: found.session.attributes.clone(),
            return_url: found.session.return_url.clone(),
            updated_at: now,
            token_generation: 0,
        };
        let next = self.new_token();
        let mut events = self.record(EventType::SessionCreated, now, |e| {
            created(e, &session, "exchange").with("exchanged_from", found.session.id.to_string())
        });
        events.extend(self.record(EventType::SessionExchanged, now, |e| {
            revoked_one(e, &found.session, "exchanged")
                .with("to_organization_id", target.id.to_string())
                .with("to_session_id", session.id.to_string())
        }));
        let made_room = self
            .shared
            .store
            .sessions
            .exchange_session(&SessionKey::of(&found.session), &session, &next.hash(), now, &events)
            .await?;
        self.shared.revoked.revoke_session(found.session.id, now, self.revocation_retention());
        self.remember_revoked(&made_room, now);
        let roles = self.shared.policy.session_roles(&member.roles);
        let found = AuthenticatedSession {
            session,
            member: Arc::new(member),
            organization: Arc::new(target),
        };
        let jwt = self.mint_jwt(&key, &found, &roles, now)?;
        Ok(IssuedSession { session: found, token: next, roles, jwt: Some(jwt) })
    }
}
