//! Verification against a fetched JWKS, for processes that do not share the store (the remote
//! client, `tessera-client`): the same decoder, claim parser and time rules as
//! [`crate::SessionService::authenticate_jwt_local`], with the key taken from a JWK instead of
//! the key ring.

use std::fmt;

use aws_lc_rs::signature::{
    ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::ClaimNamespaces;

use super::{
    JwtAlgorithm, JwtError, JwtProfile, KeyError, LocalSession, LocalVerification, TimeRules,
    verify,
};

/// The smallest RSA modulus accepted, in bytes (2048 bits, as for the deployment's own keys).
const MIN_RSA_MODULUS_LEN: usize = 256;

/// One published public key, parsed from its JWK and pinned to its one algorithm (RFC 8725
/// §3.1), ready to verify session JWTs locally.
pub struct VerifyingKey {
    kid: String,
    algorithm: JwtAlgorithm,
    verifier: ParsedPublicKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Parses a JWK of the JWKS route (Stytch's shape: `n`/`e` are `""` for a non-RSA key).
    /// Refused: a `kid` that is not 1 to 128 printable ASCII characters, an `alg` other than
    /// `RS256` and `EdDSA`, a `kty` (or `crv`) that does not fit the `alg`, a `use` other than
    /// `sig`, `key_ops` without `verify`, an RSA modulus under 2048 bits, an Ed25519 key that is
    /// not 32 bytes.
    pub fn from_stytch_jwk(jwk: &crate::views::stytch::Jwk) -> Result<Self, KeyError> {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Self::from_members(JwkMembers {
            kid: &jwk.kid,
            alg: &jwk.alg,
            kty: &jwk.kty,
            key_use: &jwk.key_use,
            key_ops: &jwk.key_ops,
            n: non_empty(&jwk.n),
            e: non_empty(&jwk.e),
            crv: jwk.crv.clone(),
            x: jwk.x.clone(),
        })
    }

    /// Parses a [`super::Jwk`] (the service's own JWKS form), with the rules of
    /// [`Self::from_stytch_jwk`].
    pub fn from_jwk(jwk: &super::Jwk) -> Result<Self, KeyError> {
        Self::from_members(JwkMembers {
            kid: &jwk.kid,
            alg: &jwk.alg,
            kty: &jwk.kty,
            key_use: &jwk.key_use,
            key_ops: &jwk.key_ops,
            n: jwk.n.clone(),
            e: jwk.e.clone(),
            crv: jwk.crv.clone(),
            x: jwk.x.clone(),
        })
    }

    fn from_members(jwk: JwkMembers<'_>) -> Result<Self, KeyError> {
        let invalid = |reason| KeyError::InvalidJwk { kid: printable_prefix(jwk.kid), reason };
        if jwk.kid.is_empty()
            || jwk.kid.len() > 128
            || !jwk.kid.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid("the kid must be 1 to 128 printable ASCII characters"));
        }
        let algorithm = JwtAlgorithm::parse(jwk.alg).ok_or(invalid("unsupported `alg`"))?;
        if !jwk.key_use.is_empty() && jwk.key_use != "sig" {
            return Err(invalid("`use` is not `sig`"));
        }
        if !jwk.key_ops.is_empty() && !jwk.key_ops.iter().any(|op| op == "verify") {
            return Err(invalid("`key_ops` does not allow `verify`"));
        }
        let decode = |member: Option<String>| {
            member
                .and_then(|m| URL_SAFE_NO_PAD.decode(m).ok())
                .ok_or(invalid("a key member is missing or not unpadded base64url"))
        };
        let verifier = match algorithm {
            JwtAlgorithm::Rs256 => {
                if jwk.kty != "RSA" {
                    return Err(invalid("an RS256 key must have `kty` RSA"));
                }
                let (n, e) = (decode(jwk.n)?, decode(jwk.e)?);
                let modulus = n.iter().skip_while(|b| **b == 0).count();
                if modulus < MIN_RSA_MODULUS_LEN {
                    return Err(invalid("RSA keys must have at least 2048 bits"));
                }
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| invalid("the RSA key does not parse"))?
            }
            JwtAlgorithm::EdDsa => {
                if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
                    return Err(invalid("an EdDSA key must have `kty` OKP and `crv` Ed25519"));
                }
                let x = decode(jwk.x)?;
                if x.len() != 32 {
                    return Err(invalid("an Ed25519 key is 32 bytes"));
                }
                ParsedPublicKey::new(&ED25519, &x)
                    .map_err(|_| invalid("the Ed25519 key does not parse"))?
            }
        };
        Ok(Self { kid: jwk.kid.to_owned(), algorithm, verifier })
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm the key verifies.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }
}

struct JwkMembers<'a> {
    kid: &'a str,
    alg: &'a str,
    kty: &'a str,
    key_use: &'a str,
    key_ops: &'a [String],
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
}

fn printable_prefix(kid: &str) -> String {
    kid.chars().filter(char::is_ascii_graphic).take(64).collect()
}

/// The `kid` a session JWT names, after steps 1–3 of the module documentation (shape, `typ`,
/// `alg` allow-list): what a verifier looks up in its JWKS (and, when absent, refreshes it for).
/// Nothing is trusted yet.
pub fn jwt_key_id(jwt: &str) -> Result<String, JwtError> {
    Ok(verify::decode(jwt)?.kid)
}

/// Verifies a session JWT locally against `key`, the published key its `kid` names (`None`:
/// no such key, [`JwtError::UnknownKey`]): every step of the module documentation, with the
/// time rules of [`crate::SessionService::authenticate_jwt_local`] (`exp`, `nbf`, `iat` with
/// `options.leeway`, and `options.max_token_age`) at `now`. `profile` gives the issuer and
/// audience, `namespaces` the claim names (Stytch's: [`ClaimNamespaces::stytch`]).
///
/// Unlike the service's local path, no in-process revocation list is consulted: a session
/// revoked since the JWT was minted is accepted until the JWT expires.
pub fn verify_local(
    jwt: &str,
    key: Option<&VerifyingKey>,
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
    options: LocalVerification,
    now: DateTime<Utc>,
) -> Result<LocalSession, JwtError> {
    let decoded = verify::decode(jwt)?;
    let key = key.filter(|k| k.kid == decoded.kid).ok_or(JwtError::UnknownKey)?;
    let rules = TimeRules {
        leeway: options.leeway.max(TimeDelta::zero()),
        check_expiry: true,
        max_token_age: options.max_token_age,
    };
    let claims = verify::verify_with(
        &decoded,
        key.algorithm,
        |message, signature| key.verifier.verify_sig(message, signature).is_ok(),
        profile,
        namespaces,
        rules,
        now,
    )?;
    Ok(claims.into_local(decoded.kid))
}
