//! What the fuzz targets share: a reference JSON Merge Patch, and one real server (the router of
//! `tessera serve` over a memory store) per process, driven with tower's `oneshot`.
//!
//! Every target states its oracles in its own file; a failed oracle panics, which libFuzzer
//! reports as a crash with the input that caused it.

// Fuzz harnesses: a failed expectation must abort the run with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod merge;
pub mod server;
