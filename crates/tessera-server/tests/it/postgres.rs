//! `tessera serve` on PostgreSQL over TLS (`sslmode=require`, what managed databases need), with
//! a password in the URL that must never reach the banner, a log line or `tessera config`.
//!
//! The server is `TESSERA_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! trust authentication: the password in the URL is sent only if the server asks). Unreachable:
//! a loud `SKIPPED` line, or a failure under `CI=true`.

use std::str::FromStr;

use rand::{TryRngCore, rngs::OsRng};
use sqlx::{
    AssertSqlSafe, Connection,
    postgres::{PgConnectOptions, PgConnection},
};

use crate::process::ServeProcess;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PASSWORD: &str = "hunter2-Pa55";

/// An admin connection (TLS off), or `None` after a loud `SKIPPED` outside CI.
async fn admin() -> Option<(PgConnection, PgConnectOptions)> {
    let url = std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let options = PgConnectOptions::from_str(&url).unwrap();
    match PgConnection::connect_with(&options).await {
        Ok(connection) => Some((connection, options)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL unreachable ({e}); start it or set TESSERA_TEST_POSTGRES_URL")
        }
        Err(e) => {
            eprintln!(
                "\n*** SKIPPED: PostgreSQL unreachable ({e}); the server's TLS test did not run. \
                 Start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main \
                 start`) or set TESSERA_TEST_POSTGRES_URL. ***\n"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_operator_commands_work_over_tls_and_never_show_the_password() {
    let Some((mut admin, options)) = admin().await else { return };
    // A schema of its own, named so that the store suite's cleanup drops it later.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let random = OsRng.unwrap_err().try_next_u64().unwrap_or_default();
    let schema = format!("tessera_test_{}_{random:016x}", now.as_secs());
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    let application = format!("tessera-tls-{random:016x}");
    let host = options.get_host();
    let port = options.get_port();
    let database = options.get_database().unwrap_or("postgres");
    let user = options.get_username();
    let query =
        format!("sslmode=require&application_name={application}&options[search_path]={schema}");
    let urls = [
        format!("postgres://{user}:{PASSWORD}@{host}:{port}/{database}?{query}"),
        format!("postgres://{user}@{host}:{port}/{database}?password={PASSWORD}&{query}"),
    ];

    let data_dir = crate::server::fresh_dir("tessera-pg-tls");
    let data_dir = data_dir.to_str().unwrap();
    let server = ServeProcess::start(
        &["--data-dir", data_dir, "--database", &urls[0], "serve", "--listen", "127.0.0.1:0"],
        &[("TESSERA_LOG", "debug")],
    );
    let secret = server.secret.clone().expect("a fresh schema: the first start prints the secret");
    let policy = reqwest::Client::new()
        .get(server.url("/v1/b2b/rbac/policy"))
        .basic_auth(&server.project_id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), reqwest::StatusCode::OK);
    // The server's connections are encrypted.
    let encrypted: Vec<bool> = sqlx::query_scalar(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = $1",
    )
    .bind(&application)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!encrypted.is_empty() && encrypted.iter().all(|&ssl| ssl), "{encrypted:?}");

    // Operator commands over TLS, with either form of password.
    for url in &urls {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["--data-dir", data_dir, "--database", url, "config"])
            .env("TESSERA_LOG", "trace")
            .output()
            .unwrap();
        let (out, err) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{err}");
        let config: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(config["project_id"], server.project_id.as_str());
        assert!(config["store"].as_str().unwrap().contains("PostgreSQL"), "{out}");
        assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "{out}\n{err}");
    }
    let (out, err) = (server.stdout(), server.stderr());
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "{out}\n{err}");
    drop(server);
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .execute(&mut admin)
        .await
        .ok();
}
