//! Opening connections, their pragmas, and the pool of reader connections.

use std::{
    path::Path,
    sync::{
        Mutex, PoisonError, TryLockError,
        atomic::{AtomicUsize, Ordering},
    },
};

use rusqlite::{Connection, OpenFlags};

use super::{SqliteOptions, schema};
use crate::error::{StoreError, StoreResult};

/// Prepared statements kept per connection; more than this backend has, so none is evicted.
const STATEMENT_CACHE: usize = 64;

/// Opens the writer (creating the file), migrates, then opens the readers. Blocking.
pub(super) fn open_all(path: &Path, options: &SqliteOptions) -> StoreResult<(Connection, Readers)> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::open(format!("cannot create directory {}", parent.display()), e)
        })?;
    }
    let mut writer = open_writer(path, options)?;
    schema::migrate(&mut writer)?;
    let readers = (0..options.readers.max(1))
        .map(|_| open_reader(path, options).map(Mutex::new))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((writer, Readers { connections: readers.into_boxed_slice(), next: AtomicUsize::new(0) }))
}

fn open_error(path: &Path, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let message = format!("{what} ({})", path.display());
    move |e| StoreError::open(message, e)
}

fn open_writer(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(open_error(path, "cannot open the SQLite database"))?;
    conn.busy_timeout(options.busy_timeout).map_err(open_error(path, "cannot set busy_timeout"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_error(path, "cannot switch to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            message: format!("SQLite refused WAL mode (journal_mode is {mode})"),
            source: None,
        });
    }
    // The writer's page cache: a purge batch or a burst of creates touches pages all over the
    // token-hash index (random keys); SQLite's default 2 MiB cache re-reads them. 32 MiB.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;",
    )
    .map_err(open_error(path, "cannot set pragmas"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn open_reader(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(open_error(path, "cannot open a SQLite reader"))?;
    conn.busy_timeout(options.busy_timeout).map_err(open_error(path, "cannot set busy_timeout"))?;
    // Reads go through a memory map of the database file (up to 1 GiB) instead of a read()
    // and a copy per page, and keep a 16 MiB page cache: at 10^6 sessions a lookup touches
    // index and table pages that SQLite's default 2 MiB cache cannot hold (docs/BENCHMARKS.md).
    conn.execute_batch(
        "PRAGMA query_only = ON; PRAGMA foreign_keys = ON; \
         PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;",
    )
    .map_err(open_error(path, "cannot set reader pragmas"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Read-only connections, used inline on the caller's thread.
pub(super) struct Readers {
    connections: Box<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl Readers {
    pub(super) fn len(&self) -> usize {
        self.connections.len()
    }

    /// Runs `f` on the first free connection, starting from a rotating position; waits on one
    /// only if all are busy. A poisoned lock (a panic during an earlier read) is taken anyway:
    /// the connection itself is still sound, its statements were reset when they dropped.
    pub(super) fn with<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let n = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            match self.connections[(start + i) % n].try_lock() {
                Ok(conn) => return f(&conn),
                Err(TryLockError::Poisoned(poisoned)) => return f(&poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let conn = self.connections[start % n].lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}
