//! [`AuthRejection`]: every way a protected route refuses a request, as one enum.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tessera_api::views::stytch::ErrorBody;
use tessera_core::ErrorType;

use crate::{CredentialSource, status_of};

/// The `error_type` of a refused cross-site request ([`AuthRejection::CrossSiteRequest`]).
pub const CROSS_SITE_REQUEST: &str = "cross_site_request_refused";
/// The `error_type` of a route whose guard names a path parameter the route lacks
/// ([`AuthRejection::Misconfigured`]).
pub const INTERNAL_SERVER_ERROR: &str = "internal_server_error";

/// Why a protected route refused a request. Its [`IntoResponse`] answers Stytch's error body
/// (`{status_code, request_id, error_type, error_message, error_url}`) with a stable
/// `error_type`: **401** when there is no live session (no credential, or one that is unknown,
/// expired, revoked or not this deployment's), with `WWW-Authenticate: Bearer`; **403** when
/// there is one but it may not do this (tenancy, permission, MFA, step-up, claims, cross-site);
/// 5xx when the session could not be checked. Embedders who want their own body match on it:
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use tessera_axum::{AuthRejection, CurrentSession};
///
/// async fn handler(session: Result<CurrentSession, AuthRejection>) -> Response {
///     match session {
///         Ok(session) => format!("hello {}", session.member_id).into_response(),
///         Err(AuthRejection::MissingCredential) => {
///             axum::response::Redirect::to("/login").into_response()
///         }
///         Err(other) => other.into_response(),
///     }
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(handler))
/// #     .with_state(tessera_axum::test::TestKit::new().auth());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No credential in any configured source: `401 unauthorized_credentials`.
    MissingCredential,
    /// The credential names no live session of this deployment: `401` with the service's type
    /// (`session_not_found`, `unable_to_parse_session_jwt`, `invalid_session_token`,
    /// `jwt_invalid_claims`, ...). The session cookies are cleared (by [`crate::AuthLayer`]).
    InvalidCredential {
        /// What the service answered.
        error_type: ErrorType,
        /// Safe to show: never contains the credential.
        message: String,
        /// Where the credential came from.
        source: CredentialSource,
    },
    /// A cookie-authenticated unsafe request from another site: `403 cross_site_request_refused`.
    CrossSiteRequest {
        /// Which check refused it.
        reason: &'static str,
    },
    /// The route's organization is not the session's: `403 session_authorization_tenancy_error`.
    Tenancy {
        /// The organization the route names, as given.
        requested: String,
        /// Where the credential came from.
        source: CredentialSource,
    },
    /// None of the session's roles grants the permission: `403 session_authorization_error`.
    Permission {
        /// The resource of the permission.
        resource_id: String,
        /// The action of the permission.
        action: String,
        /// Where the credential came from.
        source: CredentialSource,
    },
    /// The route requires a multi-factor session: `403 mfa_required`.
    MfaRequired {
        /// Where the credential came from.
        source: CredentialSource,
    },
    /// The route requires a factor proved more recently (step-up): `403
    /// reauthentication_required`.
    ReauthenticationRequired {
        /// The most time allowed since the last factor was proved.
        max_age_seconds: i64,
        /// Where the credential came from.
        source: CredentialSource,
    },
    /// The session's custom claims do not have the shape the route expects: `403
    /// invalid_custom_claims`.
    InvalidClaims {
        /// Why the claims did not deserialize.
        message: String,
    },
    /// The session could not be checked (storage down, internal fault): its status by
    /// [`status_of`] (`503 storage_unavailable`, `500 internal_server_error`).
    Unavailable {
        /// What the service answered.
        error_type: ErrorType,
        /// Safe to show.
        message: String,
    },
    /// The route's guard is wrong (it names a path parameter the route does not have): `500`.
    Misconfigured {
        /// What is wrong.
        message: &'static str,
    },
}

