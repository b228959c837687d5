//! `cargo xtask <task>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! Tasks:
//! - `test`: everything CI checks: formatting, clippy with `-D warnings`, the architecture
//!   invariants, then every test of the workspace (doctests, then unit, property and integration
//!   tests through cargo-nextest when installed, `cargo test` otherwise).
//! - `lint`: formatting, clippy and the architecture invariants, without running tests.
//! - `interop`: drives a real `tessera serve` with Stytch's and Polar's Python SDKs.
//! - `schema [--examples N]`: schemathesis against a real `tessera serve` and its
//!   `/openapi.json` (`schema.rs`); `test` runs 10 examples an operation.
//! - `bench [--quick] [--only NAME]`: runs every benchmark (Tessera, its floors and the
//!   tower-sessions peer, in one run) and regenerates `docs/BENCHMARKS.md` and
//!   `docs/benchmarks-authenticate.png` from their results (`bench.rs`). Needs PostgreSQL, installs
//!   `wrk` with apt-get and matplotlib in `target/bench-venv` when missing. Never part of `test`:
//!   benchmarks do not gate CI.
//! - `counts [--ops K] [CASE...]`: instructions per operation of the hot paths (token parse +
//!   hash, memory and SQLite authenticate, the HTTP authenticate route in-process) under
//!   valgrind's callgrind (`counts.rs`). Never part of `test`.
//! - `fuzz [--seconds N] [TARGET]`: builds the libFuzzer targets of `fuzz/` and runs each for N
//!   seconds (`fuzz.rs`); `test` runs each for a few seconds.
//! - `crash [--cycles N]`: kill -9 of the real server under concurrent writes, N cycles per
//!   backend (`crash.rs`); `test` runs 5.
//! - `multinode [--rounds N]`: three nodes on one PostgreSQL, one through PgBouncer, N rounds
//!   (`multinode.rs`); `test` runs one.
//! - `soak [--minutes N]`: a real server at a steady fraction of its capacity, RSS and latency
//!   per minute (`soak.rs`). Never part of `test`.
//!
//! Dependency-free on purpose: this crate is built before anything else on every invocation.

