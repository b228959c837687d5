//! SQLite rows: how SQLite stores the primitives of the row model ([`crate::row`]), the
//! encodings of ids, instants and JSON for writes, and the decoders of the tables only SQLite
//! code reads here (signing keys, the deployment). A damaged row is `Corrupt`, never a panic.

use chrono::{DateTime, Utc};
use rusqlite::{Params, Row, Statement, types::ValueRef};
use uuid::Uuid;

use super::errors::sql;
pub(super) use crate::row::{
    MEMBERS, ORGANIZATION_COLUMN_COUNT, ORGANIZATIONS, SESSIONS, member, member_columns,
    organization, organization_columns, session, session_columns,
};
use crate::{
    decoded::Raw,
    deployment::Deployment,
    error::{StoreError, StoreResult},
    row::{Columns, Readable, SqlRow, Unreadable},
    signing_key::SigningKey,
};

pub(super) const SIGNING_KEYS: &str = "signing_keys";
pub(super) const DEPLOYMENT: &str = "deployment";

/// The columns [`signing_key`] decodes.
macro_rules! signing_key_columns {
    () => {
        "kid, algorithm, private_key_der, public_key_der, created_at, retired_at"
    };
}

pub(super) use signing_key_columns;

// ---------------------------------------------------------------------------------------------
// Encoding

pub(super) fn uuid_blob(uuid: &Uuid) -> &[u8] {
    uuid.as_bytes()
}

pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The result of `serde_json::to_string` on a column value (which cannot fail for the domain
/// types, whose maps have string keys).
pub(super) fn json(
    table: &'static str,
    column: &str,
    encoded: serde_json::Result<String>,
) -> StoreResult<String> {
    encoded
        .map_err(|e| StoreError::corrupt_with(table, format!("cannot encode {column} as JSON"), e))
}

// ---------------------------------------------------------------------------------------------
// Running queries with decoders that return `StoreResult`

/// The first row of a query, decoded.
pub(super) fn query_opt<T>(
    stmt: &mut Statement<'_>,
    params: impl Params,
    table: &'static str,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut rows = stmt.query(params).map_err(sql(table))?;
    match rows.next().map_err(sql(table))? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// Every row of a query, decoded.
pub(super) fn query_all<T>(
    stmt: &mut Statement<'_>,
    params: impl Params,
    table: &'static str,
    mut decode: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut rows = stmt.query(params).map_err(sql(table))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql(table))? {
        out.push(decode(row)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// SQLite's storage of the row model: UUIDs as 16-byte blobs, instants as microseconds since the
/// Unix epoch, JSON and lists (a JSON array) as text.
impl SqlRow for Row<'_> {
    #[inline]
    fn raw(&self, i: usize) -> Result<Raw<'_>, Unreadable> {
        Ok(match value(self, i)? {
            ValueRef::Null => Raw::Null,
            ValueRef::Integer(n) => Raw::Integer(n),
            ValueRef::Real(x) => Raw::Integer(x.to_bits() as i64),
            ValueRef::Text(bytes) => Raw::Text(bytes),
            ValueRef::Blob(bytes) => Raw::Bytes(bytes),
        })
    }

    #[inline]
    fn uuid(&self, i: usize) -> Readable<Uuid> {
        match value(self, i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Uuid::from_slice(bytes)
                .map(Some)
                .map_err(|e| Unreadable::with("not a 16-byte UUID", e)),
            _ => Err(Unreadable::new("not a blob")),
        }
    }

    #[inline]
    fn text(&self, i: usize) -> Readable<&str> {
        match value(self, i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => {
                std::str::from_utf8(bytes).map(Some).map_err(|e| Unreadable::with("not UTF-8", e))
            }
            _ => Err(Unreadable::new("not text")),
        }
    }

    #[inline]
    fn blob(&self, i: usize) -> Readable<&[u8]> {
        match value(self, i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Ok(Some(bytes)),
            _ => Err(Unreadable::new("not a blob")),
        }
    }

    #[inline]
    fn int(&self, i: usize) -> Readable<i64> {
        match value(self, i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            _ => Err(Unreadable::new("not an integer")),
        }
    }

    #[inline]
    fn instant(&self, i: usize) -> Readable<DateTime<Utc>> {
        match self.int(i)? {
            None => Ok(None),
            Some(us) => DateTime::from_timestamp_micros(us)
                .map(Some)
                .ok_or_else(|| Unreadable::new("instant out of range")),
        }
    }

    #[inline]
    fn json(&self, i: usize) -> Readable<&str> {
        self.text(i)
    }

    #[inline]
    fn strings(&self, i: usize) -> Readable<Vec<String>> {
        self.text(i)?
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| Unreadable::with("not a JSON array of strings", e))
    }
}

#[inline]
fn value<'a>(row: &'a Row<'_>, i: usize) -> Result<ValueRef<'a>, Unreadable> {
    row.get_ref(i).map_err(|e| Unreadable::with("cannot be read", e))
}

/// Typed, checked access to the columns of one table within a row.
pub(super) type Cols<'a, 'r> = Columns<'a, Row<'r>>;

/// A signing key from `signing_key_columns!()`.
pub(super) fn signing_key(row: &Row<'_>) -> StoreResult<SigningKey> {
    let c = Cols::new(row, SIGNING_KEYS, 0);
    Ok(SigningKey {
        kid: c.text(0, "kid")?.to_owned(),
        algorithm: c.text(1, "algorithm")?.to_owned(),
        private_key_der: c.blob(2, "private_key_der")?.to_vec(),
        public_key_der: c.blob(3, "public_key_der")?.to_vec(),
        created_at: c.time(4, "created_at")?,
        retired_at: c.opt_time(5, "retired_at")?,
    })
}

/// The deployment from `project_id, secret_hash, created_at`.
pub(super) fn deployment(row: &Row<'_>) -> StoreResult<Deployment> {
    let c = Cols::new(row, DEPLOYMENT, 0);
    let secret_hash = c
        .blob(1, "secret_hash")?
        .try_into()
        .map_err(|_| c.corrupt("secret_hash", "not 32 bytes"))?;
    Ok(Deployment {
        project_id: c.text(0, "project_id")?.to_owned(),
        secret_hash,
        created_at: c.time(2, "created_at")?,
    })
}
