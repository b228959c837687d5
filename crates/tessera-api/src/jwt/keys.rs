//! Key material: generation (aws-lc-rs), the stored form (PKCS#8 private, SPKI public), signing,
//! verification keys, and the JWK export with a self-signed certificate (`x5c`, `x5tS256`).
//!
//! The `kid` of a generated key is its RFC 7638 JWK thumbprint (SHA-256, base64url): unique by
//! construction and checkable by anyone holding the JWK.

use std::{fmt, sync::Arc};

use aws_lc_rs::{
    digest,
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ED25519, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
        RSA_PKCS1_SHA256, RsaKeyPair,
    },
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use tessera_store::SigningKey;
use zeroize::Zeroizing;

use super::{JwtAlgorithm, KeyError};

/// The JWKS document (RFC 7517 §5): the public keys that verify this deployment's session JWTs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// One public key, with the members Stytch's SDKs read: `kty use key_ops alg kid` and `n e`
/// (RSA) or `crv x` (Ed25519), plus `x5c` (a self-signed certificate of the key, DER, standard
/// base64) and `x5tS256` (its SHA-256 thumbprint, base64url; Stytch's spelling of RFC 7517's
/// `x5t#S256`). The certificate only carries the key: it is signed by the key itself, and
/// verifiers trust the key because they fetched the JWKS from the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub key_ops: Vec<String>,
    pub alg: String,
    pub kid: String,
    /// RSA modulus, big-endian unsigned without leading zeros, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, same encoding (`AQAB` for 65537).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// `Ed25519` for an OKP key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The raw Ed25519 public key, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x5c: Vec<String>,
    #[serde(rename = "x5tS256", default, skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

/// The private half, usable only to sign. `Debug` never shows it.
enum Signer {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(_) => f.write_str("Signer::Rsa([redacted])"),
            Self::Ed25519(_) => f.write_str("Signer::Ed25519([redacted])"),
        }
    }
}

/// A stored key, parsed and ready: signs (while not retired) and verifies.
pub(crate) struct LoadedKey {
    pub(crate) kid: String,
    pub(crate) algorithm: JwtAlgorithm,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) retired_at: Option<DateTime<Utc>>,
    /// Shared with the reloads that find the same stored key ([`Self::reloaded`]).
    signer: Arc<Signer>,
    verifier: Arc<ParsedPublicKey>,
    pub(crate) jwk: Jwk,
    /// SHA-256 of the stored private and public keys: what makes a stored key the same one.
    stored_digest: [u8; 32],
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl LoadedKey {
    /// Parses a stored key. `Ok(None)` for an algorithm this version does not know (a newer
    /// version may have made it): such a key is neither used nor published. A key of a known
    /// algorithm that does not parse, or whose public half is not its private half's, is an
    /// error: the store is corrupt and the operator must look.
    pub(crate) fn load(stored: &SigningKey) -> Result<Option<Self>, KeyError> {
        let Some(algorithm) = JwtAlgorithm::parse(&stored.algorithm) else {
            return Ok(None);
        };
        let corrupt = |reason| KeyError::Corrupt { kid: stored.kid.clone(), reason };
        if stored.kid.is_empty() || stored.kid.len() > 128 || !stored.kid.bytes().all(is_kid_byte) {
            return Err(corrupt("the kid must be 1 to 128 printable ASCII characters"));
        }
        let (signer, public_der) = match algorithm {
            JwtAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(&stored.private_key_der)
                    .map_err(|_| corrupt("the private key is not a PKCS#8 RSA key"))?;
                if pair.public_modulus_len() < 256 {
                    return Err(corrupt("RSA keys must have at least 2048 bits"));
                }
                let public = spki(pair.public_key().as_der()).map_err(|_| corrupt("no SPKI"))?;
                (Signer::Rsa(pair), public)
            }
            JwtAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(&stored.private_key_der)
                    .map_err(|_| corrupt("the private key is not a PKCS#8 Ed25519 key"))?;
                let public = spki(pair.public_key().as_der()).map_err(|_| corrupt("no SPKI"))?;
                (Signer::Ed25519(pair), public)
            }
        };
        if public_der != stored.public_key_der {
            return Err(corrupt("the stored public key does not match the private key"));
        }
        let verifier = match algorithm {
            JwtAlgorithm::Rs256 => ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_der),
            JwtAlgorithm::EdDsa => ParsedPublicKey::new(&ED25519, &public_der),
        }
        .map_err(|_| corrupt("the public key does not parse"))?;
        let mut jwk = public_jwk(&signer, &stored.kid, algorithm);
        let certificate = self_signed_certificate(stored, algorithm, &jwk.kid)
            .map_err(|_| corrupt("could not make its certificate"))?;
        jwk.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &certificate)));
        jwk.x5c = vec![base64::engine::general_purpose::STANDARD.encode(&certificate)];
        Ok(Some(Self {
            kid: stored.kid.clone(),
            algorithm,
            created_at: stored.created_at,
            retired_at: stored.retired_at,
            signer: Arc::new(signer),
            verifier: Arc::new(verifier),
            jwk,
            stored_digest: stored_digest(stored),
        }))
    }

    /// This key as `stored` now says (its retirement), if `stored` is this very key: same kid,
    /// algorithm, creation instant and key bytes. Such a key was parsed and checked when first
    /// loaded, so a reload reuses it instead of parsing it and signing its certificate again
    /// (milliseconds for RSA, inside the reload every signer waits for).
    pub(crate) fn reloaded(&self, stored: &SigningKey) -> Option<Self> {
        let same = self.kid == stored.kid
            && JwtAlgorithm::parse(&stored.algorithm) == Some(self.algorithm)
            && self.created_at == stored.created_at
            && self.stored_digest == stored_digest(stored);
        same.then(|| Self {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            created_at: self.created_at,
            retired_at: stored.retired_at,
            signer: Arc::clone(&self.signer),
            verifier: Arc::clone(&self.verifier),
            jwk: self.jwk.clone(),
            stored_digest: self.stored_digest,
        })
    }

    /// Whether `other` holds this key's parsed material (not a copy parsed again).
    #[cfg(test)]
    pub(crate) fn shares_parsed_key_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.signer, &other.signer) && Arc::ptr_eq(&self.verifier, &other.verifier)
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self.signer.as_ref() {
            Signer::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| KeyError::Sign { kid: self.kid.clone() })?;
                Ok(signature)
            }
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// Whether `signature` is this key's signature of `message`, under its pinned algorithm.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify_sig(message, signature).is_ok()
    }

    /// Whether this key may sign new JWTs.
    pub(crate) fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// SHA-256 over the stored private key's DER (length first, so that the two keys' bytes cannot
