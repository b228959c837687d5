//! [`DeploymentRepository`] for SQLite: one row in `deployment`, whose key can only be 1.

use async_trait::async_trait;
use rusqlite::params;
use tessera_core::EventRecord;

use super::{
    SqliteStore,
    errors::sql,
    events,
    rows::{self, DEPLOYMENT, micros},
};
use crate::{
    deployment::Deployment,
    error::{Entity, StoreError, StoreResult},
    repository::DeploymentRepository,
};

const SELECT: &str =
    "SELECT project_id, secret_hash, created_at FROM deployment WHERE singleton = 1";

#[async_trait]
impl DeploymentRepository for SqliteStore {
    async fn get_deployment(&self) -> StoreResult<Option<Deployment>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(SELECT).map_err(sql(DEPLOYMENT))?;
            rows::query_opt(&mut stmt, [], DEPLOYMENT, rows::deployment)
        })
    }

    async fn init_deployment(&self, candidate: &Deployment) -> StoreResult<Deployment> {
        // The insert and the read share one `BEGIN IMMEDIATE` transaction: whichever writer
        // (of this process or another one on the file) gets the write lock first stores its
        // candidate, and every writer reads back that one.
        self.write(DEPLOYMENT, |tx| {
            tx.prepare_cached(
                "INSERT INTO deployment (singleton, project_id, secret_hash, created_at) \
                 VALUES (1, ?1, ?2, ?3) ON CONFLICT (singleton) DO NOTHING",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    candidate.project_id,
                    candidate.secret_hash.as_slice(),
                    micros(candidate.created_at)
                ])
            })
            .map_err(sql(DEPLOYMENT))?;
            let mut stmt = tx.prepare_cached(SELECT).map_err(sql(DEPLOYMENT))?;
            rows::query_opt(&mut stmt, [], DEPLOYMENT, rows::deployment)?.ok_or_else(|| {
                StoreError::corrupt(DEPLOYMENT, "no deployment row after storing one")
            })
        })
        .await
    }

    async fn set_deployment_secret(
        &self,
        secret_hash: &[u8; 32],
        events: &[EventRecord],
    ) -> StoreResult<()> {
        self.write(DEPLOYMENT, |tx| {
            let changed = tx
                .prepare_cached("UPDATE deployment SET secret_hash = ?1 WHERE singleton = 1")
                .and_then(|mut stmt| stmt.execute([secret_hash.as_slice()]))
                .map_err(sql(DEPLOYMENT))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::Deployment));
            }
            events::append(tx, events)
        })
        .await
    }
}
