//! The tessera-axum layer over the remote client: the same extractors and guards, with a
//! `tessera serve` in another process as the authority.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    routing::get,
};
use tessera_axum::{AuthConfig, CurrentSession, Require, Requirement, TesseraAuth, Verification};
use tessera_client::RevokeRequest;
use tower::ServiceExt as _;

use crate::server::{Serve, sign_in};

struct ReadOrganization;
impl Requirement for ReadOrganization {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const PERMISSION: Option<(&'static str, &'static str)> = Some(("tessera.organization", "read"));
}

async fn me(session: CurrentSession) -> String {
    let how = match session.verification {
        Verification::LocalJwt => "local",
        Verification::RemoteJwt => "remote-jwt",
        Verification::Token => "token",
        _ => "other",
    };
    format!("{} {} {how}", session.member_id, session.organization_slug)
}

async fn org(Require(session, ..): Require<ReadOrganization>) -> String {
    session.organization_slug.to_string()
}

fn app(auth: TesseraAuth) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/orgs/{org}", get(org))
        .layer(auth.layer())
        .with_state(auth)
}

async fn call(app: &Router, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(bearer) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_protects_routes_with_a_remote_tessera() {
    let server = Serve::start(&[]);
    let (_, member_id) = server.organization_with_member("acme").await;
    server.organization_with_member("globex").await;
    let client = server.client();
    let (token, jwt) = sign_in(&client, "acme").await;
    let app = app(TesseraAuth::new(client.clone()));

    // JWT: verified locally against the cached JWKS.
    let (status, body) = call(&app, "/me", Some(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("{member_id} acme local"));
    // Token: authenticated remotely.
    let (status, body) = call(&app, "/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with(" acme token"), "{body}");
    // No credential, a bad one: 401 with Stytch's body.
    let (status, _) = call(&app, "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, "/me", Some("tsr_mst_nope")).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.contains("error_type"), "{body}");

    // The permission guard, with the RBAC policy fetched from the server; tenancy first.
    let (status, body) = call(&app, "/orgs/acme", Some(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&app, "/orgs/globex", Some(&jwt)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("session_authorization_tenancy_error"), "{body}");

    // Always remote (max_token_age 0): a revoke counts at once, for the JWT too.
    let remote = app_with(
        client.clone(),
        AuthConfig { max_token_age: Some(chrono::TimeDelta::zero()), ..AuthConfig::default() },
    );
    let (status, body) = call(&remote, "/me", Some(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.ends_with(" acme remote-jwt"), "{body}");
    client.revoke(RevokeRequest::Token(token.clone())).await.unwrap();
    let (status, body) = call(&remote, "/me", Some(&jwt)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("session_not_found"), "{body}");
    let (status, _) = call(&app, "/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The local path cannot know of another process's revoke until the JWT expires.
    let (status, _) = call(&app, "/me", Some(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "documented: local JWTs live until their exp");
}

fn app_with(client: tessera_client::TesseraClient, config: AuthConfig) -> Router {
    app(TesseraAuth::with_config(client, config))
}
