//! The Polar routes: `POST /v1/customer-sessions/` (who the session is for, its errors, its
//! tenancy), Polar's error shapes on every Polar route (while Stytch's routes keep Stytch's), and
//! portal tokens that expire or are revoked.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_api::{ManualClock, SessionService};
use tessera_core::Policy;

use crate::server::{Answer, TestServer};

/// Asserts Polar's `{"error", "detail"}` body with this status and name, and a request id in the
/// header.
#[track_caller]
pub(crate) fn expect_polar_error(answer: &Answer, status: StatusCode, name: &str) {
    assert_eq!(answer.status, status, "body: {}", answer.body);
    assert_eq!(answer.body["error"], name, "body: {}", answer.body);
    assert!(answer.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", answer.body);
    assert_eq!(answer.body.as_object().unwrap().len(), 2, "only error and detail: {}", answer.body);
    assert!(answer.request_id_header.as_deref().is_some_and(|id| id.starts_with("request-id-")));
}

/// Asserts Polar's `422` `{"detail": [{"loc", "msg", "type"}]}` with one entry at `loc`.
#[track_caller]
fn expect_invalid(answer: &Answer, loc: &[&str], error_type: &str) {
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "body: {}", answer.body);
    let detail = answer.body["detail"].as_array().unwrap_or_else(|| panic!("{}", answer.body));
    assert_eq!(detail.len(), 1, "{}", answer.body);
    assert_eq!(detail[0]["loc"], json!(loc), "{}", answer.body);
    assert_eq!(detail[0]["type"], error_type, "{}", answer.body);
    assert!(detail[0]["msg"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.body);
    assert!(answer.request_id_header.is_some());
}

async fn member_with(server: &TestServer, organization_id: &str, body: Value) -> Value {
    let answer =
        server.post(&format!("/v1/b2b/organizations/{organization_id}/members"), body).await;
    answer.expect(StatusCode::OK);
    answer.body["member"].clone()
}

async fn organization_with_external_id(server: &TestServer, slug: &str) -> String {
    let answer = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": slug, "organization_slug": slug,
                   "organization_external_id": format!("crm-{slug}")}),
        )
        .await;
    answer.expect(StatusCode::OK);
    answer.body["organization"]["organization_id"].as_str().unwrap().to_owned()
}

async fn portal(server: &TestServer, path: &str, token: &str) -> Answer {
    let url = server.url(&format!("/v1/customer-portal/customer-session/{path}"));
    Answer::from(server.client().get(url).bearer_auth(token).send().await.unwrap()).await
}

/// The member a customer-session token opens the portal as.
async fn portal_member(server: &TestServer, token: &str) -> String {
    let user = portal(server, "user", token).await;
    user.expect(StatusCode::OK);
    user.body["member_id"].as_str().unwrap().to_owned()
}

/// The number of live sessions of a member.
async fn sessions_of(server: &TestServer, organization_id: &str, member_id: &str) -> usize {
    let answer = server
        .get(&format!("/v1/b2b/sessions?organization_id={organization_id}&member_id={member_id}"))
        .await;
    answer.expect(StatusCode::OK);
    answer.body["member_sessions"].as_array().unwrap().len()
}

