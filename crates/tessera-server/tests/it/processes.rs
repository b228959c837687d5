//! Real processes for the failure tests: `tessera serve` (the binary cargo built for these
//! tests), the operator CLI, and a JSON client for them. Every child is killed when its handle
//! drops, including when a test panics, so a failed run leaves nothing behind.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use reqwest::{Client, StatusCode};
use serde_json::Value;

/// How long a starting server may take to announce its address (a cold PostgreSQL migration on
/// a loaded 2-core machine included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the store is, as `tessera --database` takes it.
#[derive(Debug, Clone)]
pub(crate) struct Database(pub(crate) String);

/// A running `tessera serve`, killed (SIGKILL) when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) base: String,
    pub(crate) project_id: String,
    /// Printed by the first start of a deployment only.
    pub(crate) secret: Option<String>,
}

impl Serve {
    /// Starts `tessera serve` on an ephemeral loopback port over `database`, with `extra` flags
    /// (global flags, placed before `serve`), and waits for its announcement (with the secret
    /// too when `first_start`).
    pub(crate) fn start(database: &Database, extra: &[&str], first_start: bool) -> Self {
        Self::try_start(database, extra, first_start).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Self::start`]; the error says how the server ended (its stderr is the test's).
    pub(crate) fn try_start(
        database: &Database,
        extra: &[&str],
        first_start: bool,
    ) -> Result<Self, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("--database")
            .arg(&database.0)
            .args(extra)
            .args(["serve", "--listen", "127.0.0.1:0", "--purge-interval-seconds", "0"])
            .env("TESSERA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start tessera serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, announced) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The receiver is gone once the announcement is read: keep draining the pipe.
                let _ = lines.send(line);
            }
        });
        let (mut base, mut project_id, mut secret) = (None, None, None);
        while base.is_none() || project_id.is_none() || (first_start && secret.is_none()) {
            let line = match announced.recv_timeout(START_TIMEOUT) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    return Err(format!(
                        "tessera serve did not announce itself (exit: {status:?}; its error is \
                         above)"
                    ));
                }
            };
            if let Some(rest) = line.strip_prefix("Tessera listening on ") {
                base = rest.split_whitespace().next().map(str::to_owned);
            } else if let Some(rest) = line.strip_prefix("Project id: ") {
                project_id = Some(rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("API secret (shown once, store it now): ")
            {
                secret = Some(rest.trim().to_owned());
            }
        }
        Ok(Self { child, base: base.unwrap(), project_id: project_id.unwrap(), secret })
    }

    /// SIGKILL, and wait for the process to be gone.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tessera --database <db> <args>` to completion; returns its stdout, or panics with its
/// stderr.
pub(crate) fn tessera_cli(database: &Database, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--database")
        .arg(&database.0)
        .args(args)
        .env("TESSERA_LOG", "warn")
        .output()
        .expect("cannot run tessera");
    assert!(
        output.status.success(),
        "tessera {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The project's credentials, for every node of a deployment.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) project_id: String,
    pub(crate) secret: String,
}

/// The answer to one call: `None` when no answer came (connection refused or reset, or the
/// client's timeout), which is what a killed or hung server looks like.
pub(crate) type Reply = Option<(StatusCode, Value)>;

/// A JSON client with the project's Basic credentials and a timeout on every call.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: Client,
    credentials: Credentials,
}

impl Api {
    pub(crate) fn new(credentials: Credentials, timeout: Duration) -> Self {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            // A killed server leaves dead keep-alive connections behind; never reuse one across
            // a restart by accident.
            .pool_max_idle_per_host(4)
            .build()
            .unwrap();
        Self { client, credentials }
    }

    pub(crate) async fn post(&self, base: &str, path: &str, body: &Value) -> Reply {
        let request = self
            .client
            .post(format!("{base}{path}"))
            .basic_auth(&self.credentials.project_id, Some(&self.credentials.secret))
            .json(body);
        Self::read(request.send().await).await
    }

    pub(crate) async fn get(&self, base: &str, path: &str) -> Reply {
        let request = self
            .client
            .get(format!("{base}{path}"))
            .basic_auth(&self.credentials.project_id, Some(&self.credentials.secret));
        Self::read(request.send().await).await
    }

    async fn read(response: reqwest::Result<reqwest::Response>) -> Reply {
        let response = response.ok()?;
        let status = response.status();
        let text = response.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

/// Whether the test runs under CI, where a missing service fails instead of skipping.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A number from the environment (the long forms of these tests), or `default`.
pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("{name} must be a number: {value}")),
        Err(_) => default,
    }
}

/// A fresh temporary directory, removed when dropped.
pub(crate) struct TempDir(pub(crate) std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
