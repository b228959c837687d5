//! [`ClientError`]: every way a call to a Tessera server can fail.

use tessera_api::{JwtError, KeyError};
use tessera_core::ErrorType;

/// A failed call. Never carries a credential: not the project secret, not a session token or
/// JWT (the server's messages never echo them either).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with Stytch's error body.
    #[error("tessera answered {status} {error_type_str}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The `error_type`, when it is one of `tessera_core::ErrorType` (the server has a few
        /// of its own, e.g. `request_timeout`, `too_many_concurrent_requests`).
        error_type: Option<ErrorType>,
        /// The `error_type` as sent.
        error_type_str: String,
        /// `error_message`.
        message: String,
        /// `request_id`, to find the call in the server's logs.
        request_id: String,
    },
    /// The server could not be reached, or the connection failed or timed out.
    #[error("could not reach the Tessera server: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered something that is not the expected body.
    #[error("unexpected answer from the Tessera server (status {status}): {reason}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// What did not fit (never the body itself).
        reason: String,
    },
    /// A session JWT failed local verification.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// A key of the JWKS cannot verify JWTs.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The RBAC policy the server sent does not validate.
    #[error("the server's RBAC policy is invalid: {0}")]
    Policy(String),
}

impl ClientError {
    /// The stable kind: the server's `error_type` when it sent a known one; for a JWT refused
    /// locally the kind the server would have answered; otherwise `storage_unavailable` (the
    /// server, or its store, is unreachable: retry later) or `internal_server_error`.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Api { error_type: Some(kind), .. } => *kind,
            Self::Api { status, .. } if *status == 503 => ErrorType::StorageUnavailable,
            Self::Api { .. } | Self::UnexpectedResponse { .. } | Self::Policy(_) | Self::Key(_) => {
                ErrorType::InternalServerError
            }
            Self::Transport(_) => ErrorType::StorageUnavailable,
            Self::Jwt(error) => error.error_type(),
        }
    }

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The [`ErrorType`] named `s`, if any.
pub(crate) fn parse_error_type(s: &str) -> Option<ErrorType> {
    ErrorType::ALL.iter().copied().find(|kind| kind.as_str() == s)
}