use std::{
    env,
    net::{TcpStream, ToSocketAddrs},
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

mod bench;
mod counts;
mod crash;
mod fuzz;
mod multinode;
mod schema;
mod soak;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test      fmt check, clippy -D warnings, architecture checks, all tests, SDK interop
  lint      fmt check, clippy -D warnings, architecture checks
  interop   drive a real `tessera serve` with Stytch's and Polar's Python SDKs
            (stytch==15.3.0, polar-sdk==1.0.2)
  schema    schemathesis (schemathesis==4.32.5) against a real `tessera serve`: every
            operation of /openapi.json, --checks all, positive and negative data, stateful links
              --examples N  per operation (default 100; `test` runs 10)
  bench     run every benchmark, then regenerate docs/BENCHMARKS.md and
            docs/benchmarks-authenticate.png (needs PostgreSQL; installs wrk and matplotlib)
              --quick       fewer samples and N up to 10^5 instead of 10^6
              --only NAME   run one of token, jwt, authenticate, sessions, http, peer, keep the
                            others' results, and regenerate the report from all of them
  counts    instructions per operation under valgrind's callgrind (installs valgrind):
            token parse + hash, memory and SQLite authenticate (10^4 sessions), the HTTP
            authenticate route through the router in-process
              --ops K       operations per case (default 1000)
              CASE          only these (token, memory, sqlite, create,
                            create-without-events, http)
  fuzz      build the libFuzzer targets of fuzz/ and run each one
              --seconds N   per target (default 60)
              TARGET        only this one (token_parse, slug, email, external_id,
                            claims_merge_patch, factor_input, policy_file, jwt_verify,
                            http_bodies)
  crash     kill -9 `tessera serve` under concurrent writes, then verify every acknowledged
            write (SQLite and PostgreSQL)
              --cycles N    kill/restart cycles per backend (default 50; `test` runs 5)
  multinode three nodes on one private PostgreSQL, one through PgBouncer: cross-node sessions,
            revokes, JWKS, key rotation, PostgreSQL restart (installs pgbouncer)
              --rounds N    rounds (default 10; `test` runs 1)
  soak      drive a release `tessera serve` at a steady fraction of its measured capacity and
            report RSS and p50/p99 per minute
              --minutes N   duration (default 10)
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("lint") => lint(),
        Some("interop") => step("Stytch and Polar Python SDK interop", interop),
        Some("schema") => schema::schema(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("counts") => counts::counts(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("crash") => crash::crash(&args[1..]),
        Some("multinode") => multinode::multinode(&args[1..]),
        Some("soak") => soak::soak(&args[1..]),
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
    step("architecture invariants", check_architecture)?;
    // The fuzz workspace has its own lock file, which a new dependency of the crates it uses
    // makes stale; say so now rather than after the whole test run.
    step("fuzz/Cargo.lock is current", || {
        let status = Command::new(cargo_bin())
            .args(["metadata", "--locked", "--format-version", "1", "--manifest-path"])
            .arg(workspace_root().join("fuzz").join("Cargo.toml"))
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("could not run cargo metadata: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err("fuzz/Cargo.lock is stale: update it with \
                 `cargo update --manifest-path fuzz/Cargo.toml --workspace` and commit it"
                .to_owned())
        }
    })
}

fn test() -> Result {
    lint()?;
    step("PostgreSQL for the postgres test suite", check_postgres)?;
    step("doctests", || cargo(&["test", "--workspace", "--doc", "--locked"]))?;
    if python().is_some() || in_ci() {
        step("Stytch and Polar Python SDK interop", interop)?;
    } else {
        eprintln!(
            "\nSKIPPED: the SDK interop needs python3 (with venv and pip); install it to run it"
        );
    }
    if python().is_some() || in_ci() {
        step("schemathesis against /openapi.json", schema::short_form)?;
    } else {
        eprintln!(
            "\nSKIPPED: schemathesis needs python3 (with venv and pip); install it to run it"
        );
    }
    // The multi-node test (in the nextest run) puts one node behind PgBouncer.
    step("PgBouncer for the multi-node test", multinode::ensure_pgbouncer)?;
    let tests = tests();
    // The short form of the fuzzing, every target for a few seconds; run even when a test
    // failed, so that one run reports both.
    let fuzzing = fuzz::fuzz(&["--seconds".to_owned(), FUZZ_SECONDS_IN_TEST.to_string()]);
    tests.and(fuzzing)
}

/// How long `cargo xtask test` runs each fuzz target.
const FUZZ_SECONDS_IN_TEST: u64 = 5;

/// Every test of the workspace, including the short forms of the crash and multi-node tests.
fn tests() -> Result {
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

/// What each crate must not depend on (docs/ARCHITECTURE.md, "Invariants"): the core does no
/// I/O, no async and no HTTP; only the server and tessera-axum know HTTP, and tessera-axum links
/// no database driver nor HTTP client (an embedder picks those).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "tessera-core",
        &[
            "tokio",
            "async-std",
            "sqlx",
            "rusqlite",
            "axum",
            "hyper",
            "reqwest",
            "tower",
            "getrandom",
        ],
    ),
    ("tessera-store", &["axum", "hyper", "reqwest", "tower"]),
    ("tessera-api", &["axum", "hyper", "reqwest", "tower", "sqlx", "rusqlite"]),
    ("tessera-axum", &["sqlx", "rusqlite", "reqwest", "tower-sessions"]),
    // A remote client: no store driver (it never opens a database), no OpenSSL.
    ("tessera-client", &["sqlx", "rusqlite", "openssl", "native-tls"]),
    // Signing and one delivery attempt: no store, no Tessera crate, no OpenSSL.
    ("tessera-webhooks", &["sqlx", "rusqlite", "openssl", "native-tls", "tessera-core"]),
];

