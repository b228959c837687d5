//! `cargo xtask fuzz [--seconds N] [TARGET]`: builds every fuzz target of `fuzz/` (a workspace
//! of its own) in one cargo invocation with libFuzzer's coverage instrumentation, then runs each
//! one (or only TARGET) for N seconds (default 60) and prints executions, corpus and crashes per
//! target. A crash fails the task and leaves its input under `target/fuzz-artifacts/<target>/`.
//!
//! The engine is libFuzzer, compiled from source by the `libfuzzer-sys` crate as part of the
//! build (it needs only a C++ compiler), with the instrumentation flags cargo-fuzz passes, all of
//! them stable rustc flags: nothing to install, no nightly toolchain, no `RUSTC_BOOTSTRAP`.
//! docs/PROOF.md says why and how to reproduce a crash.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use crate::{Result, cargo_bin, step, target_dir, workspace_root};

/// Every target, in the order they run.
pub(crate) const TARGETS: &[&str] = &[
    "token_parse",
    "slug",
    "email",
    "external_id",
    "claims_merge_patch",
    "factor_input",
    "policy_file",
    "jwt_verify",
    "http_bodies",
];

/// SanitizerCoverage as cargo-fuzz sets it up for libFuzzer (`-s none`: no sanitizer, which
/// would need nightly; Rust's own checks stay on through debug assertions and overflow checks).
const INSTRUMENTATION: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// What one target's run did.
struct Outcome {
    target: &'static str,
    executions: u64,
    seconds: u64,
    corpus: usize,
    crash: Option<String>,
}

pub(crate) fn fuzz(args: &[String]) -> Result {
    let mut seconds = 60_u64;
    let mut only = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or("--seconds takes a positive number")?;
            }
            name if TARGETS.contains(&name) => only = Some(name),
            other => {
                return Err(format!(
                    "unknown fuzz argument `{other}`; targets: {}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    let binaries = step("build the fuzz targets (libFuzzer, coverage-instrumented)", build)?;
    let mut outcomes = Vec::new();
    for &target in TARGETS.iter().filter(|t| only.is_none_or(|o| o == **t)) {
        outcomes.push(step(&format!("fuzz {target} for {seconds}s"), || {
            run(target, &binaries, seconds)
        })?);
    }
    eprintln!("\n{:<20} {:>12} {:>10} {:>8}  crash", "target", "executions", "exec/s", "corpus");
    for o in &outcomes {
        eprintln!(
            "{:<20} {:>12} {:>10} {:>8}  {}",
            o.target,
            o.executions,
            o.executions / o.seconds.max(1),
            o.corpus,
            o.crash.as_deref().unwrap_or("none")
        );
    }
    let crashed: Vec<_> = outcomes.iter().filter(|o| o.crash.is_some()).map(|o| o.target).collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found crashes in {}: reproduce with the binary and the artifact printed \
             above (docs/PROOF.md)",
            crashed.join(", ")
        ))
    }
}

/// Builds every target in one cargo invocation; returns the directory of the binaries.
fn build() -> Result<PathBuf> {
    let host = host_triple()?;
    let target = target_dir().join("fuzz");
    let manifest = workspace_root().join("fuzz").join("Cargo.toml");
    let status = Command::new(cargo_bin())
        .args(["build", "--release", "--locked", "--bins", "--target", &host])
        .arg("--manifest-path")
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        // With `--target`, RUSTFLAGS reach only the target's crates, not build scripts and
        // proc macros, which need no instrumentation.
        .env("RUSTFLAGS", INSTRUMENTATION.join(" "))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| format!("could not run cargo build for the fuzz targets: {e}"))?;
    if !status.success() {
        return Err(format!("building the fuzz targets failed ({status})"));
    }
    Ok(target.join(host).join("release"))
}

fn host_triple() -> Result<String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("could not run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV printed no host triple".to_owned())
}

/// Runs one target for `seconds` over its seeds (`fuzz/corpus/<target>`, read only) and its
/// working corpus (`target/fuzz-corpus/<target>`, where libFuzzer adds what it finds).
fn run(target: &'static str, binaries: &Path, seconds: u64) -> Result<Outcome> {
    let root = workspace_root();
    let corpus = target_dir().join("fuzz-corpus").join(target);
    let artifacts = target_dir().join("fuzz-artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let seeds = root.join("fuzz").join("corpus").join(target);
    let dictionary = root.join("fuzz").join("dict").join(format!("{target}.dict"));
    let mut command = Command::new(binaries.join(target));
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=4096")
        .arg("-timeout=20")
        .arg("-max_len=8192")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    if dictionary.exists() {
        command.arg(format!("-dict={}", dictionary.display()));
    }
    command.arg(&corpus);
    if seeds.exists() {
        command.arg(&seeds);
    }
    let started = Instant::now();
    let output = command
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not run the {target} fuzz target: {e}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let executions = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_default();
    let corpus_size = fs::read_dir(&corpus).map(|d| d.count()).unwrap_or_default();
    let crash = if output.status.success() {
        None
    } else {
        // libFuzzer's report: the panic message, the stack, then where the input went.
        eprintln!("{log}");
        let artifact = log
            .lines()
            .find_map(|l| l.split_once("Test unit written to ").map(|(_, path)| path.to_owned()));
        Some(artifact.unwrap_or_else(|| format!("exit {}", output.status)))
    };
    let new_coverage = log.lines().rev().find(|l| l.contains("cov:")).unwrap_or_default();
    eprintln!("{target}: {executions} executions; last status: {}", new_coverage.trim());
    Ok(Outcome {
        target,
        executions,
        seconds: started.elapsed().as_secs(),
        corpus: corpus_size,
        crash,
    })
}
