//! Settings shared by `tessera serve` and the operator commands: where the store is, and the
//! service's configuration. Every flag also reads a `TESSERA_*` environment variable.

use std::path::PathBuf;

use chrono::TimeDelta;
use clap::Args;
use tessera_api::{ServiceConfig, SessionService};
use tessera_core::{Policy, SessionDuration, TokenPrefix, TouchInterval};
use tessera_store::{Store, postgres::PostgresStore, sqlite::SqliteStore};

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory of the embedded SQLite database (`tessera.db`), created if missing.
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "tessera-data", global = true)]
    pub data_dir: PathBuf,
    /// A `postgres://` URL to use PostgreSQL, or a path to a SQLite file; overrides --data-dir.
    #[arg(long, env = "TESSERA_DATABASE", global = true)]
    pub database: Option<String>,
}

impl StoreArgs {
    /// A printable description of the store, without any password.
    pub fn describe(&self) -> String {
        match &self.database {
            Some(url) if is_postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                format!("PostgreSQL at {host}")
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

/// How the service behaves.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// Session length when a create call gives none, in minutes (5..=527040).
    #[arg(long, env = "TESSERA_DEFAULT_SESSION_MINUTES", default_value_t = 60, global = true)]
    pub default_session_minutes: i64,
    /// `last_accessed_at` is written at most this often per session, in seconds (0..=3600).
    #[arg(long, env = "TESSERA_TOUCH_INTERVAL_SECONDS", default_value_t = 60, global = true)]
    pub touch_interval_seconds: i64,
    /// Prefix of session tokens.
    #[arg(long, env = "TESSERA_TOKEN_PREFIX", default_value = "tsr_mst_", global = true)]
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
    /// Dead sessions are kept this many days before purge deletes them.
    #[arg(long, env = "TESSERA_PURGE_RETENTION_DAYS", default_value_t = 7, global = true)]
    pub purge_retention_days: i64,
    /// How long a node trusts its cached signing keys before reading them again, in seconds
    /// (1..=3600): the delay within which a key rotated elsewhere (`tessera keys rotate`, another
    /// node) reaches this node. A retired key stays published for the JWT lifetime plus this
    /// plus a minute.
    #[arg(long, env = "TESSERA_KEY_CACHE_TTL_SECONDS", default_value_t = 60, global = true)]
    pub key_cache_ttl_seconds: i64,
}

impl ServiceArgs {
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
        if self.purge_retention_days < 0 {
            return Err("--purge-retention-days must not be negative".into());
        }
        config.purge_retention = TimeDelta::days(self.purge_retention_days);
        if !(1..=3600).contains(&self.key_cache_ttl_seconds) {
            return Err("--key-cache-ttl-seconds must be 1 to 3600".into());
        }
        config.jwt.key_cache_ttl = TimeDelta::seconds(self.key_cache_ttl_seconds);
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
