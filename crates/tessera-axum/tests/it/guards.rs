//! Tenancy, permission, MFA, step-up and claims rejections, with their bodies.

use axum::http::StatusCode;
use chrono::TimeDelta;
use tessera_api::CreateSession;
use tessera_axum::{
    AuthConfig,
    test::{SignedIn, factor},
};
use tessera_core::MemberRef;

use crate::support::{get_, send, setup};

#[tokio::test]
async fn the_route_organization_is_checked_first_by_id_or_slug() {
    let (kit, _, app) = setup(AuthConfig::default());
    let ada = kit.signed_in("acme", "ada@acme.example").await;
    kit.organization("globex").await;
    let (name, value) = ada.bearer();

    for org in ["acme".to_owned(), ada.organization.id.to_string()] {
        let uri = format!("/orgs/{org}/documents");
        let answer = send(&app, get_(&uri).header(name.clone(), value.clone())).await;
        assert_eq!(answer.status, StatusCode::OK, "{org}: {:?}", answer.body);
    }
    for org in ["globex", "not a slug!"] {
        let uri = format!("/orgs/{}/documents", org.replace(' ', "%20"));
        let answer = send(&app, get_(&uri).header(name.clone(), value.clone())).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{org}");
        assert_eq!(answer.error_type(), "session_authorization_tenancy_error");
        assert_eq!(
            answer.headers["www-authenticate"],
            r#"Bearer realm="tessera", error="insufficient_scope""#
        );
    }
}

#[tokio::test]
async fn a_missing_permission_is_403_after_tenancy() {
    let (kit, _, app) = setup(AuthConfig::default());
    let acme = kit.organization("acme").await;
    let viewer = kit.member(&acme, "vic@acme.example", &["viewer"]).await;
    let vic = kit.sign_in(&viewer, &[]).await;
    kit.organization("globex").await;
    let (name, value) = vic.bearer();

    let answer = send(&app, get_("/orgs/acme/documents").header(name.clone(), value.clone())).await;
    assert_eq!(answer.status, StatusCode::OK, "viewers read");

    let post = axum::http::Request::post("/orgs/acme/documents");
    let answer = send(&app, post.header(name.clone(), value.clone())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "session_authorization_error");
    assert_eq!(answer.body["status_code"], 403);
    assert!(answer.body["error_message"].as_str().unwrap().contains("`write` on `documents`"));

    // Another organization: tenancy, not the permission, is what is refused.
    let post = axum::http::Request::post("/orgs/globex/documents");
    let answer = send(&app, post.header(name, value)).await;
    assert_eq!(answer.error_type(), "session_authorization_tenancy_error");
}

#[tokio::test]
async fn step_up_requires_mfa_then_a_recent_factor() {
    let (kit, _, app) = setup(AuthConfig::default());
    let acme = kit.organization("acme").await;
    let member = kit.member(&acme, "ada@acme.example", &["editor"]).await;

    let single = kit.sign_in(&member, &[]).await;
    let (name, value) = single.bearer();
    let answer = send(&app, get_("/orgs/acme/admin").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "mfa_required");

    let mfa = kit.sign_in(&member, &["totp"]).await;
    let (name, value) = mfa.bearer();
    let answer = send(&app, get_("/orgs/acme/admin").header(name.clone(), value.clone())).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);

    kit.advance(TimeDelta::seconds(301));
    let answer = send(&app, get_("/orgs/acme/admin").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "reauthentication_required");

    // Stepping up (a new factor, a rotated token) opens the route again.
    let stepped = kit
        .service()
        .add_factor(tessera_api::AddFactor::new(mfa.token.clone(), factor("totp")))
        .await
        .unwrap();
    let (name, value) = SignedIn::from_issued(&stepped).bearer();
    let answer = send(&app, get_("/orgs/acme/admin").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn typed_claims_deserialize_or_refuse() {
    let (kit, _, app) = setup(AuthConfig::default());
    let acme = kit.organization("acme").await;
    let member = kit.member(&acme, "ada@acme.example", &[]).await;
    let mut request =
        CreateSession::new(acme.id.into(), MemberRef::Id(member.id)).with_factor(factor("email"));
    request.custom_claims = Some(serde_json::json!({"plan": "pro"}));
    let with_plan = SignedIn::from_issued(&kit.service().create_session(request).await.unwrap());
    let (name, value) = with_plan.bearer();
    let answer = send(&app, get_("/plan").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "pro");

    let without = kit.sign_in(&member, &[]).await;
    let (name, value) = without.bearer();
    let answer = send(&app, get_("/plan").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "invalid_custom_claims");
}

#[tokio::test]
async fn a_session_pending_mfa_is_403_mfa_required_and_keeps_its_cookies() {
    let (kit, _, app) = setup(AuthConfig::default());
    let mut request = tessera_api::CreateOrganization::new(
        tessera_core::OrganizationName::parse("Strict").unwrap(),
        tessera_core::OrganizationSlug::parse("strict").unwrap(),
    );
    request.settings.mfa_policy = tessera_core::MfaPolicy::RequiredForAll;
    let strict = kit.service().create_organization(request).await.unwrap();
    let member = kit.member(&strict, "ada@strict.example", &["editor"]).await;
    let pending = kit.sign_in(&member, &[]).await;
    assert!(pending.jwt.is_none(), "a session pending MFA has no JWT");

    let (name, value) = pending.bearer_token();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "mfa_required");

    let (name, value) = pending.cookies();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.error_type(), "mfa_required");
    assert!(answer.set_cookies().is_empty(), "the token still serves to step up");
}
