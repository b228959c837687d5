//! [`DeploymentRepository`] on PostgreSQL: one row in `deployment`, whose key can only be 1.

use async_trait::async_trait;

use super::{
    PostgresStore,
    errors::query_error,
    rows::{self, DEPLOYMENT},
};
use crate::{
    deployment::Deployment,
    error::{Entity, StoreError, StoreResult},
    repository::DeploymentRepository,
};

const SELECT: &str =
    "SELECT project_id, secret_hash, created_at FROM deployment WHERE singleton = 1";

#[async_trait]
impl DeploymentRepository for PostgresStore {
    async fn get_deployment(&self) -> StoreResult<Option<Deployment>> {
        const DOING: &str = "read the deployment";
        let mut conn = self.conn(DOING).await?;
        let row = self
            .query(SELECT)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        row.as_ref().map(rows::deployment).transpose()
    }

    async fn init_deployment(&self, candidate: &Deployment) -> StoreResult<Deployment> {
        // An insert that meets a row being inserted by a concurrent transaction waits for that
        // transaction to end, then does nothing if it committed. So when this statement returns
        // without a row, the winner's row is committed, and the next statement (a new snapshot
        // under Read Committed) reads it.
        const DOING: &str = "store the deployment";
        let mut conn = self.conn(DOING).await?;
        let inserted = self
            .query(
                "INSERT INTO deployment (singleton, project_id, secret_hash, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (singleton) DO NOTHING \
             RETURNING project_id, secret_hash, created_at",
            )
            .bind(&candidate.project_id)
            .bind(candidate.secret_hash.as_slice())
            .bind(candidate.created_at)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        if let Some(row) = inserted {
            return rows::deployment(&row);
        }
        self.get_deployment().await?.ok_or_else(|| {
            StoreError::corrupt(DEPLOYMENT, "no deployment row after another node stored one")
        })
    }

    async fn set_deployment_secret(
        &self,
        secret_hash: &[u8; 32],
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "replace the deployment secret";
        let mut conn = self.write_conn(DOING, events).await?;
        let result = self
            .query("UPDATE deployment SET secret_hash = $1 WHERE singleton = 1")
            .bind(secret_hash.as_slice())
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Deployment));
        }
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }
}
