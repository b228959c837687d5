//! tessera-api's integration tests: the whole service over real stores (memory and SQLite).

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used)]

mod harness;
mod integrity;
mod jwt;
mod lifecycle;
mod rules;
