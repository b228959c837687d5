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
        let clock = Arc::new(ManualClock::new(t0()));
        let policy = Policy::from_json(
            &json!({
                "resources": [{"resource_id": "documents", "actions": ["read", "write"]}],
                "roles": [{"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]}]
            })
            .to_string(),
        )
        .unwrap();
        let service = SessionService::new(store, ServiceConfig::new("project-test"))
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new(rand_seed())))
            .with_policy(policy);
        Self { service, clock }
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

    pub(crate) async fn session(&self, member: &Member, factors: &[&str]) -> IssuedSession {
        let mut request =
            CreateSession::new(member.organization_id.into(), MemberRef::Id(member.id));
        for factor in factors {
            request = request.with_factor(factor_input(factor));
        }
        self.service.create_session(request).await.unwrap()
    }
}

/// A factor by short name: `email` (magic link), `password`, `totp`, `sms`.
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
