//! Unit tests of the service over mockall mocks of the store: each storage failure on each step
//! gives the right error and no further write (a mock panics on any call it was not told to
//! expect), and the fixed clock drives the timing rules.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use tessera_core::{
    AuthenticatedSession, CustomClaims, ErrorType, LifetimePolicy, MaxLifetime, Member, MemberId,
    MemberRef, MemberSession, Metadata, Organization, OrganizationId, OrganizationName,
    OrganizationSettings, OrganizationSlug, SessionAttributes, SessionDuration, SessionId,
    SessionTimes, SessionToken, TokenPrefix,
};
use tessera_store::{
    Constraint, Entity, MockMemberRepository, MockOrganizationRepository, MockSessionRepository,
    Store, StoreError,
};

use super::*;
use crate::{ManualClock, SeededRandom, ServiceConfig};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 1, 10, 0, 0).unwrap()
}

fn unavailable() -> StoreError {
    StoreError::unavailable("connection refused", std::io::Error::other("refused"))
}

struct Mocks {
    organizations: MockOrganizationRepository,
    members: MockMemberRepository,
    sessions: MockSessionRepository,
}

impl Mocks {
    fn new() -> Self {
        Self {
            organizations: MockOrganizationRepository::new(),
            members: MockMemberRepository::new(),
            sessions: MockSessionRepository::new(),
        }
    }

    fn service_at(self, now: DateTime<Utc>) -> SessionService {
        // Signing keys are not what these tests are about: a real (memory) key table, with
        // Ed25519 keys, which are made in microseconds.
        let store = Store::from_parts(
            Arc::new(self.organizations),
            Arc::new(self.members),
            Arc::new(self.sessions),
            tessera_store::memory::MemoryStore::store().signing_keys,
            Arc::new(tessera_store::MockDeploymentRepository::new()),
            tessera_store::memory::MemoryStore::store().events,
            tessera_store::memory::MemoryStore::store().webhooks,
        );
        let mut config = ServiceConfig::new("project-mock");
        config.jwt.algorithm = crate::JwtAlgorithm::EdDsa;
        SessionService::new(store, config)
            .with_clock(Arc::new(ManualClock::new(now)))
            .with_random(Arc::new(SeededRandom::new(7)))
    }
}

