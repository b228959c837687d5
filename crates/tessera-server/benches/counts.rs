//! Instruction counts of the hot paths, for valgrind's callgrind: `cargo xtask counts` runs this
//! program under `valgrind --tool=callgrind` twice per case, once with no operations and once
//! with `--ops K`, and reports (difference) / K. Instruction counts do not move with the load of
//! the machine the way wall time does (10–30% here), so a small change can be judged by them.
//!
//! `counts CASE OPS [N]`, cases:
//! - `token`: `SessionToken::parse` + hash of one token.
//! - `memory`: `SessionService::authenticate` (token, no JWT) over the memory store with N live
//!   sessions (default 10^4), tokens taken in a fixed scattered order.
//! - `sqlite`: the same over a SQLite file.
//! - `postgres`: the same over PostgreSQL (a fresh database `tessera_counts` on the server of
//!   `TESSERA_BENCH_DATABASE_URL`, default the local one): the client's share only, the
//!   server's work happens in another process and is not counted.
//! - `create`, `create-without-events`: `SessionService::create_session` (one magic-link factor,
//!   EdDSA JWT) over a SQLite file, with the audit log on (the default) and off.
//! - `http`: `POST /v1/b2b/sessions/authenticate` through `tessera_server::http::router`
//!   (`oneshot`, memory store, N sessions, default 100): project credentials, body parse,
//!   authenticate, the session JWT (reused: every session is authenticated once before counting,
//!   both runs alike), the answer's body collected. No TCP, no access-log subscriber.
//!
//! The setup (seeding, warm-up) is the same in both runs, so it cancels out; EdDSA keys keep it
//! short under valgrind. Single-threaded runtime, so the count is one caller's work.

// A measuring harness: a failed expectation should stop it with its message.
#![allow(clippy::unwrap_used)]

use std::{hint::black_box, path::PathBuf};

