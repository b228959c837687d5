//! `cargo xtask crash [--cycles N]`: the crash-consistency test (`crash::` in
//! `crates/tessera-server/tests/it/crash.rs`) with N kill -9 cycles per backend (default 50)
//! instead of the 5 that `cargo xtask test` runs. It kills the real `tessera serve` during
//! concurrent creates, extends with claim patches, and revokes, on SQLite and on PostgreSQL,
//! and prints the cycles and acknowledged operations it verified.

use crate::{Result, run_server_tests, step};

pub(crate) fn crash(args: &[String]) -> Result {
    let cycles = crate::number_flag(args, "--cycles", 50)?;
    step(&format!("crash consistency, {cycles} kill -9 cycles per backend"), || {
        run_server_tests("crash::", &[("TESSERA_CRASH_CYCLES", cycles.to_string())])
    })
}
