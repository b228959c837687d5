//! `cargo xtask counts [--ops K] [CASE...]`: instructions per operation of the hot paths, by
//! valgrind's callgrind (`crates/tessera-server/benches/counts.rs` names the cases). Each case
//! runs twice under `valgrind --tool=callgrind`, with no operations and with K (default 1000);
//! the difference of the two "Collected" totals divided by K is the figure, so the setup cancels
//! out. Unlike wall time on this 2-core machine (10–30% between runs), a count moves by well
//! under 1% between runs, so it can judge a small change. Never part of `test`. Installs
//! valgrind with apt-get when it is missing.

use std::process::Command;

use crate::{Result, apt_install, cargo_bin, step, workspace_root};

const CASES: [&str; 7] =
    ["token", "memory", "sqlite", "postgres", "create", "create-without-events", "http"];
const DEFAULT_OPS: u64 = 1000;

pub(crate) fn counts(args: &[String]) -> Result {
    let (ops, cases) = parse(args)?;
    if Command::new("valgrind").arg("--version").output().is_err() {
        step("install valgrind", || apt_install(&["valgrind"]))?;
    }
    let program = step("build the counts harness (release)", build)?;
    let mut rows = Vec::new();
    for case in &cases {
        let per_op = step(&format!("{case}: 0 and {ops} operations under callgrind"), || {
            let base = collected(&program, case, 0)?;
            let loaded = collected(&program, case, ops)?;
            Ok(loaded.saturating_sub(base) / ops)
        })?;
        rows.push((case, per_op));
    }
    eprintln!("\n| case | instructions per operation |\n| --- | --- |");
    for (case, per_op) in rows {
        eprintln!("| {case} | {} |", group_digits(per_op));
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<(u64, Vec<&'static str>)> {
    let mut ops = DEFAULT_OPS;
    let mut cases = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--ops" {
            ops = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or("--ops takes a positive number")?;
        } else {
            let case = CASES
                .iter()
                .find(|c| *c == arg)
                .ok_or_else(|| format!("no case named `{arg}`; there are: {}", CASES.join(", ")))?;
            cases.push(*case);
        }
    }
    if cases.is_empty() {
        cases = CASES.to_vec();
    }
    Ok((ops, cases))
}

/// Builds the harness with the bench profile and returns its path (from cargo's JSON messages).
fn build() -> Result<String> {
    let output = Command::new(cargo_bin())
        .args([
            "bench",
            "--locked",
            "--package",
            "tessera-server",
            "--bench",
            "counts",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run cargo bench --no-run: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the counts harness failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("\"name\":\"counts\""))
        .find_map(|line| json_string_field(line, "executable"))
        .ok_or_else(|| "cargo did not name the counts harness's executable".to_owned())
}

/// The string value of `"field":"..."` in one line of cargo's JSON (paths need no unescaping
/// beyond `\\` and `\"`).
fn json_string_field(line: &str, field: &str) -> Option<String> {
    let start = line.find(&format!("\"{field}\":\""))? + field.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// Total instructions of one run of the harness under callgrind.
fn collected(program: &str, case: &str, ops: u64) -> Result<u64> {
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", program, case])
        .arg(ops.to_string())
        .output()
        .map_err(|e| format!("could not run valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("the {case} case failed under valgrind:\n{stderr}"));
    }
    stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").map(|(_, n)| n.trim().parse().ok()))
        .flatten()
        .ok_or_else(|| format!("no `Collected :` line in callgrind's output:\n{stderr}"))
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse(&[]), Ok((DEFAULT_OPS, CASES.to_vec())));
        assert_eq!(parse(&args(&["--ops", "50", "http"])), Ok((50, vec!["http"])));
        assert!(parse(&args(&["--ops", "0"])).is_err());
        assert!(parse(&args(&["nope"])).is_err_and(|e| e.contains("token, memory")));
    }

    #[test]
    fn cargo_json_executable() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"counts"},"executable":"/t/a\\b/counts-1f"}"#;
        assert_eq!(json_string_field(line, "executable").as_deref(), Some("/t/a\\b/counts-1f"));
        assert_eq!(json_string_field(r#"{"executable":null}"#, "executable"), None);
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(354_886), "354 886");
        assert_eq!(group_digits(1_234_567), "1 234 567");
        assert_eq!(group_digits(12), "12");
    }
}
