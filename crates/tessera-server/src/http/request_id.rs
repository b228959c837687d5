//! Request ids: every response carries one, in its body (`request_id`) and in the
//! `request-id` header, so a client report can be matched with the server's log line.

use axum::{
    Json,
    extract::{FromRequestParts, MatchedPath, Request},
    http::{
        HeaderValue,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
        request::Parts,
    },
    middleware::Next,
    response::{IntoResponse, Response},
};
use tessera_api::views::stytch::ErrorBody;

use super::error::ApiError;

pub const HEADER: &str = "request-id";

/// The id of the request being handled.
#[derive(Debug, Clone)]
pub(super) struct RequestId(pub String);

impl RequestId {
    /// `request-id-` and a random UUID-shaped suffix. Not a secret, so it comes from the
    /// thread's CSPRNG (seeded from the OS) rather than a system call per request.
    fn generate() -> Self {
        const PREFIX: &str = "request-id-";
        let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let suffix = uuid::Uuid::from_bytes(rand::random()).hyphenated().encode_lower(&mut buffer);
        let mut id = String::with_capacity(PREFIX.len() + suffix.len());
        id.push_str(PREFIX);
        id.push_str(suffix);
        Self(id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::generate))
    }
}

/// Assigns the request id, renders [`ApiError`]s into Stytch's error body (their messages
/// bounded by [`super::echo::bounded`]; the Polar routes' errors arrive already in Polar's, see
/// [`super::polar_errors`]), logs one line per request (method, route, status, duration: never a
/// header or a body) and counts it.
pub(super) async fn middleware(mut request: Request, next: Next) -> Response {
    let id = RequestId::generate();
    request.extensions_mut().insert(id.clone());
    let method = request.method().clone();
    let started = std::time::Instant::now();

    let mut response = next.run(request).await;
    let matched = response.extensions_mut().remove::<MatchedPath>();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let message = super::echo::bounded(&error.message);
        let body = ErrorBody::custom(&id.0, error.status.as_u16(), error.error_type, message);
        // Headers the error set (`Retry-After`, `Allow`) stay; the body's are the new ones.
        let mut headers = std::mem::take(response.headers_mut());
        headers.remove(CONTENT_TYPE);
        headers.remove(CONTENT_LENGTH);
        response = (error.status, Json(body)).into_response();
        response.headers_mut().extend(headers);
    }
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    super::metrics::record(&method, route, status, elapsed);
    let method = super::metrics::method_label(&method);
    tracing::info!(request_id = %id.0, method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// Runs after routing (as a route layer): hands the matched route template to [`middleware`],
/// which runs outside routing, for logs and metrics without ids in them.
pub(super) async fn tag_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.extensions_mut().insert(matched);
    response
}
