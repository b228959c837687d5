//! From rusqlite errors to [`StoreError`].

use rusqlite::{Error as SqlError, ErrorCode};

use crate::error::{Constraint, StoreError};

/// The mapper for errors of statements on `table` (named in `Corrupt` errors).
pub(super) fn sql(table: &'static str) -> impl Fn(SqlError) -> StoreError {
    move |e| from_sqlite(table, e)
}

/// Maps a rusqlite error. Constraint violations become `Conflict` with the uniqueness rule
/// named by the columns SQLite reports; lock, I/O and space problems `Unavailable`; damaged
/// files and undecodable values `Corrupt`. rusqlite errors carry no bound values, so no token
/// hash or key material ends up in the message.
pub(super) fn from_sqlite(table: &'static str, e: SqlError) -> StoreError {
    match &e {
        SqlError::SqliteFailure(failure, message) => match failure.code {
            ErrorCode::ConstraintViolation => {
                match message.as_deref().and_then(unique_constraint) {
                    Some(constraint) => StoreError::Conflict(constraint),
                    // A CHECK, NOT NULL or foreign key rule refused a value: the request's fault.
                    None => StoreError::invalid_value(
                        format!("SQLite refused a write to {table}: constraint violation"),
                        e,
                    ),
                }
            }
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                StoreError::corrupt_with(table, "the database file is damaged", e)
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::unavailable("the SQLite database is locked (busy timeout)", e)
            }
            ErrorCode::DiskFull => StoreError::unavailable("the SQLite disk is full", e),
            ErrorCode::SystemIoFailure => StoreError::unavailable("SQLite I/O error", e),
            _ => StoreError::unavailable(format!("SQLite error on {table}"), e),
        },
        SqlError::FromSqlConversionFailure(..)
        | SqlError::InvalidColumnType(..)
        | SqlError::IntegralValueOutOfRange(..)
        | SqlError::Utf8Error(..) => {
            StoreError::corrupt_with(table, "a column holds a value of the wrong type", e)
        }
        _ => StoreError::unavailable(format!("SQLite error on {table}"), e),
    }
}

/// Which uniqueness rule a `UNIQUE constraint failed: t.a, t.b` message names.
fn unique_constraint(message: &str) -> Option<Constraint> {
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    Some(match columns {
        "organizations.id"
        | "members.id"
        | "sessions.id"
        | "webhook_endpoints.id"
        | "webhook_deliveries.id" => Constraint::PrimaryKey,
        "organizations.slug" => Constraint::OrganizationSlug,
        "organizations.external_id" => Constraint::OrganizationExternalId,
        "members.organization_id, members.email_normalized" => Constraint::MemberEmail,
        "members.organization_id, members.external_id" => Constraint::MemberExternalId,
        "members.organization_id, members.id" => Constraint::PrimaryKey,
        "sessions.token_hash" => Constraint::SessionTokenHash,
        "signing_keys.kid" => Constraint::SigningKeyId,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_messages() {
        assert_eq!(
            unique_constraint(
                "UNIQUE constraint failed: members.organization_id, members.email_normalized"
            ),
            Some(Constraint::MemberEmail)
        );
        assert_eq!(
            unique_constraint("UNIQUE constraint failed: sessions.token_hash"),
            Some(Constraint::SessionTokenHash)
        );
        assert_eq!(unique_constraint("FOREIGN KEY constraint failed"), None);
    }
}
