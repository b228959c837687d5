//! Errors of the service: everything an operation can refuse or fail with.

use tessera_core::ErrorType;
use tessera_store::{Entity, StoreError};

use crate::jwt::{JwtError, KeyError};

/// Why an operation did not happen. Nothing was changed when one is returned, unless the variant
/// says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A domain rule refused the input (bad slug, duration, factor, claims, role, MFA, RBAC...).
    #[error(transparent)]
    Rule(#[from] tessera_core::Error),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request field is malformed in a way no domain type covers (e.g. `return_url`).
    #[error("{field} is invalid: {reason}")]
    InvalidRequest { field: &'static str, reason: String },
    /// A session JWT was refused (shape, header, key, signature or claims); see
    /// [`JwtError::error_type`] for the kinds. A well-signed JWT of a dead session is `Store`'s
    /// `NotFound(Session)` instead, like a token.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// A signing key could not be made, read or used (internal).
    #[error(transparent)]
    SigningKey(#[from] KeyError),
    /// Exchange found no factor that is valid in the target organization.
    #[error(
        "the session has no factor that carries into another organization: only an email factor naming the member's address (`email_factor.email_address`) proves it there"
    )]
    InsufficientFactorsForExchange,
}

impl ServiceError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidRequest { field, reason: reason.into() }
    }

    /// The stable kind clients see.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Rule(e) => e.error_type(),
            Self::Store(e) => e.error_type(),
            Self::InvalidRequest { .. } => ErrorType::InvalidRequest,
            Self::Jwt(e) => e.error_type(),
            Self::SigningKey(_) => ErrorType::InternalServerError,
            Self::InsufficientFactorsForExchange => {
                ErrorType::InsufficientFactorsForSessionExchange
            }
        }
    }

    /// Whether this is the one answer for an unusable session (unknown, expired, idle, revoked).
    pub fn is_session_not_found(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound(Entity::Session)))
    }
}

/// Shorthand for service results.
pub type ServiceResult<T> = Result<T, ServiceError>;
