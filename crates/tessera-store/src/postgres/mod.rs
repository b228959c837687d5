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
//! - **Pooling modes** ([`PoolMode`], in `pooling.rs`): by default statements are named and
//!   cached per connection, and a single-statement operation runs without a transaction (so an
//!   authenticate is one round trip). Behind a pooler in transaction mode (PgBouncer's
//!   `pool_mode = transaction`), the URL's `pool-mode=transaction` (Tessera's own parameter,
//!   removed before sqlx reads the URL) or [`PostgresStore::connect_with_mode`] makes every
//!   operation, reads included, run in one `BEGIN … COMMIT` with unnamed statements and sqlx's
//!   statement cache off: a `BEGIN` and a `COMMIT` round trip more per operation, and a Parse per
//!   statement. In that mode the store does not migrate (the migrator's advisory lock is
//!   session-level): it refuses a schema that lacks a migration, see [`PostgresStore::migrate`].
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
mod events;
mod keys;
mod members;
mod migrations;
mod organizations;
mod pooling;
mod rows;
mod sessions;
mod webhooks;

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

pub use self::pooling::PoolMode;
use crate::{
    decoded::Decoded,
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
    mode: PoolMode,
    /// Whether an idle connection may be taken without sqlx's `acquire` (see
    /// `PostgresStore::pooled`): only on a pool built from [`Self::pool_options`] here, which
    /// checks nothing before handing a connection out. A pool of the caller's own may have
    /// `test_before_acquire` or a `before_acquire` hook, which only `acquire` runs.
    takes_idle_directly: bool,
    /// Members and organizations decoded by session lookups (`crate::decoded`).
    decoded: Arc<Decoded>,
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
    ///
    /// `pool-mode=transaction` (Tessera's own parameter, removed before sqlx reads the URL)
    /// selects [`PoolMode::Transaction`], for a pooler in transaction mode such as PgBouncer's
    /// `pool_mode = transaction`; `pool-mode=session` or no such parameter, the default.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // The URL may hold a password: never echo it.
        check_parameters(url)?;
        let mode = pool_mode_of(url)?;
        let options = PgConnectOptions::from_str(&known_parameters_only(url).0).map_err(|e| {
            StoreError::open(
                "invalid PostgreSQL URL (expected postgres://user[:password]@host[:port]/database)",
                e,
            )
        })?;
        Self::connect_with_mode(options, mode).await
    }

    /// A printable description of the server `url` points to, for banners and messages:
    /// `user@host:port/database`, plus the `sslmode` if it is not the default (`prefer`). Never
    /// the password, whether in the userinfo or a `password=` parameter, nor anything else of
    /// the query but `pool-mode=transaction`.
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
    /// let shown = PostgresStore::describe_url(
    ///     "postgres://app:s3cret@pgbouncer:6432/t?sslmode=require&pool-mode=transaction",
    /// );
    /// assert_eq!(shown, "app@pgbouncer:6432/t (sslmode=require, pool-mode=transaction)");
    /// ```
    pub fn describe_url(url: &str) -> String {
        // sqlx logs unknown parameters with their value: leave them out.
        let Ok(options) = PgConnectOptions::from_str(&known_parameters_only(url).0) else {
            return "(an invalid URL)".to_owned();
        };
        let target = describe_target(&options);
        let mut notes = Vec::new();
        match options.get_ssl_mode() {
            PgSslMode::Prefer => {}
            mode => notes.push(format!("sslmode={}", ssl_mode_name(mode))),
        }
        if let Ok(PoolMode::Transaction) = pool_mode_of(url) {
            notes.push(format!("{}=transaction", PoolMode::URL_PARAMETER));
        }
        if notes.is_empty() { target } else { format!("{target} ({})", notes.join(", ")) }
    }

    /// Like [`Self::connect`], from parsed options (e.g. with a `search_path`), in
    /// [`PoolMode::Session`].
    pub async fn connect_with(options: PgConnectOptions) -> StoreResult<Self> {
        Self::connect_with_mode(options, PoolMode::Session).await
    }

    /// Like [`Self::connect_with`], in `mode`. [`PoolMode::Transaction`] also turns sqlx's
    /// statement cache off, and opens only a fully migrated schema (see [`Self::migrate`]).
    ///
    /// ```no_run
    /// use std::str::FromStr;
    ///
    /// use sqlx::postgres::PgConnectOptions;
    /// use tessera_store::postgres::{PoolMode, PostgresStore};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // PgBouncer with `pool_mode = transaction` on port 6432; the schema was migrated through a
    /// // direct connection first.
    /// let options = PgConnectOptions::from_str("postgres://app@pgbouncer.internal:6432/tessera")?;
    /// let store = PostgresStore::connect_with_mode(options, PoolMode::Transaction).await?;
    /// assert_eq!(store.pool_mode(), PoolMode::Transaction);
    /// // The same from a URL:
    /// let store =
    ///     PostgresStore::connect("postgres://app@pgbouncer.internal:6432/tessera?pool-mode=transaction")
    ///         .await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with_mode(options: PgConnectOptions, mode: PoolMode) -> StoreResult<Self> {
        let target = describe_target(&options);
        let options = match mode {
            PoolMode::Session => options,
            // Every statement is unnamed in this mode, so nothing would be cached anyway.
            PoolMode::Transaction => options.statement_cache_capacity(0),
        };
        let pool = Self::pool_options()
            .connect_with(options)
            .await
            .map_err(|e| StoreError::open(connect_failure(&target, &e), e))?;
        let store =
            Self { takes_idle_directly: true, ..Self::from_pool(pool) }.with_pool_mode(mode);
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

    /// Wraps an existing pool, in [`PoolMode::Session`]. Does not migrate: call
    /// [`Self::migrate`]. Every operation takes its connection through the pool's `acquire`,
    /// so whatever the pool checks first (`test_before_acquire`, a `before_acquire` hook) runs;
    /// a store from [`Self::connect`], whose pool checks nothing, takes an idle connection
    /// directly instead, which saves about a quarter of a lookup's client-side instructions.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            mode: PoolMode::Session,
            takes_idle_directly: false,
            decoded: Arc::new(Decoded::new()),
        }
    }

    /// The same store in `mode`. For [`PoolMode::Transaction`] on a pool of your own, turn
    /// sqlx's statement cache off in its options (`statement_cache_capacity(0)`).
    #[must_use]
    pub fn with_pool_mode(self, mode: PoolMode) -> Self {
        Self { mode, ..self }
    }

    /// How the store uses its connections.
    pub fn pool_mode(&self) -> PoolMode {
        self.mode
    }

    /// Applies pending migrations. Idempotent, and safe when several nodes start at once: the
    /// runner holds a PostgreSQL advisory lock while it works.
    ///
    /// In [`PoolMode::Transaction`] it applies nothing: the advisory lock is held by the
    /// session, which a pooler in transaction mode does not keep, and the runner's statements
    /// are named. It then only checks that every migration is applied, and fails with `Open`,
    /// saying to migrate through a direct connection first (e.g. `tessera config`, or a first
    /// node, on a URL that bypasses the pooler), if one is not.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.mode {
            PoolMode::Session => migrations::run(&self.pool).await,
            PoolMode::Transaction => migrations::check_applied(self).await,
        }
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
            .field("mode", &self.mode)
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