fn check_architecture() -> Result {
    for (krate, forbidden) in FORBIDDEN {
        let output = Command::new(cargo_bin())
            .args(["tree", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}"])
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("could not run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!("cargo tree failed:\n{}", String::from_utf8_lossy(&output.stderr)));
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        let mut offenders: Vec<&str> = tree
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| forbidden.contains(name))
            .collect();
        offenders.sort_unstable();
        offenders.dedup();
        if !offenders.is_empty() {
            return Err(format!("{krate} must not depend on {}", offenders.join(", ")));
        }
        eprintln!("{krate} depends on none of: {}", forbidden.join(", "));
    }
    Ok(())
}

/// The PostgreSQL suites need a server. Under CI its absence is an error; elsewhere the run goes
/// on, the suites skip their cases, and this banner says so where nobody can miss it.
fn check_postgres() -> Result {
    let url =
        env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let address = postgres_address(&url);
    if tcp_reachable(&address) {
        eprintln!("PostgreSQL reachable at {address}");
        return Ok(());
    }
    let how = format!(
        "{START_POSTGRES}, or point TESSERA_TEST_POSTGRES_URL at a server \
         (postgres://user@host:port/db)"
    );
    if in_ci() {
        return Err(format!("PostgreSQL is unreachable at {address} and CI=true: {how}"));
    }
    eprintln!(
        "\n{bar}\nSKIPPED: PostgreSQL is unreachable at {address}; the postgres suites will skip \
         every case.\nTo run them, {how}.\n{bar}\n",
        bar = "!".repeat(78)
    );
    Ok(())
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const START_POSTGRES: &str =
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`";

/// Whether a TCP connection to `host:port` succeeds within 3 seconds.
fn tcp_reachable(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok())
}

/// `host:port` of a `postgres://[user[:password]@]host[:port][/db][?...]` URL.
fn postgres_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") }
}

fn in_ci() -> bool {
    env::var("CI").is_ok_and(|v| v == "true")
}

fn python() -> Option<String> {
    ["python3", "python"]
        .into_iter()
        .map(str::to_owned)
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// The SDK releases whose models Tessera's responses must satisfy: `(pip requirement, pip
/// package name, version, driver script in xtask/interop/)`.
const SDKS: &[(&str, &str, &str, &str)] = &[
    ("stytch==15.3.0", "stytch", "15.3.0", "stytch_sdk.py"),
    // Polar's API version 2026-10 (`polar.v2026_10`).
    ("polar-sdk==1.0.2", "polar-sdk", "1.0.2", "polar_sdk.py"),
];

/// Builds the server, starts it once on a fresh SQLite file and an ephemeral port, and runs each
/// driver of `xtask/interop/` against it, in one virtualenv holding both official SDKs.
fn interop() -> Result {
    let packages: Vec<(&str, &str, &str)> = SDKS
        .iter()
        .map(|(requirement, package, version, _)| (*requirement, *package, *version))
        .collect();
    let venv_python = python_venv("interop-venv", &packages)?;
    let root = workspace_root();
    with_server(|deployment| {
        for (requirement, _, _, script) in SDKS {
            eprintln!("\n--> {requirement}: xtask/interop/{script}");
            run(deployment.env(
                Command::new(&venv_python).arg(root.join("xtask").join("interop").join(script)),
            ))?;
        }
        Ok(())
    })
}

/// A virtualenv `target/<name>` holding `packages` (`(pip requirement, package, version)`),
/// created and filled when missing; its python.
pub(crate) fn python_venv(name: &str, packages: &[(&str, &str, &str)]) -> Result<PathBuf> {
    let python =
        python().ok_or("python3 is not installed: `apt-get install python3 python3-venv`")?;
    let venv = target_dir().join(name);
    let venv_python = venv.join("bin").join("python");
    if !venv_python.exists() {
        eprintln!("creating a virtualenv in {}", venv.display());
        run(Command::new(&python).args(["-m", "venv"]).arg(&venv))?;
    }
    // importlib, not `pip show`: a tenth of the time, on every run.
    let installed = |package: &str| {
        Command::new(&venv_python)
            .args(["-c", "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"])
            .arg(package)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, package, version)| installed(package).as_deref() != Some(*version))
        .map(|(requirement, ..)| *requirement)
        .collect();
    if !missing.is_empty() {
        eprintln!("installing {} from PyPI", missing.join(" "));
        run(Command::new(&venv_python).args(["-m", "pip", "install", "--quiet"]).args(&missing))?;
    }
    Ok(venv_python)
}

/// A running `tessera serve` and the credentials it printed.
pub(crate) struct Deployment {
    pub(crate) url: String,
    pub(crate) project_id: String,
    pub(crate) secret: String,
}

impl Deployment {
    /// `command` with `TESSERA_URL`, `TESSERA_PROJECT_ID` and `TESSERA_SECRET` set.
    pub(crate) fn env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("TESSERA_URL", &self.url)
            .env("TESSERA_PROJECT_ID", &self.project_id)
            .env("TESSERA_SECRET", &self.secret)
    }
}

