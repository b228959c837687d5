//! [`AuthLayer`]: the response side. After the handler, if the request's session was verified:
//! `Cache-Control: private, no-store` and `Vary: Cookie, Authorization`; a refreshed session
//! JWT rewrites the JWT cookie (same name, path and domain); a dead cookie session clears both
//! cookies. It verifies nothing itself: a route that never asks for the session costs nothing.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    response::Response,
};
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    CredentialSource, TesseraAuth,
    auth::{Outcome, OutcomeSlot},
};

/// The tower layer of [`TesseraAuth::layer`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: TesseraAuth,
}

impl TesseraAuth {
    /// The layer that maintains the session cookies and cache headers (see [`AuthLayer`]).
    ///
    /// ```
    /// # fn f(auth: tessera_axum::TesseraAuth) {
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "hi" }))
    ///     .layer(auth.layer())
    ///     .with_state(auth);
    /// # }
    /// ```
    pub fn layer(&self) -> AuthLayer {
        AuthLayer { auth: self.clone() }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService { inner, auth: self.auth.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: TesseraAuth,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let slot = OutcomeSlot::default();
        request.extensions_mut().insert(slot.clone());
        let future = self.inner.call(request);
        let auth = self.auth.clone();
        Box::pin(async move {
            let mut response = future.await?;
            if let Some(outcome) = slot.take() {
                finish(&auth, &outcome, &mut response);
            }
            Ok(response)
        })
    }
}

fn finish(auth: &TesseraAuth, outcome: &Outcome, response: &mut Response) {
    let cookies = &auth.config().cookies;
    let headers = response.headers_mut();
    match outcome {
        Outcome::NoCredential => return,
        Outcome::Authenticated { session, refreshed_jwt, source } => {
            if let (Some(jwt), CredentialSource::Cookies) = (refreshed_jwt, source) {
                let max_age = session.expires_at - auth.authenticator().now();
                if let Some(value) = cookies.set(&cookies.jwt_name, jwt, max_age) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
        }
        Outcome::Rejected(rejection) => {
            if rejection.clears_cookies() {
                for value in cookies.clearing_cookies() {
                    headers.append(header::SET_COOKIE, value);
                }
            }
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.append(header::VARY, HeaderValue::from_static("Cookie, Authorization"));
}
