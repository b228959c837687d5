//! # tessera-axum
//!
//! Protect an [axum] service with Tessera member sessions, in process (over a
//! [`tessera_api::SessionService`] on the same store) or against a remote Tessera (any
//! [`Authenticator`]).
//!
//! - [`TesseraAuth`] lives in the router's state ([`axum::extract::FromRef`]): forgetting it is
//!   a compile error, not a runtime 500.
//! - Credentials, in configurable order ([`AuthConfig::sources`]): `Authorization: Bearer
//!   <token | JWT>`, then the cookies Stytch's frontend SDKs write (`stytch_session_jwt`,
//!   `stytch_session`).
//! - Verification: the JWT **locally** first (no store read; [`AuthConfig::max_token_age`] sends
//!   older JWTs to the remote path, `0` always), then remotely (the session is read: a revoked
//!   session is refused at once), then the opaque token. A revoke through the same
//!   `SessionService` is refused on the local path at once too (see
//!   [`tessera_api::SessionService::authenticate_jwt_local`]); a revoke by another process is
//!   not, until the JWT expires (5 minutes by default).
//! - The outcome is computed once per request, at the first extractor that asks for it; a route
//!   that never asks pays nothing.
//! - Extractors: [`CurrentSession`], `Option<CurrentSession>` (`None` only without a
//!   credential), [`Require`] guards (tenancy from a path parameter, permission, MFA, step-up),
//!   [`Claims`]. Rejections: [`AuthRejection`], Stytch's error body, 401 vs 403.
//! - [`AuthLayer`] ([`TesseraAuth::layer`]): refreshes the JWT cookie, clears dead session
//!   cookies, `Cache-Control: private, no-store`, `Vary: Cookie, Authorization`.
//! - CSRF: a cookie-authenticated unsafe request must be same-origin (`Sec-Fetch-Site`, or
//!   `Origin` against the host and [`AuthConfig::trusted_origins`]); Bearer requests are exempt.
//! - [`test`]: a memory store, a manual clock, and signed-in credentials in one call.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use tessera_axum::{CurrentSession, Require, Requirement, TesseraAuth};
//!
//! struct EditDocuments;
//! impl Requirement for EditDocuments {
//!     const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
//!     const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "write"));
//! }
//!
//! async fn me(session: CurrentSession) -> String {
//!     format!("{} in {}", session.member_id, session.organization_slug)
//! }
//!
//! async fn edit(Require(session, ..): Require<EditDocuments>) -> String {
//!     format!("{} may edit", session.member_id)
//! }
//!
//! fn app(service: tessera_api::SessionService) -> Router {
//!     let auth = TesseraAuth::new(service);
//!     Router::new()
//!         .route("/me", get(me))
//!         .route("/orgs/{org}/documents", post(edit))
//!         .layer(auth.layer())
//!         .with_state(auth)
//! }
//! # let _ = app;
//! ```

mod auth;
mod authenticator;
mod cookie;
mod extract;
mod layer;
mod rejection;
mod session;
mod status;
pub mod test;

/// The README's and docs/EMBEDDING.md's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
#[doc = include_str!("../../../docs/EMBEDDING.md")]
struct ReadmeAndEmbeddingDoctests;

/// The `http` crate axum uses.
pub use axum::http;

pub use crate::{
    auth::{AuthConfig, CredentialSource, TesseraAuth},
    authenticator::{Authenticated, Authenticator, AuthenticatorError},
    cookie::CookieSettings,
    extract::{Claims, Require, Requirement},
    layer::{AuthLayer, AuthService},
    rejection::{AuthRejection, CROSS_SITE_REQUEST, INTERNAL_SERVER_ERROR},
    session::{CurrentSession, Verification},
    status::status_of,
};
