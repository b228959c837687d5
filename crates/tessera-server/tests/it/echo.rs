//! Error messages echo what the client sent only as a bounded, printable prefix: a 10 KB enum
//! value, field value or path segment never comes back whole, and control characters never
//! come back at all.

use reqwest::StatusCode;
use serde_json::json;

use crate::server::{Answer, TestServer};

/// At most this many characters of an error message (the longest fixed text plus one bounded
/// echo fits well within it).
const MESSAGE_BOUND: usize = 400;

#[track_caller]
fn assert_bounded(answer: &Answer, needle: &str) {
    assert!(answer.status.is_client_error(), "{}: {}", answer.status, answer.body);
    let message = answer.body["error_message"].as_str().unwrap();
    assert!(message.chars().count() <= MESSAGE_BOUND, "{} chars: {message}", message.len());
    assert!(!message.contains(needle), "the whole input came back: {message}");
    assert!(!message.chars().any(char::is_control), "control characters came back: {message:?}");
}

#[tokio::test]
async fn error_messages_echo_input_only_as_a_bounded_printable_prefix() {
    let server = TestServer::start().await;
    let huge = "X".repeat(10_000);
    let long_prefix = "X".repeat(100);

    // An unknown enum value.
    let answer = server
        .post(
            "/v1/b2b/organizations",
            json!({"organization_name": "A", "organization_slug": "ok", "mfa_policy": huge}),
        )
        .await;
    answer.expect_error(StatusCode::BAD_REQUEST, "invalid_organization_mfa_policy");
    assert_bounded(&answer, &long_prefix);
    let message = answer.body["error_message"].as_str().unwrap();
    assert!(
        message.contains("XXXXXXXXXX…"),
        "the echo keeps a prefix and says it was cut: {message}"
    );

    // A value of the wrong type, a huge unknown factor type, a huge field name.
    let bodies = [
        json!({"organization_name": "A", "organization_slug": "ok", "max_session_lifetime_minutes": huge}),
        json!({"organization_name": huge.clone() + "\"", "organization_slug": 7}),
        json!({"organization_name": "A", "organization_slug": "ok", "mfa_policy": format!("\u{7}\u{1b}[31m{huge}")}),
        json!({huge.clone(): 1, "organization_name": 2}),
    ];
    for body in bodies {
        let answer = server.post("/v1/b2b/organizations", body).await;
        assert_bounded(&answer, &long_prefix);
    }
    let answer = server
        .post(
            "/v1/b2b/sessions",
            json!({"organization_id": "x", "member_id": "y",
                   "authentication_factors": [{"type": huge, "delivery_method": "email"}]}),
        )
        .await;
    assert_bounded(&answer, &long_prefix);

    // Path and query parameters.
    assert_bounded(&server.get(&format!("/v1/b2b/organizations/{huge}")).await, &long_prefix);
    let answer =
        server.get(&format!("/v1/b2b/sessions?organization_id={huge}&member_id={huge}")).await;
    assert_bounded(&answer, &long_prefix);
}
