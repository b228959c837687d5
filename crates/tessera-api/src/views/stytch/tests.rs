use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::{DeliveryMethod, ErrorType, FactorType, RoleId};

use super::*;
use crate::views::{
    SecretString,
    test_support::{JWT, TOKEN, Validator, fixture},
};

const MEMBER_SESSION_SCHEMA: &str =
    include_str!("../../../tests/fixtures/stytch_member_session.schema.json");
const FACTOR_SCHEMA: &str =
    include_str!("../../../tests/fixtures/stytch_authentication_factor.schema.json");
const SDK_MODELS_SCHEMA: &str =
    include_str!("../../../tests/fixtures/stytch_sdk_models.schema.json");

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// The seed's MemberSession schema placed where its `$id` says it sits in Stytch's OpenAPI
/// document (`#/components/schemas/api_b2b_session_v1_MemberSession`; draft 2020-12 does not
/// allow a fragment in `$id`, so the test puts it there instead), beside the definition its
/// factors `$ref`: `#/components/schemas/api_session_v1_AuthenticationFactor`, written from the
/// SDK's model (see `tests/fixtures/generate_stytch_sdk_schemas.py`).
fn member_session_validator() -> Validator {
    let mut schema: Value = serde_json::from_str(MEMBER_SESSION_SCHEMA).unwrap();
    let factor: Value = serde_json::from_str(FACTOR_SCHEMA).unwrap();
    let seed = schema.as_object_mut().unwrap();
    assert_eq!(
        seed.remove("$id"),
        Some(json!("#/components/schemas/api_b2b_session_v1_MemberSession"))
    );
    let dialect = seed.remove("$schema").unwrap();
    assert_eq!(
        seed["properties"]["authentication_factors"]["items"]["$ref"],
        "#/components/schemas/api_session_v1_AuthenticationFactor"
    );
    let document = json!({
        "$schema": dialect,
        "components": {"schemas": {
            "api_b2b_session_v1_MemberSession": schema,
            "api_session_v1_AuthenticationFactor": factor,
        }}
    });
    let base = "https://tessera.invalid/fixtures/stytch_openapi_components.json";
    let location = format!("{base}#/components/schemas/api_b2b_session_v1_MemberSession");
    Validator::compile(document, base, &location)
}

/// One model of the SDK, as its pydantic validation parses it.
fn sdk_validator(model: &str) -> Validator {
    let document: Value = serde_json::from_str(SDK_MODELS_SCHEMA).unwrap();
    let pointer = document["x-models"][model].as_str().unwrap_or_else(|| panic!("{model}"));
    let base = "https://tessera.invalid/fixtures/stytch_sdk_models.schema.json";
    let location = format!("{base}{pointer}");
    Validator::compile(document, base, &location)
}

fn assert_sdk_parses(model: &str, body: &Value) {
    if let Err(e) = sdk_validator(model).check(body) {
        panic!("SDK model {model} rejects {body:#}:\n{e}");
    }
}

#[test]
fn the_sdk_models_reject_what_pydantic_would() {
    let f = fixture();
    let good = enveloped(MemberResponse::new(&f.member, &f.roles, &f.organization));
    assert_sdk_parses("organizations_members.GetResponse", &good);
    let validator = sdk_validator("organizations_members.GetResponse");
    let mut missing = good.clone();
    missing["member"].as_object_mut().unwrap().remove("mfa_enrolled");
    assert!(validator.check(&missing).is_err(), "a required field is missing");
    let mut null = good.clone();
    null["member"]["name"] = Value::Null;
    assert!(validator.check(&null).is_err(), "a required str is null");
    let mut no_envelope = good;
    no_envelope.as_object_mut().unwrap().remove("request_id");
    assert!(validator.check(&no_envelope).is_err(), "ResponseBase requires request_id");
}

#[test]
fn member_session_validates_against_the_seed_schema() {
    let f = fixture();
    let view = to_json(&MemberSession::new(&f.session, &f.organization, &f.roles));
    member_session_validator().check(&view).unwrap();
}

#[test]
fn member_session_missing_organization_slug_fails_the_seed_schema() {
    let f = fixture();
    let mut view = to_json(&MemberSession::new(&f.session, &f.organization, &f.roles));
    view.as_object_mut().unwrap().remove("organization_slug");
    let err = member_session_validator().check(&view).unwrap_err();
    assert!(err.contains("organization_slug"), "{err}");
}

#[test]
fn the_seed_schema_checks_factors_through_the_ref() {
    let f = fixture();
    let validator = member_session_validator();
    let view = to_json(&MemberSession::new(&f.session, &f.organization, &f.roles));

    let mut bad_method = view.clone();
    bad_method["authentication_factors"][0]["delivery_method"] = json!("pigeon");
    assert!(validator.check(&bad_method).is_err());

    let mut bad_detail = view.clone();
    bad_detail["authentication_factors"][0]["email_factor"] = json!({"email_id": "e"});
    assert!(validator.check(&bad_detail).is_err(), "email_address is required in email_factor");

    let mut bad_time = view;
    bad_time["authentication_factors"][1]["created_at"] = json!("yesterday");
    assert!(validator.check(&bad_time).is_err(), "format assertions are on");
}