fn organization(settings: OrganizationSettings) -> Organization {
    Organization {
        id: OrganizationId::parse("01900000-0000-7000-8000-000000000001").unwrap(),
        name: OrganizationName::parse("Acme").unwrap(),
        slug: OrganizationSlug::parse("acme").unwrap(),
        external_id: None,
        email: None,
        trusted_metadata: Metadata::new(),
        settings,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn member(organization: &Organization) -> Member {
    Member {
        id: MemberId::parse("01900000-0000-7000-8000-000000000002").unwrap(),
        organization_id: organization.id,
        email_address: tessera_core::EmailAddress::parse("ada@example.com").unwrap(),
        name: None,
        external_id: None,
        roles: Vec::new(),
        trusted_metadata: Metadata::new(),
        untrusted_metadata: Metadata::new(),
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A live session started at `t0`, last accessed `accessed_ago` before `now`.
fn found(settings: OrganizationSettings, last_accessed: DateTime<Utc>) -> AuthenticatedSession {
    let organization = organization(settings);
    let member = member(&organization);
    let mut times = SessionTimes::start(t0(), SessionDuration::default(), &settings.lifetime);
    times.last_accessed_at = last_accessed;
    let session = MemberSession {
        id: SessionId::parse("01900000-0000-7000-8000-000000000003").unwrap(),
        organization_id: organization.id,
        member_id: member.id,
        times,
        authentication_factors: Vec::new(),
        custom_claims: CustomClaims::empty(),
        attributes: SessionAttributes::default(),
        return_url: None,
        updated_at: t0(),
        token_generation: 0,
    };
    AuthenticatedSession { session, member: member.into(), organization: organization.into() }
}

fn a_token() -> SessionToken {
    SessionToken::generate(&TokenPrefix::default(), &mut rand::rng())
}

fn authenticate(token: &SessionToken) -> Authenticate {
    Authenticate::new(Credential::Token(token.expose().to_owned()))
}

#[tokio::test]
async fn authenticate_maps_storage_failures() {
    for (failure, expected) in [
        (unavailable(), ErrorType::StorageUnavailable),
        (StoreError::NotFound(Entity::Session), ErrorType::SessionNotFound),
        (StoreError::corrupt("sessions", "bad json"), ErrorType::InternalServerError),
    ] {
        let mut mocks = Mocks::new();
        mocks
            .sessions
            .expect_find_session_by_token()
            .times(1)
            .return_once(move |_, _| Err(failure));
        let service = mocks.service_at(t0());
        let err = service.authenticate(authenticate(&a_token())).await.unwrap_err();
        assert_eq!(err.error_type(), expected);
    }
}

#[tokio::test]
async fn authenticate_inside_the_touch_interval_writes_nothing() {
    let now = t0() + TimeDelta::minutes(5);
    let mut mocks = Mocks::new();
    let session = found(OrganizationSettings::default(), now - TimeDelta::seconds(59));
    mocks
        .sessions
        .expect_find_session_by_token()
        .times(3)
        .returning(move |_, _| Ok(session.clone()));
    // No touch expectation: a touch call would panic.
    let service = mocks.service_at(now);
    let token = a_token();
    for _ in 0..3 {
        service.authenticate(authenticate(&token)).await.unwrap();
    }
}

#[tokio::test]
async fn authenticate_after_the_touch_interval_writes_once() {
    let now = t0() + TimeDelta::minutes(5);
    let mut mocks = Mocks::new();
    let session = found(OrganizationSettings::default(), now - TimeDelta::seconds(60));
    let mut touched = session.session.clone();
    touched.times.last_accessed_at = now;
    mocks
        .sessions
        .expect_record_authentication()
        .withf(move |_, write, _, at, _| {
            *at == now
                && write.touch_if_accessed_by == Some(now - TimeDelta::seconds(60))
                && write.expires_at.is_none()
                && write.claims_patch.is_none()
        })
        .times(1)
        .return_once(move |_, _, _, _, _| Ok(touched));
    mocks.sessions.expect_find_session_by_token().times(1).return_once(move |_, _| Ok(session));
    let service = mocks.service_at(now);
    let auth = service.authenticate(authenticate(&a_token())).await.unwrap();
    assert_eq!(auth.session.session.times.last_accessed_at, now);
}

#[tokio::test]
async fn a_failed_touch_fails_the_authenticate() {
    let now = t0() + TimeDelta::minutes(5);
    let mut mocks = Mocks::new();
    let session = found(OrganizationSettings::default(), t0());
    mocks.sessions.expect_find_session_by_token().return_once(move |_, _| Ok(session));
    mocks
        .sessions
        .expect_record_authentication()
        .times(1)
        .return_once(|_, _, _, _, _| Err(unavailable()));
    let err = mocks.service_at(now).authenticate(authenticate(&a_token())).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::StorageUnavailable);
}

#[tokio::test]
async fn extension_is_clamped_to_the_absolute_deadline() {
    let now = t0() + TimeDelta::minutes(50);
    let settings = OrganizationSettings {
        lifetime: LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(90).unwrap(),
            idle_timeout: None,
        },
        ..Default::default()
    };
    let mut mocks = Mocks::new();
    let session = found(settings, t0());
    let returned = session.session.clone();
    mocks.sessions.expect_find_session_by_token().return_once(move |_, _| Ok(session));
    mocks
        .sessions
        .expect_record_authentication()
        .withf(|_, write, _, _, _| write.expires_at == Some(t0() + TimeDelta::minutes(90)))
        .times(1)
        .return_once(move |_, _, _, _, _| Ok(returned));
    let mut request = authenticate(&a_token());
    request.extend_by = Some(SessionDuration::from_minutes(120).unwrap());
    mocks.service_at(now).authenticate(request).await.unwrap();
}

#[tokio::test]
async fn refused_checks_write_nothing() {
    let now = t0() + TimeDelta::minutes(5);
    let mfa = OrganizationSettings {
        mfa_policy: tessera_core::MfaPolicy::RequiredForAll,
        ..Default::default()
    };
    let mut mocks = Mocks::new();
    let session = found(mfa, t0());
    mocks.sessions.expect_find_session_by_token().return_once(move |_, _| Ok(session));
    let mut request = authenticate(&a_token());
    request.extend_by = Some(SessionDuration::from_minutes(60).unwrap());
    let err = mocks.service_at(now).authenticate(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::MfaRequired);

    let mut mocks = Mocks::new();
    let session = found(OrganizationSettings::default(), t0());
    mocks.sessions.expect_find_session_by_token().return_once(move |_, _| Ok(session));
    let mut request = authenticate(&a_token());
    request.extend_by = Some(SessionDuration::from_minutes(60).unwrap());
    request.custom_claims = Some(json!({"aud": "mine"}));
    let err = mocks.service_at(now).authenticate(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::ReservedClaimsInCustomClaims);
}

#[tokio::test]
async fn malformed_tokens_never_reach_the_store() {
    let service = Mocks::new().service_at(t0());
    for bad in ["", "tsr_mst_short", "Bearer abc", &"x".repeat(10_000)] {
        let err = service
            .authenticate(Authenticate::new(Credential::Token(bad.to_owned())))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidSessionToken, "{bad:.20}");
    }
}

#[tokio::test]
async fn create_session_stops_at_the_first_failing_step() {
    let request = || {
        CreateSession::new(
            organization(OrganizationSettings::default()).id.into(),
            MemberRef::Id(member(&organization(OrganizationSettings::default())).id),
        )
    };

    // Organization lookup fails: nothing else is called.
    let mut mocks = Mocks::new();
    mocks.organizations.expect_get_organization().times(1).return_once(|_| Err(unavailable()));
    let err = mocks.service_at(t0()).create_session(request()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::StorageUnavailable);

    // Member lookup says not found: no session is written.
    let mut mocks = Mocks::new();
    mocks
        .organizations
        .expect_get_organization()
        .return_once(|_| Ok(organization(OrganizationSettings::default())));
    mocks
        .members
        .expect_get_member()
        .times(1)
        .return_once(|_, _| Err(StoreError::NotFound(Entity::Member)));
    let err = mocks.service_at(t0()).create_session(request()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::MemberNotFound);

    // The write itself fails: the error surfaces as is.
    for (failure, expected) in [
        (unavailable(), ErrorType::StorageUnavailable),
        (StoreError::NotFound(Entity::Member), ErrorType::MemberNotFound),
        (StoreError::Conflict(Constraint::SessionTokenHash), ErrorType::InternalServerError),
    ] {
        let mut mocks = Mocks::new();
        mocks
            .organizations
            .expect_get_organization()
            .return_once(|_| Ok(organization(OrganizationSettings::default())));
        mocks
            .members
            .expect_get_member()
            .return_once(|_, _| Ok(member(&organization(OrganizationSettings::default()))));
        mocks.sessions.expect_create_session().times(1).return_once(move |_, _, _| Err(failure));
        let err = mocks.service_at(t0()).create_session(request()).await.unwrap_err();
        assert_eq!(err.error_type(), expected);
    }
}

#[tokio::test]
async fn create_session_validates_before_touching_the_store() {
    let service = Mocks::new().service_at(t0());
    let org = organization(OrganizationSettings::default());
    let mut request = CreateSession::new(org.id.into(), MemberRef::Id(member(&org).id));
    request.custom_claims = Some(json!({"k": "x".repeat(4100)}));
    let err = service.create_session(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::CustomClaimsTooLarge);
}

#[tokio::test]
async fn add_factor_loses_a_race_cleanly() {
    let now = t0() + TimeDelta::minutes(1);
    let mut mocks = Mocks::new();
    let session = found(OrganizationSettings::default(), t0());
    mocks.sessions.expect_find_session_by_token().return_once(move |_, _| Ok(session));
    mocks
        .sessions
        .expect_rotate_session_token()
        .times(1)
        .return_once(|_, _, _, _, _, _| Err(StoreError::NotFound(Entity::Session)));
    let request = AddFactor::new(
        a_token().expose().to_owned(),
        serde_json::from_value(json!({"type": "totp", "delivery_method": "authenticator_app"}))
            .unwrap(),
    );
    let err = mocks.service_at(now).add_factor(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::SessionNotFound);
}

#[tokio::test]
async fn purge_runs_bounded_batches_until_a_short_one() {
    let mut mocks = Mocks::new();
    let mut batches = vec![1000, 1000, 17].into_iter();
    mocks
        .sessions
        .expect_purge_sessions()
        .withf(|before, batch| *before == t0() - TimeDelta::days(7) && *batch == 1000)
        .times(3)
        .returning(move |_, _| Ok(batches.next().unwrap_or(0)));
    let mut seen = Vec::new();
    let total = mocks.service_at(t0()).purge_sessions(|n| seen.push(n)).await.unwrap();
    assert_eq!(total, 2017);
    assert_eq!(seen, vec![1000, 2000, 2017]);
}

#[test]
fn url_encoding_keeps_unreserved_only() {
    assert_eq!(url_encode("ada+tag@example.com"), "ada%2Btag%40example.com");
    assert_eq!(url_encode("acme-corp.eu_1~x"), "acme-corp.eu_1~x");
    assert_eq!(url_encode("é"), "%C3%A9");
}

#[test]
fn requests_that_hold_secrets_print_them_redacted() {
    let secret = a_token().expose().to_owned();
    let factor: tessera_core::FactorInput =
        serde_json::from_value(json!({"type": "totp", "delivery_method": "authenticator_app"}))
            .unwrap();
    let shown = [
        format!("{:?}", Credential::Token(secret.clone())),
        format!("{:?}", Credential::Jwt(secret.clone())),
        format!("{:?}", Revoke::Token(secret.clone())),
        format!("{:?}", Revoke::Jwt(secret.clone())),
        format!("{:?}", AddFactor::new(secret.clone(), factor)),
        format!("{:?}", Authenticate::new(Credential::Token(secret.clone()))),
        format!(
            "{:?}",
            Exchange {
                credential: Credential::Jwt(secret.clone()),
                organization: OrganizationId::parse("01900000-0000-7000-8000-000000000001")
                    .unwrap()
                    .into(),
                duration: None,
                custom_claims: None,
            }
        ),
    ];
    for shown in shown {
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
