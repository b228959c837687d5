//! A running server and an HTTP client for it.

use std::{future::pending, net::SocketAddr};

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use tessera_server::{
    deployment::{self, Bootstrap},
    http::{self, AppState, ConnectionLimits},
};
use tessera_store::Store;

/// A server on 127.0.0.1:<ephemeral> over a fresh SQLite file, and its credentials.
pub(crate) struct TestServer {
    pub(crate) base: String,
    /// The metrics listener (`--metrics-listen`).
    metrics_base: String,
    /// The data directory (`tessera.db` inside), for operator commands run next to the server.
    pub(crate) data_dir: std::path::PathBuf,
    pub(crate) project_id: String,
    pub(crate) secret: String,
    client: Client,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_configured(|store| store, |service| service).await
    }

    /// A server whose service `configure` adjusts first (a policy, a manual clock...).
    pub(crate) async fn start_with(
        configure: impl FnOnce(tessera_api::SessionService) -> tessera_api::SessionService,
    ) -> Self {
        Self::start_configured(|store| store, configure).await
    }

    /// Like [`Self::start`], over what `wrap` makes of the fresh SQLite store (e.g. the store
    /// with a counting repository in it).
    pub(crate) async fn start_with_store(wrap: impl FnOnce(Store) -> Store) -> Self {
        Self::start_configured(wrap, |service| service).await
    }

    async fn start_configured(
        wrap: impl FnOnce(Store) -> Store,
        configure: impl FnOnce(tessera_api::SessionService) -> tessera_api::SessionService,
    ) -> Self {
        let dir = fresh_dir("tessera-server-it");
        let store = tessera_store::sqlite::SqliteStore::open(dir.join("tessera.db"))
            .await
            .unwrap()
            .into_store();
        let store = wrap(store);
        let Bootstrap::Created { credentials, secret } =
            deployment::bootstrap(&deployment::service_for_deployment(store.clone()))
                .await
                .unwrap()
        else {
            panic!("a fresh store has no deployment yet");
        };
        let service = configure(tessera_api::SessionService::new(
            store,
            tessera_api::ServiceConfig::new(credentials.project_id.clone()),
        ));
        let project_id = credentials.project_id.clone();
        let app = http::router(AppState::new(service, credentials));
        let (address, metrics_address) = (loopback().await, loopback().await);
        let limits = ConnectionLimits::default();
        tokio::spawn(http::serve(address.0, app, limits, pending()));
        tokio::spawn(http::serve(metrics_address.0, http::metrics_router(), limits, pending()));
        Self {
            base: format!("http://{}", address.1),
            metrics_base: format!("http://{}", metrics_address.1),
            data_dir: dir,
            project_id,
            secret: secret.expose().to_owned(),
            client: Client::new(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the project's Basic credentials.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .basic_auth(&self.project_id, Some(&self.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// The text of `GET /metrics`, from the metrics listener.
    pub(crate) async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.metrics_base);
        let response = self.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) async fn organization(&self, slug: &str) -> Value {
        let answer = self
            .post(
                "/v1/b2b/organizations",
                json!({"organization_name": format!("Org {slug}"), "organization_slug": slug}),
            )
            .await;
        answer.expect(StatusCode::OK);
        answer.body["organization"].clone()
    }

    pub(crate) async fn member(&self, organization_id: &str, email: &str) -> Value {
        let answer = self
            .post(
                &format!("/v1/b2b/organizations/{organization_id}/members"),
                json!({"email_address": email}),
            )
            .await;
        answer.expect(StatusCode::OK);
        answer.body["member"].clone()
    }

    /// A session by magic link; returns the whole create response.
    pub(crate) async fn session(&self, organization_id: &str, member_id: &str) -> Value {
        self.session_with(
            organization_id,
            member_id,
            json!({"type": "magic_link", "delivery_method": "email"}),
        )
        .await
    }

    /// A session by a magic link that proved `email` (so it carries over an exchange).
    pub(crate) async fn session_by_email(
        &self,
        organization_id: &str,
        member_id: &str,
        email: &str,
    ) -> Value {
        self.session_with(
            organization_id,
            member_id,
            json!({"type": "magic_link", "delivery_method": "email",
                   "email_factor": {"email_id": "email-1", "email_address": email}}),
        )
        .await
    }

    async fn session_with(&self, organization_id: &str, member_id: &str, factor: Value) -> Value {
        let answer = self
            .post(
                "/v1/b2b/sessions",
                json!({
                    "organization_id": organization_id,
                    "member_id": member_id,
                    "authentication_factors": [factor]
                }),
            )
            .await;
        answer.expect(StatusCode::OK);
        answer.body
    }
}

/// A listener on 127.0.0.1:<ephemeral>, and its address.
async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

/// A new directory name under the system's temporary directory (not created).
pub(crate) fn fresh_dir(prefix: &str) -> std::path::PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

/// A response, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) request_id_header: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) async fn from(response: Response) -> Self {
        let status = response.status();
        let request_id_header =
            response.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self { status, request_id_header, body }
    }

    #[track_caller]
    pub(crate) fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    /// Asserts a Stytch error body of this type and status, with matching request ids.
    #[track_caller]
    pub(crate) fn expect_error(&self, status: StatusCode, error_type: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error_type"], error_type, "body: {}", self.body);
        assert_eq!(self.body["status_code"], status.as_u16(), "body: {}", self.body);
        assert!(self.body["error_message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(self.body["error_url"].as_str().is_some_and(|u| u.ends_with(error_type)));
        let id = self.body["request_id"].as_str().unwrap();
        assert_eq!(self.request_id_header.as_deref(), Some(id));
    }
}
