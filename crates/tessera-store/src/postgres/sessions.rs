//! [`SessionRepository`] on PostgreSQL.
//!
//! Every write is one conditional statement whose `WHERE` says "this session, of this
//! organization, active at `now`" ([`session_active_at!`]); under Read Committed, a statement that
//! waited for a concurrent writer re-checks that condition against the row the writer left, so
//! nothing ever writes to a session revoked before it. Claim patches lock the row instead
//! (`SELECT ... FOR UPDATE`), because the new claims are computed in Rust from the old ones.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnection, PgRow};
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, EventRecord, MemberId,
    MemberSession, OrganizationId, SessionId, SessionLimit, TokenHash,
};

use super::{
    PostgresStore,
    errors::{is_foreign_key_violation, query_error},
    rows::{self, SESSIONS},
};
use crate::{
    decoded::Decoded,
    error::{Entity, StoreError, StoreResult},
    events,
    repository::{AuthenticationWrite, EventRepository, SessionKey, SessionRepository},
    row::{self, authenticated_select, session_columns, session_live_at},
};

const INSERT: &str = concat!(
    "INSERT INTO sessions (token_hash, ",
    session_columns!(""),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);

/// The hot path: an equality on the unique `token_hash` index. Cheap filters run in SQL; the
/// whole status rule (absolute lifetime, idle timeout) runs in Rust on the joined organization.
const FIND_BY_TOKEN: &str =
    concat!(authenticated_select!(), "WHERE s.token_hash = $1 AND ", session_live_at!("s.", "$2"));

const FIND_BY_ID: &str = concat!(
    authenticated_select!(),
    "WHERE s.organization_id = $1 AND s.id = $2 AND ",
    session_live_at!("s.", "$3")
);

/// Authenticate's write, one statement: an extension (`$4`, also an access record) or a coalesced
/// access record (when the last one is at or before `$5`), and the patched claims (`$7`, computed
/// under the row lock of [`LOCK_CLAIMS`]), to the live session `$2` of `$1` at generation `$6`.
/// `$3` is `now`. Every `SET` expression reads the row as it was before the statement.
const RECORD_AUTHENTICATION: &str = concat!(
    "UPDATE sessions AS s SET \
     expires_at = COALESCE($4, s.expires_at), \
     last_accessed_at = CASE WHEN $4::timestamptz IS NOT NULL OR s.last_accessed_at <= $5 \
         THEN GREATEST(s.last_accessed_at, $3) ELSE s.last_accessed_at END, \
     custom_claims = COALESCE($7, s.custom_claims), \
     updated_at = CASE WHEN $4::timestamptz IS NOT NULL OR $7::jsonb IS NOT NULL \
         THEN $3 ELSE s.updated_at END \
     FROM organizations o \
     WHERE o.id = s.organization_id AND s.organization_id = $1 AND s.id = $2 \
     AND s.token_generation = $6 AND ",
    session_active_at!("$3"),
    " RETURNING ",
    session_columns!("s.")
);

/// Locks a live session at a generation and reads its claims, for a patch computed in Rust.
const LOCK_CLAIMS: &str = concat!(
    "SELECT s.custom_claims FROM sessions s JOIN organizations o ON o.id = s.organization_id \
     WHERE s.organization_id = $1 AND s.id = $2 AND s.token_generation = $4 AND ",
    session_active_at!("$3"),
    " FOR UPDATE OF s"
);

const ROTATE: &str = concat!(
    "UPDATE sessions AS s SET token_hash = $4, authentication_factors = $5, \
     token_generation = s.token_generation + 1, expires_at = COALESCE($7, s.expires_at), \
     last_accessed_at = GREATEST(s.last_accessed_at, $6), updated_at = $6 \
     FROM organizations o \
     WHERE o.id = s.organization_id AND s.organization_id = $1 AND s.id = $2 \
     AND s.token_generation = $3 AND ",
    session_active_at!("$6"),
    " RETURNING ",
    session_columns!("s.")
);

/// Revokes a live session; with `$4`, only while it still holds that token generation.
const REVOKE: &str = concat!(
    "UPDATE sessions AS s SET revoked_at = $3, updated_at = $3 FROM organizations o \
     WHERE o.id = s.organization_id AND s.organization_id = $1 AND s.id = $2 \
     AND ($4::integer IS NULL OR s.token_generation = $4) AND ",
    session_active_at!("$3")
);

