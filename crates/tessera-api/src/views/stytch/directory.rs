//! Stytch's B2B `Member` and `Organization` (python `stytch/b2b/models/organizations.py`).
//!
//! Stytch's objects carry many settings that Tessera has no equivalent for (SSO, SCIM, JIT
//! provisioning, invites, connected apps, MFA enrollment, passwords, ...). Every such field that
//! the SDK requires is present with the value that describes what Tessera does: empty lists,
//! `false`, empty strings, and `NOT_ALLOWED` for features Tessera does not offer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::{MemberId, OrganizationId, RoleId, rbac::ADMIN_ROLE};

use crate::views::time;

/// `MemberRoleSource.type` for every role Tessera reports: Tessera's roles are either assigned
/// explicitly or given implicitly to every member (`tessera_member`). Stytch's documented values
/// (`direct_assignment`, `email_assignment`, `sso_connection`, `sso_connection_group`,
/// `scim_connection_group`) have none for "every member"; Stytch's own `stytch_member`, which
/// it grants "to all Members upon creation", is reported as `direct_assignment`, and so is
/// Tessera's `tessera_member`.
pub const DIRECT_ASSIGNMENT: &str = "direct_assignment";

/// The `status` of every member Tessera shows: it has no pending or invited members, and a
/// deleted member is gone.
pub const MEMBER_STATUS_ACTIVE: &str = "active";

/// What Tessera answers for Stytch's provisioning, invite and connected-app settings: Tessera
/// offers none of these features.
pub const NOT_ALLOWED: &str = "NOT_ALLOWED";

/// What Tessera answers for `auth_methods` and `mfa_methods`: Tessera records whatever factor
/// the host application verified, with no per-organization restriction.
pub const ALL_ALLOWED: &str = "ALL_ALLOWED";

/// Stytch's B2B `Member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub organization_id: OrganizationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub email_address: String,
    /// Always [`MEMBER_STATUS_ACTIVE`].
    pub status: String,
    /// `""` when the member has no name (the SDK requires a string).
    pub name: String,
    /// Always empty: Tessera keeps no SSO registrations.
    pub sso_registrations: Vec<Value>,
    pub is_breakglass: bool,
    /// Always `""`: Tessera keeps no passwords.
    pub member_password_id: String,
    /// Always empty: Tessera keeps no OAuth registrations.
    pub oauth_registrations: Vec<Value>,
    /// Always `false`: Tessera does not verify email addresses (the host application does).
    pub email_address_verified: bool,
    pub mfa_phone_number_verified: bool,
    /// Whether the member has `tessera_admin` (Stytch: `stytch_admin`).
    pub is_admin: bool,
    pub totp_registration_id: String,
    pub retired_email_addresses: Vec<Value>,
    pub is_locked: bool,
    /// Always `false`: Tessera has no per-member MFA enrollment (the organization's
    /// `mfa_policy` decides).
    pub mfa_enrolled: bool,
    pub mfa_phone_number: String,
    pub default_mfa_method: String,
    pub roles: Vec<MemberRole>,
    pub trusted_metadata: Map<String, Value>,
    pub untrusted_metadata: Map<String, Value>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub updated_at: DateTime<Utc>,
    /// `null` when the member has none.
    pub external_id: Option<String>,
}

