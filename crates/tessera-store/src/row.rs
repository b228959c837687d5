//! One row model for both SQL backends: the columns of organizations, members and sessions (their
//! names and order, the same in both schemas), the primitives each column holds, the rule that
//! says in SQL whether a session is active, and one conversion from a row into domain values.
//!
//! A backend supplies only [`SqlRow`]: how its driver hands over a UUID, a string, an integer,
//! an instant, JSON text or a list of strings. Everything that checks and parses (slugs, emails,
//! metadata bounds, factors, claims, lifetimes, limits) is written here once, so a fix or an
//! optimization of a decoder is made for both backends at once, and a damaged row is the same
//! `Corrupt` error, naming the same table and column, whichever backend read it.
//!
//! Writing is still per backend (SQLite binds micros and JSON text, PostgreSQL `timestamptz`,
//! `jsonb` and `text[]`); the column lists here are what both write and read.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tessera_core::{
    AuthenticatedSession, CustomClaims, EmailAddress, ExternalId, IdleTimeout, LifetimePolicy,
    MaxLifetime, Member, MemberId, MemberSession, MfaPolicy, Organization, OrganizationId,
    OrganizationName, OrganizationSettings, OrganizationSlug, RoleId, SessionAttributes, SessionId,
    SessionLimit, SessionTimes,
};
use uuid::Uuid;

use crate::{
    decoded::{Decoded, Raw},
    error::{BoxError, StoreError, StoreResult},
};

pub(crate) const ORGANIZATIONS: &str = "organizations";
pub(crate) const MEMBERS: &str = "members";
pub(crate) const SESSIONS: &str = "sessions";

// ---------------------------------------------------------------------------------------------
// Column lists

/// `$p$first, $p$second, …`: column names, each prefixed with `$p` (a table alias such as `"o."`,
/// or `""`).
macro_rules! prefixed {
    ($p:literal; $first:literal $(, $rest:literal)* $(,)?) => {
        concat!($p, $first $(, ", ", $p, $rest)*)
    };
}

/// The columns [`organization`] decodes, in order, each prefixed with `$p`.
macro_rules! organization_columns {
    ($p:literal) => {
        $crate::row::prefixed!($p;
            "id", "slug", "external_id", "name", "email", "trusted_metadata", "mfa_policy",
            "max_lifetime_minutes", "idle_timeout_minutes", "created_at", "updated_at",
            "max_sessions_per_member", "session_limit_behavior",
        )
    };
}
pub(crate) const ORGANIZATION_COLUMN_COUNT: usize = 13;

/// The columns [`member`] decodes.
macro_rules! member_columns {
    ($p:literal) => {
        $crate::row::prefixed!($p;
            "id", "organization_id", "email_address", "external_id", "name", "roles",
            "trusted_metadata", "untrusted_metadata", "created_at", "updated_at",
        )
    };
}
pub(crate) const MEMBER_COLUMN_COUNT: usize = 10;

/// The columns [`session`] decodes: every column of a session but its token hash (a
/// [`MemberSession`] has none).
macro_rules! session_columns {
    ($p:literal) => {
        $crate::row::prefixed!($p;
            "id", "organization_id", "member_id", "started_at", "last_accessed_at", "expires_at",
            "revoked_at", "authentication_factors", "custom_claims", "ip_address", "user_agent",
            "return_url", "updated_at", "token_generation",
        )
    };
}
pub(crate) const SESSION_COLUMN_COUNT: usize = 14;

/// `SELECT` of a session's, its member's and its organization's columns, in that order (the
/// layout [`authenticated`] reads); a query adds its `WHERE`. The same SQL in both dialects.
macro_rules! authenticated_select {
    () => {
        concat!(
            "SELECT ",
            $crate::row::session_columns!("s."),
            ", ",
            $crate::row::member_columns!("m."),
            ", ",
            $crate::row::organization_columns!("o."),
            " FROM sessions s \
             JOIN members m ON m.organization_id = s.organization_id AND m.id = s.member_id \
             JOIN organizations o ON o.id = s.organization_id "
        )
    };
}

// ---------------------------------------------------------------------------------------------
// The active rule, in SQL

/// The part of the active rule a session row decides alone: not revoked, not expired at `$now`
/// (a placeholder such as `"?2"`). `$s` prefixes the session's columns. Lookups filter on it in
/// SQL, where an index can use it, and apply the whole rule in Rust.
macro_rules! session_live_at {
    ($s:literal, $now:literal) => {
        concat!($s, "revoked_at IS NULL AND ", $s, "expires_at > ", $now)
    };
}

