//! [`WebhookRepository`] on PostgreSQL: many nodes share the work without stepping on each
//! other.
//!
//! - **Fan-out**: one transaction per endpoint, which takes the endpoint's row
//!   `FOR UPDATE SKIP LOCKED`: an endpoint another node is fanning out is skipped rather than
//!   waited for, and its cursor never moves twice at once. The events after the cursor are read
//!   in sequence order (commit order, see migration 0005: a reader never skips one that commits
//!   late), filtered by [`WebhookEndpoint::wants`], and inserted in one statement with
//!   `ON CONFLICT (endpoint_id, event_sequence) DO NOTHING`.
//! - **Claims**: one `UPDATE … FROM (SELECT … FOR UPDATE OF d SKIP LOCKED)` that selects the due
//!   deliveries, leases them and returns them joined with their endpoint and event. Concurrent
//!   claims skip each other's rows; a row another claim leased and committed meanwhile is
//!   re-checked against the newest version (Read Committed's re-evaluation), whose live lease
//!   excludes it.
//! - **Records** lock the delivery, then touch the endpoint only when its `failing_since`
//!   changes, so that a busy healthy endpoint's row is not locked by every success (a fan-out
//!   would skip it).

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgConnection, PgRow};
use tessera_core::{EventId, EventType, OrganizationId};
use uuid::Uuid;

use super::{PostgresStore, errors::query_error, events::event_row, rows};
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
const EVENTS: &str = "events";

/// The new endpoint's cursor is the event counter as committed: it gets what commits later.
const CREATE_ENDPOINT: &str = "INSERT INTO webhook_endpoints (id, url, description, \
     event_types, organization_id, enabled, disabled_reason, secrets, created_at, updated_at, \
     failing_since, last_sequence) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, last FROM event_sequence \
     RETURNING last_sequence";

const UPDATE_ENDPOINT: &str = "UPDATE webhook_endpoints SET url = $2, description = $3, \
     event_types = $4, organization_id = $5, enabled = $6, disabled_reason = $7, \
     secrets = $8::jsonb, updated_at = $9, failing_since = $10 WHERE id = $1";

const EVENTS_AFTER: &str = "SELECT sequence, id, type, organization_id FROM events \
     WHERE sequence > $1 ORDER BY sequence LIMIT $2";

const INSERT_DELIVERIES: &str = "INSERT INTO webhook_deliveries (id, endpoint_id, \
     event_sequence, status, attempts, next_attempt_at, created_at) \
     SELECT d.id, $1, d.sequence, 'pending', 0, $4, $4 \
     FROM unnest($2::uuid[], $3::bigint[]) AS d(id, sequence) \
     ON CONFLICT (endpoint_id, event_sequence) DO NOTHING";

/// Selects, leases and returns the due deliveries (`$1` now, `$2` the lease's end, `$3` the
/// limit); the event is left-joined, so that a delivery whose event was purged comes back too
/// (with null `ev_*` columns) and is made dead.
const CLAIM: &str = concat!(
    "WITH due AS (SELECT d.id, d.endpoint_id, d.event_sequence FROM webhook_deliveries d \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
     AND (d.lease_until IS NULL OR d.lease_until <= $1) AND e.enabled \
     ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
     UPDATE webhook_deliveries d SET lease_until = $2 \
     FROM due JOIN webhook_endpoints e ON e.id = due.endpoint_id \
     LEFT JOIN events ev ON ev.sequence = due.event_sequence \
     WHERE d.id = due.id RETURNING ",
    webhook_delivery_columns!(),
    ", e.url AS e_url, e.secrets::text AS e_secrets"
);

const DEAD_UNSENDABLE: &str = "UPDATE webhook_deliveries SET status = 'dead', last_error = $2, \
     lease_until = NULL WHERE id = $1";

const RECORD: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, \
     next_attempt_at = COALESCE($3, next_attempt_at), lease_until = NULL, last_attempt_at = $4, \
     last_status = $5, last_error = $6 WHERE id = $1";

