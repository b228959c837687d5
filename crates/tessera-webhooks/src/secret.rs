//! [`WebhookSecret`]: the key an endpoint's deliveries are signed with.
//!
//! On the wire (shown once to the endpoint's owner, pasted into their verifier) a secret is
//! `whsec_` followed by the standard base64 of its bytes, as the Standard Webhooks libraries
//! expect. The HMAC key is the decoded bytes, never the string.

use std::fmt;

use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use zeroize::Zeroizing;

/// The prefix of every secret's string form.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bytes in a [`WebhookSecret::generate`]d secret: 256 bits, the HMAC-SHA256 block's worth of
/// strength.
pub const GENERATED_SECRET_LEN: usize = 32;

/// The decoded lengths [`WebhookSecret::parse`] accepts (the spec's 24 to 64 bytes): shorter
/// is too weak to sign with, longer is not a secret anyone generated for this.
pub const SECRET_LEN_RANGE: std::ops::RangeInclusive<usize> = 24..=64;

/// Standard alphabet, padding optional: secrets are pasted by people, and a missing `=` is
/// not a different secret.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a string is not a webhook secret. Never carries the string, nor any part of it.
///
/// ```
/// use tessera_webhooks::{SecretError, WebhookSecret};
///
/// let error = WebhookSecret::parse("sk_live_123").unwrap_err();
/// assert_eq!(error, SecretError::MissingPrefix);
/// assert!(!error.to_string().contains("sk_live_123"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The string does not start with `whsec_`.
    #[error("a webhook secret starts with `whsec_`")]
    MissingPrefix,
    /// What follows the prefix is not standard base64.
    #[error("the part after `whsec_` is not standard base64")]
    InvalidBase64,
    /// The decoded key is outside 24..=64 bytes.
    #[error("a webhook secret decodes to 24 to 64 bytes (this one to {len})")]
    WrongLength {
        /// The decoded length.
        len: usize,
    },
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Rng,
}

/// An endpoint's signing key: 24 to 64 bytes, zeroed when dropped.
///
/// `Debug` prints `WebhookSecret([redacted])`, and there is no `Display`: the one way to see the
/// secret is [`WebhookSecret::expose`], for the moment it is shown to the endpoint's owner.
///
/// ```
/// use tessera_webhooks::WebhookSecret;
///
/// let secret = WebhookSecret::generate()?;
/// let shown = secret.expose();
/// assert!(shown.starts_with("whsec_"));
/// assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
/// # Ok::<(), tessera_webhooks::SecretError>(())
/// ```
#[derive(Clone)]
pub struct WebhookSecret {
    key: Zeroizing<Vec<u8>>,
}

impl WebhookSecret {
    /// A new secret of [`GENERATED_SECRET_LEN`] bytes from the operating system's CSPRNG.
    ///
    /// ```
    /// use tessera_webhooks::WebhookSecret;
    ///
    /// let a = WebhookSecret::generate()?;
    /// let b = WebhookSecret::generate()?;
    /// assert_ne!(*a.expose(), *b.expose());
    /// # Ok::<(), tessera_webhooks::SecretError>(())
    /// ```
    pub fn generate() -> Result<Self, SecretError> {
        let mut key = Zeroizing::new(vec![0u8; GENERATED_SECRET_LEN]);
        aws_lc_rs::rand::fill(&mut key).map_err(|_| SecretError::Rng)?;
        Ok(Self { key })
    }

    /// The secret `whsec_<base64>`, as [`WebhookSecret::expose`] shows it and the Standard
    /// Webhooks libraries take it. Padding is optional.
    ///
    /// ```
    /// use tessera_webhooks::{SecretError, WebhookSecret};
    ///
    /// assert!(WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
    /// assert_eq!(
    ///     WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
    ///     SecretError::WrongLength { len: 5 },
    /// );
    /// ```
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let encoded = s.strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        // Room for the whole decoded key up front: the vector never reallocates, so no copy of
        // the key is left behind unzeroed.
        let mut key = Zeroizing::new(Vec::with_capacity(encoded.len()));
        LENIENT.decode_vec(encoded, &mut key).map_err(|_| SecretError::InvalidBase64)?;
        if !SECRET_LEN_RANGE.contains(&key.len()) {
            return Err(SecretError::WrongLength { len: key.len() });
        }
        Ok(Self { key })
    }

    /// The string form, `whsec_` and the padded standard base64 of the key: for showing the
    /// secret once, and for storing it where the caller's own encryption protects it. The
    /// returned string is zeroed when dropped too.
    ///
    /// ```
    /// use tessera_webhooks::WebhookSecret;
    ///
    /// let text = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    /// assert_eq!(*WebhookSecret::parse(text)?.expose(), text);
    /// # Ok::<(), tessera_webhooks::SecretError>(())
    /// ```
    pub fn expose(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(
            SECRET_PREFIX.len() + self.key.len().div_ceil(3) * 4,
        ));
        text.push_str(SECRET_PREFIX);
        STANDARD.encode_string(&*self.key, &mut text);
        text
    }

    /// The HMAC key. Crate-private: signing and verifying are the only uses.
    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    #[test]
    fn generated_secrets_are_32_random_bytes_that_round_trip() {
        let secret = WebhookSecret::generate().unwrap();
        assert_eq!(secret.key_bytes().len(), GENERATED_SECRET_LEN);
        let again = WebhookSecret::parse(&secret.expose()).unwrap();
        assert_eq!(again.key_bytes(), secret.key_bytes());
        assert_ne!(WebhookSecret::generate().unwrap().key_bytes(), secret.key_bytes());
    }

    #[test]
    fn the_spec_secret_parses_to_24_bytes_and_exposes_unchanged() {
        let secret = WebhookSecret::parse(SPEC).unwrap();
        assert_eq!(secret.key_bytes().len(), 24);
        assert_eq!(*secret.expose(), SPEC);
    }

    #[test]
    fn padding_is_optional() {
        // 25 bytes: 36 base64 characters with `==`.
        let padded = format!("whsec_{}", STANDARD.encode([7u8; 25]));
        assert!(padded.ends_with("=="));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(
            WebhookSecret::parse(unpadded).unwrap().key_bytes(),
            WebhookSecret::parse(&padded).unwrap().key_bytes()
        );
    }

    #[test]
    fn refusals_are_typed_and_never_echo_the_input() {
        let cases = [
            ("C2FVsBQIhrscChlQIMV+b5sSYspob7oD", SecretError::MissingPrefix),
            ("WHSEC_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", SecretError::MissingPrefix),
            ("whsec_C2FVsBQIhrscChlQIMV*b5sSYspob7oD", SecretError::InvalidBase64),
            ("whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD", SecretError::InvalidBase64),
            ("whsec_", SecretError::WrongLength { len: 0 }),
        ];
        for (input, expected) in cases {
            let error = WebhookSecret::parse(input).unwrap_err();
            assert_eq!(error, expected, "{input}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("C2FVsBQ"), "{shown}");
        }
        let short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        assert_eq!(WebhookSecret::parse(&short).unwrap_err(), SecretError::WrongLength { len: 23 });
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert_eq!(WebhookSecret::parse(&long).unwrap_err(), SecretError::WrongLength { len: 65 });
        for len in [24, 64] {
            let edge = format!("whsec_{}", STANDARD.encode(vec![1u8; len]));
            assert!(WebhookSecret::parse(&edge).is_ok(), "{len}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let secret = WebhookSecret::parse(SPEC).unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
        assert_eq!(format!("{secret:#?}"), "WebhookSecret([redacted])");
    }
}
