//! Wire views: the JSON shapes of Tessera's two compatible APIs, built from domain values.
//!
//! - [`stytch`]: Stytch's B2B shapes (member session, member, organization, RBAC policy, the
//!   response bodies and the `request_id`/`status_code` envelope, the error body). Every field
//!   that the official Python SDK (`stytch==15.3.0`) marks required is present, so its pydantic
//!   models parse every response.
//! - [`polar`]: Polar's member session (`POST /v1/member-sessions/`) with its member and customer,
//!   and the customer-portal introspection and user views.
//! - [`time`]: the timestamp formats (RFC 3339, UTC, `Z`; whole seconds for Stytch, microseconds
//!   for Polar).
//!
//! These types are separate from the domain types on purpose: the domain's serde form is its
//! storage form, and may change; these are contracts with clients, and do not. They derive
//! `Deserialize` too, so that Rust clients and tests can read responses back, but requests are
//! not parsed with them.
//!
//! Secrets (session tokens, session JWTs, URLs that embed a token) travel in a [`SecretString`],
//! which serializes as the plain string (it is on its way to its holder) and prints redacted.

use std::fmt;

use serde::{Deserialize, Serialize};
use tessera_core::SessionToken;

pub mod polar;
pub mod stytch;
pub mod time;

#[cfg(test)]
pub(crate) mod test_support;

/// A secret on its way to its holder: a session token, a session JWT, or a URL that embeds a
/// token. Serialized as the plain string; `Debug` prints `SecretString(<redacted>)`; two compare
/// in constant time.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl From<&SessionToken> for SecretString {
    fn from(token: &SessionToken) -> Self {
        Self(token.expose().to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}
