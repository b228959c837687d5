//! The integrity holes found in review (issue 11), one regression test each: each test of a
//! numbered hole failed on the code before its fix. The last test, written with the bounds it
//! pins, checks that the largest session Tessera accepts still makes a JWT it verifies.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tessera_api::{
    AddFactor, Authenticate, Clock, Credential, Exchange, ServiceConfig, SessionService,
    UpdateMember, UpdateOrganization,
};
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, ErrorType, EventRecord,
    IdleTimeout, MaxLifetime, Member, MemberId, MemberRef, MemberSession, MemberUpdate, MfaPolicy,
    OrganizationId, OrganizationRef, RoleId, SessionDuration, SessionId, TokenHash, TouchInterval,
};
use tessera_store::{
    AuthenticationWrite, MemberRepository, SessionKey, SessionRepository, StoreError, StoreResult,
};

use crate::{
    harness::{FullJwt, Harness, email_factor, factor_input, on_every_store, t0},
    jwt::{forge, header, local, payload, remote, rsa_sign, stored_signer},
};

fn token(t: &tessera_core::SessionToken) -> Credential {
    Credential::Token(t.expose().to_owned())
}

on_every_store! {
    /// Hole 1: a single-factor sign-in into a `REQUIRED_FOR_ALL` organization must not carry a
    /// JWT that relying services accept. It is pending MFA: short-lived, no JWT, its token good
    /// only for adding the missing factor, after which it is a full session with a JWT.
    async fn mfa_policy_holds_at_sign_in(h: Harness) {
        let acme = h.organization("acme").await;
        let update = UpdateOrganization { mfa_policy: Some(MfaPolicy::RequiredForAll), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        assert!(issued.jwt.is_none(), "a single-factor session of an MFA organization has a JWT");
        assert!(issued.is_pending_mfa());
        let times = issued.session.session.times;
        assert_eq!(times.expires_at, times.started_at + tessera_api::PENDING_MFA_LIFETIME);
        let err = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired);
        let err = h.service.session_jwt(&issued.session).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired, "no path mints one");
        let globex = h.organization("globex").await;
        h.member(&globex, "ada@example.com").await;
        let err = h.service
            .exchange(Exchange { credential: token(&issued.token), organization: globex.id.into(), duration: None, custom_claims: None })
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired, "no exchange out of a pending session");

        h.clock.advance(TimeDelta::minutes(2));
        let stepped = h.service.add_factor(AddFactor::new(issued.token.expose(), factor_input("totp"))).await.unwrap();
        assert!(!stepped.is_pending_mfa());
        let jwt = stepped.jwt.as_ref().expect("a full session has a JWT");
        local(&h.service, jwt.expose()).await.unwrap();
        let now = h.clock.now();
        assert_eq!(stepped.session.session.times.expires_at, now + TimeDelta::minutes(60), "its real lifetime starts now");
        h.service.authenticate(Authenticate::new(token(&stepped.token))).await.unwrap();
    }

    /// Hole 2: a JWT minted before a token rotation stops working for remote authenticate,
    /// exchange and revoke the moment the rotation returns.
    async fn rotation_kills_earlier_jwts(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        h.member(&globex, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let before = issued.full_jwt().expose().to_owned();
        remote(&h.service, &before).await.unwrap();
        let stepped = h.service
            .add_factor(AddFactor::new(issued.token.expose().to_owned(), factor_input("totp")))
            .await
            .unwrap();
        let err = remote(&h.service, &before).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound, "remote authenticate");
        let err = h.service
            .exchange(Exchange { credential: Credential::Jwt(before.clone()), organization: globex.id.into(), duration: None, custom_claims: None })
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound, "exchange");
        let err = h.service.revoke(tessera_api::Revoke::Jwt(before.clone())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound, "revoke");
        remote(&h.service, stepped.full_jwt().expose()).await.unwrap();
    }

    /// Hole 2: remote authenticate is not a refresh-forever for old JWTs.
    async fn remote_authenticate_refuses_old_jwts(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let mut request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
            .with_factor(factor_input("email"));
        request.duration = Some(SessionDuration::from_minutes(24 * 60).unwrap());
        let issued = h.service.create_session(request).await.unwrap();
        let old = issued.full_jwt().expose().to_owned();
        h.clock.advance(TimeDelta::hours(2));
        // The session is alive; only the JWT is old.
        h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        let err = remote(&h.service, &old).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::JwtInvalidClaims, "{err:?}");
    }

    /// Hole 3: hopping A → B → A does not outlive the absolute lifetime of the sign-in.
    async fn exchange_keeps_the_absolute_lifetime(h: Harness) {
        let limit = UpdateOrganization { max_lifetime: Some(MaxLifetime::from_minutes(120).unwrap()), ..Default::default() };
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        for org in [&acme, &globex] {
            h.service.update_organization(&org.id.into(), limit.clone()).await.unwrap();
        }
        let ada = h.member(&acme, "ada@example.com").await;
        h.member(&globex, "ada@example.com").await;
        let mut request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
            .with_factor(email_factor("ada@example.com"));
        request.duration = Some(SessionDuration::from_minutes(600).unwrap());
        let mut current = h.service.create_session(request).await.unwrap();
        for (minute, to) in [(100, &globex), (110, &acme)] {
            h.clock.set(t0() + TimeDelta::minutes(minute));
            current = h.service
                .exchange(Exchange {
                    credential: token(&current.token),
                    organization: to.id.into(),
                    duration: Some(SessionDuration::from_minutes(600).unwrap()),
                    custom_claims: None,
                })
                .await
                .unwrap();
        }
        assert_eq!(current.session.session.times.started_at, t0(), "the sign-in time carries over");
        h.clock.set(t0() + TimeDelta::minutes(121));
        let err = h.service.authenticate(Authenticate::new(token(&current.token))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }

    /// Hole 4: a touch interval longer than the idle timeout must not idle out a session in use.
    async fn touch_interval_never_idles_out_a_session_in_use(h: Harness) {
        let mut config = ServiceConfig::new("project-test");
        config.touch_interval = TouchInterval::from_seconds(3600).unwrap();
        let h = h.reconfigured(config);
        let acme = h.organization("acme").await;
        let update = UpdateOrganization { idle_timeout: Some(Some(IdleTimeout::from_minutes(5).unwrap())), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        for minute in 1..=20 {
            h.clock.set(t0() + TimeDelta::minutes(minute));
            h.service
                .authenticate(Authenticate::new(token(&issued.token)))
                .await
                .unwrap_or_else(|e| panic!("used every minute, refused at +{minute} min: {e}"));
        }
    }

    /// Hole 8: purge deletes what is over, whatever ended it (idle timeout, absolute lifetime),
    /// not only what expired or was revoked.
    async fn purge_deletes_idle_and_capped_sessions(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let idle = UpdateOrganization { idle_timeout: Some(Some(IdleTimeout::from_minutes(15).unwrap())), ..Default::default() };
        h.service.update_organization(&acme.id.into(), idle).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let bob = h.member(&globex, "bob@example.com").await;
        let year = SessionDuration::MAX;
        let mut sessions = Vec::new();
        for member in [&ada, &bob] {
            let mut request = tessera_api::CreateSession::new(member.organization_id.into(), MemberRef::Id(member.id))
                .with_factor(factor_input("email"));
            request.duration = Some(year);
            sessions.push(h.service.create_session(request).await.unwrap());
        }
        // Globex lowers its absolute lifetime: Bob's year-long session is over after an hour.
        let cap = UpdateOrganization { max_lifetime: Some(MaxLifetime::from_minutes(60).unwrap()), ..Default::default() };
        h.service.update_organization(&globex.id.into(), cap).await.unwrap();

        h.clock.set(t0() + TimeDelta::days(7) + TimeDelta::hours(2));
        let purged = h.service.purge_sessions(|_| {}).await.unwrap();
        assert_eq!(purged, 2, "the idle session and the capped one");
    }

    /// Hole 9: only factors that prove the target member's own email carry over an exchange.
    async fn exchange_carries_only_proofs_of_the_target_email(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        h.member(&globex, "ada@example.com").await;
        let exchange = |t: &tessera_core::SessionToken| Exchange {
            credential: token(t),
            organization: globex.id.into(),
            duration: None,
            custom_claims: None,
        };
        for factor in [email_factor("mallory@example.com"), factor_input("email")] {
            let request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id)).with_factor(factor);
            let issued = h.service.create_session(request).await.unwrap();
            let err = h.service.exchange(exchange(&issued.token)).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InsufficientFactorsForSessionExchange);
        }
        let request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
            .with_factor(email_factor("ADA@example.com"));
        let issued = h.service.create_session(request).await.unwrap();
        h.service.exchange(exchange(&issued.token)).await.unwrap();
    }
}

