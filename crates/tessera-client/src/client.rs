//! [`TesseraClient`]: the HTTP calls, the JWKS and the RBAC policy caches.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use tessera_api::{
    Clock, JwtProfile, LocalSession, LocalVerification, SystemClock, VerifyingKey,
    views::stytch::{
        AuthenticateResponse, CreateSessionResponse, Envelope, ErrorBody, ExchangeResponse,
        GetJwksResponse, PolicyResponse, RevokeResponse,
    },
};
use tessera_core::{
    ClaimNamespaces, FactorInput, Policy,
    rbac::{Permission, PolicyDocument, Resource, Role},
};

use crate::{ClientError, error::parse_error_type, jwks::JwksCache};

/// How to reach a Tessera server and what to trust of it.
///
/// The secret is kept out of `Debug`.
#[derive(Clone)]
pub struct ClientConfig {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (no trailing path).
    pub base_url: String,
    /// The project id (`tessera serve` prints it).
    pub project_id: String,
    /// The project secret (printed once by the first `tessera serve`).
    secret: String,
    /// Issuer and audience of the deployment's session JWTs. Default: [`JwtProfile::stytch`] of
    /// the project id (what `tessera serve` mints).
    pub jwt: JwtProfile,
    /// The claim names of the session and organization claims. Default: Stytch's.
    pub claim_namespaces: ClaimNamespaces,
    /// How long a fetched JWKS is used before it is fetched again. Default 60 s (the server's
    /// default key cache TTL: a key the deployment stopped publishing stops verifying here
    /// within it).
    pub jwks_ttl: Duration,
    /// The least time between two JWKS fetches caused by an unknown `kid` (which anyone can
    /// send). Default 10 s.
    pub jwks_refresh_interval: Duration,
    /// How long the fetched RBAC policy is used for [`TesseraClient::authorize`]. Default 60 s.
    pub policy_ttl: Duration,
    /// Timeout of each HTTP call. Default 10 s.
    pub timeout: Duration,
    /// The clock local verification and step-up ages are measured against. Default: the
    /// system clock.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("project_id", &self.project_id)
            .field("secret", &"[redacted]")
            .field("jwt", &self.jwt)
            .field("jwks_ttl", &self.jwks_ttl)
            .field("jwks_refresh_interval", &self.jwks_refresh_interval)
            .field("policy_ttl", &self.policy_ttl)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// The defaults for a server at `base_url` and the project's credentials.
    pub fn new(
        base_url: impl Into<String>,
        project_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        let project_id = project_id.into();
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            jwt: JwtProfile::stytch(&project_id),
            project_id,
            secret: secret.into(),
            claim_namespaces: ClaimNamespaces::stytch(),
            jwks_ttl: Duration::from_secs(60),
            jwks_refresh_interval: Duration::from_secs(10),
            policy_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A typed client of a Tessera server's HTTP API: the Stytch-compatible session routes, Tessera's
/// create-session and step-up routes, the JWKS (cached, for local verification of session
/// JWTs) and the RBAC policy (cached, for local authorization checks). Cheap to clone: clones
/// share the connection pool and the caches.
///
/// ```no_run
/// use tessera_client::{AuthenticateRequest, ClientConfig, TesseraClient};
///
/// # async fn run() -> Result<(), tessera_client::ClientError> {
/// let client = TesseraClient::new(ClientConfig::new(
///     "http://127.0.0.1:8080",
///     "project-live-…",
///     std::env::var("TESSERA_SECRET").unwrap_or_default(),
/// ))?;
/// // Remote: the session is read, so a revoke counts at once.
/// let answer = client.authenticate(AuthenticateRequest::token("tsr_…")).await?;
/// println!("{} in {}", answer.member.email_address, answer.organization.organization_slug);
/// // Local: the JWT's signature and claims against the cached JWKS, no call to the server.
/// let local = client.verify_jwt_locally(answer.session_jwt.expose(), Default::default()).await?;
/// assert_eq!(local.session_id, answer.member_session.member_session_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TesseraClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    jwks: JwksCache,
    policy: tokio::sync::Mutex<Option<(Arc<Policy>, Instant)>>,
}

impl fmt::Debug for TesseraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TesseraClient")
            .field("config", &self.inner.config)
            .field("jwks_fetches", &self.jwks_fetches())
            .finish_non_exhaustive()
    }
}

/// `POST /v1/b2b/sessions/authenticate`. Build with [`Self::token`] or [`Self::jwt`].
#[derive(Clone, Serialize)]
pub struct AuthenticateRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_jwt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_duration_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_custom_claims: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_check: Option<AuthorizationCheckBody>,
}

