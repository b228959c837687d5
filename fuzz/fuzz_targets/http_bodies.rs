//! Every JSON body route of the HTTP API, through the server's real router, extractors and
//! parsers (`tessera_server::http::router` over a memory store, called with tower's `oneshot`).
//!
//! Input: the first byte picks the route, the rest is the body; `$ORG`, `$MEMBER`, `$TOKEN` and
//! `$JWT` in the body become a live organization id, member id, session token and session JWT.
//!
//! Oracles: never a panic; never a 5xx (the memory store cannot be unavailable, so every
//! failure is the client's); every answer is JSON with a `request-id` header. On the Stytch and
//! Tessera routes every answer has the `request_id` in the body too, and every failure is
//! Stytch's error body with an `error_type`, whose message echoes at most a bounded part of the
//! input; on the Polar routes every failure is one of Polar's bodies (`{error, detail}`, or the
//! 422 `{detail: [{loc, msg, type}]}`), equally bounded.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use tessera_fuzz::server::{Server, fill_in};

/// The most an error message may say: a fixed sentence and bounded prefixes of what was wrong,
/// never the whole input (bodies go up to 64 KiB).
const MAX_ERROR_MESSAGE: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&route, body)) = data.split_first() else { return };
    let server = Server::get();
    let fixture = server.fixture();
    let polar = matches!(route % 12, 8 | 9);
    let (method, path) = match route % 12 {
        0 => (Method::POST, "/v1/b2b/organizations".to_owned()),
        1 => (Method::PUT, format!("/v1/b2b/organizations/{}", fixture.organization_id)),
        2 => (Method::POST, format!("/v1/b2b/organizations/{}/members", fixture.organization_id)),
        3 => (
            Method::PUT,
            format!(
                "/v1/b2b/organizations/{}/members/{}",
                fixture.organization_id, fixture.member_id
            ),
        ),
        4 => (Method::POST, "/v1/b2b/sessions".to_owned()),
        5 => (Method::POST, "/v1/b2b/sessions/authenticate".to_owned()),
        6 => (Method::POST, "/v1/b2b/sessions/revoke".to_owned()),
        7 => (Method::POST, "/v1/b2b/sessions/exchange".to_owned()),
        8 => (Method::POST, "/v1/member-sessions/".to_owned()),
        9 => (Method::POST, "/v1/customer-sessions/".to_owned()),
        10 => (Method::POST, "/v1/b2b/sessions/factors".to_owned()),
        _ => (
            Method::POST,
            format!("/v1/b2b/organizations/{}/sessions/revoke", fixture.organization_id),
        ),
    };
    let answer = server.call(method.clone(), &path, fill_in(body, &fixture));
    let status = answer.status;
    assert!(!status.is_server_error(), "{method} {path} answered {status}: {}", answer.text());
    assert!(answer.request_id.is_some(), "{method} {path}: no request-id header");
    let json = answer.json();
    if polar {
        if !status.is_success() {
            check_polar_error(&method, &path, &json);
        }
        return;
    }
    assert!(json["request_id"].is_string(), "{method} {path}: no request_id in {json}");
    if !status.is_success() {
        assert!(json["error_type"].is_string(), "{method} {path}: no error_type in {json}");
        assert_eq!(json["status_code"], status.as_u16(), "{method} {path}: {json}");
        check_bounded(&method, &path, json["error_message"].as_str().unwrap_or_default());
    }
});

/// Polar's error bodies: `{error, detail}`, or the 422 `{detail: [{loc, msg, type}]}`.
fn check_polar_error(method: &Method, path: &str, json: &serde_json::Value) {
    match &json["detail"] {
        serde_json::Value::Array(items) => {
            assert!(!items.is_empty(), "{method} {path}: an empty validation error: {json}");
            for item in items {
                assert!(item["loc"].is_array(), "{method} {path}: no loc in {json}");
                assert!(item["type"].is_string(), "{method} {path}: no type in {json}");
                check_bounded(method, path, item["msg"].as_str().unwrap_or_default());
            }
        }
        serde_json::Value::String(detail) => {
            assert!(json["error"].is_string(), "{method} {path}: no error in {json}");
            check_bounded(method, path, detail);
        }
        _ => panic!("{method} {path}: not one of Polar's error bodies: {json}"),
    }
}

fn check_bounded(method: &Method, path: &str, message: &str) {
    assert!(
        message.len() <= MAX_ERROR_MESSAGE,
        "{method} {path}: a {}-byte error message echoes the input: {:?}",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
}
