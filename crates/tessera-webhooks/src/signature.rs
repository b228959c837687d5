//! Signing and verifying, per Standard Webhooks v1.0.0.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the MAC HMAC-SHA256 keyed by
//! the secret's decoded bytes, the header value `v1,<standard base64 with padding>`. While a
//! secret is being rotated, a delivery carries one signature per live secret, space-separated,
//! and a verifier accepts the delivery when any of them matches any secret it holds: the
//! receiver can switch secrets at its own pace.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use crate::secret::WebhookSecret;

/// The header carrying the message id, the same on every attempt of one message.
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the attempt's time, in Unix seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// How far a timestamp may be from the verifier's clock, either way (the spec's five minutes):
/// a captured delivery replays for at most this long.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// At most this many signatures of one header are checked. Rotation needs two or three; the
/// bound keeps a hostile header from costing one HMAC comparison per byte it sends.
pub const MAX_SIGNATURES_CHECKED: usize = 16;

const VERSION_PREFIX: &str = "v1,";

/// The `v1,<base64>` signature of one message under one secret.
///
/// ```
/// use tessera_webhooks::{WebhookSecret, sign};
///
/// let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
/// let body = br#"{"email":"test@example.com","username":"test_user"}"#;
/// assert_eq!(
///     sign(&secret, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
///     "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
/// );
/// # Ok::<(), tessera_webhooks::SecretError>(())
/// ```
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
    let tag = mac(secret, msg_id, timestamp, payload);
    let mut out = String::with_capacity(VERSION_PREFIX.len() + 44);
    out.push_str(VERSION_PREFIX);
    STANDARD.encode_string(tag.as_ref(), &mut out);
    out
}

/// The `webhook-signature` value: one signature per secret, space-separated, in the order given
/// (during a rotation, the new secret and the old). An empty `secrets` gives an empty value,
/// which every verifier refuses.
///
/// ```
/// use tessera_webhooks::{WebhookSecret, signature_header};
///
/// let new = WebhookSecret::generate()?;
/// let old = WebhookSecret::generate()?;
/// let header = signature_header(&[&new, &old], "msg_1", 1_700_000_000, b"{}");
/// assert_eq!(header.split(' ').count(), 2);
/// assert!(header.split(' ').all(|s| s.starts_with("v1,")));
/// # Ok::<(), tessera_webhooks::SecretError>(())
/// ```
pub fn signature_header(
    secrets: &[&WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, payload))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three webhook headers of a received delivery, as text.
///
/// ```
/// use tessera_webhooks::WebhookHeaders;
///
/// let headers = WebhookHeaders { id: "msg_1", timestamp: "1700000000", signature: "v1,AAAA" };
/// assert_eq!(headers.id, "msg_1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`, Unix seconds as sent.
    pub timestamp: &'a str,
    /// `webhook-signature`, one or more space-separated `v1,…` entries.
    pub signature: &'a str,
}

impl<'a> WebhookHeaders<'a> {
    /// The headers of an HTTP request (`http::HeaderMap`, as axum and reqwest hand them out).
    ///
    /// ```
    /// use reqwest::header::{HeaderMap, HeaderValue};
    /// use tessera_webhooks::{VerifyError, WebhookHeaders};
    ///
    /// let mut map = HeaderMap::new();
    /// map.insert("webhook-id", HeaderValue::from_static("msg_1"));
    /// map.insert("webhook-timestamp", HeaderValue::from_static("1700000000"));
    /// assert_eq!(
    ///     WebhookHeaders::from_header_map(&map),
    ///     Err(VerifyError::MissingHeader("webhook-signature")),
    /// );
    /// ```
    pub fn from_header_map(map: &'a HeaderMap) -> Result<Self, VerifyError> {
        let get = |name: &'static str| {
            map.get(name)
                .ok_or(VerifyError::MissingHeader(name))?
                .to_str()
                .map_err(|_| VerifyError::InvalidHeader(name))
        };
        Ok(Self {
            id: get(HEADER_ID)?,
            timestamp: get(HEADER_TIMESTAMP)?,
            signature: get(HEADER_SIGNATURE)?,
        })
    }
}