impl fmt::Debug for AuthenticateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticateRequest")
            .field("credential", &if self.session_jwt.is_some() { "jwt" } else { "token" })
            .field("session_duration_minutes", &self.session_duration_minutes)
            .field("authorization_check", &self.authorization_check)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize)]
struct AuthorizationCheckBody {
    organization_id: String,
    resource_id: String,
    action: String,
}

impl AuthenticateRequest {
    /// Authenticates an opaque session token.
    pub fn token(token: impl Into<String>) -> Self {
        Self::new(Some(token.into()), None)
    }

    /// Authenticates a session JWT (even expired, within the server's refresh age).
    pub fn jwt(jwt: impl Into<String>) -> Self {
        Self::new(None, Some(jwt.into()))
    }

    fn new(session_token: Option<String>, session_jwt: Option<String>) -> Self {
        Self {
            session_token,
            session_jwt,
            session_duration_minutes: None,
            session_custom_claims: None,
            authorization_check: None,
        }
    }

    /// Extends the session to now plus `minutes` (capped by its absolute lifetime).
    pub fn session_duration_minutes(mut self, minutes: i64) -> Self {
        self.session_duration_minutes = Some(minutes);
        self
    }

    /// A JSON Merge Patch of the session's custom claims (`null` deletes a key).
    pub fn session_custom_claims(mut self, patch: Map<String, Value>) -> Self {
        self.session_custom_claims = Some(Value::Object(patch));
        self
    }

    /// Also checks that the session may do `action` on `resource_id` in the organization
    /// (id or slug); the answer's `verdict` says so, a refusal is an error.
    pub fn authorization_check(
        mut self,
        organization: impl Into<String>,
        resource_id: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        self.authorization_check = Some(AuthorizationCheckBody {
            organization_id: organization.into(),
            resource_id: resource_id.into(),
            action: action.into(),
        });
        self
    }
}

/// `POST /v1/b2b/sessions/revoke`: what to revoke.
#[derive(Clone)]
#[non_exhaustive]
pub enum RevokeRequest {
    /// One session, by id, optionally in an organization (id or slug).
    Session {
        /// `member_session_id`.
        session_id: String,
        /// `organization_id`.
        organization: Option<String>,
    },
    /// The session of this token.
    Token(String),
    /// The session of this JWT.
    Jwt(String),
    /// Every session of a member (id or external id), optionally in an organization.
    Member {
        /// `member_id`.
        member_id: String,
        /// `organization_id`.
        organization: Option<String>,
    },
}

impl fmt::Debug for RevokeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session { session_id, organization } => f
                .debug_struct("Session")
                .field("session_id", session_id)
                .field("organization", organization)
                .finish(),
            Self::Token(_) => f.write_str("Token([redacted])"),
            Self::Jwt(_) => f.write_str("Jwt([redacted])"),
            Self::Member { member_id, organization } => f
                .debug_struct("Member")
                .field("member_id", member_id)
                .field("organization", organization)
                .finish(),
        }
    }
}

#[derive(Serialize, Default)]
struct RevokeBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    member_session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_jwt: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<&'a str>,
}

/// The member a [`CreateSessionRequest`] is for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MemberLookup {
    /// By member id (or external id).
    Id(String),
    /// By email address.
    Email(String),
    /// By external id.
    ExternalId(String),
}

/// Tessera's `POST /v1/b2b/sessions`: a session for a member the application verified.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSessionRequest {
    organization_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    authentication_factors: Vec<FactorInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_duration_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_custom_claims: Option<Value>,
}

impl CreateSessionRequest {
    /// A session in `organization` (id or slug) for `member`, who proved `factors`.
    pub fn new(
        organization: impl Into<String>,
        member: MemberLookup,
        factors: Vec<FactorInput>,
    ) -> Self {
        let (mut member_id, mut email_address, mut external_id) = (None, None, None);
        match member {
            MemberLookup::Id(id) => member_id = Some(id),
            MemberLookup::Email(email) => email_address = Some(email),
            MemberLookup::ExternalId(id) => external_id = Some(id),
        }
        Self {
            organization_id: organization.into(),
            member_id,
            email_address,
            external_id,
            authentication_factors: factors,
            session_duration_minutes: None,
            session_custom_claims: None,
        }
    }

    /// The session's lifetime (5 to 527040 minutes; the server's default is 60).
    pub fn session_duration_minutes(mut self, minutes: i64) -> Self {
        self.session_duration_minutes = Some(minutes);
        self
    }

