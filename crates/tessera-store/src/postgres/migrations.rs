//! Versioned migrations, embedded in the binary and applied by sqlx's migrator.
//!
//! The migrator takes a PostgreSQL advisory lock (per database) for the whole run, so nodes
//! starting together apply each migration once; each migration runs in its own transaction
//! together with its bookkeeping row in `tessera_schema_migrations` (a table of our own, so that a
//! host application's sqlx migrations in the same schema are not confused with ours).

use std::borrow::Cow;

use sqlx::{
    SqlStr,
    migrate::{MigrateError, Migration, MigrationType, Migrator},
    postgres::PgPool,
};

use crate::error::{StoreError, StoreResult};

/// Where applied migrations are recorded (in the first schema of the `search_path`).
pub(super) const MIGRATIONS_TABLE: &str = "tessera_schema_migrations";

/// Every migration, in order. Append only: an applied migration's text is checksummed.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "schema", include_str!("../../migrations/postgres/0001_schema.sql")),
    (2, "deployment", include_str!("../../migrations/postgres/0002_deployment.sql")),
    (3, "session_integrity", include_str!("../../migrations/postgres/0003_session_integrity.sql")),
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