const REVOKE_MEMBER: &str = concat!(
    "UPDATE sessions AS s SET revoked_at = $3, updated_at = $3 FROM organizations o \
     WHERE o.id = s.organization_id AND s.organization_id = $1 AND s.member_id = $2 AND ",
    session_active_at!("$3")
);

/// Every live session of an organization but `$3` (or none when NULL).
const REVOKE_ORGANIZATION: &str = concat!(
    "UPDATE sessions AS s SET revoked_at = $2, updated_at = $2 FROM organizations o \
     WHERE o.id = s.organization_id AND s.organization_id = $1 \
     AND ($3::uuid IS NULL OR s.id <> $3) AND ",
    session_active_at!("$2")
);

/// Every live session of the deployment.
const REVOKE_ALL: &str = concat!(
    "UPDATE sessions AS s SET revoked_at = $1, updated_at = $1 FROM organizations o \
     WHERE o.id = s.organization_id AND ",
    session_active_at!("$1")
);

/// The member's organization's session limit, locking the member's row: concurrent sign-ins of
/// one member count their sessions one after the other.
const LOCK_MEMBER_LIMIT: &str = "SELECT o.max_sessions_per_member, o.session_limit_behavior \
     FROM members m JOIN organizations o ON o.id = m.organization_id \
     WHERE m.organization_id = $1 AND m.id = $2 FOR UPDATE OF m";

const COUNT_LIVE_MEMBER: &str = concat!(
    "SELECT count(*) FROM sessions s JOIN organizations o ON o.id = s.organization_id \
     WHERE s.organization_id = $1 AND s.member_id = $2 AND ",
    session_active_at!("$3")
);

/// Revokes the member's `$4` least recently used live sessions, and names them.
const REVOKE_LEAST_RECENTLY_USED: &str = concat!(
    "UPDATE sessions SET revoked_at = $3, updated_at = $3 WHERE id IN \
     (SELECT s.id FROM sessions s JOIN organizations o ON o.id = s.organization_id \
     WHERE s.organization_id = $1 AND s.member_id = $2 AND ",
    session_active_at!("$3"),
    " ORDER BY s.last_accessed_at, s.id LIMIT $4) RETURNING id"
);

const LIST_MEMBER: &str = concat!(
    "SELECT ",
    session_columns!("s."),
    " FROM sessions s JOIN organizations o ON o.id = s.organization_id \
     WHERE s.organization_id = $1 AND s.member_id = $2 AND ",
    session_active_at!("$3"),
    " ORDER BY s.started_at, s.id"
);

/// Bounded batches of sessions that ended before `$1`: expired or revoked; idle under their
/// organization's idle timeout (an index range on `(organization_id, last_accessed_at)` per
/// organization that has one); past their organization's absolute lifetime (one on
/// `(organization_id, started_at)`; sessions outlive it only when it was lowered after they
/// started). `SKIP LOCKED` lets several nodes purge at once without waiting on each other (or on
/// a session being written), each taking different rows.
const PURGES: [&str; 3] = [
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
     WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM sessions WHERE id IN (SELECT s.id FROM organizations o \
     JOIN sessions s ON s.organization_id = o.id \
     AND s.last_accessed_at < $1 - make_interval(mins => o.idle_timeout_minutes) \
     WHERE o.idle_timeout_minutes IS NOT NULL LIMIT $2 FOR UPDATE OF s SKIP LOCKED)",
    "DELETE FROM sessions WHERE id IN (SELECT s.id FROM organizations o \
     JOIN sessions s ON s.organization_id = o.id \
     AND s.started_at < $1 - make_interval(mins => o.max_lifetime_minutes) \
     LIMIT $2 FOR UPDATE OF s SKIP LOCKED)",
];

/// The JSON columns of a session being written.
struct JsonColumns {
    factors: Value,
    claims: Value,
}

impl JsonColumns {
    fn of(session: &MemberSession) -> StoreResult<Self> {
        Ok(Self {
            factors: factors_json(&session.authentication_factors)?,
            claims: Value::Object(session.custom_claims.as_map().clone()),
        })
    }
}

fn factors_json(factors: &[AuthenticationFactor]) -> StoreResult<Value> {
    rows::json_column(SESSIONS, "authentication_factors", serde_json::to_value(factors))
}

