//! Email addresses: kept as entered, compared case-insensitively (as Polar and Stytch do).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A syntactically plausible email address, at most 320 characters.
///
/// Tessera does not verify mailboxes (the host application does); it only refuses what cannot
/// be an address, so that a typo does not become a member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 320;

    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidEmail { reason };
        if s.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 320 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain whitespace or control characters"));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(invalid("must contain `@`"));
        };
        if local.is_empty() || local.chars().count() > 64 {
            return Err(invalid("the part before `@` must be 1 to 64 characters"));
        }
        if domain.is_empty()
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.contains('@')
        {
            return Err(invalid("the domain after `@` is malformed"));
        }
        Ok(Self(s.to_owned()))
    }

    /// As entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for uniqueness and lookups: lower-cased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    /// Same mailbox, ignoring case.
    pub fn same_as(&self, other: &EmailAddress) -> bool {
        self.normalized() == other.normalized()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["ada@example.com", "Ada.Lovelace+tag@sub.example.co.uk", "x@localhost"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@.com",
            "ada@example..com",
            "a da@x.com",
            "a@b@c",
            " ada@example.com",
            "ada@example.com\n",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
        let too_long = format!("a@{}.com", "b".repeat(320));
        assert!(EmailAddress::parse(&too_long).is_err());
        // Lengths are in characters, as the OpenAPI document's `maxLength` counts them.
        let wide = format!("{}@{}.com", "é".repeat(64), "ü".repeat(250));
        assert!(EmailAddress::parse(&wide).is_ok());
        assert!(EmailAddress::parse(&format!("{}@x.com", "é".repeat(65))).is_err());
    }

    #[test]
    fn case_insensitive_identity_but_kept_as_entered() {
        let a = EmailAddress::parse("Ada@Example.com").unwrap();
        let b = EmailAddress::parse("ada@example.COM").unwrap();
        assert!(a.same_as(&b));
        assert_eq!(a.as_str(), "Ada@Example.com");
        assert_eq!(a.normalized(), "ada@example.com");
    }
}
