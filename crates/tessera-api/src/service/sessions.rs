//! Member sessions: create, authenticate, list, revoke, add a factor (step-up), exchange.

use serde_json::Value;
use tessera_core::{
    AssuranceRequirement, AuthenticatedSession, AuthenticationFactor, AuthorizationCheck,
    CustomClaims, FactorInput, Member, MemberRef, MemberSession, Organization, OrganizationRef,
    RoleId, SessionAttributes, SessionDuration, SessionId, SessionTimes, SessionToken, Verdict,
    assurance,
};
use tessera_store::ExchangeFrom;

use super::SessionService;
use crate::{
    error::{ServiceError, ServiceResult},
    jwt::SessionJwt,
};

/// What a caller presents to prove a session.
#[derive(Clone, PartialEq, Eq)]
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
        }
    }

    pub fn with_factor(mut self, factor: FactorInput) -> Self {
        self.factors.push(factor);
        self
    }
}

/// A session with its freshly minted token: the only time the raw token exists server-side.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub session: AuthenticatedSession,
    pub token: SessionToken,
    pub roles: Vec<RoleId>,
    /// A session JWT minted at the operation's `now`, from the state after its writes.
    pub jwt: SessionJwt,
}

/// Input of [`SessionService::authenticate`].
#[derive(Debug, Clone, PartialEq)]
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

/// What to revoke.
#[derive(Debug, Clone, PartialEq)]
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
}

/// Input of [`SessionService::add_factor`].
#[derive(Debug, Clone, PartialEq)]
pub struct AddFactor {
    pub token: String,
    pub factor: FactorInput,
}

/// Input of [`SessionService::exchange`].
#[derive(Debug, Clone, PartialEq)]
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

const MAX_URL_LEN: usize = 2048;
const MAX_IP_LEN: usize = 64;
const MAX_USER_AGENT_LEN: usize = 1024;

fn check_return_url(url: String) -> ServiceResult<String> {
    let plausible = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= MAX_URL_LEN
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
        value.as_ref().is_some_and(|v| v.len() > max || v.chars().any(char::is_control))
    };
    if bad(&attributes.ip_address, MAX_IP_LEN) {
        return Err(ServiceError::invalid(
            "attributes.ip_address",
            "at most 64 printable characters",
        ));
    }
    if bad(&attributes.user_agent, MAX_USER_AGENT_LEN) {
        return Err(ServiceError::invalid(
            "attributes.user_agent",
            "at most 1024 printable characters",
        ));
    }
    Ok(())
}

impl SessionService {
    fn parse_token(&self, token: &str) -> ServiceResult<SessionToken> {
        Ok(SessionToken::parse(token, &self.config.token_prefix)?)
    }

