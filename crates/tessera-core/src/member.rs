//! Members: people in one organization.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    email::EmailAddress,
    error::Error,
    external_id::ExternalId,
    id::{MemberId, OrganizationId},
    metadata::Metadata,
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
    pub trusted_metadata: Metadata,
    pub untrusted_metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to some fields of a member: `None` leaves a field as it is; for optional fields,
/// `Some(None)` clears it. Stores apply exactly the named fields, in one statement, so two
/// concurrent updates of different fields are both kept (an admin removing a role is never
/// undone by someone else's metadata update).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberUpdate {
    pub email_address: Option<EmailAddress>,
    pub name: Option<Option<String>>,
    pub external_id: Option<Option<ExternalId>>,
    /// Replaces the explicit roles; takes effect at the member's next authenticate.
    pub roles: Option<Vec<RoleId>>,
    pub trusted_metadata: Option<Metadata>,
    pub untrusted_metadata: Option<Metadata>,
}

impl MemberUpdate {
    /// The wire names of the fields this update names (what an audit event lists as changed;
    /// never their values, which may be personal data).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let Self { email_address, name, external_id, roles, trusted_metadata, untrusted_metadata } =
            self;
        [
            ("email_address", email_address.is_some()),
            ("name", name.is_some()),
            ("external_id", external_id.is_some()),
            ("roles", roles.is_some()),
            ("trusted_metadata", trusted_metadata.is_some()),
            ("untrusted_metadata", untrusted_metadata.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, named)| named.then_some(field))
        .collect()
    }

    /// Applies the named fields to `member` (what a store writes, for backends that keep whole
    /// values).
    pub fn apply_to(&self, member: &mut Member) {
        let Self { email_address, name, external_id, roles, trusted_metadata, untrusted_metadata } =
            self;
        if let Some(email) = email_address {
            member.email_address = email.clone();
        }
        if let Some(name) = name {
            member.name = name.clone();
        }
        if let Some(external_id) = external_id {
            member.external_id = external_id.clone();
        }
        if let Some(roles) = roles {
            member.roles = roles.clone();
        }
        if let Some(metadata) = trusted_metadata {
            member.trusted_metadata = metadata.clone();
        }
        if let Some(metadata) = untrusted_metadata {
            member.untrusted_metadata = metadata.clone();
        }
    }
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
