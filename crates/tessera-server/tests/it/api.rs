//! Every route's success path, and the life of a session over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::server::TestServer;

#[tokio::test]
async fn organizations_crud_by_id_and_slug() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Acme", "organization_slug": "acme", "mfa_policy": "OPTIONAL",
                   "trusted_metadata": {"tier": "gold"}, "idle_timeout_minutes": 30}),
        )
        .await;
    created.expect(StatusCode::OK);
    let id = created.body["organization"]["organization_id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status_code"], 200);
    assert_eq!(created.body["request_id"].as_str(), created.request_id_header.as_deref());
    assert_eq!(created.body["organization"]["organization_slug"], "acme");
    assert_eq!(created.body["organization"]["trusted_metadata"]["tier"], "gold");

    let by_slug = server.get("/v1/b2b/organizations/acme").await;
    by_slug.expect(StatusCode::OK);
    assert_eq!(by_slug.body["organization"]["organization_id"], id.as_str());

    let updated = server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{id}"),
            Some(json!({"organization_name": "Acme 2", "mfa_policy": "REQUIRED_FOR_ALL"})),
        )
        .await;
    updated.expect(StatusCode::OK);
    assert_eq!(updated.body["organization"]["organization_name"], "Acme 2");
    assert_eq!(updated.body["organization"]["mfa_policy"], "REQUIRED_FOR_ALL");

    let deleted = server.call(Method::DELETE, &format!("/v1/b2b/organizations/{id}"), None).await;
    deleted.expect(StatusCode::OK);
    assert_eq!(deleted.body["organization_id"], id.as_str());
    server
        .get("/v1/b2b/organizations/acme")
        .await
        .expect_error(StatusCode::NOT_FOUND, "organization_not_found");
}

#[tokio::test]
async fn members_crud() {
    let server = TestServer::start().await;
    let org = server.organization("acme").await;
    let org_id = org["organization_id"].as_str().unwrap();
    let created = server
        .post(
            &format!("/v1/b2b/organizations/{org_id}/members"),
            json!({"email_address": "ada@example.com", "name": "Ada", "external_id": "crm-1", "roles": ["tessera_admin"]}),
        )
        .await;
    created.expect(StatusCode::OK);
    let member_id = created.body["member_id"].as_str().unwrap().to_owned();
    let roles: Vec<_> = created.body["member"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role_id"].clone())
        .collect();
    assert_eq!(roles, vec![json!("tessera_member"), json!("tessera_admin")]);

    for query in [
        format!("member_id={member_id}"),
        "email_address=ADA@example.com".into(),
        "member_id=crm-1".into(),
    ] {
        let got = server.get(&format!("/v1/b2b/organizations/acme/member?{query}")).await;
        got.expect(StatusCode::OK);
        assert_eq!(got.body["member"]["member_id"], member_id.as_str(), "{query}");
    }

    let updated = server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{org_id}/members/{member_id}"),
            Some(json!({"name": "Ada L.", "roles": []})),
        )
        .await;
    updated.expect(StatusCode::OK);
    assert_eq!(updated.body["member"]["name"], "Ada L.");
    assert_eq!(updated.body["member"]["roles"].as_array().unwrap().len(), 1);

    let deleted = server
        .call(Method::DELETE, &format!("/v1/b2b/organizations/{org_id}/members/{member_id}"), None)
        .await;
    deleted.expect(StatusCode::OK);
    assert_eq!(deleted.body["member_id"], member_id.as_str());
    server
        .get(&format!("/v1/b2b/organizations/{org_id}/member?member_id={member_id}"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
}

#[tokio::test]
async fn the_life_of_a_session() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let globex = server.organization("globex").await;
    let acme_id = acme["organization_id"].as_str().unwrap();
    let ada = server.member(acme_id, "ada@example.com").await;
    let ada_id = ada["member_id"].as_str().unwrap();
    server.member(globex["organization_id"].as_str().unwrap(), "ada@example.com").await;

    let created = server.session_by_email(acme_id, ada_id, "ada@example.com").await;
    let token = created["session_token"].as_str().unwrap().to_owned();
    let jwt = created["session_jwt"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tsr_mst_"));
    assert_eq!(jwt.split('.').count(), 3);
    assert_eq!(created["member_session"]["organization_slug"], "acme");

    // Authenticate by token, with extension, claims and an authorization check.
    let auth = server
        .post(
            "/v1/b2b/sessions/authenticate",
            json!({
                "session_token": token,
                "session_duration_minutes": 120,
                "session_custom_claims": {"plan": "pro"},
                "authorization_check": {"organization_id": "acme", "resource_id": "tessera.self", "action": "read"}
            }),
        )
        .await;
    auth.expect(StatusCode::OK);
    assert_eq!(auth.body["session_token"], token.as_str());
    assert_eq!(auth.body["member_session"]["custom_claims"]["plan"], "pro");
    assert_eq!(auth.body["verdict"]["authorized"], true);
    assert_eq!(auth.body["verdict"]["granting_roles"], json!(["tessera_member"]));
    let fresh_jwt = auth.body["session_jwt"].as_str().unwrap().to_owned();

    // Authenticate by JWT.
    let by_jwt =
        server.post("/v1/b2b/sessions/authenticate", json!({"session_jwt": fresh_jwt})).await;
    by_jwt.expect(StatusCode::OK);
    assert_eq!(
        by_jwt.body["member_session"]["member_session_id"],
        created["member_session"]["member_session_id"]
    );

    // List.
    let listed =
        server.get(&format!("/v1/b2b/sessions?organization_id=acme&member_id={ada_id}")).await;
    listed.expect(StatusCode::OK);
    assert_eq!(listed.body["member_sessions"].as_array().unwrap().len(), 1);

    // Exchange into globex.
    let exchanged = server
        .post(
            "/v1/b2b/sessions/exchange",
            json!({"organization_id": "globex", "session_token": token}),
        )
        .await;
    exchanged.expect(StatusCode::OK);
    assert_eq!(exchanged.body["member_authenticated"], true);
    assert_eq!(exchanged.body["organization"]["organization_slug"], "globex");
    let globex_token = exchanged.body["session_token"].as_str().unwrap().to_owned();
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": token}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");

    // Revoke.
    server
        .post("/v1/b2b/sessions/revoke", json!({"session_token": globex_token}))
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": globex_token}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");
}

