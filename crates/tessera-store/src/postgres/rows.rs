//! PostgreSQL rows: how PostgreSQL stores the primitives of the row model ([`crate::row`]), and
//! the decoders of the tables only PostgreSQL code reads here (signing keys, the deployment).
//! Reading goes through the domain parsers, so a damaged row is a [`StoreError::Corrupt`] naming
//! its table, never a panic nor an invalid value.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{
    Row, ValueRef,
    postgres::{PgRow, PgValueFormat},
};
use tessera_core::CustomClaims;
use uuid::Uuid;

use super::errors::column_error;
pub(super) use crate::row::{MEMBERS, ORGANIZATIONS, SESSIONS};
use crate::{
    decoded::Raw,
    deployment::Deployment,
    error::{StoreError, StoreResult},
    row::{Readable, SqlRow, Unreadable},
    signing_key::SigningKey,
};

pub(super) const SIGNING_KEYS: &str = "signing_keys";
pub(super) const DEPLOYMENT: &str = "deployment";

/// PostgreSQL's storage of the row model ([`crate::row`]), read from the binary format sqlx asks
/// for: `uuid` (16 bytes), `text`, `bytea`, `int2/4/8` (big-endian), `timestamptz`
/// (microseconds since 2000-01-01, big-endian), `jsonb` (a version byte, then JSON text) and
/// `text[]` (through sqlx).
impl SqlRow for PgRow {
    fn raw(&self, i: usize) -> Result<Raw<'_>, Unreadable> {
        let value = self.try_get_raw(i).map_err(|e| Unreadable::with("cannot be read", e))?;
        if value.is_null() {
            return Ok(Raw::Null);
        }
        let format = value.format();
        let bytes = value.as_bytes().map_err(|e| Unreadable::with("cannot be read", e))?;
        Ok(match format {
            PgValueFormat::Text => Raw::Text(bytes),
            PgValueFormat::Binary => Raw::Bytes(bytes),
        })
    }

    fn uuid(&self, i: usize) -> Readable<Uuid> {
        binary(self, i)?
            .map(|bytes| Uuid::from_slice(bytes).map_err(|e| Unreadable::with("not a uuid", e)))
            .transpose()
    }

    fn text(&self, i: usize) -> Readable<&str> {
        match self.raw(i)? {
            Raw::Null => Ok(None),
            Raw::Integer(_) => Err(Unreadable::new("not text")),
            Raw::Text(bytes) | Raw::Bytes(bytes) => {
                std::str::from_utf8(bytes).map(Some).map_err(|e| Unreadable::with("not UTF-8", e))
            }
        }
    }

    fn blob(&self, i: usize) -> Readable<&[u8]> {
        binary(self, i)
    }

    fn int(&self, i: usize) -> Readable<i64> {
        binary(self, i)?
            .map(|bytes| match *bytes {
                [a, b] => Ok(i64::from(i16::from_be_bytes([a, b]))),
                [a, b, c, d] => Ok(i64::from(i32::from_be_bytes([a, b, c, d]))),
                _ => bytes
                    .try_into()
                    .map(i64::from_be_bytes)
                    .map_err(|_| Unreadable::new("not an integer")),
            })
            .transpose()
    }

    fn instant(&self, i: usize) -> Readable<DateTime<Utc>> {
        /// 2000-01-01T00:00:00Z, PostgreSQL's epoch, in microseconds since the Unix epoch.
        const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
        binary(self, i)?
            .map(|bytes| {
                let micros = <[u8; 8]>::try_from(bytes)
                    .map(i64::from_be_bytes)
                    .map_err(|_| Unreadable::new("not a timestamptz"))?;
                micros
                    .checked_add(POSTGRES_EPOCH_MICROS)
                    .and_then(DateTime::from_timestamp_micros)
                    .ok_or_else(|| Unreadable::new("instant out of range"))
            })
            .transpose()
    }

    fn json(&self, i: usize) -> Readable<&str> {
        let bytes = match self.raw(i)? {
            Raw::Null => return Ok(None),
            Raw::Bytes([1, json @ ..]) => json,
            Raw::Bytes(_) | Raw::Integer(_) => return Err(Unreadable::new("not jsonb version 1")),
            Raw::Text(json) => json,
        };
        std::str::from_utf8(bytes).map(Some).map_err(|e| Unreadable::with("not UTF-8", e))
    }

    fn strings(&self, i: usize) -> Readable<Vec<String>> {
        self.try_get::<Option<Vec<String>>, _>(i).map_err(|e| Unreadable::with("not a text[]", e))
    }
}

/// One column of a row of `table`, by name.
pub(super) fn get<'r, T>(row: &'r PgRow, table: &'static str, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(|e| column_error(table, column, e))
}

fn corrupt_column(
    table: &'static str,
    column: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::corrupt_with(table, format!("column `{column}` holds an invalid value"), e)
}

/// A value in binary format: the only format sqlx asks PostgreSQL for in query results.
fn binary(row: &PgRow, i: usize) -> Readable<&[u8]> {
    match row.raw(i)? {
        Raw::Null => Ok(None),
        Raw::Bytes(bytes) => Ok(Some(bytes)),
        Raw::Text(_) | Raw::Integer(_) => Err(Unreadable::new("not in binary format")),
    }
}

/// Stored custom claims (a row locked for a patch), checked like [`session`] does.
pub(super) fn stored_claims(value: Value) -> StoreResult<CustomClaims> {
    CustomClaims::from_stored(value).map_err(|e| corrupt_column(SESSIONS, "custom_claims", e))
}

/// A signing key from the plain columns of `signing_keys`.
pub(super) fn signing_key(row: &PgRow) -> StoreResult<SigningKey> {
    let t = SIGNING_KEYS;
    Ok(SigningKey {
        kid: get(row, t, "kid")?,
        algorithm: get(row, t, "algorithm")?,
        private_key_der: get(row, t, "private_key_der")?,
        public_key_der: get(row, t, "public_key_der")?,
        created_at: get::<DateTime<Utc>>(row, t, "created_at")?,
        retired_at: get(row, t, "retired_at")?,
    })
}

/// The deployment from `project_id, secret_hash, created_at`.
pub(super) fn deployment(row: &PgRow) -> StoreResult<Deployment> {
    let t = DEPLOYMENT;
    let secret_hash: Vec<u8> = get(row, t, "secret_hash")?;
    let secret_hash = secret_hash
        .try_into()
        .map_err(|_| StoreError::corrupt(t, "column `secret_hash` is not 32 bytes"))?;
    Ok(Deployment {
        project_id: get(row, t, "project_id")?,
        secret_hash,
        created_at: get(row, t, "created_at")?,
    })
}

/// Serializes a value for a JSON column (infallible for the domain types, which have string
/// keys only; a failure would be a bug, reported rather than panicking).
pub(super) fn json_column(
    table: &'static str,
    column: &str,
    value: Result<Value, serde_json::Error>,
) -> StoreResult<Value> {
    value.map_err(|e| {
        StoreError::corrupt_with(table, format!("cannot serialize column `{column}`"), e)
    })
}
