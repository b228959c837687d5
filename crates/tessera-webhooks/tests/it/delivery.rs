//! One attempt per outcome.

use std::time::Duration;

use chrono::Utc;
use tessera_webhooks::{
    AddressClass, AttemptOutcome, DEFAULT_USER_AGENT, Deliverer, DeliveryConfig, MAX_ERROR_LEN,
    TargetError, TargetPolicy, WebhookSecret, WebhookUrl,
};

use crate::receiver::Receiver;

const LAX: TargetPolicy = TargetPolicy { allow_private: true };
const STRICT: TargetPolicy = TargetPolicy { allow_private: false };
const BODY: &[u8] = br#"{"type":"session.revoked","data":{"session_id":"s_1"}}"#;

fn deliverer(timeout: Duration, policy: TargetPolicy) -> Deliverer {
    Deliverer::new(DeliveryConfig { timeout, policy, ..DeliveryConfig::default() }).unwrap()
}

fn loopback(receiver: &Receiver, route: &str) -> WebhookUrl {
    WebhookUrl::parse(&receiver.url(route), LAX).unwrap()
}

fn now() -> i64 {
    Utc::now().timestamp()
}

#[tokio::test]
async fn a_2xx_is_delivered_and_the_signature_verifies_with_standardwebhooks() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let url = loopback(&receiver, "/ok");

    let first = now();
    let outcome = deliverer.attempt(&url, "msg_2kQ9", first, BODY, &[&secret]).await;
    assert_eq!(outcome, AttemptOutcome::Delivered { status: 204 });
    // A retry of the same message: same id, its own timestamp and signature.
    let outcome = deliverer.attempt(&url, "msg_2kQ9", first + 1, BODY, &[&secret]).await;
    assert_eq!(outcome, AttemptOutcome::Delivered { status: 204 });

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for (request, timestamp) in received.iter().zip([first, first + 1]) {
        assert!(request.verified);
        assert_eq!(&request.body[..], BODY);
        let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
        assert_eq!(header("content-type"), "application/json");
        assert_eq!(header("user-agent"), DEFAULT_USER_AGENT);
        assert_eq!(header("webhook-id"), "msg_2kQ9");
        assert_eq!(header("webhook-timestamp"), timestamp.to_string());
        assert!(header("webhook-signature").starts_with("v1,"));
    }
}

#[tokio::test]
async fn during_a_rotation_a_receiver_holding_only_the_old_secret_verifies() {
    let old = WebhookSecret::generate().unwrap();
    let new = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&old.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let url = loopback(&receiver, "/ok");

    let outcome = deliverer.attempt(&url, "msg_rot", now(), BODY, &[&new, &old]).await;
    assert_eq!(outcome, AttemptOutcome::Delivered { status: 204 });
    // Signed with the new secret alone, the old receiver refuses it: a 401, retried later.
    let outcome = deliverer.attempt(&url, "msg_rot", now(), BODY, &[&new]).await;
    assert!(
        matches!(outcome, AttemptOutcome::Failed { status: Some(401), retry_after: None, .. }),
        "{outcome:?}"
    );
    let received = receiver.received();
    assert_eq!(received.iter().map(|r| r.verified).collect::<Vec<_>>(), [true, false]);
    let signature = received[0].headers["webhook-signature"].to_str().unwrap();
    assert_eq!(signature.split(' ').count(), 2);
}

#[tokio::test]
async fn a_410_is_gone() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let outcome =
        deliverer.attempt(&loopback(&receiver, "/gone"), "msg_1", now(), BODY, &[&secret]).await;
    assert_eq!(outcome, AttemptOutcome::Gone);
    assert!(!outcome.is_retryable());
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_500_with_retry_after_fails_with_the_wait_it_asked_for() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let outcome =
        deliverer.attempt(&loopback(&receiver, "/busy"), "msg_1", now(), BODY, &[&secret]).await;
    assert_eq!(
        outcome,
        AttemptOutcome::Failed {
            status: Some(500),
            retry_after: Some(Duration::from_secs(7)),
            error: "HTTP 500 Internal Server Error: database is down".to_owned(),
        }
    );
    assert!(outcome.is_retryable());
}

