//! [`SigningKeyRepository`] on PostgreSQL. Deployment-wide: not scoped by organization.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PostgresStore, errors::query_error, rows};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::SigningKeyRepository,
    signing_key::SigningKey,
};

#[async_trait]
impl SigningKeyRepository for PostgresStore {
    async fn insert_signing_key(
        &self,
        key: &SigningKey,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "store a signing key";
        let mut conn = self.write_conn(DOING, events).await?;
        self.query(
            "INSERT INTO signing_keys \
             (kid, algorithm, private_key_der, public_key_der, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.private_key_der)
        .bind(&key.public_key_der)
        .bind(key.created_at)
        .bind(key.retired_at)
        .execute(&mut *conn)
        .await
        .map_err(|e| query_error(DOING, e))?;
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        const DOING: &str = "list signing keys";
        let mut conn = self.conn(DOING).await?;
        let rows = self
            .query(
                "SELECT kid, algorithm, private_key_der, public_key_der, created_at, retired_at \
                 FROM signing_keys ORDER BY created_at, kid",
            )
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()> {
        const DOING: &str = "retire a signing key";
        let mut conn = self.conn(DOING).await?;
        let result = self
            .query("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL")
            .bind(kid)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::SigningKey));
        }
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        const DOING: &str = "delete a signing key";
        let mut conn = self.conn(DOING).await?;
        let result = self
            .query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::SigningKey));
        }
        Ok(())
    }
}
