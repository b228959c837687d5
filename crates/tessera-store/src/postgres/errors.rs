//! From sqlx errors to [`StoreError`].
//!
//! Messages name what failed and what to check, never a value: PostgreSQL's `detail` (which
//! repeats the offending key) stays inside the kept `source`, and conflicts keep no source at all.

use sqlx::error::{DatabaseError, ErrorKind};

use crate::error::{Constraint, StoreError};

/// The unique constraints and indexes of the schema, by name (see the migrations).
fn constraint_named(name: &str) -> Option<Constraint> {
    Some(match name {
        "organizations_pkey"
        | "members_pkey"
        | "members_organization_id_id_key"
        | "sessions_pkey"
        | "webhook_endpoints_pkey"
        | "webhook_deliveries_pkey" => Constraint::PrimaryKey,
        "organizations_slug_key" => Constraint::OrganizationSlug,
        "organizations_external_id_key" => Constraint::OrganizationExternalId,
        "members_email_key" => Constraint::MemberEmail,
        "members_external_id_key" => Constraint::MemberExternalId,
        "sessions_token_hash_key" => Constraint::SessionTokenHash,
        "signing_keys_pkey" => Constraint::SigningKeyId,
        _ => return None,
    })
}

/// The database error behind `e`, if it is one.
fn database_error(e: &sqlx::Error) -> Option<&dyn DatabaseError> {
    match e {
        sqlx::Error::Database(db) => Some(db.as_ref()),
        _ => None,
    }
}

/// Whether `e` is a violation of the foreign key named `constraint`.
pub(super) fn is_foreign_key_violation(e: &sqlx::Error, constraint: &str) -> bool {
    database_error(e).is_some_and(|db| {
        db.kind() == ErrorKind::ForeignKeyViolation && db.constraint() == Some(constraint)
    })
}

/// Maps a failed statement. `doing` says what was being done, e.g. "create a session".
pub(super) fn query_error(doing: &'static str, e: sqlx::Error) -> StoreError {
    if let Some(db) = database_error(&e) {
        if db.kind() == ErrorKind::UniqueViolation
            && let Some(constraint) = db.constraint().and_then(constraint_named)
        {
            return StoreError::Conflict(constraint);
        }
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        // Data exceptions (22: a NUL in text, a value out of range...) and integrity violations
        // (23) the names above do not cover are the request's fault, not the database's: a 400,
        // never "storage unavailable".
        if matches!(code.get(..2), Some("22" | "23")) {
            return StoreError::invalid_value(
                format!("cannot {doing}: PostgreSQL refused a value (SQLSTATE {code})"),
                e,
            );
        }
        // A named prepared statement that exists already, or no longer: the server connection
        // changed under the client, as behind a pooler in transaction mode.
        if matches!(code.as_str(), "42P05" | "26000") {
            let message = format!(
                "cannot {doing}: PostgreSQL found a prepared statement of another connection, or \
                 lost one (SQLSTATE {code}): behind a pooler in transaction mode (PgBouncer's \
                 pool_mode = transaction), add `pool-mode=transaction` to the URL"
            );
            return StoreError::unavailable(message, e);
        }
        let hint = match code.get(..2) {
            Some("08") => "the connection to PostgreSQL failed; check that the server is up",
            Some("53") => "PostgreSQL is out of resources (connections, memory or disk)",
            Some("57") => "PostgreSQL is shutting down, restarting or cancelled the statement",
            Some("40") => "PostgreSQL aborted the transaction (deadlock or serialization); retry",
            Some("42") => {
                "PostgreSQL does not know a table or column: is the schema migrated, and is the \
                 search_path right?"
            }
            Some("25") => "PostgreSQL refused the write (read-only transaction or replica?)",
            _ => "PostgreSQL refused the statement",
        };
        let message = format!("cannot {doing}: {hint} (SQLSTATE {code})");
        return StoreError::unavailable(message, e);
    }
    let message = match &e {
        sqlx::Error::PoolTimedOut => format!(
            "cannot {doing}: no PostgreSQL connection became free in time (pool exhausted or \
             server unreachable); check that PostgreSQL is running and not overloaded"
        ),
        sqlx::Error::PoolClosed => format!("cannot {doing}: the PostgreSQL pool is closed"),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => format!(
            "cannot {doing}: lost the connection to PostgreSQL; check that the server is running \
             and reachable"
        ),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => {
            return StoreError::corrupt_with("database", format!("cannot {doing}"), e);
        }
        _ => format!("cannot {doing}: PostgreSQL client error"),
    };
    StoreError::unavailable(message, e)
}

/// Maps a failure to read a column of a row of `table`.
pub(super) fn column_error(table: &'static str, column: &str, e: sqlx::Error) -> StoreError {
    StoreError::corrupt_with(table, format!("column `{column}` cannot be read"), e)
}
