//! [`WebhookRepository`] for SQLite.
//!
//! Every write runs in the one writer's `BEGIN IMMEDIATE` transaction, so a fan-out, a claim or
//! a record never meets another write half done: no claim can take a delivery another holds,
//! and no cursor moves twice at once. Fan-outs and endpoint deletions (which cascade to their
//! deliveries) run on the blocking pool, like purge batches.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Row, Transaction, params, types::Value as V};
use tessera_core::{EventId, EventType, OrganizationId};

use super::{
    SqliteStore,
    errors::sql,
    events::{EVENT_COLUMN_COUNT, event_at, event_columns},
    rows::{self, Cols, micros, uuid_blob},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::WebhookRepository,
    webhook::{
        self, AttemptRecord, Backlog, ClaimedDelivery, Delivery, DeliveryFilter, DeliveryId,
        DeliveryRow, DeliveryStatus, EndpointEffect, EndpointRow, EndpointSecret, EndpointUpdate,
        WebhookEndpoint, WebhookEndpointId,
    },
};

const ENDPOINTS: &str = "webhook_endpoints";
const DELIVERIES: &str = "webhook_deliveries";

/// The columns [`endpoint`] decodes, in order, each prefixed with `$p` (a table alias).
macro_rules! endpoint_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "url, ",
            $p,
            "description, ",
            $p,
            "event_types, ",
            $p,
            "organization_id, ",
            $p,
            "enabled, ",
            $p,
            "disabled_reason, ",
            $p,
            "secrets, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "failing_since, ",
            $p,
            "last_sequence"
        )
    };
}

/// The columns of `webhook_deliveries d` that [`delivery_row`] decodes, then the event's
/// ([`event_columns!`] of `events ev`), from a join on `ev.sequence = d.event_sequence`.
macro_rules! delivery_columns {
    () => {
        concat!(
            "d.id, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, \
             d.last_status, d.last_error, d.created_at, ",
            event_columns!("ev.")
        )
    };
}
const DELIVERY_COLUMN_COUNT: usize = 9;

/// The due deliveries of enabled endpoints, earliest first (`?1` now, `?2` the limit), with
/// their endpoint's URL and secrets; the event is left-joined, so that a delivery whose event was
/// purged comes back too (with null event columns) and is made dead.
pub(super) const CLAIMABLE: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    ", e.url, e.secrets FROM webhook_deliveries d \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     LEFT JOIN events ev ON ev.sequence = d.event_sequence \
     WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 \
     AND (d.lease_until IS NULL OR d.lease_until <= ?1) AND e.enabled = 1 \
     ORDER BY d.next_attempt_at, d.id LIMIT ?2"
);

/// What is due at `?1` on enabled endpoints: how many, since when.
pub(super) const BACKLOG: &str = "SELECT count(*), min(d.next_attempt_at) \
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND e.enabled = 1";

/// A fan-out's batch: the events after the cursor `?1`, at most `?2`.
pub(super) const EVENTS_AFTER: &str = "SELECT sequence, id, type, organization_id FROM events \
     WHERE sequence > ?1 ORDER BY sequence LIMIT ?2";

/// An endpoint from the [`endpoint_columns!`] at the start of `row`.
fn endpoint(row: &Row<'_>) -> StoreResult<WebhookEndpoint> {
    let c = Cols::new(row, ENDPOINTS, 0);
    EndpointRow {
        id: c.uuid(0, "id")?,
        url: c.text(1, "url")?.to_owned(),
        description: c.opt_text(2, "description")?.map(str::to_owned),
        event_types: c.json(3, "event_types", |s| serde_json::from_str(s))?,
        organization_id: c.opt_uuid(4, "organization_id")?,
        enabled: c.bool(5, "enabled")?,
        disabled_reason: c.opt_text(6, "disabled_reason")?.map(str::to_owned),
        secrets: c.text(7, "secrets")?.to_owned(),
        created_at: c.time(8, "created_at")?,
        updated_at: c.time(9, "updated_at")?,
        failing_since: c.opt_time(10, "failing_since")?,
        last_sequence: c.int(11, "last_sequence")?,
    }
    .into_endpoint()
}

