//! Rows ↔ domain values: the column lists every query selects, the encodings of ids, instants
//! and JSON, and decoders that check every column (a damaged row is `Corrupt`, never a panic).

use chrono::{DateTime, Utc};
use rusqlite::{Params, Row, Statement, types::ValueRef};
use serde_json::Value;
use tessera_core::{
    CustomClaims, EmailAddress, ExternalId, IdleTimeout, LifetimePolicy, MaxLifetime, Member,
    MemberId, MemberSession, MfaPolicy, Organization, OrganizationId, OrganizationName,
    OrganizationSettings, OrganizationSlug, SessionAttributes, SessionId, SessionLimit,
    SessionTimes,
};
use uuid::Uuid;

use super::errors::sql;
use crate::{
    decoded::Raw,
    deployment::Deployment,
    error::{StoreError, StoreResult},
    signing_key::SigningKey,
};

pub(super) const ORGANIZATIONS: &str = "organizations";
pub(super) const MEMBERS: &str = "members";
pub(super) const SESSIONS: &str = "sessions";
pub(super) const SIGNING_KEYS: &str = "signing_keys";
pub(super) const DEPLOYMENT: &str = "deployment";

/// The columns [`organization`] decodes, in order, each prefixed with `$p` (a table alias).
macro_rules! organization_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "slug, ",
            $p,
            "external_id, ",
            $p,
            "name, ",
            $p,
            "email, ",
            $p,
            "trusted_metadata, ",
            $p,
            "mfa_policy, ",
            $p,
            "max_lifetime_minutes, ",
            $p,
            "idle_timeout_minutes, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "max_sessions_per_member, ",
            $p,
            "session_limit_behavior"
        )
    };
}
pub(super) const ORGANIZATION_COLUMN_COUNT: usize = 13;

/// The columns [`member`] decodes.
macro_rules! member_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "organization_id, ",
            $p,
            "email_address, ",
            $p,
            "external_id, ",
            $p,
            "name, ",
            $p,
            "roles, ",
            $p,
            "trusted_metadata, ",
            $p,
            "untrusted_metadata, ",
            $p,
            "created_at, ",
            $p,
            "updated_at"
        )
    };
}
pub(super) const MEMBER_COLUMN_COUNT: usize = 10;

/// The columns [`session`] decodes.
macro_rules! session_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "organization_id, ",
            $p,
            "member_id, ",
            $p,
            "started_at, ",
            $p,
            "last_accessed_at, ",
            $p,
            "expires_at, ",
            $p,
            "revoked_at, ",
            $p,
            "authentication_factors, ",
            $p,
            "custom_claims, ",
            $p,
            "ip_address, ",
            $p,
            "user_agent, ",
            $p,
            "return_url, ",
            $p,
            "updated_at, ",
            $p,
            "token_generation"
        )
    };
}

/// The columns [`signing_key`] decodes.
macro_rules! signing_key_columns {
    () => {
        "kid, algorithm, private_key_der, public_key_der, created_at, retired_at"
    };
}

pub(super) use {member_columns, organization_columns, session_columns, signing_key_columns};

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

/// The raw values of `N` columns from `base` on, for [`crate::decoded`].
pub(super) fn raw_columns<'r, const N: usize>(
    row: &'r Row<'_>,
    base: usize,
) -> StoreResult<[Raw<'r>; N]> {
    let mut out = [Raw::Null; N];
    for (i, raw) in out.iter_mut().enumerate() {
        *raw = match row.get_ref(base + i).map_err(sql(SESSIONS))? {
            ValueRef::Null => Raw::Null,
            ValueRef::Integer(n) => Raw::Integer(n),
            ValueRef::Real(x) => Raw::Integer(x.to_bits() as i64),
            ValueRef::Text(bytes) => Raw::Text(bytes),
            ValueRef::Blob(bytes) => Raw::Bytes(bytes),
        };
    }
    Ok(out)
}

/// Typed, checked access to the columns of one table within a row, from column `base` on.
pub(super) struct Cols<'a, 'r> {
    row: &'a Row<'r>,
    table: &'static str,
    base: usize,
}

impl<'a, 'r> Cols<'a, 'r> {
    pub(super) fn new(row: &'a Row<'r>, table: &'static str, base: usize) -> Self {
        Self { row, table, base }
    }

    fn corrupt(&self, column: &str, reason: &str) -> StoreError {
        StoreError::corrupt(self.table, format!("column {column}: {reason}"))
    }