async fn insert(
    store: &PostgresStore,
    conn: &mut PgConnection,
    session: &MemberSession,
    token_hash: &TokenHash,
    json: &JsonColumns,
) -> Result<(), sqlx::Error> {
    store
        .query(INSERT)
        .bind(token_hash.as_bytes().as_slice())
        .bind(session.id.as_uuid())
        .bind(session.organization_id.as_uuid())
        .bind(session.member_id.as_uuid())
        .bind(session.times.started_at)
        .bind(session.times.last_accessed_at)
        .bind(session.times.expires_at)
        .bind(session.times.revoked_at)
        .bind(&json.factors)
        .bind(&json.claims)
        .bind(session.attributes.ip_address.as_deref())
        .bind(session.attributes.user_agent.as_deref())
        .bind(session.return_url.as_deref())
        .bind(session.updated_at)
        .bind(generation(session.token_generation))
        .execute(conn)
        .await
        .map(drop)
}

/// A session, its member and organization from one row of [`authenticated_select!`], if the
/// session is active at `now` ([`row::authenticated`]).
fn active(
    row: Option<PgRow>,
    now: DateTime<Utc>,
    decoded: &Decoded,
) -> StoreResult<AuthenticatedSession> {
    let found = match row {
        Some(row) => row::authenticated(&row, now, decoded)?,
        None => None,
    };
    found.ok_or(StoreError::NotFound(Entity::Session))
}

/// A token generation as stored (`integer`); generations stay far below `i32::MAX` (one per
/// step-up), and a larger one simply matches no row.
fn generation(generation: u32) -> i32 {
    i32::try_from(generation).unwrap_or(i32::MAX)
}

fn updated(row: Option<PgRow>) -> StoreResult<MemberSession> {
    match row {
        Some(row) => row::session(&row, 0),
        None => Err(StoreError::NotFound(Entity::Session)),
    }
}

/// Makes room for `session` under its organization's session limit, in `tx` (see
/// `SessionRepository::create_session`): the member's row is locked first, then its live
/// sessions are counted and the least recently used revoked, or the session refused. Without
/// the member (or its organization) nothing happens here: the insert then fails and says which.
async fn make_room(
    store: &PostgresStore,
    tx: &mut PgConnection,
    session: &MemberSession,
) -> StoreResult<Vec<SessionId>> {
    const DOING: &str = "apply the session limit";
    let org = session.organization_id.as_uuid();
    let member = session.member_id.as_uuid();
    let row: Option<(Option<i32>, Option<String>)> = store
        .query_as(LOCK_MEMBER_LIMIT)
        .bind(org)
        .bind(member)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| query_error(DOING, e))?;
    let Some((max, behavior)) = row else { return Ok(Vec::new()) };
    let Some(limit) = SessionLimit::from_stored(max.map(i64::from), behavior.as_deref())
        .map_err(|e| StoreError::corrupt_with("organizations", "invalid session limit", e))?
    else {
        return Ok(Vec::new());
    };
    let now = session.times.last_accessed_at;
    let live: i64 = store
        .query_scalar(COUNT_LIVE_MEMBER)
        .bind(org)
        .bind(member)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| query_error(DOING, e))?;
    let excess = limit.make_room(u64::try_from(live).unwrap_or(0))?;
    if excess == 0 {
        return Ok(Vec::new());
    }
    let revoked: Vec<uuid::Uuid> = store
        .query_scalar(REVOKE_LEAST_RECENTLY_USED)
        .bind(org)
        .bind(member)
        .bind(now)
        .bind(i64::try_from(excess).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| query_error(DOING, e))?;
    Ok(revoked.into_iter().map(SessionId::from_uuid).collect())
}

impl PostgresStore {
    async fn organization_exists(&self, organization_id: OrganizationId) -> StoreResult<bool> {
        const DOING: &str = "look up an organization";
        let mut conn = self.conn(DOING).await?;
        let exists = self
            .query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
            .bind(organization_id.as_uuid())
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        Ok(exists)
    }

    async fn member_exists(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
    ) -> StoreResult<bool> {
        const DOING: &str = "look up a member";
        let mut conn = self.conn(DOING).await?;
        let exists = self
            .query_scalar(
                "SELECT EXISTS (SELECT 1 FROM members WHERE organization_id = $1 AND id = $2)",
            )
            .bind(organization_id.as_uuid())
            .bind(member_id.as_uuid())
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        Ok(exists)
    }

