//! # tessera-client
//!
//! A typed Rust client of a Tessera server's HTTP API ([`TesseraClient`]), for services that do
//! not share the server's store:
//!
//! - project credentials (HTTP Basic `project_id:secret`, never printed: `Debug` redacts the
//!   secret, and no error carries a credential);
//! - the Stytch-compatible session routes: [`TesseraClient::authenticate`] (token or JWT,
//!   optional duration, custom claims, authorization check), [`TesseraClient::revoke`],
//!   [`TesseraClient::exchange`], and Tessera's [`TesseraClient::create_session`] and
//!   [`TesseraClient::add_factor`] (step-up); answers are `tessera_api::views::stytch` types;
//! - the JWKS, fetched and cached for **local verification** of session JWTs
//!   ([`TesseraClient::verify_jwt_locally`]: the same strict verifier as the service's,
//!   `tessera_api::jwt::verify_local`); an unknown `kid` refetches it at most once per
//!   [`ClientConfig::jwks_refresh_interval`], one fetch at a time;
//! - the RBAC policy, cached, for local authorization checks ([`TesseraClient::policy`]);
//! - errors: one [`ClientError`], with the server's `error_type` and status.
//!
//! With the default `axum` feature, [`TesseraClient`] implements `tessera_axum::Authenticator`,
//! so the `tessera-axum` layer protects an app against a remote `tessera serve`:
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # fn app() -> Result<axum::Router, tessera_client::ClientError> {
//! use axum::{Router, routing::get};
//! use tessera_axum::{CurrentSession, TesseraAuth};
//! use tessera_client::{ClientConfig, TesseraClient};
//!
//! async fn me(session: CurrentSession) -> String {
//!     format!("{} in {}", session.member_id, session.organization_slug)
//! }
//!
//! let client = TesseraClient::new(ClientConfig::new(
//!     "http://127.0.0.1:8080",
//!     "project-live-…",
//!     std::env::var("TESSERA_SECRET").unwrap_or_default(),
//! ))?;
//! let auth = TesseraAuth::new(client);
//! Ok(Router::new().route("/me", get(me)).layer(auth.layer()).with_state(auth))
//! # }
//! ```
//!
//! What a remote verifier sees of revocations: a JWT verified locally stays valid until it
//! expires (5 minutes by default) even if its session was revoked; the remote path
//! ([`TesseraClient::authenticate`], the layer's fallback after `max_token_age`) sees every
//! revoke at once.

#![warn(missing_docs)]

#[cfg(feature = "axum")]
mod authenticator;
mod client;
mod error;
mod jwks;

pub use crate::{
    client::{
        AuthenticateRequest, ClientConfig, CreateSessionRequest, MemberLookup, RevokeRequest,
        SessionCredential, TesseraClient,
    },
    error::ClientError,
};
