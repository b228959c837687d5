//! Polar shapes, as of Polar's API version 2026-10, which the official Python SDK
//! (`polar-sdk==1.0.2`, `polar.v2026_10.outputs`) parses: the customer session of
//! `POST /v1/customer-sessions/`, the member session of `POST /v1/member-sessions/` with its
//! member and customer, the customer-portal views of
//! `GET /v1/customer-portal/customer-session/introspect` and `.../user`, and the error bodies
//! ([`errors`]).
//!
//! Sources (Polar's JSON API is snake_case; the seed's camelCase names are the PHP SDK's):
//! - `CustomerSession`, `Customer` (`CustomerTeam`), `Member`, `CustomerCustomerSession`,
//!   `PortalAuthenticatedUser`: the SDK's models; `tests/fixtures/polar_sdk_models.schema.json`
//!   is generated from them and the tests validate every view against it. `MemberSession` left
//!   the SDK with its endpoint (2026-03); its `member` and `customer` are the SDK's models.
//! - `MemberSession`: `server/polar/member_session/schemas.py` of polarsource/polar while the
//!   endpoint existed (`id, created_at, modified_at, token, expires_at, return_url,
//!   member_portal_url, member_id, member, customer_id, customer`), the same as the seed and as
//!   polar-js `src/models/components/membersession.ts`.
//! - `Member`: `server/polar/member/schemas.py` (`id, created_at, modified_at, customer_id,
//!   email, name, external_id, role`).
//! - `CustomerCustomerSession` and `PortalAuthenticatedUser`:
//!   `server/polar/customer_portal/schemas/customer_session.py`.
//!
//! Timestamps are RFC 3339, UTC, `Z`, with microseconds, as Polar emits them.

pub mod errors;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::{MemberId, OrganizationId, RoleId, SessionId, rbac::ADMIN_ROLE};

use crate::views::{SecretString, time};

/// Polar's `MemberRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarMemberRole))]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Owner,
    BillingManager,
    Member,
}

impl MemberRole {
    /// The Polar role of a member with these Tessera roles (explicit assignments; implicit
    /// roles may be included, they do not matter):
    /// 1. a role named `owner` gives `owner`;
    /// 2. else a role named `billing_manager` gives `billing_manager`;
    /// 3. else `tessera_admin` gives `owner` (every action on the organization and its members);
    /// 4. else `member`.
    ///
    /// Roles named after Polar's are the deployment's explicit choice and win over the
    /// `tessera_admin` heuristic. Polar keeps at most one active owner per customer; Tessera
    /// does not, so several members may show as `owner`.
    pub fn from_roles(roles: &[RoleId]) -> Self {
        let has = |name: &str| roles.iter().any(|r| r.as_str() == name);
        if has("owner") {
            Self::Owner
        } else if has("billing_manager") {
            Self::BillingManager
        } else if has(ADMIN_ROLE) {
            Self::Owner
        } else {
            Self::Member
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::BillingManager => "billing_manager",
            Self::Member => "member",
        }
    }
}

/// Polar's `CustomerType`. A Tessera organization is a B2B account with members: `team`.
pub const CUSTOMER_TYPE_TEAM: &str = "team";

/// Polar's `MemberSession` (the seed): exactly these eleven fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarMemberSession))]
pub struct MemberSession {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub id: SessionId,
    /// The session token: shown only in the response that creates the session.
    pub token: SecretString,
    #[serde(serialize_with = "time::polar::serialize")]
    pub expires_at: DateTime<Utc>,
    pub return_url: Option<String>,
    /// Embeds the token, hence a secret too.
    pub member_portal_url: SecretString,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub member: Member,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub customer_id: OrganizationId,
    pub customer: Customer,
    /// When the session started.
    #[serde(serialize_with = "time::polar::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change other than a touch (Tessera's `updated_at`).
    #[serde(serialize_with = "time::polar::serialize")]
    pub modified_at: DateTime<Utc>,
}

