//! External ids: the host application's own key for an organization or a member.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// 1–128 printable characters without whitespace, unique per organization (members) or per
/// deployment (organizations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidExternalId { reason };
        if s.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 128 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain whitespace or control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<ExternalId> for String {
    fn from(e: ExternalId) -> Self {
        e.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse("a").is_ok());
        assert!(ExternalId::parse(&"é".repeat(128)).is_ok());
        assert!(ExternalId::parse(&"é".repeat(129)).is_err());
        assert!(ExternalId::parse("has space").is_err());
        assert!(ExternalId::parse("crm|42").is_ok());
    }
}
