//! SQLite backend, through rusqlite: the embedded default.
//!
//! # Threads, reads and writes
//!
//! The point of this backend is a hot path without thread hops. Measured on these machines, an
//! indexed point select by a 32-byte hash costs 6.4 µs through rusqlite and 79 µs through
//! sqlx-sqlite, which sends every statement to a worker thread and back (~30 µs a hop). So:
//!
//! - **Reads run inline, on the calling async worker thread**, on one of a few read-only
//!   connections (4 by default, [`SqliteOptions::readers`]), each behind a `std::sync::Mutex`.
//!   A read takes the first free connection (`try_lock`, round-robin from a rotating start) and
//!   only waits, briefly and blocking, when all are busy, which needs more concurrent readers
//!   than connections. Reads are single statements of a few microseconds (a token lookup is one
//!   `SELECT` joining sessions → members → organizations), so waiting on a busy one is cheaper
//!   than any hop. In WAL mode readers never wait for the writer: each statement reads the
//!   last committed snapshot.
//! - **Every write goes through one writer connection** behind a `tokio::sync::Mutex`: waiting
//!   for it is an async wait that blocks no thread. Once held, the write runs inline, inside a
//!   `BEGIN IMMEDIATE` transaction, to its commit or rollback, with no `.await` in between, so
//!   a cancelled caller can never leave a transaction half done. Writes are short conditional
//!   statements (touch, revoke, extend, rotate: one `UPDATE` each; a claims patch is a read and
//!   an `UPDATE` in the same transaction; an exchange is a conditional revoke and an `INSERT`).
//! - **Long work goes to the blocking pool** (`spawn_blocking`): opening and migrating the file,
//!   and each purge batch (which holds the writer lock while it runs, so it is bounded by the
//!   batch size the caller gives).
//! - Every statement is prepared once per connection (`prepare_cached`). SQLite's automatic
//!   WAL checkpoint (passive, every 1000 pages) runs inside the writer's commit, on the writer.
//!
//! **Why there is no `SQLITE_BUSY` within one process**: SQLite allows one writer at a time per
//! database file. All writes of a [`SqliteStore`] are serialized by its writer lock before they
//! reach SQLite, so its writer never finds the write lock held by another of its connections;
//! readers in WAL mode need no lock that a writer holds. **Other processes** (the operator CLI
//! opening the same file, or a second store on it) are covered by `busy_timeout` (5 s by
//! default): SQLite retries for that long before giving up with `SQLITE_BUSY`, which maps to
//! [`StoreError::Unavailable`](crate::StoreError::Unavailable). Because writers start with
//! `BEGIN IMMEDIATE`, they take the write lock up front, where the busy handler applies, instead
//! of upgrading a read transaction, which would fail at once with `SQLITE_BUSY_SNAPSHOT`.
//! While such a foreign writer holds the lock, this process's writer waits in the busy handler
//! on its async worker thread: acceptable for rare operator work, and the reason the writer's
//! transactions are kept short.
//!
//! Pragmas: `journal_mode=WAL`, `synchronous=NORMAL` (durable at checkpoints, never corrupt),
//! `foreign_keys=ON`, `busy_timeout=5000`; readers also set `query_only`.
//!
//! # Schema and migrations
//!
//! Normalized (sessions → members → organizations, with `ON DELETE CASCADE`; a session's
//! foreign key is the composite `(organization_id, member_id)`, so it cannot point at a member of
//! another organization), in `migrations/sqlite/NNNN_*.sql`. The applied version is
//! `PRAGMA user_version`; migrations run at open in one `BEGIN IMMEDIATE` transaction, and a file
//! whose version is newer than this build knows is refused with [`StoreError::Open`].
//! Ids are 16-byte UUID blobs; instants are integer microseconds since the Unix epoch (UTC);
//! JSON columns hold the serde form of the core types and are validated on read (a damaged row
//! gives [`StoreError::Corrupt`], never a panic).
//!
//! [`StoreError::Open`]: crate::StoreError::Open
//! [`StoreError::Corrupt`]: crate::StoreError::Corrupt

mod connection;
mod deployment;
mod errors;
mod events;
mod keys;
mod members;
mod organizations;
#[cfg(test)]
mod plan_tests;
mod rows;
mod schema;
mod sessions;
mod webhooks;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use self::schema::SCHEMA_VERSION;
use self::{connection::Readers, errors::sql};
use crate::{decoded::Decoded, error::StoreResult, repository::Store};

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Read-only connections used inline by reads (at least 1). Default 4.
    pub readers: usize,
    /// How long a statement waits for a lock held by another process before failing with
    /// `Unavailable`. Default 5 s.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { readers: 4, busy_timeout: Duration::from_secs(5) }
    }
}

impl SqliteOptions {
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

/// The SQLite backend: one database file, one writer connection, a few reader connections.
/// See the [module documentation](self) for the threading design.
pub struct SqliteStore {
    path: PathBuf,
    // Declared (so dropped) before the writer: the last connection to close is the read-write
    // one, which checkpoints the WAL and removes it.
    readers: Readers,
    writer: Arc<tokio::sync::Mutex<Connection>>,
    /// Members and organizations decoded by session lookups (`crate::decoded`).
    decoded: Arc<Decoded>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if missing) and migrates the database at
    /// `path`, with default options.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Like [`Self::open`], with options.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || connection::open_all(&path, &options))
                .await
                .map_err(|e| crate::StoreError::open("the task opening SQLite failed", e))??
        };
        let (writer, readers) = opened;
        Ok(Self {
            path,
            readers,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            decoded: Arc::new(Decoded::new()),
        })
    }

    /// Opens the database at `path` and wraps it as a [`Store`].
    pub async fn open_store(path: impl AsRef<Path>) -> StoreResult<Store> {
        Ok(Self::open(path).await?.into_store())
    }

    /// This backend as a [`Store`] (named `sqlite`).
    pub fn into_store(self) -> Store {
        Store::new(Arc::new(self), "sqlite")
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read inline on a free reader connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.readers.with(f)
    }

    /// Runs a write inline in a `BEGIN IMMEDIATE` transaction on the writer connection, once
    /// the writer lock is ours (an async wait). `Err` from `f` rolls back.
    async fn write<T>(
        &self,
        table: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.writer.lock().await;
        in_write_transaction(&mut conn, table, f)
    }

    /// Like [`Self::write`], on the blocking pool: for work that may take longer than a few
    /// statements (a purge batch).
    async fn write_blocking<T, F>(&self, table: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let mut conn = Arc::clone(&self.writer).lock_owned().await;
        tokio::task::spawn_blocking(move || in_write_transaction(&mut conn, table, f))
            .await
            .map_err(|e| crate::StoreError::unavailable("the SQLite write task failed", e))?
    }
}

fn in_write_transaction<T>(
    conn: &mut Connection,
    table: &'static str,
    f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql(table))?;
    let value = f(&tx)?;
    tx.commit().map_err(sql(table))?;
    Ok(value)
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}
