//! Rows to domain values and back. Reading goes through the domain parsers, so a damaged row is
//! a [`StoreError::Corrupt`] naming its table, never a panic nor an invalid value.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{
    Row, ValueRef,
    postgres::{PgRow, PgValueFormat},
};
use tessera_core::{
    AuthenticationFactor, CustomClaims, EmailAddress, ExternalId, IdleTimeout, LifetimePolicy,
    MaxLifetime, Member, MemberId, MemberSession, Metadata, MfaPolicy, Organization,
    OrganizationId, OrganizationName, OrganizationSettings, OrganizationSlug, RoleId,
    SessionAttributes, SessionId, SessionLimit, SessionTimes,
};

use super::errors::column_error;
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

/// How many columns [`session`], [`member`] and [`organization`] read, in the order of
/// `session_columns!`, `member_columns!` and `organization_columns!`.
pub(super) const SESSION_COLUMN_COUNT: usize = 13;
pub(super) const MEMBER_COLUMN_COUNT: usize = 10;
pub(super) const ORGANIZATION_COLUMN_COUNT: usize = 13;

/// The raw values of `N` columns from `base` on, for [`crate::decoded`].
pub(super) fn raw_columns<'r, const N: usize>(
    row: &'r PgRow,
    table: &'static str,
    base: usize,
) -> StoreResult<[Raw<'r>; N]> {
    let mut out = [Raw::Null; N];
    for (i, raw) in out.iter_mut().enumerate() {
        let value = row
            .try_get_raw(base + i)
            .map_err(|e| StoreError::corrupt_with(table, "a column cannot be read", e))?;
        *raw = match (value.is_null(), value.format()) {
            (true, _) => Raw::Null,
            (false, format) => {
                let bytes = value
                    .as_bytes()
                    .map_err(|e| StoreError::corrupt_with(table, "a column cannot be read", e))?;
                match format {
                    PgValueFormat::Text => Raw::Text(bytes),
                    PgValueFormat::Binary => Raw::Bytes(bytes),
                }
            }
        };
    }
    Ok(out)
}

/// One column of a row of `table`.
pub(super) fn get<'r, T>(row: &'r PgRow, table: &'static str, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(|e| column_error(table, column, e))
}

/// A column holding a domain value that parses from a string.
fn parsed<T, E>(
    row: &PgRow,
    table: &'static str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text: String = get(row, table, column)?;
    parse(&text).map_err(|e| corrupt_column(table, column, e))
}

fn parsed_opt<T, E>(
    row: &PgRow,
    table: &'static str,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> StoreResult<Option<T>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text: Option<String> = get(row, table, column)?;
    text.map(|t| parse(&t)).transpose().map_err(|e| corrupt_column(table, column, e))
}

fn factors(row: &PgRow) -> StoreResult<Vec<AuthenticationFactor>> {
    let column = "s_authentication_factors";
    let value: Value = get(row, SESSIONS, column)?;
    serde_json::from_value(value).map_err(|e| corrupt_column(SESSIONS, column, e))
}

fn attributes(row: &PgRow) -> StoreResult<SessionAttributes> {
    let column = "s_attributes";
    let value: Value = get(row, SESSIONS, column)?;
    serde_json::from_value(value).map_err(|e| corrupt_column(SESSIONS, column, e))
}

/// A metadata column (a JSON object within the metadata bounds).
fn metadata(row: &PgRow, table: &'static str, column: &str) -> StoreResult<Metadata> {
    let value: Value = get(row, table, column)?;
    serde_json::from_value(value).map_err(|e| corrupt_column(table, column, e))
}

fn corrupt_column(
    table: &'static str,
    column: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::corrupt_with(table, format!("column `{column}` holds an invalid value"), e)
}

fn minutes<T, E>(
    row: &PgRow,
    table: &'static str,
    column: &str,
    parse: impl FnOnce(i64) -> Result<T, E>,
) -> StoreResult<Option<T>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let minutes: Option<i32> = get(row, table, column)?;
    minutes.map(|m| parse(i64::from(m))).transpose().map_err(|e| corrupt_column(table, column, e))
}

