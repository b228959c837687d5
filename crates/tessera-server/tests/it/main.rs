//! End-to-end tests: the real router on an ephemeral port, driven over HTTP, and the real
//! binary as a child process.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used)]

mod api;
mod bad_input;
mod cli;
mod crash;
mod echo;
mod events;
mod fuzz_regressions;
mod governance;
mod limits;
mod metrics;
mod multinode;
mod pg_cluster;
mod polar;
mod postgres;
mod probes;
mod process;
mod processes;
mod server;
mod tenancy;
mod webhooks;
