//! The statements on hot or large paths use the indexes they were written for: no full scan
//! of a table that grows with the number of sessions, members, events or deliveries.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::{SqliteOptions, connection, members, sessions, webhooks};

fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
    let unbound = std::iter::repeat_n(rusqlite::types::Null, stmt.parameter_count());
    stmt.query_map(rusqlite::params_from_iter(unbound), |row| row.get::<_, String>(3))
        .expect("plan rows")
        .collect::<Result<_, _>>()
        .expect("plan")
}

fn fresh_connection() -> Connection {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let path = std::env::temp_dir()
        .join("tessera-store-sqlite-plans")
        .join(format!("{}-{nanos}.sqlite3", std::process::id()));
    let (writer, _readers) =
        connection::open_all(&path, &SqliteOptions::default().readers(1)).expect("open");
    writer
}

#[test]
fn hot_statements_search_by_index() {
    let conn = fresh_connection();
    for (name, sql, index) in [
        ("find by token", sessions::FIND_BY_TOKEN, "sessions_token_hash_key"),
        ("find by id", sessions::FIND_BY_ID, ""),
        ("session organization", sessions::SESSION_ORGANIZATION, ""),
        ("member organization", members::MEMBER_ORGANIZATION, ""),
        ("authenticate", sessions::RECORD_AUTHENTICATION, ""),
        ("revoke member sessions", sessions::REVOKE_MEMBER_SESSIONS, "sessions_member_idx"),
        ("list member sessions", sessions::LIST_MEMBER_SESSIONS, "sessions_member_idx"),
        ("purge expired", sessions::PURGE_EXPIRED, "sessions_expires_at_idx"),
        ("purge expired", sessions::PURGE_EXPIRED, "sessions_revoked_at_idx"),
        ("purge idle", sessions::PURGE_IDLE, "sessions_last_accessed_idx"),
        ("purge capped", sessions::PURGE_CAPPED, "sessions_started_idx"),
        ("claim deliveries", webhooks::CLAIMABLE, "webhook_deliveries_due_idx"),
        ("webhook backlog", webhooks::BACKLOG, "webhook_deliveries_due_idx"),
        ("fan-out batch", webhooks::EVENTS_AFTER, "INTEGER PRIMARY KEY"),
    ] {
        let plan = plan(&conn, sql);
        // Purging idle or capped sessions walks the organizations (one index range of sessions
        // each); nothing walks the sessions or members.
        let scans_a_big_table = |step: &String| {
            step.starts_with("SCAN")
                && !step.starts_with("SCAN o")
                && !step.contains("organizations")
        };
        assert!(!plan.iter().any(scans_a_big_table), "{name} scans: {plan:#?}");
        assert!(plan.iter().any(|step| step.contains(index)), "{name} misses {index}: {plan:#?}");
    }
}
