//! Session governance over HTTP: an organization's session limit (refuse, or revoke the least
//! recently used), the organization-wide revoke and the operator's deployment-wide revoke.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{cli::tessera, server::TestServer};

async fn authenticate(server: &TestServer, token: &str) -> StatusCode {
    server.post("/v1/b2b/sessions/authenticate", json!({"session_token": token})).await.status
}

fn token(session: &Value) -> String {
    session["session_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_organization_limits_its_members_sessions() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Acme", "organization_slug": "acme",
                   "max_sessions_per_member": 2, "session_limit_behavior": "refuse"}),
        )
        .await;
    created.expect(StatusCode::OK);
    let org = created.body["organization"]["organization_id"].as_str().unwrap().to_owned();
    let ada = server.member(&org, "ada@example.com").await;
    let ada = ada["member_id"].as_str().unwrap();
    let first = token(&server.session(&org, ada).await);
    let second = token(&server.session(&org, ada).await);

    // Refuse: the third sign-in is a 409, and nothing changed.
    let refused = server
        .post(
            "/v1/b2b/sessions",
            json!({"organization_id": org, "member_id": ada,
                   "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}]}),
        )
        .await;
    refused.expect_error(StatusCode::CONFLICT, "session_limit_reached");
    assert_eq!(authenticate(&server, &first).await, StatusCode::OK);
    assert_eq!(authenticate(&server, &second).await, StatusCode::OK);

    // Revoke the least recently used instead: `first`, since the authenticates above fall
    // within the touch interval and record no access, so both were last used at creation.
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{org}"),
            Some(json!({"session_limit_behavior": "revoke_least_recently_used"})),
        )
        .await
        .expect(StatusCode::OK);
    let third = token(&server.session(&org, ada).await);
    assert_eq!(authenticate(&server, &third).await, StatusCode::OK);
    assert_eq!(authenticate(&server, &first).await, StatusCode::NOT_FOUND);
    assert_eq!(authenticate(&server, &second).await, StatusCode::OK);

    // `0` removes the limit.
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{org}"),
            Some(json!({"max_sessions_per_member": 0})),
        )
        .await
        .expect(StatusCode::OK);
    for _ in 0..3 {
        server.session(&org, ada).await;
    }
    // Out of range is a typed 400.
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{org}"),
            Some(json!({"max_sessions_per_member": 1001})),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_session_limit");
}

#[tokio::test]
async fn an_organization_revokes_every_session_but_one() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let acme = acme["organization_id"].as_str().unwrap().to_owned();
    let other = server.organization("other").await;
    let other = other["organization_id"].as_str().unwrap().to_owned();
    let ada = server.member(&acme, "ada@example.com").await;
    let bob = server.member(&acme, "bob@example.com").await;
    let eve = server.member(&other, "eve@example.com").await;
    let admin = server.session(&acme, ada["member_id"].as_str().unwrap()).await;
    let ada_again = token(&server.session(&acme, ada["member_id"].as_str().unwrap()).await);
    let bobs = server.session(&acme, bob["member_id"].as_str().unwrap()).await;
    let eves = token(&server.session(&other, eve["member_id"].as_str().unwrap()).await);

    let revoked = server
        .post(
            "/v1/b2b/organizations/acme/sessions/revoke",
            json!({"except_member_session_id": admin["member_session"]["member_session_id"]}),
        )
        .await;
    revoked.expect(StatusCode::OK);
    assert_eq!(revoked.body["revoked_count"], 2, "{}", revoked.body);
    assert_eq!(authenticate(&server, &token(&admin)).await, StatusCode::OK);
    assert_eq!(authenticate(&server, &ada_again).await, StatusCode::NOT_FOUND);
    assert_eq!(authenticate(&server, &token(&bobs)).await, StatusCode::NOT_FOUND);
    // A revoked session's JWT is refused by remote authenticate too.
    let jwt = server
        .post("/v1/b2b/sessions/authenticate", json!({"session_jwt": bobs["session_jwt"]}))
        .await;
    jwt.expect_error(StatusCode::NOT_FOUND, "session_not_found");
    // The other organization is untouched.
    assert_eq!(authenticate(&server, &eves).await, StatusCode::OK);
    // Without an exception, the rest goes; an unknown organization is a 404.
    let rest =
        server.post(&format!("/v1/b2b/organizations/{acme}/sessions/revoke"), json!({})).await;
    assert_eq!(rest.body["revoked_count"], 1, "{}", rest.body);
    server
        .post("/v1/b2b/organizations/nobody/sessions/revoke", json!({}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "organization_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_revokes_every_session_of_the_deployment() {
    let server = TestServer::start().await;
    let mut tokens = Vec::new();
    for slug in ["one", "two"] {
        let org = server.organization(slug).await;
        let org = org["organization_id"].as_str().unwrap().to_owned();
        let member = server.member(&org, &format!("ada@{slug}.example")).await;
        tokens.push(token(&server.session(&org, member["member_id"].as_str().unwrap()).await));
    }
    let run = |args: &[&str]| tessera(&server.data_dir, args);
    // Without the confirmation nothing happens, and the error says how to confirm.
    let (ok, _, err) = run(&["sessions", "revoke-all"]);
    assert!(!ok);
    assert!(err.contains("--yes"), "{err}");
    for token in &tokens {
        assert_eq!(authenticate(&server, token).await, StatusCode::OK);
    }
    let (ok, out, err) = run(&["sessions", "revoke-all", "--yes"]);
    assert!(ok, "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["revoked"], 2, "{out}");
    for token in &tokens {
        assert_eq!(authenticate(&server, token).await, StatusCode::NOT_FOUND);
    }
}
