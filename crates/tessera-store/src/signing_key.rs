//! Stored JWT signing keys.

use std::fmt;

use chrono::{DateTime, Utc};

/// A signing key as stored. The store does not interpret the key material; the service layer
/// generates and parses it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The JWT `kid`.
    pub kid: String,
    /// The JWS algorithm this key is pinned to (e.g. `RS256`, `EdDSA`).
    pub algorithm: String,
    /// Private key, PKCS#8 DER. Never printed.
    pub private_key_der: Vec<u8>,
    /// Public key, SubjectPublicKeyInfo DER.
    pub public_key_der: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// From this instant on the key no longer signs; it is still published for verification.
    pub retired_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_key_der", &"[redacted]")
            .field("public_key_der", &format_args!("{} bytes", self.public_key_der.len()))
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}
