//! tessera-client against a real `tessera serve` (the built binary, on an ephemeral port, with a
//! fresh SQLite store): the remote calls and their errors, the JWKS cache and its refresh after
//! a key rotation, and the tessera-axum layer over the remote client.
#![allow(clippy::unwrap_used)]

mod client;
mod layer;
mod server;
