//! `cargo xtask multinode [--rounds N]`: the multi-node test (`multinode::` in
//! `crates/tessera-server/tests/it/multinode.rs`) with N rounds (default 10) instead of one:
//! three `tessera serve` nodes on a private PostgreSQL cluster, one through PgBouncer in
//! session pooling mode, with cross-node sessions and revokes, JWKS agreement, key rotation by
//! the operator CLI, and a PostgreSQL restart under traffic in every round; and the node behind
//! PgBouncer in transaction pooling mode (`pool-mode=transaction`) under concurrent traffic.
//! Installs PgBouncer with apt-get when missing.

use crate::{Result, run_server_tests, step};

pub(crate) fn multinode(args: &[String]) -> Result {
    let rounds = crate::number_flag(args, "--rounds", 10)?;
    step("PgBouncer for the multi-node test", ensure_pgbouncer)?;
    step(&format!("several nodes on one PostgreSQL, {rounds} rounds"), || {
        run_server_tests("multinode::", &[("TESSERA_MULTINODE_ROUNDS", rounds.to_string())])
    })
}

/// Debian's `pgbouncer` package, installed when missing (the test fails under CI without it).
pub(crate) fn ensure_pgbouncer() -> Result {
    let installed = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    if installed {
        eprintln!("pgbouncer is installed");
        return Ok(());
    }
    eprintln!("installing pgbouncer from Debian's packages");
    crate::apt_install(&["pgbouncer"])
}
