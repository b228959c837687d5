//! End-to-end tests: the real router on an ephemeral port, driven over HTTP.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used)]

mod api;
mod bad_input;
mod cli;
mod crash;
mod fuzz_regressions;
mod multinode;
mod postgres;
mod processes;
mod server;
mod tenancy;
