//! Builders for the conformance cases: valid domain values at fixed, microsecond-precise times.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{SeedableRng, rngs::StdRng};
use serde_json::json;
use tessera_core::{
    Actor, AuthenticationFactor, CustomClaims, DeliveryMethod, EmailAddress, EventRecord,
    EventType, ExternalId, FactorInput, FactorType, IdleTimeout, LifetimePolicy, Member, MemberId,
    MemberSession, Metadata, Organization, OrganizationId, OrganizationName, OrganizationSettings,
    OrganizationSlug, RequestContext, RoleId, SessionAttributes, SessionDuration, SessionId,
    SessionLimit, SessionTimes, SessionToken, TokenPrefix, WhenLimitReached,
};

use crate::{SessionKey, Store};

/// The instant every case starts from. Microsecond precision, as every backend keeps.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().unwrap_or_default()
        + TimeDelta::microseconds(123_456)
}

pub fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

/// A store plus a random source, with helpers that create valid rows.
#[derive(Debug)]
pub struct Fixture {
    pub store: Store,
    rng: StdRng,
    counter: u32,
}

/// A created session and the token that opens it.
#[derive(Debug)]
pub struct Opened {
    pub session: MemberSession,
    pub token: SessionToken,
}

impl Fixture {
    pub fn new(store: Store) -> Self {
        Self { store, rng: StdRng::from_os_rng(), counter: 0 }
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// An event of `event_type` at `at`, by the project, from a known request.
    pub fn event(&mut self, event_type: EventType, at: DateTime<Utc>) -> EventRecord {
        let request = RequestContext::new(Some("req-1"), Some("203.0.113.7"), Some("agent/1.0"));
        EventRecord::new(event_type, at, &mut self.rng, Actor::Project, request)
    }

    /// A fresh token from the thread's CSPRNG (`&self`, so it can be made mid-expression).
    pub fn token(&self) -> SessionToken {
        SessionToken::generate(&TokenPrefix::default(), &mut rand::rng())
    }

    /// An organization value (not stored) with a unique slug.
    pub fn organization_value(&mut self, slug: &str) -> Organization {
        let n = self.next();
        let slug = format!("{slug}-{n}-{}", self.rng_suffix());
        Organization {
            id: OrganizationId::generate(t0(), &mut self.rng),
            name: OrganizationName::parse(&format!("Org {slug}")).unwrap_or_else(|e| panic!("{e}")),
            slug: OrganizationSlug::parse(&slug).unwrap_or_else(|e| panic!("{e}")),
            external_id: None,
            email: None,
            trusted_metadata: Metadata::new(),
            settings: OrganizationSettings::default(),
            created_at: t0(),
            updated_at: t0(),
        }
    }

    fn rng_suffix(&mut self) -> String {
        use rand::Rng;
        format!("{:08x}", self.rng.random::<u32>())
    }

    pub async fn organization(&mut self, slug: &str) -> Organization {
        let organization = self.organization_value(slug);
        self.store
            .organizations
            .create_organization(&organization, &[])
            .await
            .expect("create organization");
        organization
    }

    /// The session's key for writes: organization, id, and the token generation it holds.
    pub fn key(session: &MemberSession) -> SessionKey {
        SessionKey::of(session)
    }

    /// An organization with `settings` changed by `change`.
    async fn organization_with(
        &mut self,
        slug: &str,
        change: impl FnOnce(&mut OrganizationSettings),
    ) -> Organization {
        let mut organization = self.organization_value(slug);
        change(&mut organization.settings);
        self.store
            .organizations
            .create_organization(&organization, &[])
            .await
            .expect("create organization");
        organization
    }

    /// An organization whose sessions idle out after `idle` minutes.
    pub async fn organization_with_idle_timeout(&mut self, slug: &str, idle: i64) -> Organization {
        let idle = IdleTimeout::from_minutes(idle).expect("valid idle timeout");
        self.organization_with(slug, |settings| {
            settings.lifetime =
                LifetimePolicy { idle_timeout: Some(idle), ..LifetimePolicy::default() };
        })
        .await
    }

    /// An organization whose members may hold at most `max` live sessions.
    pub async fn organization_with_limit(
        &mut self,
        slug: &str,
        max: i64,
        when_reached: WhenLimitReached,
    ) -> Organization {
        let limit = SessionLimit::new(max, when_reached).expect("valid limit");
        self.organization_with(slug, |settings| settings.session_limit = Some(limit)).await
    }

    pub fn member_value(&mut self, organization: &Organization, email: &str) -> Member {
        Member {
            id: MemberId::generate(t0(), &mut self.rng),
            organization_id: organization.id,
            email_address: EmailAddress::parse(email).expect("valid email"),
            name: Some(format!("Name of {email}")),
            external_id: None,
            roles: vec![RoleId::parse("editor").expect("valid role")],
            trusted_metadata: serde_json::from_value(json!({"plan": "pro"})).expect("metadata"),
            untrusted_metadata: Metadata::new(),
            created_at: t0(),
            updated_at: t0(),
        }
    }

    pub async fn member(&mut self, organization: &Organization, email: &str) -> Member {
        let member = self.member_value(organization, email);
        self.store.members.create_member(&member, &[]).await.expect("create member");
        member
    }

    /// A session value (not stored) for `member`, started at `at` for 60 minutes.
    pub fn session_value(&mut self, member: &Member, at: DateTime<Utc>) -> MemberSession {
        let factor = AuthenticationFactor::new(
            FactorInput {
                factor_type: FactorType::MagicLink,
                delivery_method: DeliveryMethod::Email,
                last_authenticated_at: Some(at),
                detail: None,
            },
            at,
        )
        .expect("valid factor");
        MemberSession {
            id: SessionId::generate(at, &mut self.rng),
            organization_id: member.organization_id,
            member_id: member.id,
            times: SessionTimes::start(at, SessionDuration::default(), &LifetimePolicy::default()),
            authentication_factors: vec![factor],
            custom_claims: CustomClaims::empty()
                .patched(&json!({"tier": "gold"}), &Default::default())
                .expect("valid claims"),
            attributes: SessionAttributes {
                ip_address: Some("203.0.113.7".into()),
                user_agent: Some("conformance/1.0".into()),
            },
            return_url: Some("https://app.example.com/back".into()),
            updated_at: at,
            token_generation: 0,
        }
    }

    pub async fn session_at(&mut self, member: &Member, at: DateTime<Utc>) -> Opened {
        let session = self.session_value(member, at);
        let token = self.token();
        self.store
            .sessions
            .create_session(&session, &token.hash(), &[])
            .await
            .expect("create session");
        Opened { session, token }
    }

    pub async fn session(&mut self, member: &Member) -> Opened {
        self.session_at(member, t0()).await
    }

    pub fn external_id(&mut self, prefix: &str) -> ExternalId {
        let n = self.next();
        ExternalId::parse(&format!("{prefix}-{n}")).expect("valid external id")
    }

    /// Two organizations, each with one member holding one session: the "other organization"
    /// setting of most cases.
    pub async fn two_tenants(&mut self) -> (Tenant, Tenant) {
        let a = self.tenant("alpha").await;
        let b = self.tenant("beta").await;
        (a, b)
    }

    pub async fn tenant(&mut self, slug: &str) -> Tenant {
        let organization = self.organization(slug).await;
        let member = self.member(&organization, &format!("ada@{slug}.example")).await;
        let opened = self.session(&member).await;
        Tenant { organization, member, session: opened.session, token: opened.token }
    }
}

/// An organization with one member and one session.
#[derive(Debug)]
pub struct Tenant {
    pub organization: Organization,
    pub member: Member,
    pub session: MemberSession,
    pub token: SessionToken,
}
