//! A router exercising every extractor, and a counting authenticator around the service.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use axum::{
    Json, Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tessera_api::{Credential, LocalSession, LocalVerification, SessionService};
use tessera_axum::{
    AuthConfig, Authenticated, Authenticator, AuthenticatorError, Claims, CurrentSession, Require,
    Requirement, TesseraAuth, test::TestKit,
};
use tessera_core::{AuthorizationCheck, Verdict, rbac::Subject};
use tower::ServiceExt;

/// Counts the calls the layer makes.
#[derive(Debug, Clone)]
pub(crate) struct Counting {
    pub(crate) service: SessionService,
    pub(crate) local: Arc<AtomicUsize>,
    pub(crate) remote: Arc<AtomicUsize>,
}

impl Counting {
    pub(crate) fn new(service: SessionService) -> Self {
        Self { service, local: Arc::default(), remote: Arc::default() }
    }

    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.local.load(Ordering::SeqCst), self.remote.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl Authenticator for Counting {
    async fn verify_jwt_locally(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> Result<LocalSession, AuthenticatorError> {
        self.local.fetch_add(1, Ordering::SeqCst);
        self.service.verify_jwt_locally(jwt, options).await
    }

    async fn authenticate(
        &self,
        credential: Credential,
        with_jwt: bool,
    ) -> Result<Authenticated, AuthenticatorError> {
        self.remote.fetch_add(1, Ordering::SeqCst);
        Authenticator::authenticate(&self.service, credential, with_jwt).await
    }

    async fn authorize(
        &self,
        subject: &Subject<'_>,
        check: &AuthorizationCheck,
    ) -> Result<Verdict, AuthenticatorError> {
        Authenticator::authorize(&self.service, subject, check).await
    }

    fn now(&self) -> DateTime<Utc> {
        Authenticator::now(&self.service)
    }
}

pub(crate) struct ReadDocuments;
impl Requirement for ReadDocuments {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "read"));
}

pub(crate) struct WriteDocuments;
impl Requirement for WriteDocuments {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "write"));
}

pub(crate) struct StepUp;
impl Requirement for StepUp {
    const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
    const REQUIRE_MFA: bool = true;
    const MAX_FACTOR_AGE_SECONDS: Option<i64> = Some(300);
}

#[derive(serde::Deserialize)]
pub(crate) struct Plan {
    plan: String,
}

fn describe(session: &CurrentSession) -> Value {
    json!({
        "member_id": session.member_id.to_string(),
        "organization": session.organization_slug.as_str(),
        "verification": format!("{:?}", session.verification),
        "source": format!("{:?}", session.source),
    })
}

/// The test router over `auth`, with the layer.
pub(crate) fn router(auth: TesseraAuth) -> Router {
    Router::new()
        .route("/public", get(|| async { "public" }))
        .route(
            "/me",
            get(|s: CurrentSession| async move { Json(describe(&s)) })
                .post(|s: CurrentSession| async move { Json(describe(&s)) }),
        )
        .route(
            "/twice",
            get(|a: CurrentSession, b: Option<CurrentSession>| async move {
                Json(json!([describe(&a), b.map(|b| describe(&b))]))
            }),
        )
        .route(
            "/maybe",
            get(|s: Option<CurrentSession>| async move {
                Json(s.map(|s| describe(&s)).unwrap_or(json!("anonymous")))
            }),
        )
        .route(
            "/orgs/{org}/documents",
            get(|Require(s, ..): Require<ReadDocuments>| async move { Json(describe(&s)) })
                .post(|Require(s, ..): Require<WriteDocuments>| async move { Json(describe(&s)) }),
        )
        .route(
            "/orgs/{org}/admin",
            get(|Require(s, ..): Require<StepUp>| async move { Json(describe(&s)) }),
        )
        .route("/plan", get(|Claims(plan, _): Claims<Plan>| async move { plan.plan }))
        .layer(auth.layer())
        .with_state(auth)
}

/// A kit, a counting authenticator over its service, and the router.
pub(crate) fn setup(config: AuthConfig) -> (TestKit, Counting, Router) {
    let kit = TestKit::new();
    let counting = Counting::new(kit.service().clone());
    let app = router(TesseraAuth::with_config(counting.clone(), config));
    (kit, counting, app)
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn error_type(&self) -> &str {
        self.body["error_type"].as_str().unwrap_or_default()
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

pub(crate) async fn send(app: &Router, request: axum::http::request::Builder) -> Answer {
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer { status, headers, body }
}

pub(crate) fn get_(uri: &str) -> axum::http::request::Builder {
    Request::get(uri)
}