impl MemberSession {
    /// The session as Polar shows it on creation. `member_portal_url` is already built by the
    /// caller from the deployment's template; `project_id` is the deployment's id, which stands
    /// for Polar's merchant organization (`customer.organization_id`).
    pub fn new(
        session: &tessera_core::MemberSession,
        member: &tessera_core::Member,
        organization: &tessera_core::Organization,
        token: impl Into<SecretString>,
        member_portal_url: impl Into<SecretString>,
        project_id: &str,
    ) -> Self {
        debug_assert_eq!(session.member_id, member.id, "session of another member");
        debug_assert_eq!(session.organization_id, organization.id, "session of another org");
        Self {
            id: session.id,
            token: token.into(),
            expires_at: session.times.expires_at,
            return_url: session.return_url.clone(),
            member_portal_url: member_portal_url.into(),
            member_id: member.id,
            member: Member::new(member),
            customer_id: organization.id,
            customer: Customer::new(organization, project_id),
            created_at: session.created_at(),
            modified_at: session.updated_at,
        }
    }
}

/// Polar's `CustomerSession` (`POST /v1/customer-sessions/`, API version 2026-10): what Polar
/// answers for an organization with `member_model_enabled`, where the session is a member's and
/// its token opens the customer portal as that member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarCustomerSession))]
pub struct CustomerSession {
    /// When the session started.
    #[serde(serialize_with = "time::polar::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change other than a touch (Tessera's `updated_at`).
    #[serde(serialize_with = "time::polar::serialize")]
    pub modified_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub id: SessionId,
    /// The session token: shown only in the response that creates the session.
    pub token: SecretString,
    #[serde(serialize_with = "time::polar::serialize")]
    pub expires_at: DateTime<Utc>,
    pub return_url: Option<String>,
    /// The portal URL with the token in it, hence a secret too.
    pub customer_portal_url: SecretString,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub customer_id: OrganizationId,
    pub customer: Customer,
}

impl CustomerSession {
    /// The session as Polar shows it on creation; see [`MemberSession::new`] for the arguments.
    pub fn new(
        session: &tessera_core::MemberSession,
        organization: &tessera_core::Organization,
        token: impl Into<SecretString>,
        customer_portal_url: impl Into<SecretString>,
        project_id: &str,
    ) -> Self {
        debug_assert_eq!(session.organization_id, organization.id, "session of another org");
        Self {
            created_at: session.created_at(),
            modified_at: session.updated_at,
            id: session.id,
            token: token.into(),
            expires_at: session.times.expires_at,
            return_url: session.return_url.clone(),
            customer_portal_url: customer_portal_url.into(),
            customer_id: organization.id,
            customer: Customer::new(organization, project_id),
        }
    }
}

/// Polar's `Member` ("a member of a customer").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarMember))]
pub struct Member {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub id: MemberId,
    #[serde(serialize_with = "time::polar::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::polar::serialize")]
    pub modified_at: DateTime<Utc>,
    /// The organization's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub customer_id: OrganizationId,
    pub email: String,
    pub name: Option<String>,
    pub external_id: Option<String>,
    /// From the member's assigned roles, see [`MemberRole::from_roles`].
    pub role: MemberRole,
}

impl Member {
    pub fn new(member: &tessera_core::Member) -> Self {
        Self {
            id: member.id,
            created_at: member.created_at,
            modified_at: member.updated_at,
            customer_id: member.organization_id,
            email: member.email_address.as_str().to_owned(),
            name: member.name.clone(),
            external_id: member.external_id.as_ref().map(|id| id.as_str().to_owned()),
            role: MemberRole::from_roles(&member.roles),
        }
    }
}