#[tokio::test]
async fn a_302_fails_and_is_not_followed() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let outcome = deliverer
        .attempt(&loopback(&receiver, "/redirect"), "msg_1", now(), BODY, &[&secret])
        .await;
    let AttemptOutcome::Failed { status: Some(302), retry_after: None, error } = outcome else {
        panic!("expected a failed 302, got {outcome:?}");
    };
    assert!(error.contains("redirects are not followed"), "{error}");
    let routes: Vec<&str> = receiver.received().iter().map(|r| r.route).collect();
    assert_eq!(routes, ["/redirect"], "the redirect target must not be hit");
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_fails() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_millis(300), LAX);
    let started = std::time::Instant::now();
    let outcome =
        deliverer.attempt(&loopback(&receiver, "/slow"), "msg_1", now(), BODY, &[&secret]).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(
        outcome,
        AttemptOutcome::Failed {
            status: None,
            retry_after: None,
            error: "timed out after 300 ms".to_owned()
        }
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_connection_refused_fails_without_naming_the_url() {
    // A port nobody listens on: bind one, then free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let secret = WebhookSecret::generate().unwrap();
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let url =
        WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook?token=abc123"), LAX).unwrap();
    let outcome = deliverer.attempt(&url, "msg_1", now(), BODY, &[&secret]).await;
    let AttemptOutcome::Failed { status: None, retry_after: None, error } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(!error.is_empty() && error.chars().count() <= MAX_ERROR_LEN, "{error}");
    assert!(!error.contains("abc123") && !error.contains("127.0.0.1"), "{error}");
    assert!(!error.contains(&*secret.expose()), "{error}");
}

#[tokio::test]
async fn loopback_targets_are_refused_under_the_strict_policy_before_any_request() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;

    // At parse time.
    assert_eq!(
        WebhookUrl::parse(&receiver.url("/ok"), STRICT).unwrap_err(),
        TargetError::ForbiddenAddress(AddressClass::Loopback)
    );
    let by_name = format!("http://localhost:{}/ok", receiver.port);
    assert_eq!(WebhookUrl::parse(&by_name, STRICT).unwrap_err(), TargetError::LocalhostName);

    // At attempt time, for URLs accepted under a laxer policy.
    let strict = deliverer(Duration::from_secs(5), STRICT);
    let outcome =
        strict.attempt(&loopback(&receiver, "/ok"), "msg_1", now(), BODY, &[&secret]).await;
    assert_eq!(
        outcome,
        AttemptOutcome::Refused(TargetError::ForbiddenAddress(AddressClass::Loopback))
    );
    assert!(!outcome.is_retryable());
    let url = WebhookUrl::parse(&by_name, LAX).unwrap();
    let outcome = strict.attempt(&url, "msg_1", now(), BODY, &[&secret]).await;
    assert_eq!(outcome, AttemptOutcome::Refused(TargetError::LocalhostName));

    assert!(receiver.received().is_empty());

    // The same receiver, allowed.
    let lax = deliverer(Duration::from_secs(5), LAX);
    let outcome = lax.attempt(&url, "msg_1", now(), BODY, &[&secret]).await;
    assert_eq!(outcome, AttemptOutcome::Delivered { status: 204 });
}

#[tokio::test]
async fn https_is_spoken_and_a_plain_http_receiver_fails_the_handshake() {
    let secret = WebhookSecret::generate().unwrap();
    let receiver = Receiver::start(&secret.expose()).await;
    let deliverer = deliverer(Duration::from_secs(5), LAX);
    let url = WebhookUrl::parse(&format!("https://127.0.0.1:{}/ok", receiver.port), LAX).unwrap();
    let outcome = deliverer.attempt(&url, "msg_1", now(), BODY, &[&secret]).await;
    assert!(
        matches!(outcome, AttemptOutcome::Failed { status: None, retry_after: None, .. }),
        "{outcome:?}"
    );
    assert!(receiver.received().is_empty());
}