/// Every filter is a parameter that may be NULL, so that one cached statement serves them all;
/// the scan follows the primary key.
const LIST_DELIVERIES: &str = concat!(
    "SELECT ",
    webhook_delivery_columns!(),
    " FROM webhook_deliveries d JOIN events ev ON ev.sequence = d.event_sequence \
     WHERE ($1::uuid IS NULL OR d.endpoint_id = $1) AND ($2::text IS NULL OR d.status = $2) \
     AND ($3::uuid IS NULL OR d.id > $3) ORDER BY d.id LIMIT $4"
);

/// An endpoint from [`webhook_endpoint_columns!`].
fn endpoint(row: &PgRow) -> StoreResult<WebhookEndpoint> {
    let t = ENDPOINTS;
    EndpointRow {
        id: rows::get(row, t, "e_id")?,
        url: rows::get(row, t, "e_url")?,
        description: rows::get(row, t, "e_description")?,
        event_types: rows::get(row, t, "e_event_types")?,
        organization_id: rows::get(row, t, "e_organization_id")?,
        enabled: rows::get(row, t, "e_enabled")?,
        disabled_reason: rows::get(row, t, "e_disabled_reason")?,
        secrets: rows::get(row, t, "e_secrets")?,
        created_at: rows::get(row, t, "e_created_at")?,
        updated_at: rows::get(row, t, "e_updated_at")?,
        failing_since: rows::get(row, t, "e_failing_since")?,
        last_sequence: rows::get(row, t, "e_last_sequence")?,
    }
    .into_endpoint()
}

/// The delivery's own columns of a [`webhook_delivery_columns!`] row.
fn delivery_row(row: &PgRow) -> StoreResult<DeliveryRow> {
    let t = DELIVERIES;
    Ok(DeliveryRow {
        id: rows::get(row, t, "d_id")?,
        endpoint_id: rows::get(row, t, "d_endpoint_id")?,
        status: rows::get(row, t, "d_status")?,
        attempts: i64::from(rows::get::<i32>(row, t, "d_attempts")?),
        next_attempt_at: rows::get(row, t, "d_next_attempt_at")?,
        last_attempt_at: rows::get(row, t, "d_last_attempt_at")?,
        last_status: rows::get::<Option<i32>>(row, t, "d_last_status")?.map(i64::from),
        last_error: rows::get(row, t, "d_last_error")?,
        created_at: rows::get(row, t, "d_created_at")?,
    })
}

/// A whole [`webhook_delivery_columns!`] row whose event is there (an inner join).
fn delivery(row: &PgRow) -> StoreResult<Delivery> {
    delivery_row(row)?.into_delivery(event_row(row, "ev_")?.into_event()?)
}

/// What a claim does with one of the rows it leased: hand it out, or make it dead (why).
fn claimed(row: &PgRow, now: DateTime<Utc>) -> StoreResult<Result<ClaimedDelivery, String>> {
    let own = delivery_row(row)?;
    if rows::get::<Option<i64>>(row, EVENTS, "ev_sequence")?.is_none() {
        return Ok(Err(webhook::EVENT_PURGED.to_owned()));
    }
    let event = match event_row(row, "ev_").and_then(|e| e.into_event()) {
        Ok(event) => event,
        Err(e) => return Ok(Err(format!("the event cannot be read: {e}"))),
    };
    let secrets: String = rows::get(row, ENDPOINTS, "e_secrets")?;
    Ok(Ok(ClaimedDelivery {
        delivery: own.into_delivery(event)?,
        url: rows::get(row, ENDPOINTS, "e_url")?,
        secrets: webhook::live_secrets(&secrets, now)?,
    }))
}