/// Polar's `Customer` (`CustomerTeam` of API version 2026-10): the organization.
///
/// Fields Tessera cannot know (billing, tax, payment methods, events) are `null`, never invented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PolarCustomer))]
pub struct Customer {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub id: OrganizationId,
    #[serde(serialize_with = "time::polar::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::polar::serialize")]
    pub modified_at: DateTime<Utc>,
    /// The organization's `trusted_metadata`, keeping only the entries Polar's metadata can hold
    /// (strings, numbers, booleans); nested objects, arrays and nulls are left out.
    pub metadata: Map<String, Value>,
    pub external_id: Option<String>,
    /// The organization's email, `null` when it has none (allowed for team customers).
    pub email: Option<String>,
    /// Always `false`: Tessera does not verify email addresses.
    pub email_verified: bool,
    /// Always [`CUSTOMER_TYPE_TEAM`].
    #[serde(rename = "type")]
    pub customer_type: String,
    pub name: Option<String>,
    /// Always `null`: Tessera keeps no billing data.
    pub billing_name: Option<String>,
    /// Always `null`.
    pub billing_address: Option<Value>,
    /// Always `null`.
    pub tax_id: Option<Value>,
    /// Always `null`.
    pub locale: Option<String>,
    /// The deployment's (project's) id: Polar's merchant organization.
    pub organization_id: String,
    /// Always `null`: Tessera keeps no payment methods.
    pub default_payment_method_id: Option<String>,
    /// Always `null`: a deleted organization is gone, not soft-deleted.
    #[serde(serialize_with = "time::polar::serialize_option")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Always `null`: Tessera ingests no usage events.
    pub first_user_event_at: Option<String>,
    /// Always `null`: Tessera has no avatars (Polar computes a Gravatar URL from the email).
    pub avatar_url: Option<String>,
}

impl Customer {
    pub fn new(organization: &tessera_core::Organization, project_id: &str) -> Self {
        Self {
            id: organization.id,
            created_at: organization.created_at,
            modified_at: organization.updated_at,
            metadata: organization
                .trusted_metadata
                .iter()
                .filter(|(_, v)| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            external_id: organization.external_id.as_ref().map(|id| id.as_str().to_owned()),
            email: organization.email.as_ref().map(|e| e.as_str().to_owned()),
            email_verified: false,
            customer_type: CUSTOMER_TYPE_TEAM.to_owned(),
            name: Some(organization.name.as_str().to_owned()),
            billing_name: None,
            billing_address: None,
            tax_id: None,
            locale: None,
            organization_id: project_id.to_owned(),
            default_payment_method_id: None,
            deleted_at: None,
            first_user_event_at: None,
            avatar_url: None,
        }
    }
}

/// `GET /v1/customer-portal/customer-session/introspect` (Polar's `CustomerCustomerSession`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerSessionIntrospection {
    #[serde(serialize_with = "time::polar::serialize")]
    pub expires_at: DateTime<Utc>,
    pub return_url: Option<String>,
}

impl CustomerSessionIntrospection {
    pub fn new(session: &tessera_core::MemberSession) -> Self {
        Self { expires_at: session.times.expires_at, return_url: session.return_url.clone() }
    }
}

/// The `type` of every portal user Tessera shows: sessions are always a member's.
pub const PORTAL_USER_TYPE_MEMBER: &str = "member";

/// `GET /v1/customer-portal/customer-session/user` (Polar's `PortalAuthenticatedUser`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortalAuthenticatedUser {
    /// Always [`PORTAL_USER_TYPE_MEMBER`].
    #[serde(rename = "type")]
    pub user_type: String,
    pub name: Option<String>,
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub customer_id: OrganizationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub role: MemberRole,
}

impl PortalAuthenticatedUser {
    pub fn new(member: &tessera_core::Member) -> Self {
        Self {
            user_type: PORTAL_USER_TYPE_MEMBER.to_owned(),
            name: member.name.clone(),
            email: member.email_address.as_str().to_owned(),
            customer_id: member.organization_id,
            member_id: member.id,
            role: MemberRole::from_roles(&member.roles),
        }
    }
}

#[cfg(test)]
mod tests;