/// The part of the active rule that needs the organization `$o`: within its absolute lifetime
/// and, if it has one, its idle timeout, at `$now`, in `$dialect` (`sqlite` or `postgres`).
///
/// With [`session_live_at`] this is `SessionTimes::status` in SQL, once for both dialects: every
/// conditional write carries both, so no write revives a session a lookup would call ended
/// (`testing::sessions::writes_never_revive_an_ended_session`,
/// `testing::sessions::the_write_rule_and_the_lookup_rule_agree_at_every_edge`).
macro_rules! session_within_policy_at {
    ($dialect:ident, $s:literal, $o:literal, $now:literal) => {
        concat!(
            $crate::row::plus_minutes!($dialect, $s, "started_at", $o, "max_lifetime_minutes"),
            " > ",
            $now,
            " AND (",
            $o,
            "idle_timeout_minutes IS NULL OR ",
            $crate::row::plus_minutes!(
                $dialect,
                $s,
                "last_accessed_at",
                $o,
                "idle_timeout_minutes"
            ),
            " > ",
            $now,
            ")"
        )
    };
}

/// "Instant column plus minutes column", the one thing the dialects spell differently in the
/// active rule: SQLite's instants are microseconds, PostgreSQL's `timestamptz`.
macro_rules! plus_minutes {
    (sqlite, $s:literal, $instant:literal, $o:literal, $minutes:literal) => {
        concat!($s, $instant, " + ", $o, $minutes, " * 60000000")
    };
    (postgres, $s:literal, $instant:literal, $o:literal, $minutes:literal) => {
        concat!($s, $instant, " + make_interval(mins => ", $o, $minutes, ")")
    };
}

pub(crate) use {
    authenticated_select, member_columns, organization_columns, plus_minutes, prefixed,
    session_columns, session_live_at, session_within_policy_at,
};

// ---------------------------------------------------------------------------------------------
// What a backend supplies

/// Why a column's value cannot be read as the primitive asked for.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) reason: &'static str,
    pub(crate) source: Option<BoxError>,
}

impl Unreadable {
    pub(crate) fn new(reason: &'static str) -> Self {
        Self { reason, source: None }
    }

    pub(crate) fn with(reason: &'static str, source: impl Into<BoxError>) -> Self {
        Self { reason, source: Some(source.into()) }
    }
}

pub(crate) type Readable<T> = Result<Option<T>, Unreadable>;

/// A row as one backend's driver returns it, column `i` read as a primitive of the row model
/// (`None` for SQL `NULL`). Each backend maps its storage: SQLite keeps UUIDs as 16-byte blobs,
/// instants as microseconds since the Unix epoch and lists as JSON text; PostgreSQL has `uuid`,
/// `timestamptz`, `jsonb` and `text[]`.
pub(crate) trait SqlRow {
    /// The column's value as the database returned it, for [`crate::decoded`].
    fn raw(&self, i: usize) -> Result<Raw<'_>, Unreadable>;
    fn uuid(&self, i: usize) -> Readable<Uuid>;
    fn text(&self, i: usize) -> Readable<&str>;
    fn blob(&self, i: usize) -> Readable<&[u8]>;
    fn int(&self, i: usize) -> Readable<i64>;
    fn instant(&self, i: usize) -> Readable<DateTime<Utc>>;
    /// A JSON column's text.
    fn json(&self, i: usize) -> Readable<&str>;
    /// A column holding a list of strings.
    fn strings(&self, i: usize) -> Readable<Vec<String>>;
}

// ---------------------------------------------------------------------------------------------
// Checked access: every error names its table and column

/// Typed, checked access to the columns of one table within a row, from column `base` on.
pub(crate) struct Columns<'a, R: ?Sized> {
    row: &'a R,
    table: &'static str,
    base: usize,
}

impl<'a, R: SqlRow + ?Sized> Columns<'a, R> {
    pub(crate) fn new(row: &'a R, table: &'static str, base: usize) -> Self {
        Self { row, table, base }
    }

    pub(crate) fn corrupt(&self, column: &str, reason: &str) -> StoreError {
        StoreError::corrupt(self.table, format!("column {column}: {reason}"))
    }

    pub(crate) fn corrupt_with(
        &self,
        column: &str,
        reason: &str,
        source: impl Into<BoxError>,
    ) -> StoreError {
        StoreError::corrupt_with(self.table, format!("column {column}: {reason}"), source)
    }

    #[inline]
    fn read<T>(&self, column: &str, value: Readable<T>) -> StoreResult<Option<T>> {
        value.map_err(|Unreadable { reason, source }| match source {
            Some(source) => self.corrupt_with(column, reason, source),
            None => self.corrupt(column, reason),
        })
    }

