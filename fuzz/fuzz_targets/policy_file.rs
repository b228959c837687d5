//! RBAC policy files (`Policy::from_json`).
//!
//! Oracles: never a panic; an accepted policy keeps the reserved roles `tessera_member` and
//! `tessera_admin` and every reserved resource, defines no resource or role twice, reads back
//! equal from its own serialization (what `GET /v1/b2b/rbac/policy` serves), and every
//! permission it lists is granted by `authorize` to a session holding that role in its own
//! organization, and refused in another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{
    AuthorizationCheck, OrganizationId, OrganizationRef, OrganizationSlug, Policy, RoleId,
    rbac::Subject,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(policy) = Policy::from_json(text) else { return };
    for reserved in [RoleId::member(), RoleId::admin()] {
        assert!(policy.role(reserved.as_str()).is_some(), "lost {reserved}");
    }
    for reserved in Policy::default().resources() {
        assert!(policy.resources().contains(reserved), "lost {}", reserved.resource_id);
    }
    let mut ids: Vec<_> = policy.resources().iter().map(|r| &r.resource_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), policy.resources().len(), "a resource defined twice");
    let mut roles: Vec<_> = policy.roles().iter().map(|r| r.role_id.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    assert_eq!(roles.len(), policy.roles().len(), "a role defined twice");

    let json = serde_json::to_string(&policy).unwrap();
    let back = Policy::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(back, policy);

    let organization_id = OrganizationId::parse("0190b6b0-0000-7000-8000-000000000001").unwrap();
    let slug = OrganizationSlug::parse("acme").unwrap();
    for role in policy.roles().iter().take(8) {
        let held = [role.role_id.clone()];
        let subject = Subject { organization_id, organization_slug: &slug, roles: &held };
        for permission in role.permissions.iter().take(8) {
            for action in permission.actions.iter().take(4) {
                let check = AuthorizationCheck {
                    organization: OrganizationRef::Id(organization_id),
                    resource_id: permission.resource_id.clone(),
                    action: action.clone(),
                };
                let verdict = policy.authorize(&subject, &check);
                if policy.resources().iter().any(|r| r.resource_id == permission.resource_id) {
                    let verdict = verdict.unwrap_or_else(|e| panic!("{e}: {check:?} by {role:?}"));
                    assert!(verdict.granting_roles.contains(&role.role_id));
                }
                let elsewhere = AuthorizationCheck {
                    organization: OrganizationRef::Slug(OrganizationSlug::parse("other").unwrap()),
                    ..check
                };
                assert!(policy.authorize(&subject, &elsewhere).is_err(), "tenancy ignored");
            }
        }
    }
});
