//! A receiver on an ephemeral 127.0.0.1 port. Each route answers one way and records what
//! reached it; `/ok` verifies the signature with the `standardwebhooks` crate.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, post},
};

/// What reached the receiver.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) route: &'static str,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Whether `standardwebhooks` accepted the signature (only checked on `/ok`).
    pub(crate) verified: bool,
}

#[derive(Clone)]
struct Shared {
    /// The `whsec_…` secret the receiver verifies with.
    secret: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Shared {
    fn record(&self, route: &'static str, headers: HeaderMap, body: Bytes, verified: bool) {
        self.received.lock().unwrap().push(Received { route, headers, body, verified });
    }
}

pub(crate) struct Receiver {
    pub(crate) port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// A receiver verifying with `secret` (as `WebhookSecret::expose` shows it).
    pub(crate) async fn start(secret: &str) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared { secret: secret.to_owned(), received: Arc::clone(&received) };
        let app = Router::new()
            .route("/ok", post(ok))
            .route("/gone", post(gone))
            .route("/busy", post(busy))
            .route("/redirect", post(redirect))
            .route("/target", any(target))
            .route("/slow", post(slow))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { port, received }
    }

    pub(crate) fn url(&self, route: &str) -> String {
        format!("http://127.0.0.1:{}{route}", self.port)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn ok(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verified =
        standardwebhooks::Webhook::new(&shared.secret).unwrap().verify(&body, &headers).is_ok();
    shared.record("/ok", headers, body, verified);
    if verified { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
}

async fn gone(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.record("/gone", headers, body, false);
    StatusCode::GONE
}

async fn busy(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    shared.record("/busy", headers, body, false);
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::RETRY_AFTER, "7")], "database\nis down")
        .into_response()
}

async fn redirect(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    shared.record("/redirect", headers, body, false);
    (StatusCode::FOUND, [(header::LOCATION, "/target")]).into_response()
}

async fn target(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.record("/target", headers, body, false);
    StatusCode::OK
}

async fn slow(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.record("/slow", headers, body, false);
    tokio::time::sleep(Duration::from_secs(5)).await;
    StatusCode::OK
}