#[tokio::test]
async fn revoke_by_session_id_and_by_member() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let acme_id = acme["organization_id"].as_str().unwrap();
    let ada = server.member(acme_id, "ada@example.com").await;
    let ada_id = ada["member_id"].as_str().unwrap();
    let one = server.session(acme_id, ada_id).await;
    let two = server.session(acme_id, ada_id).await;

    let session_id = one["member_session"]["member_session_id"].as_str().unwrap();
    server
        .post("/v1/b2b/sessions/revoke", json!({"member_session_id": session_id}))
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/b2b/sessions/revoke", json!({"member_id": ada_id}))
        .await
        .expect(StatusCode::OK);
    for created in [one, two] {
        server
            .post(
                "/v1/b2b/sessions/authenticate",
                json!({"session_token": created["session_token"]}),
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "session_not_found");
    }
}

#[tokio::test]
async fn jwks_policy_and_meta_routes() {
    let server = TestServer::start().await;
    let jwks = server.get(&format!("/v1/b2b/sessions/jwks/{}", server.project_id)).await;
    jwks.expect(StatusCode::OK);
    let key = &jwks.body["keys"][0];
    for field in ["kty", "use", "key_ops", "alg", "kid", "n", "e"] {
        assert!(!key[field].is_null(), "{field} missing in {key}");
    }
    assert_eq!(key["alg"], "RS256");

    let policy = server.get("/v1/b2b/rbac/policy").await;
    policy.expect(StatusCode::OK);
    assert!(
        policy.body["policy"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["role_id"] == "tessera_admin")
    );

    let health = server.client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let openapi = server.client().get(server.url("/openapi.json")).send().await.unwrap();
    let doc: serde_json::Value = openapi.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let metrics = server.metrics().await;
    assert!(metrics.contains("tessera_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/v1/b2b/sessions/jwks/{project_id}\""), "{metrics}");

    // Every documented route is routed for its method (neither 404 route_not_found nor 405).
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = server.call(method.clone(), path, None).await;
            assert_ne!(answer.body["error_type"], "route_not_found", "{method} {path}");
            assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn polar_member_sessions_and_the_customer_portal() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let ada = server.member(acme["organization_id"].as_str().unwrap(), "ada+tag@example.com").await;
    let created = server
        .post(
            "/v1/member-sessions/",
            json!({"member_id": ada["member_id"], "return_url": "https://app.example.com/back"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    let mut fields: Vec<_> = created.body.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created_at",
            "customer",
            "customer_id",
            "expires_at",
            "id",
            "member",
            "member_id",
            "member_portal_url",
            "modified_at",
            "return_url",
            "token"
        ]
    );
    let token = created.body["token"].as_str().unwrap();
    assert!(
        created.body["member_portal_url"].as_str().unwrap().contains("ada%2Btag%40example.com")
    );

    let introspect = server
        .client()
        .get(server.url("/v1/customer-portal/customer-session/introspect"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(introspect.status(), StatusCode::OK);
    let body: serde_json::Value = introspect.json().await.unwrap();
    assert_eq!(body["return_url"], "https://app.example.com/back");

    let user = server
        .client()
        .get(server.url("/v1/customer-portal/customer-session/user"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = user.json().await.unwrap();
    assert_eq!(body["type"], "member");
    assert_eq!(body["email"], "ada+tag@example.com");

    // The project secret is not a member-session token.
    let refused = server
        .client()
        .get(server.url("/v1/customer-portal/customer-session/user"))
        .bearer_auth(&server.secret)
        .send()
        .await
        .unwrap();
    let refused = crate::server::Answer::from(refused).await;
    crate::polar::expect_polar_error(&refused, StatusCode::UNAUTHORIZED, "Unauthorized");
}

/// MFA over HTTP: a single-factor sign-in into a `REQUIRED_FOR_ALL` organization is answered as
/// an intermediate session (no JWT); `POST /v1/b2b/sessions/factors` completes it, rotating the
/// token; a later step-up ends every earlier token and JWT; tightening the policy makes the next
/// authenticate of a single-factor session `403 mfa_required`.
#[tokio::test]
async fn step_up_over_http_completes_mfa_and_rotates_the_token() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let acme_id = acme["organization_id"].as_str().unwrap().to_owned();
    let ada = server.member(&acme_id, "ada@example.com").await;
    let ada_id = ada["member_id"].as_str().unwrap().to_owned();

    // A full session first, in an organization that does not require MFA yet.
    let early = server.session(&acme_id, &ada_id).await;
    let early_token = early["session_token"].as_str().unwrap().to_owned();
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{acme_id}"),
            Some(json!({"mfa_policy": "REQUIRED_FOR_ALL"})),
        )
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": early_token}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "mfa_required");

    // A single-factor sign-in now is pending MFA.
    let pending = server.session(&acme_id, &ada_id).await;
    assert_eq!(pending["member_authenticated"], false);
    assert_eq!(pending["session_jwt"], "");
    assert_eq!(pending["session_token"], "");
    assert!(pending["mfa_required"].is_object());
    let intermediate = pending["intermediate_session_token"].as_str().unwrap().to_owned();
    assert!(intermediate.starts_with("tsr_mst_"));
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": intermediate}))
        .await
        .expect_error(StatusCode::FORBIDDEN, "mfa_required");

    // Both tokens, or neither, are argument errors.
    let totp = json!({"type": "totp", "delivery_method": "authenticator_app"});
    server
        .post("/v1/b2b/sessions/factors", json!({"authentication_factor": totp}))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "no_session_arguments");
    server
        .post(
            "/v1/b2b/sessions/factors",
            json!({"session_token": intermediate, "intermediate_session_token": intermediate, "authentication_factor": totp}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "too_many_session_arguments");

    let stepped = server
        .post(
            "/v1/b2b/sessions/factors",
            json!({"intermediate_session_token": intermediate, "authentication_factor": totp}),
        )
        .await;
    stepped.expect(StatusCode::OK);
    assert_eq!(stepped.body["member_authenticated"], true);
    assert_eq!(stepped.body["intermediate_session_token"], "");
    let token = stepped.body["session_token"].as_str().unwrap().to_owned();
    let jwt = stepped.body["session_jwt"].as_str().unwrap().to_owned();
    assert_ne!(token, intermediate, "the token is rotated");
    assert_eq!(
        stepped.body["member_session"]["authentication_factors"].as_array().unwrap().len(),
        2
    );
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": intermediate}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_jwt": jwt}))
        .await
        .expect(StatusCode::OK);

    // A further step-up ends the token and the JWT from before it.
    let again = server
        .post(
            "/v1/b2b/sessions/factors",
            json!({"session_token": token,
                   "authentication_factor": {"type": "password", "delivery_method": "knowledge"}}),
        )
        .await;
    again.expect(StatusCode::OK);
    for stale in [json!({"session_token": token}), json!({"session_jwt": jwt})] {
        server
            .post("/v1/b2b/sessions/authenticate", stale)
            .await
            .expect_error(StatusCode::NOT_FOUND, "session_not_found");
    }
    let fresh = again.body["session_token"].as_str().unwrap();
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": fresh}))
        .await
        .expect(StatusCode::OK);
}
