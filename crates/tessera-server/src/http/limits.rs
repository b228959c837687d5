//! Per-request limits: a time budget and a bound on the requests in flight. Past either, the
//! answer is a typed `503` in Stytch's error body with `Retry-After: 1` (`request_timeout`,
//! `too_many_concurrent_requests`), never a hang and never a dropped connection.
//!
//! A request refused for concurrency costs no store query and no body read. A request over its
//! budget is dropped at its next await point: a PostgreSQL transaction still open is rolled
//! back, a SQLite call already on its blocking thread runs to its end, and every write is one
//! statement or transaction, so nothing is left half-done. Like any lost response, though, the
//! `503` does not say that nothing happened.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// How long a request may take and how many are handled at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// From the end of the request's headers to its response, reading its body included.
    pub timeout: Duration,
    /// Requests in flight at once; more are refused at once.
    pub max_concurrent: usize,
}

impl RequestLimits {
    /// Far above any healthy request (the store gives up on a connection after 5 s).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Enough to keep 2 cores busy through store latency; at most 64 MiB of request bodies.
    pub const DEFAULT_MAX_CONCURRENT: usize = 1024;
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self { timeout: Self::DEFAULT_TIMEOUT, max_concurrent: Self::DEFAULT_MAX_CONCURRENT }
    }
}

/// The limits and the free slots of one router.
#[derive(Debug)]
pub(super) struct Limiter {
    limits: RequestLimits,
    slots: Arc<Semaphore>,
}

impl Limiter {
    pub(super) fn new(limits: RequestLimits) -> Arc<Self> {
        let slots = limits.max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Self { limits, slots: Arc::new(Semaphore::new(slots)) })
    }
}

/// Takes a slot (or refuses), then runs the request within its time budget.
pub(super) async fn enforce(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_slot) = limiter.slots.clone().try_acquire_owned() else {
        return retry_later(
            "too_many_concurrent_requests",
            format!(
                "The server is handling {} requests, its limit; retry in a moment.",
                limiter.limits.max_concurrent
            ),
        );
    };
    match tokio::time::timeout(limiter.limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?limiter.limits.timeout, "a request ran out of time");
            retry_later(
                "request_timeout",
                format!(
                    "The request did not complete within {} s (a slow client or store); retry.",
                    limiter.limits.timeout.as_secs()
                ),
            )
        }
    }
}

fn retry_later(error_type: &'static str, message: String) -> Response {
    let error = ApiError { status: StatusCode::SERVICE_UNAVAILABLE, error_type, message };
    let mut response = error.into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