/// One role of a member and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRole {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role_id: RoleId,
    pub sources: Vec<MemberRoleSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRoleSource {
    #[serde(rename = "type")]
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl Member {
    /// The member as Stytch shows it. `roles` are the member's effective roles
    /// (`Policy::session_roles` of its assignments); `tessera_member` is listed first whether or
    /// not `roles` contains it, and duplicates are dropped.
    pub fn new(member: &tessera_core::Member, roles: &[RoleId]) -> Self {
        let mut role_ids = vec![RoleId::member()];
        for role in roles {
            if !role_ids.contains(role) {
                role_ids.push(role.clone());
            }
        }
        let is_admin = role_ids.iter().any(|r| r.as_str() == ADMIN_ROLE);
        Self {
            organization_id: member.organization_id,
            member_id: member.id,
            email_address: member.email_address.as_str().to_owned(),
            status: MEMBER_STATUS_ACTIVE.to_owned(),
            name: member.name.clone().unwrap_or_default(),
            sso_registrations: Vec::new(),
            is_breakglass: false,
            member_password_id: String::new(),
            oauth_registrations: Vec::new(),
            email_address_verified: false,
            mfa_phone_number_verified: false,
            is_admin,
            totp_registration_id: String::new(),
            retired_email_addresses: Vec::new(),
            is_locked: false,
            mfa_enrolled: false,
            mfa_phone_number: String::new(),
            default_mfa_method: String::new(),
            roles: role_ids
                .into_iter()
                .map(|role_id| MemberRole {
                    role_id,
                    sources: vec![MemberRoleSource {
                        source_type: DIRECT_ASSIGNMENT.to_owned(),
                        details: None,
                    }],
                })
                .collect(),
            trusted_metadata: member.trusted_metadata.as_map().clone(),
            untrusted_metadata: member.untrusted_metadata.as_map().clone(),
            created_at: member.created_at,
            updated_at: member.updated_at,
            external_id: member.external_id.as_ref().map(|id| id.as_str().to_owned()),
        }
    }
}

/// Stytch's B2B `Organization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub organization_id: OrganizationId,
    pub organization_name: String,
    /// Always `""`: Tessera keeps no logo.
    pub organization_logo_url: String,
    pub organization_slug: String,
    pub sso_jit_provisioning: String,
    pub sso_jit_provisioning_allowed_connections: Vec<String>,
    pub sso_active_connections: Vec<Value>,
    pub email_allowed_domains: Vec<String>,
    pub email_jit_provisioning: String,
    pub email_invites: String,
    pub auth_methods: String,
    pub allowed_auth_methods: Vec<String>,
    /// `OPTIONAL` or `REQUIRED_FOR_ALL`, from the organization's settings.
    pub mfa_policy: String,
    pub rbac_email_implicit_role_assignments: Vec<Value>,
    pub mfa_methods: String,
    pub allowed_mfa_methods: Vec<String>,
    pub oauth_tenant_jit_provisioning: String,
    pub claimed_email_domains: Vec<String>,
    pub first_party_connected_apps_allowed_type: String,
    pub allowed_first_party_connected_apps: Vec<String>,
    pub third_party_connected_apps_allowed_type: String,
    pub allowed_third_party_connected_apps: Vec<String>,
    /// Always empty: Tessera's policy is the deployment's, with no per-organization roles.
    pub custom_roles: Vec<Value>,
    pub trusted_metadata: Map<String, Value>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub updated_at: DateTime<Utc>,
    /// `null` when the organization has none.
    pub organization_external_id: Option<String>,
}

impl Organization {
    pub fn new(organization: &tessera_core::Organization) -> Self {
        Self {
            organization_id: organization.id,
            organization_name: organization.name.as_str().to_owned(),
            organization_logo_url: String::new(),
            organization_slug: organization.slug.as_str().to_owned(),
            sso_jit_provisioning: NOT_ALLOWED.to_owned(),
            sso_jit_provisioning_allowed_connections: Vec::new(),
            sso_active_connections: Vec::new(),
            email_allowed_domains: Vec::new(),
            email_jit_provisioning: NOT_ALLOWED.to_owned(),
            email_invites: NOT_ALLOWED.to_owned(),
            auth_methods: ALL_ALLOWED.to_owned(),
            allowed_auth_methods: Vec::new(),
            mfa_policy: organization.settings.mfa_policy.as_str().to_owned(),
            rbac_email_implicit_role_assignments: Vec::new(),
            mfa_methods: ALL_ALLOWED.to_owned(),
            allowed_mfa_methods: Vec::new(),
            oauth_tenant_jit_provisioning: NOT_ALLOWED.to_owned(),
            claimed_email_domains: Vec::new(),
            first_party_connected_apps_allowed_type: NOT_ALLOWED.to_owned(),
            allowed_first_party_connected_apps: Vec::new(),
            third_party_connected_apps_allowed_type: NOT_ALLOWED.to_owned(),
            allowed_third_party_connected_apps: Vec::new(),
            custom_roles: Vec::new(),
            trusted_metadata: organization.trusted_metadata.as_map().clone(),
            created_at: organization.created_at,
            updated_at: organization.updated_at,
            organization_external_id: organization
                .external_id
                .as_ref()
                .map(|id| id.as_str().to_owned()),
        }
    }
}

impl From<&tessera_core::Organization> for Organization {
    fn from(organization: &tessera_core::Organization) -> Self {
        Self::new(organization)
    }
}