    /// `NotFound(Member)` unless the member exists in the organization.
    async fn require_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
    ) -> StoreResult<()> {
        if self.member_exists(organization_id, member_id).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(Entity::Member))
        }
    }

    /// The exchange itself, in one transaction; [`SessionRepository::exchange_session`] adds the
    /// refusal's event.
    async fn exchange(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        const DOING: &str = "exchange a session";
        let json = JsonColumns::of(to)?;
        let mut tx = self.begin(DOING).await?;
        let revoked = self
            .query(REVOKE)
            .bind(from.organization_id.as_uuid())
            .bind(from.session_id.as_uuid())
            .bind(now)
            .bind(Some(generation(from.token_generation)))
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        if revoked != 1 {
            // Dropping `tx` rolls back.
            return Err(StoreError::NotFound(Entity::Session));
        }
        let made_room = make_room(self, &mut tx, to).await?;
        if let Err(e) = insert(self, &mut tx, to, to_token_hash, &json).await {
            // Roll back before looking further, so the old session is live again at once.
            tx.rollback().await.ok();
            return Err(self.insert_error(to, e).await);
        }
        self.append(&mut tx, &events::with_limit_revocations(events, &made_room)).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(made_room)
    }

    /// Maps a failed session insert: the composite foreign key says the member is not in that
    /// organization; a second look tells whether the organization itself is missing.
    async fn insert_error(&self, session: &MemberSession, e: sqlx::Error) -> StoreError {
        if !is_foreign_key_violation(&e, "sessions_member_fkey") {
            return query_error("create a session", e);
        }
        match self.organization_exists(session.organization_id).await {
            Ok(true) => StoreError::NotFound(Entity::Member),
            Ok(false) => StoreError::NotFound(Entity::Organization),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl SessionRepository for PostgresStore {
    async fn create_session(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        const DOING: &str = "create a session";
        let json = JsonColumns::of(session)?;
        let result = async {
            let mut tx = self.begin(DOING).await?;
            // Dropping `tx` on an error rolls the revokes back.
            let revoked = make_room(self, &mut tx, session).await?;
            if let Err(e) = insert(self, &mut tx, session, token_hash, &json).await {
                // Roll back before looking further.
                tx.rollback().await.ok();
                return Err(self.insert_error(session, e).await);
            }
            self.append(&mut tx, &events::with_limit_revocations(events, &revoked)).await?;
            tx.commit().await.map_err(|e| query_error(DOING, e))?;
            Ok(revoked)
        }
        .await;
        if let Some(limit) = events::refused_by_limit(&result) {
            self.append_events(&events::limit_denial(events, limit)).await?;
        }
        result
    }

    async fn find_session_by_token(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        const DOING: &str = "look up a session by token";
        let mut conn = self.conn(DOING).await?;
        let row = self
            .query(FIND_BY_TOKEN)
            .bind(token_hash.as_bytes().as_slice())
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        active(row, now, &self.decoded)
    }

    async fn find_session_by_id(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        const DOING: &str = "look up a session";
        let mut conn = self.conn(DOING).await?;
        let row = self
            .query(FIND_BY_ID)
            .bind(organization_id.as_uuid())
            .bind(session_id.as_uuid())
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        active(row, now, &self.decoded)
    }

    async fn find_session_organization(
        &self,
        session_id: SessionId,
    ) -> StoreResult<OrganizationId> {
        const DOING: &str = "look up a session's organization";
        let mut conn = self.conn(DOING).await?;
        let found: Option<uuid::Uuid> = self
            .query_scalar("SELECT organization_id FROM sessions WHERE id = $1")
            .bind(session_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        found.map(OrganizationId::from_uuid).ok_or(StoreError::NotFound(Entity::Session))
    }

    async fn record_authentication(
        &self,
        key: &SessionKey,
        write: &AuthenticationWrite,
        namespaces: &ClaimNamespaces,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        const DOING: &str = "record an authentication";
        let generation = generation(key.token_generation);
        let Some(patch) = &write.claims_patch else {
            let mut conn = self.write_conn(DOING, events).await?;
            let row = self
                .query(RECORD_AUTHENTICATION)
                .bind(key.organization_id.as_uuid())
                .bind(key.session_id.as_uuid())
                .bind(now)
                .bind(write.expires_at)
                .bind(write.touch_if_accessed_by)
                .bind(generation)
                .bind(None::<Value>)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| query_error(DOING, e))?;
            let session = updated(row)?;
            self.append(&mut conn, events).await?;
            conn.finish(DOING).await?;
            return Ok(session);
        };
        let mut tx = self.begin(DOING).await?;
        // Concurrent patches queue on this row lock; each one merges into the claims the
        // previous one committed. Dropping `tx` on any early return rolls back.
        let stored: Option<Value> = self
            .query_scalar(LOCK_CLAIMS)
            .bind(key.organization_id.as_uuid())
            .bind(key.session_id.as_uuid())
            .bind(now)
            .bind(generation)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let Some(stored) = stored else {
            return Err(StoreError::NotFound(Entity::Session));
        };
        let claims = rows::stored_claims(stored)?.patched(patch, namespaces)?;
        let row = self
            .query(RECORD_AUTHENTICATION)
            .bind(key.organization_id.as_uuid())
            .bind(key.session_id.as_uuid())
            .bind(now)
            .bind(write.expires_at)
            .bind(write.touch_if_accessed_by)
            .bind(generation)
            .bind(Some(Value::Object(claims.as_map().clone())))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let session = updated(row)?;
        self.append(&mut tx, events).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(session)
    }

    async fn rotate_session_token(
        &self,
        key: &SessionKey,
        next: &TokenHash,
        factors: &[AuthenticationFactor],
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        const DOING: &str = "rotate a session token";
        let factors = factors_json(factors)?;
        let mut conn = self.write_conn(DOING, events).await?;
        let row = self
            .query(ROTATE)
            .bind(key.organization_id.as_uuid())
            .bind(key.session_id.as_uuid())
            .bind(generation(key.token_generation))
            .bind(next.as_bytes().as_slice())
            .bind(factors)
            .bind(now)
            .bind(expires_at)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let session = updated(row)?;
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await?;
        Ok(session)
    }

    async fn revoke_session(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        token_generation: Option<u32>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "revoke a session";
        let mut conn = self.write_conn(DOING, events).await?;
        let result = self
            .query(REVOKE)
            .bind(organization_id.as_uuid())
            .bind(session_id.as_uuid())
            .bind(now)
            .bind(token_generation.map(generation))
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Session));
        }
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn revoke_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        const DOING: &str = "revoke a member's sessions";
        let mut conn = self.write_conn(DOING, events).await?;
        let revoked = self
            .query(REVOKE_MEMBER)
            .bind(organization_id.as_uuid())
            .bind(member_id.as_uuid())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        if revoked == 0 {
            // Nothing to revoke, or no such member: only the second is an error.
            self.require_member(organization_id, member_id).await?;
        }
        self.append(&mut conn, &events::counted(events, revoked)).await?;
        conn.finish(DOING).await?;
        Ok(revoked)
    }

    async fn list_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberSession>> {
        const DOING: &str = "list a member's sessions";
        let mut conn = self.conn(DOING).await?;
        let found = self
            .query(LIST_MEMBER)
            .bind(organization_id.as_uuid())
            .bind(member_id.as_uuid())
            .bind(now)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        if found.is_empty() {
            self.require_member(organization_id, member_id).await?;
        }
        found.iter().map(|found| row::session(found, 0)).collect()
    }

    async fn exchange_session(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let result = self.exchange(from, to, to_token_hash, now, events).await;
        if let Some(limit) = events::refused_by_limit(&result) {
            self.append_events(&events::limit_denial(events, limit)).await?;
        }
        result
    }

    async fn revoke_organization_sessions(
        &self,
        organization_id: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        const DOING: &str = "revoke an organization's sessions";
        let mut conn = self.write_conn(DOING, events).await?;
        let revoked = self
            .query(REVOKE_ORGANIZATION)
            .bind(organization_id.as_uuid())
            .bind(now)
            .bind(except.map(|id| *id.as_uuid()))
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        if revoked == 0 && !self.organization_exists(organization_id).await? {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        self.append(&mut conn, &events::counted(events, revoked)).await?;
        conn.finish(DOING).await?;
        Ok(revoked)
    }

    async fn revoke_all_sessions(
        &self,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        const DOING: &str = "revoke every session";
        let mut conn = self.write_conn(DOING, events).await?;
        let revoked = self
            .query(REVOKE_ALL)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        self.append(&mut conn, &events::counted(events, revoked)).await?;
        conn.finish(DOING).await?;
        Ok(revoked)
    }

    async fn purge_sessions(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        // Each kind of end in turn, as long as the batch has room.
        const DOING: &str = "purge sessions";
        let mut conn = self.conn(DOING).await?;
        let mut deleted = 0;
        for statement in PURGES {
            let room = u64::from(batch_size) - deleted;
            if room == 0 {
                break;
            }
            deleted += self
                .query(statement)
                .bind(before)
                .bind(i64::try_from(room).unwrap_or(i64::MAX))
                .execute(&mut *conn)
                .await
                .map_err(|e| query_error(DOING, e))?
                .rows_affected();
        }
        conn.finish(DOING).await?;
        Ok(deleted)
    }
}
