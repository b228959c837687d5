//! Settings of `tessera serve` and the operator commands: where the store is, the service's
//! configuration, and the server's limits. Every flag also reads a `TESSERA_*` environment
//! variable.
//!
//! Every number is parsed against its range when the command line is read, before anything is
//! opened: an out-of-range value (`--purge-retention-days 1000000000000`, which would overflow
//! chrono) is an error that names the flag and the range, never a panic.

use std::{fmt::Display, net::SocketAddr, ops::RangeInclusive, path::PathBuf, str::FromStr};

use chrono::TimeDelta;
use clap::Args;
use tessera_api::{ServiceConfig, SessionService};
use tessera_core::{
    Policy, SessionDuration, SessionLimit, TokenPrefix, TouchInterval, WhenLimitReached,
};
use tessera_store::{Store, postgres::PostgresStore, sqlite::SqliteStore};

use crate::http::{ConnectionLimits, RequestLimits};

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite database (`tessera.db`), created if missing.
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "tessera-data", global = true)]
    pub data_dir: PathBuf,
    /// A `postgres://` URL to use PostgreSQL (TLS with `?sslmode=require` or `verify-full`;
    /// `?pool-mode=transaction` behind PgBouncer's transaction pooling), or a path to a SQLite
    /// file; overrides --data-dir. Its password is never printed.
    #[arg(long, env = "TESSERA_DATABASE", global = true, hide_env_values = true)]
    pub database: Option<String>,
}

impl StoreArgs {
    /// A printable description of the store, without any password.
    pub fn describe(&self) -> String {
        match &self.database {
            Some(url) if is_postgres(url) => {
                format!("PostgreSQL at {}", PostgresStore::describe_url(url))
            }
            Some(path) => format!("SQLite file {path}"),
            None => format!("SQLite file {}", self.sqlite_path().display()),
        }
    }

    fn sqlite_path(&self) -> PathBuf {
        match &self.database {
            Some(path) => PathBuf::from(path),
            None => self.data_dir.join("tessera.db"),
        }
    }

    pub async fn open(&self) -> Result<Store, String> {
        match &self.database {
            Some(url) if is_postgres(url) => PostgresStore::connect(url)
                .await
                .map(PostgresStore::into_store)
                .map_err(|e| format!("cannot open {}: {e}", self.describe())),
            _ => SqliteStore::open(self.sqlite_path())
                .await
                .map(SqliteStore::into_store)
                .map_err(|e| format!("cannot open {}: {e}", self.describe())),
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The longest retention purge accepts: ten years.
/// The longest key cache TTL accepted (an hour).
const MAX_KEY_CACHE_TTL_SECONDS: i64 = 3600;

const MAX_RETENTION_DAYS: i64 = 3660;

/// How the service behaves.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// Session length when a create call gives none, in minutes (5..=527040).
    #[arg(long, env = "TESSERA_DEFAULT_SESSION_MINUTES", default_value_t = 60, global = true,
          value_parser = session_minutes, allow_negative_numbers = true)]
    pub default_session_minutes: i64,
    /// `last_accessed_at` is written at most this often per session, in seconds (0..=3600).
    #[arg(long, env = "TESSERA_TOUCH_INTERVAL_SECONDS", default_value_t = 60, global = true,
          value_parser = touch_seconds, allow_negative_numbers = true)]
    pub touch_interval_seconds: i64,
    /// Prefix of session tokens.
    #[arg(long, env = "TESSERA_TOKEN_PREFIX", default_value = "tsr_mst_", global = true,
          value_parser = token_prefix)]
    pub token_prefix: String,
    /// Polar's member_portal_url, with `{organization_slug}`, `{token}` and `{email}`.
    #[arg(
        long,
        env = "TESSERA_PORTAL_URL_TEMPLATE",
        global = true,
        default_value = "http://127.0.0.1:3000/{organization_slug}/portal?member_session_token={token}&email={email}"
    )]
    pub portal_url_template: String,
    /// An RBAC policy file (JSON: `{"resources": [...], "roles": [...]}`); the default policy
    /// otherwise.
    #[arg(long, env = "TESSERA_POLICY", global = true)]
    pub policy: Option<PathBuf>,
    /// Dead sessions are kept this many days before purge deletes them (0..=3660).
    #[arg(long, env = "TESSERA_PURGE_RETENTION_DAYS", default_value_t = 7, global = true,
          value_parser = |text: &str| in_range(text, 0..=MAX_RETENTION_DAYS, "days"), allow_negative_numbers = true)]
    pub purge_retention_days: i64,
    /// How long a node trusts its cached signing keys before reading them again, in seconds
    /// (1..=3600): the delay within which a key rotated elsewhere (`tessera keys rotate`, another
    /// node) reaches this node. A retired key stays published for the JWT lifetime plus this
    /// plus a minute.
    #[arg(long, env = "TESSERA_KEY_CACHE_TTL_SECONDS", default_value_t = 60, global = true,
          value_parser = |text: &str| in_range(text, 1..=MAX_KEY_CACHE_TTL_SECONDS, "seconds"), allow_negative_numbers = true)]
    pub key_cache_ttl_seconds: i64,
    /// The live sessions a member may hold per organization, for organizations created without
    /// `max_sessions_per_member` (1..=1000; no limit when not set).
    #[arg(long, env = "TESSERA_DEFAULT_MAX_SESSIONS_PER_MEMBER", global = true,
          value_parser = |text: &str| in_range(text, 1..=i64::from(SessionLimit::MAX), "sessions"))]
    pub default_max_sessions_per_member: Option<i64>,
    /// What a sign-in does at that limit: `revoke_least_recently_used` (the default) or `refuse`.
    #[arg(long, env = "TESSERA_DEFAULT_SESSION_LIMIT_BEHAVIOR", global = true,
          default_value = "revoke_least_recently_used",
          value_parser = |text: &str| WhenLimitReached::parse(text).ok_or_else(|| "expected revoke_least_recently_used or refuse".to_owned()))]
    pub default_session_limit_behavior: WhenLimitReached,
    /// How long the audit log keeps events, in days (1..=3650; default 90). `tessera purge` and
    /// the server's periodic purge delete older ones.
    #[arg(long, env = "TESSERA_EVENT_RETENTION_DAYS", default_value_t = 90, global = true,
          value_parser = |text: &str| in_range(text, 1..=MAX_EVENT_RETENTION_DAYS, "days"), allow_negative_numbers = true)]
    pub event_retention_days: i64,
    /// Also record `session.extended`, one event per extending authenticate (high volume).
    #[arg(long, env = "TESSERA_RECORD_EXTENSION_EVENTS", global = true)]
    pub record_extension_events: bool,
    /// Also record `session.purged`, one event per purge run that deleted sessions.
    #[arg(long, env = "TESSERA_RECORD_PURGE_EVENTS", global = true)]
    pub record_purge_events: bool,
    /// Let webhook endpoints name private, loopback, link-local and other internal addresses
    /// (refused by default: a webhook must not become a way into the internal network). For
    /// development and tests on one machine.
    #[arg(long, env = "TESSERA_WEBHOOK_ALLOW_PRIVATE_TARGETS", global = true)]
    pub webhook_allow_private_targets: bool,
}

