//! [`SessionService`]: the operations of Tessera over a store, a clock, a random source, the RBAC
//! policy and the deployment settings.
//!
//! Every operation reads the clock once (`now`), checks every rule before its first write, and
//! then writes through **one** conditional store call (one transaction): a refused operation
//! leaves no trace, and a failed write leaves nothing half done. The store re-checks, in the same
//! statement that writes, that the session is still live and still holds the token generation
//! that was read, so nothing read before a concurrent revoke or rotation can write after it.

mod deployment;
mod directory;
mod events;
mod jwt;
mod maintenance;
pub(crate) mod polar;
mod revoked;
mod sessions;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_core::{
    Actor, AuthenticatedSession, EventRecord, EventType, Organization, Policy, RequestContext,
    RoleId, SessionToken,
};
use tessera_store::Store;

use self::revoked::RevokedSessions;
pub use self::{
    directory::{
        CreateMember, CreateOrganization, MEMBER_NAME_MAX_CHARS, UpdateMember, UpdateOrganization,
    },
    events::EVENTS_PAGE_MAX,
    revoked::REVOCATION_CAPACITY,
    sessions::{
        AddFactor, Authenticate, Authenticated, CreateSession, Credential, Exchange,
        IP_ADDRESS_MAX_CHARS, IssuedSession, MemberSessions, PENDING_MFA_LIFETIME,
        RETURN_URL_MAX_CHARS, Revoke, SignInMethod, USER_AGENT_MAX_CHARS,
    },
    webhooks::CreateWebhookEndpoint,
};
use crate::{
    clock::{Clock, SystemClock},
    config::ServiceConfig,
    jwt::{JwtReuse, KeyRing},
    random::{OsRandom, RandomSource, Rng},
};

/// The session service. Cheap to clone (it holds `Arc`s); share one per deployment.
///
/// # Example: the embedded use
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tessera_api::{
///     Authenticate, CreateMember, CreateOrganization, CreateSession, Credential, ServiceConfig,
///     SessionService,
/// };
/// use tessera_core::{EmailAddress, FactorInput, MemberRef, OrganizationName, OrganizationSlug};
/// use tessera_store::sqlite::SqliteStore;
///
/// let dir = std::env::temp_dir().join(format!("tessera-doc-{}", std::process::id()));
/// let store = SqliteStore::open(dir.join("tessera.db")).await?.into_store();
/// let service = SessionService::new(store, ServiceConfig::new("project-docs"));
///
/// let organization = service
///     .create_organization(CreateOrganization::new(
///         OrganizationName::parse("Acme, Inc.")?,
///         OrganizationSlug::parse("acme")?,
///     ))
///     .await?;
/// let (member, _) = service
///     .create_member(
///         &organization.id.into(),
///         CreateMember::new(EmailAddress::parse("ada@acme.example")?),
///     )
///     .await?;
///
/// let issued = service
///     .create_session(CreateSession::new(organization.id.into(), MemberRef::Id(member.id))
///         .with_factor(serde_json::from_value::<FactorInput>(serde_json::json!({
///             "type": "magic_link", "delivery_method": "email"
///         }))?))
///     .await?;
///
/// let token = issued.token.expose().to_owned(); // hand this to the member, once
/// let authenticated = service.authenticate(Authenticate::new(Credential::Token(token))).await?;
/// assert_eq!(authenticated.session.member.id, member.id);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SessionService {
    /// What every handle shares, behind one reference count: a clone of the service costs two
    /// counter increments, and the handle the HTTP server makes per request ([`Self::acting`])
    /// one increment and the request context's allocation.
    shared: Arc<Shared>,
    /// Who the events of this handle's operations name, and where the request came from
    /// ([`Self::acting`]); by default the project, from nowhere known.
    actor: Actor,
    request: Arc<RequestContext>,
}

#[derive(Debug, Clone)]
struct Shared {
    store: Store,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    policy: Arc<Policy>,
    config: Arc<ServiceConfig>,
    /// The signing keys, cached; shared by clones of this service (not by other services over
    /// the same store, which converge through the store).
    keys: Arc<KeyRing>,
    jwt_reuse: Arc<JwtReuse>,
    /// What this process revoked, for the local JWT path (`revoked.rs`); shared by clones.
    revoked: Arc<RevokedSessions>,
}

impl SessionService {
    /// A service on the system clock, the OS CSPRNG and the default RBAC policy.
    pub fn new(store: Store, config: ServiceConfig) -> Self {
        let shared = Shared {
            keys: Arc::new(KeyRing::new(store.signing_keys.clone())),
            jwt_reuse: Arc::new(JwtReuse::new(config.jwt.reuse_capacity)),
            revoked: Arc::new(RevokedSessions::new(REVOCATION_CAPACITY)),
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            policy: Arc::new(Policy::default()),
            config: Arc::new(config),
        };
        Self { shared: Arc::new(shared), actor: Actor::Project, request: Arc::default() }
    }

    /// A handle whose operations record `actor` and `request` in their events (the audit log's
    /// who and where): the HTTP server makes one per request. Cheap: the shared state is one
    /// `Arc`.
    pub fn acting(&self, actor: Actor, request: RequestContext) -> Self {
        Self { shared: Arc::clone(&self.shared), actor, request: Arc::new(request) }
    }

    /// The events one write records: `build` completes the one event of `event_type` at `now`
    /// (subject, payload), unless the deployment records no events (then nothing is built).
    fn record(
        &self,
        event_type: EventType,
        now: DateTime<Utc>,
        build: impl FnOnce(EventRecord) -> EventRecord,
    ) -> Vec<EventRecord> {
        if !self.shared.config.events.enabled {
            return Vec::new();
        }
        let event =
            EventRecord::new(event_type, now, &mut self.rng(), self.actor, (*self.request).clone());
        vec![build(event)]
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        Arc::make_mut(&mut self.shared).clock = clock;
        self
    }

    /// Replaces the random source (tests only: production must use the OS CSPRNG).
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        Arc::make_mut(&mut self.shared).random = random;
        self
    }

    /// Replaces the RBAC policy (e.g. one loaded with `Policy::from_json`).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        Arc::make_mut(&mut self.shared).policy = Arc::new(policy);
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.shared.config
    }

    pub fn clock(&self) -> &dyn Clock {
        self.shared.clock.as_ref()
    }

    /// How long a revocation is remembered for the local JWT path: every JWT it covers has
    /// expired by then (see `revoked.rs`).
    fn revocation_retention(&self) -> chrono::TimeDelta {
        self.shared.config.jwt.lifetime + self.shared.config.jwt.retired_key_margin
    }

    fn rng(&self) -> Rng<'_> {
        Rng(self.shared.random.as_ref())
    }

    fn new_token(&self) -> SessionToken {
        SessionToken::generate(&self.shared.config.token_prefix, &mut self.rng())
    }

    /// The roles a session of this member has now, under the current policy.
    pub fn session_roles(&self, session: &AuthenticatedSession) -> Vec<RoleId> {
        session.roles(&self.shared.policy)
    }

    /// Polar's `member_portal_url` for a session whose raw token is `token`.
    pub fn member_portal_url(
        &self,
        organization: &Organization,
        email: &str,
        token: &SessionToken,
    ) -> String {
        self.shared
            .config
            .member_portal_url_template
            .replace("{organization_slug}", &url_encode(organization.slug.as_str()))
            .replace("{email}", &url_encode(email))
            .replace("{token}", &url_encode(token.expose()))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`+` becomes `%2B`, as Polar
/// tests for).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
