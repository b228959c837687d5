//! # tessera-server
//!
//! The `tessera` binary: `tessera serve`, the HTTP API (the only crate that knows HTTP), and the
//! operator commands. The library part exists so that end-to-end tests can start the real
//! router on an ephemeral port.

pub mod cli;
pub mod deployment;
pub mod dispatcher;
pub mod http;
pub mod settings;
