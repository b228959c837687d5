//! [`SessionRepository`] for SQLite.
//!
//! Every write is one conditional statement on an active session ([`active_at`]: not revoked,
//! not expired, within the absolute lifetime, not idle), or, for a claims patch and an exchange,
//! a few statements in one `BEGIN IMMEDIATE` transaction on the one writer connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params, types::Value as V};
use serde_json::Value;
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, CustomClaims, EventRecord,
    MemberId, MemberSession, OrganizationId, SessionId, SessionLimit, TokenHash,
};

use super::{
    SqliteStore,
    errors::sql,
    events::append,
    members::{member_exists, organization_exists},
    rows::{
        self, Cols, ORGANIZATION_COLUMN_COUNT, SESSIONS, json, micros, organization_columns,
        session_columns, uuid_blob,
    },
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    events,
    repository::{AuthenticationWrite, EventRepository, SessionKey, SessionRepository},
    row::{self, authenticated_select, session_live_at, session_within_policy_at},
};

/// The condition every session write carries: the session is active at `$now` (a parameter
/// such as `"?1"`), by the rule of [`crate::row`]. An `UPDATE` of SQLite cannot join, so the
/// organization's part is an `EXISTS`.
macro_rules! active_at {
    ($now:literal) => {
        concat!(
            session_live_at!("", $now),
            " AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = sessions.organization_id \
             AND ",
            session_within_policy_at!(sqlite, "sessions.", "o.", $now),
            ")"
        )
    };
}

/// The hot path: one statement from a token hash to session, member and organization.
pub(super) const FIND_BY_TOKEN: &str =
    concat!(authenticated_select!(), "WHERE s.token_hash = ?1 AND ", session_live_at!("s.", "?2"));

pub(super) const FIND_BY_ID: &str = concat!(
    authenticated_select!(),
    "WHERE s.id = ?1 AND s.organization_id = ?2 AND ",
    session_live_at!("s.", "?3")
);

/// The organization of a session, by the session's id alone (deployment-wide), whatever its
/// status.
pub(super) const SESSION_ORGANIZATION: &str = "SELECT organization_id FROM sessions WHERE id = ?1";

/// Authenticate's write without a claims patch, in one statement: an extension (`?4`, also an
/// access record), or a coalesced access record (when the last one is at or before `?5`), of the
/// live session `?2` of `?3` at generation `?6`. SQLite evaluates every `SET` expression against
/// the row as it was, so each one states its own condition. `?1` is `now`.
pub(super) const RECORD_AUTHENTICATION: &str = concat!(
    "UPDATE sessions SET \
     expires_at = COALESCE(?4, expires_at), \
     last_accessed_at = CASE WHEN ?4 IS NOT NULL OR last_accessed_at <= ?5 \
         THEN MAX(last_accessed_at, ?1) ELSE last_accessed_at END, \
     custom_claims = COALESCE(?7, custom_claims), \
     updated_at = CASE WHEN ?4 IS NOT NULL OR ?7 IS NOT NULL THEN ?1 ELSE updated_at END \
     WHERE id = ?2 AND organization_id = ?3 AND token_generation = ?6 AND ",
    active_at!("?1"),
    " RETURNING ",
    session_columns!("")
);

/// The stored claims of a live session at a generation, read inside the write transaction that
/// patches them.
const LIVE_CLAIMS: &str = concat!(
    "SELECT custom_claims FROM sessions \
     WHERE id = ?2 AND organization_id = ?3 AND token_generation = ?4 AND ",
    active_at!("?1")
);

pub(super) const REVOKE_MEMBER_SESSIONS: &str = concat!(
    "UPDATE sessions SET revoked_at = ?1, updated_at = ?1 \
     WHERE organization_id = ?2 AND member_id = ?3 AND ",
    active_at!("?1")
);

/// Every live session of an organization, but one (`?3`, or none when NULL).
pub(super) const REVOKE_ORGANIZATION_SESSIONS: &str = concat!(
    "UPDATE sessions SET revoked_at = ?1, updated_at = ?1 \
     WHERE organization_id = ?2 AND (?3 IS NULL OR id <> ?3) AND ",
    active_at!("?1")
);

/// Every live session of the deployment.
pub(super) const REVOKE_ALL_SESSIONS: &str =
    concat!("UPDATE sessions SET revoked_at = ?1, updated_at = ?1 WHERE ", active_at!("?1"));

/// The session limit of an organization.
const SESSION_LIMIT: &str =
    "SELECT max_sessions_per_member, session_limit_behavior FROM organizations WHERE id = ?1";