use axum::{
    Router,
    body::Body,
    http::{
        Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use tessera_api::{
    Authenticate, CreateMember, CreateOrganization, CreateSession, Credential, JwtAlgorithm,
    ServiceConfig, SessionService,
};
use tessera_core::{
    DeliveryMethod, EmailAddress, FactorInput, FactorType, MemberId, MemberRef, OrganizationId,
    OrganizationName, OrganizationSlug, SessionId, SessionToken, TokenPrefix,
};
use tessera_server::{
    deployment::{self, Bootstrap},
    http::{AppState, router},
};
use tessera_store::{Store, memory::MemoryStore, postgres::PostgresStore, sqlite::SqliteStore};
use tower::ServiceExt;

const PATH: &str = "/v1/b2b/sessions/authenticate";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let usage =
        "usage: counts token|memory|sqlite|postgres|create|create-without-events|http OPS [N]";
    let case = args.first().expect(usage).clone();
    let ops: u64 = args.get(1).expect(usage).parse().expect(usage);
    let n: Option<usize> = args.get(2).map(|n| n.parse().expect(usage));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    match case.as_str() {
        "token" => token(ops),
        "memory" => rt.block_on(authenticate(MemoryStore::store(), n.unwrap_or(10_000), ops)),
        "sqlite" => {
            let dir = ScratchDir::new();
            let store = rt.block_on(SqliteStore::open_store(&dir.0.join("tessera.db"))).unwrap();
            rt.block_on(authenticate(store, n.unwrap_or(10_000), ops));
        }
        "postgres" => {
            let store = rt.block_on(fresh_postgres());
            rt.block_on(authenticate(store, n.unwrap_or(10_000), ops));
        }
        "create" | "create-without-events" => {
            let dir = ScratchDir::new();
            let store = rt.block_on(SqliteStore::open_store(&dir.0.join("tessera.db"))).unwrap();
            rt.block_on(create(store, case == "create", ops));
        }
        "http" => rt.block_on(http(n.unwrap_or(100), ops)),
        other => panic!("no case {other}; {usage}"),
    }
}

fn token(ops: u64) {
    let prefix = TokenPrefix::default();
    let token = SessionToken::generate(&prefix, &mut rand::rng());
    let raw = token.expose().to_owned();
    for _ in 0..ops {
        let parsed = SessionToken::parse(black_box(&raw), &prefix).unwrap();
        black_box(parsed.hash());
    }
}

/// A service with one organization, one member and `n` live sessions; the sessions' tokens.
async fn seeded(store: Store, n: usize) -> (SessionService, Vec<String>) {
    let mut config = ServiceConfig::new("project-counts");
    config.jwt.algorithm = JwtAlgorithm::EdDsa;
    let service = SessionService::new(store.clone(), config);
    let (service, tokens) = seed_into(service, &store, n).await;
    (service, tokens)
}

async fn seed_into(
    service: SessionService,
    store: &Store,
    n: usize,
) -> (SessionService, Vec<String>) {
    let organization = service
        .create_organization(CreateOrganization::new(
            OrganizationName::parse("Counts").unwrap(),
            OrganizationSlug::parse("counts").unwrap(),
        ))
        .await
        .unwrap();
    let (member, _) = service
        .create_member(
            &organization.id.into(),
            CreateMember::new(EmailAddress::parse("member@counts.example").unwrap()),
        )
        .await
        .unwrap();
    let first = service.create_session(sign_in(organization.id, member.id)).await.unwrap();
    let template = first.session.session.clone();
    let mut tokens = vec![first.token.expose().to_owned()];
    let mut rng = rand::rng();
    let prefix = TokenPrefix::default();
    while tokens.len() < n {
        // Copies of the first session under new ids and tokens: the store's own create,
        // without a JWT per session.
        let token = SessionToken::generate(&prefix, &mut rng);
        let mut session = template.clone();
        session.id = SessionId::generate(Utc::now(), &mut rng);
        store.sessions.create_session(&session, &token.hash(), &[]).await.unwrap();
        tokens.push(token.expose().to_owned());
    }
    (service, tokens)
}

async fn authenticate(store: Store, n: usize, ops: u64) {
    let (service, tokens) = seeded(store, n).await;
    for i in 0..ops {
        let token = &tokens[(i as usize * 7919) % tokens.len()];
        let request = Authenticate::new(Credential::Token(token.clone())).without_jwt();
        black_box(service.authenticate(request).await.unwrap());
    }
}

async fn create(store: Store, events: bool, ops: u64) {
    let mut config = ServiceConfig::new("project-counts");
    config.jwt.algorithm = JwtAlgorithm::EdDsa;
    config.events.enabled = events;
    let (service, _) = seed_into(SessionService::new(store.clone(), config), &store, 1).await;
    let organization = service.list_organizations(None, 1).await.unwrap().remove(0);
    let member = service.list_members(&organization.id.into(), None, 1).await.unwrap().0.remove(0);
    for _ in 0..ops {
        black_box(service.create_session(sign_in(organization.id, member.id)).await.unwrap());
    }
}

fn sign_in(organization: OrganizationId, member: MemberId) -> CreateSession {
    CreateSession::new(organization.into(), MemberRef::Id(member)).with_factor(FactorInput {
        factor_type: FactorType::MagicLink,
        delivery_method: DeliveryMethod::Email,
        last_authenticated_at: None,
        detail: None,
    })
}

async fn http(n: usize, ops: u64) {
    let store = MemoryStore::store();
    let Bootstrap::Created { credentials, secret } =
        deployment::bootstrap(&deployment::service_for_deployment(store.clone())).await.unwrap()
    else {
        panic!("a fresh store has no deployment yet");
    };
    let mut config = ServiceConfig::new(credentials.project_id.clone());
    config.jwt.algorithm = JwtAlgorithm::EdDsa;
    let service = SessionService::new(store.clone(), config);
    let (service, tokens) = seed_into(service, &store, n).await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", credentials.project_id, secret.expose()))
    );
    let app = router(AppState::new(service, credentials));
    let bodies: Vec<String> =
        tokens.iter().map(|t| serde_json::json!({ "session_token": t }).to_string()).collect();
    // Warm-up: every session's JWT is minted once, so the counted requests reuse it.
    let mut answer_bytes = 0;
    for body in &bodies {
        answer_bytes = post(&app, &basic, body).await;
    }
    eprintln!("counts: an authenticate answer is {answer_bytes} bytes");
    for i in 0..ops {
        post(&app, &basic, &bodies[i as usize % bodies.len()]).await;
    }
}

/// One authenticate through the router; the answer's length.
async fn post(app: &Router, basic: &str, body: &str) -> usize {
    let request = Request::post(PATH)
        .header(AUTHORIZATION, basic)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let answer = app.clone().oneshot(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(answer.into_body(), 1 << 20).await.unwrap();
    black_box(bytes).len()
}

/// A migrated store on a fresh database `tessera_counts`.
async fn fresh_postgres() -> Store {
    let url = tessera_bench::fresh_postgres_database("tessera_counts").await;
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.into_store()
}

/// A directory under the system's temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tessera-counts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
