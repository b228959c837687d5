//! Versioned migrations, embedded in the binary and applied by sqlx's migrator.
//!
//! The migrator takes a PostgreSQL advisory lock (per database) for the whole run, so nodes
//! starting together apply each migration once; each migration runs in its own transaction
//! together with its bookkeeping row in `tessera_schema_migrations` (a table of our own, so that a
//! host application's sqlx migrations in the same schema are not confused with ours).
//!
//! Behind a pooler in transaction mode ([`PoolMode::Transaction`]) the migrator cannot run: its
//! advisory lock is held by the session, and its statements are named. [`check_applied`] only
//! reads the bookkeeping table there (in a transaction, with unnamed statements) and refuses to
//! open a schema that is not fully migrated, saying how to migrate it on a direct connection.
//!
//! [`PoolMode::Transaction`]: super::PoolMode::Transaction

use std::borrow::Cow;

use sqlx::{
    SqlStr,
    migrate::{MigrateError, Migration, MigrationType, Migrator},
    postgres::PgPool,
};

use super::PostgresStore;
use crate::error::{StoreError, StoreResult};

/// Where applied migrations are recorded (in the first schema of the `search_path`).
pub(super) const MIGRATIONS_TABLE: &str = "tessera_schema_migrations";

/// The applied migrations, for [`check_applied`] (the table is [`MIGRATIONS_TABLE`]).
const APPLIED: &str =
    "SELECT version, success, checksum FROM tessera_schema_migrations ORDER BY version";

/// Every migration, in order. Append only: an applied migration's text is checksummed.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "schema", include_str!("../../migrations/postgres/0001_schema.sql")),
    (2, "deployment", include_str!("../../migrations/postgres/0002_deployment.sql")),
    (3, "session_integrity", include_str!("../../migrations/postgres/0003_session_integrity.sql")),
    (4, "session_limits", include_str!("../../migrations/postgres/0004_session_limits.sql")),
    (5, "events", include_str!("../../migrations/postgres/0005_events.sql")),
    (6, "webhooks", include_str!("../../migrations/postgres/0006_webhooks.sql")),
    (
        7,
        "session_attributes",
        include_str!("../../migrations/postgres/0007_session_attributes.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

pub(super) async fn run(pool: &PgPool) -> StoreResult<()> {
    let mut conn = pool.acquire().await.map_err(|e| {
        StoreError::open(
            "cannot get a PostgreSQL connection to migrate the schema: check that the server is \
             running and accepting connections",
            e,
        )
    })?;
    // `run_direct` rather than `run`: `run`'s `Acquire` bound makes the future not `Send` for
    // every lifetime, which the `async_trait` callers need (sqlx's own workaround).
    match migrator().run_direct(None, &mut *conn, false).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // The migrator returns early without releasing its session-level advisory lock:
            // close this connection rather than hand a locked one back to the pool.
            conn.close_on_drop();
            Err(open_error(e))
        }
    }
}

/// What to do about a schema that needs migrating, behind transaction pooling.
const MIGRATE_DIRECTLY: &str = "migrations cannot run through a pooler in transaction mode (they \
     hold a session-level advisory lock): apply them once on a direct connection, e.g. \
     `tessera config` or a first node with a URL that bypasses the pooler (or goes through \
     session pooling) and has no `pool-mode=transaction`, then start this node again";

/// [`PoolMode::Transaction`](super::PoolMode::Transaction): `Ok` if every migration built into
/// Tessera is applied, unchanged, and no other; otherwise an `Open` error that says which and
/// how to migrate.
pub(super) async fn check_applied(store: &PostgresStore) -> StoreResult<()> {
    const DOING: &str = "read the applied migrations";
    let mut conn = store.conn(DOING).await?;
    let applied: Result<Vec<(i64, bool, Vec<u8>)>, sqlx::Error> =
        store.query_as(APPLIED).fetch_all(&mut *conn).await;
    let applied = match applied {
        Ok(rows) => {
            conn.finish(DOING).await?;
            rows
        }
        // 42P01: no bookkeeping table yet, a database Tessera never migrated (dropping `conn`
        // rolls its transaction back).
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => {
            return Err(StoreError::open(
                format!("cannot {DOING} (table {MIGRATIONS_TABLE}) through the pooler"),
                e,
            ));
        }
    };
    let built_in = migrator();
    for &(version, success, ref checksum) in &applied {
        let problem = match built_in.iter().find(|m| m.version == version) {
            None => open_error(MigrateError::VersionMissing(version)),
            Some(_) if !success => open_error(MigrateError::Dirty(version)),
            Some(m) if *m.checksum != **checksum => {
                open_error(MigrateError::VersionMismatch(version))
            }
            Some(_) => continue,
        };
        return Err(problem);
    }
    let pending: Vec<String> = built_in
        .iter()
        .filter(|m| !applied.iter().any(|&(version, _, _)| version == m.version))
        .map(|m| m.version.to_string())
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    Err(StoreError::Open {
        message: format!(
            "the PostgreSQL schema lacks migration(s) {}: {MIGRATE_DIRECTLY}",
            pending.join(", ")
        ),
        source: None,
    })
}

fn open_error(e: MigrateError) -> StoreError {
    let message = match &e {
        MigrateError::VersionMismatch(v) => format!(
            "migration {v} applied to this database differs from the one built into Tessera"
        ),
        MigrateError::VersionMissing(v) => format!(
            "the database has migration {v}, which this Tessera does not know: it was migrated \
             by a newer Tessera"
        ),
        MigrateError::Dirty(v) => format!("migration {v} was only partly applied"),
        MigrateError::ExecuteMigration(_, v) => format!("migration {v} failed"),
        _ => "cannot migrate the PostgreSQL schema".to_owned(),
    };
    StoreError::open(message, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applied_check_reads_the_migrators_table() {
        assert!(APPLIED.contains(&format!(" FROM {MIGRATIONS_TABLE} ")), "{APPLIED}");
    }
}
