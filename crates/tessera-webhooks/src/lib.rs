//! # tessera-webhooks
//!
//! The pure and the HTTP pieces of webhook delivery per
//! [Standard Webhooks](https://www.standardwebhooks.com/) v1.0.0; the queue, the storage of
//! attempts and the worker loop belong to whoever embeds it.
//!
//! ## The contract with receivers
//!
//! - Each delivery is a `POST` of a JSON body (`content-type: application/json`) with three
//!   headers: `webhook-id` (the message id), `webhook-timestamp` (the attempt's time, Unix
//!   seconds) and `webhook-signature`.
//! - The signature is `v1,` and the standard base64 (padded) of HMAC-SHA256 over
//!   `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the endpoint's secret
//!   ([`WebhookSecret`], `whsec_` + base64 of 24 to 64 bytes). While a secret is rotated, the
//!   header carries one signature per secret, space-separated, and any match verifies
//!   ([`sign`], [`signature_header`], [`verify`]). Verifiers refuse timestamps more than five
//!   minutes off their clock ([`DEFAULT_TOLERANCE`]) and compare in constant time.
//! - Delivery is **at least once**: a message is retried until a 2xx, with the same
//!   `webhook-id` on every attempt (receivers drop duplicates by it) and a fresh timestamp and
//!   signature. **Ordering is not guaranteed**: a retried message can arrive after a later one.
//! - Outcomes ([`AttemptOutcome`]): a 2xx within the timeout (15 s) is delivered; `410 Gone`
//!   disables the endpoint; anything else (3xx, which is never followed, 4xx, 5xx, 429, timeouts,
//!   connection errors) is retried on [`RetrySchedule`]: immediately, then 5 s, 5 min, 30 min,
//!   2 h, 5 h, 10 h, 10 h, 14 h, 20 h and 24 h, each ±10% jitter, never sooner than the
//!   receiver's `Retry-After` (capped at 24 h). After the last attempt the message is dead; an
//!   endpoint failing without a success for five days is disabled.
//! - Targets ([`WebhookUrl`], [`TargetPolicy`], [`GuardedResolver`]): `http` or `https` only,
//!   no credentials in the URL, and no loopback, private, link-local or other non-public
//!   address, whether written as an IP literal or reached through DNS.
//!
//! ```
//! use chrono::Utc;
//! use tessera_webhooks::{
//!     DEFAULT_TOLERANCE, RetrySchedule, WebhookHeaders, WebhookSecret, random_fraction,
//!     signature_header, verify,
//! };
//!
//! // Sender: sign an attempt.
//! let secret = WebhookSecret::generate()?;
//! let now = Utc::now();
//! let body = br#"{"type":"session.revoked"}"#;
//! let signature = signature_header(&[&secret], "msg_1", now.timestamp(), body);
//!
//! // Receiver: verify it.
//! let timestamp = now.timestamp().to_string();
//! let headers = WebhookHeaders { id: "msg_1", timestamp: &timestamp, signature: &signature };
//! assert!(verify(&[&secret], &headers, body, now, DEFAULT_TOLERANCE).is_ok());
//!
//! // Sender, after attempt 1 failed: when is attempt 2 due?
//! let due = RetrySchedule::default().next_attempt_at(2, None, now, random_fraction());
//! assert!(due.is_some_and(|at| at > now));
//! # Ok::<(), tessera_webhooks::SecretError>(())
//! ```

#![warn(missing_docs)]

mod delivery;
mod schedule;
mod secret;
mod signature;
mod target;

pub use crate::{
    delivery::{
        AttemptOutcome, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, Deliverer, DeliveryConfig,
        DeliveryError, MAX_ERROR_LEN,
    },
    schedule::{
        DEFAULT_DELAYS, DEFAULT_DISABLE_AFTER, JITTER_RATIO, RETRY_AFTER_CAP, RetrySchedule,
        random_fraction, retry_after, with_jitter,
    },
    secret::{GENERATED_SECRET_LEN, SECRET_LEN_RANGE, SECRET_PREFIX, SecretError, WebhookSecret},
    signature::{
        DEFAULT_TOLERANCE, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_SIGNATURES_CHECKED,
        VerifyError, WebhookHeaders, sign, signature_header, verify,
    },
    target::{
        AddressClass, GuardedResolver, MAX_URL_LEN, TargetError, TargetPolicy, WebhookUrl,
        forbidden_class,
    },
};
