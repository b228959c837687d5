//! tessera-axum over a real axum router, driven with `tower::ServiceExt::oneshot` (and one real
//! socket in `example.rs`).

mod credentials;
mod example;
mod guards;
mod revocation;
mod support;