/// `u64` ↔ `bigint` (sequences are far below `i64::MAX`).
fn bigint(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// The endpoint `id`, locked for the rest of `tx` (`FOR UPDATE`).
    async fn locked_endpoint(
        &self,
        tx: &mut PgConnection,
        id: WebhookEndpointId,
        doing: &'static str,
    ) -> StoreResult<WebhookEndpoint> {
        let row = self
            .query(concat!(
                "SELECT ",
                webhook_endpoint_columns!(),
                " FROM webhook_endpoints e WHERE e.id = $1 FOR UPDATE"
            ))
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(doing, e))?;
        match row {
            Some(row) => endpoint(&row),
            None => Err(StoreError::NotFound(Entity::WebhookEndpoint)),
        }
    }

    /// Writes every column of `endpoint` but its id, creation time and cursor.
    async fn write_endpoint(
        &self,
        tx: &mut PgConnection,
        endpoint: &WebhookEndpoint,
        doing: &'static str,
    ) -> StoreResult<()> {
        let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
        self.query(UPDATE_ENDPOINT)
            .bind(endpoint.id.as_uuid())
            .bind(&endpoint.url)
            .bind(&endpoint.description)
            .bind(types)
            .bind(endpoint.organization_id.map(|id| *id.as_uuid()))
            .bind(endpoint.enabled)
            .bind(&endpoint.disabled_reason)
            .bind(webhook::secrets_json(&endpoint.secrets)?)
            .bind(endpoint.updated_at)
            .bind(endpoint.failing_since)
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(doing, e))?;
        Ok(())
    }

    /// Fans the endpoint `id` out by up to `batch` events, in a transaction of its own; 0 if
    /// another node holds it, or it was disabled or deleted meanwhile.
    async fn fan_out_endpoint(
        &self,
        id: WebhookEndpointId,
        now: DateTime<Utc>,
        batch: u32,
    ) -> StoreResult<u64> {
        const DOING: &str = "fan events out to a webhook endpoint";
        let mut tx = self.begin(DOING).await?;
        let row = self
            .query(concat!(
                "SELECT ",
                webhook_endpoint_columns!(),
                " FROM webhook_endpoints e WHERE e.id = $1 AND e.enabled FOR UPDATE SKIP LOCKED"
            ))
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        // Dropping `tx` rolls back.
        let Some(row) = row else { return Ok(0) };
        let endpoint = endpoint(&row)?;
        let events = self
            .query(EVENTS_AFTER)
            .bind(bigint(endpoint.last_sequence))
            .bind(i64::from(batch))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let mut last = None;
        let mut ids = Vec::new();
        let mut sequences = Vec::new();
        for row in &events {
            let sequence: i64 = rows::get(row, EVENTS, "sequence")?;
            let event_id: Uuid = rows::get(row, EVENTS, "id")?;
            let event_type: String = rows::get(row, EVENTS, "type")?;
            let organization_id: Option<Uuid> = rows::get(row, EVENTS, "organization_id")?;
            last = Some(sequence);
            let wanted = event_type.parse::<EventType>().is_ok_and(|event_type| {
                endpoint.wants(event_type, organization_id.map(OrganizationId::from_uuid))
            });
            if wanted {
                ids.push(*DeliveryId::of(id, EventId::from_uuid(event_id)).as_uuid());
                sequences.push(sequence);
            }
        }
        let Some(last) = last else { return Ok(0) };
        let created = if ids.is_empty() {
            0
        } else {
            self.query(INSERT_DELIVERIES)
                .bind(id.as_uuid())
                .bind(ids)
                .bind(sequences)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| query_error(DOING, e))?
                .rows_affected()
        };
        self.query("UPDATE webhook_endpoints SET last_sequence = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(created)
    }
}

