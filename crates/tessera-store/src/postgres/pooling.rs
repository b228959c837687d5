//! How the store meets its connections: the one place that knows the [`PoolMode`].
//!
//! Every operation takes its connection from [`PostgresStore::conn`] (or a transaction from
//! [`PostgresStore::begin`]) and builds its statements with [`PostgresStore::query`],
//! [`PostgresStore::query_as`] or [`PostgresStore::query_scalar`]; nothing else looks at the
//! mode (but [`PostgresStore::migrate`], which does not run the migrator in transaction mode).
//!
//! - [`PoolMode::Session`] (the default): a pooled connection, and named prepared statements
//!   cached per connection, so a cached statement is one round trip.
//! - [`PoolMode::Transaction`], behind PgBouncer's `pool_mode = transaction`: PgBouncer may hand
//!   the next message of a client to another server connection whenever no transaction is open,
//!   and sqlx sends Parse and Bind/Execute of one statement in two round trips with a Sync
//!   between. So every operation runs inside `BEGIN … COMMIT`, which pins one server connection
//!   for its length, with *unnamed* statements (`persistent(false)`: sqlx's statement id 0, which
//!   the next Parse replaces), so that no statement outlives the transaction on a server
//!   connection another client gets next.

use std::ops::{Deref, DerefMut};

use sqlx::{
    Postgres, Transaction,
    pool::PoolConnection,
    postgres::{PgArguments, PgConnection, PgRow},
    query::{Query, QueryAs, QueryScalar},
};

use super::{PostgresStore, errors::query_error};
use crate::error::StoreResult;

/// How the PostgreSQL store uses its connections: pick [`PoolMode::Transaction`] when Tessera
/// connects through a pooler in transaction pooling mode (PgBouncer's `pool_mode =
/// transaction`), [`PoolMode::Session`] (the default) otherwise.
///
/// In a URL: `?pool-mode=transaction` (or `session`). Tessera reads and removes that parameter;
/// sqlx never sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PoolMode {
    /// A direct connection, or a pooler in session mode: named prepared statements, cached per
    /// connection (one round trip per statement once cached), no transaction around a single
    /// statement.
    #[default]
    Session,
    /// A pooler in transaction mode: every operation, reads included, in one explicit
    /// transaction with unnamed statements, and sqlx's statement cache off. Costs a `BEGIN` and
    /// a `COMMIT` round trip per operation, and a Parse per statement. Does not run migrations:
    /// see [`PostgresStore::migrate`].
    Transaction,
}

impl PoolMode {
    /// The URL parameter that selects the mode: `pool-mode=session|transaction`.
    pub const URL_PARAMETER: &'static str = "pool-mode";

    /// The mode's name, as written after `pool-mode=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Transaction => "transaction",
        }
    }

    /// The mode named `name` (`session` or `transaction`), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "session" => Some(Self::Session),
            "transaction" => Some(Self::Transaction),
            _ => None,
        }
    }
}

/// The connection of one store operation: a pooled connection ([`PoolMode::Session`]), or one in
/// an open transaction ([`PoolMode::Transaction`]) that [`Conn::finish`] commits. Dropped without
/// `finish`, the transaction rolls back (sqlx sends the `ROLLBACK` when the connection goes back
/// to the pool).
pub(super) enum Conn {
    Pooled(PoolConnection<Postgres>),
    Transaction(Transaction<'static, Postgres>),
}

impl Conn {
    /// Ends the operation: commits its transaction, if it has one.
    pub(super) async fn finish(self, doing: &'static str) -> StoreResult<()> {
        match self {
            Self::Pooled(_) => Ok(()),
            Self::Transaction(tx) => tx.commit().await.map_err(|e| query_error(doing, e)),
        }
    }
}

impl Deref for Conn {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Transaction(tx) => tx,
        }
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Transaction(tx) => tx,
        }
    }
}

impl PostgresStore {
    /// The connection for one operation, as the mode wants it (see [`Conn`]). `doing` names the
    /// operation for the error.
    pub(super) async fn conn(&self, doing: &'static str) -> StoreResult<Conn> {
        match self.mode {
            PoolMode::Session => self.pooled().await.map(Conn::Pooled),
            PoolMode::Transaction => Box::pin(self.pool.begin()).await.map(Conn::Transaction),
        }
        .map_err(|e| query_error(doing, e))
    }

    /// The connection of a write that appends `events`: in a transaction whenever it has any, so
    /// that they commit with the change (see `events.rs`); otherwise as [`Self::conn`].
    pub(super) async fn write_conn(
        &self,
        doing: &'static str,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<Conn> {
        if events.is_empty() {
            return self.conn(doing).await;
        }
        Box::pin(self.pool.begin()).await.map(Conn::Transaction).map_err(|e| query_error(doing, e))
    }

    /// An explicit transaction, in either mode, for operations that need one.
    pub(super) async fn begin(
        &self,
        doing: &'static str,
    ) -> StoreResult<Transaction<'static, Postgres>> {
        Box::pin(self.pool.begin()).await.map_err(|e| query_error(doing, e))
    }

    /// A pooled connection: on a pool of the store's own, an idle one at once if there is one,
    /// else the pool's `acquire`.
    ///
    /// Why not `acquire` alone: it cost about 21 000 of a lookup's 82 000 client instructions
    /// (`cargo xtask counts postgres`), mostly `memcpy`. Its future is 14.5 KB (timeout, permit
    /// and connect states), and an async fn that awaits a future inline holds it in its own
    /// state. Boxing it saved only 2 000, so the pool's futures are awaited boxed (`begin`
    /// too) but the common case takes none: `try_acquire` hands out the idle connection
    /// `acquire` would when the pool checks nothing before handing one out
    /// (`takes_idle_directly`), and it yields to waiting tasks, so it jumps no queue.
    async fn pooled(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let idle = if self.takes_idle_directly { self.pool.try_acquire() } else { None };
        match idle {
            Some(conn) => Ok(conn),
            None => Box::pin(self.pool.acquire()).await,
        }
    }

    /// Whether statements are named and cached ([`PoolMode::Session`]) or unnamed.
    fn named_statements(&self) -> bool {
        self.mode == PoolMode::Session
    }

    /// `sqlx::query(sql)`, named or unnamed as the mode wants.
    pub(super) fn query<'q>(&self, sql: &'static str) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.named_statements())
    }

    /// `sqlx::query_as(sql)`, named or unnamed as the mode wants.
    pub(super) fn query_as<'q, O>(&self, sql: &'static str) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        O: for<'r> sqlx::FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql).persistent(self.named_statements())
    }

    /// `sqlx::query_scalar(sql)`, named or unnamed as the mode wants.
    pub(super) fn query_scalar<'q, O>(
        &self,
        sql: &'static str,
    ) -> QueryScalar<'q, Postgres, O, PgArguments>
    where
        (O,): for<'r> sqlx::FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.named_statements())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_names() {
        for mode in [PoolMode::Session, PoolMode::Transaction] {
            assert_eq!(PoolMode::from_name(mode.as_str()), Some(mode));
        }
        assert_eq!(PoolMode::from_name("Transaction"), None);
        assert_eq!(PoolMode::default(), PoolMode::Session);
    }
}
