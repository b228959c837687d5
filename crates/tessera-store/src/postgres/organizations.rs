//! [`OrganizationRepository`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tessera_core::{
    EventRecord, Organization, OrganizationId, OrganizationRef, OrganizationUpdate,
};

use super::{
    PostgresStore,
    errors::query_error,
    rows::{self, ORGANIZATIONS},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::OrganizationRepository,
    row::{self, organization_columns},
};

/// The `trusted_metadata` column of an organization.
fn metadata(organization: &Organization) -> StoreResult<Value> {
    rows::json_column(
        ORGANIZATIONS,
        "trusted_metadata",
        serde_json::to_value(&organization.trusted_metadata),
    )
}

/// `max_sessions_per_member` as bound (at most `SessionLimit::MAX`, so it fits).
fn max_sessions(organization: &Organization) -> Option<i32> {
    organization.settings.session_limit.map(|l| i32::try_from(l.max_sessions()).unwrap_or(i32::MAX))
}

fn limit_behavior(organization: &Organization) -> Option<&'static str> {
    organization.settings.session_limit.map(|l| l.when_reached.as_str())
}

#[async_trait]
impl OrganizationRepository for PostgresStore {
    async fn create_organization(
        &self,
        organization: &Organization,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "create an organization";
        let lifetime = &organization.settings.lifetime;
        let mut conn = self.write_conn(DOING, events).await?;
        self.query(concat!(
            "INSERT INTO organizations (",
            organization_columns!(""),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(organization.id.as_uuid())
        .bind(organization.slug.as_str())
        .bind(organization.external_id.as_ref().map(|e| e.as_str()))
        .bind(organization.name.as_str())
        .bind(organization.email.as_ref().map(|e| e.as_str()))
        .bind(metadata(organization)?)
        .bind(organization.settings.mfa_policy.as_str())
        .bind(minutes(lifetime.max_lifetime.minutes()))
        .bind(lifetime.idle_timeout.map(|i| minutes(i.minutes())))
        .bind(organization.created_at)
        .bind(organization.updated_at)
        .bind(max_sessions(organization))
        .bind(limit_behavior(organization))
        .execute(&mut *conn)
        .await
        .map_err(|e| query_error(DOING, e))?;
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn get_organization(&self, organization: &OrganizationRef) -> StoreResult<Organization> {
        const DOING: &str = "read an organization";
        let mut conn = self.conn(DOING).await?;
        let row = match organization {
            OrganizationRef::Id(id) => {
                self.query(concat!(
                    "SELECT ",
                    organization_columns!("o."),
                    " FROM organizations o WHERE o.id = $1"
                ))
                .bind(id.as_uuid())
                .fetch_optional(&mut *conn)
                .await
            }
            OrganizationRef::Slug(slug) => {
                self.query(concat!(
                    "SELECT ",
                    organization_columns!("o."),
                    " FROM organizations o WHERE o.slug = $1"
                ))
                .bind(slug.as_str())
                .fetch_optional(&mut *conn)
                .await
            }
        }
        .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        match row {
            Some(row) => row::organization(&row, 0),
            None => Err(StoreError::NotFound(Entity::Organization)),
        }
    }

    async fn update_organization(
        &self,
        organization_id: OrganizationId,
        update: &OrganizationUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Organization> {
        const DOING: &str = "update an organization";
        // The row is locked, changed in the named fields and written back in one transaction:
        // a concurrent update waits for it and then changes its own fields of the result.
        let mut tx = self.begin(DOING).await?;
        let row = self
            .query(concat!(
                "SELECT ",
                organization_columns!("o."),
                " FROM organizations o WHERE o.id = $1 FOR UPDATE"
            ))
            .bind(organization_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let mut organization = match row {
            Some(row) => row::organization(&row, 0)?,
            None => return Err(StoreError::NotFound(Entity::Organization)),
        };
        update.apply_to(&mut organization);
        organization.updated_at = now;
        let lifetime = &organization.settings.lifetime;
        self.query(
            "UPDATE organizations SET slug = $2, external_id = $3, name = $4, email = $5, \
             trusted_metadata = $6, mfa_policy = $7, max_lifetime_minutes = $8, \
             idle_timeout_minutes = $9, updated_at = $10, max_sessions_per_member = $11, \
             session_limit_behavior = $12 \
             WHERE id = $1",
        )
        .bind(organization.id.as_uuid())
        .bind(organization.slug.as_str())
        .bind(organization.external_id.as_ref().map(|e| e.as_str()))
        .bind(organization.name.as_str())
        .bind(organization.email.as_ref().map(|e| e.as_str()))
        .bind(metadata(&organization)?)
        .bind(organization.settings.mfa_policy.as_str())
        .bind(minutes(lifetime.max_lifetime.minutes()))
        .bind(lifetime.idle_timeout.map(|i| minutes(i.minutes())))
        .bind(organization.updated_at)
        .bind(max_sessions(&organization))
        .bind(limit_behavior(&organization))
        .execute(&mut *tx)
        .await
        .map_err(|e| query_error(DOING, e))?;
        self.append(&mut tx, events).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(organization)
    }

    async fn delete_organization(
        &self,
        organization_id: OrganizationId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        // Members go by `ON DELETE CASCADE`, and their sessions with them.
        const DOING: &str = "delete an organization";
        let mut conn = self.write_conn(DOING, events).await?;
        let result = self
            .query("DELETE FROM organizations WHERE id = $1")
            .bind(organization_id.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Organization));
        }
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: u32,
    ) -> StoreResult<Vec<Organization>> {
        const DOING: &str = "list organizations";
        let mut conn = self.conn(DOING).await?;
        let rows = self
            .query(concat!(
                "SELECT ",
                organization_columns!("o."),
                " FROM organizations o \
             WHERE o.id > COALESCE($1, '00000000-0000-0000-0000-000000000000'::uuid) \
             ORDER BY o.id LIMIT $2"
            ))
            .bind(after.map(|id| *id.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        rows.iter().map(|found| row::organization(found, 0)).collect()
    }
}

/// Minutes settings are at most 527 040, well within `integer`.
fn minutes(m: u32) -> i32 {
    i32::try_from(m).unwrap_or(i32::MAX)
}
