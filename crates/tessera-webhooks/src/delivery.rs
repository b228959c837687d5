//! One delivery attempt over HTTP: [`Deliverer::attempt`] and what came of it.
//!
//! The deliverer does exactly one request per call and never decides about the next one: the
//! caller stores the [`AttemptOutcome`] and asks the [`RetrySchedule`](crate::RetrySchedule)
//! when to call again. Its client follows no redirects (a 3xx is a failure: following one would
//! send the signed body to a URL nobody configured, and past the target checks), uses no proxy
//! (a proxy resolves names itself, around the [`GuardedResolver`]), and retries nothing itself.

use std::{error::Error as _, time::Duration};

use chrono::Utc;
use reqwest::{
    StatusCode,
    header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};

use crate::{
    schedule::retry_after,
    secret::WebhookSecret,
    signature::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, signature_header},
    target::{GuardedResolver, TargetError, TargetPolicy, WebhookUrl},
};

/// How long one attempt may take, from connecting to the response (Svix and Stytch allow
/// 15 s). A receiver that needs longer should answer first and work afterwards.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The `user-agent` of deliveries: receivers can recognise (and allow-list) them.
pub const DEFAULT_USER_AGENT: &str = concat!("tessera-webhooks/", env!("CARGO_PKG_VERSION"));

/// The longest [`AttemptOutcome::Failed`] error text, in characters: enough to tell a refused
/// connection from a TLS failure or a 500's first line, short enough to store per attempt.
pub const MAX_ERROR_LEN: usize = 200;

/// The most of a failed response's body that is read (for the error text); the rest is never
/// downloaded. A successful response's body is not read at all.
const MAX_BODY_READ: usize = 1024;

/// How a [`Deliverer`] sends.
///
/// ```
/// use std::time::Duration;
/// use tessera_webhooks::{DeliveryConfig, TargetPolicy};
///
/// let config = DeliveryConfig { timeout: Duration::from_secs(5), ..DeliveryConfig::default() };
/// assert_eq!(config.policy, TargetPolicy { allow_private: false });
/// assert!(config.user_agent.starts_with("tessera-webhooks/"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// The bound of each attempt as a whole: connect, TLS, send, the response, and for a
    /// failure the part of its body that is read. Default [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Which targets may be reached, checked on the URL and again on every resolved address.
    /// Default: public addresses only.
    pub policy: TargetPolicy,
    /// The `user-agent` header. Default [`DEFAULT_USER_AGENT`].
    pub user_agent: String,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            policy: TargetPolicy::default(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

/// Why a [`Deliverer`] could not be built.
///
/// ```
/// use tessera_webhooks::{Deliverer, DeliveryConfig, DeliveryError};
///
/// let config = DeliveryConfig { user_agent: "bad\nagent".into(), ..DeliveryConfig::default() };
/// assert!(matches!(Deliverer::new(config), Err(DeliveryError::Client(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The HTTP client refused the configuration (e.g. a user agent that is no header value).
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// What one attempt came to. Every variant but `Failed` ends the message's attempts.
///
/// ```
/// use tessera_webhooks::AttemptOutcome;
///
/// assert!(!AttemptOutcome::Delivered { status: 204 }.is_retryable());
/// assert!(!AttemptOutcome::Gone.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A 2xx within the timeout.
    Delivered {
        /// The status.
        status: u16,
    },
    /// `410 Gone`: the receiver says the endpoint is no more; disable it.
    Gone,
    /// Anything else: a 3xx (not followed), 4xx, 5xx, 429, a timeout, a connection or TLS
    /// error, a host name that resolved only to forbidden addresses (DNS answers change, so
    /// this one is retried too). Retry per the schedule.
    Failed {
        /// The response's status, when there was a response.
        status: Option<u16>,
        /// The response's `Retry-After`, parsed and capped
        /// ([`retry_after`](crate::retry_after)).
        retry_after: Option<Duration>,
        /// What went wrong, at most [`MAX_ERROR_LEN`] characters, printable. Never contains a
        /// secret (none is ever sent: only HMACs are) nor the URL.
        error: String,
    },
    /// Nothing was sent: the URL's host is outside the deliverer's [`TargetPolicy`] (it was
    /// parsed under a laxer one). No retry can succeed; disable or fix the endpoint.
    Refused(TargetError),
}

