//! A service over a fresh store with a manual clock, and builders for common inputs.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tessera_api::{
    CreateMember, CreateOrganization, CreateSession, IssuedSession, ManualClock, SeededRandom,
    ServiceConfig, SessionService,
};
use tessera_core::{
    EmailAddress, FactorInput, Member, MemberRef, Organization, OrganizationName, OrganizationSlug,
    Policy,
};
use tessera_store::Store;

/// Runs the given async test body once per backend, each in its own `#[tokio::test]`.
macro_rules! on_every_store {
    ($($(#[doc = $doc:literal])* async fn $name:ident($harness:ident: Harness) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($harness: $crate::harness::Harness) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    run($crate::harness::Harness::memory()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::Harness::sqlite().await).await;
                }
            }
        )*
    };
}
pub(crate) use on_every_store;

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).unwrap()
}

pub(crate) struct Harness {
    pub(crate) service: SessionService,
    pub(crate) clock: Arc<ManualClock>,
    /// The service's store, for tests that look under it or wrap it.
    pub(crate) store: Store,
}

impl Harness {
    pub(crate) fn memory() -> Self {
        Self::over(tessera_store::memory::MemoryStore::store())
    }

    pub(crate) async fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("tessera-api-it-{}", uuid_like())).join("tessera.db");
        let store = tessera_store::sqlite::SqliteStore::open(&path).await.unwrap().into_store();
        Self::over(store)
    }

    fn over(store: Store) -> Self {
        Self::configured(
            store,
            ServiceConfig::new("project-test"),
            Arc::new(ManualClock::new(t0())),
        )
    }

    /// The same store and clock under another deployment configuration.
    pub(crate) fn reconfigured(self, config: ServiceConfig) -> Self {
        Self::configured(self.store, config, self.clock)
    }

    fn configured(store: Store, config: ServiceConfig, clock: Arc<ManualClock>) -> Self {
        let policy = Policy::from_json(
            &json!({
                "resources": [{"resource_id": "documents", "actions": ["read", "write"]}],
                "roles": [{"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]}]
            })
            .to_string(),
        )
        .unwrap();
        let service = SessionService::new(store.clone(), config)
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new(rand_seed())))
            .with_policy(policy);
        Self { service, clock, store }
    }

    pub(crate) async fn organization(&self, slug: &str) -> Organization {
        self.service
            .create_organization(CreateOrganization::new(
                OrganizationName::parse(&format!("Org {slug}")).unwrap(),
                OrganizationSlug::parse(slug).unwrap(),
            ))
            .await
            .unwrap()
    }

    pub(crate) async fn member(&self, organization: &Organization, email: &str) -> Member {
        self.service
            .create_member(
                &organization.id.into(),
                CreateMember::new(EmailAddress::parse(email).unwrap()),
            )
            .await
            .unwrap()
            .0
    }

    /// A session of `member` with the named factors ([`factor_input`]; `email` is a magic link
    /// proving the member's own address).
    pub(crate) async fn session(&self, member: &Member, factors: &[&str]) -> IssuedSession {
        let mut request =
            CreateSession::new(member.organization_id.into(), MemberRef::Id(member.id));
        for factor in factors {
            request = request.with_factor(match *factor {
                "email" => email_factor(member.email_address.as_str()),
                other => factor_input(other),
            });
        }
        self.service.create_session(request).await.unwrap()
    }
}

/// A magic-link factor whose detail names the address it proved.
pub(crate) fn email_factor(address: &str) -> FactorInput {
    serde_json::from_value(json!({
        "type": "magic_link", "delivery_method": "email",
        "email_factor": {"email_id": "email-1", "email_address": address}
    }))
    .unwrap()
}

/// A factor by short name: `email` (magic link, naming no address), `password`, `totp`, `sms`.
pub(crate) fn factor_input(kind: &str) -> FactorInput {
    let value = match kind {
        "email" => json!({"type": "magic_link", "delivery_method": "email"}),
        "password" => json!({"type": "password", "delivery_method": "knowledge"}),
        "totp" => json!({"type": "totp", "delivery_method": "authenticator_app"}),
        "sms" => json!({"type": "otp", "delivery_method": "sms"}),
        other => panic!("unknown factor {other}"),
    };
    serde_json::from_value(value).unwrap()
}

fn rand_seed() -> u64 {
    u64::from(std::process::id())
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}-{}", std::process::id(), rand_seed(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// The JWT of a full session (one that meets its organization's MFA policy, as most tests'
/// sessions do).
pub(crate) trait FullJwt {
    fn full_jwt(&self) -> &tessera_api::SessionJwt;
}

impl FullJwt for IssuedSession {
    fn full_jwt(&self) -> &tessera_api::SessionJwt {
        self.jwt.as_ref().expect("a full session carries a JWT")
    }
}
