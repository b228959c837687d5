//! tessera-store's integration tests: the conformance suite on every backend, plus what is
//! specific to each backend. One binary, one module per backend.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used)]

mod memory;
mod postgres;
mod sqlite;
