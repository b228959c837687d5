//! `cargo xtask bench [--quick] [--only NAME]`: runs the benchmarks and regenerates
//! `docs/BENCHMARKS.md` and `docs/benchmarks-authenticate.png`.
//!
//! Every benchmark writes JSON records (one measured figure each) into its own directory,
//! `<target>/bench-results/<name>/`, given to it as `TESSERA_BENCH_RESULTS` (or `--out` for the
//! standalone peer). A full run starts from an empty `bench-results/`, so nothing stale reaches
//! the report; `--only NAME` empties `bench-results/NAME/` only and keeps the others' records.
//! `bench-results/run.json` describes the run (an `--only` run writes `<name>/run.json`), and
//! `xtask/bench/report.py` turns the whole directory into the report.

use std::{
    env, fs, io,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use crate::{
    DEFAULT_POSTGRES_URL, Result, START_POSTGRES, cargo, cargo_bin, postgres_address, python, run,
    step, target_dir, tcp_reachable, workspace_root,
};

/// Every benchmark, in the order a full run takes them. Adding one is one line here.
const BENCHES: &[Bench] = &[
    Bench::cargo_bench("token", "tessera-core"),
    Bench::cargo_bench("jwt", "tessera-api"),
    Bench::cargo_bench("authenticate", "tessera-api"),
    Bench::cargo_bench("sessions", "tessera-api"),
    Bench::cargo_bench("http", "tessera-server"),
    Bench::standalone("peer", "bench/tower-sessions-peer/Cargo.toml"),
];

/// The plotting library of the report, in `<target>/bench-venv`.
const MATPLOTLIB_VERSION: &str = "3.9.2";

#[derive(Debug)]
struct Bench {
    /// What `--only` takes, and the results subdirectory.
    name: &'static str,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// `cargo bench --locked -p PACKAGE --bench NAME` in this workspace.
    CargoBench { package: &'static str },
    /// `cargo run --release --locked --manifest-path MANIFEST -- --out DIR [--quick]`: a project
    /// of its own (its own lockfile), built in `<target>/NAME`.
    Standalone { manifest: &'static str },
}

impl Bench {
    const fn cargo_bench(name: &'static str, package: &'static str) -> Self {
        Self { name, kind: Kind::CargoBench { package } }
    }

    const fn standalone(name: &'static str, manifest: &'static str) -> Self {
        Self { name, kind: Kind::Standalone { manifest } }
    }

    fn command(&self, env: &BenchEnv<'_>) -> Command {
        let out = env.results.join(self.name);
        let mut command = Command::new(cargo_bin());
        command
            .current_dir(workspace_root())
            .env("TESSERA_BENCH_RESULTS", &out)
            .env("TESSERA_BENCH_WRK", env.wrk);
        if env.quick {
            command.env("TESSERA_BENCH_QUICK", "1");
        } else {
            command.env_remove("TESSERA_BENCH_QUICK");
        }
        match self.kind {
            Kind::CargoBench { .. } => {
                // `--workspace`, not `-p`: every bench then sees the same unified features, so
                // the one build of `build_benches` serves them all (with `-p`, shared
                // dependencies are rebuilt for each package's feature set).
                command.args(["bench", "--locked", "--workspace", "--bench", self.name]);
            }
            Kind::Standalone { manifest } => {
                command
                    .args(["run", "--release", "--locked", "--manifest-path"])
                    .arg(workspace_root().join(manifest))
                    .args(["--", "--out"])
                    .arg(&out)
                    .env("CARGO_TARGET_DIR", env.target.join(self.name));
                if env.quick {
                    command.arg("--quick");
                }
            }
        }
        command
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::CargoBench { package } => {
                format!("cargo bench --locked --workspace --bench {} ({package})", self.name)
            }
            Kind::Standalone { manifest } => {
                format!("cargo run --release --locked --manifest-path {manifest}")
            }
        }
    }
}

/// What every benchmark process is given.
#[derive(Debug)]
struct BenchEnv<'a> {
    quick: bool,
    results: &'a Path,
    target: &'a Path,
    wrk: &'a Path,
}

#[derive(Debug, PartialEq)]
struct Options {
    quick: bool,
    only: Option<&'static str>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self { quick: false, only: None };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let only = match arg.as_str() {
                "--quick" => {
                    options.quick = true;
                    continue;
                }
                "--only" => args.next().ok_or("--only needs a benchmark name")?.as_str(),
                other => match other.strip_prefix("--only=") {
                    Some(name) => name,
                    None => {
                        return Err(format!(
                            "unknown option `{other}` for bench (see `cargo xtask help`)"
                        ));
                    }
                },
            };
            let bench = BENCHES.iter().find(|b| b.name == only).ok_or_else(|| {
                format!("no benchmark named `{only}`; there are: {}", bench_names())
            })?;
            options.only = Some(bench.name);
        }
        Ok(options)
    }

    fn command_line(&self) -> String {
        let mut line = "cargo xtask bench".to_owned();
        if self.quick {
            line.push_str(" --quick");
        }
        if let Some(name) = self.only {
            line.push_str(" --only ");
            line.push_str(name);
        }
        line
    }
}