/// Builds the server, starts it on a fresh SQLite file and an ephemeral port, runs `f` against
/// it, then stops it and removes its data.
pub(crate) fn with_server(f: impl FnOnce(&Deployment) -> Result) -> Result {
    cargo(&["build", "--locked", "--package", "tessera-server", "--bin", "tessera"])?;
    let target = target_dir();
    let data = target.join(format!("xtask-serve-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Command::new(target.join("debug").join("tessera"))
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--purge-interval-seconds", "0"])
        .env("TESSERA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start tessera: {e}"))?;
    let result = (|| {
        let stdout = server.stdout.take().ok_or("no stdout from tessera")?;
        let (url, project_id, secret) = read_announcement(stdout)?;
        eprintln!("tessera serve is up at {url} (project {project_id})");
        f(&Deployment { url, project_id, secret })
    })();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// The address, project id and secret that `tessera serve` prints at first start.
fn read_announcement(stdout: std::process::ChildStdout) -> Result<(String, String, String)> {
    use std::io::{BufRead, BufReader};
    let (mut url, mut project_id, mut secret) = (None, None, None);
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next() {
        let line = line.map_err(|e| format!("reading tessera's output: {e}"))?;
        if let Some(rest) = line.strip_prefix("Tessera listening on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("Project id: ") {
            project_id = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("API secret (shown once, store it now): ") {
            secret = Some(rest.trim().to_owned());
        }
        if let (Some(url), Some(project_id), Some(secret)) = (&url, &project_id, &secret) {
            // Keep reading: the server must never write into a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((url.clone(), project_id.clone(), secret.clone()));
        }
    }
    Err("tessera serve exited before announcing its address, project id and secret".into())
}

/// Runs the tessera-server integration tests whose names contain `filter`, ignored ones too,
/// with `env` set and their output shown (the long forms of the crash and multi-node tests print
/// their figures).
fn run_server_tests(filter: &str, env: &[(&str, String)]) -> Result {
    let mut command = Command::new(cargo_bin());
    if has_nextest() {
        command.args([
            "nextest",
            "run",
            "--locked",
            "--package",
            "tessera-server",
            "--test",
            "it",
            "--no-capture",
            "--no-fail-fast",
            "--run-ignored",
            "all",
            filter,
        ]);
    } else {
        command.args([
            "test",
            "--locked",
            "--package",
            "tessera-server",
            "--test",
            "it",
            filter,
            "--",
            "--nocapture",
            "--include-ignored",
        ]);
    }
    command.current_dir(workspace_root()).envs(env.iter().map(|(k, v)| (k, v)));
    run(&mut command)
}

/// The value of `--name N` in `args`, or `default`; any other argument is an error.
pub(crate) fn number_flag(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args {
        [] => Ok(default),
        [flag, value] if flag == name => {
            value.parse().ok().filter(|&n| n > 0).ok_or(format!("{name} takes a positive number"))
        }
        _ => Err(format!("expected at most `{name} N`, got {args:?}")),
    }
}

/// `apt-get install -y <packages>` (through sudo when not root), updating the package lists
/// and trying again if the first attempt fails.
pub(crate) fn apt_install(packages: &[&str]) -> Result {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt_get = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    let install: Vec<&str> = ["install", "-y", "-qq"].iter().chain(packages).copied().collect();
    if apt_get(&install).is_err() {
        eprintln!("xtask: apt-get install failed; updating the package lists and trying again");
        apt_get(&["update", "-qq"])?;
        apt_get(&install)?;
    }
    Ok(())
}

pub(crate) fn run(command: &mut Command) -> Result {
    // Name the program and its arguments only: the environment may hold secrets.
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let status = command.status().map_err(|e| format!("could not run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

fn step<T>(name: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("\n==> {name}");
    let started = Instant::now();
    let result = run();
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => eprintln!("==> {name}: ok ({secs:.1}s)"),
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

/// `CARGO_TARGET_DIR` (relative to the current directory, as cargo reads it) or `target/`.
pub(crate) fn target_dir() -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    std::path::absolute(&target).unwrap_or(target)
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}
