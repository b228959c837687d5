use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::RoleId;

use super::*;
use crate::views::test_support::{TOKEN, fixture};

const PROJECT_ID: &str = "project-test-6c2b0a4e";

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

fn portal_url() -> String {
    format!(
        "https://portal.acme.example/acme-inc/portal?member_session_token={TOKEN}&email=ada%40acme.example"
    )
}

fn session_view() -> MemberSession {
    let f = fixture();
    MemberSession::new(&f.session, &f.member, &f.organization, TOKEN, portal_url(), PROJECT_ID)
}

/// `2026-05-01T09:00:00.123456Z`: RFC 3339, UTC, `Z`, microseconds.
#[track_caller]
fn assert_polar_timestamp(value: &Value) {
    let s = value.as_str().unwrap_or_else(|| panic!("not a string: {value}"));
    let b = s.as_bytes();
    assert!(b.len() == 27 && b[10] == b'T' && b[19] == b'.' && b[26] == b'Z', "{s}");
    chrono::DateTime::parse_from_rfc3339(s).unwrap();
}

#[test]
fn member_session_has_exactly_the_seed_fields_with_their_json_types() {
    let json = to_json(&session_view());
    // The seed's eleven fields (snake_case on the wire).
    let expected = BTreeSet::from([
        "id",
        "token",
        "expires_at",
        "return_url",
        "member_portal_url",
        "member_id",
        "member",
        "customer_id",
        "customer",
        "created_at",
        "modified_at",
    ]);
    assert_eq!(keys(&json), expected);
    for field in ["id", "token", "expires_at", "member_portal_url", "member_id", "customer_id"] {
        assert!(json[field].is_string(), "{field}: {}", json[field]);
    }
    for field in ["created_at", "modified_at", "expires_at"] {
        assert_polar_timestamp(&json[field]);
    }
    assert!(json["return_url"].is_string() || json["return_url"].is_null());
    assert!(json["member"].is_object());
    assert!(json["customer"].is_object());

    let f = fixture();
    assert_eq!(json["id"], f.session.id.to_string());
    assert_eq!(json["token"], TOKEN);
    assert_eq!(json["member_portal_url"], portal_url());
    assert_eq!(json["return_url"], "https://app.acme.example/account");
    assert_eq!(json["member_id"], f.member.id.to_string());
    assert_eq!(json["customer_id"], f.organization.id.to_string());
    assert_eq!(json["member"]["id"], json["member_id"]);
    assert_eq!(json["customer"]["id"], json["customer_id"]);
    assert_eq!(json["created_at"], "2026-05-01T08:50:00.123456Z");
    assert_eq!(json["modified_at"], "2026-05-01T08:50:30.123456Z");
    assert_eq!(json["expires_at"], "2026-05-01T09:50:00.123456Z");
}

#[test]
fn return_url_may_be_null() {
    let mut f = fixture();
    f.session.return_url = None;
    let view = MemberSession::new(&f.session, &f.member, &f.organization, TOKEN, "u", PROJECT_ID);
    let json = to_json(&view);
    assert!(json.as_object().unwrap().contains_key("return_url"));
    assert_eq!(json["return_url"], Value::Null);
}

#[test]
fn member_has_polars_member_fields() {
    let json = to_json(&session_view())["member"].clone();
    let expected = BTreeSet::from([
        "id",
        "created_at",
        "modified_at",
        "customer_id",
        "email",
        "name",
        "external_id",
        "role",
    ]);
    assert_eq!(keys(&json), expected);
    for field in ["id", "customer_id", "email", "name", "external_id", "role"] {
        assert!(json[field].is_string(), "{field}");
    }
    assert_polar_timestamp(&json["created_at"]);
    assert_polar_timestamp(&json["modified_at"]);
    assert_eq!(json["email"], "ada@acme.example");
    assert_eq!(json["name"], "Ada Lovelace");
    assert_eq!(json["external_id"], "crm-42");
    assert_eq!(json["role"], "owner", "tessera_admin maps to owner");

    let mut f = fixture();
    f.member.name = None;
    f.member.external_id = None;
    let json = to_json(&Member::new(&f.member));
    assert_eq!(json["name"], Value::Null);
    assert_eq!(json["external_id"], Value::Null);
}

