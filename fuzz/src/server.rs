//! One real server per process: `tessera_server::http::router` over a memory store, with the
//! deployment's real credentials, called in-process with tower's `oneshot` (no socket). Built
//! once, on first use: building it creates the deployment and the RSA signing key (tens of
//! milliseconds), which must not happen per input.
//!
//! The harness also keeps a small live fixture (an organization, a member, a session with its
//! token and JWT) that inputs may refer to with placeholders, so that mutations reach the code
//! behind the lookups; it re-creates whatever an input deleted or revoked.

use std::sync::{Mutex, OnceLock, PoisonError};

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Method, Request, StatusCode, header},
};
use serde_json::{Value, json};
use tessera_api::{ServiceConfig, SessionService};
use tessera_server::{
    deployment::{self, Bootstrap},
    http::{self, AppState},
};
use tessera_store::memory::MemoryStore;
use tower::ServiceExt;

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    /// The `request-id` header, which every answer carries.
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{} answered a body that is not JSON ({e}): {:?}", self.status, self.text())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What inputs can name: `$ORG`, `$MEMBER`, `$TOKEN`, `$JWT` in a body are replaced by these.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub organization_id: String,
    pub member_id: String,
    pub email: String,
    pub token: String,
    pub jwt: String,
}

/// The process's server.
#[derive(Debug)]
pub struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
    authorization: String,
    service: SessionService,
    fixture: Mutex<Option<Fixture>>,
    calls: Mutex<u64>,
}

/// Organizations made by inputs are deleted every this many calls, so that a long run's memory
/// stays flat (the memory store keeps everything).
const RESET_EVERY: u64 = 4096;

impl Server {
    /// The server of this process (built on first call).
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(Server::build)
    }

    fn build() -> Server {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (router, authorization, service) = runtime.block_on(async {
            let store = MemoryStore::store();
            let Bootstrap::Created { credentials, secret } =
                deployment::bootstrap(&deployment::service_for_deployment(store.clone()))
                    .await
                    .unwrap()
            else {
                panic!("a fresh memory store has no deployment yet");
            };
            let service =
                SessionService::new(store, ServiceConfig::new(credentials.project_id.clone()));
            let router = http::router(AppState::new(service.clone(), credentials));
            (router, format!("Bearer {}", secret.expose()), service)
        });
        Server {
            runtime,
            router,
            authorization,
            service,
            fixture: Mutex::new(None),
            calls: Mutex::new(0),
        }
    }

    /// Sends one request with the project's credentials and reads the whole answer.
    pub fn call(&self, method: Method, path: &str, body: Vec<u8>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let request_id = response
                .headers()
                .get("request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
            Answer { status, request_id, body }
        })
    }

    /// Sends a JSON value and expects `200`.
    fn call_ok(&self, method: Method, path: &str, body: &Value) -> Value {
        let answer = self.call(method, path, serde_json::to_vec(body).unwrap());
        assert_eq!(answer.status, StatusCode::OK, "fixture call {path}: {}", answer.text());
        answer.json()
    }

    /// Local JWT verification (`authenticate_jwt_local`, default options): whether it accepts.
    pub fn verifies_locally(&self, jwt: &str) -> bool {
        self.runtime.block_on(self.service.authenticate_jwt_local(jwt, Default::default())).is_ok()
    }

    /// A new session of the fixture's member: `(token, jwt)`.
    pub fn new_session(&self, fixture: &Fixture) -> (String, String) {
        let created = self.call_ok(
            Method::POST,
            "/v1/b2b/sessions",
            &json!({
                "organization_id": fixture.organization_id,
                "member_id": fixture.member_id,
                "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}],
            }),
        );
        let token = created["session_token"].as_str().unwrap().to_owned();
        let jwt = created["session_jwt"].as_str().unwrap().to_owned();
        (token, jwt)
    }

    /// The live fixture, made or re-made as needed; every [`RESET_EVERY`] calls, the
    /// organizations inputs made are deleted first.
    pub fn fixture(&self) -> Fixture {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls += 1;
        let mut fixture = self.fixture.lock().unwrap_or_else(PoisonError::into_inner);
        if *calls % RESET_EVERY == 0 {
            self.delete_every_organization();
            *fixture = None;
        }
        if let Some(current) = fixture.as_ref() {
            if self.is_live(current) {
                return current.clone();
            }
            // An input deleted or changed the organization or member, or revoked the session.
            self.delete_every_organization();
        }
        let made = self.make_fixture();
        *fixture = Some(made.clone());
        made
    }

    fn is_live(&self, fixture: &Fixture) -> bool {
        let answer = self.call(
            Method::POST,
            "/v1/b2b/sessions/authenticate",
            serde_json::to_vec(&json!({"session_token": fixture.token})).unwrap(),
        );
        if answer.status != StatusCode::OK {
            return false;
        }
        // An input may have changed what later inputs rely on: the email, the MFA policy, the
        // lifetimes, the roles.
        let body = answer.json();
        body["member"]["email_address"] == fixture.email.as_str()
            && body["organization"]["mfa_policy"] != "REQUIRED_FOR_ALL"
    }

    fn make_fixture(&self) -> Fixture {
        let organization = self.call_ok(
            Method::POST,
            "/v1/b2b/organizations",
            &json!({"organization_name": "Acme", "organization_slug": "acme"}),
        );
        let organization_id =
            organization["organization"]["organization_id"].as_str().unwrap().to_owned();
        let email = "ada@example.com".to_owned();
        let member = self.call_ok(
            Method::POST,
            &format!("/v1/b2b/organizations/{organization_id}/members"),
            &json!({"email_address": email, "name": "Ada"}),
        );
        let member_id = member["member"]["member_id"].as_str().unwrap().to_owned();
        let mut fixture =
            Fixture { organization_id, member_id, email, token: String::new(), jwt: String::new() };
        let (token, jwt) = self.new_session(&fixture);
        fixture.token = token;
        fixture.jwt = jwt;
        fixture
    }

    fn delete_every_organization(&self) {
        self.runtime.block_on(async {
            loop {
                let batch = self.service.list_organizations(None, 500).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                for organization in batch {
                    self.service.delete_organization(&organization.id.into()).await.unwrap();
                }
            }
        });
    }
}

/// Replaces the placeholders a body may hold with the fixture's values.
pub fn fill_in(body: &[u8], fixture: &Fixture) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut rest = body;
    'outer: while !rest.is_empty() {
        for (name, value) in [
            (&b"$ORG"[..], fixture.organization_id.as_str()),
            (b"$MEMBER", fixture.member_id.as_str()),
            (b"$TOKEN", fixture.token.as_str()),
            (b"$JWT", fixture.jwt.as_str()),
        ] {
            if let Some(after) = rest.strip_prefix(name) {
                out.extend_from_slice(value.as_bytes());
                rest = after;
                continue 'outer;
            }
        }
        out.push(rest[0]);
        rest = &rest[1..];
    }
    out
}
