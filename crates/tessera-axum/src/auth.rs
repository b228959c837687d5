//! [`TesseraAuth`]: the configuration and the verification of one request's credential.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, header, request::Parts};
use chrono::TimeDelta;
use tessera_api::{Credential, LocalVerification, SessionService};
use tessera_core::ErrorType;

use crate::{
    AuthRejection, Authenticator, AuthenticatorError, CookieSettings, CurrentSession, cookie,
};

/// Where a credential may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `Authorization: Bearer <session token or session JWT>`.
    Bearer,
    /// The session cookies ([`CookieSettings`]): the JWT cookie, then the token cookie.
    Cookies,
}

/// How [`TesseraAuth`] finds and verifies credentials.
///
/// ```
/// use chrono::TimeDelta;
/// use tessera_axum::{AuthConfig, CredentialSource};
///
/// let config = AuthConfig {
///     sources: vec![CredentialSource::Cookies],
///     max_token_age: Some(TimeDelta::seconds(60)),
///     trusted_origins: vec!["https://app.example.com".into()],
///     ..AuthConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The sources tried, in order; the first that carries a credential is the one verified (a
    /// bad credential there is refused, not skipped). Default: Bearer, then cookies.
    pub sources: Vec<CredentialSource>,
    /// The cookies' names and attributes.
    pub cookies: CookieSettings,
    /// A session JWT whose `iat` is this old or older is not trusted locally: the session is
    /// authenticated remotely instead (Stytch SDKs' `max_token_age_seconds`; zero: always
    /// remote). `None` (default): local while the JWT has not expired.
    pub max_token_age: Option<TimeDelta>,
    /// Tolerance on the JWT's `exp`, `nbf`, `iat` locally. Default zero.
    pub leeway: TimeDelta,
    /// Origins (`scheme://host[:port]`) whose cookie-authenticated unsafe requests are accepted
    /// besides the request's own host. Default none.
    pub trusted_origins: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            sources: vec![CredentialSource::Bearer, CredentialSource::Cookies],
            cookies: CookieSettings::default(),
            max_token_age: None,
            leeway: TimeDelta::zero(),
            trusted_origins: Vec::new(),
        }
    }
}

/// Tessera in an axum application: put it in the router's state (directly, or in your own state
/// with [`axum::extract::FromRef`]), and the extractors find it there, so a missing piece is a
/// compile error, never a runtime 500. Add [`Self::layer`] to refresh and clear the session
/// cookies and mark authenticated responses uncacheable. Cheap to clone.
///
/// ```
/// use axum::{Router, extract::FromRef, routing::get};
/// use tessera_axum::{CurrentSession, TesseraAuth};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     auth: TesseraAuth,
///     greeting: &'static str,
/// }
///
/// async fn me(session: CurrentSession) -> String {
///     session.member_id.to_string()
/// }
///
/// fn app(service: tessera_api::SessionService) -> Router {
///     let auth = TesseraAuth::new(service);
///     Router::new()
///         .route("/me", get(me))
///         .layer(auth.layer())
///         .with_state(AppState { auth, greeting: "hi" })
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TesseraAuth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    authenticator: Arc<dyn Authenticator>,
    config: AuthConfig,
}

impl TesseraAuth {
    /// Over an authenticator (an in-process [`SessionService`], or a remote client), with the
    /// default configuration.
    pub fn new(authenticator: impl Authenticator) -> Self {
        Self::with_config(authenticator, AuthConfig::default())
    }

    /// Over an authenticator, with a configuration.
    pub fn with_config(authenticator: impl Authenticator, config: AuthConfig) -> Self {
        Self { inner: Arc::new(Inner { authenticator: Arc::new(authenticator), config }) }
    }

