//! # tessera-bench
//!
//! What every Tessera benchmark shares, so that `cargo xtask bench` can turn many bench binaries
//! into one report (`docs/BENCHMARKS.md`):
//!
//! - [`Settings`]: quick or full run, the session counts to measure at, where results go.
//! - [`config`]: the criterion configuration for the run.
//! - [`Measurement`]: times each operation of a criterion benchmark (through `iter_custom`) and
//!   writes one JSON record: the median over criterion's samples of the time per operation, and
//!   the p50/p99 of the individual operations of those samples.
//! - [`Record`]: the JSON record itself, also written directly for figures that are not
//!   latencies (bytes per session, purge duration, HTTP requests per second).
//! - [`fresh_postgres_database`]: an empty database of a benchmark's own.
//!
//! Benchmarks report; they never assert. Nothing here is used by the library crates.

pub use criterion;

mod measurement;
mod postgres;
mod record;
mod settings;

pub use self::{
    measurement::{Measurement, Timed, percentiles},
    postgres::{DEFAULT_ADMIN_URL, fresh_postgres_database},
    record::{Record, Subject},
    settings::{Settings, config},
};