#[test]
fn customer_is_the_organization_as_a_team_customer() {
    let json = to_json(&session_view())["customer"].clone();
    let expected = BTreeSet::from([
        "id",
        "created_at",
        "modified_at",
        "metadata",
        "external_id",
        "email",
        "email_verified",
        "type",
        "name",
        "billing_address",
        "tax_id",
        "locale",
        "organization_id",
        "deleted_at",
        "avatar_url",
    ]);
    assert_eq!(keys(&json), expected);
    let f = fixture();
    assert_eq!(json["id"], f.organization.id.to_string());
    assert_polar_timestamp(&json["created_at"]);
    assert_polar_timestamp(&json["modified_at"]);
    // Only the scalar metadata entries: Polar's metadata values are str | int | float | bool.
    assert_eq!(json["metadata"], json!({"plan": "enterprise", "seats": 40, "beta": true}));
    assert_eq!(json["external_id"], "crm-acme-1");
    assert_eq!(json["email"], "billing@acme.example");
    assert_eq!(json["email_verified"], false);
    assert_eq!(json["type"], "team");
    assert_eq!(json["name"], "Acme, Inc.");
    assert_eq!(json["billing_address"], Value::Null);
    assert_eq!(json["tax_id"], Value::Null);
    assert_eq!(json["locale"], Value::Null);
    assert_eq!(json["organization_id"], PROJECT_ID);
    assert_eq!(json["deleted_at"], Value::Null);
    assert_eq!(json["avatar_url"], "");

    let mut f = fixture();
    f.organization.email = None;
    f.organization.external_id = None;
    let json = to_json(&Customer::new(&f.organization, PROJECT_ID));
    assert_eq!(json["email"], Value::Null);
    assert_eq!(json["external_id"], Value::Null);
}

#[test]
fn role_mapping() {
    let role = |names: &[&str]| {
        let roles: Vec<RoleId> = names.iter().map(|n| RoleId::parse(n).unwrap()).collect();
        MemberRole::from_roles(&roles)
    };
    assert_eq!(role(&[]), MemberRole::Member);
    assert_eq!(role(&["tessera_member"]), MemberRole::Member);
    assert_eq!(role(&["editor"]), MemberRole::Member);
    assert_eq!(role(&["tessera_admin"]), MemberRole::Owner);
    assert_eq!(role(&["billing_manager"]), MemberRole::BillingManager);
    assert_eq!(role(&["tessera_admin", "billing_manager"]), MemberRole::BillingManager);
    assert_eq!(role(&["billing_manager", "owner"]), MemberRole::Owner);
    assert_eq!(role(&["owner", "tessera_member"]), MemberRole::Owner);
    for (r, s) in [
        (MemberRole::Owner, "owner"),
        (MemberRole::BillingManager, "billing_manager"),
        (MemberRole::Member, "member"),
    ] {
        assert_eq!(to_json(&r), s);
        assert_eq!(r.as_str(), s);
    }
}

#[test]
fn token_appears_only_in_token_and_portal_url_and_never_in_debug() {
    let view = session_view();
    let json = serde_json::to_string(&view).unwrap();
    assert_eq!(json.matches(TOKEN).count(), 2, "token and member_portal_url: {json}");
    let debug = format!("{view:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    let f = fixture();
    for other in [
        to_json(&CustomerSessionIntrospection::new(&f.session)),
        to_json(&PortalAuthenticatedUser::new(&f.member)),
    ] {
        assert!(!other.to_string().contains(TOKEN));
    }
}

#[test]
fn introspection_is_expiry_and_return_url() {
    let f = fixture();
    let json = to_json(&CustomerSessionIntrospection::new(&f.session));
    assert_eq!(
        json,
        json!({"expires_at": "2026-05-01T09:50:00.123456Z",
               "return_url": "https://app.acme.example/account"})
    );
}

#[test]
fn portal_user_is_the_member() {
    let f = fixture();
    let json = to_json(&PortalAuthenticatedUser::new(&f.member));
    assert_eq!(
        json,
        json!({
            "type": "member",
            "name": "Ada Lovelace",
            "email": "ada@acme.example",
            "customer_id": f.organization.id.to_string(),
            "member_id": f.member.id.to_string(),
            "role": "owner"
        })
    );
}

#[test]
fn views_read_back() {
    let first = to_json(&session_view());
    let back: MemberSession = serde_json::from_value(first.clone()).unwrap();
    assert_eq!(to_json(&back), first);
    let f = fixture();
    let user = to_json(&PortalAuthenticatedUser::new(&f.member));
    let back: PortalAuthenticatedUser = serde_json::from_value(user.clone()).unwrap();
    assert_eq!(to_json(&back), user);
}