    /// In process, over a session service (the same as [`Self::new`]).
    pub fn in_process(service: SessionService) -> Self {
        Self::new(service)
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &dyn Authenticator {
        self.inner.authenticator.as_ref()
    }

    /// Verifies a request's credential from its method and headers, outside the extractors (a
    /// middleware, a WebSocket upgrade, a handler of another framework): `Ok(None)` without a
    /// credential. Not cached: each call verifies again, and no cookie is maintained.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tessera_axum::http::{HeaderMap, Method};
    /// let kit = tessera_axum::test::TestKit::new();
    /// let ada = kit.signed_in("acme", "ada@acme.example").await;
    /// let mut headers = HeaderMap::new();
    /// let (name, value) = ada.bearer_token();
    /// headers.insert(name, value);
    /// let session = kit.auth().session_from_headers(&Method::GET, &headers).await?;
    /// assert_eq!(session.map(|s| s.member_id), Some(ada.member.id));
    /// # Ok::<(), tessera_axum::AuthRejection>(())
    /// # }).unwrap();
    /// ```
    pub async fn session_from_headers(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<CurrentSession>, AuthRejection> {
        match self.verify(method, headers).await {
            Outcome::NoCredential => Ok(None),
            Outcome::Authenticated { session, .. } => Ok(Some(session)),
            Outcome::Rejected(rejection) => Err(rejection),
        }
    }

    /// The request's outcome: computed at the first ask, then kept in the request's extensions.
    pub(crate) async fn outcome(&self, parts: &mut Parts) -> Arc<Outcome> {
        if let Some(outcome) = parts.extensions.get::<Arc<Outcome>>() {
            return outcome.clone();
        }
        let outcome = Arc::new(self.verify(&parts.method, &parts.headers).await);
        parts.extensions.insert(outcome.clone());
        if let Some(slot) = parts.extensions.get::<OutcomeSlot>() {
            slot.put(outcome.clone());
        }
        outcome
    }

    async fn verify(&self, method: &Method, headers: &HeaderMap) -> Outcome {
        let config = &self.inner.config;
        for source in &config.sources {
            match source {
                CredentialSource::Bearer => {
                    if let Some(value) = bearer(headers) {
                        return self.verify_bearer(value).await;
                    }
                }
                CredentialSource::Cookies => {
                    let jwt = cookie::read(headers, &config.cookies.jwt_name);
                    let token = cookie::read(headers, &config.cookies.token_name);
                    if jwt.is_none() && token.is_none() {
                        continue;
                    }
                    if let Err(reason) = check_same_origin(method, headers, &config.trusted_origins)
                    {
                        return Outcome::Rejected(AuthRejection::CrossSiteRequest { reason });
                    }
                    return self.verify_cookies(jwt, token).await;
                }
            }
        }
        Outcome::NoCredential
    }

    async fn verify_bearer(&self, value: &str) -> Outcome {
        let source = CredentialSource::Bearer;
        let authenticator = self.authenticator();
        if looks_like_jwt(value) {
            if let Some(local) = self.verify_locally(value).await {
                return Outcome::authenticated(local, None, source);
            }
            return match authenticator.authenticate(Credential::Jwt(value.to_owned()), false).await
            {
                Ok(answer) => Outcome::authenticated(answer.session, None, source),
                Err(error) => Outcome::Rejected(rejection(error, source)),
            };
        }
        match authenticator.authenticate(Credential::Token(value.to_owned()), false).await {
            Ok(answer) => Outcome::authenticated(answer.session, None, source),
            Err(error) => Outcome::Rejected(rejection(error, source)),
        }
    }

    async fn verify_cookies(&self, jwt: Option<&str>, token: Option<&str>) -> Outcome {
        let source = CredentialSource::Cookies;
        let authenticator = self.authenticator();
        let mut failure = None;
        if let Some(jwt) = jwt {
            if let Some(local) = self.verify_locally(jwt).await {
                return Outcome::authenticated(local, None, source);
            }
            match authenticator.authenticate(Credential::Jwt(jwt.to_owned()), true).await {
                Ok(answer) => {
                    let fresh = answer.jwt.filter(|fresh| fresh != jwt);
                    return Outcome::authenticated(answer.session, fresh, source);
                }
                // Storage down: the token would fail the same way; do not clear anything.
                Err(error) if is_unavailable(&error) => {
                    return Outcome::Rejected(rejection(error, source));
                }
                Err(error) => failure = Some(error),
            }
        }
        if let Some(token) = token {
            return match authenticator.authenticate(Credential::Token(token.to_owned()), true).await
            {
                Ok(answer) => Outcome::authenticated(answer.session, answer.jwt, source),
                Err(error) => Outcome::Rejected(rejection(error, source)),
            };
        }
        match failure {
            Some(error) => Outcome::Rejected(rejection(error, source)),
            None => Outcome::NoCredential,
        }
    }

    /// The local path, unless the configuration says every JWT is too old for it.
    async fn verify_locally(&self, jwt: &str) -> Option<CurrentSession> {
        let config = &self.inner.config;
        if config.max_token_age.is_some_and(|age| age <= TimeDelta::zero()) {
            return None;
        }
        let options =
            LocalVerification { max_token_age: config.max_token_age, leeway: config.leeway };
        // Any local failure (expired, too old, revoked here, unknown key...) falls back to the
        // remote path, which gives the answer that counts.
        let local = self.authenticator().verify_jwt_locally(jwt, options).await.ok()?;
        Some(CurrentSession::from_local(local))
    }
}

/// The outcome of verifying one request's credential.
#[derive(Debug)]
pub(crate) enum Outcome {
    NoCredential,
    Authenticated {
        session: CurrentSession,
        /// A JWT newer than the one sent, for the JWT cookie.
        refreshed_jwt: Option<String>,
        source: CredentialSource,
    },
    Rejected(AuthRejection),
}

impl Outcome {
    fn authenticated(
        mut session: CurrentSession,
        refreshed_jwt: Option<String>,
        source: CredentialSource,
    ) -> Self {
        session.source = source;
        Self::Authenticated { session, refreshed_jwt, source }
    }
}

/// Where the layer finds the outcome after the handler ran.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutcomeSlot(Arc<Mutex<Option<Arc<Outcome>>>>);

impl OutcomeSlot {
    fn put(&self, outcome: Arc<Outcome>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome);
    }

    pub(crate) fn take(&self) -> Option<Arc<Outcome>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

fn is_unavailable(error: &AuthenticatorError) -> bool {
    matches!(error.error_type, ErrorType::StorageUnavailable | ErrorType::InternalServerError)
}

fn rejection(error: AuthenticatorError, source: CredentialSource) -> AuthRejection {
    match error.error_type {
        ErrorType::StorageUnavailable | ErrorType::InternalServerError => {
            AuthRejection::Unavailable { error_type: error.error_type, message: error.message }
        }
        // A live session that is pending MFA (its token only serves to add a factor): the
        // member must step up, not sign in again.
        ErrorType::MfaRequired => AuthRejection::MfaRequired { source },
        _ => AuthRejection::InvalidCredential {
            error_type: error.error_type,
            message: error.message,
            source,
        },
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

/// Three dot-separated segments: a compact JWS. Tokens are base62 with a `_` prefix, no dots.
fn looks_like_jwt(value: &str) -> bool {
    value.bytes().filter(|&b| b == b'.').count() == 2
}

/// CSRF for cookie-borne credentials: safe methods pass; an unsafe one passes when Fetch
/// Metadata says same-origin (or user-initiated), or when its `Origin` is the request's own host
/// or a trusted origin; a request with neither header (not a browser) passes.
pub(crate) fn check_same_origin(
    method: &Method,
    headers: &HeaderMap,
    trusted_origins: &[String],
) -> Result<(), &'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return Ok(());
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let trusted = |origin: &str| {
        trusted_origins.iter().any(|t| t.trim_end_matches('/').eq_ignore_ascii_case(origin))
    };
    let own_host = |origin: &str| {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        matches!((host, authority), (Some(host), Some(authority)) if host.eq_ignore_ascii_case(authority))
    };
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin" | "none") => Ok(()),
        Some(_) => match origin {
            Some(origin) if trusted(origin) => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin and the Origin is not trusted"),
        },
        None => match origin {
            None => Ok(()),
            Some(origin) if own_host(origin) || trusted(origin) => Ok(()),
            Some(_) => Err("the Origin is neither this host nor a trusted origin"),
        },
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn csrf_rules() {
        let trusted = vec!["https://app.example.com".to_owned()];
        let post = Method::POST;
        assert!(
            check_same_origin(
                &Method::GET,
                &headers(&[("sec-fetch-site", "cross-site")]),
                &trusted
            )
            .is_ok()
        );
        assert!(
            check_same_origin(&post, &headers(&[("sec-fetch-site", "same-origin")]), &trusted)
                .is_ok()
        );
        assert!(
            check_same_origin(&post, &headers(&[("sec-fetch-site", "cross-site")]), &trusted)
                .is_err()
        );
        assert!(
            check_same_origin(
                &post,
                &headers(&[("sec-fetch-site", "same-site"), ("origin", "https://app.example.com")]),
                &trusted
            )
            .is_ok()
        );
        assert!(
            check_same_origin(&post, &headers(&[("origin", "https://evil.example")]), &trusted)
                .is_err()
        );
        assert!(
            check_same_origin(
                &post,
                &headers(&[("origin", "http://api.example.com"), ("host", "api.example.com")]),
                &trusted
            )
            .is_ok()
        );
        assert!(check_same_origin(&post, &headers(&[]), &trusted).is_ok());
    }

    #[test]
    fn bearer_and_jwt_shapes() {
        assert_eq!(bearer(&headers(&[("authorization", "Bearer abc")])), Some("abc"));
        assert_eq!(bearer(&headers(&[("authorization", "bearer  abc ")])), Some("abc"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic abc")])), None);
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("tsr_mst_abc"));
    }
}
