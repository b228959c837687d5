//! [`EventRepository`] on PostgreSQL, and [`PostgresStore::append`], which every write calls
//! last in its transaction.
//!
//! The append is one statement: it takes the next sequences from the one-row `event_sequence`
//! counter and inserts every event from one JSON array. The counter row stays locked until the
//! transaction commits, so sequences are given in commit order (migration 0005 says why that
//! matters and what it costs); appending last keeps that lock for the commit alone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnection, PgRow};
use tessera_core::{Event, EventFilter, EventRecord};
use uuid::Uuid;

use super::{PostgresStore, errors::query_error, rows};

const EVENTS: &str = "events";
use crate::{error::StoreResult, events::EventRow, repository::EventRepository};

const APPEND: &str = "WITH next AS (UPDATE event_sequence SET last = last + $2 RETURNING last) \
     INSERT INTO events (sequence, id, type, occurred_at, organization_id, member_id, \
     session_id, actor_type, actor_id, request_id, ip_address, user_agent, payload) \
     SELECT next.last - $2 + e.n, e.id, e.type, e.occurred_at, e.organization_id, e.member_id, \
     e.session_id, e.actor_type, e.actor_id, e.request_id, e.ip_address, e.user_agent, e.payload \
     FROM next, jsonb_to_recordset($1) AS e(n bigint, id uuid, type text, \
     occurred_at timestamptz, organization_id uuid, member_id uuid, session_id uuid, \
     actor_type text, actor_id uuid, request_id text, ip_address text, user_agent text, \
     payload jsonb)";

/// Every filter is a parameter that may be NULL, so that one cached statement serves them all;
/// the scan follows the primary key from the cursor on.
const LIST: &str = "SELECT sequence, id, type, occurred_at, organization_id, member_id, \
     session_id, actor_type, actor_id, request_id, ip_address, user_agent, payload::text AS payload \
     FROM events WHERE ($1::bigint IS NULL OR sequence > $1) \
     AND ($2::uuid IS NULL OR organization_id = $2) AND ($3::uuid IS NULL OR member_id = $3) \
     AND ($4::uuid IS NULL OR session_id = $4) AND ($5::text[] IS NULL OR type = ANY($5)) \
     AND ($6::timestamptz IS NULL OR occurred_at >= $6) \
     AND ($7::timestamptz IS NULL OR occurred_at < $7) \
     ORDER BY sequence LIMIT $8";

const PURGE: &str = "DELETE FROM events WHERE sequence IN (SELECT sequence FROM events \
     WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)";

/// The one decoder of an event: a row of [`LIST`] (`prefix` empty), or the event columns of a
/// joined row, each named `prefix` + column (`ev_`, see `webhook_delivery_columns!`).
pub(super) fn event_row(row: &PgRow, prefix: &str) -> StoreResult<EventRow> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(EventRow {
        sequence: rows::get(row, EVENTS, &column("sequence"))?,
        id: rows::get(row, EVENTS, &column("id"))?,
        event_type: rows::get(row, EVENTS, &column("type"))?,
        occurred_at: rows::get(row, EVENTS, &column("occurred_at"))?,
        organization_id: rows::get(row, EVENTS, &column("organization_id"))?,
        member_id: rows::get(row, EVENTS, &column("member_id"))?,
        session_id: rows::get(row, EVENTS, &column("session_id"))?,
        actor_type: rows::get(row, EVENTS, &column("actor_type"))?,
        actor_id: rows::get(row, EVENTS, &column("actor_id"))?,
        request_id: rows::get(row, EVENTS, &column("request_id"))?,
        ip_address: rows::get(row, EVENTS, &column("ip_address"))?,
        user_agent: rows::get(row, EVENTS, &column("user_agent"))?,
        payload: rows::get(row, EVENTS, &column("payload"))?,
    })
}

/// The JSON array [`APPEND`] reads, `n` counting from 1.
fn recordset(events: &[EventRecord]) -> Value {
    let uuid = |id: Option<&Uuid>| id.map(Uuid::to_string);
    Value::Array(
        events
            .iter()
            .zip(1i64..)
            .map(|(e, n)| {
                json!({
                    "n": n,
                    "id": e.id.as_uuid().to_string(),
                    "type": e.event_type.as_str(),
                    "occurred_at": e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "organization_id": uuid(e.organization_id.as_ref().map(|id| id.as_uuid())),
                    "member_id": uuid(e.member_id.as_ref().map(|id| id.as_uuid())),
                    "session_id": uuid(e.session_id.as_ref().map(|id| id.as_uuid())),
                    "actor_type": e.actor.kind(),
                    "actor_id": uuid(e.actor.member_id().as_ref().map(|id| id.as_uuid())),
                    "request_id": e.request.request_id,
                    "ip_address": e.request.ip_address,
                    "user_agent": e.request.user_agent,
                    "payload": e.payload,
                })
            })
            .collect(),
    )
}

impl PostgresStore {
    /// Appends `events` on `conn`, which must be in the transaction of the change they record
    /// (see [`PostgresStore::write_conn`]), as its last statement.
    pub(super) async fn append(
        &self,
        conn: &mut PgConnection,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "append events";
        if events.is_empty() {
            return Ok(());
        }
        self.query(APPEND)
            .bind(recordset(events))
            .bind(i64::try_from(events.len()).unwrap_or(i64::MAX))
            .execute(conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        Ok(())
    }
}

#[async_trait]
impl EventRepository for PostgresStore {
    async fn append_events(&self, events: &[EventRecord]) -> StoreResult<()> {
        const DOING: &str = "append events";
        let mut conn = self.write_conn(DOING, events).await?;
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn list_events(&self, filter: &EventFilter, limit: u32) -> StoreResult<Vec<Event>> {
        const DOING: &str = "list events";
        let types: Option<Vec<&str>> =
            (!filter.types.is_empty()).then(|| filter.types.iter().map(|t| t.as_str()).collect());
        let mut conn = self.conn(DOING).await?;
        let found = self
            .query(LIST)
            .bind(filter.after_sequence.map(|s| i64::try_from(s).unwrap_or(i64::MAX)))
            .bind(filter.organization_id.map(|id| *id.as_uuid()))
            .bind(filter.member_id.map(|id| *id.as_uuid()))
            .bind(filter.session_id.map(|id| *id.as_uuid()))
            .bind(types)
            .bind(filter.since)
            .bind(filter.until)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        found.iter().map(|row| event_row(row, "")?.into_event()).collect()
    }

    async fn purge_events(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        const DOING: &str = "purge events";
        let mut conn = self.conn(DOING).await?;
        let deleted = self
            .query(PURGE)
            .bind(before)
            .bind(i64::from(batch_size))
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        conn.finish(DOING).await?;
        Ok(deleted)
    }
}