/// The longest event retention, in days (ten years).
const MAX_EVENT_RETENTION_DAYS: i64 = 3650;

impl ServiceArgs {
    /// Which webhook targets endpoints may name.
    pub fn webhook_policy(&self) -> tessera_webhooks::TargetPolicy {
        tessera_webhooks::TargetPolicy { allow_private: self.webhook_allow_private_targets }
    }

    pub fn build(&self, store: Store, project_id: &str) -> Result<SessionService, String> {
        let mut config = ServiceConfig::new(project_id);
        config.default_session_duration =
            SessionDuration::from_minutes(self.default_session_minutes)
                .map_err(|e| format!("--default-session-minutes: {e}"))?;
        config.touch_interval = TouchInterval::from_seconds(self.touch_interval_seconds)
            .map_err(|e| format!("--touch-interval-seconds: {e}"))?;
        config.token_prefix =
            TokenPrefix::parse(&self.token_prefix).map_err(|e| format!("--token-prefix: {e}"))?;
        config.member_portal_url_template = self.portal_url_template.clone();
        if !(0..=MAX_RETENTION_DAYS).contains(&self.purge_retention_days) {
            return Err(format!("--purge-retention-days must be in 0..={MAX_RETENTION_DAYS}"));
        }
        config.purge_retention = TimeDelta::days(self.purge_retention_days); // in range: no overflow
        if !(1..=MAX_KEY_CACHE_TTL_SECONDS).contains(&self.key_cache_ttl_seconds) {
            return Err(format!(
                "--key-cache-ttl-seconds must be in 1..={MAX_KEY_CACHE_TTL_SECONDS}"
            ));
        }
        config.jwt.key_cache_ttl = TimeDelta::seconds(self.key_cache_ttl_seconds);
        config.default_session_limit = self
            .default_max_sessions_per_member
            .map(|max| SessionLimit::new(max, self.default_session_limit_behavior))
            .transpose()
            .map_err(|e| format!("--default-max-sessions-per-member: {e}"))?;
        if !(1..=MAX_EVENT_RETENTION_DAYS).contains(&self.event_retention_days) {
            return Err(format!(
                "--event-retention-days must be in 1..={MAX_EVENT_RETENTION_DAYS}"
            ));
        }
        config.events.retention = TimeDelta::days(self.event_retention_days);
        config.events.record_extensions = self.record_extension_events;
        config.events.record_purges = self.record_purge_events;
        let mut service = SessionService::new(store, config);
        if let Some(path) = &self.policy {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
            let policy = Policy::from_json(&text)
                .map_err(|e| format!("the policy file {} is invalid: {e}", path.display()))?;
            service = service.with_policy(policy);
        }
        Ok(service)
    }
}

