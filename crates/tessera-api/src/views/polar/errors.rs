//! Polar's error bodies, which the Polar routes answer with instead of Stytch's.
//!
//! Polar (FastAPI) has two shapes, and its SDK (`polar-sdk==1.0.2`, `polar.v2026_10`) picks the
//! model by HTTP status:
//! - `{"error": "<Name>", "detail": "<message>"}` ([`ErrorBody`]): the SDK's `Unauthorized` (401),
//!   `NotPermitted` (403), `ResourceNotFound` (404), ... each with `error` fixed to its name.
//! - `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}` ([`ValidationErrorBody`]), status
//!   422: the SDK's `HTTPValidationError`, raised as its `HTTPValidationError` exception.
//!
//! Where Polar's `type` is pydantic's (`missing`, `value_error`, ...), Tessera puts its own stable
//! `error_type` (`invalid_request`, `organization_not_found`, ...): a client can match on it.
//! Polar's optional `input` (an echo of the offending value) is never sent.

use serde::{Deserialize, Serialize};

/// The SDK's `Unauthorized` (401).
pub const UNAUTHORIZED: &str = "Unauthorized";
/// The SDK's `NotPermitted` (403).
pub const NOT_PERMITTED: &str = "NotPermitted";
/// The SDK's `ResourceNotFound` (404).
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFound";

/// `{"error", "detail"}`: every Polar error but validation errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarErrorBody))]
pub struct ErrorBody {
    /// The error's name: [`UNAUTHORIZED`] (401), [`NOT_PERMITTED`] (403), [`RESOURCE_NOT_FOUND`]
    /// (404); other statuses name Tessera's error type in PascalCase (`StorageUnavailable`).
    pub error: String,
    /// A message safe to show (never a secret).
    pub detail: String,
}

impl ErrorBody {
    pub fn new(error: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { error: error.into(), detail: detail.into() }
    }
}

/// `{"detail": [...]}`, status 422 (the SDK's `HTTPValidationError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarValidationErrorBody))]
pub struct ValidationErrorBody {
    pub detail: Vec<ValidationError>,
}

impl ValidationErrorBody {
    /// One error at `loc` (e.g. `["body", "customer_id"]`).
    pub fn single(
        loc: impl IntoIterator<Item = impl Into<String>>,
        msg: impl Into<String>,
        error_type: impl Into<String>,
    ) -> Self {
        Self {
            detail: vec![ValidationError {
                loc: loc.into_iter().map(Into::into).collect(),
                msg: msg.into(),
                error_type: error_type.into(),
            }],
        }
    }
}

/// One entry of [`ValidationErrorBody::detail`] (the SDK's `ValidationError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarValidationError))]
pub struct ValidationError {
    /// Where: `["body"]` for the body as a whole, `["body", "<field>"]` for one field.
    pub loc: Vec<String>,
    pub msg: String,
    /// Tessera's stable `error_type`.
    #[serde(rename = "type")]
    pub error_type: String,
}

/// `payload_too_large` → `PayloadTooLarge`: the `error` name of a Tessera error type that Polar
/// has no name for.
pub fn pascal_case(error_type: &str) -> String {
    error_type
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}
