//! The example app's flows (`examples/app.rs`), on SQLite: through `oneshot`, and once over a
//! real socket.

use axum::{
    Router,
    http::{Request, StatusCode},
};
use tessera_api::{ServiceConfig, SessionService};

use crate::support::{Answer, get_, send};

#[path = "../../examples/app.rs"]
#[allow(dead_code, unreachable_pub)]
mod app;

async fn example() -> (Router, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "tessera-axum-example-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    let store = tessera_store::sqlite::SqliteStore::open(dir.join("tessera.db"))
        .await
        .unwrap()
        .into_store();
    let service = SessionService::new(store, ServiceConfig::new("project-example"))
        .with_policy(app::policy());
    app::seed(&service).await.unwrap();
    app::seed(&service).await.unwrap(); // idempotent
    (app::app(service), dir)
}

/// The `Cookie` header a browser would send after these `Set-Cookie`s.
fn jar(answer: &Answer, previous: &str) -> String {
    let mut cookies: Vec<(String, String)> = previous
        .split("; ")
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for set in answer.set_cookies() {
        let pair = set.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        cookies.retain(|(k, _)| k != name);
        if !value.is_empty() {
            cookies.push((name.to_owned(), value.to_owned()));
        }
    }
    cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

async fn send_json(
    app: &Router,
    request: axum::http::request::Builder,
    body: serde_json::Value,
) -> Answer {
    use tower::ServiceExt;
    let request = request
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer { status, headers, body }
}

#[tokio::test]
async fn sign_in_guards_step_up_and_logout() {
    let (app, dir) = example().await;
    let credentials = serde_json::json!({"organization": "acme", "email": "ada@acme.example", "password": "correct horse"});

    let wrong = serde_json::json!({"organization": "acme", "email": "ada@acme.example", "password": "guess"});
    assert_eq!(
        send_json(&app, Request::post("/login"), wrong).await.status,
        StatusCode::UNAUTHORIZED
    );

    let answer = send_json(&app, Request::post("/login"), credentials).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let cookies = jar(&answer, "");
    assert!(cookies.contains("stytch_session=") && cookies.contains("stytch_session_jwt="));

    let answer = send(&app, get_("/orgs/acme/documents").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let answer = send(&app, Request::post("/orgs/acme/documents").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::OK, "ada is an editor");
    let answer = send(&app, get_("/orgs/globex/documents").header("cookie", &cookies)).await;
    assert_eq!(answer.error_type(), "session_authorization_tenancy_error");

    let answer = send(&app, get_("/orgs/acme/billing").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "mfa_required");

    let step_up = Request::post("/orgs/acme/step-up").header("cookie", &cookies);
    let answer = send_json(&app, step_up, serde_json::json!({"code": "123456"})).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let stepped = jar(&answer, &cookies);
    assert_ne!(stepped, cookies, "the token rotated: both cookies rewritten");
    let answer = send(&app, get_("/orgs/acme/billing").header("cookie", &stepped)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    // The cookies from before the step-up name a rotated token and an older JWT: dead.
    let answer = send(&app, get_("/orgs/acme/billing").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let answer = send(&app, Request::post("/logout").header("cookie", &stepped)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(jar(&answer, &stepped), "", "logout clears both cookies");
    // Replaying the cookies after logout: refused at once, the local JWT path included.
    let answer = send(&app, get_("/me").header("cookie", &stepped)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_type(), "session_not_found");
    let answer = send(&app, get_("/me")).await;
    assert_eq!(answer.body["member_id"], serde_json::Value::Null);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_viewer_may_read_but_not_write() {
    let (app, dir) = example().await;
    let credentials = serde_json::json!({"organization": "acme", "email": "vic@acme.example", "password": "correct horse"});
    let answer = send_json(&app, Request::post("/login"), credentials).await;
    let cookies = jar(&answer, "");
    let answer = send(&app, get_("/orgs/acme/documents").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(&app, Request::post("/orgs/acme/documents").header("cookie", &cookies)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "session_authorization_error");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_example_serves_over_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, dir) = example().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let body = r#"{"organization":"acme","email":"ada@acme.example","password":"correct horse"}"#;
    let request = format!(
        "POST /login HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let jwt = response
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: stytch_session_jwt="))
        .and_then(|rest| rest.split(';').next())
        .expect("the JWT cookie")
        .to_owned();

    let request = format!(
        "GET /orgs/acme/documents HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {jwt}\r\nconnection: close\r\n\r\n"
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("cache-control: private, no-store"), "{response}");
    server.abort();
    std::fs::remove_dir_all(dir).ok();
}
