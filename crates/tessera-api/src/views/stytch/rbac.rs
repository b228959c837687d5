//! Stytch's RBAC policy (python `stytch/b2b/models/rbac.py`), for `GET /v1/b2b/rbac/policy`.

use serde::{Deserialize, Serialize};
use tessera_core::RoleId;

/// `Policy`: `roles`, `resources` and `scopes` are all required by the SDK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    pub roles: Vec<PolicyRole>,
    pub resources: Vec<PolicyResource>,
    /// Always empty: Tessera has no Connected Apps, hence no scopes.
    pub scopes: Vec<PolicyScope>,
}

/// `OrgPolicy` (python `stytch/b2b/models/rbac_organizations.py`): an organization's own
/// roles, on top of the project's policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgPolicy {
    pub roles: Vec<PolicyRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyRole {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role_id: RoleId,
    pub description: String,
    pub permissions: Vec<PolicyPermission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyResource {
    pub resource_id: String,
    pub description: String,
    pub actions: Vec<String>,
}

/// `PolicyRolePermission` and `PolicyScopePermission` (same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyPermission {
    pub resource_id: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyScope {
    pub scope: String,
    pub description: String,
    pub permissions: Vec<PolicyPermission>,
}

impl Policy {
    pub fn new(policy: &tessera_core::Policy) -> Self {
        Self {
            roles: policy
                .roles()
                .iter()
                .map(|role| PolicyRole {
                    role_id: role.role_id.clone(),
                    description: role.description.clone(),
                    permissions: role
                        .permissions
                        .iter()
                        .map(|p| PolicyPermission {
                            resource_id: p.resource_id.clone(),
                            actions: p.actions.clone(),
                        })
                        .collect(),
                })
                .collect(),
            resources: policy
                .resources()
                .iter()
                .map(|r| PolicyResource {
                    resource_id: r.resource_id.clone(),
                    description: r.description.clone(),
                    actions: r.actions.clone(),
                })
                .collect(),
            scopes: Vec::new(),
        }
    }
}

impl From<&tessera_core::Policy> for Policy {
    fn from(policy: &tessera_core::Policy) -> Self {
        Self::new(policy)
    }
}
