//! Verification: the strict compact-JWS decoder and the checks of RFC 8725, in the order the
//! module documentation lists them. Nothing from the payload is looked at before the signature
//! has verified.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use tessera_core::ClaimNamespaces;

use super::{
    JwtAlgorithm, JwtError, JwtProfile,
    claims::{self, SessionClaims, TimeRules},
    keys::LoadedKey,
};

/// Longer than any JWT Tessera mints (custom claims are at most 4 KiB), short enough that a
/// hostile input costs nothing to refuse.
pub(crate) const MAX_JWT_LEN: usize = 32 * 1024;

/// A `kid` is looked up in memory only, but is bounded and printable all the same (RFC 8725
/// §3.10: do not trust received claims).
const MAX_KID_LEN: usize = 128;

/// The only header Tessera accepts: exactly these three members. `crit`, `jku`, `jwk`, `x5u`,
/// `x5c`, `b64`, `zip`, ... are refused (never followed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// A JWT whose shape and header passed: what the key lookup and the signature check need.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub(crate) algorithm: JwtAlgorithm,
    pub(crate) kid: String,
    signing_input: &'a [u8],
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Steps 1–3: shape, `typ`, `alg` allow-list.
pub(crate) fn decode(jwt: &str) -> Result<Decoded<'_>, JwtError> {
    if jwt.len() > MAX_JWT_LEN {
        return Err(JwtError::Malformed("longer than any session JWT"));
    }
    let mut segments = jwt.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(JwtError::Malformed("a compact JWS has exactly three segments"));
    };
    let not_base64 = |_| JwtError::Malformed("a segment is not unpadded base64url");
    let header = URL_SAFE_NO_PAD.decode(header_b64).map_err(not_base64)?;
    let header: Header = serde_json::from_slice(&header).map_err(|_| {
        JwtError::Malformed("the header must be a JSON object of exactly `alg`, `typ` and `kid`")
    })?;
    if !header.typ.eq_ignore_ascii_case("JWT") {
        return Err(JwtError::InvalidType);
    }
    let algorithm = JwtAlgorithm::parse(&header.alg).ok_or(JwtError::UnsupportedAlgorithm)?;
    if header.kid.is_empty()
        || header.kid.len() > MAX_KID_LEN
        || !header.kid.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(JwtError::Malformed("`kid` must be 1 to 128 printable ASCII characters"));
    }
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(not_base64)?;
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).map_err(not_base64)?;
    let signing_input = &jwt.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    Ok(Decoded { algorithm, kid: header.kid, signing_input, payload, signature })
}

/// Steps 4 (algorithm pinned to the key) to 6 (claims), with `key` the published key named by
/// the `kid`.
pub(crate) fn verify(
    decoded: &Decoded<'_>,
    key: &LoadedKey,
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
    rules: TimeRules,
    now: DateTime<Utc>,
) -> Result<SessionClaims, JwtError> {
    verify_with(decoded, key.algorithm, |m, s| key.verifies(m, s), profile, namespaces, rules, now)
}

/// [`verify`] with the key given as its pinned algorithm and a signature check: shared by the
/// key ring's keys and the keys of a fetched JWKS ([`super::VerifyingKey`]).
pub(crate) fn verify_with(
    decoded: &Decoded<'_>,
    key_algorithm: JwtAlgorithm,
    verifies: impl FnOnce(&[u8], &[u8]) -> bool,
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
    rules: TimeRules,
    now: DateTime<Utc>,
) -> Result<SessionClaims, JwtError> {
    if key_algorithm != decoded.algorithm {
        return Err(JwtError::AlgorithmMismatch);
    }
    if !verifies(decoded.signing_input, &decoded.signature) {
        return Err(JwtError::InvalidSignature);
    }
    let payload: Map<String, Value> = serde_json::from_slice(&decoded.payload)
        .map_err(|_| JwtError::InvalidClaims("the payload is not a JSON object"))?;
    let claims = claims::parse(payload, profile, namespaces)?;
    rules.check(&claims, now)?;
    Ok(claims)
}
