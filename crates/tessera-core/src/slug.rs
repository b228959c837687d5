//! Organization slugs, and the "id or slug" reference accepted wherever an organization id is.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{error::Error, id::OrganizationId};

/// A unique, URL-safe organization handle: 2–128 characters of `A-Z a-z 0-9 - . _ ~`.
///
/// A slug can never be mistaken for an id: strings that parse as a UUID are refused, so
/// [`OrganizationRef::parse`] is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganizationSlug(String);

impl OrganizationSlug {
    pub const MIN_LEN: usize = 2;
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidOrganizationSlug { reason };
        if s.len() < Self::MIN_LEN {
            return Err(invalid("must be at least 2 characters"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(invalid("must be at most 128 characters"));
        }
        if !s.bytes().all(is_slug_byte) {
            return Err(invalid("only alphanumeric characters and `-` `.` `_` `~` are allowed"));
        }
        if uuid::Uuid::parse_str(s).is_ok() {
            return Err(invalid("must not look like an organization id (a UUID)"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_slug_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

impl TryFrom<String> for OrganizationSlug {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<OrganizationSlug> for String {
    fn from(slug: OrganizationSlug) -> Self {
        slug.0
    }
}

impl FromStr for OrganizationSlug {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for OrganizationSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organization named by id or by slug, as Stytch accepts in paths and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OrganizationRef {
    Id(OrganizationId),
    Slug(OrganizationSlug),
}

impl OrganizationRef {
    /// A UUID is an id; anything else must be a valid slug.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match OrganizationId::parse(s) {
            Ok(id) => Ok(Self::Id(id)),
            Err(_) => OrganizationSlug::parse(s).map(Self::Slug),
        }
    }

    /// Whether this reference names the organization with this id and slug.
    pub fn matches(&self, id: OrganizationId, slug: &OrganizationSlug) -> bool {
        match self {
            Self::Id(candidate) => *candidate == id,
            Self::Slug(candidate) => candidate == slug,
        }
    }
}

impl From<OrganizationId> for OrganizationRef {
    fn from(id: OrganizationId) -> Self {
        Self::Id(id)
    }
}

impl From<OrganizationSlug> for OrganizationRef {
    fn from(slug: OrganizationSlug) -> Self {
        Self::Slug(slug)
    }
}

impl TryFrom<String> for OrganizationRef {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<OrganizationRef> for String {
    fn from(r: OrganizationRef) -> Self {
        r.to_string()
    }
}

impl fmt::Display for OrganizationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Slug(slug) => slug.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorType;

    #[test]
    fn length_boundaries() {
        assert!(OrganizationSlug::parse("a").is_err());
        assert!(OrganizationSlug::parse("ab").is_ok());
        assert!(OrganizationSlug::parse(&"a".repeat(128)).is_ok());
        assert!(OrganizationSlug::parse(&"a".repeat(129)).is_err());
        assert!(OrganizationSlug::parse("").is_err());
    }

    #[test]
    fn alphabet() {
        assert!(OrganizationSlug::parse("Acme-Corp.eu_1~x").is_ok());
        for bad in ["acme corp", "acme/corp", "acmé", "acme%20", "a\0b", "a+b"] {
            let err = OrganizationSlug::parse(bad).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidOrganizationSlug, "{bad}");
        }
    }

    #[test]
    fn uuid_shaped_slugs_are_refused() {
        assert!(OrganizationSlug::parse("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b").is_err());
    }

    #[test]
    fn reference_parses_ids_and_slugs() {
        let id = "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b";
        assert!(matches!(OrganizationRef::parse(id), Ok(OrganizationRef::Id(_))));
        assert!(matches!(OrganizationRef::parse("acme"), Ok(OrganizationRef::Slug(_))));
        assert!(OrganizationRef::parse("no spaces").is_err());
        let r: OrganizationRef = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"acme\"");
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<OrganizationSlug>("\"x\"").is_err());
        assert!(serde_json::from_str::<OrganizationSlug>("\"xy\"").is_ok());
    }
}
