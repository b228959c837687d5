//! [`SigningKeyRepository`] for SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use tessera_core::EventRecord;

use super::{
    SqliteStore,
    errors::sql,
    events,
    rows::{self, SIGNING_KEYS, micros, signing_key_columns},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::SigningKeyRepository,
    signing_key::SigningKey,
};

#[async_trait]
impl SigningKeyRepository for SqliteStore {
    async fn insert_signing_key(
        &self,
        key: &SigningKey,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        self.write(SIGNING_KEYS, |tx| {
            tx.prepare_cached(concat!(
                "INSERT INTO signing_keys (",
                signing_key_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.kid,
                    key.algorithm,
                    key.private_key_der,
                    key.public_key_der,
                    micros(key.created_at),
                    key.retired_at.map(micros)
                ])
            })
            .map_err(sql(SIGNING_KEYS))?;
            events::append(tx, events)
        })
        .await
    }

    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    signing_key_columns!(),
                    " FROM signing_keys ORDER BY created_at, kid"
                ))
                .map_err(sql(SIGNING_KEYS))?;
            rows::query_all(&mut stmt, [], SIGNING_KEYS, rows::signing_key)
        })
    }

    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.write(SIGNING_KEYS, |tx| {
            // Active: not retired yet.
            let changed = tx
                .prepare_cached(
                    "UPDATE signing_keys SET retired_at = ?1 WHERE kid = ?2 AND retired_at IS NULL",
                )
                .and_then(|mut stmt| stmt.execute(params![micros(at), kid]))
                .map_err(sql(SIGNING_KEYS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::SigningKey));
            }
            Ok(())
        })
        .await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.write(SIGNING_KEYS, |tx| {
            let changed = tx
                .prepare_cached("DELETE FROM signing_keys WHERE kid = ?1")
                .and_then(|mut stmt| stmt.execute([kid]))
                .map_err(sql(SIGNING_KEYS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::SigningKey));
            }
            Ok(())
        })
        .await
    }
}