#[async_trait]
impl WebhookRepository for PostgresStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<WebhookEndpoint> {
        const DOING: &str = "create a webhook endpoint";
        let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
        let mut conn = self.conn(DOING).await?;
        let last: i64 = self
            .query_scalar(CREATE_ENDPOINT)
            .bind(endpoint.id.as_uuid())
            .bind(&endpoint.url)
            .bind(&endpoint.description)
            .bind(types)
            .bind(endpoint.organization_id.map(|id| *id.as_uuid()))
            .bind(endpoint.enabled)
            .bind(&endpoint.disabled_reason)
            .bind(webhook::secrets_json(&endpoint.secrets)?)
            .bind(endpoint.created_at)
            .bind(endpoint.updated_at)
            .bind(endpoint.failing_since)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        let last_sequence = u64::try_from(last)
            .map_err(|_| StoreError::corrupt("event_sequence", "column `last` is negative"))?;
        Ok(WebhookEndpoint { last_sequence, ..endpoint.clone() })
    }

    async fn get_endpoint(&self, id: WebhookEndpointId) -> StoreResult<WebhookEndpoint> {
        const DOING: &str = "read a webhook endpoint";
        let mut conn = self.conn(DOING).await?;
        let row = self
            .query(concat!(
                "SELECT ",
                webhook_endpoint_columns!(),
                " FROM webhook_endpoints e WHERE e.id = $1"
            ))
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        match row {
            Some(row) => endpoint(&row),
            None => Err(StoreError::NotFound(Entity::WebhookEndpoint)),
        }
    }

    async fn list_endpoints(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        const DOING: &str = "list webhook endpoints";
        let mut conn = self.conn(DOING).await?;
        let found = self
            .query(concat!(
                "SELECT ",
                webhook_endpoint_columns!(),
                " FROM webhook_endpoints e ORDER BY e.created_at, e.id"
            ))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        found.iter().map(endpoint).collect()
    }

    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        update: &EndpointUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        const DOING: &str = "update a webhook endpoint";
        // Locked, changed and written back in one transaction: a concurrent update waits, then
        // changes its fields of the result.
        let mut tx = self.begin(DOING).await?;
        let mut endpoint = self.locked_endpoint(&mut tx, id, DOING).await?;
        update.apply_to(&mut endpoint, now);
        self.write_endpoint(&mut tx, &endpoint, DOING).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(endpoint)
    }

    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StoreResult<()> {
        // Its deliveries go by `ON DELETE CASCADE`.
        const DOING: &str = "delete a webhook endpoint";
        let mut conn = self.conn(DOING).await?;
        let deleted = self
            .query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound(Entity::WebhookEndpoint));
        }
        conn.finish(DOING).await
    }

    async fn rotate_endpoint_secret(
        &self,
        id: WebhookEndpointId,
        new: EndpointSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookEndpoint> {
        const DOING: &str = "rotate a webhook endpoint's secret";
        let mut tx = self.begin(DOING).await?;
        let mut endpoint = self.locked_endpoint(&mut tx, id, DOING).await?;
        endpoint.secrets = endpoint.rotated_secrets(new, old_expires_at, now);
        endpoint.updated_at = now;
        self.write_endpoint(&mut tx, &endpoint, DOING).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(endpoint)
    }

    async fn disable_endpoint(
        &self,
        id: WebhookEndpointId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        const DOING: &str = "disable a webhook endpoint";
        let mut conn = self.conn(DOING).await?;
        let changed = self
            .query(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(id.as_uuid())
            .bind(webhook::bounded(reason))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound(Entity::WebhookEndpoint));
        }
        conn.finish(DOING).await
    }

    async fn fan_out(&self, now: DateTime<Utc>, batch: u32) -> StoreResult<u64> {
        const DOING: &str = "list the webhook endpoints to fan out to";
        let mut conn = self.conn(DOING).await?;
        let ids: Vec<Uuid> = self
            .query_scalar("SELECT id FROM webhook_endpoints WHERE enabled ORDER BY created_at, id")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        let mut created = 0;
        for id in ids {
            created += self.fan_out_endpoint(WebhookEndpointId::from_uuid(id), now, batch).await?;
        }
        Ok(created)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        const DOING: &str = "claim webhook deliveries";
        let lease_until = webhook::lease_until(now, lease);
        let mut conn = self.conn(DOING).await?;
        let mut out: Vec<ClaimedDelivery> = Vec::new();
        // Deliveries that cannot be sent are made dead, which leaves room for more: claim
        // again until the claim is full or nothing unsendable came up. Outside a transaction
        // (session mode) a failure between the two statements leaves such a delivery leased,
        // and the next claim after the lease makes it dead.
        loop {
            let room = i64::from(limit) - i64::try_from(out.len()).unwrap_or(i64::MAX);
            let found = self
                .query(CLAIM)
                .bind(now)
                .bind(lease_until)
                .bind(room)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| query_error(DOING, e))?;
            let mut unsendable = 0;
            for row in &found {
                match claimed(row, now)? {
                    Ok(claim) => out.push(claim),
                    Err(why) => {
                        unsendable += 1;
                        let id: Uuid = rows::get(row, DELIVERIES, "d_id")?;
                        self.query(DEAD_UNSENDABLE)
                            .bind(id)
                            .bind(webhook::bounded(&why))
                            .execute(&mut *conn)
                            .await
                            .map_err(|e| query_error(DOING, e))?;
                    }
                }
            }
            if unsendable == 0 || out.len() >= limit as usize {
                break;
            }
        }
        conn.finish(DOING).await?;
        // `RETURNING` keeps no order: the earliest due first, as selected.
        out.sort_by_key(|c| (c.delivery.next_attempt_at, c.delivery.id));
        Ok(out)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        record: &AttemptRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        const DOING: &str = "record a webhook delivery attempt";
        let outcome = record.outcome();
        let mut tx = self.begin(DOING).await?;
        let found: Option<(String, Uuid)> = self
            .query_as("SELECT status, endpoint_id FROM webhook_deliveries WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let (status, endpoint_id) = found.ok_or(StoreError::NotFound(Entity::WebhookDelivery))?;
        if status == DeliveryStatus::Delivered.as_str() {
            return Ok(());
        }
        self.query(RECORD)
            .bind(id.as_uuid())
            .bind(outcome.status.as_str())
            .bind(outcome.next_attempt_at)
            .bind(now)
            .bind(outcome.last_status.map(i32::from))
            .bind(outcome.last_error)
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        // Conditional, so that a healthy endpoint's row is not locked by every success.
        let endpoint = match outcome.endpoint {
            EndpointEffect::Recovered => self
                .query(
                    "UPDATE webhook_endpoints SET failing_since = NULL \
                     WHERE id = $1 AND failing_since IS NOT NULL",
                )
                .bind(endpoint_id),
            EndpointEffect::Failing => self
                .query(
                    "UPDATE webhook_endpoints SET failing_since = $2 \
                     WHERE id = $1 AND failing_since IS NULL",
                )
                .bind(endpoint_id)
                .bind(now),
            EndpointEffect::Gone => self
                .query(
                    "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, \
                     updated_at = $2, failing_since = COALESCE(failing_since, $2) WHERE id = $1",
                )
                .bind(endpoint_id)
                .bind(now)
                .bind(webhook::GONE_REASON),
        };
        endpoint.execute(&mut *tx).await.map_err(|e| query_error(DOING, e))?;
        tx.commit().await.map_err(|e| query_error(DOING, e))
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        const DOING: &str = "list webhook deliveries";
        let mut conn = self.conn(DOING).await?;
        let found = self
            .query(LIST_DELIVERIES)
            .bind(filter.endpoint_id.map(|id| *id.as_uuid()))
            .bind(filter.status.map(DeliveryStatus::as_str))
            .bind(filter.after.map(|id| *id.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        found.iter().map(delivery).collect()
    }

    async fn retry_delivery(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Delivery> {
        const DOING: &str = "retry a webhook delivery";
        let mut tx = self.begin(DOING).await?;
        let row = self
            .query(concat!(
                "SELECT ",
                webhook_delivery_columns!(),
                " FROM webhook_deliveries d JOIN events ev ON ev.sequence = d.event_sequence \
                 WHERE d.id = $1 FOR UPDATE OF d"
            ))
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let mut found = match row {
            Some(row) => delivery(&row)?,
            None => return Err(StoreError::NotFound(Entity::WebhookDelivery)),
        };
        if found.status != DeliveryStatus::Delivered {
            self.query(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2 \
                 WHERE id = $1",
            )
            .bind(id.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
            found.status = DeliveryStatus::Pending;
            found.next_attempt_at = now;
        }
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(found)
    }

    async fn backlog(&self, now: DateTime<Utc>) -> StoreResult<Backlog> {
        const DOING: &str = "measure the webhook backlog";
        let mut conn = self.conn(DOING).await?;
        let (pending, oldest_pending_at): (i64, Option<DateTime<Utc>>) = self
            .query_as(
                "SELECT count(*), min(d.next_attempt_at) FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.enabled",
            )
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        Ok(Backlog { pending: u64::try_from(pending).unwrap_or_default(), oldest_pending_at })
    }
}