/// Hole 7: a node that only verifies JWTs (local authenticate) must not trust a key forever: once
/// the key is retired and deleted elsewhere, it stops verifying within the key cache TTL.
#[tokio::test]
async fn retired_keys_stop_verifying_on_verify_only_nodes() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let issued = h.session(&ada, &["email"]).await;
    let verifier = SessionService::new(h.store.clone(), ServiceConfig::new("project-test"))
        .with_clock(h.clock.clone());
    local(&verifier, issued.full_jwt().expose()).await.unwrap();
    let (old_kid, old_key) = stored_signer(&h.store).await;

    h.service.rotate_signing_key().await.unwrap();
    h.clock.advance(TimeDelta::minutes(10));
    h.service.jwks().await.unwrap(); // the signing node's reload deletes the retired key
    assert!(
        h.store.signing_keys.list_signing_keys().await.unwrap().iter().all(|k| k.kid != old_kid),
        "the retired key is deleted from the store"
    );
    // A JWT signed with the old key now (a leaked key, say), otherwise well-formed.
    let mut claims = payload(issued.full_jwt());
    let now = h.clock.now().timestamp();
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 300);
    let forged = forge(&header(issued.full_jwt()), &claims, rsa_sign(&old_key));
    let err = local(&verifier, &forged).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt, "{err:?}");
}

