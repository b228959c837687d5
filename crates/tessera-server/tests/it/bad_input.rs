//! Bad input gets a 4xx with an `error_type`, never a 500 or a panic; bad credentials get 401.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::server::{Answer, TestServer};

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let server = TestServer::start().await;
    let url = server.url("/v1/b2b/rbac/policy");
    let missing = server.client().get(&url).send().await.unwrap();
    Answer::from(missing).await.expect_error(StatusCode::UNAUTHORIZED, "unauthorized_credentials");
    let wrong_secret = server
        .client()
        .get(&url)
        .basic_auth(&server.project_id, Some("nope"))
        .send()
        .await
        .unwrap();
    Answer::from(wrong_secret)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized_credentials");
    let wrong_project = server
        .client()
        .get(&url)
        .basic_auth("project-other", Some(&server.secret))
        .send()
        .await
        .unwrap();
    Answer::from(wrong_project)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized_credentials");
    let bearer = server.client().get(&url).bearer_auth(&server.secret).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_bodies_are_invalid_requests() {
    let server = TestServer::start().await;
    let url = server.url("/v1/b2b/organizations");
    let auth = |r: reqwest::RequestBuilder| r.basic_auth(&server.project_id, Some(&server.secret));

    let not_json = auth(server.client().post(&url))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    Answer::from(not_json).await.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let no_content_type = auth(server.client().post(&url)).body("{}").send().await.unwrap();
    Answer::from(no_content_type).await.expect_error(StatusCode::BAD_REQUEST, "invalid_request");

    let cases = [
        (json!({"organization_name": "A"}), "invalid_request"), // missing field
        (json!({"organization_name": 7, "organization_slug": "ok"}), "invalid_request"), // wrong type
        (
            json!({"organization_name": "A", "organization_slug": "a b"}),
            "invalid_organization_slug",
        ),
        (
            json!({"organization_name": "A", "organization_slug": "ok", "mfa_policy": "SOMETIMES"}),
            "invalid_organization_mfa_policy",
        ),
        (json!({"organization_name": "", "organization_slug": "ok"}), "invalid_organization_name"),
        (
            json!({"organization_name": "A", "organization_slug": "ok", "max_session_lifetime_minutes": 4}),
            "invalid_max_session_lifetime_minutes",
        ),
    ];
    for (body, error_type) in cases {
        server
            .post("/v1/b2b/organizations", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST, error_type);
    }
    // Nothing was half-written by the refusals.
    server
        .get("/v1/b2b/organizations/ok")
        .await
        .expect_error(StatusCode::NOT_FOUND, "organization_not_found");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    let huge = json!({"organization_name": "A", "organization_slug": "big", "trusted_metadata": {"x": "y".repeat(100_000)}});
    server
        .post("/v1/b2b/organizations", huge)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let server = TestServer::start().await;
    server.get("/v1/b2b/nothing-here").await.expect_error(StatusCode::NOT_FOUND, "route_not_found");
    server
        .call(Method::PATCH, "/v1/b2b/sessions/authenticate", None)
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn session_argument_errors() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let acme_id = acme["organization_id"].as_str().unwrap();
    let ada = server.member(acme_id, "ada@example.com").await;
    let session = server.session(acme_id, ada["member_id"].as_str().unwrap()).await;
    let token = session["session_token"].as_str().unwrap();

    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "no_session_arguments"),
        (
            json!({"session_token": token, "session_jwt": "a.b.c"}),
            StatusCode::BAD_REQUEST,
            "too_many_session_arguments",
        ),
        (
            json!({"session_token": "tsr_mst_bogus"}),
            StatusCode::UNAUTHORIZED,
            "invalid_session_token",
        ),
        (
            json!({"session_token": token, "session_duration_minutes": 527041}),
            StatusCode::BAD_REQUEST,
            "invalid_session_duration_minutes",
        ),
        (
            json!({"session_token": token, "session_custom_claims": {"iss": "me"}}),
            StatusCode::BAD_REQUEST,
            "reserved_claims_in_custom_claims",
        ),
        (
            json!({"session_token": token, "session_custom_claims": {"k": "x".repeat(5000)}}),
            StatusCode::BAD_REQUEST,
            "custom_claims_too_large",
        ),
        (
            json!({"session_token": token, "authorization_check": {"organization_id": "acme", "resource_id": "tessera.member", "action": "delete"}}),
            StatusCode::FORBIDDEN,
            "session_authorization_error",
        ),
        (json!({"session_jwt": "not-a-jwt"}), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (body, status, error_type) in cases {
        let answer = server.post("/v1/b2b/sessions/authenticate", body.clone()).await;
        if error_type == "invalid_request" {
            assert!(answer.status.is_client_error(), "{body}: {}", answer.body);
            assert!(answer.body["error_type"].is_string(), "{body}");
        } else {
            answer.expect_error(status, error_type);
        }
    }
    server
        .post("/v1/b2b/sessions/revoke", json!({}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "no_session_arguments");
    server
        .post(
            "/v1/b2b/sessions",
            json!({"organization_id": acme_id, "member_id": ada["member_id"], "authentication_factors": [{"type": "totp", "delivery_method": "email"}]}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_authentication_factor");
    server
        .post(
            "/v1/b2b/sessions",
            json!({"organization_id": acme_id, "member_id": ada["member_id"], "authentication_factors": [{"type": "telepathy", "delivery_method": "email"}]}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let acme_id = acme["organization_id"].as_str().unwrap();
    let ada = server.member(acme_id, "ada@example.com").await;
    let session = server.session(acme_id, ada["member_id"].as_str().unwrap()).await;
    let token = session["session_token"].as_str().unwrap();
    server
        .post("/v1/b2b/sessions/revoke", json!({"session_token": token}))
        .await
        .expect(StatusCode::OK);
    for body in [
        json!({"session_token": token}),
        json!({"session_token": format!("{token}x")}),
        json!({"session_token": token, "session_jwt": session["session_jwt"]}),
    ] {
        let answer = server.post("/v1/b2b/sessions/authenticate", body).await;
        let text = answer.body.to_string();
        assert!(!text.contains(&token[8..]), "{text}");
        assert!(!text.contains(&server.secret), "{text}");
    }
}