    #[inline]
    fn required<T>(&self, column: &str, value: Option<T>) -> StoreResult<T> {
        value.ok_or_else(|| self.corrupt(column, "is null"))
    }

    /// The raw values of `N` columns from `i` on.
    #[inline]
    pub(crate) fn raw<const N: usize>(&self, i: usize) -> StoreResult<[Raw<'a>; N]> {
        let mut out = [Raw::Null; N];
        for (k, raw) in out.iter_mut().enumerate() {
            *raw = self.row.raw(self.base + i + k).map_err(|e| match e.source {
                Some(source) => StoreError::corrupt_with(self.table, e.reason, source),
                None => StoreError::corrupt(self.table, e.reason),
            })?;
        }
        Ok(out)
    }

    #[inline]
    pub(crate) fn is_null(&self, i: usize) -> StoreResult<bool> {
        Ok(matches!(self.raw::<1>(i)?, [Raw::Null]))
    }

    #[inline]
    pub(crate) fn opt_uuid(&self, i: usize, column: &str) -> StoreResult<Option<Uuid>> {
        self.read(column, self.row.uuid(self.base + i))
    }

    #[inline]
    pub(crate) fn uuid(&self, i: usize, column: &str) -> StoreResult<Uuid> {
        self.required(column, self.opt_uuid(i, column)?)
    }

    #[inline]
    pub(crate) fn opt_text(&self, i: usize, column: &str) -> StoreResult<Option<&'a str>> {
        self.read(column, self.row.text(self.base + i))
    }

    #[inline]
    pub(crate) fn text(&self, i: usize, column: &str) -> StoreResult<&'a str> {
        self.required(column, self.opt_text(i, column)?)
    }

    #[inline]
    pub(crate) fn opt_blob(&self, i: usize, column: &str) -> StoreResult<Option<&'a [u8]>> {
        self.read(column, self.row.blob(self.base + i))
    }

    #[inline]
    pub(crate) fn blob(&self, i: usize, column: &str) -> StoreResult<&'a [u8]> {
        self.required(column, self.opt_blob(i, column)?)
    }

    #[inline]
    pub(crate) fn opt_int(&self, i: usize, column: &str) -> StoreResult<Option<i64>> {
        self.read(column, self.row.int(self.base + i))
    }

    #[inline]
    pub(crate) fn int(&self, i: usize, column: &str) -> StoreResult<i64> {
        self.required(column, self.opt_int(i, column)?)
    }

    /// A boolean stored as the integer 0 or 1.
    pub(crate) fn bool(&self, i: usize, column: &str) -> StoreResult<bool> {
        match self.int(i, column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt(column, "not 0 or 1")),
        }
    }

    #[inline]
    pub(crate) fn opt_time(&self, i: usize, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.read(column, self.row.instant(self.base + i))
    }

    #[inline]
    pub(crate) fn time(&self, i: usize, column: &str) -> StoreResult<DateTime<Utc>> {
        self.required(column, self.opt_time(i, column)?)
    }

    /// A text column parsed by a domain parser.
    pub(crate) fn parsed<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, tessera_core::Error>,
    ) -> StoreResult<T> {
        parse(self.text(i, column)?).map_err(|e| self.corrupt_with(column, "invalid value", e))
    }

    pub(crate) fn opt_parsed<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, tessera_core::Error>,
    ) -> StoreResult<Option<T>> {
        self.opt_text(i, column)?
            .map(|s| parse(s).map_err(|e| self.corrupt_with(column, "invalid value", e)))
            .transpose()
    }

    /// A JSON column, deserialized by `parse` (`serde_json::from_str` through the domain type's
    /// validating serde impl).
    pub(crate) fn json<T>(
        &self,
        i: usize,
        column: &str,
        parse: impl FnOnce(&str) -> serde_json::Result<T>,
    ) -> StoreResult<T> {
        let text = self.required(column, self.read(column, self.row.json(self.base + i))?)?;
        parse(text).map_err(|e| self.corrupt_with(column, "invalid JSON for its type", e))
    }

    pub(crate) fn strings(&self, i: usize, column: &str) -> StoreResult<Vec<String>> {
        self.required(column, self.read(column, self.row.strings(self.base + i))?)
    }
}

// ---------------------------------------------------------------------------------------------
// Rows to domain values

