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
    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        sqlx::query(
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
        .execute(&self.pool)
        .await
        .map_err(|e| query_error("store a signing key", e))?;
        Ok(())
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, private_key_der, public_key_der, created_at, retired_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| query_error("list signing keys", e))?;
        rows.iter().map(rows::signing_key).collect()
    }

    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL",
        )
        .bind(kid)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| query_error("retire a signing key", e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::SigningKey));
        }
        Ok(())
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(|e| query_error("delete a signing key", e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::SigningKey));
        }
        Ok(())
    }
}
