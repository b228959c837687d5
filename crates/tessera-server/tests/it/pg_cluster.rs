//! PostgreSQL for the failure tests: a scratch database on the shared server
//! (`TESSERA_TEST_POSTGRES_URL`, by default `postgres://postgres@127.0.0.1:5432/postgres`) for
//! tests that kill Tessera, and a private throw-away cluster for tests that stop PostgreSQL
//! itself, so that nobody else's tests notice.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    str::FromStr,
    time::Duration,
};

use sqlx::{
    AssertSqlSafe, Connection,
    postgres::{PgConnectOptions, PgConnection},
};

use crate::processes::{TempDir, in_ci};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn shared_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Says loudly that a PostgreSQL test did not run, or fails under CI.
pub(crate) fn unavailable(what: &str, why: &str) {
    if in_ci() {
        panic!("{what} is unavailable and CI=true: {why}");
    }
    eprintln!("\n*** SKIPPED: {what} is unavailable ({why}); this test did not run. ***\n");
}

/// A database of its own on the shared server, dropped by [`Self::drop_now`] (or by the next
/// run, if a test panicked: databases named `tessera_scratch_*` older than an hour go).
pub(crate) struct ScratchDatabase {
    admin: PgConnectOptions,
    name: String,
}

impl ScratchDatabase {
    /// `None` (after saying so) when the shared server is unreachable outside CI.
    pub(crate) async fn create(purpose: &str) -> Option<Self> {
        let admin = PgConnectOptions::from_str(&shared_url())
            .unwrap_or_else(|e| panic!("TESSERA_TEST_POSTGRES_URL is not a PostgreSQL URL: {e}"));
        let mut conn = match PgConnection::connect_with(&admin).await {
            Ok(conn) => conn,
            Err(e) => {
                unavailable("PostgreSQL", &e.to_string());
                return None;
            }
        };
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'tessera\\_scratch\\_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for (name,) in stale {
            let made: u64 = name.split('_').nth(3).and_then(|t| t.parse().ok()).unwrap_or(u64::MAX);
            if made.saturating_add(3600) < now {
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
            }
        }
        let name = format!("tessera_scratch_{purpose}_{now}_{}", std::process::id());
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap();
        Some(Self { admin, name })
    }

    /// The database's URL, as `tessera --database` takes it.
    pub(crate) fn url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.admin.get_username(),
            self.admin.get_host(),
            self.admin.get_port(),
            self.name
        )
    }

    pub(crate) async fn drop_now(self) {
        let mut conn = PgConnection::connect_with(&self.admin).await.unwrap();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    }
}

/// The directory of PostgreSQL's server programs (`initdb`, `postgres`), newest version first.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// `(uid, gid)` of the `postgres` account, when this process runs as root: PostgreSQL and
/// PgBouncer refuse to run as root.
pub(crate) fn unprivileged_account() -> Option<(u32, u32)> {
    let uid = std::fs::read_to_string("/proc/self/status").ok()?.lines().find_map(|l| {
        l.strip_prefix("Uid:").and_then(|rest| rest.split_whitespace().next()?.parse::<u32>().ok())
    })?;
    if uid != 0 {
        return None;
    }
    std::fs::read_to_string("/etc/passwd").ok()?.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
            .flatten()
    })
}

/// Runs a command as the unprivileged account when we are root.
pub(crate) fn as_unprivileged(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = unprivileged_account() {
        command.uid(uid).gid(gid);
    }
    command
}

/// Gives a path to the unprivileged account (it must own its data and socket directories).
pub(crate) fn hand_over(path: &std::path::Path) {
    if let Some((uid, gid)) = unprivileged_account() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: good enough for a test on loopback).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private PostgreSQL cluster in a temporary directory on a free loopback port: `initdb`, then
/// `postgres` as a child process that [`Self::stop`] and [`Self::start`] control, killed when
/// dropped.
pub(crate) struct PrivateCluster {
    bin: PathBuf,
    dir: TempDir,
    pub(crate) port: u16,
    postmaster: Option<Child>,
}

impl PrivateCluster {
    /// `None` (after saying so) when PostgreSQL's server programs are not installed, outside CI.
    pub(crate) fn create() -> Option<Self> {
        let Some(bin) = server_bin() else {
            unavailable("PostgreSQL's initdb", "no /usr/lib/postgresql/*/bin/initdb");
            return None;
        };
        let dir = TempDir::new("tessera-private-pg");
        hand_over(dir.path());
        let data = dir.path().join("data");
        let status = as_unprivileged(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]))
        .stdout(Stdio::null())
        .status()
        .expect("cannot run initdb");
        assert!(status.success(), "initdb failed ({status})");
        let mut cluster = Self { bin, dir, port: free_port(), postmaster: None };
        cluster.start();
        Some(cluster)
    }

    /// Starts the postmaster and waits until it accepts connections.
    pub(crate) fn start(&mut self) {
        assert!(self.postmaster.is_none(), "already running");
        let child = as_unprivileged(
            Command::new(self.bin.join("postgres"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
                .arg(self.dir.path())
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "log_min_messages=fatal",
                ]),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start postgres");
        self.postmaster = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the private PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fast shutdown (SIGINT: open connections are cut, as in a restart), and wait for it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.postmaster.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    pub(crate) fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The directory this cluster lives in (for PgBouncer's files).
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Some(mut child) = self.postmaster.take() {
            // Immediate shutdown: nothing here is worth keeping.
            let _ = Command::new("kill").args(["-QUIT", &child.id().to_string()]).status();
            if child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(200));
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}