/// shift into each other), then the public key's.
fn stored_digest(stored: &SigningKey) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(&(stored.private_key_der.len() as u64).to_le_bytes());
    context.update(&stored.private_key_der);
    context.update(&stored.public_key_der);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn is_kid_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

fn spki(
    der: Result<PublicKeyX509Der<'static>, aws_lc_rs::error::Unspecified>,
) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
    Ok(der?.as_ref().to_vec())
}

/// Makes a new key for `algorithm`, in its stored form, created at `now`. The private key
/// exists only in the returned value (and, once inserted, in the store).
pub(crate) fn generate(
    algorithm: JwtAlgorithm,
    now: DateTime<Utc>,
) -> Result<SigningKey, KeyError> {
    let failed = |_| KeyError::Generate(algorithm);
    let (private, public, signer) = match algorithm {
        JwtAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            let public = spki(pair.public_key().as_der()).map_err(failed)?;
            (Zeroizing::new(private.as_ref().to_vec()), public, Signer::Rsa(pair))
        }
        JwtAlgorithm::EdDsa => {
            let pair = Ed25519KeyPair::generate().map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            let public = spki(pair.public_key().as_der()).map_err(failed)?;
            (Zeroizing::new(private.as_ref().to_vec()), public, Signer::Ed25519(pair))
        }
    };
    let kid = thumbprint(&public_jwk(&signer, "", algorithm));
    Ok(SigningKey {
        kid,
        algorithm: algorithm.as_str().to_owned(),
        private_key_der: private.to_vec(),
        public_key_der: public,
        created_at: now,
        retired_at: None,
    })
}

/// The public JWK of a key pair (without certificate members).
fn public_jwk(signer: &Signer, kid: &str, algorithm: JwtAlgorithm) -> Jwk {
    let mut jwk = Jwk {
        kty: String::new(),
        key_use: "sig".into(),
        key_ops: vec!["verify".into()],
        alg: algorithm.as_str().into(),
        kid: kid.into(),
        n: None,
        e: None,
        crv: None,
        x: None,
        x5c: Vec::new(),
        x5t_s256: None,
    };
    match signer {
        Signer::Rsa(pair) => {
            let public = pair.public_key();
            jwk.kty = "RSA".into();
            jwk.n =
                Some(URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()));
            jwk.e =
                Some(URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()));
        }
        Signer::Ed25519(pair) => {
            jwk.kty = "OKP".into();
            jwk.crv = Some("Ed25519".into());
            jwk.x = Some(URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()));
        }
    }
    jwk
}

/// RFC 7638 JWK thumbprint: SHA-256 of the required members in lexicographic order, without
/// whitespace; base64url.
pub(crate) fn thumbprint(jwk: &Jwk) -> String {
    let canonical = match jwk.kty.as_str() {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk.e.as_deref().unwrap_or_default(),
            jwk.n.as_deref().unwrap_or_default()
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
            jwk.crv.as_deref().unwrap_or_default(),
            jwk.kty,
            jwk.x.as_deref().unwrap_or_default()
        ),
    };
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// A self-signed X.509 certificate of the key, DER. Deterministic (RSA PKCS#1 v1.5 and Ed25519
/// signatures are; the serial is derived from the public key, validity from `created_at`), so
/// every node derives the same certificate and the same `x5tS256` from the stored key.
fn self_signed_certificate(
    stored: &SigningKey,
    algorithm: JwtAlgorithm,
    kid: &str,
) -> Result<Vec<u8>, rcgen::Error> {
    // rcgen picks the algorithm from the key: PKCS#1 v1.5 SHA-256 for RSA, Ed25519 for Ed25519.
    let key_pair = rcgen::KeyPair::try_from(stored.private_key_der.as_slice())?;
    let expected = match algorithm {
        JwtAlgorithm::Rs256 => &rcgen::PKCS_RSA_SHA256,
        JwtAlgorithm::EdDsa => &rcgen::PKCS_ED25519,
    };
    if key_pair.algorithm() != expected {
        return Err(rcgen::Error::CouldNotParseKeyPair);
    }
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    // A kid is at most 43 characters when Tessera made it; CN allows 64.
    let common_name: String = format!("tessera-jwt {kid}").chars().take(64).collect();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    let created = stored.created_at.date_naive();
    let (year, month, day) = (created.year(), month_u8(created.month()), day_u8(created.day()));
    params.not_before = rcgen::date_time_ymd(year, month, day);
    // Day 28 exists in every month, so the date is valid whatever the creation day.
    params.not_after = rcgen::date_time_ymd(year + 10, month, day.min(28));
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    Ok(params.self_signed(&key_pair)?.der().to_vec())
}

fn month_u8(month: u32) -> u8 {
    u8::try_from(month).unwrap_or(1)
}

fn day_u8(day: u32) -> u8 {
    u8::try_from(day).unwrap_or(1)
}
