//! [`Authenticator`]: what the layer asks of Tessera, so the same layer works over an in-process
//! [`SessionService`] or a remote Tessera server.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_api::{
    Authenticate, Credential, LocalSession, LocalVerification, ServiceError, SessionService,
};
use tessera_core::{AuthorizationCheck, ErrorType, Verdict, rbac::Subject};

use crate::{CurrentSession, Verification};

/// A refusal or failure of an [`Authenticator`], with the stable `error_type` the service (or
/// the server, for a remote one) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorError {
    /// The stable kind.
    pub error_type: ErrorType,
    /// Safe to show (never a credential).
    pub message: String,
}

impl std::fmt::Display for AuthenticatorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for AuthenticatorError {}

impl From<ServiceError> for AuthenticatorError {
    fn from(error: ServiceError) -> Self {
        let error_type = error.error_type();
        let message = match error_type {
            // One answer for unknown, expired, idle and revoked sessions: never reveal which.
            ErrorType::SessionNotFound => "Session could not be found.".to_owned(),
            ErrorType::InternalServerError => "Internal server error.".to_owned(),
            ErrorType::StorageUnavailable => {
                "The session store is unavailable; retry later.".to_owned()
            }
            _ => error.to_string(),
        };
        Self { error_type, message }
    }
}

impl From<tessera_core::Error> for AuthenticatorError {
    fn from(error: tessera_core::Error) -> Self {
        ServiceError::from(error).into()
    }
}

/// A session verified remotely, and the fresh session JWT if one was asked for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The live session.
    pub session: CurrentSession,
    /// A session JWT of it (when asked for), to refresh the JWT cookie with.
    pub jwt: Option<String>,
}

/// The operations the layer needs. Two implementations: [`SessionService`] (in process, same
/// store) and a remote client of a `tessera serve`.
///
/// ```
/// fn takes_any(_: impl tessera_axum::Authenticator) {}
/// # fn f(service: tessera_api::SessionService) { takes_any(service) }
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + std::fmt::Debug + 'static {
    /// Verifies a session JWT without reading the session (signature, claims, `exp`, the
    /// maximum token age).
    async fn verify_jwt_locally(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> Result<LocalSession, AuthenticatorError>;

    /// Authenticates a token or JWT against the live session; with `with_jwt`, answers a session
    /// JWT too.
    async fn authenticate(
        &self,
        credential: Credential,
        with_jwt: bool,
    ) -> Result<Authenticated, AuthenticatorError>;

    /// Checks a permission under the deployment's RBAC policy, tenancy first.
    async fn authorize(
        &self,
        subject: &Subject<'_>,
        check: &AuthorizationCheck,
    ) -> Result<Verdict, AuthenticatorError>;

    /// Now, on the deployment's clock (step-up ages are measured against it).
    fn now(&self) -> DateTime<Utc>;
}

#[async_trait]
impl Authenticator for SessionService {
    async fn verify_jwt_locally(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> Result<LocalSession, AuthenticatorError> {
        Ok(self.authenticate_jwt_local(jwt, options).await?)
    }

    async fn authenticate(
        &self,
        credential: Credential,
        with_jwt: bool,
    ) -> Result<Authenticated, AuthenticatorError> {
        let verification = match credential {
            Credential::Token(_) => Verification::Token,
            Credential::Jwt(_) => Verification::RemoteJwt,
        };
        let mut request = Authenticate::new(credential);
        if !with_jwt {
            request = request.without_jwt();
        }
        let answer = SessionService::authenticate(self, request).await?;
        Ok(Authenticated {
            jwt: answer.jwt.map(|jwt| jwt.expose().to_owned()),
            session: CurrentSession::from_authenticated(answer.session, answer.roles, verification),
        })
    }

    async fn authorize(
        &self,
        subject: &Subject<'_>,
        check: &AuthorizationCheck,
    ) -> Result<Verdict, AuthenticatorError> {
        Ok(self.policy().authorize(subject, check)?)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock().now()
    }
}