fn bench_names() -> String {
    BENCHES.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

/// One benchmark's outcome, for `run.json`.
#[derive(Debug)]
struct StepRecord {
    name: &'static str,
    duration_s: f64,
    ok: bool,
}

pub(crate) fn bench(args: &[String]) -> Result {
    let options = Options::parse(args)?;
    let root = workspace_root();
    let target = target_dir();
    let results = target.join("bench-results");

    step("PostgreSQL for the benchmarks", check_postgres)?;
    let mut wrk = PathBuf::new();
    step("wrk (HTTP load generator)", || {
        wrk = ensure_wrk()?;
        Ok(())
    })?;
    let mut venv_python = PathBuf::new();
    step(&format!("Python virtualenv with matplotlib {MATPLOTLIB_VERSION}"), || {
        venv_python = ensure_venv(&target)?;
        Ok(())
    })?;

    let selected: Vec<&Bench> =
        BENCHES.iter().filter(|b| options.only.is_none_or(|name| b.name == name)).collect();
    let metadata = match options.only {
        None => {
            empty_dir(&results)?;
            results.join("run.json")
        }
        Some(name) => {
            empty_dir(&results.join(name))?;
            results.join(name).join("run.json")
        }
    };

    let started_at = capture(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]));
    let git_commit = git_commit();
    let rustc = capture(Command::new("rustc").arg("--version").current_dir(&root));
    let env = BenchEnv { quick: options.quick, results: &results, target: &target, wrk: &wrk };
    let mut steps = Vec::new();
    if selected.iter().any(|b| matches!(b.kind, Kind::CargoBench { .. })) {
        // One build of every bench binary, using both cores throughout.
        let started = Instant::now();
        let built = step("build the benchmarks (cargo bench --workspace --no-run)", || {
            cargo(&["bench", "--locked", "--workspace", "--no-run"])
        });
        steps.push(StepRecord {
            name: "build",
            duration_s: started.elapsed().as_secs_f64(),
            ok: built.is_ok(),
        });
        built?;
    }
    for bench in selected {
        fs::create_dir_all(results.join(bench.name))
            .map_err(|e| format!("cannot create {}: {e}", results.join(bench.name).display()))?;
        let started = Instant::now();
        let outcome = step(&format!("bench {}: {}", bench.name, bench.describe()), || {
            run(&mut bench.command(&env))
        });
        if let Err(message) = &outcome {
            eprintln!("xtask: {message}; going on with the other benchmarks");
        }
        steps.push(StepRecord {
            name: bench.name,
            duration_s: started.elapsed().as_secs_f64(),
            ok: outcome.is_ok(),
        });
    }

    let json = run_json(&options, &started_at, &git_commit, &rustc, &steps);
    fs::write(&metadata, json).map_err(|e| format!("cannot write {}: {e}", metadata.display()))?;
    step("docs/BENCHMARKS.md and docs/benchmarks-authenticate.png", || {
        let docs = root.join("docs");
        run(Command::new(&venv_python)
            .arg(root.join("xtask").join("bench").join("report.py"))
            .arg("--results")
            .arg(&results)
            .arg("--out")
            .arg(docs.join("BENCHMARKS.md"))
            .arg("--plot")
            .arg(docs.join("benchmarks-authenticate.png")))
    })?;

    let failed: Vec<&str> = steps.iter().filter(|s| !s.ok).map(|s| s.name).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "benchmark(s) failed: {}; the report shows what the others measured (see the output \
             above for why, and `cargo xtask bench --only NAME` to re-run one)",
            failed.join(", ")
        ))
    }
}

