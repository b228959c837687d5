//! The operator commands, run as the real `tessera` binary, next to a running server on the same
//! SQLite file: their effects are what the server then sees.

use std::{path::Path, process::Command};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::TestServer;

/// Runs `tessera --data-dir <dir> <args>`; returns (success, stdout, stderr).
pub(crate) fn tessera(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("TESSERA_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[track_caller]
fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_work_next_to_a_running_server() {
    let server = TestServer::start().await;
    let dir = server.data_dir.clone();

    let (ok, out, err) =
        tessera(&dir, &["organizations", "create", "--name", "Acme", "--slug", "acme"]);
    assert!(ok, "{err}");
    let organization_id = json_of(&out)["organization_id"].as_str().unwrap().to_owned();
    // The server sees what the command wrote.
    let seen = server.get("/v1/b2b/organizations/acme").await;
    seen.expect(StatusCode::OK);
    assert_eq!(seen.body["organization"]["organization_id"], organization_id.as_str());

    let (ok, out, err) = tessera(
        &dir,
        &[
            "members",
            "create",
            "--organization",
            "acme",
            "--email",
            "ada@example.com",
            "--role",
            "tessera_admin",
        ],
    );
    assert!(ok, "{err}");
    let member_id = json_of(&out)["member_id"].as_str().unwrap().to_owned();

    // A session made through the API, listed and revoked through the CLI.
    let session = server.session(&organization_id, &member_id).await;
    let token = session["session_token"].as_str().unwrap().to_owned();
    let (ok, out, err) = tessera(
        &dir,
        &["sessions", "list", "--organization", "acme", "--member", "ada@example.com"],
    );
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["member_sessions"].as_array().unwrap().len(), 1);
    let (ok, out, err) =
        tessera(&dir, &["sessions", "revoke", "--organization", "acme", "--member", &member_id]);
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["revoked"], 1);
    server
        .post("/v1/b2b/sessions/authenticate", json!({"session_token": token}))
        .await
        .expect_error(StatusCode::NOT_FOUND, "session_not_found");

    let (ok, out, err) = tessera(&dir, &["purge"]);
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["purged"], 0, "the revoked session is within its retention");

    let (ok, out, err) = tessera(&dir, &["keys", "rotate"]);
    assert!(ok, "{err}");
    let kid = json_of(&out)["kid"].as_str().unwrap().to_owned();
    let jwks = server.get(&format!("/v1/b2b/sessions/jwks/{}", server.project_id)).await;
    jwks.expect(StatusCode::OK);
    let kids: Vec<_> =
        jwks.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert!(!kids.is_empty(), "{kids:?}");
    assert!(kid.len() > 10, "{kid}");

    let (ok, out, err) = tessera(&dir, &["config"]);
    assert!(ok, "{err}");
    let config = json_of(&out);
    assert_eq!(config["project_id"], server.project_id.as_str());
    assert!(!out.contains(&server.secret), "config must not print the secret");

    // A new secret: the old one stops working at once, the new one works.
    let (ok, out, err) = tessera(&dir, &["secret", "rotate"]);
    assert!(ok, "{err}");
    let new_secret = out.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(new_secret.starts_with("tsr_secret_"), "{out}");
    // The new secret works within a second (a failed check re-reads the secret, at most once a
    // second); the old one stops within the credential refresh interval.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let with_new = server
            .client()
            .get(server.url("/v1/b2b/rbac/policy"))
            .basic_auth(&server.project_id, Some(&new_secret))
            .send()
            .await
            .unwrap();
        if with_new.status() == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new secret is not accepted");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let answer = server.get("/v1/b2b/rbac/policy").await;
        if answer.status == StatusCode::UNAUTHORIZED {
            answer.expect_error(StatusCode::UNAUTHORIZED, "unauthorized_credentials");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the old secret still works");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[test]
fn bad_operator_input_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-it-{}", std::process::id()));
    let (ok, _, err) =
        tessera(&dir, &["members", "create", "--organization", "acme", "--email", "not-an-email"]);
    assert!(!ok);
    assert!(err.contains("email address is invalid"), "{err}");
    let (ok, _, err) =
        tessera(&dir, &["organizations", "create", "--name", "X", "--slug", "bad slug"]);
    assert!(!ok);
    assert!(err.contains("organization slug is invalid"), "{err}");
    let (ok, _, err) =
        tessera(&dir, &["--database", "postgres://nobody@127.0.0.1:1/none", "config"]);
    assert!(!ok);
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs `tessera <args>` (no `--data-dir` added) with extra environment variables.
fn tessera_env(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_remove("TESSERA_DATABASE")
        .env("TESSERA_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn out_of_range_settings_are_errors_naming_the_flag_and_its_range() {
    let dir = crate::server::fresh_dir("tessera-cli-ranges");
    let dir = dir.to_str().unwrap();
    // (arguments after `--data-dir <dir>`, the flag, the range as the error writes it)
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--purge-retention-days", "1000000000000", "config"],
            "--purge-retention-days",
            "0..=3660",
        ),
        (&["--purge-retention-days", "-1", "config"], "--purge-retention-days", "0..=3660"),
        (
            &["--purge-retention-days", "99999999999999999999", "config"],
            "--purge-retention-days",
            "0..=3660",
        ),
        (&["--default-session-minutes", "4", "config"], "--default-session-minutes", "5..=527040"),
        (
            &["--default-session-minutes", "527041", "config"],
            "--default-session-minutes",
            "5..=527040",
        ),
        (
            &["--default-session-minutes", "99999999999999999999", "config"],
            "--default-session-minutes",
            "5..=527040",
        ),
        (&["--touch-interval-seconds", "3601", "config"], "--touch-interval-seconds", "0..=3600"),
        (&["--touch-interval-seconds", "-1", "config"], "--touch-interval-seconds", "0..=3600"),
        (&["--token-prefix", "bad prefix!", "config"], "--token-prefix", "token prefix"),
        (
            &["serve", "--purge-interval-seconds", "18446744073709551615"],
            "--purge-interval-seconds",
            "0..=31622400",
        ),
        (
            &["serve", "--header-read-timeout-seconds", "0"],
            "--header-read-timeout-seconds",
            "1..=300",
        ),
        (
            &["serve", "--header-read-timeout-seconds", "301"],
            "--header-read-timeout-seconds",
            "1..=300",
        ),
        (&["serve", "--request-timeout-seconds", "0"], "--request-timeout-seconds", "1..=3600"),
        (
            &["serve", "--request-timeout-seconds", "18446744073709551615"],
            "--request-timeout-seconds",
            "1..=3600",
        ),
        (&["serve", "--max-concurrent-requests", "0"], "--max-concurrent-requests", "1..=100000"),
        (
            &["serve", "--shutdown-timeout-seconds", "3601"],
            "--shutdown-timeout-seconds",
            "0..=3600",
        ),
        (&["serve", "--listen", "127.0.0.1:99999"], "--listen", "address"),
        (&["serve", "--metrics-listen", "nowhere"], "--metrics-listen", "address"),
    ];
    for (args, flag, range) in cases {
        let mut all = vec!["--data-dir", dir];
        all.extend_from_slice(args);
        let (ok, out, err) = tessera_env(&all, &[]);
        assert!(!ok, "{args:?} was accepted: {out}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: the error does not name {flag}: {err}");
        assert!(err.contains(range), "{args:?}: the error does not give the range {range}: {err}");
    }
    // The same through the environment.
    let (ok, _, err) = tessera_env(
        &["--data-dir", dir, "config"],
        &[("TESSERA_PURGE_RETENTION_DAYS", "1000000000000")],
    );
    assert!(!ok);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("--purge-retention-days") && err.contains("0..=3660"), "{err}");
    // Refused before anything was created.
    assert!(!Path::new(dir).exists(), "a refused command created the data directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_serve_creates_the_deployment_and_it_prints_the_secret() {
    let dir = crate::server::fresh_dir("tessera-cli-fresh");
    // An operator command on a fresh data directory does not make a secret nobody sees.
    for args in [
        &["organizations", "create", "--name", "Acme", "--slug", "acme"][..],
        &["members", "create", "--organization", "acme", "--email", "ada@example.com"],
        &["keys", "rotate"],
        &["purge"],
    ] {
        let (ok, out, err) = tessera(&dir, args);
        assert!(!ok, "{args:?} worked on a store without a deployment: {out}");
        assert!(
            err.contains("tessera serve"),
            "{args:?}: the error does not say what to do: {err}"
        );
        assert!(!out.contains("tsr_secret_") && !err.contains("tsr_secret_"), "{out}{err}");
    }
    let (ok, out, err) = tessera(&dir, &["secret", "rotate"]);
    assert!(!ok, "secret rotate made a deployment: {out}");
    assert!(err.contains("tessera serve"), "{err}");
    let (ok, out, err) = tessera(&dir, &["config"]);
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["project_id"], Value::Null, "{out}");

    // The first `serve` creates it and prints the secret, which works.
    let data_dir = dir.to_str().unwrap();
    let server = crate::process::ServeProcess::start(
        &["--data-dir", data_dir, "serve", "--listen", "127.0.0.1:0"],
        &[],
    );
    let secret = server.secret.clone().expect("the first serve prints the secret");
    assert!(secret.starts_with("tsr_secret_"), "{secret}");
    let answer = reqwest::Client::new()
        .get(server.url("/v1/b2b/rbac/policy"))
        .basic_auth(&server.project_id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    // Operator commands now work on it, and `config` names it.
    let (ok, out, err) =
        tessera(&dir, &["organizations", "create", "--name", "Acme", "--slug", "acme"]);
    assert!(ok, "{err}");
    assert!(json_of(&out)["organization_id"].is_string());
    let (ok, out, err) = tessera(&dir, &["config"]);
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["project_id"], server.project_id.as_str());
    // A second start does not print a secret.
    drop(server);
    let again = crate::process::ServeProcess::start(
        &["--data-dir", data_dir, "serve", "--listen", "127.0.0.1:0"],
        &[],
    );
    assert!(again.secret.is_none());
    assert!(!again.stdout().contains(&secret));
}