    /// The session's custom claims.
    pub fn session_custom_claims(mut self, claims: Map<String, Value>) -> Self {
        self.session_custom_claims = Some(Value::Object(claims));
        self
    }
}

#[derive(Serialize)]
struct ExchangeBody<'a> {
    organization_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_jwt: Option<&'a str>,
}

#[derive(Serialize)]
struct AddFactorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intermediate_session_token: Option<&'a str>,
    authentication_factor: &'a FactorInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_duration_minutes: Option<i64>,
}

/// The credential of an exchange or a step-up.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum SessionCredential<'a> {
    /// A session token.
    Token(&'a str),
    /// A session JWT (exchange only).
    Jwt(&'a str),
    /// The token of a session pending MFA (step-up only).
    Intermediate(&'a str),
}

impl fmt::Debug for SessionCredential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "Token([redacted])",
            Self::Jwt(_) => "Jwt([redacted])",
            Self::Intermediate(_) => "Intermediate([redacted])",
        })
    }
}

impl TesseraClient {
    /// A client of the server `config` names. Makes no call yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(ClientError::Transport)?;
        Ok(Self {
            inner: Arc::new(Inner {
                jwks: JwksCache::new(config.jwks_ttl, config.jwks_refresh_interval),
                policy: tokio::sync::Mutex::new(None),
                config,
                http,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// How many times the JWKS was fetched (a cache-efficiency figure).
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.jwks.fetches()
    }

    /// Now, on the configured clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.config.clock.now()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.config.base_url)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request.send().await.map_err(ClientError::Transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(ClientError::Transport)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice::<Envelope<T>>(&body).map(|e| e.body).map_err(|e| {
                ClientError::UnexpectedResponse {
                    status,
                    reason: format!("the body does not fit the expected shape: {e}"),
                }
            });
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(error) => Err(ClientError::Api {
                status,
                error_type: parse_error_type(&error.error_type),
                error_type_str: error.error_type,
                message: error.error_message,
                request_id: error.request_id,
            }),
            Err(_) => Err(ClientError::UnexpectedResponse {
                status,
                reason: "the error body is not Stytch's".to_owned(),
            }),
        }
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let config = &self.inner.config;
        let request = self
            .inner
            .http
            .post(self.url(path))
            .basic_auth(&config.project_id, Some(&config.secret))
            .json(body);
        self.send(request).await
    }

    /// `POST /v1/b2b/sessions/authenticate`: the live session of a token or JWT, with a fresh
    /// session JWT (and the verdict, with an authorization check).
    pub async fn authenticate(
        &self,
        request: AuthenticateRequest,
    ) -> Result<AuthenticateResponse, ClientError> {
        self.post("/v1/b2b/sessions/authenticate", &request).await
    }

    /// `POST /v1/b2b/sessions/revoke`.
    pub async fn revoke(&self, request: RevokeRequest) -> Result<RevokeResponse, ClientError> {
        let body = match &request {
            RevokeRequest::Session { session_id, organization } => RevokeBody {
                member_session_id: Some(session_id),
                organization_id: organization.as_deref(),
                ..RevokeBody::default()
            },
            RevokeRequest::Token(token) => {
                RevokeBody { session_token: Some(token), ..RevokeBody::default() }
            }
            RevokeRequest::Jwt(jwt) => {
                RevokeBody { session_jwt: Some(jwt), ..RevokeBody::default() }
            }
            RevokeRequest::Member { member_id, organization } => RevokeBody {
                member_id: Some(member_id),
                organization_id: organization.as_deref(),
                ..RevokeBody::default()
            },
        };
        self.post("/v1/b2b/sessions/revoke", &body).await
    }

    /// `POST /v1/b2b/sessions/exchange`: a session for the same person in `organization` (id or
    /// slug), from a session token or JWT.
    pub async fn exchange(
        &self,
        credential: SessionCredential<'_>,
        organization: &str,
    ) -> Result<ExchangeResponse, ClientError> {
        let (session_token, session_jwt) = match credential {
            SessionCredential::Token(token) | SessionCredential::Intermediate(token) => {
                (Some(token), None)
            }
            SessionCredential::Jwt(jwt) => (None, Some(jwt)),
        };
        let body = ExchangeBody { organization_id: organization, session_token, session_jwt };
        self.post("/v1/b2b/sessions/exchange", &body).await
    }

    /// Tessera's `POST /v1/b2b/sessions`: a session for a member the application verified.
    pub async fn create_session(
        &self,
        request: &CreateSessionRequest,
    ) -> Result<CreateSessionResponse, ClientError> {
        self.post("/v1/b2b/sessions", request).await
    }

    /// Tessera's `POST /v1/b2b/sessions/factors` (step-up): adds a factor the application
    /// verified, to a full session ([`SessionCredential::Token`]) or one pending MFA
    /// ([`SessionCredential::Intermediate`]). The session's token is rotated: use the answer's.
    pub async fn add_factor(
        &self,
        credential: SessionCredential<'_>,
        factor: &FactorInput,
        session_duration_minutes: Option<i64>,
    ) -> Result<CreateSessionResponse, ClientError> {
        let (session_token, intermediate_session_token) = match credential {
            SessionCredential::Token(token) | SessionCredential::Jwt(token) => (Some(token), None),
            SessionCredential::Intermediate(token) => (None, Some(token)),
        };
        let body = AddFactorBody {
            session_token,
            intermediate_session_token,
            authentication_factor: factor,
            session_duration_minutes,
        };
        self.post("/v1/b2b/sessions/factors", &body).await
    }

    /// `GET /v1/b2b/sessions/jwks/{project_id}`, uncached.
    pub async fn get_jwks(&self) -> Result<GetJwksResponse, ClientError> {
        let path = format!("/v1/b2b/sessions/jwks/{}", self.inner.config.project_id);
        self.send(self.inner.http.get(self.url(&path))).await
    }

    async fn fetch_keys(&self) -> Result<Vec<VerifyingKey>, ClientError> {
        let jwks = self.get_jwks().await?;
        // A key this version cannot use is skipped, not fatal: the others still verify.
        Ok(jwks.keys.iter().filter_map(|jwk| VerifyingKey::from_stytch_jwk(jwk).ok()).collect())
    }

    /// Fetches the JWKS into the cache now (e.g. at start-up); answers how many keys it holds.
    pub async fn refresh_jwks(&self) -> Result<usize, ClientError> {
        self.inner.jwks.refresh(|| self.fetch_keys()).await
    }

    /// Verifies a session JWT locally, against the cached JWKS (fetched on first use, after its
    /// TTL, and for an unknown `kid` at most once per refresh interval): the signature and every
    /// claim, with the rules of `tessera_api::SessionService::authenticate_jwt_local`. No
    /// session is read: **a session revoked since the JWT was minted is accepted until the JWT
    /// expires** (5 minutes by default); [`Self::authenticate`] when a revoke must count at once.
    pub async fn verify_jwt_locally(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> Result<LocalSession, ClientError> {
        let kid = tessera_api::jwt::jwt_key_id(jwt)?;
        let key = self.inner.jwks.key(&kid, || self.fetch_keys()).await?;
        let config = &self.inner.config;
        Ok(tessera_api::jwt::verify_local(
            jwt,
            key.as_deref(),
            &config.jwt,
            &config.claim_namespaces,
            options,
            self.now(),
        )?)
    }

    /// `GET /v1/b2b/rbac/policy`, uncached.
    pub async fn get_policy(&self) -> Result<PolicyResponse, ClientError> {
        let request = self
            .inner
            .http
            .get(self.url("/v1/b2b/rbac/policy"))
            .basic_auth(&self.inner.config.project_id, Some(&self.inner.config.secret));
        self.send(request).await
    }

    /// The deployment's RBAC policy, fetched at most once per [`ClientConfig::policy_ttl`].
    pub async fn policy(&self) -> Result<Arc<Policy>, ClientError> {
        let mut cached = self.inner.policy.lock().await;
        if let Some((policy, at)) = cached.as_ref()
            && at.elapsed() < self.inner.config.policy_ttl
        {
            return Ok(policy.clone());
        }
        let wire = self.get_policy().await?.policy;
        let document = PolicyDocument {
            resources: wire
                .resources
                .into_iter()
                .map(|r| Resource {
                    resource_id: r.resource_id,
                    description: r.description,
                    actions: r.actions,
                })
                .collect(),
            roles: wire
                .roles
                .into_iter()
                .map(|r| Role {
                    role_id: r.role_id,
                    description: r.description,
                    permissions: r
                        .permissions
                        .into_iter()
                        .map(|p| Permission { resource_id: p.resource_id, actions: p.actions })
                        .collect(),
                })
                .collect(),
        };
        let policy =
            Arc::new(Policy::try_from(document).map_err(|e| ClientError::Policy(e.to_string()))?);
        *cached = Some((policy.clone(), Instant::now()));
        Ok(policy)
    }
}
