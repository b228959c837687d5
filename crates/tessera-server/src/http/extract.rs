//! Extractors whose rejections are [`ApiError`]s: malformed JSON, wrong types, unknown enum
//! values, a missing field, a wrong content type or an oversized body are all a 4xx with an
//! `error_type`, never axum's plain-text answer.

use axum::{
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;
use tessera_core::ErrorType;

use super::error::ApiError;

/// A JSON body.
#[derive(Debug)]
pub(super) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(ErrorType::PayloadTooLarge, "The request body is too large.");
    }
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Expected a JSON body with `Content-Type: application/json`.".to_owned()
        }
        JsonRejection::JsonSyntaxError(e) => {
            format!("The body is not valid JSON: {}", bounded(&e.body_text()))
        }
        JsonRejection::JsonDataError(e) => {
            format!("The body does not fit this route: {}", bounded(&e.body_text()))
        }
        other => format!("The body could not be read: {}", bounded(&other.body_text())),
    };
    ApiError::new(ErrorType::InvalidRequest, message)
}

/// serde's explanation, cut to a printable prefix: it names the path to the bad value, and the
/// path holds the body's own keys, so a 60 KiB key would otherwise come back whole (found by
/// the `http_bodies` fuzz target).
fn bounded(explanation: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut out: String = explanation.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect();
    if explanation.chars().filter(|c| !c.is_control()).nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Query parameters.
#[derive(Debug)]
pub(super) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::new(
                    ErrorType::InvalidRequest,
                    format!("Bad query string: {}", e.body_text()),
                )
            })
    }
}

/// Path parameters.
#[derive(Debug)]
pub(super) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Self(p.0)).map_err(
            |e: PathRejection| {
                ApiError::new(ErrorType::InvalidRequest, format!("Bad path: {}", e.body_text()))
            },
        )
    }
}