impl AuthRejection {
    /// The HTTP status this rejection answers.
    ///
    /// ```
    /// use tessera_axum::{AuthRejection, http::StatusCode};
    /// assert_eq!(AuthRejection::MissingCredential.status(), StatusCode::UNAUTHORIZED);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingCredential | Self::InvalidCredential { .. } => StatusCode::UNAUTHORIZED,
            Self::CrossSiteRequest { .. }
            | Self::Tenancy { .. }
            | Self::Permission { .. }
            | Self::MfaRequired { .. }
            | Self::ReauthenticationRequired { .. }
            | Self::InvalidClaims { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable { error_type, .. } => status_of(*error_type),
            Self::Misconfigured { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `error_type` of the body.
    ///
    /// ```
    /// use tessera_axum::AuthRejection;
    /// assert_eq!(AuthRejection::MissingCredential.error_type(), "unauthorized_credentials");
    /// ```
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MissingCredential => ErrorType::UnauthorizedCredentials.as_str(),
            Self::InvalidCredential { error_type, .. } | Self::Unavailable { error_type, .. } => {
                error_type.as_str()
            }
            Self::CrossSiteRequest { .. } => CROSS_SITE_REQUEST,
            Self::Tenancy { .. } => ErrorType::SessionAuthorizationTenancyError.as_str(),
            Self::Permission { .. } => ErrorType::SessionAuthorizationError.as_str(),
            Self::MfaRequired { .. } => ErrorType::MfaRequired.as_str(),
            Self::ReauthenticationRequired { .. } => ErrorType::ReauthenticationRequired.as_str(),
            Self::InvalidClaims { .. } => ErrorType::InvalidCustomClaims.as_str(),
            Self::Misconfigured { .. } => INTERNAL_SERVER_ERROR,
        }
    }

    /// A message safe to show (never a credential).
    pub fn message(&self) -> String {
        match self {
            Self::MissingCredential => {
                "No session: send `Authorization: Bearer <session token or JWT>` or the session cookies.".into()
            }
            Self::InvalidCredential { message, .. }
            | Self::Unavailable { message, .. }
            | Self::InvalidClaims { message } => message.clone(),
            Self::CrossSiteRequest { reason } => {
                format!("Cross-site request refused for a cookie session: {reason}.")
            }
            Self::Tenancy { requested, .. } => format!(
                "The session does not belong to the organization `{}`.",
                bounded(requested)
            ),
            Self::Permission { resource_id, action, .. } => format!(
                "The session is not authorized to perform `{}` on `{}`.",
                bounded(action),
                bounded(resource_id)
            ),
            Self::MfaRequired { .. } => "This route requires a multi-factor session.".into(),
            Self::ReauthenticationRequired { max_age_seconds, .. } => format!(
                "This route requires a factor proved in the last {max_age_seconds} seconds."
            ),
            Self::Misconfigured { message } => (*message).into(),
        }
    }

    /// Stytch's error body of this rejection, with the given request id.
    pub fn body(&self, request_id: impl Into<String>) -> ErrorBody {
        ErrorBody::custom(request_id, self.status().as_u16(), self.error_type(), self.message())
    }

    fn source(&self) -> Option<CredentialSource> {
        match self {
            Self::InvalidCredential { source, .. }
            | Self::Tenancy { source, .. }
            | Self::Permission { source, .. }
            | Self::MfaRequired { source }
            | Self::ReauthenticationRequired { source, .. } => Some(*source),
            _ => None,
        }
    }

    /// Whether the credential is dead, so the session cookies should go.
    pub(crate) fn clears_cookies(&self) -> bool {
        matches!(self, Self::InvalidCredential { source: CredentialSource::Cookies, .. })
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.message())
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let challenge = match (status, self.source()) {
            (StatusCode::UNAUTHORIZED, Some(CredentialSource::Bearer)) => {
                Some(r#"Bearer realm="tessera", error="invalid_token""#)
            }
            (StatusCode::UNAUTHORIZED, _) => Some(r#"Bearer realm="tessera""#),
            (StatusCode::FORBIDDEN, Some(CredentialSource::Bearer)) => {
                Some(r#"Bearer realm="tessera", error="insufficient_scope""#)
            }
            _ => None,
        };
        let mut response = (status, Json(self.body(""))).into_response();
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// At most 64 printable characters of something the client sent.
fn bounded(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}