/// Why a received delivery is refused. Never carries a secret, a signature or the body.
///
/// ```
/// use tessera_webhooks::VerifyError;
///
/// assert_eq!(VerifyError::SignatureMismatch.to_string(), "no signature matches");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A webhook header is absent.
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// A webhook header is not visible ASCII.
    #[error("the `{0}` header is not valid text")]
    InvalidHeader(&'static str),
    /// `webhook-timestamp` is not an integer.
    #[error("`webhook-timestamp` is not Unix seconds")]
    InvalidTimestamp,
    /// The timestamp is older than the tolerance: possibly a replay.
    #[error("the timestamp is older than the tolerance")]
    TimestampTooOld,
    /// The timestamp is further ahead than the tolerance.
    #[error("the timestamp is further in the future than the tolerance")]
    TimestampInFuture,
    /// No signature matches any secret (including: no `v1,` signature at all, no secret).
    #[error("no signature matches")]
    SignatureMismatch,
}

/// Accepts a delivery when its timestamp is within `tolerance` of `now` and any `v1,` signature
/// of the header matches any of `secrets`; comparisons are constant-time (`hmac::verify`).
/// Entries of other versions are skipped, as the spec asks, and only the first
/// [`MAX_SIGNATURES_CHECKED`] entries count.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use tessera_webhooks::{DEFAULT_TOLERANCE, WebhookHeaders, WebhookSecret, verify};
///
/// let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
/// let headers = WebhookHeaders {
///     id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
///     timestamp: "1649367553",
///     signature: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
/// };
/// let body = br#"{"email":"test@example.com","username":"test_user"}"#;
/// let now = Utc.timestamp_opt(1649367553 + 10, 0).unwrap();
/// assert_eq!(verify(&[&secret], &headers, body, now, DEFAULT_TOLERANCE), Ok(()));
/// # Ok::<(), tessera_webhooks::SecretError>(())
/// ```
pub fn verify(
    secrets: &[&WebhookSecret],
    headers: &WebhookHeaders<'_>,
    payload: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = headers.timestamp.parse().map_err(|_| VerifyError::InvalidTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let now = now.timestamp();
    if now.saturating_sub(timestamp) > tolerance {
        return Err(VerifyError::TimestampTooOld);
    }
    if timestamp.saturating_sub(now) > tolerance {
        return Err(VerifyError::TimestampInFuture);
    }
    let tags: Vec<Vec<u8>> = headers
        .signature
        .split(' ')
        .take(MAX_SIGNATURES_CHECKED)
        .filter_map(|entry| entry.strip_prefix(VERSION_PREFIX))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    let content = signed_content(headers.id, timestamp, payload);
    let matches = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.key_bytes());
        tags.iter().any(|tag| hmac::verify(&key, &content, tag).is_ok())
    });
    if matches { Ok(()) } else { Err(VerifyError::SignatureMismatch) }
}

