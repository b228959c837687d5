//! [`OrganizationRepository`] for SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use tessera_core::{
    EventRecord, Organization, OrganizationId, OrganizationRef, OrganizationUpdate,
};

use super::{
    SqliteStore,
    errors::sql,
    events,
    rows::{self, ORGANIZATIONS, json, micros, organization_columns, uuid_blob},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::OrganizationRepository,
};

/// The values bound for `?1..=?13` of an insert, or `?1..=?13` of an update (same order).
fn bind(organization: &Organization) -> StoreResult<[rusqlite::types::Value; 13]> {
    use rusqlite::types::Value as V;
    let settings = &organization.settings;
    let trusted = json(
        ORGANIZATIONS,
        "trusted_metadata",
        serde_json::to_string(&organization.trusted_metadata),
    )?;
    Ok([
        V::Blob(uuid_blob(organization.id.as_uuid()).to_vec()),
        V::Text(organization.slug.as_str().to_owned()),
        organization.external_id.as_ref().map_or(V::Null, |e| V::Text(e.as_str().to_owned())),
        V::Text(organization.name.as_str().to_owned()),
        organization.email.as_ref().map_or(V::Null, |e| V::Text(e.as_str().to_owned())),
        V::Text(trusted),
        V::Text(settings.mfa_policy.as_str().to_owned()),
        V::Integer(i64::from(settings.lifetime.max_lifetime.minutes())),
        settings.lifetime.idle_timeout.map_or(V::Null, |t| V::Integer(i64::from(t.minutes()))),
        V::Integer(micros(organization.created_at)),
        V::Integer(micros(organization.updated_at)),
        settings.session_limit.map_or(V::Null, |l| V::Integer(i64::from(l.max_sessions()))),
        settings.session_limit.map_or(V::Null, |l| V::Text(l.when_reached.as_str().to_owned())),
    ])
}

#[async_trait]
impl OrganizationRepository for SqliteStore {
    async fn create_organization(
        &self,
        organization: &Organization,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let values = bind(organization)?;
        self.write(ORGANIZATIONS, |tx| {
            tx.prepare_cached(concat!(
                "INSERT INTO organizations (",
                organization_columns!(""),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))
            .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
            .map_err(sql(ORGANIZATIONS))?;
            events::append(tx, events)
        })
        .await
    }

    async fn get_organization(&self, organization: &OrganizationRef) -> StoreResult<Organization> {
        self.read(|conn| {
            let found = match organization {
                OrganizationRef::Id(id) => {
                    let mut stmt = conn
                        .prepare_cached(concat!(
                            "SELECT ",
                            organization_columns!(""),
                            " FROM organizations WHERE id = ?1"
                        ))
                        .map_err(sql(ORGANIZATIONS))?;
                    rows::query_opt(&mut stmt, [uuid_blob(id.as_uuid())], ORGANIZATIONS, |row| {
                        rows::organization(row, 0)
                    })?
                }
                OrganizationRef::Slug(slug) => {
                    let mut stmt = conn
                        .prepare_cached(concat!(
                            "SELECT ",
                            organization_columns!(""),
                            " FROM organizations WHERE slug = ?1"
                        ))
                        .map_err(sql(ORGANIZATIONS))?;
                    rows::query_opt(&mut stmt, [slug.as_str()], ORGANIZATIONS, |row| {
                        rows::organization(row, 0)
                    })?
                }
            };
            found.ok_or(StoreError::NotFound(Entity::Organization))
        })
    }

    async fn update_organization(
        &self,
        organization_id: OrganizationId,
        update: &OrganizationUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Organization> {
        self.write(ORGANIZATIONS, |tx| {
            // Read, change the named fields and write back inside the one writer's transaction:
            // no other write can come in between, so a concurrent update of other fields is kept.
            let mut organization = {
                let mut stmt = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        organization_columns!(""),
                        " FROM organizations WHERE id = ?1"
                    ))
                    .map_err(sql(ORGANIZATIONS))?;
                rows::query_opt(
                    &mut stmt,
                    [uuid_blob(organization_id.as_uuid())],
                    ORGANIZATIONS,
                    |row| rows::organization(row, 0),
                )?
                .ok_or(StoreError::NotFound(Entity::Organization))?
            };
            update.apply_to(&mut organization);
            organization.updated_at = now;
            let values = bind(&organization)?;
            // `created_at` (?10, bound but unused) is kept.
            let changed = tx
                .prepare_cached(
                    "UPDATE organizations SET slug = ?2, external_id = ?3, name = ?4, email = ?5, \
                     trusted_metadata = ?6, mfa_policy = ?7, max_lifetime_minutes = ?8, \
                     idle_timeout_minutes = ?9, updated_at = ?11, \
                     max_sessions_per_member = ?12, session_limit_behavior = ?13 \
                     WHERE id = ?1",
                )
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
                .map_err(sql(ORGANIZATIONS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::Organization));
            }
            events::append(tx, events)?;
            Ok(organization)
        })
        .await
    }

    async fn delete_organization(
        &self,
        organization_id: OrganizationId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let events = events.to_vec();
        // The cascade may delete many members and sessions: on the blocking pool, off the async
        // workers that serve requests.
        self.write_blocking(ORGANIZATIONS, move |tx| {
            // Members and their sessions go with it (ON DELETE CASCADE).
            let changed = tx
                .prepare_cached("DELETE FROM organizations WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![uuid_blob(organization_id.as_uuid())]))
                .map_err(sql(ORGANIZATIONS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::Organization));
            }
            events::append(tx, &events)
        })
        .await
    }

    async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: u32,
    ) -> StoreResult<Vec<Organization>> {
        self.read(|conn| match after {
            None => {
                let mut stmt = conn
                    .prepare_cached(concat!(
                        "SELECT ",
                        organization_columns!(""),
                        " FROM organizations ORDER BY id LIMIT ?1"
                    ))
                    .map_err(sql(ORGANIZATIONS))?;
                rows::query_all(&mut stmt, params![limit], ORGANIZATIONS, |row| {
                    rows::organization(row, 0)
                })
            }
            Some(after) => {
                let mut stmt = conn
                    .prepare_cached(concat!(
                        "SELECT ",
                        organization_columns!(""),
                        " FROM organizations WHERE id > ?1 ORDER BY id LIMIT ?2"
                    ))
                    .map_err(sql(ORGANIZATIONS))?;
                rows::query_all(
                    &mut stmt,
                    params![uuid_blob(after.as_uuid()), limit],
                    ORGANIZATIONS,
                    |row| rows::organization(row, 0),
                )
            }
        })
    }
}