/// The delivery's own columns of a [`delivery_columns!`] row.
fn delivery_row(row: &Row<'_>) -> StoreResult<DeliveryRow> {
    let c = Cols::new(row, DELIVERIES, 0);
    Ok(DeliveryRow {
        id: c.uuid(0, "id")?,
        endpoint_id: c.uuid(1, "endpoint_id")?,
        status: c.text(2, "status")?.to_owned(),
        attempts: c.int(3, "attempts")?,
        next_attempt_at: c.time(4, "next_attempt_at")?,
        last_attempt_at: c.opt_time(5, "last_attempt_at")?,
        last_status: c.opt_int(6, "last_status")?,
        last_error: c.opt_text(7, "last_error")?.map(str::to_owned),
        created_at: c.time(8, "created_at")?,
    })
}

/// A whole [`delivery_columns!`] row whose event is there (an inner join).
fn delivery(row: &Row<'_>) -> StoreResult<Delivery> {
    delivery_row(row)?.into_delivery(event_at(row, DELIVERY_COLUMN_COUNT)?)
}

/// The values bound for `?1..=?12` of an insert or update of `endpoint` (in
/// [`endpoint_columns!`] order).
fn bind(endpoint: &WebhookEndpoint) -> StoreResult<[V; 12]> {
    let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
    let types = rows::json(ENDPOINTS, "event_types", serde_json::to_string(&types))?;
    let optional_text = |s: &Option<String>| s.as_ref().map_or(V::Null, |s| V::Text(s.clone()));
    Ok([
        V::Blob(uuid_blob(endpoint.id.as_uuid()).to_vec()),
        V::Text(endpoint.url.clone()),
        optional_text(&endpoint.description),
        V::Text(types),
        endpoint.organization_id.map_or(V::Null, |id| V::Blob(uuid_blob(id.as_uuid()).to_vec())),
        V::Integer(i64::from(endpoint.enabled)),
        optional_text(&endpoint.disabled_reason),
        V::Text(webhook::secrets_json(&endpoint.secrets)?),
        V::Integer(micros(endpoint.created_at)),
        V::Integer(micros(endpoint.updated_at)),
        endpoint.failing_since.map_or(V::Null, |t| V::Integer(micros(t))),
        V::Integer(i64::try_from(endpoint.last_sequence).unwrap_or(i64::MAX)),
    ])
}

/// The endpoint `id`, read inside the writer's transaction.
fn endpoint_in(tx: &Transaction<'_>, id: WebhookEndpointId) -> StoreResult<WebhookEndpoint> {
    let mut stmt = tx
        .prepare_cached(concat!(
            "SELECT ",
            endpoint_columns!(""),
            " FROM webhook_endpoints WHERE id = ?1"
        ))
        .map_err(sql(ENDPOINTS))?;
    rows::query_opt(&mut stmt, [uuid_blob(id.as_uuid())], ENDPOINTS, endpoint)?
        .ok_or(StoreError::NotFound(Entity::WebhookEndpoint))
}

/// Writes every column of `endpoint` but its id, creation time and cursor.
fn write_endpoint(tx: &Transaction<'_>, endpoint: &WebhookEndpoint) -> StoreResult<()> {
    let values = bind(endpoint)?;
    tx.prepare_cached(
        "UPDATE webhook_endpoints SET url = ?2, description = ?3, event_types = ?4, \
         organization_id = ?5, enabled = ?6, disabled_reason = ?7, secrets = ?8, \
         updated_at = ?10, failing_since = ?11 WHERE id = ?1",
    )
    // `created_at` (?9) is bound but unused; the cursor (?12) is not bound: fan-outs own it.
    .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values.into_iter().take(11))))
    .map_err(sql(ENDPOINTS))?;
    Ok(())
}

/// One event of a fan-out batch: what the filter looks at.
struct Fanned {
    sequence: u64,
    id: EventId,
    /// `None`: a type this build cannot read.
    event_type: Option<EventType>,
    organization_id: Option<OrganizationId>,
}