/// How many live sessions a member holds in an organization (`sessions_member_idx`).
const COUNT_LIVE_MEMBER_SESSIONS: &str = concat!(
    "SELECT count(*) FROM sessions WHERE organization_id = ?2 AND member_id = ?3 AND ",
    active_at!("?1")
);

/// Revokes the member's `?4` least recently used live sessions, and names them.
const REVOKE_LEAST_RECENTLY_USED: &str = concat!(
    "UPDATE sessions SET revoked_at = ?1, updated_at = ?1 WHERE id IN \
     (SELECT id FROM sessions WHERE organization_id = ?2 AND member_id = ?3 AND ",
    active_at!("?1"),
    " ORDER BY last_accessed_at, id LIMIT ?4) RETURNING id"
);

/// The member's organization (for its lifetime policy) joined with the member's live sessions.
/// No row at all means no such member in this organization; a member without live sessions
/// yields one row of NULL session columns.
pub(super) const LIST_MEMBER_SESSIONS: &str = concat!(
    "SELECT ",
    organization_columns!("o."),
    ", ",
    session_columns!("s."),
    " FROM members m JOIN organizations o ON o.id = m.organization_id \
     LEFT JOIN sessions s ON s.organization_id = m.organization_id \
     AND s.member_id = m.id AND ",
    session_live_at!("s.", "?3"),
    " WHERE m.organization_id = ?1 AND m.id = ?2 \
     ORDER BY s.started_at, s.id"
);

/// One bounded batch of sessions that expired or were revoked before `?1`.
pub(super) const PURGE_EXPIRED: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
     WHERE expires_at < ?1 OR revoked_at < ?1 LIMIT ?2)";

/// One bounded batch of sessions that went idle before `?1` under their organization's idle
/// timeout: for each organization with one, an index range on `(organization_id,
/// last_accessed_at)`.
/// (`CROSS JOIN` makes SQLite keep the organizations as the outer loop.)
pub(super) const PURGE_IDLE: &str = "DELETE FROM sessions WHERE id IN (SELECT s.id \
     FROM organizations o CROSS JOIN sessions s \
     WHERE o.idle_timeout_minutes IS NOT NULL AND s.organization_id = o.id \
     AND s.last_accessed_at < ?1 - o.idle_timeout_minutes * 60000000 LIMIT ?2)";

/// One bounded batch of sessions that passed their organization's absolute lifetime before
/// `?1` (sessions outlive it only when the organization lowered it after they started).
pub(super) const PURGE_CAPPED: &str = "DELETE FROM sessions WHERE id IN (SELECT s.id \
     FROM organizations o CROSS JOIN sessions s \
     WHERE s.organization_id = o.id AND s.started_at < ?1 - o.max_lifetime_minutes * 60000000 \
     LIMIT ?2)";

fn sessions_not_found() -> StoreError {
    StoreError::NotFound(Entity::Session)
}

