//! [`Acting`]: the service as one request acts through it, so that the events its writes record
//! say who (the project, whose credentials the route took) and from where (this request's id,
//! the peer's address, its user agent).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header::USER_AGENT, request::Parts},
};
use tessera_api::SessionService;
use tessera_core::{Actor, RequestContext};

use super::{AppState, error::ApiError, request_id::RequestId};

/// The request's handle on the service (`SessionService::acting`). The peer address is the TCP
/// peer's (`serve` records it per connection): behind a proxy, the proxy's. Forwarded headers
/// are not trusted, since any client can send them.
#[derive(Debug)]
pub(super) struct Acting(pub SessionService);

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.as_str());
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent = parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
        let request = RequestContext::new(request_id, peer.as_deref(), user_agent);
        Ok(Self(state.service.acting(Actor::Project, request)))
    }
}