/// The benchmarks compare against PostgreSQL, so unlike the test suite they need it.
fn check_postgres() -> Result {
    let url =
        env::var("TESSERA_BENCH_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let address = postgres_address(&url);
    if tcp_reachable(&address) {
        eprintln!("PostgreSQL reachable at {address}");
        Ok(())
    } else {
        Err(format!(
            "PostgreSQL is unreachable at {address}, and the benchmarks measure against it: \
             {START_POSTGRES}, or point TESSERA_BENCH_DATABASE_URL at a server \
             (postgres://user@host:port/db)"
        ))
    }
}

/// `wrk` from PATH, installed from the distribution's packages if missing.
fn ensure_wrk() -> Result<PathBuf> {
    if let Some(wrk) = find_on_path("wrk") {
        eprintln!("wrk found at {}", wrk.display());
        return Ok(wrk);
    }
    let by_hand = "install wrk (https://github.com/wg/wrk) and put it on PATH";
    if find_on_path("apt-get").is_none() {
        return Err(format!("wrk is not on PATH and there is no apt-get here: {by_hand}"));
    }
    eprintln!("wrk is not on PATH; installing it with apt-get");
    crate::apt_install(&["wrk"]).map_err(|e| format!("{e}: {by_hand}"))?;
    find_on_path("wrk").ok_or_else(|| format!("wrk was installed but is not on PATH: {by_hand}"))
}

/// `<target>/bench-venv` with matplotlib, for `xtask/bench/report.py`; returns its python.
fn ensure_venv(target: &Path) -> Result<PathBuf> {
    let python =
        python().ok_or("python3 is not installed: `apt-get install python3 python3-venv`")?;
    let venv = target.join("bench-venv");
    let venv_python = venv.join("bin").join("python");
    if !venv_python.exists() {
        eprintln!("creating a virtualenv in {}", venv.display());
        run(Command::new(&python).args(["-m", "venv"]).arg(&venv))
            .map_err(|e| format!("{e}: on Debian, `apt-get install python3-venv`"))?;
    }
    let installed = Command::new(&venv_python)
        .args(["-m", "pip", "show", "matplotlib"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|line| line.trim() == format!("Version: {MATPLOTLIB_VERSION}"))
        });
    if !installed {
        eprintln!("installing matplotlib=={MATPLOTLIB_VERSION} from PyPI");
        run(Command::new(&venv_python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("matplotlib=={MATPLOTLIB_VERSION}"),
        ]))
        .map_err(|e| {
            format!(
                "{e}: pip needs to reach PyPI; if the virtualenv is broken, delete {} and \
                 run again",
                venv.display()
            )
        })?;
    }
    Ok(venv_python)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// Deletes `dir` with everything in it and creates it again, empty.
fn empty_dir(dir: &Path) -> Result {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot delete {}: {e}", dir.display())),
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// The command's trimmed standard output, or `unknown` if it could not run or failed: the run's
/// description must not stop a benchmark run.
fn capture(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|out| !out.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The short commit hash, with `-dirty` when the work tree has changes.
fn git_commit() -> String {
    let root = workspace_root();
    let commit =
        capture(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(&root));
    let dirty = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&root)
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if dirty { format!("{commit}-dirty") } else { commit }
}

fn run_json(
    options: &Options,
    started_at: &str,
    git_commit: &str,
    rustc: &str,
    steps: &[StepRecord],
) -> String {
    let duration: f64 = steps.iter().map(|s| s.duration_s).sum();
    let steps = steps
        .iter()
        .map(|s| {
            format!(
                "    {{\"name\": {}, \"duration_s\": {:.1}, \"ok\": {}}}",
                json_string(s.name),
                s.duration_s,
                s.ok
            )
        })
        .collect::<Vec<_>>()
        .join(",\n");
    let only = options.only.map_or_else(|| "null".to_owned(), json_string);
    format!(
        "{{\n  \"mode\": {},\n  \"command\": {},\n  \"only\": {only},\n  \"started_at\": {},\n  \
         \"duration_s\": {duration:.1},\n  \"git_commit\": {},\n  \"rustc\": {},\n  \
         \"steps\": [\n{steps}\n  ]\n}}\n",
        json_string(if options.quick { "quick" } else { "full" }),
        json_string(&options.command_line()),
        json_string(started_at),
        json_string(git_commit),
        json_string(rustc),
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        assert_eq!(parse(&[]), Ok(Options { quick: false, only: None }));
        assert_eq!(
            parse(&["--only", "http", "--quick"]),
            Ok(Options { quick: true, only: Some("http") })
        );
        assert_eq!(parse(&["--only=peer"]), Ok(Options { quick: false, only: Some("peer") }));
        assert!(parse(&["--only", "nope"]).is_err_and(|e| e.contains("token, jwt")));
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert_eq!(
            parse(&["--quick", "--only", "jwt"]).map(|o| o.command_line()),
            Ok("cargo xtask bench --quick --only jwt".to_owned())
        );
    }

    #[test]
    fn usage_names_every_benchmark() {
        for bench in BENCHES {
            assert!(crate::USAGE.contains(bench.name), "USAGE does not name `{}`", bench.name);
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("rustc 1.95.0"), "\"rustc 1.95.0\"");
        assert_eq!(json_string("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }

    #[test]
    fn run_json_shape() {
        let options = Options { quick: true, only: None };
        let steps = [
            StepRecord { name: "token", duration_s: 1.5, ok: true },
            StepRecord { name: "http", duration_s: 2.0, ok: false },
        ];
        let json = run_json(&options, "2026-01-02T03:04:05Z", "abc1234-dirty", "rustc 1", &steps);
        assert!(json.contains("\"mode\": \"quick\""));
        assert!(json.contains("\"command\": \"cargo xtask bench --quick\""));
        assert!(json.contains("\"only\": null"));
        assert!(json.contains("\"duration_s\": 3.5"));
        assert!(json.contains("{\"name\": \"http\", \"duration_s\": 2.0, \"ok\": false}"));
    }
}
