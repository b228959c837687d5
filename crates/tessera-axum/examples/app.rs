//! An axum service protected by Tessera, in process, on SQLite.
//!
//! ```text
//! cargo run -p tessera-axum --example app          # listens on 127.0.0.1:3000
//! curl -i -c jar -X POST localhost:3000/login \
//!      -H 'content-type: application/json' \
//!      -d '{"organization":"acme","email":"ada@acme.example","password":"correct horse"}'
//! curl -b jar localhost:3000/orgs/acme/documents
//! curl -b jar localhost:3000/orgs/acme/billing                   # 403 mfa_required
//! curl -b jar -c jar -X POST localhost:3000/orgs/acme/step-up -H 'content-type: application/json' -d '{"code":"123456"}'
//! curl -b jar localhost:3000/orgs/acme/billing                   # 200
//! curl -b jar -c jar -X POST localhost:3000/logout
//! ```
//!
//! Members (created at start): `ada@acme.example` (editor), `vic@acme.example` (viewer); the
//! demo "verifies" the password `correct horse` and the one-time code `123456`. A real service
//! verifies them with its own identity provider, then asks Tessera for the session.

use axum::{
    Json, Router,
    extract::{FromRef, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;
use tessera_api::{
    AddFactor, CreateMember, CreateOrganization, CreateSession, IssuedSession, Revoke,
    ServiceConfig, SessionService,
};
use tessera_axum::{CurrentSession, Require, Requirement, TesseraAuth, test::factor};
use tessera_core::{
    EmailAddress, MemberRef, OrganizationName, OrganizationRef, OrganizationSlug, Policy, RoleId,
};

/// `documents:read` in the organization of the path.
struct ReadDocuments;
impl Requirement for ReadDocuments {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "read"));
}

/// `documents:write` in the organization of the path.
struct WriteDocuments;
impl Requirement for WriteDocuments {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "write"));
}

/// Billing: a multi-factor session with a factor proved in the last 5 minutes (step-up).
struct Billing;
impl Requirement for Billing {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const REQUIRE_MFA: bool = true;
    const MAX_FACTOR_AGE_SECONDS: Option<i64> = Some(300);
}

/// The example's RBAC policy.
pub fn policy() -> Policy {
    let json = json!({
        "resources": [{"resource_id": "documents", "actions": ["read", "write"]}],
        "roles": [
            {"role_id": "editor", "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}]},
            {"role_id": "viewer", "permissions": [{"resource_id": "documents", "actions": ["read"]}]}
        ]
    });
    Policy::from_json(&json.to_string()).expect("the example's policy")
}

/// The organization `acme` with its two members, unless they exist already.
pub async fn seed(service: &SessionService) -> Result<(), tessera_api::ServiceError> {
    let acme = OrganizationSlug::parse("acme")?;
    let found = service.get_organization(&OrganizationRef::Slug(acme.clone())).await;
    if found.is_ok() {
        return Ok(());
    }
    let organization = service
        .create_organization(CreateOrganization::new(OrganizationName::parse("Acme")?, acme))
        .await?;
    for (email, role) in [("ada@acme.example", "editor"), ("vic@acme.example", "viewer")] {
        let mut member = CreateMember::new(EmailAddress::parse(email)?);
        member.roles = vec![RoleId::parse(role)?];
        service.create_member(&organization.id.into(), member).await?;
    }
    Ok(())
}

/// The application's state: Tessera's pieces are found in it through `FromRef`.
#[derive(Clone, FromRef)]
struct AppState {
    auth: TesseraAuth,
    service: SessionService,
}

/// The service's router.
pub fn app(service: SessionService) -> Router {
    let auth = TesseraAuth::new(service.clone());
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/orgs/{org}/documents", get(list_documents).post(write_document))
        .route("/orgs/{org}/billing", get(billing))
        .route("/orgs/{org}/step-up", post(step_up))
        .layer(auth.layer())
        .with_state(AppState { auth, service })
}

#[derive(Deserialize)]
struct Login {
    organization: String,
    email: String,
    password: String,
}

/// Verifies the member (here: a fixed password), then creates the session and sets the cookies.
async fn login(
    State(auth): State<TesseraAuth>,
    State(service): State<SessionService>,
    Json(login): Json<Login>,
) -> Response {
    if login.password != "correct horse" {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "wrong password"})))
            .into_response();
    }
    let (Ok(organization), Ok(email)) =
        (OrganizationRef::parse(&login.organization), EmailAddress::parse(&login.email))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let request =
        CreateSession::new(organization, MemberRef::Email(email)).with_factor(factor("password"));
    match service.create_session(request).await {
        Ok(issued) => with_session_cookies(&auth, &service, &issued),
        Err(error) => (StatusCode::UNAUTHORIZED, error.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct StepUp {
    code: String,
}

/// Adds a second factor (here: a fixed one-time code) to the cookie session; the token rotates,
/// so both cookies are rewritten.
async fn step_up(
    State(auth): State<TesseraAuth>,
    State(service): State<SessionService>,
    Require(_session, ..): Require<ReadDocuments>,
    headers: HeaderMap,
    Json(step_up): Json<StepUp>,
) -> Response {
    if step_up.code != "123456" {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "wrong code"}))).into_response();
    }
    let Some(token) = cookie(&headers, &auth.config().cookies.token_name) else {
        return (StatusCode::BAD_REQUEST, "step-up needs the session cookie").into_response();
    };
    match service.add_factor(AddFactor::new(token, factor("totp"))).await {
        Ok(issued) => with_session_cookies(&auth, &service, &issued),
        Err(error) => (StatusCode::FORBIDDEN, error.to_string()).into_response(),
    }
}

