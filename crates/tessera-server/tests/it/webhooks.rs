//! Webhooks end to end: a real `tessera serve`, a receiver on loopback that checks every
//! delivery with the `standardwebhooks` crate (an independent implementation of the spec), and
//! the contract: signed deliveries of what happened, retried after the receiver was down, and
//! an endpoint disabled by `410 Gone`.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::{Value, json};

use crate::{process::ServeProcess, processes::TempDir};

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

#[derive(Clone)]
struct Receiver {
    /// The status the receiver answers with next (200, 503, 410...).
    answer: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Self { answer: Arc::new(AtomicU16::new(200)), received: Arc::default() };
        let app = Router::new().route("/hooks", post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn answer_with(&self, status: u16) {
        self.answer.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (bounded) until `done` holds of what was received.
    async fn wait_for(&self, what: &str, bound: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + bound;
        while !done(&self.received()) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {bound:?}; received {:?}",
                self.received().iter().map(|r| (r.answered, type_of(r))).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = receiver.answer.load(Ordering::SeqCst);
    receiver.received.lock().unwrap().push(Received { headers, body, answered });
    StatusCode::from_u16(answered).unwrap()
}

fn payload(received: &Received) -> Value {
    serde_json::from_slice(&received.body).unwrap()
}

fn type_of(received: &Received) -> String {
    payload(received)["type"].as_str().unwrap_or_default().to_owned()
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

struct Client {
    http: reqwest::Client,
    server: ServeProcess,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, self.server.url(path))
            .header("authorization", self.server.basic_auth());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn sign_in(&self, organization: &str, member: &str) -> Value {
        self.post(
            "/v1/b2b/sessions",
            json!({"organization_id": organization, "member_id": member,
                   "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}]}),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_and_stop_at_410() {
    let (receiver, url) = Receiver::start().await;
    let dir = TempDir::new("tessera-webhooks-e2e");
    let data_dir = dir.path().display().to_string();
    let server = ServeProcess::start(
        &[
            "--data-dir",
            &data_dir,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--webhook-allow-private-targets",
            "--webhook-timeout-seconds",
            "5",
        ],
        &[],
    );
    let client = Client { http: reqwest::Client::new(), server };

    // An endpoint for session events; its secret is in this answer only.
    let created = client
        .post(
            "/v1/webhooks/endpoints",
            json!({"url": url, "event_types": ["session.created", "session.revoked"]}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let endpoint = created["endpoint"]["endpoint_id"].as_str().unwrap().to_owned();
    let listed = client.call(reqwest::Method::GET, "/v1/webhooks/endpoints", None).await;
    assert!(!listed.to_string().contains(&secret), "a listing never shows the secret");
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();

    // A session created and revoked: two signed deliveries, of those two events only.
    let org = client
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "Acme", "organization_slug": "acme"}),
        )
        .await;
    let org = org["organization"]["organization_id"].as_str().unwrap().to_owned();
    let member = client
        .post(
            &format!("/v1/b2b/organizations/{org}/members"),
            json!({"email_address": "ada@acme.example"}),
        )
        .await;
    let member = member["member"]["member_id"].as_str().unwrap().to_owned();
    let session = client.sign_in(&org, &member).await;
    let session_id = session["member_session"]["member_session_id"].as_str().unwrap().to_owned();
    client.post("/v1/b2b/sessions/revoke", json!({"member_session_id": session_id})).await;
    receiver.wait_for("two deliveries", Duration::from_secs(20), |r| r.len() >= 2).await;
    let first_two = receiver.received();
    // Only the endpoint's types; in either order: a round sends its deliveries concurrently,
    // and ordering is not promised (receivers order by `data.sequence`).
    let mut types: Vec<String> = first_two.iter().map(type_of).collect();
    types.sort();
    assert_eq!(types, ["session.created", "session.revoked"]);
    for delivery in &first_two {
        verifier
            .verify(&delivery.body, &delivery.headers)
            .expect("a valid Standard Webhooks signature");
        let data = &payload(delivery)["data"];
        assert_eq!(header(delivery, "webhook-id"), data["event_id"].as_str().unwrap());
        assert_eq!(data["member_session_id"], session_id.as_str());
        assert!(
            !String::from_utf8_lossy(&delivery.body)
                .contains(session["session_token"].as_str().unwrap())
        );
    }
    // A tampered body fails the independent verifier.
    let mut tampered = first_two[0].body.to_vec();
    tampered[10] ^= 1;
    assert!(verifier.verify(&tampered, &first_two[0].headers).is_err());

    // The receiver is down: the delivery fails, and arrives once it is back (the second
    // attempt comes about 5 s after the first), under the same webhook-id.
    receiver.answer_with(503);
    client.sign_in(&org, &member).await;
    receiver.wait_for("a failed attempt", Duration::from_secs(20), |r| r.len() >= 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.answer_with(200);
    receiver
        .wait_for("the retry after the receiver came back", Duration::from_secs(30), |r| {
            r.iter().skip(2).any(|d| d.answered == 200)
        })
        .await;
    let attempts: Vec<Received> = receiver.received().into_iter().skip(2).collect();
    assert_eq!(attempts[0].answered, 503);
    let delivered = attempts.iter().find(|d| d.answered == 200).unwrap();
    assert_eq!(header(&attempts[0], "webhook-id"), header(delivered, "webhook-id"));
    verifier.verify(&delivered.body, &delivered.headers).unwrap();
    let deliveries = client
        .call(
            reqwest::Method::GET,
            &format!("/v1/webhooks/deliveries?endpoint_id={endpoint}"),
            None,
        )
        .await;
    let retried = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"]["event_id"].as_str() == Some(header(delivered, "webhook-id")))
        .cloned()
        .unwrap();
    assert_eq!(retried["attempts"], 2, "{retried}");
    assert_eq!(retried["status"], "delivered");

    // 410 Gone: the endpoint is disabled, and says why.
    receiver.answer_with(410);
    let before = receiver.received().len();
    client.sign_in(&org, &member).await;
    receiver.wait_for("the 410", Duration::from_secs(20), |r| r.len() > before).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = client
            .call(reqwest::Method::GET, &format!("/v1/webhooks/endpoints/{endpoint}"), None)
            .await;
        if shown["endpoint"]["enabled"] == false {
            assert!(
                shown["endpoint"]["disabled_reason"].as_str().unwrap().contains("410"),
                "{shown}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the endpoint is still enabled: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more goes to a disabled endpoint.
    receiver.answer_with(200);
    let after_gone = receiver.received().len();
    client.sign_in(&org, &member).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), after_gone);
}

#[tokio::test]
async fn private_targets_are_refused_unless_the_operator_allows_them() {
    let dir = TempDir::new("tessera-webhooks-ssrf");
    let data_dir = dir.path().display().to_string();
    let server =
        ServeProcess::start(&["--data-dir", &data_dir, "serve", "--listen", "127.0.0.1:0"], &[]);
    let http = reqwest::Client::new();
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://[::1]/",
        "ftp://example.com/",
        "http://user:pass@example.com/",
    ] {
        let response = http
            .post(server.url("/v1/webhooks/endpoints"))
            .header("authorization", server.basic_auth())
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST, "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error_type"], "invalid_webhook_url", "{url}: {body}");
    }
    let accepted = http
        .post(server.url("/v1/webhooks/endpoints"))
        .header("authorization", server.basic_auth())
        .json(&json!({"url": "https://hooks.example.com/tessera"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), reqwest::StatusCode::OK);
}
