//! The PostgreSQL backend, through sqlx: the scale-out path, where many stateless Tessera nodes
//! share one database (or anything that speaks its protocol).
//!
//! - **Pool**: one sqlx [`PgPool`] per store (16 connections, 5 s acquire timeout by default).
//! - **Schema**: normalized (`organizations` ← `members` ← `sessions`, plus `signing_keys` and
//!   the one-row `deployment`),
//!   created by versioned migrations (`migrations/postgres/*.sql`, embedded in the binary) that
//!   [`PostgresStore::connect`] applies; the tables live in the first schema of the connection's
//!   `search_path` (`public` unless configured otherwise).
//! - **Atomic writes**: every session write is one conditional statement that re-checks that the
//!   session is active at `now` (not revoked, not expired, within the organization's absolute
//!   lifetime and idle timeout) in its `WHERE` clause. Under Read Committed PostgreSQL re-evaluates
//!   that clause against the newest row version after waiting for a concurrent writer, so a
//!   revoke that returned is never undone. Claim patches read the row `FOR UPDATE` in a
//!   transaction, so concurrent patches serialize instead of losing each other.
//! - **Errors**: unique violations become [`StoreError::Conflict`] by constraint name, foreign
//!   key violations the matching [`StoreError::NotFound`], connection trouble
//!   [`StoreError::Unavailable`], undecodable rows [`StoreError::Corrupt`].
//!
//! [`StoreError::Conflict`]: crate::StoreError::Conflict
//! [`StoreError::NotFound`]: crate::StoreError::NotFound
//! [`StoreError::Unavailable`]: crate::StoreError::Unavailable
//! [`StoreError::Corrupt`]: crate::StoreError::Corrupt

// Column lists and SQL fragments, as macros so that queries stay `&'static str` (`concat!`).
#[macro_use]
mod columns;

mod deployment;
mod errors;
mod keys;
mod members;
mod migrations;
mod organizations;
mod rows;
mod sessions;

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

use crate::{
    error::{StoreError, StoreResult},
    repository::Store,
};

/// How to start the local server, for error messages.
const START_HINT: &str = "start PostgreSQL (e.g. `pg_ctlcluster --skip-systemctl-redirect \
                          $(ls /etc/postgresql) main start` or `systemctl start postgresql`) or \
                          point Tessera at a running server";

