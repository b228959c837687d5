//! `GET /metrics`: request counts and durations per route and status, in Prometheus' text
//! format. Kept in process memory; each node reports its own.
//!
//! Every label comes from a closed set, so no client can grow the registry: the method is one of
//! the seven the API knows or `other`, the route is a registered template or `unmatched`, the
//! status is a number below 1000.
//!
//! Served on its own listener (`tessera serve --metrics-listen`), not on the API's: the only
//! credential the API has is the project secret, which can mint sessions for anyone and must not
//! sit in a scraper's configuration, and the API's listener may face the internet.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex, OnceLock, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    http::{Method, StatusCode, header},
    response::IntoResponse,
    routing,
};

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

/// By route, then by (method, status): a request's lookup borrows its route, so counting one
/// allocates nothing once its series exists.
type Registry = BTreeMap<String, BTreeMap<(&'static str, u16), Series>>;

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Every series, as `(method, route, status, series)`.
fn each_series(registry: &Registry) -> impl Iterator<Item = (&'static str, &str, u16, &Series)> {
    registry.iter().flat_map(|(route, by_method)| {
        by_method.iter().map(move |(&(method, status), s)| (method, route.as_str(), status, s))
    })
}

/// The method's label: one of the methods the API knows, or `other`.
pub(super) fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    KNOWN.iter().find(|known| *known == method).map_or("other", Method::as_str)
}

/// Counts a request. `route` is a registered route template or `unmatched`.
pub(super) fn record(method: &Method, route: &str, status: u16, elapsed: Duration) {
    let mut registry = registry().lock().unwrap_or_else(PoisonError::into_inner);
    if !registry.contains_key(route) {
        registry.insert(route.to_owned(), BTreeMap::new());
    }
    let Some(by_method) = registry.get_mut(route) else { return };
    let entry = by_method.entry((method_label(method), status)).or_default();
    entry.count += 1;
    entry.seconds += elapsed.as_secs_f64();
}

/// The webhook backlog as the dispatcher last saw it: deliveries due and not yet delivered, and
/// the age of the oldest one in seconds (`f64` bits).
static WEBHOOK_PENDING: AtomicU64 = AtomicU64::new(0);
static WEBHOOK_OLDEST_SECONDS: AtomicU64 = AtomicU64::new(0);

/// Records the webhook backlog (the dispatcher does, every round).
pub(crate) fn set_webhook_backlog(pending: u64, oldest_pending_seconds: f64) {
    WEBHOOK_PENDING.store(pending, Ordering::Relaxed);
    WEBHOOK_OLDEST_SECONDS.store(oldest_pending_seconds.to_bits(), Ordering::Relaxed);
}

/// The metrics listener's router: `GET /metrics` and nothing else (its requests are not counted).
pub(super) fn router() -> Router {
    Router::new()
        .route("/metrics", routing::get(render))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Only GET /metrics is served here.\n") })
}

async fn render() -> impl IntoResponse {
    let registry = registry().lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = String::new();
    out.push_str("# HELP tessera_http_requests_total HTTP requests handled.\n");
    out.push_str("# TYPE tessera_http_requests_total counter\n");
    for (method, route, status, s) in each_series(&registry) {
        let _ = writeln!(
            out,
            "tessera_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
            s.count
        );
    }
    out.push_str("# HELP tessera_http_request_duration_seconds Time spent handling requests.\n");
    out.push_str("# TYPE tessera_http_request_duration_seconds summary\n");
    for (method, route, status, s) in each_series(&registry) {
        let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
        let _ =
            writeln!(out, "tessera_http_request_duration_seconds_sum{{{labels}}} {}", s.seconds);
        let _ =
            writeln!(out, "tessera_http_request_duration_seconds_count{{{labels}}} {}", s.count);
    }
    out.push_str("# HELP tessera_webhook_backlog Webhook deliveries due and not yet delivered.\n");
    out.push_str("# TYPE tessera_webhook_backlog gauge\n");
    let _ = writeln!(out, "tessera_webhook_backlog {}", WEBHOOK_PENDING.load(Ordering::Relaxed));
    out.push_str("# HELP tessera_webhook_oldest_pending_seconds Age of the oldest delivery due.\n");
    out.push_str("# TYPE tessera_webhook_oldest_pending_seconds gauge\n");
    let oldest = f64::from_bits(WEBHOOK_OLDEST_SECONDS.load(Ordering::Relaxed));
    let _ = writeln!(out, "tessera_webhook_oldest_pending_seconds {oldest}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_api_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