/// Hole 3: exchange by JWT is one transaction: if storing the new session fails, the old one is
/// still alive (it was revoked first, then the create failed).
#[tokio::test]
async fn exchange_by_jwt_is_one_transaction() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let globex = h.organization("globex").await;
    let ada = h.member(&acme, "ada@example.com").await;
    h.member(&globex, "ada@example.com").await;
    let request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
        .with_factor(email_factor("ada@example.com"));
    let issued = h.service.create_session(request).await.unwrap();

    let mut store = h.store.clone();
    store.sessions = Arc::new(FailingInserts(h.store.sessions.clone()));
    let node =
        SessionService::new(store, ServiceConfig::new("project-test")).with_clock(h.clock.clone());
    let err = node
        .exchange(Exchange {
            credential: Credential::Jwt(issued.full_jwt().expose().to_owned()),
            organization: globex.id.into(),
            duration: None,
            custom_claims: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::StorageUnavailable);
    h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
}

/// Hole 5: authenticate is one write. A claims patch refused by the store (the claims grew
/// between the service's read and its write) must leave no extension behind.
#[tokio::test]
async fn a_refused_patch_leaves_no_extension_behind() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let mut request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
        .with_factor(factor_input("email"));
    request.custom_claims = Some(json!({"big": "x".repeat(3000)}));
    let issued = h.service.create_session(request).await.unwrap();
    let expires_at = issued.session.session.times.expires_at;

    // A node whose read of the session misses the claims (as if another request had not yet
    // committed them when it read): its own check passes, the store's refuses.
    let mut store = h.store.clone();
    store.sessions = Arc::new(StaleClaims(h.store.sessions.clone()));
    let node =
        SessionService::new(store, ServiceConfig::new("project-test")).with_clock(h.clock.clone());
    h.clock.advance(TimeDelta::minutes(1));
    let mut request = Authenticate::new(token(&issued.token));
    request.extend_by = Some(SessionDuration::from_minutes(600).unwrap());
    request.custom_claims = Some(json!({"more": "y".repeat(1500)}));
    let err = node.authenticate(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::CustomClaimsTooLarge);

    let now = h.clock.now();
    let stored =
        h.store.sessions.find_session_by_id(acme.id, issued.session.session.id, now).await.unwrap();
    assert_eq!(stored.session.times.expires_at, expires_at, "the extension was written");
    assert_eq!(stored.session.custom_claims, issued.session.session.custom_claims);
}