/// Refuses a URL with a parameter neither sqlx nor Tessera knows, naming the parameter (never
/// its value).
fn check_parameters(url: &str) -> StoreResult<()> {
    match known_parameters_only(url).1 {
        None => Ok(()),
        Some(key) => Err(StoreError::Open {
            message: format!(
                "invalid PostgreSQL URL: unknown parameter `{key}` (known: {}, options[…], {})",
                KNOWN_PARAMETERS.join(", "),
                PoolMode::URL_PARAMETER
            ),
            source: None,
        }),
    }
}

/// The pairs of `url`'s query (without its fragment).
fn query_pairs(url: &str) -> impl Iterator<Item = (&str, &str)> {
    let query = url.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or_default());
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The [`PoolMode`] `url` asks for with `pool-mode=`, the last one if several; an error (that
/// does not repeat the value) for any other value than `session` or `transaction`.
fn pool_mode_of(url: &str) -> StoreResult<PoolMode> {
    let Some((_, value)) =
        query_pairs(url).filter(|&(key, _)| key == PoolMode::URL_PARAMETER).last()
    else {
        return Ok(PoolMode::default());
    };
    PoolMode::from_name(value).ok_or_else(|| StoreError::Open {
        message: format!(
            "invalid PostgreSQL URL: `{}` must be `session` (the default) or `transaction` \
             (behind a pooler in transaction mode, e.g. PgBouncer's pool_mode = transaction)",
            PoolMode::URL_PARAMETER
        ),
        source: None,
    })
}

/// `url` without the query parameters sqlx does not know (Tessera's own `pool-mode` included),
/// and the first of those that Tessera does not know either (its name cut to 32 printable
/// characters), if any.
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
            let is_tessera_own = key == PoolMode::URL_PARAMETER;
            if !is_known && !is_tessera_own && !pair.is_empty() && unknown.is_none() {
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

    #[test]
    fn the_pool_mode_parameter_is_tessera_own() {
        let url = "postgres://u:p@h/d?sslmode=disable&pool-mode=transaction&port=1";
        assert!(check_parameters(url).is_ok());
        assert_eq!(pool_mode_of(url).unwrap(), PoolMode::Transaction);
        // sqlx never sees it.
        assert_eq!(
            known_parameters_only(url),
            ("postgres://u:p@h/d?sslmode=disable&port=1".into(), None)
        );
        for (url, mode) in [
            ("postgres://u@h/d", PoolMode::Session),
            ("postgres://u@h/d?pool-mode=session", PoolMode::Session),
            ("postgres://u@h/d?pool-mode=session&pool-mode=transaction#f", PoolMode::Transaction),
        ] {
            assert_eq!(pool_mode_of(url).unwrap(), mode, "{url}");
        }
        for url in ["postgres://u@h/d?pool-mode=hunter2", "postgres://u@h/d?pool-mode"] {
            let message = pool_mode_of(url).unwrap_err().to_string();
            assert!(message.contains("must be `session`"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let message = check_parameters("postgres://u@h/d?poolmode=transaction").unwrap_err();
        assert!(message.to_string().contains("pool-mode"), "{message}");
    }
}
