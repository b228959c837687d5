//! `cargo xtask <task>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! Tasks:
//! - `test`: everything CI checks: formatting, clippy with `-D warnings`, the architecture
//!   invariants, then every test of the workspace (doctests, then unit, property and integration
//!   tests through cargo-nextest when installed, `cargo test` otherwise).
//! - `lint`: formatting, clippy and the architecture invariants, without running tests.
//!
//! Dependency-free on purpose: this crate is built before anything else on every invocation.

use std::{
    env,
    net::{TcpStream, ToSocketAddrs},
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test    fmt check, clippy -D warnings, architecture checks, all tests
  lint    fmt check, clippy -D warnings, architecture checks
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("lint") => lint(),
        Some("-h" | "--help" | "help") | None => {
            eprint!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn lint() -> Result {
    step("cargo fmt --check", || cargo(&["fmt", "--all", "--", "--check"]))?;
    step("cargo clippy -D warnings", || {
        cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
    })?;
    step("architecture invariants", check_architecture)
}

fn test() -> Result {
    lint()?;
    step("PostgreSQL for the postgres test suite", check_postgres)?;
    step("doctests", || cargo(&["test", "--workspace", "--doc", "--locked"]))?;
    if has_nextest() {
        step("cargo nextest run", || {
            cargo(&["nextest", "run", "--workspace", "--locked", "--no-fail-fast"])
        })
    } else {
        eprintln!("xtask: cargo-nextest is not installed; falling back to `cargo test`");
        step("cargo test", || {
            cargo(&[
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                "--locked",
                "--no-fail-fast",
            ])
        })
    }
}

/// Crates that must never appear among tessera-core's normal dependencies: the core does no
/// I/O, no async and no HTTP (docs/ARCHITECTURE.md).
const FORBIDDEN_IN_CORE: &[&str] =
    &["tokio", "async-std", "sqlx", "rusqlite", "axum", "hyper", "reqwest", "tower", "getrandom"];

fn check_architecture() -> Result {
    let output = Command::new(cargo_bin())
        .args(["tree", "-p", "tessera-core", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo tree failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            FORBIDDEN_IN_CORE.contains(&name)
        })
        .collect();
    if offenders.is_empty() {
        eprintln!("tessera-core depends on none of: {}", FORBIDDEN_IN_CORE.join(", "));
        Ok(())
    } else {
        Err(format!(
            "tessera-core must not depend on I/O, async or HTTP crates, but pulls in:\n  {}",
            offenders.join("\n  ")
        ))
    }
}

/// The PostgreSQL suites need a server. Under CI its absence is an error; elsewhere the run goes
/// on, the suites skip their cases, and this banner says so where nobody can miss it.
fn check_postgres() -> Result {
    let url = env::var("TESSERA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let address = postgres_address(&url);
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if reachable {
        eprintln!("PostgreSQL reachable at {address}");
        return Ok(());
    }
    let how = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
               or point TESSERA_TEST_POSTGRES_URL at a server (postgres://user@host:port/db)";
    if env::var("CI").is_ok_and(|v| v == "true") {
        return Err(format!("PostgreSQL is unreachable at {address} and CI=true: {how}"));
    }
    eprintln!(
        "\n{bar}\nSKIPPED: PostgreSQL is unreachable at {address}; the postgres suites will skip \
         every case.\nTo run them, {how}.\n{bar}\n",
        bar = "!".repeat(78)
    );
    Ok(())
}

/// `host:port` of a `postgres://[user[:password]@]host[:port][/db][?...]` URL.
fn postgres_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") }
}

fn step(name: &str, run: impl FnOnce() -> Result) -> Result {
    eprintln!("\n==> {name}");
    let started = Instant::now();
    let result = run();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => eprintln!("==> {name}: ok ({secs:.1}s)"),
        Err(_) => eprintln!("==> {name}: FAILED ({secs:.1}s)"),
    }
    result
}

fn cargo(args: &[&str]) -> Result {
    let status = Command::new(cargo_bin())
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not run cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn has_nextest() -> bool {
    Command::new(cargo_bin())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn cargo_bin() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}