/// Ends the session and clears the cookies.
async fn logout(
    State(auth): State<TesseraAuth>,
    State(service): State<SessionService>,
    session: CurrentSession,
) -> Response {
    let revoke = Revoke::Session { organization: None, session_id: session.session_id };
    if let Err(error) = service.revoke(revoke).await {
        return (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    for value in auth.config().cookies.clearing_cookies() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn me(session: Option<CurrentSession>) -> Json<serde_json::Value> {
    Json(match session {
        Some(session) => {
            json!({"member_id": session.member_id, "organization": session.organization_slug.as_str()})
        }
        None => json!({"member_id": null}),
    })
}

async fn list_documents(
    Path(org): Path<String>,
    Require(session, ..): Require<ReadDocuments>,
) -> Json<serde_json::Value> {
    Json(json!({"organization": org, "documents": ["plan.md"], "reader": session.member_id}))
}

async fn write_document(Require(session, ..): Require<WriteDocuments>) -> Json<serde_json::Value> {
    Json(json!({"written_by": session.member_id}))
}

async fn billing(Require(session, ..): Require<Billing>) -> Json<serde_json::Value> {
    Json(json!({"billing_for": session.organization_slug.as_str()}))
}

fn with_session_cookies(
    auth: &TesseraAuth,
    service: &SessionService,
    issued: &IssuedSession,
) -> Response {
    let max_age = issued.session.session.times.expires_at - service.clock().now();
    let jwt = issued.jwt.as_ref().map(|jwt| jwt.expose());
    let mut response = Json(
        json!({"member_id": issued.session.member.id, "pending_mfa": issued.is_pending_mfa()}),
    )
    .into_response();
    for value in auth.config().cookies.session_cookies(issued.token.expose(), jwt, max_age) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("TESSERA_EXAMPLE_DB")
        .unwrap_or_else(|_| "tessera-example-data/tessera.db".into());
    let store = tessera_store::sqlite::SqliteStore::open(&path).await?.into_store();
    let service =
        SessionService::new(store, ServiceConfig::new("project-example")).with_policy(policy());
    seed(&service).await?;
    let address = std::env::var("ADDRESS").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    eprintln!("listening on http://{} (SQLite at {path})", listener.local_addr()?);
    axum::serve(listener, app(service)).await?;
    Ok(())
}
