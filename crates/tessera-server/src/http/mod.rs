//! The HTTP API: routes, shared state, and the layers every request goes through.
//!
//! Layers, outermost first: request id + error rendering + access log + metrics
//! ([`request_id::middleware`]), the body limit, then per route group the project-credential
//! check ([`auth::require_project`]). Handlers parse requests into domain values
//! ([`parse`]), call the [`SessionService`], and answer with the views of `tessera-api`.

mod auth;
mod directory;
mod error;
mod extract;
mod meta;
mod metrics;
mod parse;
mod polar;
mod request_id;
mod sessions;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use tessera_api::SessionService;

pub use self::{
    auth::ProjectCredentials, error::ApiError, request_id::HEADER as REQUEST_ID_HEADER,
};

/// Request bodies larger than this are refused with `payload_too_large` (custom claims are
/// capped at 4 KiB; nothing legitimate comes close).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub service: SessionService,
    pub credentials: std::sync::Arc<ProjectCredentials>,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let stytch = Router::new()
        .route("/v1/b2b/organizations", post(directory::create_organization))
        .route(
            "/v1/b2b/organizations/{organization_id}",
            get(directory::get_organization)
                .put(directory::update_organization)
                .delete(directory::delete_organization),
        )
        .route("/v1/b2b/organizations/{organization_id}/members", post(directory::create_member))
        .route("/v1/b2b/organizations/{organization_id}/member", get(directory::get_member))
        .route(
            "/v1/b2b/organizations/{organization_id}/members/{member_id}",
            axum::routing::put(directory::update_member).delete(directory::delete_member),
        )
        .route("/v1/b2b/sessions", get(sessions::list).post(sessions::create))
        .route("/v1/b2b/sessions/authenticate", post(sessions::authenticate))
        .route("/v1/b2b/sessions/revoke", post(sessions::revoke))
        .route("/v1/b2b/sessions/exchange", post(sessions::exchange))
        .route("/v1/b2b/rbac/policy", get(sessions::policy))
        .route("/v1/b2b/rbac/organizations/{organization_id}", get(sessions::organization_policy))
        .route("/v1/member-sessions/", post(polar::create_member_session))
        .route("/v1/member-sessions", post(polar::create_member_session))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_project));

    // Public: what relying parties and operators read without the project secret.
    let public = Router::new()
        .route("/v1/b2b/sessions/jwks/{project_id}", get(sessions::jwks))
        .route("/v1/customer-portal/customer-session/introspect", get(polar::introspect))
        .route("/v1/customer-portal/customer-session/user", get(polar::user))
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(meta::openapi));

    stytch
        .merge(public)
        .route_layer(middleware::from_fn(request_id::tag_route))
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}
