//! Versioned migrations, tracked in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{StoreError, StoreResult};

/// Migration `i` (0-based) takes the schema from version `i` to version `i + 1`. Append only:
/// a published migration never changes.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_initial.sql"),
    include_str!("../../migrations/sqlite/0002_deployment.sql"),
    include_str!("../../migrations/sqlite/0003_session_integrity.sql"),
    include_str!("../../migrations/sqlite/0004_session_limits.sql"),
    include_str!("../../migrations/sqlite/0005_events.sql"),
    include_str!("../../migrations/sqlite/0006_webhooks.sql"),
];

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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{MIGRATIONS, SCHEMA_VERSION, migrate};

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).expect("user_version")
    }

    #[test]
    fn a_version_1_file_upgrades_and_keeps_its_data() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("migration 1");
        conn.pragma_update(None, "user_version", 1).expect("set version 1");
        conn.execute(
            "INSERT INTO signing_keys (kid, algorithm, private_key_der, public_key_der, \
             created_at) VALUES ('k1', 'EdDSA', x'01', x'02', 0)",
            [],
        )
        .expect("a version-1 row");
        conn.execute_batch(
            "INSERT INTO organizations VALUES (x'00000000000000000000000000000001', 'acme', NULL, \
             'Acme', NULL, '{}', 'OPTIONAL', 527040, NULL, 0, 0); \
             INSERT INTO members VALUES (x'00000000000000000000000000000002', \
             x'00000000000000000000000000000001', 'a@b.c', 'a@b.c', NULL, NULL, '[]', '{}', '{}', 0, 0); \
             INSERT INTO sessions (id, organization_id, member_id, token_hash, started_at, \
             last_accessed_at, expires_at, authentication_factors, custom_claims, updated_at) \
             VALUES (x'00000000000000000000000000000003', x'00000000000000000000000000000001', \
             x'00000000000000000000000000000002', zeroblob(32), 0, 0, 1, '[]', '{}', 0);",
        )
        .expect("a version-1 session");

        migrate(&mut conn).expect("upgrade");
        let generation: i64 = conn
            .query_row("SELECT token_generation FROM sessions", [], |row| row.get(0))
            .expect("the version-3 column");
        assert_eq!(generation, 0, "sessions from before generations are at generation 0");
        assert_eq!(version(&conn), SCHEMA_VERSION);
        assert_eq!(SCHEMA_VERSION, 6);
        let limit: Option<i64> = conn
            .query_row("SELECT max_sessions_per_member FROM organizations", [], |row| row.get(0))
            .expect("the version-4 column");
        assert_eq!(limit, None, "organizations from before limits have none");
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM signing_keys", [], |row| row.get(0))
            .expect("count");
        assert_eq!(kept, 1, "the upgrade kept the version-1 data");
        let empty: i64 = conn
            .query_row("SELECT count(*) FROM deployment", [], |row| row.get(0))
            .expect("the deployment table exists");
        assert_eq!(empty, 0);

        // Again: nothing to do.
        migrate(&mut conn).expect("idempotent");
        assert_eq!(version(&conn), SCHEMA_VERSION);
    }

    #[test]
    fn the_deployment_table_holds_one_row_of_a_32_byte_hash() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let insert = "INSERT INTO deployment (singleton, project_id, secret_hash, created_at) \
                      VALUES (?1, 'p', ?2, 0)";
        conn.execute(insert, rusqlite::params![1, [7u8; 32].as_slice()]).expect("first row");
        assert!(conn.execute(insert, rusqlite::params![1, [8u8; 32].as_slice()]).is_err());
        assert!(conn.execute(insert, rusqlite::params![2, [8u8; 32].as_slice()]).is_err());
        conn.execute("DELETE FROM deployment", []).expect("delete");
        assert!(conn.execute(insert, rusqlite::params![1, [7u8; 31].as_slice()]).is_err());
    }
}
