//! tessera-axum over a real axum router, driven with `tower::ServiceExt::oneshot` (and one real
//! socket in `example.rs`).

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used)]

mod credentials;
mod example;
mod guards;
mod revocation;
mod support;
