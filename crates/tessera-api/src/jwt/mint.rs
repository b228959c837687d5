//! Minting: the compact JWS serialization of a claim set, signed by the current key.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_core::{AuthenticatedSession, ClaimNamespaces, RoleId};

use super::{JwtProfile, KeyError, SessionJwt, claims, keys::LoadedKey};

/// The JOSE header Tessera writes, and the only one it reads back.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// A JWT for `found` with `roles`, issued at `now`, signed by `key`.
pub(crate) fn mint(
    key: &LoadedKey,
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
    found: &AuthenticatedSession,
    roles: &[RoleId],
    now: DateTime<Utc>,
) -> Result<SessionJwt, KeyError> {
    let header = Header { alg: key.algorithm.as_str(), typ: "JWT", kid: &key.kid };
    let claims = claims::build(profile, namespaces, found, roles, now)
        .map_err(|_| KeyError::Sign { kid: key.kid.clone() })?;
    sign_compact(key, &header, &claims)
}

/// `base64url(header) . base64url(payload) . base64url(signature)`.
fn sign_compact(
    key: &LoadedKey,
    header: &impl Serialize,
    payload: &impl Serialize,
) -> Result<SessionJwt, KeyError> {
    let failed = |_| KeyError::Sign { kid: key.kid.clone() };
    let header = serde_json::to_vec(header).map_err(failed)?;
    let payload = serde_json::to_vec(payload).map_err(failed)?;
    let mut jwt = URL_SAFE_NO_PAD.encode(header);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut jwt);
    let signature = key.sign(jwt.as_bytes())?;
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
    Ok(SessionJwt::new(jwt))
}