fn mac(secret: &WebhookSecret, msg_id: &str, timestamp: i64, payload: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.key_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(msg_id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(payload);
    context.sign()
}

/// `{id}.{timestamp}.{payload}` in one buffer, for `hmac::verify` (which takes one slice).
fn signed_content(msg_id: &str, timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(msg_id.len() + timestamp.len() + payload.len() + 2);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(payload);
    content
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    fn spec_secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    fn check(
        secrets: &[&WebhookSecret],
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        let headers = WebhookHeaders { id, timestamp, signature };
        verify(secrets, &headers, body, at(TIMESTAMP), DEFAULT_TOLERANCE)
    }

    #[test]
    fn the_spec_vector_signs_and_verifies() {
        let secret = spec_secret();
        assert_eq!(sign(&secret, ID, TIMESTAMP, BODY), EXPECTED);
        assert_eq!(signature_header(&[&secret], ID, TIMESTAMP, BODY), EXPECTED);
        assert_eq!(check(&[&secret], ID, "1649367553", EXPECTED, BODY), Ok(()));
    }

    #[test]
    fn tampering_with_body_id_or_timestamp_fails() {
        let secret = spec_secret();
        let mismatch = Err(VerifyError::SignatureMismatch);
        let tampered_body = br#"{"email":"evil@example.com","username":"test_user"}"#;
        assert_eq!(check(&[&secret], ID, "1649367553", EXPECTED, tampered_body), mismatch);
        assert_eq!(check(&[&secret], "msg_other", "1649367553", EXPECTED, BODY), mismatch);
        assert_eq!(check(&[&secret], ID, "1649367554", EXPECTED, BODY), mismatch);
        let other = WebhookSecret::generate().unwrap();
        assert_eq!(check(&[&other], ID, "1649367553", EXPECTED, BODY), mismatch);
        assert_eq!(check(&[], ID, "1649367553", EXPECTED, BODY), mismatch);
    }

    #[test]
    fn rotation_a_header_with_two_signatures_verifies_under_either_secret() {
        let old = spec_secret();
        let new = WebhookSecret::generate().unwrap();
        let header = signature_header(&[&new, &old], ID, TIMESTAMP, BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [sign(&new, ID, TIMESTAMP, BODY).as_str(), EXPECTED]);
        assert_eq!(check(&[&old], ID, "1649367553", &header, BODY), Ok(()));
        assert_eq!(check(&[&new], ID, "1649367553", &header, BODY), Ok(()));
        // A receiver holding both during its own switch-over.
        let unrelated = WebhookSecret::generate().unwrap();
        assert_eq!(check(&[&unrelated, &new], ID, "1649367553", &header, BODY), Ok(()));
    }

    #[test]
    fn malformed_and_foreign_signatures_are_skipped() {
        let secret = spec_secret();
        let mixed = format!("v2,abcd v1,!!! v1, garbage v1a,xyz {EXPECTED}");
        assert_eq!(check(&[&secret], ID, "1649367553", &mixed, BODY), Ok(()));
        let mismatch = Err(VerifyError::SignatureMismatch);
        assert_eq!(check(&[&secret], ID, "1649367553", "", BODY), mismatch);
        assert_eq!(check(&[&secret], ID, "1649367553", &EXPECTED[..20], BODY), mismatch);
        assert_eq!(
            check(&[&secret], ID, "1649367553", &EXPECTED.replace("v1,", "v2,"), BODY),
            mismatch
        );
        // A truncated tag, even a correct prefix, is not a match.
        let truncated =
            format!("v1,{}", STANDARD.encode(&STANDARD.decode(&EXPECTED[3..]).unwrap()[..16]));
        assert_eq!(check(&[&secret], ID, "1649367553", &truncated, BODY), mismatch);
    }

    #[test]
    fn only_the_first_signatures_are_checked() {
        let secret = spec_secret();
        let padding = vec!["v1,AAAA"; MAX_SIGNATURES_CHECKED].join(" ");
        let header = format!("{padding} {EXPECTED}");
        assert_eq!(
            check(&[&secret], ID, "1649367553", &header, BODY),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn timestamps_beyond_the_tolerance_either_way_are_refused() {
        let secret = spec_secret();
        let tolerance = 300;
        let signed_at = |t: i64| sign(&secret, ID, t, BODY);
        let verify_at = |t: i64| {
            let signature = signed_at(t);
            let timestamp = t.to_string();
            let headers = WebhookHeaders { id: ID, timestamp: &timestamp, signature: &signature };
            verify(&[&secret], &headers, BODY, at(TIMESTAMP), DEFAULT_TOLERANCE)
        };
        assert_eq!(verify_at(TIMESTAMP - tolerance), Ok(()));
        assert_eq!(verify_at(TIMESTAMP + tolerance), Ok(()));
        assert_eq!(verify_at(TIMESTAMP - tolerance - 1), Err(VerifyError::TimestampTooOld));
        assert_eq!(verify_at(TIMESTAMP + tolerance + 1), Err(VerifyError::TimestampInFuture));
        assert_eq!(verify_at(i64::MIN), Err(VerifyError::TimestampTooOld));
        assert_eq!(verify_at(i64::MAX), Err(VerifyError::TimestampInFuture));
        for bad in ["", "16493675.53", "1649367553 ", "0x62502d81", "1e9"] {
            assert_eq!(
                check(&[&secret], ID, bad, EXPECTED, BODY),
                Err(VerifyError::InvalidTimestamp),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn headers_come_from_a_header_map() {
        let mut map = HeaderMap::new();
        map.insert(HEADER_ID, HeaderValue::from_static(ID));
        map.insert(HEADER_TIMESTAMP, HeaderValue::from_static("1649367553"));
        assert_eq!(
            WebhookHeaders::from_header_map(&map),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE))
        );
        map.insert(HEADER_SIGNATURE, HeaderValue::from_bytes(b"v1,\xff").unwrap());
        assert_eq!(
            WebhookHeaders::from_header_map(&map),
            Err(VerifyError::InvalidHeader(HEADER_SIGNATURE))
        );
        map.insert(HEADER_SIGNATURE, HeaderValue::from_static(EXPECTED));
        let headers = WebhookHeaders::from_header_map(&map).unwrap();
        assert_eq!(
            verify(&[&spec_secret()], &headers, BODY, at(TIMESTAMP), DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    /// The independent implementation (the `standardwebhooks` crate) against this one, both
    /// ways. It verifies against the system clock, so these use the current time.
    mod oracle {
        use super::*;

        fn oracle_headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
            let mut map = HeaderMap::new();
            map.insert(HEADER_ID, HeaderValue::from_str(id).unwrap());
            map.insert(HEADER_TIMESTAMP, HeaderValue::from_str(&timestamp.to_string()).unwrap());
            map.insert(HEADER_SIGNATURE, HeaderValue::from_str(signature).unwrap());
            map
        }

        #[test]
        fn the_oracle_signs_the_spec_vector_as_we_do() {
            let oracle = standardwebhooks::Webhook::new(SECRET).unwrap();
            assert_eq!(oracle.sign(ID, TIMESTAMP, BODY).unwrap(), EXPECTED);
        }

        #[test]
        fn the_oracle_verifies_our_headers_including_rotation() {
            let ours = WebhookSecret::generate().unwrap();
            let other = WebhookSecret::generate().unwrap();
            let now = Utc::now().timestamp();
            let header = signature_header(&[&other, &ours], ID, now, BODY);
            for secret in [&ours, &other] {
                let oracle = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
                oracle.verify(BODY, &oracle_headers(ID, now, &header)).unwrap();
                assert!(oracle.verify(b"{}", &oracle_headers(ID, now, &header)).is_err());
            }
            let stranger = WebhookSecret::generate().unwrap();
            let oracle = standardwebhooks::Webhook::new(&stranger.expose()).unwrap();
            assert!(oracle.verify(BODY, &oracle_headers(ID, now, &header)).is_err());
        }

        #[test]
        fn we_verify_the_oracles_signatures() {
            let secret = WebhookSecret::generate().unwrap();
            let oracle = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
            let now = Utc::now();
            let signature = oracle.sign("msg_oracle", now.timestamp(), BODY).unwrap();
            let map = oracle_headers("msg_oracle", now.timestamp(), &signature);
            let headers = WebhookHeaders::from_header_map(&map).unwrap();
            assert_eq!(verify(&[&secret], &headers, BODY, now, DEFAULT_TOLERANCE), Ok(()));
            assert_eq!(
                verify(&[&secret], &headers, b"{}", now, DEFAULT_TOLERANCE),
                Err(VerifyError::SignatureMismatch)
            );
        }
    }
}