/// Hole 6: two concurrent updates of different fields of one member are both kept (an admin's
/// role removal must not be undone by a concurrent metadata update).
#[tokio::test]
async fn concurrent_member_updates_keep_both_fields() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let mut create = tessera_api::CreateMember::new(
        tessera_core::EmailAddress::parse("ada@example.com").unwrap(),
    );
    create.roles = vec![RoleId::parse("editor").unwrap()];
    let (ada, _) = h.service.create_member(&acme.id.into(), create).await.unwrap();

    let mut store = h.store.clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    store.members = Arc::new(ReadTogether { inner: h.store.members.clone(), barrier });
    let node = SessionService::new(store, ServiceConfig::new("project-test"))
        .with_clock(h.clock.clone())
        .with_policy(h.service.policy().clone());
    let reference: OrganizationRef = acme.id.into();
    let member = MemberRef::Id(ada.id);
    let remove_role = UpdateMember { roles: Some(Vec::new()), ..Default::default() };
    let metadata: tessera_core::Metadata =
        serde_json::from_value(json!({"theme": "dark"})).unwrap();
    let set_metadata =
        UpdateMember { untrusted_metadata: Some(metadata.clone()), ..Default::default() };
    let (a, b) = tokio::join!(
        node.update_member(&reference, &member, remove_role),
        node.update_member(&reference, &member, set_metadata),
    );
    a.unwrap();
    b.unwrap();
    let (stored, _) = h.service.get_member(&reference, &member).await.unwrap();
    assert!(stored.roles.is_empty(), "the removed role came back: {:?}", stored.roles);
    assert_eq!(stored.untrusted_metadata, metadata, "the metadata update was lost");
}

// ---------------------------------------------------------------------------------------------
// Store wrappers that put the service in the situations above.

/// A session repository that puts the service in a situation: inserts that fail as if the
/// database had gone away, or reads that miss the session's custom claims.
struct Situation {
    inner: Arc<dyn SessionRepository>,
    fail_inserts: bool,
    stale_claims: bool,
}

#[allow(non_snake_case)]
fn FailingInserts(inner: Arc<dyn SessionRepository>) -> Situation {
    Situation { inner, fail_inserts: true, stale_claims: false }
}

#[allow(non_snake_case)]
fn StaleClaims(inner: Arc<dyn SessionRepository>) -> Situation {
    Situation { inner, fail_inserts: false, stale_claims: true }
}

impl Situation {
    fn read(&self, mut found: AuthenticatedSession) -> AuthenticatedSession {
        if self.stale_claims {
            found.session.custom_claims = tessera_core::CustomClaims::empty();
        }
        found
    }

    fn insert(&self) -> StoreResult<()> {
        if self.fail_inserts {
            Err(StoreError::Unavailable { message: "injected".into(), source: None })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SessionRepository for Situation {
    async fn create_session(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        self.insert()?;
        self.inner.create_session(session, token_hash, events).await
    }
    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        self.inner.find_session_by_token(token_hash, now).await.map(|f| self.read(f))
    }
    async fn find_session_by_id(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        self.inner.find_session_by_id(organization_id, session_id, now).await.map(|f| self.read(f))
    }
    async fn find_session_organization(
        &self,
        session_id: SessionId,
    ) -> StoreResult<OrganizationId> {
        self.inner.find_session_organization(session_id).await
    }
    async fn record_authentication(
        &self,
        key: &SessionKey,
        write: &AuthenticationWrite,
        namespaces: &ClaimNamespaces,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        self.inner.record_authentication(key, write, namespaces, now, events).await
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
        self.inner.rotate_session_token(key, next, factors, expires_at, now, events).await
    }
    async fn revoke_session(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        token_generation: Option<u32>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        self.inner.revoke_session(organization_id, session_id, token_generation, now, events).await
    }
    async fn revoke_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        self.inner.revoke_member_sessions(organization_id, member_id, now, events).await
    }
    async fn revoke_organization_sessions(
        &self,
        organization_id: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        self.inner.revoke_organization_sessions(organization_id, except, now, events).await
    }
    async fn revoke_all_sessions(
        &self,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        self.inner.revoke_all_sessions(now, events).await
    }
    async fn list_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberSession>> {
        self.inner.list_member_sessions(organization_id, member_id, now).await
    }
    async fn exchange_session(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        self.insert()?;
        self.inner.exchange_session(from, to, to_token_hash, now, events).await
    }
    async fn purge_sessions(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        self.inner.purge_sessions(before, batch_size).await
    }
}

/// Members whose reads wait for each other, so two updates both read before either writes.
struct ReadTogether {
    inner: Arc<dyn MemberRepository>,
    barrier: Arc<tokio::sync::Barrier>,
}

#[async_trait]
impl MemberRepository for ReadTogether {
    async fn create_member(&self, member: &Member, events: &[EventRecord]) -> StoreResult<()> {
        self.inner.create_member(member, events).await
    }
    async fn get_member(
        &self,
        organization_id: OrganizationId,
        member: &MemberRef,
    ) -> StoreResult<Member> {
        let found = self.inner.get_member(organization_id, member).await;
        self.barrier.wait().await;
        found
    }
    async fn update_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Member> {
        self.inner.update_member(organization_id, member_id, update, now, events).await
    }
    async fn delete_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        self.inner.delete_member(organization_id, member_id, events).await
    }
    async fn list_members(
        &self,
        organization_id: OrganizationId,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        self.inner.list_members(organization_id, after, limit).await
    }
    async fn find_member_organization(&self, member_id: MemberId) -> StoreResult<OrganizationId> {
        self.inner.find_member_organization(member_id).await
    }
}