/// Makes room for a new session of `session`'s member under its organization's session limit,
/// in the writer's transaction (so concurrent sign-ins are counted one after the other): refuses
/// it, or revokes the least recently used live sessions and names them. A new session is
/// accessed at the moment it is made, so its `last_accessed_at` is that moment.
fn make_room(conn: &Connection, session: &MemberSession) -> StoreResult<Vec<SessionId>> {
    let org = uuid_blob(session.organization_id.as_uuid());
    let member = uuid_blob(session.member_id.as_uuid());
    let limit = conn
        .prepare_cached(SESSION_LIMIT)
        .and_then(|mut stmt| {
            stmt.query_row([org], |row| {
                Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<String>>(1)?))
            })
        })
        .map_err(sql(SESSIONS))?;
    let Some(limit) = SessionLimit::from_stored(limit.0, limit.1.as_deref())
        .map_err(|e| StoreError::corrupt_with(rows::ORGANIZATIONS, "invalid session limit", e))?
    else {
        return Ok(Vec::new());
    };
    let now = micros(session.times.last_accessed_at);
    let live: i64 = conn
        .prepare_cached(COUNT_LIVE_MEMBER_SESSIONS)
        .and_then(|mut stmt| stmt.query_row(params![now, org, member], |row| row.get(0)))
        .map_err(sql(SESSIONS))?;
    let excess = limit.make_room(u64::try_from(live).unwrap_or(0))?;
    if excess == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(REVOKE_LEAST_RECENTLY_USED).map_err(sql(SESSIONS))?;
    let revoked = stmt
        .query_map(params![now, org, member, i64::try_from(excess).unwrap_or(i64::MAX)], |row| {
            row.get::<_, Vec<u8>>(0)
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(sql(SESSIONS))?;
    revoked
        .iter()
        .map(|blob| {
            uuid::Uuid::from_slice(blob)
                .map(SessionId::from_uuid)
                .map_err(|e| StoreError::corrupt_with(SESSIONS, "a session id is not 16 bytes", e))
        })
        .collect()
}

/// Stores a new session, after checking that its organization and member exist (so that the
/// error names the right entity rather than a foreign-key failure) and making room for it under
/// the organization's session limit; returns the sessions revoked to make room.
fn insert_session(
    conn: &Connection,
    session: &MemberSession,
    token_hash: &TokenHash,
) -> StoreResult<Vec<SessionId>> {
    if !organization_exists(conn, session.organization_id)? {
        return Err(StoreError::NotFound(Entity::Organization));
    }
    if !member_exists(conn, session.organization_id, session.member_id)? {
        return Err(StoreError::NotFound(Entity::Member));
    }
    let revoked = make_room(conn, session)?;
    let text = |s: &Option<String>| s.as_ref().map_or(V::Null, |s| V::Text(s.clone()));
    let factors = json(
        SESSIONS,
        "authentication_factors",
        serde_json::to_string(&session.authentication_factors),
    )?;
    let claims = json(SESSIONS, "custom_claims", serde_json::to_string(&session.custom_claims))?;
    let values: [V; 15] = [
        V::Blob(uuid_blob(session.id.as_uuid()).to_vec()),
        V::Blob(uuid_blob(session.organization_id.as_uuid()).to_vec()),
        V::Blob(uuid_blob(session.member_id.as_uuid()).to_vec()),
        V::Integer(micros(session.times.started_at)),
        V::Integer(micros(session.times.last_accessed_at)),
        V::Integer(micros(session.times.expires_at)),
        session.times.revoked_at.map_or(V::Null, |t| V::Integer(micros(t))),
        V::Text(factors),
        V::Text(claims),
        text(&session.attributes.ip_address),
        text(&session.attributes.user_agent),
        text(&session.return_url),
        V::Integer(micros(session.updated_at)),
        V::Integer(i64::from(session.token_generation)),
        V::Blob(token_hash.as_bytes().to_vec()),
    ];
    conn.prepare_cached(concat!(
        "INSERT INTO sessions (",
        session_columns!(""),
        ", token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))
    .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
    .map_err(sql(SESSIONS))?;
    Ok(revoked)
}

/// Runs an `UPDATE ... RETURNING` of the session columns; `NotFound(Session)` if no row matched.
fn update_returning(
    conn: &Connection,
    sql_text: &str,
    params: impl rusqlite::Params,
) -> StoreResult<MemberSession> {
    let mut stmt = conn.prepare_cached(sql_text).map_err(sql(SESSIONS))?;
    rows::query_opt(&mut stmt, params, SESSIONS, |row| rows::session(row, 0))?
        .ok_or_else(sessions_not_found)
}

#[async_trait]
impl SessionRepository for SqliteStore {
    async fn create_session(
        &self,
        session: &MemberSession,
        token_hash: &TokenHash,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let result = self
            .write(SESSIONS, |tx| {
                let revoked = insert_session(tx, session, token_hash)?;
                append(tx, &events::with_limit_revocations(events, &revoked))?;
                Ok(revoked)
            })
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
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(FIND_BY_TOKEN).map_err(sql(SESSIONS))?;
            rows::query_opt(
                &mut stmt,
                params![&token_hash.as_bytes()[..], micros(now)],
                SESSIONS,
                |row| row::authenticated(row, now, &self.decoded),
            )?
            .flatten()
            .ok_or_else(sessions_not_found)
        })
    }

    async fn find_session_by_id(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> StoreResult<AuthenticatedSession> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(FIND_BY_ID).map_err(sql(SESSIONS))?;
            rows::query_opt(
                &mut stmt,
                params![
                    uuid_blob(session_id.as_uuid()),
                    uuid_blob(organization_id.as_uuid()),
                    micros(now)
                ],
                SESSIONS,
                |row| row::authenticated(row, now, &self.decoded),
            )?
            .flatten()
            .ok_or_else(sessions_not_found)
        })
    }

    async fn find_session_organization(
        &self,
        session_id: SessionId,
    ) -> StoreResult<OrganizationId> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(SESSION_ORGANIZATION).map_err(sql(SESSIONS))?;
            rows::query_opt(&mut stmt, [uuid_blob(session_id.as_uuid())], SESSIONS, |row| {
                Cols::new(row, SESSIONS, 0)
                    .uuid(0, "organization_id")
                    .map(OrganizationId::from_uuid)
            })?
            .ok_or_else(sessions_not_found)
        })
    }

    async fn record_authentication(
        &self,
        key: &SessionKey,
        write: &AuthenticationWrite,
        namespaces: &ClaimNamespaces,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<MemberSession> {
        let id = uuid_blob(key.session_id.as_uuid());
        let org = uuid_blob(key.organization_id.as_uuid());
        let generation = i64::from(key.token_generation);
        // One transaction on the one writer: the claims are read, patched and written back with
        // the extension and the access record, so no concurrent patch is lost and a refused patch
        // leaves nothing behind.
        self.write(SESSIONS, |tx| {
            let claims = match &write.claims_patch {
                None => None,
                Some(patch) => {
                    let mut stmt = tx.prepare_cached(LIVE_CLAIMS).map_err(sql(SESSIONS))?;
                    let current = rows::query_opt(
                        &mut stmt,
                        params![micros(now), id, org, generation],
                        SESSIONS,
                        |row| {
                            let c = Cols::new(row, SESSIONS, 0);
                            let value =
                                c.json(0, "custom_claims", |s| serde_json::from_str::<Value>(s))?;
                            CustomClaims::from_stored(value).map_err(|e| {
                                StoreError::corrupt_with(
                                    SESSIONS,
                                    "column custom_claims: invalid",
                                    e,
                                )
                            })
                        },
                    )?
                    .ok_or_else(sessions_not_found)?;
                    let patched = current.patched(patch, namespaces)?;
                    Some(json(SESSIONS, "custom_claims", serde_json::to_string(&patched))?)
                }
            };
            let session = update_returning(
                tx,
                RECORD_AUTHENTICATION,
                params![
                    micros(now),
                    id,
                    org,
                    write.expires_at.map(micros),
                    write.touch_if_accessed_by.map(micros),
                    generation,
                    claims
                ],
            )?;
            append(tx, events)?;
            Ok(session)
        })
        .await
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
        let factors = json(SESSIONS, "authentication_factors", serde_json::to_string(factors))?;
        self.write(SESSIONS, |tx| {
            let session = update_returning(
                tx,
                concat!(
                    "UPDATE sessions SET token_hash = ?1, authentication_factors = ?2, \
                     token_generation = token_generation + 1, \
                     expires_at = COALESCE(?7, expires_at), \
                     last_accessed_at = MAX(last_accessed_at, ?3), updated_at = ?3 \
                     WHERE id = ?4 AND organization_id = ?5 AND token_generation = ?6 AND ",
                    active_at!("?3"),
                    " RETURNING ",
                    session_columns!("")
                ),
                params![
                    &next.as_bytes()[..],
                    factors,
                    micros(now),
                    uuid_blob(key.session_id.as_uuid()),
                    uuid_blob(key.organization_id.as_uuid()),
                    i64::from(key.token_generation),
                    expires_at.map(micros)
                ],
            )?;
            append(tx, events)?;
            Ok(session)
        })
        .await
    }

    async fn revoke_session(
        &self,
        organization_id: OrganizationId,
        session_id: SessionId,
        token_generation: Option<u32>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        self.write(SESSIONS, |tx| {
            let changed = tx
                .prepare_cached(concat!(
                    "UPDATE sessions SET revoked_at = ?1, updated_at = ?1 \
                     WHERE id = ?2 AND organization_id = ?3 \
                     AND (?4 IS NULL OR token_generation = ?4) AND ",
                    active_at!("?1")
                ))
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        micros(now),
                        uuid_blob(session_id.as_uuid()),
                        uuid_blob(organization_id.as_uuid()),
                        token_generation.map(i64::from)
                    ])
                })
                .map_err(sql(SESSIONS))?;
            if changed == 0 {
                return Err(sessions_not_found());
            }
            append(tx, events)
        })
        .await
    }

    async fn revoke_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let events = events.to_vec();
        // A member may have many sessions: on the blocking pool, off the async workers.
        self.write_blocking(SESSIONS, move |tx| {
            if !member_exists(tx, organization_id, member_id)? {
                return Err(StoreError::NotFound(Entity::Member));
            }
            let changed = tx
                .prepare_cached(REVOKE_MEMBER_SESSIONS)
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        micros(now),
                        uuid_blob(organization_id.as_uuid()),
                        uuid_blob(member_id.as_uuid())
                    ])
                })
                .map_err(sql(SESSIONS))? as u64;
            append(tx, &events::counted(&events, changed))?;
            Ok(changed)
        })
        .await
    }

    async fn revoke_organization_sessions(
        &self,
        organization_id: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let events = events.to_vec();
        // Possibly many rows: on the blocking pool, off the async workers.
        self.write_blocking(SESSIONS, move |tx| {
            if !organization_exists(tx, organization_id)? {
                return Err(StoreError::NotFound(Entity::Organization));
            }
            let except = except.map(|id| uuid_blob(id.as_uuid()).to_vec());
            let changed = tx
                .prepare_cached(REVOKE_ORGANIZATION_SESSIONS)
                .and_then(|mut stmt| {
                    stmt.execute(params![micros(now), uuid_blob(organization_id.as_uuid()), except])
                })
                .map_err(sql(SESSIONS))? as u64;
            append(tx, &events::counted(&events, changed))?;
            Ok(changed)
        })
        .await
    }

    async fn revoke_all_sessions(
        &self,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<u64> {
        let events = events.to_vec();
        self.write_blocking(SESSIONS, move |tx| {
            let changed = tx
                .prepare_cached(REVOKE_ALL_SESSIONS)
                .and_then(|mut stmt| stmt.execute(params![micros(now)]))
                .map_err(sql(SESSIONS))? as u64;
            append(tx, &events::counted(&events, changed))?;
            Ok(changed)
        })
        .await
    }

    async fn list_member_sessions(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberSession>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(LIST_MEMBER_SESSIONS).map_err(sql(SESSIONS))?;
            let mut rows = stmt
                .query(params![
                    uuid_blob(organization_id.as_uuid()),
                    uuid_blob(member_id.as_uuid()),
                    micros(now)
                ])
                .map_err(sql(SESSIONS))?;
            let mut policy = None;
            let mut sessions = Vec::new();
            while let Some(row) = rows.next().map_err(sql(SESSIONS))? {
                let lifetime = match policy {
                    Some(lifetime) => lifetime,
                    None => *policy.insert(rows::organization(row, 0)?.settings.lifetime),
                };
                if Cols::new(row, SESSIONS, ORGANIZATION_COLUMN_COUNT).is_null(0)? {
                    continue;
                }
                let session = rows::session(row, ORGANIZATION_COLUMN_COUNT)?;
                if session.times.status(now, &lifetime).is_active() {
                    sessions.push(session);
                }
            }
            if policy.is_none() {
                return Err(StoreError::NotFound(Entity::Member));
            }
            Ok(sessions)
        })
    }

    async fn exchange_session(
        &self,
        from: &SessionKey,
        to: &MemberSession,
        to_token_hash: &TokenHash,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Vec<SessionId>> {
        let result = self
            .write(SESSIONS, |tx| {
                let revoked = tx
                    .prepare_cached(concat!(
                        "UPDATE sessions SET revoked_at = ?1, updated_at = ?1 \
                     WHERE id = ?2 AND organization_id = ?3 AND token_generation = ?4 AND ",
                        active_at!("?1")
                    ))
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            micros(now),
                            uuid_blob(from.session_id.as_uuid()),
                            uuid_blob(from.organization_id.as_uuid()),
                            i64::from(from.token_generation)
                        ])
                    })
                    .map_err(sql(SESSIONS))?;
                if revoked == 0 {
                    return Err(sessions_not_found());
                }
                // Any failure here rolls the revocation back with the transaction.
                let revoked = insert_session(tx, to, to_token_hash)?;
                append(tx, &events::with_limit_revocations(events, &revoked))?;
                Ok(revoked)
            })
            .await;
        if let Some(limit) = events::refused_by_limit(&result) {
            self.append_events(&events::limit_denial(events, limit)).await?;
        }
        result
    }

    async fn purge_sessions(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        let before = micros(before);
        self.write_blocking(SESSIONS, move |tx| {
            // Each kind of end in turn, as long as the batch has room.
            let mut deleted = 0u64;
            for statement in [PURGE_EXPIRED, PURGE_IDLE, PURGE_CAPPED] {
                let room = u64::from(batch_size) - deleted;
                if room == 0 {
                    break;
                }
                deleted += tx
                    .prepare_cached(statement)
                    .and_then(|mut stmt| stmt.execute(params![before, room]))
                    .map_err(sql(SESSIONS))? as u64;
            }
            Ok(deleted)
        })
        .await
    }
}