/// The longest purge interval: a year (0 disables background purges).
const MAX_PURGE_INTERVAL_SECONDS: u64 = 366 * 24 * 3600;

/// How `tessera serve` listens, and its limits.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address to serve `GET /metrics` (Prometheus) on, e.g. `127.0.0.1:9464`; no metrics
    /// endpoint without it. Keep it off the internet: it takes no credentials.
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between background purges of dead sessions; 0 disables them (0..=31622400).
    #[arg(long, env = "TESSERA_PURGE_INTERVAL_SECONDS", default_value_t = 3600,
          value_parser = |text: &str| in_range(text, 0..=MAX_PURGE_INTERVAL_SECONDS, "seconds"))]
    pub purge_interval_seconds: u64,
    /// Seconds a client may take to send a request's headers; slower ones are cut off (1..=300).
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT_SECONDS",
          default_value_t = ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
          value_parser = |text: &str| in_range(text, 1..=300_u64, "seconds"))]
    pub header_read_timeout_seconds: u64,
    /// Seconds a request may take, body included; then `503 request_timeout` (1..=3600).
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT_SECONDS",
          default_value_t = RequestLimits::DEFAULT_TIMEOUT.as_secs(),
          value_parser = |text: &str| in_range(text, 1..=3600_u64, "seconds"))]
    pub request_timeout_seconds: u64,
    /// Requests handled at once; more get `503 too_many_concurrent_requests` (1..=100000).
    #[arg(long, env = "TESSERA_MAX_CONCURRENT_REQUESTS",
          default_value_t = RequestLimits::DEFAULT_MAX_CONCURRENT,
          value_parser = |text: &str| in_range(text, 1..=100_000_usize, "requests"))]
    pub max_concurrent_requests: usize,
    /// On SIGTERM or Ctrl-C, seconds in-flight requests get before the server exits anyway
    /// (0..=3600).
    #[arg(long, env = "TESSERA_SHUTDOWN_TIMEOUT_SECONDS",
          default_value_t = ConnectionLimits::DEFAULT_SHUTDOWN_TIMEOUT.as_secs(),
          value_parser = |text: &str| in_range(text, 0..=3600_u64, "seconds"))]
    pub shutdown_timeout_seconds: u64,
    /// Seconds one webhook delivery attempt may take before it counts as failed (1..=60).
    #[arg(long, env = "TESSERA_WEBHOOK_TIMEOUT_SECONDS",
          default_value_t = tessera_webhooks::DEFAULT_TIMEOUT.as_secs(),
          value_parser = |text: &str| in_range(text, 1..=60_u64, "seconds"))]
    pub webhook_timeout_seconds: u64,
}

impl ServeArgs {
    pub fn request_limits(&self) -> RequestLimits {
        RequestLimits {
            timeout: std::time::Duration::from_secs(self.request_timeout_seconds),
            max_concurrent: self.max_concurrent_requests,
        }
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds),
            shutdown_timeout: std::time::Duration::from_secs(self.shutdown_timeout_seconds),
        }
    }
}

/// A whole number in `range`; the error gives the range (clap adds the flag and the value).
fn in_range<T>(text: &str, range: RangeInclusive<T>, unit: &str) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display,
{
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => {
            Err(format!("expected a whole number of {unit} in {}..={}", range.start(), range.end()))
        }
    }
}

fn session_minutes(text: &str) -> Result<i64, String> {
    let range =
        i64::from(SessionDuration::MIN.minutes())..=i64::from(SessionDuration::MAX.minutes());
    in_range(text, range, "minutes")
}

fn touch_seconds(text: &str) -> Result<i64, String> {
    in_range(text, 0..=TouchInterval::MAX_SECONDS, "seconds")
}

fn token_prefix(text: &str) -> Result<String, String> {
    TokenPrefix::parse(text).map(|_| text.to_owned()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_parsed_against_their_range() {
        assert_eq!(in_range("7", 0..=3660_i64, "days"), Ok(7));
        assert_eq!(in_range(" 3660 ", 0..=3660_i64, "days"), Ok(3660));
        for bad in ["3661", "-1", "1e3", "", "99999999999999999999"] {
            assert_eq!(
                in_range(bad, 0..=3660_i64, "days"),
                Err("expected a whole number of days in 0..=3660".to_owned()),
                "{bad}"
            );
        }
        assert_eq!(session_minutes("5"), Ok(5));
        assert!(session_minutes("4").unwrap_err().contains("5..=527040"));
        assert!(touch_seconds("3601").unwrap_err().contains("0..=3600"));
        assert!(token_prefix("ok_").is_ok());
        assert!(token_prefix("bad prefix!").is_err());
    }
}