#[test]
fn member_session_has_exactly_the_schema_fields() {
    let f = fixture();
    let view = to_json(&MemberSession::new(&f.session, &f.organization, &f.roles));
    let schema: Value = serde_json::from_str(MEMBER_SESSION_SCHEMA).unwrap();
    let expected: BTreeSet<&str> =
        schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    let actual: BTreeSet<&str> = view.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(actual, expected);
    assert_eq!(view["member_session_id"], f.session.id.to_string());
    assert_eq!(view["organization_slug"], "acme-inc");
    assert_eq!(view["roles"], json!(["tessera_member", "tessera_admin", "editor"]));
    assert_eq!(view["custom_claims"], json!({"tenant_tier": "gold", "flags": {"beta": true}}));
    assert_eq!(view["authentication_factors"][0]["type"], "magic_link");
    assert_eq!(view["authentication_factors"][0]["delivery_method"], "email");
    assert_eq!(
        view["authentication_factors"][0]["email_factor"],
        json!({"email_id": "email-1", "email_address": "ada@acme.example"})
    );
    assert_eq!(view["authentication_factors"][1]["authenticator_app_factor"]["totp_id"], "totp-1");
}

#[test]
fn empty_custom_claims_are_an_empty_object() {
    let mut f = fixture();
    f.session.custom_claims = tessera_core::CustomClaims::empty();
    let view = to_json(&MemberSession::new(&f.session, &f.organization, &f.roles));
    assert_eq!(view["custom_claims"], json!({}));
    member_session_validator().check(&view).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

/// `2021-12-29T12:33:09Z`: exactly 20 characters, `T` and `Z` in place, parses as RFC 3339.
fn assert_stytch_timestamp(value: &Value, what: &str) {
    let s = value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    let b = s.as_bytes();
    assert!(
        b.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' && b[19] == b'Z',
        "{what} = {s}"
    );
    chrono::DateTime::parse_from_rfc3339(s).unwrap();
}

#[test]
fn every_stytch_timestamp_is_whole_seconds_utc_z() {
    let f = fixture();
    let response = AuthenticateResponse::new(&f.authenticated(), &f.roles, TOKEN, JWT, None);
    let json = to_json(&response);
    let session = &json["member_session"];
    for key in ["started_at", "last_accessed_at", "expires_at"] {
        assert_stytch_timestamp(&session[key], key);
    }
    for factor in session["authentication_factors"].as_array().unwrap() {
        for key in ["created_at", "last_authenticated_at", "updated_at"] {
            assert_stytch_timestamp(&factor[key], key);
        }
    }
    for key in ["created_at", "updated_at"] {
        assert_stytch_timestamp(&json["member"][key], key);
        assert_stytch_timestamp(&json["organization"][key], key);
    }
    // The fixture's clock has sub-second digits: they are cut, not rounded.
    assert_eq!(session["last_accessed_at"], "2026-05-01T09:00:00Z");
}

// ---------------------------------------------------------------------------------------------
// What the SDK requires
// ---------------------------------------------------------------------------------------------

/// Required fields of the SDK's pydantic models (fields without a default), stytch==15.3.0.
mod sdk_required {
    /// `stytch/core/response_base.py` `ResponseBase`, base of every response model.
    pub(super) const RESPONSE_BASE: &[&str] = &["status_code", "request_id"];
    /// `stytch/core/response_base.py` `StytchErrorDetails`.
    pub(super) const ERROR_DETAILS: &[&str] = &["status_code", "request_id", "error_message"];

    /// `stytch/b2b/models/sessions.py`
    pub(super) const MEMBER_SESSION: &[&str] = &[
        "member_session_id",
        "member_id",
        "started_at",
        "last_accessed_at",
        "expires_at",
        "authentication_factors",
        "organization_id",
        "roles",
        "organization_slug",
    ];
    pub(super) const AUTHENTICATE_RESPONSE: &[&str] =
        &["member_session", "session_token", "session_jwt", "member", "organization"];
    pub(super) const ATTEST_RESPONSE: &[&str] =
        &["member_id", "member_session", "session_token", "session_jwt", "member", "organization"];
    pub(super) const EXCHANGE_RESPONSE: &[&str] = &[
        "member_id",
        "session_token",
        "session_jwt",
        "member",
        "organization",
        "member_authenticated",
        "intermediate_session_token",
    ];
    pub(super) const GET_RESPONSE: &[&str] = &["member_sessions"];
    pub(super) const REVOKE_RESPONSE: &[&str] = &[];
    pub(super) const GET_JWKS_RESPONSE: &[&str] = &["keys"];
    pub(super) const AUTHORIZATION_VERDICT: &[&str] = &["authorized", "granting_roles"];

    /// `stytch/consumer/models/sessions.py` (imported by the B2B sessions models)
    pub(super) const AUTHENTICATION_FACTOR: &[&str] = &["type", "delivery_method"];
    pub(super) const JWK: &[&str] =
        &["kty", "use", "key_ops", "alg", "kid", "x5c", "x5tS256", "n", "e"];

    /// `stytch/b2b/models/organizations.py`
    pub(super) const ORGANIZATION: &[&str] = &[
        "organization_id",
        "organization_name",
        "organization_logo_url",
        "organization_slug",
        "sso_jit_provisioning",
        "sso_jit_provisioning_allowed_connections",
        "sso_active_connections",
        "email_allowed_domains",
        "email_jit_provisioning",
        "email_invites",
        "auth_methods",
        "allowed_auth_methods",
        "mfa_policy",
        "rbac_email_implicit_role_assignments",
        "mfa_methods",
        "allowed_mfa_methods",
        "oauth_tenant_jit_provisioning",
        "claimed_email_domains",
        "first_party_connected_apps_allowed_type",
        "allowed_first_party_connected_apps",
        "third_party_connected_apps_allowed_type",
        "allowed_third_party_connected_apps",
        "custom_roles",
    ];
    pub(super) const MEMBER: &[&str] = &[
        "organization_id",
        "member_id",
        "email_address",
        "status",
        "name",
        "sso_registrations",
        "is_breakglass",
        "member_password_id",
        "oauth_registrations",
        "email_address_verified",
        "mfa_phone_number_verified",
        "is_admin",
        "totp_registration_id",
        "retired_email_addresses",
        "is_locked",
        "mfa_enrolled",
        "mfa_phone_number",
        "default_mfa_method",
        "roles",
    ];
    pub(super) const MEMBER_ROLE: &[&str] = &["role_id", "sources"];
    pub(super) const MEMBER_ROLE_SOURCE: &[&str] = &["type"];
    /// `CreateResponse`, `GetResponse`, `UpdateResponse`
    pub(super) const ORGANIZATION_RESPONSE: &[&str] = &["organization"];
    pub(super) const ORGANIZATION_DELETE_RESPONSE: &[&str] = &["organization_id"];

    /// `stytch/b2b/models/organizations_members.py` (`CreateResponse`, `GetResponse`,
    /// `UpdateResponse`; `DeleteResponse`)
    pub(super) const MEMBER_RESPONSE: &[&str] = &["member_id", "member", "organization"];
    pub(super) const MEMBER_DELETE_RESPONSE: &[&str] = &["member_id"];

    /// `stytch/b2b/models/rbac.py` (`PolicyResponse.policy` itself is optional)
    pub(super) const POLICY: &[&str] = &["roles", "resources", "scopes"];
    pub(super) const POLICY_ROLE: &[&str] = &["role_id", "description", "permissions"];
    pub(super) const POLICY_RESOURCE: &[&str] = &["resource_id", "description", "actions"];
    pub(super) const POLICY_ROLE_PERMISSION: &[&str] = &["resource_id", "actions"];
}

/// Every field in `required` is present and not `null` (pydantic's required fields are not
/// `Optional`, so `null` fails them too).
#[track_caller]
fn assert_required(what: &str, value: &Value, required: &[&str]) {
    let object = value.as_object().unwrap_or_else(|| panic!("{what} is not an object: {value}"));
    for field in required {
        match object.get(*field) {
            None => panic!("{what} lacks required `{field}`: {value:#}"),
            Some(Value::Null) => panic!("{what}.{field} is null"),
            Some(_) => {}
        }
    }
}

fn assert_member_required(member: &Value) {
    assert_required("Member", member, sdk_required::MEMBER);
    for role in member["roles"].as_array().unwrap() {
        assert_required("MemberRole", role, sdk_required::MEMBER_ROLE);
        for source in role["sources"].as_array().unwrap() {
            assert_required("MemberRoleSource", source, sdk_required::MEMBER_ROLE_SOURCE);
        }
    }
}

fn assert_member_session_required(session: &Value) {
    assert_required("MemberSession", session, sdk_required::MEMBER_SESSION);
    let factors = session["authentication_factors"].as_array().unwrap();
    assert!(!factors.is_empty());
    for factor in factors {
        assert_required("AuthenticationFactor", factor, sdk_required::AUTHENTICATION_FACTOR);
    }
}

fn enveloped<T: Serialize>(body: T) -> Value {
    to_json(&Envelope::ok("request-id-test-1", body))
}

#[test]
fn authenticate_response_has_every_required_field() {
    let f = fixture();
    let verdict = tessera_core::Verdict { authorized: true, granting_roles: vec![RoleId::admin()] };
    for verdict in [None, Some(&verdict)] {
        let json =
            enveloped(AuthenticateResponse::new(&f.authenticated(), &f.roles, TOKEN, JWT, verdict));
        assert_required("AuthenticateResponse", &json, sdk_required::RESPONSE_BASE);
        assert_required("AuthenticateResponse", &json, sdk_required::AUTHENTICATE_RESPONSE);
        assert_member_session_required(&json["member_session"]);
        assert_member_required(&json["member"]);
        assert_required("Organization", &json["organization"], sdk_required::ORGANIZATION);
        match verdict {
            Some(_) => {
                assert_required("verdict", &json["verdict"], sdk_required::AUTHORIZATION_VERDICT);
                assert_eq!(
                    json["verdict"],
                    json!({"authorized": true, "granting_roles": ["tessera_admin"]})
                );
            }
            None => assert!(json.get("verdict").is_none()),
        }
        assert_sdk_parses("sessions.AuthenticateResponse", &json);
    }
}

#[test]
fn create_session_response_parses_as_authenticate_and_attest() {
    let f = fixture();
    let json =
        enveloped(CreateSessionResponse::new(&f.authenticated(), &f.roles, TOKEN, Some(JWT)));
    assert_required("CreateSessionResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("CreateSessionResponse", &json, sdk_required::ATTEST_RESPONSE);
    assert_required("CreateSessionResponse", &json, sdk_required::AUTHENTICATE_RESPONSE);
    assert_member_session_required(&json["member_session"]);
    assert_member_required(&json["member"]);
    assert_required("Organization", &json["organization"], sdk_required::ORGANIZATION);
    assert_eq!(json["member_id"], f.member.id.to_string());
    assert_sdk_parses("sessions.AuthenticateResponse", &json);
    assert_sdk_parses("sessions.AttestResponse", &json);
}

#[test]
fn get_sessions_response_has_every_required_field() {
    let f = fixture();
    let mut other = f.session.clone();
    other.id = tessera_core::SessionId::parse("0196a000-0000-7000-8000-000000000001").unwrap();
    let json =
        enveloped(GetSessionsResponse::new(&[f.session.clone(), other], &f.organization, &f.roles));
    assert_required("GetResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("GetResponse", &json, sdk_required::GET_RESPONSE);
    let sessions = json["member_sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let validator = member_session_validator();
    for session in sessions {
        assert_member_session_required(session);
        validator.check(session).unwrap();
    }
    assert_sdk_parses("sessions.GetResponse", &json);

    let empty = enveloped(GetSessionsResponse::new(&[], &f.organization, &f.roles));
    assert_eq!(empty["member_sessions"], json!([]));
    assert_sdk_parses("sessions.GetResponse", &empty);
}

#[test]
fn revoke_response_is_the_bare_envelope() {
    let json = enveloped(RevokeResponse {});
    assert_required("RevokeResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("RevokeResponse", &json, sdk_required::REVOKE_RESPONSE);
    assert_eq!(json, json!({"request_id": "request-id-test-1", "status_code": 200}));
    assert_sdk_parses("sessions.RevokeResponse", &json);
}

#[test]
fn exchange_response_has_every_required_field_and_no_intermediate_session() {
    let f = fixture();
    let json = enveloped(ExchangeResponse::new(&f.authenticated(), &f.roles, TOKEN, JWT));
    assert_required("ExchangeResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("ExchangeResponse", &json, sdk_required::EXCHANGE_RESPONSE);
    assert_member_session_required(&json["member_session"]);
    assert_member_required(&json["member"]);
    assert_required("Organization", &json["organization"], sdk_required::ORGANIZATION);
    assert_eq!(json["member_authenticated"], true);
    assert_eq!(json["intermediate_session_token"], "");
    assert_eq!(json["mfa_required"], Value::Null);
    assert_eq!(json["primary_required"], Value::Null);
    assert!(json.as_object().unwrap().contains_key("mfa_required"));
    assert!(json.as_object().unwrap().contains_key("primary_required"));
    assert_sdk_parses("sessions.ExchangeResponse", &json);
}

#[test]
fn organization_responses_have_every_required_field() {
    let f = fixture();
    let json = enveloped(OrganizationResponse::new(&f.organization));
    assert_required("organizations.CreateResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("organizations.CreateResponse", &json, sdk_required::ORGANIZATION_RESPONSE);
    assert_required("Organization", &json["organization"], sdk_required::ORGANIZATION);
    for model in [
        "organizations.CreateResponse",
        "organizations.GetResponse",
        "organizations.UpdateResponse",
    ] {
        assert_sdk_parses(model, &json);
    }

    let json = enveloped(DeleteOrganizationResponse { organization_id: f.organization.id });
    assert_required("organizations.DeleteResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required(
        "organizations.DeleteResponse",
        &json,
        sdk_required::ORGANIZATION_DELETE_RESPONSE,
    );
    assert_sdk_parses("organizations.DeleteResponse", &json);
}

#[test]
fn member_responses_have_every_required_field() {
    let f = fixture();
    let json = enveloped(MemberResponse::new(&f.member, &f.roles, &f.organization));
    assert_required("organizations_members.CreateResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("organizations_members.CreateResponse", &json, sdk_required::MEMBER_RESPONSE);
    assert_member_required(&json["member"]);
    assert_required("Organization", &json["organization"], sdk_required::ORGANIZATION);
    for model in [
        "organizations_members.CreateResponse",
        "organizations_members.GetResponse",
        "organizations_members.UpdateResponse",
    ] {
        assert_sdk_parses(model, &json);
    }

    let json = enveloped(DeleteMemberResponse { member_id: f.member.id });
    assert_required("organizations_members.DeleteResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required(
        "organizations_members.DeleteResponse",
        &json,
        sdk_required::MEMBER_DELETE_RESPONSE,
    );
    assert_sdk_parses("organizations_members.DeleteResponse", &json);
}

#[test]
fn policy_response_has_every_required_field() {
    let f = fixture();
    let json = enveloped(PolicyResponse::new(&f.policy));
    assert_required("PolicyResponse", &json, sdk_required::RESPONSE_BASE);
    let policy = &json["policy"];
    assert_required("Policy", policy, sdk_required::POLICY);
    assert_eq!(policy["scopes"], json!([]));
    for role in policy["roles"].as_array().unwrap() {
        assert_required("PolicyRole", role, sdk_required::POLICY_ROLE);
        for permission in role["permissions"].as_array().unwrap() {
            assert_required(
                "PolicyRolePermission",
                permission,
                sdk_required::POLICY_ROLE_PERMISSION,
            );
        }
    }
    for resource in policy["resources"].as_array().unwrap() {
        assert_required("PolicyResource", resource, sdk_required::POLICY_RESOURCE);
    }
    let role_ids: Vec<&str> = policy["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role_id"].as_str().unwrap())
        .collect();
    assert_eq!(role_ids, ["tessera_member", "tessera_admin", "editor"]);
    let editor = &policy["roles"][2];
    assert_eq!(editor["description"], "Edits documents");
    assert_eq!(editor["permissions"], json!([{"resource_id": "documents", "actions": ["*"]}]));
    assert!(
        policy["resources"].as_array().unwrap().iter().any(|r| r["resource_id"] == "tessera.self")
    );
    assert_sdk_parses("rbac.PolicyResponse", &json);
}

#[test]
fn jwks_response_has_every_required_field() {
    let json = enveloped(GetJwksResponse {
        keys: vec![
            Jwk::rsa("jwk-test-1", "RS256", "0vx7agoebGcQSuuPiLJXZpt", "AQAB"),
            Jwk::ed25519("jwk-test-2", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        ],
    });
    assert_required("GetJWKSResponse", &json, sdk_required::RESPONSE_BASE);
    assert_required("GetJWKSResponse", &json, sdk_required::GET_JWKS_RESPONSE);
    for key in json["keys"].as_array().unwrap() {
        assert_required("JWK", key, sdk_required::JWK);
    }
    assert_eq!(json["keys"][0]["use"], "sig");
    assert_eq!(json["keys"][0]["x5tS256"], "");
    assert_eq!(json["keys"][1]["crv"], "Ed25519");
    assert_sdk_parses("sessions.GetJWKSResponse", &json);
}

#[test]
fn error_body_has_the_stytch_fields() {
    let body = ErrorBody::new(
        "request-id-test-2",
        404,
        ErrorType::SessionNotFound,
        "Session could not be found.",
    );
    let json = to_json(&body);
    assert_required("StytchErrorDetails", &json, sdk_required::ERROR_DETAILS);
    assert_eq!(
        json,
        json!({
            "status_code": 404,
            "request_id": "request-id-test-2",
            "error_type": "session_not_found",
            "error_message": "Session could not be found.",
            "error_url": "https://tessera.invalid/docs/errors#session_not_found"
        })
    );
    for error_type in ErrorType::ALL {
        let body = ErrorBody::new("r", 400, *error_type, "m");
        assert_eq!(body.status_code, 400);
        assert_eq!(body.error_type, error_type.as_str());
        assert_eq!(body.error_url, error_url(error_type.as_str()));
    }
    let custom = ErrorBody::custom("r", 429, "too_many_requests", "Slow down.");
    assert_eq!(custom.error_url, "https://tessera.invalid/docs/errors#too_many_requests");
}

#[test]
fn envelope_puts_request_id_and_status_beside_the_body() {
    let f = fixture();
    let json = to_json(&Envelope::new(
        "request-id-test-3",
        201,
        OrganizationResponse::new(&f.organization),
    ));
    let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["request_id", "status_code", "organization"]));
    assert_eq!(json["status_code"], 201);
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

#[test]
fn member_lists_the_implicit_role_first_with_a_source() {
    let f = fixture();
    // Given without the implicit role, and with a duplicate: it is added first, once.
    let roles =
        [RoleId::parse("editor").unwrap(), RoleId::admin(), RoleId::parse("editor").unwrap()];
    let json = to_json(&Member::new(&f.member, &roles));
    assert_eq!(
        json["roles"],
        json!([
            {"role_id": "tessera_member", "sources": [{"type": "direct_assignment"}]},
            {"role_id": "editor", "sources": [{"type": "direct_assignment"}]},
            {"role_id": "tessera_admin", "sources": [{"type": "direct_assignment"}]}
        ])
    );
    assert_eq!(json["is_admin"], true);
    assert_eq!(json["status"], "active");
    assert_eq!(json["name"], "Ada Lovelace");
    assert_eq!(json["email_address"], "ada@acme.example");
    assert_eq!(json["external_id"], "crm-42");
    assert_eq!(json["trusted_metadata"], json!({"department": "R&D"}));
    assert_eq!(json["untrusted_metadata"], json!({"theme": "dark"}));

    let plain = to_json(&Member::new(&f.member, &[RoleId::member()]));
    assert_eq!(plain["is_admin"], false);
    assert_eq!(plain["roles"].as_array().unwrap().len(), 1);
}

#[test]
fn member_without_name_or_external_id_still_parses() {
    let mut f = fixture();
    f.member.name = None;
    f.member.external_id = None;
    let json = to_json(&Member::new(&f.member, &f.roles));
    assert_eq!(json["name"], "");
    assert_eq!(json["external_id"], Value::Null);
    assert_sdk_parses("organizations.Member", &json);
}

#[test]
fn organization_describes_what_tessera_does() {
    let mut f = fixture();
    let json = to_json(&Organization::new(&f.organization));
    assert_eq!(json["organization_id"], f.organization.id.to_string());
    assert_eq!(json["organization_name"], "Acme, Inc.");
    assert_eq!(json["organization_slug"], "acme-inc");
    assert_eq!(json["organization_external_id"], "crm-acme-1");
    assert_eq!(json["mfa_policy"], "OPTIONAL");
    assert_eq!(json["email_invites"], "NOT_ALLOWED");
    assert_eq!(json["auth_methods"], "ALL_ALLOWED");
    assert_eq!(json["custom_roles"], json!([]));
    assert_eq!(json["trusted_metadata"]["tags"], json!(["a"]));

    f.organization.settings.mfa_policy = tessera_core::MfaPolicy::RequiredForAll;
    f.organization.external_id = None;
    let json = to_json(&Organization::new(&f.organization));
    assert_eq!(json["mfa_policy"], "REQUIRED_FOR_ALL");
    assert_eq!(json["organization_external_id"], Value::Null);
    assert_sdk_parses("organizations.Organization", &json);
}

/// The SDK's enums (`stytch/consumer/models/sessions.py` `AuthenticationFactorType` and
/// `AuthenticationFactorDeliveryMethod`): a value outside them fails pydantic validation.
#[test]
fn every_factor_type_and_delivery_method_is_in_the_sdk_enums() {
    let factor_schema: Value = serde_json::from_str(FACTOR_SCHEMA).unwrap();
    let values = |key: &str| -> BTreeSet<String> {
        factor_schema["properties"][key]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let sdk_types = values("type");
    let sdk_methods = values("delivery_method");
    use DeliveryMethod as D;
    use FactorType as T;
    for t in [
        T::MagicLink,
        T::EmailOtp,
        T::Otp,
        T::Oauth,
        T::Sso,
        T::Password,
        T::Totp,
        T::RecoveryCodes,
        T::TrustedAuthToken,
        T::Impersonated,
        T::Imported,
        T::Webauthn,
    ] {
        let name = t.as_str();
        assert!(sdk_types.contains(name), "{name}");
        assert_eq!(to_json(&t), name, "the view's name agrees with the domain's");
    }
    for m in [
        D::Email,
        D::Sms,
        D::Whatsapp,
        D::OauthGoogle,
        D::OauthMicrosoft,
        D::OauthGithub,
        D::OauthHubspot,
        D::OauthSlack,
        D::OauthExchangeGoogle,
        D::OauthExchangeGithub,
        D::OauthExchangeHubspot,
        D::OauthExchangeSlack,
        D::OauthAccessTokenExchange,
        D::SsoSaml,
        D::SsoOidc,
        D::Knowledge,
        D::AuthenticatorApp,
        D::RecoveryCode,
        D::TrustedTokenExchange,
        D::Impersonation,
        D::ImportedAuth0,
        D::WebauthnRegistration,
    ] {
        let name = m.as_str();
        assert!(sdk_methods.contains(name), "{name}");
        assert_eq!(to_json(&m), name, "the view's name agrees with the domain's");
    }
}

#[test]
fn every_factor_detail_serializes_under_its_stytch_key() {
    use tessera_core::{
        AuthenticationFactor as DomainFactor, EmailAddress, FactorInput, factor as d,
    };
    let email = EmailAddress::parse("ada@acme.example").unwrap();
    let oauth = d::OauthFactor {
        id: "o".parse().unwrap(),
        provider_subject: "s".parse().unwrap(),
        email_id: None,
    };
    let exchange = d::OauthExchangeFactor { email_id: "e".parse().unwrap() };
    let sso = d::SsoFactor {
        id: "c".parse().unwrap(),
        provider_id: "p".parse().unwrap(),
        external_id: "x".parse().unwrap(),
    };
    let cases: Vec<(FactorType, DeliveryMethod, d::FactorDetail, &str)> = vec![
        (
            FactorType::EmailOtp,
            DeliveryMethod::Email,
            d::FactorDetail::EmailFactor(d::EmailFactor {
                email_id: "e".parse().unwrap(),
                email_address: email.clone(),
            }),
            "email_factor",
        ),
        (
            FactorType::Otp,
            DeliveryMethod::Sms,
            d::FactorDetail::PhoneNumberFactor(d::PhoneNumberFactor {
                phone_id: "p".parse().unwrap(),
                phone_number: "+12025550162".parse().unwrap(),
            }),
            "phone_number_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthGoogle,
            d::FactorDetail::GoogleOauthFactor(oauth.clone()),
            "google_oauth_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthMicrosoft,
            d::FactorDetail::MicrosoftOauthFactor(oauth.clone()),
            "microsoft_oauth_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthGithub,
            d::FactorDetail::GithubOauthFactor(oauth.clone()),
            "github_oauth_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthHubspot,
            d::FactorDetail::HubspotOauthFactor(oauth.clone()),
            "hubspot_oauth_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthSlack,
            d::FactorDetail::SlackOauthFactor(oauth),
            "slack_oauth_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthExchangeGoogle,
            d::FactorDetail::GoogleOauthExchangeFactor(exchange.clone()),
            "google_oauth_exchange_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthExchangeGithub,
            d::FactorDetail::GithubOauthExchangeFactor(exchange.clone()),
            "github_oauth_exchange_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthExchangeHubspot,
            d::FactorDetail::HubspotOauthExchangeFactor(exchange.clone()),
            "hubspot_oauth_exchange_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthExchangeSlack,
            d::FactorDetail::SlackOauthExchangeFactor(exchange),
            "slack_oauth_exchange_factor",
        ),
        (
            FactorType::Oauth,
            DeliveryMethod::OauthAccessTokenExchange,
            d::FactorDetail::OauthAccessTokenExchangeFactor(d::OauthAccessTokenExchangeFactor {
                client_id: "c".parse().unwrap(),
            }),
            "oauth_access_token_exchange_factor",
        ),
        (
            FactorType::Sso,
            DeliveryMethod::SsoSaml,
            d::FactorDetail::SamlSsoFactor(sso.clone()),
            "saml_sso_factor",
        ),
        (
            FactorType::Sso,
            DeliveryMethod::SsoOidc,
            d::FactorDetail::OidcSsoFactor(sso),
            "oidc_sso_factor",
        ),
        (
            FactorType::Totp,
            DeliveryMethod::AuthenticatorApp,
            d::FactorDetail::AuthenticatorAppFactor(d::AuthenticatorAppFactor {
                totp_id: "t".parse().unwrap(),
            }),
            "authenticator_app_factor",
        ),
        (
            FactorType::RecoveryCodes,
            DeliveryMethod::RecoveryCode,
            d::FactorDetail::RecoveryCodeFactor(d::RecoveryCodeFactor {
                totp_recovery_code_id: "r".parse().unwrap(),
            }),
            "recovery_code_factor",
        ),
        (
            FactorType::TrustedAuthToken,
            DeliveryMethod::TrustedTokenExchange,
            d::FactorDetail::TrustedAuthTokenFactor(d::TrustedAuthTokenFactor {
                token_id: "t".parse().unwrap(),
            }),
            "trusted_auth_token_factor",
        ),
        (
            FactorType::Impersonated,
            DeliveryMethod::Impersonation,
            d::FactorDetail::ImpersonatedFactor(d::ImpersonatedFactor {
                impersonator_id: "i".parse().unwrap(),
                impersonator_email_address: email,
            }),
            "impersonated_factor",
        ),
        (
            FactorType::Webauthn,
            DeliveryMethod::WebauthnRegistration,
            d::FactorDetail::WebauthnFactor(d::WebauthnFactor {
                webauthn_registration_id: "w".parse().unwrap(),
                domain: "acme.example".parse().unwrap(),
                user_agent: None,
            }),
            "webauthn_factor",
        ),
    ];
    let factor_validator = {
        let schema: Value = serde_json::from_str(FACTOR_SCHEMA).unwrap();
        let base = "https://tessera.invalid/fixtures/stytch_authentication_factor.schema.json";
        Validator::compile(schema, base, base)
    };
    let now = crate::views::test_support::now();
    for (factor_type, delivery_method, detail, key) in cases {
        let domain_json = to_json(&detail);
        let factor = DomainFactor::new(
            FactorInput {
                factor_type,
                delivery_method,
                last_authenticated_at: None,
                detail: Some(detail),
            },
            now,
        )
        .unwrap();
        let view = to_json(&AuthenticationFactor::new(&factor));
        let keys: BTreeSet<&str> = view.as_object().unwrap().keys().map(String::as_str).collect();
        let expected = BTreeSet::from([
            "type",
            "delivery_method",
            "created_at",
            "last_authenticated_at",
            "updated_at",
            key,
        ]);
        assert_eq!(keys, expected);
        assert_eq!(view[key], domain_json[key], "{key}");
        factor_validator.check(&view).unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

#[test]
fn factor_without_detail_has_no_detail_key() {
    let factor = tessera_core::AuthenticationFactor::new(
        tessera_core::FactorInput {
            factor_type: FactorType::Password,
            delivery_method: DeliveryMethod::Knowledge,
            last_authenticated_at: None,
            detail: None,
        },
        crate::views::test_support::now(),
    )
    .unwrap();
    let view = to_json(&AuthenticationFactor::new(&factor));
    assert_eq!(view.as_object().unwrap().len(), 5, "{view}");
    assert_eq!(view["type"], "password");
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/// Where `needle` occurs in `value`, as JSON pointers (in keys or in string values, whole or in
/// part).
fn occurrences(value: &Value, needle: &str, at: String, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains(needle) => found.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                occurrences(item, needle, format!("{at}/{i}"), found);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k.contains(needle) {
                    found.push(format!("{at}/{k} (key)"));
                }
                occurrences(v, needle, format!("{at}/{k}"), found);
            }
        }
        _ => {}
    }
}

fn where_found(value: &Value, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    occurrences(value, needle, String::new(), &mut found);
    found
}

#[test]
fn token_and_jwt_appear_only_in_their_own_fields() {
    let f = fixture();
    let a = f.authenticated();
    let with_secrets: Vec<(&str, Value, String)> = vec![
        (
            "AuthenticateResponse",
            enveloped(AuthenticateResponse::new(&a, &f.roles, TOKEN, JWT, None)),
            format!("{:?}", AuthenticateResponse::new(&a, &f.roles, TOKEN, JWT, None)),
        ),
        (
            "CreateSessionResponse",
            enveloped(CreateSessionResponse::new(&a, &f.roles, TOKEN, Some(JWT))),
            format!("{:?}", CreateSessionResponse::new(&a, &f.roles, TOKEN, Some(JWT))),
        ),
        (
            "ExchangeResponse",
            enveloped(ExchangeResponse::new(&a, &f.roles, TOKEN, JWT)),
            format!("{:?}", ExchangeResponse::new(&a, &f.roles, TOKEN, JWT)),
        ),
    ];
    for (name, json, debug) in with_secrets {
        assert_eq!(where_found(&json, TOKEN), ["/session_token"], "{name}");
        assert_eq!(where_found(&json, JWT), ["/session_jwt"], "{name}");
        assert!(!debug.contains(TOKEN) && !debug.contains(JWT), "{name} Debug leaks: {debug}");
        assert!(debug.contains("<redacted>"), "{name}");
    }

    let without: Vec<(&str, Value)> = vec![
        ("MemberSession", to_json(&MemberSession::new(&f.session, &f.organization, &f.roles))),
        ("Member", to_json(&Member::new(&f.member, &f.roles))),
        ("Organization", to_json(&Organization::new(&f.organization))),
        (
            "GetSessionsResponse",
            enveloped(GetSessionsResponse::new(
                std::slice::from_ref(&f.session),
                &f.organization,
                &f.roles,
            )),
        ),
        ("MemberResponse", enveloped(MemberResponse::new(&f.member, &f.roles, &f.organization))),
        ("OrganizationResponse", enveloped(OrganizationResponse::new(&f.organization))),
        ("PolicyResponse", enveloped(PolicyResponse::new(&f.policy))),
    ];
    for (name, json) in without {
        assert!(where_found(&json, TOKEN).is_empty(), "{name}");
        assert!(where_found(&json, JWT).is_empty(), "{name}");
    }
}

#[test]
fn secret_string_serializes_plainly_and_debugs_redacted() {
    let secret = SecretString::from(TOKEN);
    assert_eq!(to_json(&secret), json!(TOKEN));
    assert_eq!(format!("{secret:?}"), "SecretString(<redacted>)");
    assert_eq!(secret.expose(), TOKEN);
}

// ---------------------------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------------------------

/// Serialize, parse back into the view, serialize again: the same JSON.
fn assert_round_trips<T>(value: &T)
where
    T: Serialize + serde::de::DeserializeOwned,
{
    let first = to_json(value);
    let back: T =
        serde_json::from_value(first.clone()).unwrap_or_else(|e| panic!("{e}: {first:#}"));
    assert_eq!(to_json(&back), first);
}

#[test]
fn views_read_back() {
    let f = fixture();
    let a = f.authenticated();
    let verdict = tessera_core::Verdict { authorized: true, granting_roles: vec![RoleId::admin()] };
    assert_round_trips(&Envelope::ok(
        "r",
        AuthenticateResponse::new(&a, &f.roles, TOKEN, JWT, Some(&verdict)),
    ));
    assert_round_trips(&Envelope::ok(
        "r",
        CreateSessionResponse::new(&a, &f.roles, TOKEN, Some(JWT)),
    ));
    assert_round_trips(&Envelope::ok("r", ExchangeResponse::new(&a, &f.roles, TOKEN, JWT)));
    assert_round_trips(&Envelope::ok("r", RevokeResponse {}));
    assert_round_trips(&Envelope::ok("r", PolicyResponse::new(&f.policy)));
    assert_round_trips(&ErrorBody::new("r", 403, ErrorType::MfaRequired, "MFA required."));
}
