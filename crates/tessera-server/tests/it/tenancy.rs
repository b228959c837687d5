//! Tenant isolation through the HTTP API: organization A's requests never read or change
//! organization B's members or sessions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::server::TestServer;

#[tokio::test]
async fn organization_a_cannot_reach_organization_b() {
    let server = TestServer::start().await;
    let a = server.organization("alpha").await;
    let b = server.organization("beta").await;
    let (a_id, b_id) =
        (a["organization_id"].as_str().unwrap(), b["organization_id"].as_str().unwrap());
    let ada = server.member(a_id, "ada@alpha.example").await;
    let bob = server.member(b_id, "bob@beta.example").await;
    let bob_id = bob["member_id"].as_str().unwrap();
    let a_session = server.session(a_id, ada["member_id"].as_str().unwrap()).await;
    let b_session = server.session(b_id, bob_id).await;
    let b_token = b_session["session_token"].as_str().unwrap();
    let b_session_id = b_session["member_session"]["member_session_id"].as_str().unwrap();

    // Members of B through A: read, update, delete, list sessions, revoke all.
    server
        .get(&format!("/v1/b2b/organizations/{a_id}/member?member_id={bob_id}"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .get(&format!("/v1/b2b/organizations/{a_id}/member?email_address=bob@beta.example"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{a_id}/members/{bob_id}"),
            Some(json!({"name": "hijacked"})),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .call(Method::DELETE, &format!("/v1/b2b/organizations/{a_id}/members/{bob_id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .get(&format!("/v1/b2b/sessions?organization_id={a_id}&member_id={bob_id}"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .post("/v1/b2b/sessions/revoke", json!({"organization_id": a_id, "member_id": bob_id}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");
    server
        .post(
            "/v1/b2b/sessions/revoke",
            json!({"organization_id": a_id, "member_session_id": b_session_id}),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");
    // A session of B cannot be created through A.
    server
        .post("/v1/b2b/sessions", json!({"organization_id": a_id, "member_id": bob_id}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "member_not_found");

    // A's session asking about B: tenancy error, whatever its roles.
    server
        .post(
            "/v1/b2b/sessions/authenticate",
            json!({"session_token": a_session["session_token"],
                   "authorization_check": {"organization_id": b_id, "resource_id": "tessera.self", "action": "read"}}),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN, "session_authorization_tenancy_error");

    // B is intact.
    let bob_now =
        server.get(&format!("/v1/b2b/organizations/{b_id}/member?member_id={bob_id}")).await;
    bob_now.expect(StatusCode::OK);
    assert_ne!(bob_now.body["member"]["name"], "hijacked");
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": b_token}))
        .await
        .expect(StatusCode::OK);
}
