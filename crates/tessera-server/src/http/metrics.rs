//! `GET /metrics`: request counts and durations per route and status, in Prometheus' text
//! format. Kept in process memory; each node reports its own.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Mutex, OnceLock, PoisonError},
    time::Duration,
};

use axum::http::{Method, header};
use axum::response::IntoResponse;

#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
}

type Key = (String, String, u16);

fn registry() -> &'static Mutex<BTreeMap<Key, Series>> {
    static REGISTRY: OnceLock<Mutex<BTreeMap<Key, Series>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

pub(super) fn record(method: &Method, route: &str, status: u16, elapsed: Duration) {
    let mut series = registry().lock().unwrap_or_else(PoisonError::into_inner);
    let entry = series.entry((method.as_str().to_owned(), route.to_owned(), status)).or_default();
    entry.count += 1;
    entry.seconds += elapsed.as_secs_f64();
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    responses((
        status = 200,
        description = "Requests and durations per route template and status",
        body = String,
        content_type = "text/plain; version=0.0.4",
    )),
)]
pub(super) async fn render() -> impl IntoResponse {
    let series = registry().lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = String::new();
    out.push_str("# HELP tessera_http_requests_total HTTP requests handled.\n");
    out.push_str("# TYPE tessera_http_requests_total counter\n");
    for ((method, route, status), s) in series.iter() {
        let _ = writeln!(
            out,
            "tessera_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
            s.count
        );
    }
    out.push_str("# HELP tessera_http_request_duration_seconds Time spent handling requests.\n");
    out.push_str("# TYPE tessera_http_request_duration_seconds summary\n");
    for ((method, route, status), s) in series.iter() {
        let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
        let _ =
            writeln!(out, "tessera_http_request_duration_seconds_sum{{{labels}}} {}", s.seconds);
        let _ =
            writeln!(out, "tessera_http_request_duration_seconds_count{{{labels}}} {}", s.count);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
