//! Versioned migrations, tracked in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{StoreError, StoreResult};

/// Migration `i` (0-based) takes the schema from version `i` to version `i + 1`. Append only:
/// a published migration never changes.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_initial.sql")];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE` transaction, so that
/// two processes opening a new file at once migrate it once. Refuses a newer version.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let fail = |what: &'static str| move |e: rusqlite::Error| StoreError::open(what, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail("cannot start the migration transaction"))?;
    let current: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(fail("cannot read the schema version"))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Open {
            message: format!(
                "the SQLite database is at schema version {current}, newer than the \
                 {SCHEMA_VERSION} this build of Tessera knows: upgrade Tessera instead of \
                 opening it with an older one"
            ),
            source: None,
        });
    }
    if current < 0 {
        return Err(StoreError::Open {
            message: format!("the SQLite database has an invalid schema version {current}"),
            source: None,
        });
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(current).unwrap_or(0)) {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::open(format!("SQLite migration {} failed", index + 1), e))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(fail("cannot record the schema version"))?;
    tx.commit().map_err(fail("cannot commit the migration"))?;
    Ok(())
}
