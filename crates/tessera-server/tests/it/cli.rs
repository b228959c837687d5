//! The operator commands, run as the real `tessera` binary, next to a running server on the same
//! SQLite file: their effects are what the server then sees.

use std::{path::Path, process::Command};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::TestServer;

/// Runs `tessera --data-dir <dir> <args>`; returns (success, stdout, stderr).
fn tessera(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
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
