//! The HTTP API: routes, shared state, and the layers every request goes through.
//!
//! Layers, outermost first: request id + error rendering + access log + metrics
//! ([`request_id::middleware`]), the request limits (concurrency, time budget:
//! [`limits::enforce`]), the body limit, then per route group Polar's error shapes on the Polar
//! routes ([`polar_errors::render_polar_errors`]) and the project-credential check
//! ([`auth::require_project`]). Handlers parse requests into domain values ([`parse`]), call the
//! [`SessionService`], and answer with the views of `tessera-api`. [`serve()`] runs a router on a
//! listener with the connection limits (header-read timeout, shutdown deadline); `/metrics` has
//! a router of its own ([`metrics_router`]), for a listener of its own.

mod acting;
mod answer;
mod auth;
mod directory;
mod echo;
mod error;
mod events;
mod extract;
mod formats;
mod limits;
mod meta;
pub(crate) mod metrics;
mod openapi;
mod parse;
mod polar;
mod polar_errors;
mod refresh;
mod request_id;
mod serve;
mod sessions;
mod webhooks;

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, middleware, routing};
use tessera_api::SessionService;

pub use self::{
    auth::ProjectCredentials,
    error::ApiError,
    limits::RequestLimits,
    request_id::HEADER as REQUEST_ID_HEADER,
    serve::{ConnectionLimits, serve},
};
/// The audit log's wire shape, which the command line prints too.
pub(crate) use self::{
    events::EventView,
    webhooks::{
        DeliveryView, EndpointView, SECRET_ROTATION_OVERLAP, checked_url, description, event_types,
        new_secret, organization,
    },
};

/// Request bodies larger than this are refused with `payload_too_large` (custom claims are
/// capped at 4 KiB; nothing legitimate comes close).
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub service: SessionService,
    pub credentials: Arc<ProjectCredentials>,
    health: Arc<meta::HealthProbe>,
    /// `/openapi.json` of this deployment, built on its first request.
    openapi: Arc<std::sync::OnceLock<axum::body::Bytes>>,
    /// Which webhook targets an endpoint may name (SSRF: no private addresses by default).
    webhook_policy: tessera_webhooks::TargetPolicy,
}

impl AppState {
    pub fn new(service: SessionService, credentials: Arc<ProjectCredentials>) -> Self {
        Self {
            service,
            credentials,
            health: Arc::new(meta::health_probe()),
            openapi: Arc::default(),
            webhook_policy: tessera_webhooks::TargetPolicy::default(),
        }
    }

    /// Lets webhook endpoints name these targets (`--webhook-allow-private-targets`).
    pub fn with_webhook_policy(mut self, policy: tessera_webhooks::TargetPolicy) -> Self {
        self.webhook_policy = policy;
        self
    }

    pub(crate) fn webhook_policy(&self) -> tessera_webhooks::TargetPolicy {
        self.webhook_policy
    }
}

/// Registers `method "path" => handler` lines on a new router and returns it with the list of
/// its `(method, path)` pairs: the list is what is routed, by construction, so that a test can
/// check that the OpenAPI document names exactly these routes.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),+ $(,)?) => {
        Routes {
            router: Router::new()$(.route($path, routing::$method($handler)))+,
            list: &[$((stringify!($method), $path)),+],
        }
    };
}

/// A route group and its `(method, path)` pairs (see `routes!`).
struct Routes {
    router: Router<AppState>,
    #[cfg_attr(not(test), allow(dead_code))] // read by the OpenAPI document's test
    list: &'static [(&'static str, &'static str)],
}

