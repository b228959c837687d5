//! A test kit for embedders: a [`SessionService`] over the memory store on a manual clock, and
//! signed-in sessions as ready-made `Authorization` or `Cookie` headers, so a protected route
//! is tested with `tower::ServiceExt::oneshot`, without a server or a database.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use tessera_axum::{CurrentSession, test::TestKit};
//! use tower::ServiceExt;
//!
//! let kit = TestKit::new();
//! let app = Router::new()
//!     .route("/me", get(|s: CurrentSession| async move { s.organization_slug.to_string() }))
//!     .with_state(kit.auth());
//!
//! let member = kit.signed_in("acme", "ada@acme.example").await;
//! let request = Request::get("/me").header(member.bearer().0, member.bearer().1);
//! let response = app.clone().oneshot(request.body(Body::empty())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let anonymous = Request::get("/me").body(Body::empty())?;
//! assert_eq!(app.oneshot(anonymous).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue, header};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tessera_api::{
    CreateMember, CreateOrganization, CreateSession, IssuedSession, ManualClock, SeededRandom,
    ServiceConfig, SessionService,
};
use tessera_core::{
    EmailAddress, FactorInput, Member, MemberRef, Organization, OrganizationName, OrganizationSlug,
    Policy, RoleId,
};

use crate::{AuthConfig, CookieSettings, TesseraAuth};

/// The instant a [`TestKit`]'s clock starts at: 2026-07-01 09:00:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The policy of a [`TestKit`]: a `documents` resource (`read`, `write`), an `editor` role
/// granting both, and `viewer` granting `read`.
pub fn test_policy() -> Policy {
    let json = serde_json::json!({
        "resources": [{"resource_id": "documents", "actions": ["read", "write"]}],
        "roles": [
            {"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]},
            {"role_id": "viewer", "permissions": [{"resource_id": "documents", "actions": ["read"]}]}
        ]
    });
    Policy::from_json(&json.to_string()).unwrap_or_default()
}

/// A session service over a fresh memory store, with a manual clock and [`test_policy`].
#[derive(Debug, Clone)]
pub struct TestKit {
    service: SessionService,
    clock: Arc<ManualClock>,
    store: tessera_store::Store,
}

impl Default for TestKit {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKit {
    /// A fresh kit (project id `project-test`, clock at [`start`]).
    pub fn new() -> Self {
        Self::with_policy(test_policy())
    }

    /// A fresh kit with another RBAC policy.
    pub fn with_policy(policy: Policy) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let store = tessera_store::memory::MemoryStore::store();
        let service = SessionService::new(store.clone(), ServiceConfig::new("project-test"))
            .with_clock(clock.clone())
            .with_random(Arc::new(SeededRandom::new(7)))
            .with_policy(policy);
        Self { service, clock, store }
    }

    /// The service (for creating organizations, members, revoking...).
    pub fn service(&self) -> &SessionService {
        &self.service
    }

    /// The store under the service (e.g. for a second service standing for another process).
    pub fn store(&self) -> &tessera_store::Store {
        &self.store
    }

    /// The manual clock.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// A [`TesseraAuth`] over the service, default configuration.
    pub fn auth(&self) -> TesseraAuth {
        TesseraAuth::new(self.service.clone())
    }

    /// A [`TesseraAuth`] over the service with a configuration.
    pub fn auth_with(&self, config: AuthConfig) -> TesseraAuth {
        TesseraAuth::with_config(self.service.clone(), config)
    }

    /// Creates an organization (name `Org <slug>`). Panics on failure (it is a test helper).
    pub async fn organization(&self, slug: &str) -> Organization {
        let request = CreateOrganization::new(
            OrganizationName::parse(&format!("Org {slug}")).expect("organization name"),
            OrganizationSlug::parse(slug).expect("organization slug"),
        );
        self.service.create_organization(request).await.expect("create organization")
    }

    /// Creates a member with roles. Panics on failure.
    pub async fn member(&self, organization: &Organization, email: &str, roles: &[&str]) -> Member {
        let mut request = CreateMember::new(EmailAddress::parse(email).expect("email"));
        request.roles = roles.iter().map(|r| RoleId::parse(r).expect("role")).collect();
        self.service.create_member(&organization.id.into(), request).await.expect("create member").0
    }

    /// Signs `member` in with a magic link (plus the named extra `factors`: `totp`, `sms`,
    /// `password`). Panics on failure.
    pub async fn sign_in(&self, member: &Member, factors: &[&str]) -> SignedIn {
        let mut request =
            CreateSession::new(member.organization_id.into(), MemberRef::Id(member.id))
                .with_factor(factor("email"));
        for name in factors {
            request = request.with_factor(factor(name));
        }
        let issued = self.service.create_session(request).await.expect("create session");
        SignedIn::from_issued(&issued)
    }

    /// An organization `slug`, an `editor` member `email` in it, and a signed-in session, in one
    /// call.
    pub async fn signed_in(&self, slug: &str, email: &str) -> SignedIn {
        let organization = self.organization(slug).await;
        let member = self.member(&organization, email, &["editor"]).await;
        self.sign_in(&member, &[]).await
    }
}

/// A factor by short name: `email` (magic link), `password`, `totp`, `sms`.
pub fn factor(name: &str) -> FactorInput {
    let value = match name {
        "password" => serde_json::json!({"type": "password", "delivery_method": "knowledge"}),
        "totp" => serde_json::json!({"type": "totp", "delivery_method": "authenticator_app"}),
        "sms" => serde_json::json!({"type": "otp", "delivery_method": "sms"}),
        _ => serde_json::json!({"type": "magic_link", "delivery_method": "email"}),
    };
    serde_json::from_value(value).expect("factor")
}

/// A signed-in session's credentials, as request headers.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The opaque session token.
    pub token: String,
    /// The session JWT (`None` for a session pending MFA).
    pub jwt: Option<String>,
    /// The member.
    pub member: Member,
    /// The organization.
    pub organization: Organization,
}

impl SignedIn {
    /// From what `create_session` (or `add_factor`) answered.
    pub fn from_issued(issued: &IssuedSession) -> Self {
        Self {
            token: issued.token.expose().to_owned(),
            jwt: issued.jwt.as_ref().map(|jwt| jwt.expose().to_owned()),
            member: Member::clone(&issued.session.member),
            organization: Organization::clone(&issued.session.organization),
        }
    }

    /// `Authorization: Bearer <JWT>` (the token for a session without a JWT).
    pub fn bearer(&self) -> (HeaderName, HeaderValue) {
        bearer_header(self.jwt.as_deref().unwrap_or(&self.token))
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_token(&self) -> (HeaderName, HeaderValue) {
        bearer_header(&self.token)
    }

    /// `Cookie:` with both session cookies, under the default names.
    pub fn cookies(&self) -> (HeaderName, HeaderValue) {
        self.cookies_named(&CookieSettings::default())
    }

    /// `Cookie:` with both session cookies, under the given names.
    pub fn cookies_named(&self, settings: &CookieSettings) -> (HeaderName, HeaderValue) {
        let mut value = format!("{}={}", settings.token_name, self.token);
        if let Some(jwt) = &self.jwt {
            value.push_str(&format!("; {}={jwt}", settings.jwt_name));
        }
        (header::COOKIE, HeaderValue::from_str(&value).expect("cookie header"))
    }
}

fn bearer_header(credential: &str) -> (HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("Bearer {credential}")).expect("bearer header");
    (header::AUTHORIZATION, value)
}