/// Fans the endpoint `id` out by up to `batch` events, in the caller's transaction.
fn fan_out_endpoint(
    tx: &Transaction<'_>,
    id: WebhookEndpointId,
    now: DateTime<Utc>,
    batch: u32,
) -> StoreResult<u64> {
    let endpoint = match endpoint_in(tx, id) {
        Ok(endpoint) if endpoint.enabled => endpoint,
        // Deleted or disabled since the list was read.
        Ok(_) | Err(StoreError::NotFound(_)) => return Ok(0),
        Err(e) => return Err(e),
    };
    let events = {
        let mut stmt = tx.prepare_cached(EVENTS_AFTER).map_err(sql("events"))?;
        let after = i64::try_from(endpoint.last_sequence).unwrap_or(i64::MAX);
        rows::query_all(&mut stmt, params![after, batch], "events", |row| {
            let c = Cols::new(row, "events", 0);
            Ok(Fanned {
                sequence: u64::try_from(c.int(0, "sequence")?)
                    .map_err(|_| StoreError::corrupt("events", "column sequence: negative"))?,
                id: EventId::from_uuid(c.uuid(1, "id")?),
                event_type: c.text(2, "type")?.parse().ok(),
                organization_id: c.opt_uuid(3, "organization_id")?.map(OrganizationId::from_uuid),
            })
        })?
    };
    let Some(last) = events.last().map(|e| e.sequence) else { return Ok(0) };
    let mut created = 0;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO webhook_deliveries (id, endpoint_id, event_sequence, status, \
                 attempts, next_attempt_at, created_at) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4) \
                 ON CONFLICT (endpoint_id, event_sequence) DO NOTHING",
            )
            .map_err(sql(DELIVERIES))?;
        for event in events.iter().filter(|e| {
            e.event_type.is_some_and(|event_type| endpoint.wants(event_type, e.organization_id))
        }) {
            let delivery_id = DeliveryId::of(id, event.id);
            created += insert
                .execute(params![
                    uuid_blob(delivery_id.as_uuid()),
                    uuid_blob(id.as_uuid()),
                    i64::try_from(event.sequence).unwrap_or(i64::MAX),
                    micros(now),
                ])
                .map_err(sql(DELIVERIES))? as u64;
        }
    }
    tx.prepare_cached("UPDATE webhook_endpoints SET last_sequence = ?2 WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.execute(params![uuid_blob(id.as_uuid()), i64::try_from(last).unwrap_or(i64::MAX)])
        })
        .map_err(sql(ENDPOINTS))?;
    Ok(created)
}

/// What one round of a claim found: the deliveries to lease, and those that cannot be sent
/// (their id and why).
type ClaimRound = (Vec<ClaimedDelivery>, Vec<(DeliveryId, String)>);

/// Selects up to `limit` claimable deliveries, in the caller's transaction.
fn claimable(tx: &Transaction<'_>, now: DateTime<Utc>, limit: usize) -> StoreResult<ClaimRound> {
    let mut stmt = tx.prepare_cached(CLAIMABLE).map_err(sql(DELIVERIES))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut claimed = Vec::new();
    let mut unsendable = Vec::new();
    let rows = rows::query_all(&mut stmt, params![micros(now), limit], DELIVERIES, |row| {
        let own = delivery_row(row)?;
        let at = DELIVERY_COLUMN_COUNT + EVENT_COLUMN_COUNT;
        let c = Cols::new(row, ENDPOINTS, at);
        let url = c.text(0, "url")?.to_owned();
        let secrets = c.text(1, "secrets")?.to_owned();
        let event = if Cols::new(row, "events", DELIVERY_COLUMN_COUNT).is_null(0)? {
            Err(webhook::EVENT_PURGED.to_owned())
        } else {
            event_at(row, DELIVERY_COLUMN_COUNT)
                .map_err(|e| format!("the event cannot be read: {e}"))
        };
        Ok((own, url, secrets, event))
    })?;
    for (own, url, secrets, event) in rows {
        match event {
            Ok(event) => {
                let delivery = own.into_delivery(event)?;
                let secrets = webhook::live_secrets(&secrets, now)?;
                claimed.push(ClaimedDelivery { delivery, url, secrets });
            }
            Err(why) => unsendable.push((DeliveryId::from_uuid(own.id), why)),
        }
    }
    Ok((claimed, unsendable))
}