    /// The live session behind a raw token.
    async fn session_for_token(
        &self,
        token: &SessionToken,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<AuthenticatedSession> {
        Ok(self.store.sessions.find_session_by_token(&token.hash(), now).await?)
    }

    fn initial_claims(&self, patch: Option<&Value>) -> ServiceResult<CustomClaims> {
        match patch {
            Some(patch) => Ok(CustomClaims::empty().patched(patch, &self.config.claim_namespaces)?),
            None => Ok(CustomClaims::empty()),
        }
    }

    /// Signs a member in: validates everything, then stores the session under its token's hash.
    pub async fn create_session(&self, request: CreateSession) -> ServiceResult<IssuedSession> {
        let now = self.clock.now();
        let factors = request
            .factors
            .into_iter()
            .map(|input| AuthenticationFactor::new(input, now))
            .collect::<Result<Vec<_>, _>>()?;
        let custom_claims = self.initial_claims(request.custom_claims.as_ref())?;
        let return_url = request.return_url.map(check_return_url).transpose()?;
        check_attributes(&request.attributes)?;

        let organization = self.store.organizations.get_organization(&request.organization).await?;
        let member = self.store.members.get_member(organization.id, &request.member).await?;
        let key = self.signing_key(now).await?;
        let duration = request.duration.unwrap_or(self.config.default_session_duration);
        let session = MemberSession {
            id: SessionId::generate(now, &mut self.rng()),
            organization_id: organization.id,
            member_id: member.id,
            times: SessionTimes::start(now, duration, &organization.settings.lifetime),
            authentication_factors: factors,
            custom_claims,
            attributes: request.attributes,
            return_url,
            updated_at: now,
        };
        let token = self.new_token();
        self.store.sessions.create_session(&session, &token.hash()).await?;
        let roles = self.policy.session_roles(&member.roles);
        let found = AuthenticatedSession { session, member, organization };
        let jwt = self.mint_jwt(&key, &found, &roles, now)?;
        Ok(IssuedSession { session: found, token, roles, jwt })
    }

    /// Trades a token or a session JWT for the session, member, organization, roles and a fresh
    /// JWT. Every check (MFA, step-up, authorization, claim rules) runs before any write; then
    /// the extension, the claims patch and the access record are written, the last one at most
    /// once per touch interval.
    ///
    /// A JWT is verified (signature, `alg` pinned to its key, `kid`, `typ`, `iss`, `aud`, `nbf`,
    /// `iat`; not `exp`), then its session is read by the organization and session id of its
    /// claims: a revoked session is refused even though its JWT has not expired.
    pub async fn authenticate(&self, request: Authenticate) -> ServiceResult<Authenticated> {
        let now = self.clock.now();
        let mut found = match &request.credential {
            Credential::Token(token) => {
                let token = self.parse_token(token)?;
                self.session_for_token(&token, now).await?
            }
            Credential::Jwt(jwt) => self.session_for_jwt(jwt, now).await?,
        };
        let roles = found.roles(&self.policy);

        assurance::check(
            &found.session.authentication_factors,
            found.organization.settings.mfa_policy,
            request.assurance,
            now,
        )?;
        let verdict = request
            .authorization_check
            .as_ref()
            .map(|check| self.policy.authorize(&found.subject(&roles), check))
            .transpose()?;
        let namespaces = &self.config.claim_namespaces;
        if let Some(patch) = &request.custom_claims {
            // Refuse a bad patch before the extension is written; the store re-applies it
            // atomically against the current claims.
            found.session.custom_claims.patched(patch, namespaces)?;
        }
        let key = match request.with_jwt {
            true => Some(self.signing_key(now).await?),
            false => None,
        };

        let (organization_id, session_id) = (found.organization.id, found.session.id);
        let mut access_recorded = false;
        if let Some(duration) = request.extend_by {
            let expires_at = found.session.times.extended_expiry(
                now,
                duration,
                &found.organization.settings.lifetime,
            );
            found.session = self
                .store
                .sessions
                .extend_session(organization_id, session_id, expires_at, now)
                .await?;
            access_recorded = true;
        }
        if let Some(patch) = &request.custom_claims {
            found.session = self
                .store
                .sessions
                .patch_session_claims(organization_id, session_id, patch, namespaces, now)
                .await?;
        }
        let interval = self.config.touch_interval;
        if !access_recorded
            && found.session.times.touch_due(now, interval)
            && self.store.sessions.touch_session(organization_id, session_id, now, interval).await?
        {
            found.session.times.last_accessed_at = now;
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
        let now = self.clock.now();
        let (member, organization) = self.get_member(organization, member).await?;
        let sessions =
            self.store.sessions.list_member_sessions(organization.id, member.id, now).await?;
        let roles = self.policy.session_roles(&member.roles);
        Ok(MemberSessions { sessions, member, organization, roles })
    }

    /// Revokes one session (by id or token) or all of a member's; returns how many ended.
    /// Revoking a session that is not live is `session_not_found`.
    pub async fn revoke(&self, target: Revoke) -> ServiceResult<u64> {
        let now = self.clock.now();
        match target {
            Revoke::Session { organization, session_id } => {
                let organization_id = match organization {
                    Some(organization) => {
                        self.store.organizations.get_organization(&organization).await?.id
                    }
                    None => self.store.sessions.find_session_organization(session_id).await?,
                };
                self.store.sessions.revoke_session(organization_id, session_id, now).await?;
                Ok(1)
            }
            Revoke::Token(token) => {
                let token = self.parse_token(&token)?;
                let found = self.session_for_token(&token, now).await?;
                self.store
                    .sessions
                    .revoke_session(found.organization.id, found.session.id, now)
                    .await?;
                Ok(1)
            }
            Revoke::Jwt(jwt) => {
                let found = self.session_for_jwt(&jwt, now).await?;
                self.store
                    .sessions
                    .revoke_session(found.organization.id, found.session.id, now)
                    .await?;
                Ok(1)
            }
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
                Ok(self
                    .store
                    .sessions
                    .revoke_member_sessions(organization.id, member.id, now)
                    .await?)
            }
        }
    }

    /// Step-up: records a newly proved factor on a live session and rotates its token. The old
    /// token is dead the moment this returns; the new one is in the result.
    pub async fn add_factor(&self, request: AddFactor) -> ServiceResult<IssuedSession> {
        let now = self.clock.now();
        let token = self.parse_token(&request.token)?;
        let factor = AuthenticationFactor::new(request.factor, now)?;
        let found = self.session_for_token(&token, now).await?;

        let mut factors = found.session.authentication_factors.clone();
        match factors.iter_mut().find(|f| f.same_proof_as(&factor)) {
            Some(existing) => *existing = existing.reauthenticated(factor.last_authenticated_at()),
            None => factors.push(factor),
        }
        let key = self.signing_key(now).await?;
        let next = self.new_token();
        let session = self
            .store
            .sessions
            .rotate_session_token(
                found.organization.id,
                found.session.id,
                &token.hash(),
                &next.hash(),
                &factors,
                now,
            )
            .await?;
        let roles = found.roles(&self.policy);
        let found = AuthenticatedSession { session, ..found };
        let jwt = self.mint_jwt(&key, &found, &roles, now)?;
        Ok(IssuedSession { session: found, token: next, roles, jwt })
    }

    /// Moves the person behind a session into another organization of the deployment: a new
    /// session for their membership there (same email), carrying only the factors valid there
    /// (email-based ones).
    ///
    /// With a token, the old session is revoked in the same transaction that stores the new one,
    /// on condition that its token is still the one presented. With a session JWT, the store
    /// offers no such statement (its atomic exchange is keyed by the token hash, which a JWT does
    /// not carry): the old session is revoked first (conditionally on being live), then the new
    /// one is stored. If the second write fails, the caller has no session left and must sign in
    /// again: it fails closed, never leaving two sessions.
    pub async fn exchange(&self, request: Exchange) -> ServiceResult<IssuedSession> {
        let now = self.clock.now();
        // Every input is checked before the first read, as in every operation.
        let custom_claims;
        let (found, token) = match &request.credential {
            Credential::Token(raw) => {
                let token = self.parse_token(raw)?;
                custom_claims = self.initial_claims(request.custom_claims.as_ref())?;
                (self.session_for_token(&token, now).await?, Some(token))
            }
            Credential::Jwt(jwt) => {
                custom_claims = self.initial_claims(request.custom_claims.as_ref())?;
                (self.session_for_jwt(jwt, now).await?, None)
            }
        };

        let target = self.store.organizations.get_organization(&request.organization).await?;
        if target.id == found.organization.id {
            return Err(ServiceError::invalid(
                "organization_id",
                "the session already belongs to this organization",
            ));
        }
        let member = self
            .store
            .members
            .get_member(target.id, &MemberRef::Email(found.member.email_address.clone()))
            .await?;
        let factors: Vec<AuthenticationFactor> = found
            .session
            .authentication_factors
            .iter()
            .filter(|f| f.carries_across_organizations())
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

        let key = self.signing_key(now).await?;
        let duration = request.duration.unwrap_or(self.config.default_session_duration);
        let session = MemberSession {
            id: SessionId::generate(now, &mut self.rng()),
            organization_id: target.id,
            member_id: member.id,
            times: SessionTimes::start(now, duration, &target.settings.lifetime),
            authentication_factors: factors,
            custom_claims,
            attributes: found.session.attributes.clone(),
            return_url: found.session.return_url.clone(),
            updated_at: now,
        };
        let next = self.new_token();
        match token {
            Some(token) => {
                let from = ExchangeFrom {
                    organization_id: found.organization.id,
                    session_id: found.session.id,
                    token_hash: token.hash(),
                };
                self.store.sessions.exchange_session(&from, &session, &next.hash(), now).await?;
            }
            None => {
                self.store
                    .sessions
                    .revoke_session(found.organization.id, found.session.id, now)
                    .await?;
                self.store.sessions.create_session(&session, &next.hash()).await?;
            }
        }
        let roles = self.policy.session_roles(&member.roles);
        let found = AuthenticatedSession { session, member, organization: target };
        let jwt = self.mint_jwt(&key, &found, &roles, now)?;
        Ok(IssuedSession { session: found, token: next, roles, jwt })
    }
}