#[tokio::test]
async fn customer_sessions_for_the_owner_a_named_member_or_by_external_ids() {
    let server = TestServer::start().await;
    let acme = organization_with_external_id(&server, "acme").await;
    let owner = member_with(
        &server,
        &acme,
        json!({"email_address": "olga@acme.example", "roles": ["tessera_admin"]}),
    )
    .await;
    let ada = member_with(
        &server,
        &acme,
        json!({"email_address": "ada+tag@acme.example", "external_id": "crm-ada"}),
    )
    .await;
    let (owner_id, ada_id) =
        (owner["member_id"].as_str().unwrap(), ada["member_id"].as_str().unwrap());

    // Without a member: the owner.
    let created = server
        .post(
            "/v1/customer-sessions/",
            json!({"customer_id": acme, "return_url": "https://app.example/back"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    let mut fields: Vec<&str> =
        created.body.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "customer",
            "customer_id",
            "customer_portal_url",
            "expires_at",
            "id",
            "modified_at",
            "return_url",
            "token"
        ]
    );
    assert_eq!(created.body["customer_id"], acme.as_str());
    assert_eq!(created.body["customer"]["external_id"], "crm-acme");
    assert_eq!(created.body["customer"]["type"], "team");
    assert_eq!(created.body["customer"]["organization_id"], server.project_id.as_str());
    let token = created.body["token"].as_str().unwrap();
    assert!(token.starts_with("tsr_mst_"));
    let url = created.body["customer_portal_url"].as_str().unwrap();
    assert!(url.contains(token) && url.contains("olga%40acme.example"), "{url}");
    assert_eq!(portal_member(&server, token).await, owner_id);
    let introspect = portal(&server, "introspect", token).await;
    introspect.expect(StatusCode::OK);
    assert_eq!(introspect.body["return_url"], "https://app.example/back");
    assert_eq!(introspect.body["expires_at"], created.body["expires_at"]);

    // A named member; by id, by external id, and with the organization's external id (and the
    // alias without the trailing slash).
    for (path, body) in [
        ("/v1/customer-sessions/", json!({"customer_id": acme, "member_id": ada_id})),
        ("/v1/customer-sessions/", json!({"customer_id": "acme", "external_member_id": "crm-ada"})),
        (
            "/v1/customer-sessions",
            json!({"external_customer_id": "crm-acme", "member_id": ada_id,
                   "external_member_id": "ignored: member_id wins"}),
        ),
        (
            "/v1/customer-sessions/",
            json!({"customer_external_id": "crm-acme", "member_id": ada_id}),
        ),
    ] {
        let created = server.post(path, body.clone()).await;
        created.expect(StatusCode::CREATED);
        let token = created.body["token"].as_str().unwrap();
        assert_eq!(portal_member(&server, token).await, ada_id, "{body}");
        assert_eq!(created.body["return_url"], Value::Null);
        let url = created.body["customer_portal_url"].as_str().unwrap();
        assert!(url.contains("ada%2Btag%40acme.example"), "{url}");
    }
    assert_eq!(sessions_of(&server, &acme, ada_id).await, 4);
    assert_eq!(sessions_of(&server, &acme, owner_id).await, 1);
}

#[tokio::test]
async fn customer_session_errors_are_polars_and_write_nothing() {
    let server = TestServer::start().await;
    let acme = organization_with_external_id(&server, "acme").await;
    let ada = member_with(&server, &acme, json!({"email_address": "ada@acme.example"})).await;
    let ada_id = ada["member_id"].as_str().unwrap();
    let unknown = "0190f5a3-5b6c-7d8e-9fab-0c1d2e3f4a5b";

    let cases = [
        (
            json!({"customer_id": unknown, "member_id": ada_id}),
            vec!["body", "customer_id"],
            "organization_not_found",
        ),
        (
            json!({"external_customer_id": "crm-nobody"}),
            vec!["body", "external_customer_id"],
            "organization_not_found",
        ),
        (
            json!({"customer_id": acme, "member_id": unknown}),
            vec!["body", "member_id"],
            "member_not_found",
        ),
        (
            json!({"customer_id": acme, "external_member_id": "crm-nobody"}),
            vec!["body", "external_member_id"],
            "member_not_found",
        ),
        (
            json!({"customer_id": acme, "member_id": "not-a-uuid"}),
            vec!["body", "member_id"],
            "invalid_member_id",
        ),
        (
            json!({"customer_id": "not a slug!"}),
            vec!["body", "customer_id"],
            "invalid_organization_slug",
        ),
        (
            json!({"customer_id": acme, "member_id": ada_id, "return_url": "javascript:alert(1)"}),
            vec!["body", "return_url"],
            "invalid_request",
        ),
        (
            json!({"customer_id": acme, "external_customer_id": "crm-acme"}),
            vec!["body"],
            "invalid_request",
        ),
        (json!({"member_id": ada_id}), vec!["body", "customer_id"], "invalid_request"),
        (json!({"customer_id": 7}), vec!["body"], "invalid_request"),
        // Ada is no owner (no `owner` role, no `tessera_admin`): there is none.
        (json!({"customer_id": acme}), vec!["body", "member_id"], "no_owner_member"),
    ];
    for (body, loc, error_type) in cases {
        let answer = server.post("/v1/customer-sessions/", body.clone()).await;
        expect_invalid(&answer, &loc, error_type);
    }
    let not_json = server
        .client()
        .post(server.url("/v1/customer-sessions/"))
        .basic_auth(&server.project_id, Some(&server.secret))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    expect_invalid(&Answer::from(not_json).await, &["body"], "invalid_request");
    let huge = json!({"customer_id": acme, "return_url": "x".repeat(100_000)});
    let answer = server.post("/v1/customer-sessions/", huge).await;
    expect_polar_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");

    // Two admins: no guess between them.
    for email in ["olga@acme.example", "otto@acme.example"] {
        member_with(&server, &acme, json!({"email_address": email, "roles": ["tessera_admin"]}))
            .await;
    }
    let answer = server.post("/v1/customer-sessions/", json!({"customer_id": acme})).await;
    expect_invalid(&answer, &["body", "member_id"], "ambiguous_owner_member");

    // A wrong method on a Polar path is Polar-shaped too.
    let answer = server.get("/v1/customer-sessions/").await;
    expect_polar_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
    let answer =
        server.call(Method::DELETE, "/v1/customer-portal/customer-session/user", None).await;
    expect_polar_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");

    // Credentials: missing or wrong is Polar's 401, on both create routes and their aliases.
    for path in ["/v1/customer-sessions/", "/v1/customer-sessions", "/v1/member-sessions/"] {
        let url = server.url(path);
        let missing = server.client().post(&url).json(&json!({})).send().await.unwrap();
        expect_polar_error(&Answer::from(missing).await, StatusCode::UNAUTHORIZED, "Unauthorized");
        let wrong = server.client().post(&url).bearer_auth("polar_oat_nope").json(&json!({}));
        let wrong = Answer::from(wrong.send().await.unwrap()).await;
        expect_polar_error(&wrong, StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // The project secret as a bearer token is what Polar's SDK sends: accepted.
    let bearer = server
        .client()
        .post(server.url("/v1/customer-sessions/"))
        .bearer_auth(&server.secret)
        .json(&json!({"customer_id": acme, "member_id": ada_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::CREATED);
    // Only that one request made a session.
    assert_eq!(sessions_of(&server, &acme, ada_id).await, 1);
}

#[tokio::test]
async fn member_session_errors_are_polars() {
    let server = TestServer::start().await;
    let acme = server.organization("acme").await;
    let ada = server.member(acme["organization_id"].as_str().unwrap(), "ada@x.example").await;
    let cases = [
        (
            json!({"member_id": "0190f5a3-5b6c-7d8e-9fab-0c1d2e3f4a5b"}),
            vec!["body", "member_id"],
            "member_not_found",
        ),
        (json!({"member_id": "nope"}), vec!["body", "member_id"], "invalid_member_id"),
        (json!({}), vec!["body"], "invalid_request"),
        (
            json!({"member_id": ada["member_id"], "return_url": "ftp://x"}),
            vec!["body", "return_url"],
            "invalid_request",
        ),
    ];
    for (body, loc, error_type) in cases {
        expect_invalid(&server.post("/v1/member-sessions/", body).await, &loc, error_type);
    }
}

#[tokio::test]
async fn a_customer_session_of_organization_a_never_names_a_member_of_b() {
    let server = TestServer::start().await;
    let alpha = organization_with_external_id(&server, "alpha").await;
    let beta = organization_with_external_id(&server, "beta").await;
    let ada = member_with(
        &server,
        &alpha,
        json!({"email_address": "ada@alpha.example", "roles": ["tessera_admin"]}),
    )
    .await;
    let bob = member_with(
        &server,
        &beta,
        json!({"email_address": "bob@beta.example", "external_id": "crm-bob",
               "roles": ["tessera_admin"]}),
    )
    .await;
    let bob_id = bob["member_id"].as_str().unwrap();

    for body in [
        json!({"customer_id": alpha, "member_id": bob_id}),
        json!({"customer_id": "alpha", "member_id": bob_id}),
        json!({"external_customer_id": "crm-alpha", "member_id": bob_id}),
    ] {
        let answer = server.post("/v1/customer-sessions/", body.clone()).await;
        expect_invalid(&answer, &["body", "member_id"], "member_not_found");
    }
    let answer = server
        .post(
            "/v1/customer-sessions/",
            json!({"customer_id": alpha, "external_member_id": "crm-bob"}),
        )
        .await;
    expect_invalid(&answer, &["body", "external_member_id"], "member_not_found");
    assert_eq!(sessions_of(&server, &beta, bob_id).await, 0, "nothing was created for Bob");

    // Alpha's owner is Alpha's, though Beta has one too; and each token opens only its own.
    let created = server.post("/v1/customer-sessions/", json!({"customer_id": alpha})).await;
    created.expect(StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap();
    assert_eq!(portal_member(&server, token).await, ada["member_id"].as_str().unwrap());
    let user = portal(&server, "user", token).await;
    assert_eq!(user.body["customer_id"], alpha.as_str());
    let created = server.post("/v1/customer-sessions/", json!({"customer_id": beta})).await;
    created.expect(StatusCode::CREATED);
    assert_eq!(portal_member(&server, created.body["token"].as_str().unwrap()).await, bob_id);
}

#[tokio::test]
async fn an_explicit_owner_role_designates_the_owner_among_admins() {
    let policy = Policy::from_json(
        &json!({"resources": [], "roles": [
            {"role_id": "owner", "description": "Polar's owner", "permissions": []},
            {"role_id": "billing_manager", "description": "Polar's billing manager", "permissions": []}
        ]})
        .to_string(),
    )
    .unwrap();
    let server = TestServer::start_with(|service| service.with_policy(policy)).await;
    let acme = organization_with_external_id(&server, "acme").await;
    for email in ["a1@acme.example", "a2@acme.example"] {
        member_with(&server, &acme, json!({"email_address": email, "roles": ["tessera_admin"]}))
            .await;
    }
    // An admin who is also billing manager shows as `billing_manager`, not owner.
    member_with(
        &server,
        &acme,
        json!({"email_address": "bm@acme.example", "roles": ["tessera_admin", "billing_manager"]}),
    )
    .await;
    let answer = server.post("/v1/customer-sessions/", json!({"customer_id": acme})).await;
    expect_invalid(&answer, &["body", "member_id"], "ambiguous_owner_member");

    let olga = member_with(
        &server,
        &acme,
        json!({"email_address": "olga@acme.example", "roles": ["owner"]}),
    )
    .await;
    let created = server.post("/v1/customer-sessions/", json!({"customer_id": acme})).await;
    created.expect(StatusCode::CREATED);
    let token = created.body["token"].as_str().unwrap();
    let user = portal(&server, "user", token).await;
    assert_eq!(user.body["member_id"], olga["member_id"]);
    assert_eq!(user.body["role"], "owner");

    // Two explicit owners are ambiguous again.
    member_with(&server, &acme, json!({"email_address": "oleg@acme.example", "roles": ["owner"]}))
        .await;
    let answer = server.post("/v1/customer-sessions/", json!({"customer_id": acme})).await;
    expect_invalid(&answer, &["body", "member_id"], "ambiguous_owner_member");
}

#[tokio::test]
async fn expired_revoked_and_unknown_portal_tokens_are_polars_401() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let server = {
        let clock = clock.clone();
        TestServer::start_with(move |service: SessionService| service.with_clock(clock)).await
    };
    let acme = organization_with_external_id(&server, "acme").await;
    let ada = member_with(&server, &acme, json!({"email_address": "ada@acme.example"})).await;
    let body = json!({"customer_id": acme, "member_id": ada["member_id"]});
    let expiring = server.post("/v1/customer-sessions/", body.clone()).await;
    let revoked = server.post("/v1/customer-sessions/", body).await;
    let (expiring, revoked) =
        (expiring.body["token"].as_str().unwrap(), revoked.body["token"].as_str().unwrap());
    for token in [expiring, revoked] {
        portal(&server, "introspect", token).await.expect(StatusCode::OK);
    }

    server
        .post("/v1/b2b/sessions/revoke", json!({"session_token": revoked}))
        .await
        .expect(StatusCode::OK);
    // Polar's lifetime: 60 minutes by default, no sliding extension.
    clock.advance(TimeDelta::minutes(59));
    portal(&server, "user", expiring).await.expect(StatusCode::OK);
    clock.advance(TimeDelta::minutes(2));
    let unknown = format!("{}x", &expiring[..expiring.len() - 1]);
    for token in [expiring, revoked, unknown.as_str(), "polar_mst_bogus", ""] {
        for path in ["introspect", "user"] {
            let answer = portal(&server, path, token).await;
            expect_polar_error(&answer, StatusCode::UNAUTHORIZED, "Unauthorized");
            assert!(!answer.body.to_string().contains(&expiring[8..]), "{}", answer.body);
        }
    }
    let no_header = server
        .client()
        .get(server.url("/v1/customer-portal/customer-session/user"))
        .send()
        .await
        .unwrap();
    expect_polar_error(&Answer::from(no_header).await, StatusCode::UNAUTHORIZED, "Unauthorized");

    // The same dead token on a Stytch route gets Stytch's body.
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": expiring}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");
    server
        .call(Method::GET, "/v1/b2b/organizations/nobody", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "organization_not_found");
}

/// Polar has no factors: in an organization that requires MFA, both create routes refuse (403,
/// Polar's `NotPermitted`, `mfa_required`) and write no session, rather than hand out a token
/// that could only ever step up.
#[tokio::test]
async fn polar_sessions_are_refused_in_organizations_that_require_mfa() {
    let server = TestServer::start().await;
    let acme = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Acme", "organization_slug": "acme",
                   "mfa_policy": "REQUIRED_FOR_ALL"}),
        )
        .await;
    acme.expect(StatusCode::OK);
    let acme = acme.body["organization"]["organization_id"].as_str().unwrap().to_owned();
    let ada = member_with(&server, &acme, json!({"email_address": "ada@acme.example"})).await;
    let ada_id = ada["member_id"].as_str().unwrap();

    let customer = server
        .post(
            "/v1/customer-sessions/",
            json!({"customer_id": acme, "member_id": ada_id, "return_url": "https://app.example/back"}),
        )
        .await;
    expect_polar_error(&customer, StatusCode::FORBIDDEN, "NotPermitted");
    let member = server.post("/v1/member-sessions/", json!({"member_id": ada_id})).await;
    expect_polar_error(&member, StatusCode::FORBIDDEN, "NotPermitted");
    assert_eq!(sessions_of(&server, &acme, ada_id).await, 0, "nothing was written");
}
