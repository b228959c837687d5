//! Domain values for the views' tests, built with tessera-core's own constructors.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, CustomClaims, DeliveryMethod,
    EmailAddress, ExternalId, FactorInput, FactorType, LifetimePolicy, Member, MemberId,
    MemberSession, Organization, OrganizationId, OrganizationName, OrganizationSettings,
    OrganizationSlug, Policy, RoleId, SessionAttributes, SessionDuration, SessionId, SessionTimes,
    factor::{AuthenticatorAppFactor, EmailFactor, FactorDetail},
};

/// A raw session token and a session JWT, to check where they may appear.
pub(crate) const TOKEN: &str = "tsr_mst_4fJ9kQ2mZx7LpR8sVt3WnYb6Hc1DgEa5Uo0Ik2Nq9Zr7Bv";
pub(crate) const JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6Imp3ay10ZXN0In0.eyJzdWIiOiJtIn0.c2ln";

/// 2026-05-01T09:00:00.123456789Z: sub-second digits, to check the formats truncate them.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap() + TimeDelta::nanoseconds(123_456_789)
}

pub(crate) struct Fixture {
    pub(crate) organization: Organization,
    pub(crate) member: Member,
    pub(crate) session: MemberSession,
    pub(crate) policy: Policy,
    /// The session's roles under `policy`: `tessera_member` first.
    pub(crate) roles: Vec<RoleId>,
}

impl Fixture {
    pub(crate) fn authenticated(&self) -> AuthenticatedSession {
        AuthenticatedSession {
            session: self.session.clone(),
            member: self.member.clone().into(),
            organization: self.organization.clone().into(),
        }
    }
}

fn object(value: Value) -> tessera_core::Metadata {
    match value {
        Value::Object(map) => tessera_core::Metadata::parse("metadata", map).unwrap(),
        other => panic!("not an object: {other}"),
    }
}

/// An organization with a member who is `tessera_admin` and `editor`, and a live MFA session
/// (magic link + TOTP) with custom claims.
pub(crate) fn fixture() -> Fixture {
    let mut rng = StdRng::seed_from_u64(7);
    let created = now() - TimeDelta::days(30);
    let organization = Organization {
        id: OrganizationId::generate(created, &mut rng),
        name: OrganizationName::parse("Acme, Inc.").unwrap(),
        slug: OrganizationSlug::parse("acme-inc").unwrap(),
        external_id: Some(ExternalId::parse("crm-acme-1").unwrap()),
        email: Some(EmailAddress::parse("billing@acme.example").unwrap()),
        trusted_metadata: object(json!({
            "plan": "enterprise", "seats": 40, "beta": true, "tags": ["a"], "owner": {"x": 1},
            "nothing": null
        })),
        settings: OrganizationSettings::default(),
        created_at: created,
        updated_at: created + TimeDelta::hours(1),
    };
    let policy = Policy::from_json(
        &json!({
            "resources": [{"resource_id": "documents", "description": "Docs",
                           "actions": ["read", "write"]}],
            "roles": [{"role_id": "editor", "description": "Edits documents",
                       "permissions": [{"resource_id": "documents", "actions": ["*"]}]}]
        })
        .to_string(),
    )
    .unwrap();
    let member = Member {
        id: MemberId::generate(created, &mut rng),
        organization_id: organization.id,
        email_address: EmailAddress::parse("ada@acme.example").unwrap(),
        name: Some("Ada Lovelace".into()),
        external_id: Some(ExternalId::parse("crm-42").unwrap()),
        roles: vec![RoleId::admin(), RoleId::parse("editor").unwrap()],
        trusted_metadata: object(json!({"department": "R&D"})),
        untrusted_metadata: object(json!({"theme": "dark"})),
        created_at: created,
        updated_at: created + TimeDelta::minutes(5),
    };
    let started = now() - TimeDelta::minutes(10);
    let magic_link = AuthenticationFactor::new(
        FactorInput {
            factor_type: FactorType::MagicLink,
            delivery_method: DeliveryMethod::Email,
            last_authenticated_at: None,
            detail: Some(FactorDetail::EmailFactor(EmailFactor {
                email_id: "email-1".parse().unwrap(),
                email_address: member.email_address.clone(),
            })),
        },
        started,
    )
    .unwrap();
    let totp = AuthenticationFactor::new(
        FactorInput {
            factor_type: FactorType::Totp,
            delivery_method: DeliveryMethod::AuthenticatorApp,
            last_authenticated_at: None,
            detail: Some(FactorDetail::AuthenticatorAppFactor(AuthenticatorAppFactor {
                totp_id: "totp-1".parse().unwrap(),
            })),
        },
        started + TimeDelta::seconds(30),
    )
    .unwrap();
    let mut times =
        SessionTimes::start(started, SessionDuration::default(), &LifetimePolicy::default());
    times.last_accessed_at = now();
    let session = MemberSession {
        id: SessionId::generate(started, &mut rng),
        organization_id: organization.id,
        member_id: member.id,
        times,
        authentication_factors: vec![magic_link, totp],
        custom_claims: CustomClaims::empty()
            .patched(
                &json!({"tenant_tier": "gold", "flags": {"beta": true}}),
                &ClaimNamespaces::stytch(),
            )
            .unwrap(),
        attributes: SessionAttributes {
            ip_address: Some("203.0.113.7".into()),
            user_agent: Some("test".parse().unwrap()),
        },
        token_generation: 0,
        return_url: Some("https://app.acme.example/account".into()),
        updated_at: started + TimeDelta::seconds(30),
    };
    let roles = policy.session_roles(&member.roles);
    Fixture { organization, member, session, policy, roles }
}

/// A compiled JSON Schema (boon, draft 2020-12, format assertions on).
pub(crate) struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    /// The schema at `location` (a URL with a fragment) of `document`, registered at `base`.
    pub(crate) fn compile(document: Value, base: &str, location: &str) -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        compiler.add_resource(base, document).unwrap();
        let mut schemas = boon::Schemas::new();
        let index = compiler.compile(location, &mut schemas).unwrap_or_else(|e| panic!("{e:#}"));
        Self { schemas, index }
    }

    pub(crate) fn check(&self, instance: &Value) -> Result<(), String> {
        self.schemas.validate(instance, self.index).map_err(|e| format!("{e:#}"))
    }
}