#[test]
fn the_database_password_never_reaches_help_errors_or_config() {
    const PASSWORD: &str = "hunter2-Pa55";
    let dir = crate::server::fresh_dir("tessera-cli-password");
    let dir = dir.to_str().unwrap();
    let urls = [
        format!("postgres://tessera:{PASSWORD}@127.0.0.1:1/none"),
        format!("postgres://tessera@127.0.0.1:1/none?password={PASSWORD}&sslmode=require"),
        format!("postgresql://tessera:{PASSWORD}@127.0.0.1:1/none?sslmode=bogus"),
        format!("postgres://tessera:{PASSWORD}@127.0.0.1:notaport/none"),
        // A mistyped parameter: sqlx would log its value.
        format!("postgres://tessera@127.0.0.1:1/none?pasword={PASSWORD}"),
    ];
    for url in &urls {
        for args in [
            &["--database", url, "config"][..],
            &["--database", url, "serve", "--listen", "127.0.0.1:0"],
        ] {
            let mut all = vec!["--data-dir", dir];
            all.extend_from_slice(args);
            let (ok, out, err) = tessera_env(&all, &[("TESSERA_LOG", "trace")]);
            assert!(!ok, "{out}");
            assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "{url}: {out}{err}");
            assert!(err.contains("PostgreSQL"), "{err}");
        }
        // The variable's value is not shown by --help either.
        let (ok, out, err) = tessera_env(&["--help"], &[("TESSERA_DATABASE", url)]);
        assert!(ok, "{err}");
        assert!(!out.contains(PASSWORD), "{out}");
    }
}