#[async_trait]
impl WebhookRepository for SqliteStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        let mut stored = endpoint.clone();
        self.write(ENDPOINTS, |tx| {
            let last: i64 = tx
                .prepare_cached("SELECT coalesce(max(sequence), 0) FROM events")
                .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                .map_err(sql("events"))?;
            stored.last_sequence = u64::try_from(last)
                .map_err(|_| StoreError::corrupt("events", "column sequence: negative"))?;
            let values = bind(&stored)?;
            tx.prepare_cached(concat!(
                "INSERT INTO webhook_endpoints (",
                endpoint_columns!(""),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))
            .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
            .map_err(sql(ENDPOINTS))?;
            Ok(())
        })
        .await?;
        Ok(stored)
    }

    async fn get_endpoint(&self, id: WebhookEndpointId) -> StoreResult<WebhookEndpoint> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    endpoint_columns!(""),
                    " FROM webhook_endpoints WHERE id = ?1"
                ))
                .map_err(sql(ENDPOINTS))?;
            rows::query_opt(&mut stmt, [uuid_blob(id.as_uuid())], ENDPOINTS, endpoint)?
                .ok_or(StoreError::NotFound(Entity::WebhookEndpoint))
        })
    }

    async fn list_endpoints(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    endpoint_columns!(""),
                    " FROM webhook_endpoints ORDER BY created_at, id"
                ))
                .map_err(sql(ENDPOINTS))?;
            rows::query_all(&mut stmt, [], ENDPOINTS, endpoint)
        })
    }

    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        update: &EndpointUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        self.write(ENDPOINTS, |tx| {
            // Read, change and write back in the one writer's transaction: no other write comes
            // in between.
            let mut endpoint = endpoint_in(tx, id)?;
            update.apply_to(&mut endpoint, now);
            write_endpoint(tx, &endpoint)?;
            Ok(endpoint)
        })
        .await
    }

    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StoreResult<()> {
        // Its deliveries go with it (ON DELETE CASCADE), maybe many: on the blocking pool.
        self.write_blocking(ENDPOINTS, move |tx| {
            let changed = tx
                .prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute([uuid_blob(id.as_uuid())]))
                .map_err(sql(ENDPOINTS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::WebhookEndpoint));
            }
            Ok(())
        })
        .await
    }

    async fn rotate_endpoint_secret(
        &self,
        id: WebhookEndpointId,
        new: EndpointSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        self.write(ENDPOINTS, |tx| {
            let mut endpoint = endpoint_in(tx, id)?;
            endpoint.secrets = endpoint.rotated_secrets(new, old_expires_at, now);
            endpoint.updated_at = now;
            write_endpoint(tx, &endpoint)?;
            Ok(endpoint)
        })
        .await
    }

    async fn disable_endpoint(
        &self,
        id: WebhookEndpointId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let reason = webhook::bounded(reason);
        self.write(ENDPOINTS, |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?2, \
                     updated_at = ?3 WHERE id = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![uuid_blob(id.as_uuid()), reason, micros(now)])
                })
                .map_err(sql(ENDPOINTS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::WebhookEndpoint));
            }
            Ok(())
        })
        .await
    }

    async fn fan_out(&self, now: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        let ids = self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id FROM webhook_endpoints WHERE enabled = 1 ORDER BY created_at, id",
                )
                .map_err(sql(ENDPOINTS))?;
            rows::query_all(&mut stmt, [], ENDPOINTS, |row| {
                Ok(WebhookEndpointId::from_uuid(Cols::new(row, ENDPOINTS, 0).uuid(0, "id")?))
            })
        })?;
        let mut created = 0;
        for id in ids {
            created += self
                .write_blocking(DELIVERIES, move |tx| fan_out_endpoint(tx, id, now, batch))
                .await?;
        }
        Ok(created)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let lease_until = micros(webhook::lease_until(now, lease));
        self.write(DELIVERIES, |tx| {
            let mut claimed: Vec<ClaimedDelivery> = Vec::new();
            // Deliveries that cannot be sent are made dead, which leaves room for more: select
            // again until the claim is full or nothing unsendable came up.
            loop {
                let (round, unsendable) = claimable(tx, now, limit as usize - claimed.len())?;
                {
                    let mut lease = tx
                        .prepare_cached(
                            "UPDATE webhook_deliveries SET lease_until = ?2 WHERE id = ?1",
                        )
                        .map_err(sql(DELIVERIES))?;
                    for claim in &round {
                        lease
                            .execute(params![uuid_blob(claim.delivery.id.as_uuid()), lease_until])
                            .map_err(sql(DELIVERIES))?;
                    }
                    let mut dead = tx
                        .prepare_cached(
                            "UPDATE webhook_deliveries SET status = 'dead', last_error = ?2, \
                             lease_until = NULL WHERE id = ?1",
                        )
                        .map_err(sql(DELIVERIES))?;
                    for (id, why) in &unsendable {
                        dead.execute(params![uuid_blob(id.as_uuid()), webhook::bounded(why)])
                            .map_err(sql(DELIVERIES))?;
                    }
                }
                claimed.extend(round);
                if unsendable.is_empty() || claimed.len() >= limit as usize {
                    return Ok(claimed);
                }
            }
        })
        .await
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let outcome = record.outcome();
        self.write(DELIVERIES, |tx| {
            let found = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT status, endpoint_id FROM webhook_deliveries WHERE id = ?1",
                    )
                    .map_err(sql(DELIVERIES))?;
                rows::query_opt(&mut stmt, [uuid_blob(id.as_uuid())], DELIVERIES, |row| {
                    let c = Cols::new(row, DELIVERIES, 0);
                    Ok((c.text(0, "status")?.to_owned(), c.uuid(1, "endpoint_id")?))
                })?
            };
            let (status, endpoint_id) =
                found.ok_or(StoreError::NotFound(Entity::WebhookDelivery))?;
            if status == DeliveryStatus::Delivered.as_str() {
                return Ok(());
            }
            tx.prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?2, \
                 next_attempt_at = coalesce(?3, next_attempt_at), lease_until = NULL, \
                 last_attempt_at = ?4, last_status = ?5, last_error = ?6 WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    uuid_blob(id.as_uuid()),
                    outcome.status.as_str(),
                    outcome.next_attempt_at.map(micros),
                    micros(now),
                    outcome.last_status,
                    outcome.last_error,
                ])
            })
            .map_err(sql(DELIVERIES))?;
            // Conditional, so that a healthy endpoint's row is not rewritten on every success.
            let endpoint = uuid_blob(&endpoint_id);
            match outcome.endpoint {
                EndpointEffect::Recovered => tx
                    .prepare_cached(
                        "UPDATE webhook_endpoints SET failing_since = NULL \
                         WHERE id = ?1 AND failing_since IS NOT NULL",
                    )
                    .and_then(|mut stmt| stmt.execute(params![endpoint])),
                EndpointEffect::Failing => tx
                    .prepare_cached(
                        "UPDATE webhook_endpoints SET failing_since = ?2 \
                         WHERE id = ?1 AND failing_since IS NULL",
                    )
                    .and_then(|mut stmt| stmt.execute(params![endpoint, micros(now)])),
                EndpointEffect::Gone => tx
                    .prepare_cached(
                        "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?3, \
                         updated_at = ?2, failing_since = coalesce(failing_since, ?2) \
                         WHERE id = ?1",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![endpoint, micros(now), webhook::GONE_REASON])
                    }),
            }
            .map_err(sql(ENDPOINTS))?;
            Ok(())
        })
        .await
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let endpoint_id = filter.endpoint_id.map(|id| uuid_blob(id.as_uuid()).to_vec());
        let status = filter.status.map(DeliveryStatus::as_str);
        let after = filter.after.map(|id| uuid_blob(id.as_uuid()).to_vec());
        self.read(|conn| {
            // Every filter is a parameter that may be NULL: one cached statement for all,
            // scanning in id order.
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM webhook_deliveries d JOIN events ev ON ev.sequence = d.event_sequence \
                     WHERE (?1 IS NULL OR d.endpoint_id = ?1) AND (?2 IS NULL OR d.status = ?2) \
                     AND (?3 IS NULL OR d.id > ?3) ORDER BY d.id LIMIT ?4"
                ))
                .map_err(sql(DELIVERIES))?;
            rows::query_all(
                &mut stmt,
                params![endpoint_id, status, after, limit],
                DELIVERIES,
                delivery,
            )
        })
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
        self.write(DELIVERIES, |tx| {
            let mut found = {
                let mut stmt = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        delivery_columns!(),
                        " FROM webhook_deliveries d \
                         JOIN events ev ON ev.sequence = d.event_sequence WHERE d.id = ?1"
                    ))
                    .map_err(sql(DELIVERIES))?;
                rows::query_opt(&mut stmt, [uuid_blob(id.as_uuid())], DELIVERIES, delivery)?
                    .ok_or(StoreError::NotFound(Entity::WebhookDelivery))?
            };
            if found.status != DeliveryStatus::Delivered {
                tx.prepare_cached(
                    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?2 \
                     WHERE id = ?1",
                )
                .and_then(|mut stmt| stmt.execute(params![uuid_blob(id.as_uuid()), micros(now)]))
                .map_err(sql(DELIVERIES))?;
                found.status = DeliveryStatus::Pending;
                found.next_attempt_at = now;
            }
            Ok(found)
        })
        .await
    }

    async fn backlog(&self, now: DateTime<Utc>) -> StoreResult<Backlog> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(BACKLOG).map_err(sql(DELIVERIES))?;
            let found = rows::query_opt(&mut stmt, [micros(now)], DELIVERIES, |row| {
                let c = Cols::new(row, DELIVERIES, 0);
                Ok(Backlog {
                    pending: u64::try_from(c.int(0, "count")?).unwrap_or_default(),
                    oldest_pending_at: c.opt_time(1, "next_attempt_at")?,
                })
            })?;
            Ok(found.unwrap_or(Backlog { pending: 0, oldest_pending_at: None }))
        })
    }
}
