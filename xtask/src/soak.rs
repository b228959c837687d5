//! `cargo xtask soak [--minutes N]`: builds the release `tessera` binary and the soak driver
//! (`crates/tessera-server/benches/soak.rs`) and runs it for N minutes (default 10): the real
//! server at a steady fraction of its measured capacity with a realistic mix (authenticate 90%,
//! create, extend, revoke; purge running), reporting RSS and p50/p99 per minute. Never part of
//! `cargo xtask test`: it measures, it does not gate.

use crate::{Result, cargo, step};

pub(crate) fn soak(args: &[String]) -> Result {
    let minutes = crate::number_flag(args, "--minutes", 10)?.to_string();
    step(&format!("soak for {minutes} minutes"), || {
        cargo(&[
            "bench",
            "--locked",
            "--package",
            "tessera-server",
            "--bench",
            "soak",
            "--",
            "--minutes",
            &minutes,
        ])
    })
}
