//! [`EventRepository`] for SQLite, and [`append`], which every write calls inside its
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Row, Transaction, params, params_from_iter, types::Value as V};
use tessera_core::{Event, EventFilter, EventRecord};

use super::{
    SqliteStore,
    errors::sql,
    rows::{self, Cols, micros},
};
use crate::{error::StoreResult, events::EventRow, repository::EventRepository};

const EVENTS: &str = "events";

/// The columns [`event_at`] decodes, in order, each prefixed with `$p` (a table alias).
macro_rules! event_columns {
    ($p:literal) => {
        concat!(
            $p,
            "sequence, ",
            $p,
            "id, ",
            $p,
            "type, ",
            $p,
            "occurred_at, ",
            $p,
            "organization_id, ",
            $p,
            "member_id, ",
            $p,
            "session_id, ",
            $p,
            "actor_type, ",
            $p,
            "actor_id, ",
            $p,
            "request_id, ",
            $p,
            "ip_address, ",
            $p,
            "user_agent, ",
            $p,
            "payload"
        )
    };
}
pub(super) use event_columns;

/// How many columns [`event_columns!`] names.
pub(super) const EVENT_COLUMN_COUNT: usize = 13;

const EVENT_COLUMNS: &str = event_columns!("");

/// Appends `events` in the caller's write transaction: the one writer connection makes the
/// AUTOINCREMENT sequence commit-ordered.
pub(super) fn append(tx: &Transaction<'_>, events: &[EventRecord]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO events (id, type, occurred_at, organization_id, member_id, session_id, \
             actor_type, actor_id, request_id, ip_address, user_agent, payload) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(sql(EVENTS))?;
    for e in events {
        let blob = |id: Option<&uuid::Uuid>| id.map(|id| id.as_bytes().to_vec());
        let payload = rows::json(EVENTS, "payload", serde_json::to_string(&e.payload))?;
        stmt.execute(params![
            e.id.as_uuid().as_bytes(),
            e.event_type.as_str(),
            micros(e.occurred_at),
            blob(e.organization_id.as_ref().map(|id| id.as_uuid())),
            blob(e.member_id.as_ref().map(|id| id.as_uuid())),
            blob(e.session_id.as_ref().map(|id| id.as_uuid())),
            e.actor.kind(),
            blob(e.actor.member_id().as_ref().map(|id| id.as_uuid())),
            e.request.request_id,
            e.request.ip_address,
            e.request.user_agent,
            payload,
        ])
        .map_err(sql(EVENTS))?;
    }
    Ok(())
}

fn event(row: &Row<'_>) -> StoreResult<Event> {
    event_at(row, 0)
}

/// An event from the [`event_columns!`] starting at `base`.
pub(super) fn event_at(row: &Row<'_>, base: usize) -> StoreResult<Event> {
    let c = Cols::new(row, EVENTS, base);
    let owned = |s: Option<&str>| s.map(str::to_owned);
    EventRow {
        sequence: c.int(0, "sequence")?,
        id: c.uuid(1, "id")?,
        event_type: c.text(2, "type")?.to_owned(),
        occurred_at: c.time(3, "occurred_at")?,
        organization_id: c.opt_uuid(4, "organization_id")?,
        member_id: c.opt_uuid(5, "member_id")?,
        session_id: c.opt_uuid(6, "session_id")?,
        actor_type: c.text(7, "actor_type")?.to_owned(),
        actor_id: c.opt_uuid(8, "actor_id")?,
        request_id: owned(c.opt_text(9, "request_id")?),
        ip_address: owned(c.opt_text(10, "ip_address")?),
        user_agent: owned(c.opt_text(11, "user_agent")?),
        payload: c.text(12, "payload")?.to_owned(),
    }
    .into_event()
}

/// The `SELECT` of a listing: only the conditions the filter sets, so each combination is its
/// own cached statement that can use its index.
fn listing(filter: &EventFilter, limit: u32) -> (String, Vec<V>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    // `sql` ends where the parameter goes (`… =` gets a space, `json_each(` none).
    let mut condition = |sql: &str, value: V| {
        values.push(value);
        let space = if sql.ends_with('(') { "" } else { " " };
        conditions.push(format!("{sql}{space}?{}", values.len()));
    };
    let uuid = |id: &uuid::Uuid| V::Blob(id.as_bytes().to_vec());
    if let Some(after) = filter.after_sequence {
        condition("sequence >", V::Integer(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    if let Some(id) = filter.organization_id {
        condition("organization_id =", uuid(id.as_uuid()));
    }
    if let Some(id) = filter.member_id {
        condition("member_id =", uuid(id.as_uuid()));
    }
    if let Some(id) = filter.session_id {
        condition("session_id =", uuid(id.as_uuid()));
    }
    if let Some(since) = filter.since {
        condition("occurred_at >=", V::Integer(micros(since)));
    }
    if let Some(until) = filter.until {
        condition("occurred_at <", V::Integer(micros(until)));
    }
    let types = (!filter.types.is_empty()).then(|| {
        let list: Vec<&str> = filter.types.iter().map(|t| t.as_str()).collect();
        serde_json::Value::from(list).to_string()
    });
    if let Some(types) = types {
        condition("type IN (SELECT value FROM json_each(", V::Text(types));
        if let Some(last) = conditions.last_mut() {
            last.push_str("))");
        }
    }
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    values.push(V::Integer(i64::from(limit)));
    sql.push_str(&format!(" ORDER BY sequence LIMIT ?{}", values.len()));
    (sql, values)
}

#[async_trait]
impl EventRepository for SqliteStore {
    async fn append_events(&self, events: &[EventRecord]) -> StoreResult<()> {
        self.write(EVENTS, |tx| append(tx, events)).await
    }

    async fn list_events(&self, filter: &EventFilter, limit: u32) -> StoreResult<Vec<Event>> {
        let (statement, values) = listing(filter, limit);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&statement).map_err(sql(EVENTS))?;
            rows::query_all(&mut stmt, params_from_iter(values), EVENTS, event)
        })
    }

    async fn purge_events(&self, before: DateTime<Utc>, batch_size: u32) -> StoreResult<u64> {
        self.write_blocking(EVENTS, move |tx| {
            let deleted = tx
                .prepare_cached(
                    "DELETE FROM events WHERE sequence IN (SELECT sequence FROM events \
                     WHERE occurred_at < ?1 ORDER BY occurred_at LIMIT ?2)",
                )
                .and_then(|mut stmt| stmt.execute(params![micros(before), batch_size]))
                .map_err(sql(EVENTS))?;
            Ok(deleted as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::{EventType, OrganizationId};

    use super::*;

    #[test]
    fn a_listing_names_only_the_filters_it_has() {
        let (sql, values) = listing(&EventFilter::default(), 10);
        assert_eq!(sql, format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY sequence LIMIT ?1"));
        assert_eq!(values.len(), 1);
        let filter = EventFilter {
            organization_id: Some(OrganizationId::from_uuid(uuid::Uuid::nil())),
            types: vec![EventType::SessionCreated, EventType::SessionRevoked],
            after_sequence: Some(7),
            ..Default::default()
        };
        let (sql, values) = listing(&filter, 10);
        assert!(
            sql.ends_with(
                "WHERE sequence > ?1 AND organization_id = ?2 AND type IN (SELECT value FROM \
                 json_each(?3)) ORDER BY sequence LIMIT ?4"
            ),
            "{sql}"
        );
        assert_eq!(values.len(), 4);
    }
}
