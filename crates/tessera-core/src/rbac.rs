//! Role-based access control: the policy (resources, roles, permissions) and the authorization
//! check that answers "may this session do X on Y in organization Z?".
//!
//! The shape is Stytch's RBAC policy. Tessera reserves resource ids under `tessera.` for its own
//! resources, and two roles: `tessera_member` (every member has it, implicitly) and
//! `tessera_admin`. A loaded policy may redefine the permissions of those two roles (as Stytch lets
//! projects edit `stytch_member`), but not remove them or the reserved resources.

use std::{collections::BTreeSet, fmt};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, echo},
    id::OrganizationId,
    slug::{OrganizationRef, OrganizationSlug},
};

pub const MEMBER_ROLE: &str = "tessera_member";
pub const ADMIN_ROLE: &str = "tessera_admin";
/// The most roles one member may be assigned explicitly.
pub const MAX_ROLES_PER_MEMBER: usize = 32;
pub const RESERVED_RESOURCE_PREFIX: &str = "tessera.";
pub const WILDCARD_ACTION: &str = "*";

/// The resources Tessera itself guards, with their actions.
const RESERVED_RESOURCES: &[(&str, &str, &[&str])] = &[
    ("tessera.organization", "The organization itself", &["read", "update", "delete"]),
    ("tessera.member", "The organization's members", &["create", "read", "update", "delete"]),
    ("tessera.session", "Every member session of the organization", &["read", "revoke"]),
    ("tessera.self", "The acting member's own sessions", &["read", "revoke"]),
];

/// A role name: 1–128 characters of `A-Z a-z 0-9 _ - . :`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleId(String);