/// An organization from [`ORGANIZATION_COLUMN_COUNT`] columns starting at `base`.
pub(crate) fn organization<R: SqlRow + ?Sized>(row: &R, base: usize) -> StoreResult<Organization> {
    let c = Columns::new(row, ORGANIZATIONS, base);
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

/// A member from [`MEMBER_COLUMN_COUNT`] columns starting at `base`.
pub(crate) fn member<R: SqlRow + ?Sized>(row: &R, base: usize) -> StoreResult<Member> {
    let c = Columns::new(row, MEMBERS, base);
    let roles = c
        .strings(5, "roles")?
        .iter()
        .map(|role| RoleId::parse(role))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| c.corrupt_with("roles", "invalid role", e))?;
    Ok(Member {
        id: MemberId::from_uuid(c.uuid(0, "id")?),
        organization_id: OrganizationId::from_uuid(c.uuid(1, "organization_id")?),
        email_address: c.parsed(2, "email_address", EmailAddress::parse)?,
        external_id: c.opt_parsed(3, "external_id", ExternalId::parse)?,
        name: c.opt_text(4, "name")?.map(str::to_owned),
        roles,
        trusted_metadata: c.json(6, "trusted_metadata", |s| serde_json::from_str(s))?,
        untrusted_metadata: c.json(7, "untrusted_metadata", |s| serde_json::from_str(s))?,
        created_at: c.time(8, "created_at")?,
        updated_at: c.time(9, "updated_at")?,
    })
}

/// A session from [`SESSION_COLUMN_COUNT`] columns starting at `base`.
pub(crate) fn session<R: SqlRow + ?Sized>(row: &R, base: usize) -> StoreResult<MemberSession> {
    let c = Columns::new(row, SESSIONS, base);
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

/// A row of [`authenticated_select`], if the session is active at `now` under its
/// organization's lifetime policy (idle timeout, absolute cap). The member and the organization
/// come from `decoded` when their columns hold the bytes they were decoded from.
pub(crate) fn authenticated<R: SqlRow + ?Sized>(
    row: &R,
    now: DateTime<Utc>,
    decoded: &Decoded,
) -> StoreResult<Option<AuthenticatedSession>> {
    let session = session(row, 0)?;
    let member_base = SESSION_COLUMN_COUNT;
    let organization_base = member_base + MEMBER_COLUMN_COUNT;
    let member_columns = Columns::new(row, MEMBERS, member_base);
    let member_raw = member_columns.raw::<MEMBER_COLUMN_COUNT>(0)?;
    let member = decoded.members.get_or_decode(
        MemberId::from_uuid(id_of(&member_columns, &member_raw)?),
        &member_raw,
        || member(row, member_base),
    )?;
    let organization_columns = Columns::new(row, ORGANIZATIONS, organization_base);
    let organization_raw = organization_columns.raw::<ORGANIZATION_COLUMN_COUNT>(0)?;
    let organization = decoded.organizations.get_or_decode(
        OrganizationId::from_uuid(id_of(&organization_columns, &organization_raw)?),
        &organization_raw,
        || organization(row, organization_base),
    )?;
    let found = AuthenticatedSession { session, member, organization };
    Ok(found.status(now).is_active().then_some(found))
}

/// The id in the first of a table's raw columns: 16 bytes in both backends (a SQLite blob, a
/// PostgreSQL binary `uuid`), so it need not be read again; anything else is read as a UUID
/// column, for its error.
#[inline]
fn id_of<R: SqlRow + ?Sized>(columns: &Columns<'_, R>, raw: &[Raw<'_>]) -> StoreResult<Uuid> {
    match raw.first().copied() {
        Some(Raw::Bytes(bytes)) => match <[u8; 16]>::try_from(bytes) {
            Ok(bytes) => Ok(Uuid::from_bytes(bytes)),
            Err(_) => columns.uuid(0, "id"),
        },
        _ => columns.uuid(0, "id"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_prefixes_every_column_and_separates_them() {
        assert_eq!(prefixed!("s."; "id", "member_id"), "s.id, s.member_id");
        assert_eq!(prefixed!(""; "id"), "id");
    }

    #[test]
    fn the_column_counts_are_those_of_the_lists() {
        let count = |columns: &str| columns.split(',').count();
        assert_eq!(count(organization_columns!("o.")), ORGANIZATION_COLUMN_COUNT);
        assert_eq!(count(member_columns!("m.")), MEMBER_COLUMN_COUNT);
        assert_eq!(count(session_columns!("s.")), SESSION_COLUMN_COUNT);
    }

    /// [`authenticated`] reads the session, then the member, then the organization.
    #[test]
    fn the_joined_select_is_session_then_member_then_organization_columns() {
        let expected = format!(
            "SELECT {}, {}, {} FROM",
            session_columns!("s."),
            member_columns!("m."),
            organization_columns!("o.")
        );
        assert!(authenticated_select!().starts_with(&expected));
    }
}
