//! The audit log over HTTP and the command line: what the writes of a real server record, with
//! who and from where, and how `GET /v1/events` and `tessera events list` filter and page it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{cli::tessera, server::TestServer};

fn types(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn writes_leave_events_that_say_who_and_from_where() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Acme", "organization_slug": "acme"}),
        )
        .await;
    created.expect(StatusCode::OK);
    let org = created.body["organization"]["organization_id"].as_str().unwrap().to_owned();
    let member = server.member(&org, "ada@example.com").await;
    let member = member["member_id"].as_str().unwrap().to_owned();
    let session = server.session(&org, &member).await;
    let session_id = session["member_session"]["member_session_id"].as_str().unwrap().to_owned();
    let token = session["session_token"].as_str().unwrap().to_owned();
    let jwt = session["session_jwt"].as_str().unwrap().to_owned();
    server
        .call(
            Method::PUT,
            &format!("/v1/b2b/organizations/{org}"),
            Some(json!({"mfa_policy": "OPTIONAL"})),
        )
        .await
        .expect(StatusCode::OK);
    server
        .post("/v1/b2b/sessions/revoke", json!({"member_session_id": session_id}))
        .await
        .expect(StatusCode::OK);

    let page = server.get("/v1/events").await;
    page.expect(StatusCode::OK);
    assert_eq!(
        types(&page.body),
        [
            "organization.created",
            "member.created",
            "session.created",
            "organization.updated",
            "session.revoked"
        ],
        "{}",
        page.body
    );
    let events = page.body["events"].as_array().unwrap();
    // Who and where: the project's credentials, this server's peer, the creating request.
    let first = &events[0];
    assert_eq!(first["actor"]["type"], "project");
    assert_eq!(first["ip_address"], "127.0.0.1");
    assert_eq!(first["request_id"].as_str(), created.request_id_header.as_deref());
    assert_eq!(first["organization_id"], org.as_str());
    let sign_in = &events[2];
    assert_eq!(sign_in["member_id"], member.as_str());
    assert_eq!(sign_in["member_session_id"], session_id.as_str());
    assert_eq!(sign_in["payload"]["method"], "api");
    assert_eq!(sign_in["payload"]["factors"], json!(["magic_link"]));
    assert_eq!(events[3]["payload"]["changed"], json!(["mfa_policy"]));
    assert_eq!(events[4]["payload"]["reason"], "revoked_by_id");
    let sequences: Vec<u64> = events.iter().map(|e| e["sequence"].as_u64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    // Never a credential.
    let text = page.body.to_string();
    assert!(!text.contains(&token) && !text.contains(&jwt) && !text.contains(&server.secret));

    // Filters and the cursor.
    let revoked = server.get("/v1/events?type=session.revoked,session.exchanged").await;
    assert_eq!(types(&revoked.body), ["session.revoked"]);
    let of_member = server.get(&format!("/v1/events?member_id={member}")).await;
    assert_eq!(types(&of_member.body), ["member.created", "session.created", "session.revoked"]);
    let first_page = server.get("/v1/events?limit=2").await;
    assert_eq!(types(&first_page.body).len(), 2);
    let cursor = first_page.body["next_cursor"].as_u64().unwrap();
    let rest = server.get(&format!("/v1/events?after={cursor}&limit=10")).await;
    assert_eq!(types(&rest.body).len(), 3);
    assert!(rest.body["next_cursor"].is_null());

    // Bad filters are typed 400s that echo nothing unbounded.
    server
        .get("/v1/events?type=session.hijacked")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_event_type");
    server.get("/v1/events?limit=0").await.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    server
        .get("/v1/events?since=yesterday")
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_request");
    let long = "x".repeat(5000);
    let bad = server.get(&format!("/v1/events?member_id={long}")).await;
    bad.expect_error(StatusCode::BAD_REQUEST, "invalid_member_id");
    assert!(bad.body.to_string().len() < 1000);
    // The project's credentials are required.
    let anonymous = server.client().get(server.url("/v1/events")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_lists_and_follows_the_log() {
    let server = TestServer::start().await;
    let org = server.organization("acme").await;
    let org = org["organization_id"].as_str().unwrap().to_owned();
    let member = server.member(&org, "ada@example.com").await;
    server.session(&org, member["member_id"].as_str().unwrap()).await;
    let (ok, _, err) = tessera(&server.data_dir, &["sessions", "revoke-all", "--yes"]);
    assert!(ok, "{err}");

    let (ok, out, err) =
        tessera(&server.data_dir, &["events", "list", "--type", "session.revoked"]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["actor"]["type"], "operator");
    assert_eq!(lines[0]["payload"]["scope"], "deployment");
    assert_eq!(lines[0]["payload"]["revoked_count"], 1);
    let (ok, _, err) = tessera(&server.data_dir, &["events", "list", "--type", "session.nope"]);
    assert!(!ok && err.contains("session.nope"), "{err}");

    // `--follow` prints what commits after it started, until stopped.
    let last = lines[0]["sequence"].as_u64().unwrap().to_string();
    let mut follower = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(&server.data_dir)
        .args(["events", "list", "--follow", "--after", &last])
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    server.member(&org, "bob@example.com").await;
    let line = lines_rx.recv_timeout(Duration::from_secs(20));
    follower.kill().ok();
    follower.wait().ok();
    let event: Value =
        serde_json::from_str(&line.expect("the follower printed the new event")).unwrap();
    assert_eq!(event["type"], "member.created");
}
