//! Serving a router over TCP with what `axum::serve` does not offer: a header-read timeout, so
//! that a client cannot hold a connection by never finishing its headers (slowloris), and a
//! deadline for graceful shutdown, after which the connections still open are cut.

use std::{future::Future, pin::pin, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, task::JoinSet};

/// The limits of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, from the first byte of the
    /// request (or from the connection's start) to the blank line that ends them.
    pub header_read_timeout: Duration,
    /// After the shutdown signal: how long in-flight requests get before their connections are
    /// cut and [`serve`] returns.
    pub shutdown_timeout: Duration,
}

impl ConnectionLimits {
    /// Generous for any client on any network; short enough that slow clients cannot pile up.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Within the 30 s an orchestrator (Kubernetes, systemd) waits before it kills.
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// Serves `app` (HTTP/1.1) on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish for at most `limits.shutdown_timeout`, cuts what is left and
/// returns.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tessera_api::{ServiceConfig, SessionService};
/// use tessera_server::{
///     deployment,
///     http::{self, AppState, ConnectionLimits, RequestLimits},
/// };
/// use tessera_store::sqlite::SqliteStore;
///
/// let dir = std::env::temp_dir().join(format!("tessera-serve-doc-{}", std::process::id()));
/// let store = SqliteStore::open(dir.join("tessera.db")).await?.into_store();
/// let bootstrap =
///     deployment::bootstrap(&deployment::service_for_deployment(store.clone())).await?;
/// let credentials = bootstrap.credentials().clone();
/// let service = SessionService::new(store, ServiceConfig::new(credentials.project_id.clone()));
/// let app = http::router_with_limits(AppState::new(service, credentials), RequestLimits::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// // Serves until the shutdown future completes (here at once), then drains.
/// http::serve(listener, app, ConnectionLimits::default(), async {}).await;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little instead of spinning (what `axum::serve` does too).
                    tracing::warn!(error = %e, "cannot accept a connection; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Every request of the connection carries its peer's address (what the audit log
        // records as the caller's), as `into_make_service_with_connect_info` would put it.
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "finishing in-flight requests");
    }
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            deadline_seconds = limits.shutdown_timeout.as_secs(),
            "shutdown deadline passed: cutting the connections still open"
        );
    }
    connections.shutdown().await;
}