impl RoleId {
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.is_empty() || s.len() > 128 {
            return Err(Error::InvalidRole {
                reason: "a role id must be 1 to 128 characters".into(),
            });
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')) {
            return Err(Error::InvalidRole {
                reason: format!("role id `{}` may only contain `A-Z a-z 0-9 _ - . :`", echo(s)),
            });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn member() -> Self {
        Self(MEMBER_ROLE.to_owned())
    }

    pub fn admin() -> Self {
        Self(ADMIN_ROLE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoleId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<RoleId> for String {
    fn from(r: RoleId) -> Self {
        r.0
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub resource_id: String,
    #[serde(default)]
    pub description: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub resource_id: String,
    pub actions: Vec<String>,
}

impl Permission {
    fn grants(&self, resource_id: &str, action: &str) -> bool {
        self.resource_id == resource_id
            && self.actions.iter().any(|a| a == action || a == WILDCARD_ACTION)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub role_id: RoleId,
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<Permission>,
}

impl Role {
    fn grants(&self, resource_id: &str, action: &str) -> bool {
        self.permissions.iter().any(|p| p.grants(resource_id, action))
    }
}

/// A validated policy. It always contains the reserved resources and both reserved roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PolicyDocument")]
pub struct Policy {
    resources: Vec<Resource>,
    roles: Vec<Role>,
}

/// A policy as written in a file: custom resources and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            resources: reserved_resources(),
            roles: vec![default_member_role(), default_admin_role()],
        }
    }
}

fn reserved_resources() -> Vec<Resource> {
    RESERVED_RESOURCES
        .iter()
        .map(|(id, description, actions)| Resource {
            resource_id: (*id).to_owned(),
            description: (*description).to_owned(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        })
        .collect()
}

fn default_member_role() -> Role {
    Role {
        role_id: RoleId::member(),
        description: "Granted to every member: may read and revoke their own sessions".into(),
        permissions: vec![Permission {
            resource_id: "tessera.self".into(),
            actions: vec!["read".into(), "revoke".into()],
        }],
    }
}

fn default_admin_role() -> Role {
    Role {
        role_id: RoleId::admin(),
        description: "Every action on the organization, its members and their sessions".into(),
        permissions: RESERVED_RESOURCES
            .iter()
            .map(|(id, _, _)| Permission {
                resource_id: (*id).to_owned(),
                actions: vec!["*".into()],
            })
            .collect(),
    }
}

impl Policy {
    /// Parses and validates a JSON policy document (see [`PolicyDocument`]).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let document: PolicyDocument = serde_json::from_str(json)
            .map_err(|e| Error::InvalidPolicy { reason: e.to_string() })?;
        Self::try_from(document)
    }

    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    pub fn role(&self, role_id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.role_id.as_str() == role_id)
    }

    /// Refuses roles the policy does not define, e.g. when assigning roles to a member, and more
    /// than [`MAX_ROLES_PER_MEMBER`] of them (every role travels in every session JWT).
    pub fn check_assignable(&self, roles: &[RoleId]) -> Result<(), Error> {
        if roles.len() > MAX_ROLES_PER_MEMBER {
            return Err(Error::TooManyRoles { limit: MAX_ROLES_PER_MEMBER });
        }
        match roles.iter().find(|r| self.role(r.as_str()).is_none()) {
            Some(unknown) => Err(Error::InvalidRole {
                reason: format!("role `{unknown}` is not defined by the policy"),
            }),
            None => Ok(()),
        }
    }

    /// The roles a session of a member holding `assigned` has now: the implicit member role,
    /// then every assigned role the policy still defines, without duplicates.
    pub fn session_roles(&self, assigned: &[RoleId]) -> Vec<RoleId> {
        let mut roles = vec![RoleId::member()];
        for role in assigned {
            if self.role(role.as_str()).is_some() && !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        roles
    }

    /// The authorization check. Tenancy comes first: a session of another organization is refused
    /// whatever its roles. Then the action is allowed iff some role grants it (or `*`) on the
    /// resource; the verdict lists every granting role.
    pub fn authorize(
        &self,
        subject: &Subject<'_>,
        check: &AuthorizationCheck,
    ) -> Result<Verdict, Error> {
        if !check.organization.matches(subject.organization_id, subject.organization_slug) {
            return Err(Error::AuthorizationTenancy {
                session_organization: subject.organization_id.to_string(),
                requested: check.organization.to_string(),
            });
        }
        let granting_roles: Vec<RoleId> = subject
            .roles
            .iter()
            .filter(|role_id| {
                self.role(role_id.as_str())
                    .is_some_and(|r| r.grants(&check.resource_id, &check.action))
            })
            .cloned()
            .collect();
        if granting_roles.is_empty() {
            return Err(Error::Unauthorized {
                resource_id: echo(&check.resource_id),
                action: echo(&check.action),
            });
        }
        Ok(Verdict { authorized: true, granting_roles })
    }
}

impl TryFrom<PolicyDocument> for Policy {
    type Error = Error;

    fn try_from(document: PolicyDocument) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidPolicy { reason };

        let mut resources = reserved_resources();
        for resource in document.resources {
            let id = &resource.resource_id;
            if id.is_empty() {
                return Err(invalid("a resource has an empty resource_id".into()));
            }
            if id.starts_with(RESERVED_RESOURCE_PREFIX) {
                // A serialized policy lists the reserved resources; reading it back must work,
                // so an exact restatement is accepted and anything else refused.
                let restated =
                    resources.iter().any(|r| r.resource_id == *id && r.actions == resource.actions);
                if restated {
                    continue;
                }
                return Err(invalid(format!(
                    "resource `{id}` uses the reserved prefix `tessera.`"
                )));
            }
            if resources.iter().any(|r| &r.resource_id == id) {
                return Err(invalid(format!("resource `{id}` is defined twice")));
            }
            if resource.actions.is_empty() {
                return Err(invalid(format!("resource `{id}` declares no actions")));
            }
            let mut seen = BTreeSet::new();
            for action in &resource.actions {
                if action.is_empty() || action == WILDCARD_ACTION {
                    return Err(invalid(format!(
                        "resource `{id}` declares action `{action}`; actions must be named (`*` is only for permissions)"
                    )));
                }
                if !seen.insert(action) {
                    return Err(invalid(format!(
                        "resource `{id}` declares action `{action}` twice"
                    )));
                }
            }
            resources.push(resource);
        }

        let mut roles: Vec<Role> = Vec::with_capacity(document.roles.len() + 2);
        for role in document.roles {
            if roles.iter().any(|r| r.role_id == role.role_id) {
                return Err(invalid(format!("role `{}` is defined twice", role.role_id)));
            }
            for permission in &role.permissions {
                let Some(resource) =
                    resources.iter().find(|r| r.resource_id == permission.resource_id)
                else {
                    return Err(invalid(format!(
                        "role `{}` grants on unknown resource `{}`",
                        role.role_id, permission.resource_id
                    )));
                };
                if permission.actions.is_empty() {
                    return Err(invalid(format!(
                        "role `{}` grants no action on `{}`",
                        role.role_id, permission.resource_id
                    )));
                }
                let wildcard = permission.actions.iter().any(|a| a == WILDCARD_ACTION);
                if wildcard && permission.actions.len() > 1 {
                    return Err(invalid(format!(
                        "role `{}`: cannot specify `*` with other actions on `{}`",
                        role.role_id, permission.resource_id
                    )));
                }
                if let Some(unknown) = permission
                    .actions
                    .iter()
                    .find(|a| *a != WILDCARD_ACTION && !resource.actions.contains(a))
                {
                    return Err(invalid(format!(
                        "role `{}` grants `{unknown}`, which resource `{}` does not declare",
                        role.role_id, permission.resource_id
                    )));
                }
            }
            roles.push(role);
        }
        for default in [default_admin_role(), default_member_role()] {
            if !roles.iter().any(|r| r.role_id == default.role_id) {
                roles.insert(0, default);
            }
        }
        Ok(Self { resources, roles })
    }
}

/// Who is asking: the organization and roles of an authenticated session.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub organization_id: OrganizationId,
    pub organization_slug: &'a OrganizationSlug,
    pub roles: &'a [RoleId],
}

/// "May the session do `action` on `resource_id` in `organization`?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCheck {
    pub organization: OrganizationRef,
    pub resource_id: String,
    pub action: String,
}