    fn corrupt_with(
        &self,
        column: &str,
        reason: &str,
        source: impl Into<crate::error::BoxError>,
    ) -> StoreError {
        StoreError::corrupt_with(self.table, format!("column {column}: {reason}"), source)
    }

    fn value(&self, i: usize) -> StoreResult<ValueRef<'a>> {
        self.row.get_ref(self.base + i).map_err(sql(self.table))
    }

    pub(super) fn is_null(&self, i: usize) -> StoreResult<bool> {
        Ok(matches!(self.value(i)?, ValueRef::Null))
    }

    pub(super) fn opt_uuid(&self, i: usize, column: &str) -> StoreResult<Option<Uuid>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Uuid::from_slice(bytes)
                .map(Some)
                .map_err(|e| self.corrupt_with(column, "not a 16-byte UUID", e)),
            _ => Err(self.corrupt(column, "not a blob")),
        }
    }

    pub(super) fn uuid(&self, i: usize, column: &str) -> StoreResult<Uuid> {
        self.opt_uuid(i, column)?.ok_or_else(|| self.corrupt(column, "is null"))
    }

    pub(super) fn opt_text(&self, i: usize, column: &str) -> StoreResult<Option<&'a str>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|e| self.corrupt_with(column, "not UTF-8", e)),
            _ => Err(self.corrupt(column, "not text")),
        }
    }

    pub(super) fn text(&self, i: usize, column: &str) -> StoreResult<&'a str> {
        self.opt_text(i, column)?.ok_or_else(|| self.corrupt(column, "is null"))
    }

    pub(super) fn opt_blob(&self, i: usize, column: &str) -> StoreResult<Option<&'a [u8]>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Ok(Some(bytes)),
            _ => Err(self.corrupt(column, "not a blob")),
        }
    }

    pub(super) fn blob(&self, i: usize, column: &str) -> StoreResult<&'a [u8]> {
        self.opt_blob(i, column)?.ok_or_else(|| self.corrupt(column, "is null"))
    }

    pub(super) fn opt_int(&self, i: usize, column: &str) -> StoreResult<Option<i64>> {
        match self.value(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            _ => Err(self.corrupt(column, "not an integer")),
        }
    }

    pub(super) fn int(&self, i: usize, column: &str) -> StoreResult<i64> {
        self.opt_int(i, column)?.ok_or_else(|| self.corrupt(column, "is null"))
    }

    /// A boolean stored as the integer 0 or 1.
    pub(super) fn bool(&self, i: usize, column: &str) -> StoreResult<bool> {
        match self.int(i, column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt(column, "not 0 or 1")),
        }
    }

    pub(super) fn opt_time(&self, i: usize, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        match self.opt_int(i, column)? {
            None => Ok(None),
            Some(us) => DateTime::from_timestamp_micros(us)
                .map(Some)
                .ok_or_else(|| self.corrupt(column, "instant out of range")),
        }
    }

    pub(super) fn time(&self, i: usize, column: &str) -> StoreResult<DateTime<Utc>> {
        self.opt_time(i, column)?.ok_or_else(|| self.corrupt(column, "is null"))
    }

    /// A text column parsed by a domain parser.
    pub(super) fn parsed<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, tessera_core::Error>,
    ) -> StoreResult<T> {
        parse(self.text(i, column)?).map_err(|e| self.corrupt_with(column, "invalid value", e))
    }

    pub(super) fn opt_parsed<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, tessera_core::Error>,
    ) -> StoreResult<Option<T>> {
        self.opt_text(i, column)?
            .map(|s| parse(s).map_err(|e| self.corrupt_with(column, "invalid value", e)))
            .transpose()
    }

    /// A JSON text column, deserialized by `parse` (`serde_json::from_str` through the domain
    /// type's validating serde impl).
    pub(super) fn json<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> serde_json::Result<T>,
    ) -> StoreResult<T> {
        parse(self.text(i, column)?)
            .map_err(|e| self.corrupt_with(column, "invalid JSON for its type", e))
    }
}

