//! Session JWT verification against mutations of real JWTs minted by the service.
//!
//! Input: the first byte picks one of the JWTs this process minted (or, with the top bit set,
//! the rest of the input is the whole candidate); the following bytes are an edit script of
//! 3-byte steps (operation, position, argument): overwrite, insert, delete, truncate, swap a
//! segment with another JWT's, or decode a segment, change a byte and re-encode it (so the
//! mutation reaches the JSON parsing behind the base64 and the signature check).
//!
//! Oracles: never a panic; local verification (`authenticate_jwt_local`) and remote
//! authenticate (`POST /v1/b2b/sessions/authenticate` with `session_jwt`) never accept a string
//! unless it is byte-identical to one of the validly signed JWTs; remote authenticate never
//! answers a 5xx.
#![no_main]

use std::sync::OnceLock;

use axum::http::{Method, StatusCode};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tessera_fuzz::server::Server;

/// Real JWTs: two sessions of the fixture's member, one of them with custom claims.
fn minted() -> &'static Vec<String> {
    static MINTED: OnceLock<Vec<String>> = OnceLock::new();
    MINTED.get_or_init(|| {
        let server = Server::get();
        let fixture = server.fixture();
        let (_, first) = server.new_session(&fixture);
        let (token, _) = server.new_session(&fixture);
        let answer = server.call(
            Method::POST,
            "/v1/b2b/sessions/authenticate",
            serde_json::to_vec(&json!({
                "session_token": token,
                "session_custom_claims": {"plan": "pro", "seats": 12, "nested": {"k": [1, 2]}},
            }))
            .unwrap(),
        );
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let with_claims = answer.json()["session_jwt"].as_str().unwrap().to_owned();
        let jwts = vec![fixture.jwt, first, with_claims];
        for jwt in &jwts {
            assert!(server.verifies_locally(jwt), "a freshly minted JWT must verify");
        }
        jwts
    })
}

fn segments(jwt: &str) -> Vec<String> {
    jwt.split('.').map(str::to_owned).collect()
}

fn mutate(data: &[u8], jwts: &[String]) -> Option<Vec<u8>> {
    let (&pick, script) = data.split_first()?;
    if pick & 0x80 != 0 {
        return Some(script.to_vec());
    }
    let mut candidate = jwts[usize::from(pick) % jwts.len()].clone().into_bytes();
    for step in script.chunks_exact(3) {
        let (op, at, arg) = (step[0], step[1], step[2]);
        let position = |len: usize| usize::from(at) * len / 256;
        match op % 7 {
            0 if !candidate.is_empty() => {
                let i = position(candidate.len());
                candidate[i] = arg;
            }
            1 => {
                let i = position(candidate.len() + 1);
                candidate.insert(i, arg);
            }
            2 if !candidate.is_empty() => {
                let i = position(candidate.len());
                candidate.remove(i);
            }
            3 => candidate.truncate(position(candidate.len() + 1)),
            4 => {
                // Put segment `at % 3` of another JWT in place of ours.
                let mut ours = segments(&String::from_utf8_lossy(&candidate));
                let theirs = segments(&jwts[usize::from(arg) % jwts.len()]);
                let i = usize::from(at) % 3;
                if i < ours.len() && i < theirs.len() {
                    ours[i] = theirs[i].clone();
                }
                candidate = ours.join(".").into_bytes();
            }
            5 => {
                // Decode a segment, change one byte of it, encode it again.
                let mut parts = segments(&String::from_utf8_lossy(&candidate));
                let i = usize::from(op / 7) % 3;
                if let Some(part) = parts.get_mut(i) {
                    if let Ok(mut raw) = URL_SAFE_NO_PAD.decode(part.as_bytes()) {
                        if !raw.is_empty() {
                            let j = position(raw.len());
                            raw[j] = arg;
                        }
                        *part = URL_SAFE_NO_PAD.encode(&raw);
                    }
                }
                candidate = parts.join(".").into_bytes();
            }
            6 => {
                // Decode a segment, insert a byte, encode it again.
                let mut parts = segments(&String::from_utf8_lossy(&candidate));
                let i = usize::from(op / 7) % 3;
                if let Some(part) = parts.get_mut(i) {
                    if let Ok(mut raw) = URL_SAFE_NO_PAD.decode(part.as_bytes()) {
                        let j = position(raw.len() + 1);
                        raw.insert(j, arg);
                        *part = URL_SAFE_NO_PAD.encode(&raw);
                    }
                }
                candidate = parts.join(".").into_bytes();
            }
            _ => {}
        }
    }
    Some(candidate)
}

fuzz_target!(|data: &[u8]| {
    let jwts = minted();
    let Some(candidate) = mutate(data, jwts) else { return };
    let server = Server::get();
    let genuine = jwts.iter().any(|jwt| jwt.as_bytes() == candidate.as_slice());

    if let Ok(text) = std::str::from_utf8(&candidate) {
        let accepted = server.verifies_locally(text);
        assert!(!accepted || genuine, "local verification accepted a forged JWT: {text:?}");
    }
    // Remote: the JWT as a JSON string (any bytes, lossily: JSON cannot carry invalid UTF-8).
    let text = String::from_utf8_lossy(&candidate);
    let genuine = genuine && matches!(text, std::borrow::Cow::Borrowed(_));
    let body = serde_json::to_vec(&json!({"session_jwt": text})).unwrap();
    let answer = server.call(Method::POST, "/v1/b2b/sessions/authenticate", body);
    assert!(!answer.status.is_server_error(), "{}: {}", answer.status, answer.text());
    assert!(
        answer.status != StatusCode::OK || genuine,
        "remote authenticate accepted a forged JWT: {text:?}"
    );
});
