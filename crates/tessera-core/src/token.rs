//! Session tokens: `<prefix><body><checksum>`.
//!
//! - `prefix` names the kind of secret (`tsr_mst_` by default) so secret scanners can find it;
//! - `body` is [`BODY_LEN`] base62 characters drawn uniformly from a caller-supplied CSPRNG
//!   (≈238 bits, well above the 160 the design asks for);
//! - `checksum` is the CRC32 of the body as 6 base62 characters, so a mistyped or truncated
//!   token is refused without touching storage. It is not a security mechanism.
//!
//! Storage only ever sees [`TokenHash`], the SHA-256 of the whole token. Lookup is by hash
//! equality: an attacker cannot steer the bytes being compared, so the comparison leaks nothing
//! about any stored secret.

use std::{borrow::Cow, fmt};

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::error::Error;

/// Base62 characters in a token body.
pub const BODY_LEN: usize = 40;
/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// The prefix of member-session tokens unless a deployment configures another one.
pub const DEFAULT_TOKEN_PREFIX: &str = "tsr_mst_";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a session token. Never carries the token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFormatError {
    #[error("it does not start with the expected prefix")]
    WrongPrefix,
    #[error("it has the wrong length")]
    WrongLength,
    #[error("it contains a character outside base62")]
    InvalidCharacter,
    #[error("its checksum does not match")]
    ChecksumMismatch,
}

/// The configurable prefix of tokens: 2–32 characters of `a-z 0-9 _`, ending in `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenPrefix(Cow<'static, str>);