/// An organization from `ORGANIZATION_COLUMN_COUNT` columns starting at `base`.
pub(super) fn organization(row: &Row<'_>, base: usize) -> StoreResult<Organization> {
    let c = Cols::new(row, ORGANIZATIONS, base);
    let mfa_policy = c.text(6, "mfa_policy")?;
    let mfa_policy =
        MfaPolicy::parse(mfa_policy).ok_or_else(|| c.corrupt("mfa_policy", "unknown policy"))?;
    let max_lifetime = MaxLifetime::from_minutes(c.int(7, "max_lifetime_minutes")?)
        .map_err(|e| c.corrupt_with("max_lifetime_minutes", "out of bounds", e))?;
    let idle_timeout = c
        .opt_int(8, "idle_timeout_minutes")?
        .map(IdleTimeout::from_minutes)
        .transpose()
        .map_err(|e| c.corrupt_with("idle_timeout_minutes", "out of bounds", e))?;
    let session_limit = SessionLimit::from_stored(
        c.opt_int(11, "max_sessions_per_member")?,
        c.opt_text(12, "session_limit_behavior")?,
    )
    .map_err(|e| c.corrupt_with("max_sessions_per_member", "invalid session limit", e))?;
    Ok(Organization {
        id: OrganizationId::from_uuid(c.uuid(0, "id")?),
        slug: c.parsed(1, "slug", OrganizationSlug::parse)?,
        external_id: c.opt_parsed(2, "external_id", ExternalId::parse)?,
        name: c.parsed(3, "name", OrganizationName::parse)?,
        email: c.opt_parsed(4, "email", EmailAddress::parse)?,
        trusted_metadata: c.json(5, "trusted_metadata", |s| serde_json::from_str(s))?,
        settings: OrganizationSettings {
            mfa_policy,
            lifetime: LifetimePolicy { max_lifetime, idle_timeout },
            session_limit,
        },
        created_at: c.time(9, "created_at")?,
        updated_at: c.time(10, "updated_at")?,
    })
}

/// A member from `MEMBER_COLUMN_COUNT` columns starting at `base`.
pub(super) fn member(row: &Row<'_>, base: usize) -> StoreResult<Member> {
    let c = Cols::new(row, MEMBERS, base);
    Ok(Member {
        id: MemberId::from_uuid(c.uuid(0, "id")?),
        organization_id: OrganizationId::from_uuid(c.uuid(1, "organization_id")?),
        email_address: c.parsed(2, "email_address", EmailAddress::parse)?,
        external_id: c.opt_parsed(3, "external_id", ExternalId::parse)?,
        name: c.opt_text(4, "name")?.map(str::to_owned),
        roles: c.json(5, "roles", |s| serde_json::from_str(s))?,
        trusted_metadata: c.json(6, "trusted_metadata", |s| serde_json::from_str(s))?,
        untrusted_metadata: c.json(7, "untrusted_metadata", |s| serde_json::from_str(s))?,
        created_at: c.time(8, "created_at")?,
        updated_at: c.time(9, "updated_at")?,
    })
}

/// A session from the session columns starting at `base`.
pub(super) fn session(row: &Row<'_>, base: usize) -> StoreResult<MemberSession> {
    let c = Cols::new(row, SESSIONS, base);
    let claims = c.json(8, "custom_claims", |s| serde_json::from_str::<Value>(s))?;
    let custom_claims = CustomClaims::from_stored(claims)
        .map_err(|e| c.corrupt_with("custom_claims", "invalid custom claims", e))?;
    Ok(MemberSession {
        id: SessionId::from_uuid(c.uuid(0, "id")?),
        organization_id: OrganizationId::from_uuid(c.uuid(1, "organization_id")?),
        member_id: MemberId::from_uuid(c.uuid(2, "member_id")?),
        times: SessionTimes {
            started_at: c.time(3, "started_at")?,
            last_accessed_at: c.time(4, "last_accessed_at")?,
            expires_at: c.time(5, "expires_at")?,
            revoked_at: c.opt_time(6, "revoked_at")?,
        },
        authentication_factors: c.json(7, "authentication_factors", |s| serde_json::from_str(s))?,
        custom_claims,
        attributes: SessionAttributes {
            ip_address: c.opt_text(9, "ip_address")?.map(str::to_owned),
            user_agent: c.opt_text(10, "user_agent")?.map(str::to_owned),
        },
        return_url: c.opt_text(11, "return_url")?.map(str::to_owned),
        updated_at: c.time(12, "updated_at")?,
        token_generation: u32::try_from(c.int(13, "token_generation")?)
            .map_err(|e| c.corrupt_with("token_generation", "out of range", e))?,
    })
}

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