impl AttemptOutcome {
    /// Whether the message should be tried again (per the schedule): only after `Failed`.
    ///
    /// ```
    /// use tessera_webhooks::AttemptOutcome;
    ///
    /// let failed = AttemptOutcome::Failed {
    ///     status: Some(503),
    ///     retry_after: None,
    ///     error: "HTTP 503".into(),
    /// };
    /// assert!(failed.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

/// Sends signed webhook requests. Cheap to clone (one connection pool, shared).
///
/// ```no_run
/// use tessera_webhooks::{
///     AttemptOutcome, Deliverer, DeliveryConfig, TargetPolicy, WebhookSecret, WebhookUrl,
/// };
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let deliverer = Deliverer::new(DeliveryConfig::default())?;
/// let url = WebhookUrl::parse("https://hooks.example.com/tessera", TargetPolicy::default())?;
/// let secret = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
/// let now = chrono::Utc::now().timestamp();
/// let body = br#"{"type":"session.revoked"}"#;
/// match deliverer.attempt(&url, "msg_2kQ9", now, body, &[&secret]).await {
///     AttemptOutcome::Delivered { .. } => { /* done */ }
///     AttemptOutcome::Failed { .. } => { /* ask the RetrySchedule when to try again */ }
///     _ => { /* Gone or Refused: disable the endpoint */ }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    policy: TargetPolicy,
    timeout: Duration,
}

impl Deliverer {
    /// A deliverer with its own connection pool and a [`GuardedResolver`] for `config.policy`.
    ///
    /// ```
    /// use tessera_webhooks::{Deliverer, DeliveryConfig};
    ///
    /// assert!(Deliverer::new(DeliveryConfig::default()).is_ok());
    /// ```
    pub fn new(config: DeliveryConfig) -> Result<Self, DeliveryError> {
        let resolver = GuardedResolver::new(config.policy);
        Self::with_resolver(config, resolver)
    }

    fn with_resolver(
        config: DeliveryConfig,
        resolver: GuardedResolver,
    ) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .referer(false)
            .dns_resolver(resolver)
            .build()
            .map_err(DeliveryError::Client)?;
        Ok(Self { client, policy: config.policy, timeout: config.timeout })
    }

    /// One attempt: `POST url` with `payload` (JSON bytes) as the body, `content-type:
    /// application/json`, and the three webhook headers: `webhook-id: msg_id` (the same on
    /// every attempt of a message, so receivers can drop duplicates), `webhook-timestamp:
    /// timestamp` (this attempt's time, Unix seconds) and `webhook-signature` (one signature
    /// per secret, see [`signature_header`]).
    ///
    /// ```no_run
    /// # use tessera_webhooks::{Deliverer, WebhookSecret, WebhookUrl};
    /// # async fn run(deliverer: Deliverer, url: WebhookUrl, new: WebhookSecret,
    /// #     old: WebhookSecret) {
    /// // During a rotation, sign with both.
    /// let now = chrono::Utc::now().timestamp();
    /// let _outcome = deliverer.attempt(&url, "msg_1", now, b"{}", &[&new, &old]).await;
    /// # }
    /// ```
    pub async fn attempt(
        &self,
        url: &WebhookUrl,
        msg_id: &str,
        timestamp: i64,
        payload: &[u8],
        secrets: &[&WebhookSecret],
    ) -> AttemptOutcome {
        if let Err(error) = self.policy.check(url) {
            return AttemptOutcome::Refused(error);
        }
        if secrets.is_empty() {
            return failed(None, None, "no signing secret: nothing was sent");
        }
        let Ok(id) = HeaderValue::from_str(msg_id) else {
            return failed(None, None, "the message id is not a valid header value");
        };
        let signature = signature_header(secrets, msg_id, timestamp, payload);
        let request = self
            .client
            .post(url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_ID, id)
            .header(HEADER_TIMESTAMP, timestamp)
            .header(HEADER_SIGNATURE, signature)
            .body(payload.to_vec());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(None, None, &self.describe(error)),
        };
        let status = response.status();
        if status.is_success() {
            return AttemptOutcome::Delivered { status: status.as_u16() };
        }
        if status == StatusCode::GONE {
            return AttemptOutcome::Gone;
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry_after(value, Utc::now()));
        let mut error = format!("HTTP {status}");
        if status.is_redirection() {
            error.push_str(" (redirects are not followed)");
        }
        let body = read_prefix(&mut response).await;
        if !body.trim().is_empty() {
            error.push_str(": ");
            error.push_str(body.trim());
        }
        failed(Some(status.as_u16()), retry_after, &error)
    }

    /// A transport error's story, without the URL that reqwest's own message names (its query
    /// may hold a customer's token).
    fn describe(&self, error: reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("timed out after {} ms", self.timeout.as_millis());
        }
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.ends_with(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        text
    }
}