impl TokenPrefix {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidTokenPrefix { reason };
        if !(2..=32).contains(&s.len()) {
            return Err(invalid("must be 2 to 32 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(invalid("only `a-z`, `0-9` and `_` are allowed"));
        }
        if !s.ends_with('_') {
            return Err(invalid("must end with `_`"));
        }
        Ok(Self(Cow::Owned(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TokenPrefix {
    fn default() -> Self {
        Self(Cow::Borrowed(DEFAULT_TOKEN_PREFIX))
    }
}

impl fmt::Display for TokenPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A raw session token: the bearer secret. Shown to its holder once, never stored or logged.
///
/// `Debug` and `Display` print only the prefix; [`SessionToken::expose`] is the one way to the
/// secret, so every place that needs it is easy to find. The bytes are zeroed on drop, and two
/// tokens compare in constant time.
#[derive(Clone)]
pub struct SessionToken {
    secret: String,
    prefix_len: usize,
}

impl PartialEq for SessionToken {
    fn eq(&self, other: &Self) -> bool {
        self.secret.as_bytes().ct_eq(other.secret.as_bytes()).into()
    }
}

impl Eq for SessionToken {}

impl Drop for SessionToken {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl SessionToken {
    /// A new token with a body drawn from `rng` (the OS CSPRNG in production).
    pub fn generate<R: CryptoRng + ?Sized>(prefix: &TokenPrefix, rng: &mut R) -> Self {
        let mut secret = String::with_capacity(prefix.as_str().len() + BODY_LEN + CHECKSUM_LEN);
        secret.push_str(prefix.as_str());
        let mut buf = [0u8; 64];
        let mut body_chars = 0;
        while body_chars < BODY_LEN {
            rng.fill_bytes(&mut buf);
            for &byte in &buf {
                // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
                if byte < 248 && body_chars < BODY_LEN {
                    secret.push(char::from(BASE62[usize::from(byte % 62)]));
                    body_chars += 1;
                }
            }
        }
        buf.zeroize();
        let checksum = checksum(&secret.as_bytes()[prefix.as_str().len()..]);
        secret.push_str(&checksum);
        Self { secret, prefix_len: prefix.as_str().len() }
    }

    /// Checks prefix, length, alphabet and checksum. Does not (cannot) say whether the token
    /// belongs to a live session: that takes a storage lookup of [`SessionToken::hash`].
    pub fn parse(s: &str, prefix: &TokenPrefix) -> Result<Self, Error> {
        let rest = s.strip_prefix(prefix.as_str()).ok_or(TokenFormatError::WrongPrefix)?;
        if rest.len() != BODY_LEN + CHECKSUM_LEN {
            return Err(TokenFormatError::WrongLength.into());
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TokenFormatError::InvalidCharacter.into());
        }
        let (body, sum) = rest.split_at(BODY_LEN);
        if checksum(body.as_bytes()) != sum {
            return Err(TokenFormatError::ChecksumMismatch.into());
        }
        Ok(Self { secret: s.to_owned(), prefix_len: prefix.as_str().len() })
    }

    /// The secret itself, for the one response that hands it to its holder.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// The form storage keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.secret.as_bytes()).into())
    }

    fn redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[redacted]", &self.secret[..self.prefix_len])
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(")?;
        self.redacted(f)?;
        f.write_str(")")
    }
}

impl fmt::Display for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.redacted(f)
    }
}

fn checksum(body: &[u8]) -> String {
    let mut n = crc32fast::hash(body);
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// SHA-256 of a whole session token: what storage keeps and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From a stored column; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TokenHash {
    /// A prefix is enough to correlate log lines; the whole digest is not needed there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..12])
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::error::ErrorType;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(42)
    }

    #[test]
    fn generated_token_has_the_documented_shape() {
        let token = SessionToken::generate(&TokenPrefix::default(), &mut rng());
        let s = token.expose();
        assert!(s.starts_with("tsr_mst_"));
        assert_eq!(s.len(), 8 + BODY_LEN + CHECKSUM_LEN);
        assert!(s[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn body_carries_at_least_160_bits() {
        let bits = BODY_LEN as f64 * 62f64.log2();
        assert!(bits >= 160.0, "{bits}");
    }

    #[test]
    fn tokens_differ() {
        let mut rng = rng();
        let a = SessionToken::generate(&TokenPrefix::default(), &mut rng);
        let b = SessionToken::generate(&TokenPrefix::default(), &mut rng);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn debug_and_display_redact_the_secret() {
        let token = SessionToken::generate(&TokenPrefix::default(), &mut rng());
        let body = &token.expose()[8..];
        for shown in [format!("{token:?}"), format!("{token}")] {
            assert!(!shown.contains(body), "{shown}");
            assert!(shown.contains("tsr_mst_"), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
    }

    #[test]
    fn parse_rejects_each_malformation() {
        let prefix = TokenPrefix::default();
        let token = SessionToken::generate(&prefix, &mut rng());
        let s = token.expose();
        assert_eq!(SessionToken::parse(s, &prefix).unwrap(), token);

        let cases = [
            (format!("tsr_cst_{}", &s[8..]), TokenFormatError::WrongPrefix),
            (s[..s.len() - 1].to_owned(), TokenFormatError::WrongLength),
            (format!("{s}0"), TokenFormatError::WrongLength),
            (format!("{}-{}", &s[..20], &s[21..]), TokenFormatError::InvalidCharacter),
            (String::new(), TokenFormatError::WrongPrefix),
        ];
        for (input, expected) in cases {
            let err = SessionToken::parse(&input, &prefix).unwrap_err();
            assert_eq!(err, Error::InvalidSessionToken(expected), "{input}");
            assert_eq!(err.error_type(), ErrorType::InvalidSessionToken);
        }
    }

    #[test]
    fn non_ascii_input_is_an_error_not_a_panic() {
        let prefix = TokenPrefix::default();
        let weird = format!("tsr_mst_{}", "é".repeat(23));
        assert!(SessionToken::parse(&weird, &prefix).is_err());
    }

    #[test]
    fn checksum_is_six_base62_digits_of_crc32() {
        assert_eq!(checksum(b""), "000000");
        // The CRC32 check value of "123456789" is 0xCBF43926 (the standard test vector).
        let sum = checksum(b"123456789");
        let decoded = sum
            .bytes()
            .fold(0u64, |acc, b| acc * 62 + BASE62.iter().position(|&c| c == b).unwrap() as u64);
        assert_eq!(decoded, 0xCBF4_3926);
    }

    #[test]
    fn hash_is_sha256_of_the_whole_token() {
        let token = SessionToken::generate(&TokenPrefix::default(), &mut rng());
        let expected: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        assert_eq!(token.hash().as_bytes(), &expected);
        assert_eq!(TokenHash::from_slice(&expected), Some(token.hash()));
        assert_eq!(TokenHash::from_slice(&expected[..31]), None);
        assert!(!format!("{:?}", token.hash()).contains(&token.hash().to_hex()));
    }

    #[test]
    fn prefix_rules() {
        assert!(TokenPrefix::parse("tsr_mst_").is_ok());
        assert!(TokenPrefix::parse("acme_").is_ok());
        assert!(TokenPrefix::parse("_").is_err());
        assert!(TokenPrefix::parse("acme").is_err());
        assert!(TokenPrefix::parse("Acme_").is_err());
        assert!(TokenPrefix::parse(&format!("{}_", "a".repeat(32))).is_err());
        assert_eq!(TokenPrefix::default().as_str(), DEFAULT_TOKEN_PREFIX);
    }

    proptest::proptest! {
        #[test]
        fn generate_then_parse_round_trips(seed in proptest::prelude::any::<u64>()) {
            let prefix = TokenPrefix::default();
            let token = SessionToken::generate(&prefix, &mut StdRng::seed_from_u64(seed));
            let parsed = SessionToken::parse(token.expose(), &prefix).unwrap();
            proptest::prop_assert_eq!(parsed.hash(), token.hash());
        }

        /// Any single-character substitution, anywhere in the token, to any other character.
        #[test]
        fn any_single_character_change_is_rejected(
            seed in proptest::prelude::any::<u64>(),
            position in 0usize..(8 + BODY_LEN + CHECKSUM_LEN),
            replacement in proptest::prelude::any::<char>(),
        ) {
            let prefix = TokenPrefix::default();
            let token = SessionToken::generate(&prefix, &mut StdRng::seed_from_u64(seed));
            let mut chars: Vec<char> = token.expose().chars().collect();
            proptest::prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let mutated: String = chars.into_iter().collect();
            proptest::prop_assert!(SessionToken::parse(&mutated, &prefix).is_err());
        }

        /// Mostly base62 replacements, which only the checksum can catch.
        #[test]
        fn base62_substitutions_are_caught_by_the_checksum(
            seed in proptest::prelude::any::<u64>(),
            position in 8usize..(8 + BODY_LEN + CHECKSUM_LEN),
            replacement in 0usize..62,
        ) {
            let prefix = TokenPrefix::default();
            let token = SessionToken::generate(&prefix, &mut StdRng::seed_from_u64(seed));
            let mut bytes = token.expose().as_bytes().to_vec();
            proptest::prop_assume!(bytes[position] != BASE62[replacement]);
            bytes[position] = BASE62[replacement];
            let mutated = String::from_utf8(bytes).unwrap();
            proptest::prop_assert_eq!(
                SessionToken::parse(&mutated, &prefix).unwrap_err(),
                Error::InvalidSessionToken(TokenFormatError::ChecksumMismatch)
            );
        }
    }

    #[test]
    fn custom_prefix_round_trips() {
        let prefix = TokenPrefix::parse("acme_sess_").unwrap();
        let token = SessionToken::generate(&prefix, &mut rng());
        assert!(SessionToken::parse(token.expose(), &prefix).is_ok());
        assert!(SessionToken::parse(token.expose(), &TokenPrefix::default()).is_err());
    }
}