/// The routes that take the project credentials.
fn project_routes() -> Routes {
    routes! {
        post "/v1/b2b/organizations" => directory::create_organization,
        get "/v1/b2b/organizations/{organization_id}" => directory::get_organization,
        put "/v1/b2b/organizations/{organization_id}" => directory::update_organization,
        delete "/v1/b2b/organizations/{organization_id}" => directory::delete_organization,
        post "/v1/b2b/organizations/{organization_id}/members" => directory::create_member,
        get "/v1/b2b/organizations/{organization_id}/member" => directory::get_member,
        put "/v1/b2b/organizations/{organization_id}/members/{member_id}"
            => directory::update_member,
        delete "/v1/b2b/organizations/{organization_id}/members/{member_id}"
            => directory::delete_member,
        post "/v1/b2b/organizations/{organization_id}/sessions/revoke"
            => sessions::revoke_organization,
        get "/v1/b2b/sessions" => sessions::list,
        post "/v1/b2b/sessions" => sessions::create,
        post "/v1/b2b/sessions/authenticate" => sessions::authenticate,
        post "/v1/b2b/sessions/factors" => sessions::add_factor,
        post "/v1/b2b/sessions/revoke" => sessions::revoke,
        post "/v1/b2b/sessions/exchange" => sessions::exchange,
        get "/v1/b2b/rbac/policy" => sessions::policy,
        get "/v1/b2b/rbac/organizations/{organization_id}" => sessions::organization_policy,
        get "/v1/events" => events::list,
        post "/v1/webhooks/endpoints" => webhooks::create_endpoint,
        get "/v1/webhooks/endpoints" => webhooks::list_endpoints,
        get "/v1/webhooks/endpoints/{endpoint_id}" => webhooks::get_endpoint,
        put "/v1/webhooks/endpoints/{endpoint_id}" => webhooks::update_endpoint,
        delete "/v1/webhooks/endpoints/{endpoint_id}" => webhooks::delete_endpoint,
        post "/v1/webhooks/endpoints/{endpoint_id}/secret/rotate" => webhooks::rotate_secret,
        get "/v1/webhooks/deliveries" => webhooks::list_deliveries,
        post "/v1/webhooks/deliveries/{delivery_id}/retry" => webhooks::retry_delivery,
    }
}

/// Polar's routes that take the project credentials (Polar's organization access token).
fn polar_project_routes() -> Routes {
    routes! {
        post "/v1/customer-sessions/" => polar::create_customer_session,
        post "/v1/member-sessions/" => polar::create_member_session,
    }
}

/// Polar's customer-portal routes: a member-session token as `Bearer`.
fn polar_portal_routes() -> Routes {
    routes! {
        get "/v1/customer-portal/customer-session/introspect" => polar::introspect,
        get "/v1/customer-portal/customer-session/user" => polar::user,
    }
}

/// Public: what relying parties and operators read without the project secret.
fn public_routes() -> Routes {
    routes! {
        get "/v1/b2b/sessions/jwks/{project_id}" => sessions::jwks,
        get "/healthz" => meta::healthz,
        get "/openapi.json" => meta::openapi,
    }
}

/// The whole API, with the default [`RequestLimits`].
pub fn router(state: AppState) -> Router {
    router_with_limits(state, RequestLimits::default())
}

/// The whole API, with these request limits.
pub fn router_with_limits(state: AppState, limits: RequestLimits) -> Router {
    let require_project = || middleware::from_fn_with_state(state.clone(), auth::require_project);
    let stytch = project_routes().router.route_layer(require_project());
    let polar = polar_project_routes()
        .router
        // Polar's paths without their trailing slash, as some clients send them: undocumented
        // aliases.
        .route("/v1/customer-sessions", routing::post(polar::create_customer_session))
        .route("/v1/member-sessions", routing::post(polar::create_member_session))
        .route_layer(require_project())
        .merge(polar_portal_routes().router)
        .method_not_allowed_fallback(meta::method_not_allowed)
        // Around the credential check and the wrong-method answer too (a `layer`, not a
        // `route_layer`, which would leave the latter out): every refusal on a Polar path is
        // Polar-shaped.
        .layer(middleware::from_fn(polar_errors::render_polar_errors));
    let public = public_routes().router;

    stytch
        .merge(polar)
        .merge(public)
        .route_layer(middleware::from_fn(request_id::tag_route))
        .fallback(meta::not_found)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(limits::Limiter::new(limits), limits::enforce))
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// `GET /metrics` (Prometheus text) and nothing else, for the listener of
/// `tessera serve --metrics-listen`: see [`metrics`] for why it is not on the API's.
pub fn metrics_router() -> Router {
    metrics::router()
}
