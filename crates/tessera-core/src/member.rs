//! Members: people in one organization.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    email::EmailAddress,
    error::Error,
    external_id::ExternalId,
    id::{MemberId, OrganizationId},
    rbac::RoleId,
};

/// A member: the union of Stytch's `Member` and Polar's `Member` fields that Tessera keeps.
///
/// `roles` are the explicitly assigned ones; a session's roles are computed from them at every
/// authenticate (see [`crate::rbac::Policy::session_roles`]), so a change applies at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub organization_id: OrganizationId,
    /// Unique per organization, ignoring case.
    pub email_address: EmailAddress,
    pub name: Option<String>,
    /// Unique per organization when set.
    pub external_id: Option<ExternalId>,
    pub roles: Vec<RoleId>,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member named by id, by external id or by email, as Stytch's and Polar's APIs accept.
/// Always resolved within one organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberRef {
    Id(MemberId),
    ExternalId(ExternalId),
    Email(EmailAddress),
}

impl MemberRef {
    /// Stytch accepts an id or an external id in the same `member_id` parameter: a UUID is an id,
    /// anything else an external id.
    pub fn parse_id_or_external_id(s: &str) -> Result<Self, Error> {
        match MemberId::parse(s) {
            Ok(id) => Ok(Self::Id(id)),
            Err(_) => ExternalId::parse(s).map(Self::ExternalId),
        }
    }
}

impl fmt::Display for MemberRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "member {id}"),
            Self::ExternalId(id) => write!(f, "member with external id {id}"),
            Self::Email(email) => write!(f, "member with email {email}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_or_external_id() {
        assert!(matches!(
            MemberRef::parse_id_or_external_id("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"),
            Ok(MemberRef::Id(_))
        ));
        assert!(matches!(
            MemberRef::parse_id_or_external_id("crm-42"),
            Ok(MemberRef::ExternalId(_))
        ));
        assert!(MemberRef::parse_id_or_external_id("").is_err());
    }
}