/// The positive answer to an [`AuthorizationCheck`]; a negative one is an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub authorized: bool,
    pub granting_roles: Vec<RoleId>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorType;

    fn org() -> (OrganizationId, OrganizationSlug) {
        (
            OrganizationId::parse("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b").unwrap(),
            OrganizationSlug::parse("acme").unwrap(),
        )
    }

    fn policy() -> Policy {
        Policy::from_json(
            &json!({
                "resources": [
                    {"resource_id": "documents", "description": "Docs", "actions": ["read", "write", "delete"]},
                    {"resource_id": "billing", "actions": ["view", "pay"]}
                ],
                "roles": [
                    {"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]},
                    {"role_id": "owner", "permissions": [{"resource_id": "documents", "actions": ["*"]},
                                                         {"resource_id": "billing", "actions": ["*"]}]},
                    {"role_id": "auditor", "permissions": [{"resource_id": "tessera.session", "actions": ["read"]}]}
                ]
            })
            .to_string(),
        )
        .unwrap()
    }

    fn check(organization: &str, resource_id: &str, action: &str) -> AuthorizationCheck {
        AuthorizationCheck {
            organization: OrganizationRef::parse(organization).unwrap(),
            resource_id: resource_id.into(),
            action: action.into(),
        }
    }

    fn roles(names: &[&str]) -> Vec<RoleId> {
        names.iter().map(|n| RoleId::parse(n).unwrap()).collect()
    }

    #[test]
    fn default_policy_has_reserved_roles_and_resources() {
        let policy = Policy::default();
        assert!(policy.role(MEMBER_ROLE).is_some());
        assert!(policy.role(ADMIN_ROLE).is_some());
        assert!(policy.resources().iter().all(|r| r.resource_id.starts_with("tessera.")));
        let (id, slug) = org();
        let member = roles(&[MEMBER_ROLE]);
        let subject = Subject { organization_id: id, organization_slug: &slug, roles: &member };
        assert!(policy.authorize(&subject, &check("acme", "tessera.self", "revoke")).is_ok());
        assert!(policy.authorize(&subject, &check("acme", "tessera.member", "delete")).is_err());
        let admin = roles(&[MEMBER_ROLE, ADMIN_ROLE]);
        let subject = Subject { roles: &admin, ..subject };
        let verdict =
            policy.authorize(&subject, &check("acme", "tessera.member", "delete")).unwrap();
        assert_eq!(verdict.granting_roles, roles(&[ADMIN_ROLE]));
    }

    #[test]
    fn loaded_policy_keeps_the_defaults() {
        let policy = policy();
        assert!(policy.role(MEMBER_ROLE).is_some());
        assert!(policy.role(ADMIN_ROLE).is_some());
        assert!(policy.role("editor").is_some());
        assert_eq!(policy.resources().len(), RESERVED_RESOURCES.len() + 2);
    }

    #[test]
    fn verdict_lists_every_granting_role_and_wildcards_count() {
        let policy = policy();
        let (id, slug) = org();
        let held = roles(&[MEMBER_ROLE, "editor", "owner"]);
        let subject = Subject { organization_id: id, organization_slug: &slug, roles: &held };
        let verdict = policy.authorize(&subject, &check("acme", "documents", "write")).unwrap();
        assert!(verdict.authorized);
        assert_eq!(verdict.granting_roles, roles(&["editor", "owner"]));
        let verdict =
            policy.authorize(&subject, &check(&id.to_string(), "documents", "delete")).unwrap();
        assert_eq!(verdict.granting_roles, roles(&["owner"]));
    }

    #[test]
    fn missing_permission_is_an_authorization_error() {
        let policy = policy();
        let (id, slug) = org();
        let held = roles(&[MEMBER_ROLE, "editor"]);
        let subject = Subject { organization_id: id, organization_slug: &slug, roles: &held };
        for (resource, action) in
            [("documents", "delete"), ("billing", "pay"), ("nonexistent", "read")]
        {
            let err = policy.authorize(&subject, &check("acme", resource, action)).unwrap_err();
            assert_eq!(
                err.error_type(),
                ErrorType::SessionAuthorizationError,
                "{resource}:{action}"
            );
        }
    }

    #[test]
    fn tenancy_is_checked_before_roles() {
        let policy = policy();
        let (id, slug) = org();
        let held = roles(&[MEMBER_ROLE, "owner"]);
        let subject = Subject { organization_id: id, organization_slug: &slug, roles: &held };
        for other in ["globex", "0190a5b2-7c3d-7e4f-8a9b-000000000000"] {
            // Even for a resource nobody may touch, the tenancy error comes first.
            for resource in ["documents", "nonexistent"] {
                let err = policy.authorize(&subject, &check(other, resource, "read")).unwrap_err();
                assert_eq!(err.error_type(), ErrorType::SessionAuthorizationTenancyError);
            }
        }
    }

    #[test]
    fn roles_unknown_to_the_policy_grant_nothing_and_are_dropped_from_sessions() {
        let policy = policy();
        let assigned = roles(&["editor", "ghost", "editor"]);
        assert_eq!(policy.session_roles(&assigned), roles(&[MEMBER_ROLE, "editor"]));
        assert!(policy.check_assignable(&roles(&["editor"])).is_ok());
        assert_eq!(
            policy.check_assignable(&roles(&["ghost"])).unwrap_err().error_type(),
            ErrorType::InvalidRole
        );
    }

    #[test]
    fn a_member_holds_at_most_the_bounded_number_of_roles() {
        let policy = policy();
        let at_limit = roles(&["editor"; MAX_ROLES_PER_MEMBER]);
        assert!(policy.check_assignable(&at_limit).is_ok());
        let over = roles(&["editor"; MAX_ROLES_PER_MEMBER + 1]);
        let err = policy.check_assignable(&over).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::TooManyRoles);
    }

    #[test]
    fn redefining_default_roles_is_allowed() {
        let policy = Policy::from_json(
            &json!({"roles": [{"role_id": "tessera_member", "permissions": [{"resource_id": "tessera.self", "actions": ["read"]}]}]})
                .to_string(),
        )
        .unwrap();
        assert_eq!(policy.role(MEMBER_ROLE).unwrap().permissions[0].actions, vec!["read"]);
        assert!(policy.role(ADMIN_ROLE).is_some());
    }

    #[test]
    fn invalid_documents_are_refused_with_a_reason() {
        let cases = [
            (
                json!({"resources": [{"resource_id": "tessera.secret", "actions": ["read"]}]}),
                "reserved",
            ),
            (
                json!({"resources": [{"resource_id": "a", "actions": ["read"]}, {"resource_id": "a", "actions": ["x"]}]}),
                "twice",
            ),
            (json!({"resources": [{"resource_id": "a", "actions": []}]}), "no actions"),
            (json!({"resources": [{"resource_id": "a", "actions": ["*"]}]}), "named"),
            (
                json!({"roles": [{"role_id": "r", "permissions": [{"resource_id": "nope", "actions": ["read"]}]}]}),
                "unknown resource",
            ),
            (
                json!({"roles": [{"role_id": "r", "permissions": [{"resource_id": "tessera.self", "actions": ["*", "read"]}]}]}),
                "`*` with other",
            ),
            (
                json!({"roles": [{"role_id": "r", "permissions": [{"resource_id": "tessera.self", "actions": ["fly"]}]}]}),
                "does not declare",
            ),
            (
                json!({"roles": [{"role_id": "r", "permissions": []}, {"role_id": "r", "permissions": []}]}),
                "twice",
            ),
            (json!({"roles": [{"role_id": "bad role", "permissions": []}]}), "role id"),
            (json!({"rolez": []}), "unknown field"),
        ];
        for (doc, needle) in cases {
            let err = Policy::from_json(&doc.to_string()).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidRbacPolicy, "{doc}");
            assert!(err.to_string().contains(needle), "{doc}: {err}");
        }
        assert!(Policy::from_json("not json").is_err());
    }

    #[test]
    fn policy_round_trips_through_json() {
        let policy = policy();
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(Policy::from_json(&json).unwrap(), policy);
    }
}