/// A store on PostgreSQL. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connections per node: enough for a busy node, small enough that many nodes fit under
    /// PostgreSQL's default `max_connections` (100).
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
    /// How long a statement waits for a free connection before failing with `Unavailable`.
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

    /// Connects to `url` (`postgres://user:password@host:port/database?...`) and applies pending
    /// migrations. Fails with `Open` if the URL is invalid (an unknown parameter included), the
    /// server is unreachable or the schema cannot be migrated.
    ///
    /// TLS follows the URL's `sslmode` (`disable`, `prefer` (the default), `require`,
    /// `verify-ca`, `verify-full`) and `sslrootcert`, as in libpq.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // The URL may hold a password: never echo it.
        check_parameters(url)?;
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::open(
                "invalid PostgreSQL URL (expected postgres://user[:password]@host[:port]/database)",
                e,
            )
        })?;
        Self::connect_with(options).await
    }

    /// A printable description of the server `url` points to, for banners and messages:
    /// `user@host:port/database`, plus the `sslmode` if it is not the default (`prefer`). Never
    /// the password, whether in the userinfo or a `password=` parameter, nor anything else of
    /// the query.
    ///
    /// ```
    /// use tessera_store::postgres::PostgresStore;
    ///
    /// let shown =
    ///     PostgresStore::describe_url("postgres://app:s3cret@db.internal/tessera?sslmode=require");
    /// assert_eq!(shown, "app@db.internal:5432/tessera (sslmode=require)");
    /// let shown = PostgresStore::describe_url("postgres://app@db/t?password=s3cret");
    /// assert_eq!(shown, "app@db:5432/t");
    /// assert_eq!(PostgresStore::describe_url("postgres://app:s3cret@db:port"), "(an invalid URL)");
    /// assert_eq!(PostgresStore::describe_url("postgres://app@db/t?pasword=s3cret"), "app@db:5432/t");
    /// ```
    pub fn describe_url(url: &str) -> String {
        // sqlx logs unknown parameters with their value: leave them out.
        let Ok(options) = PgConnectOptions::from_str(&known_parameters_only(url).0) else {
            return "(an invalid URL)".to_owned();
        };
        let target = describe_target(&options);
        match options.get_ssl_mode() {
            PgSslMode::Prefer => target,
            mode => format!("{target} (sslmode={})", ssl_mode_name(mode)),
        }
    }

    /// Like [`Self::connect`], from parsed options (e.g. with a `search_path`).
    pub async fn connect_with(options: PgConnectOptions) -> StoreResult<Self> {
        let target = describe_target(&options);
        let pool = Self::pool_options()
            .connect_with(options)
            .await
            .map_err(|e| StoreError::open(connect_failure(&target, &e), e))?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// The pool settings [`Self::connect`] uses, for callers that build their own pool.
    ///
    /// Connections are not pinged when taken from the pool (sqlx pings them when they are
    /// returned instead), so that authenticate stays one round trip; a connection that died while
    /// idle fails its next statement with `Unavailable` and is then discarded.
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(Self::DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(Self::DEFAULT_ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
    }

    /// Wraps an existing pool. Does not migrate: call [`Self::migrate`].
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies pending migrations. Idempotent, and safe when several nodes start at once: the
    /// runner holds a PostgreSQL advisory lock while it works.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrations::run(&self.pool).await
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Bundles the store into the [`Store`] handle the service layer holds.
    pub fn into_store(self) -> Store {
        Store::new(Arc::new(self), "postgres")
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.pool.connect_options();
        f.debug_struct("PostgresStore")
            .field("target", &describe_target(&options))
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// Why connecting failed and what to do, without anything from the URL but `target`.
fn connect_failure(target: &str, e: &sqlx::Error) -> String {
    match e {
        // The server answered: wrong user, password or database, or too many connections.
        sqlx::Error::Database(db) => format!(
            "PostgreSQL at {target} refused the connection ({}): check the user, password and \
             database in the URL, and the server's connection limit",
            db.message()
        ),
        sqlx::Error::Io(io) => {
            format!("cannot connect to PostgreSQL at {target} ({io}): {START_HINT}")
        }
        // `sslmode=require` against a server without TLS, an unverifiable certificate under
        // `verify-ca`/`verify-full`, an unreadable `sslrootcert`.
        sqlx::Error::Tls(tls) => format!(
            "TLS with PostgreSQL at {target} failed ({tls}): check the URL's sslmode and \
             sslrootcert, and that the server has TLS on"
        ),
        sqlx::Error::PoolTimedOut => {
            format!("cannot connect to PostgreSQL at {target} (timed out): {START_HINT}")
        }
        _ => format!("cannot connect to PostgreSQL at {target}: {START_HINT}"),
    }
}

/// The URL parameters sqlx understands. sqlx ignores any other with a log line that prints its
/// value, so a mistyped `pasword=` would be logged and a mistyped `sslmod=require` would
/// silently connect without TLS: both are refused instead.
const KNOWN_PARAMETERS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Refuses a URL with a parameter sqlx does not know, naming the parameter (never its value).
fn check_parameters(url: &str) -> StoreResult<()> {
    match known_parameters_only(url).1 {
        None => Ok(()),
        Some(key) => Err(StoreError::Open {
            message: format!(
                "invalid PostgreSQL URL: unknown parameter `{key}` (known: {}, options[…])",
                KNOWN_PARAMETERS.join(", ")
            ),
            source: None,
        }),
    }
}

/// `url` without the query parameters sqlx does not know, and the first of those (its name cut
/// to 32 printable characters), if any.
fn known_parameters_only(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_owned(), None) };
    let query = query.split('#').next().unwrap_or_default();
    let mut unknown = None;
    let known: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            // `options[name]=value` sets one server option; brackets may be percent-encoded.
            let is_known = key.starts_with("options[")
                || key.starts_with("options%5B")
                || KNOWN_PARAMETERS.contains(&key);
            if !is_known && !pair.is_empty() && unknown.is_none() {
                unknown = Some(key.chars().filter(char::is_ascii_graphic).take(32).collect());
            }
            is_known
        })
        .collect();
    (format!("{base}?{}", known.join("&")), unknown)
}

/// `sslmode`'s value as written in a URL.
fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// `user@host:port/database`, without the password.
fn describe_target(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or(options.get_username());
    match options.get_socket() {
        Some(socket) => format!("{}@{}/{database}", options.get_username(), socket.display()),
        None => format!(
            "{}@{}:{}/{database}",
            options.get_username(),
            options.get_host(),
            options.get_port()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_url_parameters_are_refused_without_their_value() {
        for url in [
            "postgres://u@h/d",
            "postgres://u@h/d?",
            "postgres://u:p@h/d?sslmode=require&application_name=a&options[search_path]=s",
            "postgres://u@h/d?password=p&options=-c%20x%3Dy&options%5Bsearch_path%5D=s#frag",
        ] {
            assert!(check_parameters(url).is_ok(), "{url}");
        }
        for url in ["postgres://u@h/d?pasword=hunter2", "postgres://u@h/d?sslmode=require&sslmod=x"]
        {
            let message = check_parameters(url).unwrap_err().to_string();
            assert!(message.contains("unknown parameter"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let (known, unknown) =
            known_parameters_only("postgres://u@h/d?sslmode=require&pasword=hunter2&port=1#f");
        assert_eq!(known, "postgres://u@h/d?sslmode=require&port=1");
        assert_eq!(unknown.as_deref(), Some("pasword"));
    }
}