/// At most [`MAX_BODY_READ`] bytes of the body, as lossy text; whatever could be read if the
/// body fails or times out midway.
async fn read_prefix(response: &mut reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_BODY_READ);
    String::from_utf8_lossy(&body).into_owned()
}

fn failed(status: Option<u16>, retry_after: Option<Duration>, error: &str) -> AttemptOutcome {
    AttemptOutcome::Failed { status, retry_after, error: bounded(error) }
}

/// `text` with control characters as spaces, cut to [`MAX_ERROR_LEN`] characters (the last
/// one `…` when cut).
fn bounded(text: &str) -> String {
    let printable = text.chars().map(|c| if c.is_control() { ' ' } else { c });
    if text.chars().count() <= MAX_ERROR_LEN {
        return printable.collect();
    }
    printable.take(MAX_ERROR_LEN - 1).chain(std::iter::once('…')).collect()
}

#[cfg(test)]
mod tests {
    use std::{
        net::IpAddr,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use super::*;

    #[test]
    fn error_texts_are_bounded_and_printable() {
        assert_eq!(bounded("HTTP 500"), "HTTP 500");
        assert_eq!(bounded("a\r\nb\0c"), "a  b c");
        let long = bounded(&"é".repeat(500));
        assert_eq!(long.chars().count(), MAX_ERROR_LEN);
        assert!(long.ends_with('…'));
        assert_eq!(bounded(&"x".repeat(MAX_ERROR_LEN)).chars().count(), MAX_ERROR_LEN);
    }

    /// A receiver on 127.0.0.1 counting the requests that reach it.
    async fn counting_receiver() -> (u16, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (port, hits)
    }

    /// DNS rebinding, end to end: a public-looking name whose resolution points at loopback is
    /// refused at connect time, and the request never reaches the receiver. The same name
    /// under `allow_private` is delivered, so it is the resolver, not the URL, that refused.
    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let (port, hits) = counting_receiver().await;
        let loopback: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap()];
        let secret = WebhookSecret::generate().unwrap();
        let strict = TargetPolicy { allow_private: false };
        let url = WebhookUrl::parse(&format!("http://rebind.example:{port}/hook"), strict).unwrap();
        let config =
            DeliveryConfig { timeout: Duration::from_secs(5), ..DeliveryConfig::default() };

        let guarded = Deliverer::with_resolver(
            config.clone(),
            GuardedResolver::fixed(strict, loopback.clone()),
        )
        .unwrap();
        let outcome = guarded.attempt(&url, "msg_1", 1, b"{}", &[&secret]).await;
        let AttemptOutcome::Failed { status: None, retry_after: None, error } = outcome else {
            panic!("expected a failure, got {outcome:?}");
        };
        assert!(error.contains(&TargetError::ResolvesToForbidden.to_string()), "{error}");
        assert!(!error.contains("rebind.example"), "{error}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);

        let lax = TargetPolicy { allow_private: true };
        let open = Deliverer::with_resolver(
            DeliveryConfig { policy: lax, ..config },
            GuardedResolver::fixed(lax, loopback),
        )
        .unwrap();
        let outcome = open.attempt(&url, "msg_1", 1, b"{}", &[&secret]).await;
        assert_eq!(outcome, AttemptOutcome::Delivered { status: 200 });
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn nothing_is_sent_without_a_secret_or_with_a_bad_message_id() {
        let (port, hits) = counting_receiver().await;
        let lax = TargetPolicy { allow_private: true };
        let deliverer =
            Deliverer::new(DeliveryConfig { policy: lax, ..DeliveryConfig::default() }).unwrap();
        let url = WebhookUrl::parse(&format!("http://127.0.0.1:{port}/hook"), lax).unwrap();
        let outcome = deliverer.attempt(&url, "msg_1", 1, b"{}", &[]).await;
        assert!(matches!(outcome, AttemptOutcome::Failed { status: None, .. }), "{outcome:?}");
        let secret = WebhookSecret::generate().unwrap();
        let outcome = deliverer.attempt(&url, "msg\n1", 1, b"{}", &[&secret]).await;
        assert!(matches!(outcome, AttemptOutcome::Failed { status: None, .. }), "{outcome:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }
}
