//! Polar's error bodies on the Polar routes, where Stytch's routes answer with Stytch's.
//!
//! Polar's SDK picks the exception by status: 422 is its `HTTPValidationError`
//! (`{"detail": [{"loc", "msg", "type"}]}`), and 401/403/404 carry `{"error", "detail"}` with
//! `error` set to `Unauthorized`/`NotPermitted`/`ResourceNotFound` (see
//! `tessera_api::views::polar::errors`). So on these routes every client error of the body (what
//! Stytch's routes answer `400` with) is a `422` naming the field where the handler knows it.
//!
//! Two ways in, one rendering:
//! - Polar handlers return [`PolarError`], which renders itself.
//! - Whatever else fails on a Polar route (the project-credential check, an extractor, a wrong
//!   method) leaves an [`ApiError`] in the response's extensions for the request-id middleware
//!   to render in Stytch's shape; [`render_polar_errors`], a layer of the Polar routes, takes it
//!   out first and renders it as a [`PolarError`].
//!
//! Either way the request-id middleware still adds the `request-id` header, logs and counts the
//! response: only the body's shape differs.

use axum::{
    Json,
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tessera_api::{
    ServiceError,
    views::polar::errors::{
        ErrorBody, NOT_PERMITTED, RESOURCE_NOT_FOUND, UNAUTHORIZED, ValidationErrorBody,
        pascal_case,
    },
};

use super::error::ApiError;

/// An error answer of a Polar route.
#[derive(Debug)]
pub(super) enum PolarError {
    /// `422`, Polar's `HTTPValidationError`: one entry at `["body", field]`, or `["body"]` when
    /// the error is about the body as a whole.
    Invalid { field: Option<&'static str>, error_type: &'static str, message: String },
    /// Anything else, with the status of the underlying error.
    Other(ApiError),
}

impl PolarError {
    /// `422` at `field`, with this stable `error_type` and message.
    pub(super) fn invalid(
        field: &'static str,
        error_type: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Invalid { field: Some(field), error_type, message: message.into() }
    }

    /// For `map_err`: `error`, blamed on the body field `field` if it is a client error of the
    /// input (a `400` on Stytch's routes).
    pub(super) fn at<E: Into<ApiError>>(field: &'static str) -> impl FnOnce(E) -> Self {
        move |error| match Self::from(error.into()) {
            Self::Invalid { field: None, error_type, message } => {
                Self::Invalid { field: Some(field), error_type, message }
            }
            other => other,
        }
    }
}

impl From<ApiError> for PolarError {
    fn from(error: ApiError) -> Self {
        if error.status == StatusCode::BAD_REQUEST {
            Self::Invalid { field: None, error_type: error.error_type, message: error.message }
        } else {
            Self::Other(error)
        }
    }
}

impl From<ServiceError> for PolarError {
    fn from(error: ServiceError) -> Self {
        let field = match &error {
            ServiceError::InvalidRequest { field, .. } => Some(*field),
            _ => None,
        };
        match (Self::from(ApiError::from(error)), field) {
            (Self::Invalid { error_type, message, .. }, Some(field)) => {
                Self::Invalid { field: Some(field), error_type, message }
            }
            (other, _) => other,
        }
    }
}

impl IntoResponse for PolarError {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid { field, error_type, message } => {
                let loc = std::iter::once("body").chain(field);
                let body = ValidationErrorBody::single(loc, message, error_type);
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
            Self::Other(error) => {
                let name = match error.status {
                    StatusCode::UNAUTHORIZED => UNAUTHORIZED.to_owned(),
                    StatusCode::FORBIDDEN => NOT_PERMITTED.to_owned(),
                    StatusCode::NOT_FOUND => RESOURCE_NOT_FOUND.to_owned(),
                    _ => pascal_case(error.error_type),
                };
                (error.status, Json(ErrorBody::new(name, error.message))).into_response()
            }
        }
    }
}

/// The layer of the Polar routes: an [`ApiError`] that something other than a Polar
/// handler left in the response is rendered in Polar's shape (see the module's doc).
pub(super) async fn render_polar_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<ApiError>() {
        Some(error) => PolarError::from(error).into_response(),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::ErrorType;

    use super::*;

    async fn body(error: PolarError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn client_errors_of_the_body_are_422_validation_errors_at_their_field() {
        let error = ApiError::invalid("return_url", "nope");
        let (status, json) = body(PolarError::from(error.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["detail"][0]["loc"], serde_json::json!(["body"]));
        assert_eq!(json["detail"][0]["type"], "invalid_request");
        assert_eq!(json["detail"].as_array().unwrap().len(), 1);
        let (_, json) = body(PolarError::at("return_url")(error)).await;
        assert_eq!(json["detail"][0]["loc"], serde_json::json!(["body", "return_url"]));
        assert!(json["detail"][0]["msg"].as_str().unwrap().contains("nope"));
    }

    #[tokio::test]
    async fn other_errors_keep_their_status_with_polars_names() {
        let cases = [
            (ApiError::unauthorized(), StatusCode::UNAUTHORIZED, "Unauthorized"),
            (ApiError::new(ErrorType::MfaRequired, "m"), StatusCode::FORBIDDEN, "NotPermitted"),
            (ApiError::route_not_found(), StatusCode::NOT_FOUND, "ResourceNotFound"),
            (
                ApiError::new(ErrorType::PayloadTooLarge, "m"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
            ),
            (
                ApiError::new(ErrorType::StorageUnavailable, "m"),
                StatusCode::SERVICE_UNAVAILABLE,
                "StorageUnavailable",
            ),
        ];
        for (error, status, name) in cases {
            // `at` blames a field only for client errors of the input.
            let (got, json) = body(PolarError::at("member_id")(error)).await;
            assert_eq!(got, status);
            assert_eq!(json["error"], name);
            assert!(json["detail"].as_str().is_some_and(|d| !d.is_empty()), "{json}");
            assert_eq!(json.as_object().unwrap().len(), 2, "{json}");
        }
    }
}
