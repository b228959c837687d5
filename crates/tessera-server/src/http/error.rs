//! Every failure of the HTTP layer becomes Stytch's error body:
//! `{status_code, request_id, error_type, error_message, error_url}`.
//!
//! Handlers return [`ApiError`]; it renders without a request id (the handler does not know it),
//! and the request-id middleware fills the body in on the way out (see [`super::request_id`]).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tessera_api::ServiceError;
use tessera_core::ErrorType;
use tessera_store::StoreError;

/// An error answer: its stable type and a message safe to show (never a secret).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status: tessera_axum::status_of(error_type),
            error_type: error_type.as_str(),
            message: message.into(),
        }
    }

    /// Bad request input: `invalid_request` naming the field.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(ErrorType::InvalidRequest, format!("{field} is invalid: {reason}"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorType::UnauthorizedCredentials,
            "Unauthorized credentials: send HTTP Basic `project_id:secret` or `Bearer <secret>`.",
        )
    }

    pub fn route_not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error_type: "route_not_found",
            message: "No route matches this path. See GET /openapi.json.".into(),
        }
    }

    pub fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error_type: "method_not_allowed",
            message: "This route does not accept this HTTP method. See GET /openapi.json.".into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let error_type = error.error_type();
        let message = match error_type {
            // One answer for unknown, expired, idle and revoked sessions: never reveal which.
            ErrorType::SessionNotFound => "Session could not be found.".to_owned(),
            ErrorType::InternalServerError => {
                tracing::error!(error = %error, "internal error");
                "Internal server error.".to_owned()
            }
            ErrorType::StorageUnavailable => {
                tracing::error!(error = %error, "storage unavailable");
                "The session store is unavailable; retry later.".to_owned()
            }
            _ => error.to_string(),
        };
        Self::new(error_type, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<tessera_core::Error> for ApiError {
    fn from(error: tessera_core::Error) -> Self {
        ServiceError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