/// An organization from columns aliased `o_*` ([`organization_columns!`]).
pub(super) fn organization(row: &PgRow) -> StoreResult<Organization> {
    let t = ORGANIZATIONS;
    let max_lifetime = minutes(row, t, "o_max_lifetime_minutes", MaxLifetime::from_minutes)?
        .ok_or_else(|| StoreError::corrupt(t, "column `o_max_lifetime_minutes` is null"))?;
    Ok(Organization {
        id: OrganizationId::from_uuid(get(row, t, "o_id")?),
        name: parsed(row, t, "o_name", OrganizationName::parse)?,
        slug: parsed(row, t, "o_slug", OrganizationSlug::parse)?,
        external_id: parsed_opt(row, t, "o_external_id", ExternalId::parse)?,
        email: parsed_opt(row, t, "o_email", EmailAddress::parse)?,
        trusted_metadata: metadata(row, t, "o_trusted_metadata")?,
        settings: OrganizationSettings {
            mfa_policy: parsed(row, t, "o_mfa_policy", |s| {
                MfaPolicy::parse(s).ok_or(UnknownValue)
            })?,
            lifetime: LifetimePolicy {
                max_lifetime,
                idle_timeout: minutes(row, t, "o_idle_timeout_minutes", IdleTimeout::from_minutes)?,
            },
            session_limit: session_limit(row)?,
        },
        created_at: get(row, t, "o_created_at")?,
        updated_at: get(row, t, "o_updated_at")?,
    })
}

/// The session limit of an organization row: none when `o_max_sessions_per_member` is null.
fn session_limit(row: &PgRow) -> StoreResult<Option<SessionLimit>> {
    let t = ORGANIZATIONS;
    let max: Option<i32> = get(row, t, "o_max_sessions_per_member")?;
    let behavior: Option<String> = get(row, t, "o_session_limit_behavior")?;
    SessionLimit::from_stored(max.map(i64::from), behavior.as_deref())
        .map_err(|e| corrupt_column(t, "o_max_sessions_per_member", e))
}

/// A member from columns aliased `m_*` ([`member_columns!`]).
pub(super) fn member(row: &PgRow) -> StoreResult<Member> {
    let t = MEMBERS;
    let roles: Vec<String> = get(row, t, "m_roles")?;
    let roles = roles
        .iter()
        .map(|r| RoleId::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt_column(t, "m_roles", e))?;
    Ok(Member {
        id: MemberId::from_uuid(get(row, t, "m_id")?),
        organization_id: OrganizationId::from_uuid(get(row, t, "m_organization_id")?),
        email_address: parsed(row, t, "m_email_address", EmailAddress::parse)?,
        name: get(row, t, "m_name")?,
        external_id: parsed_opt(row, t, "m_external_id", ExternalId::parse)?,
        roles,
        trusted_metadata: metadata(row, t, "m_trusted_metadata")?,
        untrusted_metadata: metadata(row, t, "m_untrusted_metadata")?,
        created_at: get(row, t, "m_created_at")?,
        updated_at: get(row, t, "m_updated_at")?,
    })
}

/// A session from columns aliased `s_*` ([`session_columns!`]).
pub(super) fn session(row: &PgRow) -> StoreResult<MemberSession> {
    let t = SESSIONS;
    let claims: Value = get(row, t, "s_custom_claims")?;
    Ok(MemberSession {
        id: SessionId::from_uuid(get(row, t, "s_id")?),
        organization_id: OrganizationId::from_uuid(get(row, t, "s_organization_id")?),
        member_id: MemberId::from_uuid(get(row, t, "s_member_id")?),
        times: SessionTimes {
            started_at: get(row, t, "s_started_at")?,
            last_accessed_at: get(row, t, "s_last_accessed_at")?,
            expires_at: get(row, t, "s_expires_at")?,
            revoked_at: get(row, t, "s_revoked_at")?,
        },
        authentication_factors: factors(row)?,
        custom_claims: CustomClaims::from_stored(claims)
            .map_err(|e| corrupt_column(t, "s_custom_claims", e))?,
        attributes: attributes(row)?,
        return_url: get(row, t, "s_return_url")?,
        updated_at: get(row, t, "s_updated_at")?,
        token_generation: u32::try_from(get::<i32>(row, t, "s_token_generation")?)
            .map_err(|e| corrupt_column(t, "s_token_generation", e))?,
    })
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

/// A stored enum value this version does not know.
#[derive(Debug)]
struct UnknownValue;

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unknown value")
    }
}

impl std::error::Error for UnknownValue {}

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