/// Every free-text field is bounded by its parser, so the largest session Tessera accepts still
/// makes a JWT that Tessera itself verifies, locally and remotely (before the bounds, 40 large
/// factors made a JWT over Tessera's own size limit).
#[tokio::test]
async fn the_largest_session_makes_a_jwt_tessera_verifies() {
    use tessera_core::{FactorText, factor::MAX_FACTORS_PER_SESSION, rbac::MAX_ROLES_PER_MEMBER};
    let roles: Vec<Value> = (0..MAX_ROLES_PER_MEMBER)
        .map(|i| json!({"role_id": format!("{i:0>128}"), "permissions": []}))
        .collect();
    let policy =
        tessera_core::Policy::from_json(&json!({"resources": [], "roles": roles}).to_string())
            .unwrap();
    let h = Harness::memory();
    let service = h.service.clone().with_policy(policy.clone());
    let acme = h.organization("acme").await;
    let mut create = tessera_api::CreateMember::new(
        tessera_core::EmailAddress::parse(&format!("{}@example.com", "a".repeat(64))).unwrap(),
    );
    create.roles = policy
        .roles()
        .iter()
        .filter(|r| !r.role_id.as_str().starts_with("tessera_"))
        .map(|r| r.role_id.clone())
        .collect();
    assert_eq!(create.roles.len(), MAX_ROLES_PER_MEMBER);
    let (member, _) = service.create_member(&acme.id.into(), create).await.unwrap();

    let long = "x".repeat(FactorText::MAX_CHARS);
    let mut request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(member.id));
    for i in 0..MAX_FACTORS_PER_SESSION {
        let id = format!("{i}{}", &long[1..]);
        request = request.with_factor(
            serde_json::from_value(json!({
                "type": "sso", "delivery_method": "sso_saml",
                "saml_sso_factor": {"id": id, "provider_id": long, "external_id": long}
            }))
            .unwrap(),
        );
    }
    // Custom claims at their limit.
    let mut claims = serde_json::Map::new();
    claims.insert(
        "big".into(),
        json!("y".repeat(tessera_core::claims::MAX_CUSTOM_CLAIMS_BYTES - 12)),
    );
    request.custom_claims = Some(Value::Object(claims));
    request.attributes = tessera_core::SessionAttributes {
        ip_address: Some("9".repeat(64)),
        user_agent: Some("u".repeat(1024)),
    };
    let issued = service.create_session(request).await.unwrap();
    let jwt = issued.full_jwt().expose();
    assert!(jwt.len() > 20_000, "the JWT is as large as it gets: {} bytes", jwt.len());
    local(&service, jwt).await.unwrap();
    remote(&service, jwt).await.unwrap();

    // One factor more is refused, before anything is stored.
    let err = service
        .add_factor(AddFactor::new(issued.token.expose(), factor_input("totp")))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidAuthenticationFactor);
}
