//! The deployment record (project id and API secret hash) and the store's health: the
//! operations a server needs around the session operations, so that it never reaches past the
//! service into the store.

use tessera_store::Deployment;

use super::SessionService;
use crate::error::ServiceResult;

impl SessionService {
    /// The deployment stored in this service's store, if one was created.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tessera_api::{ServiceConfig, SessionService};
    /// use tessera_store::{Deployment, memory::MemoryStore};
    ///
    /// let service = SessionService::new(MemoryStore::store(), ServiceConfig::new("p"));
    /// assert!(service.deployment().await?.is_none());
    /// let candidate = Deployment {
    ///     project_id: "project-1".into(),
    ///     secret_hash: [7; 32],
    ///     created_at: chrono::Utc::now(),
    /// };
    /// // The first writer wins: a second candidate gets the stored one back.
    /// assert_eq!(service.init_deployment(&candidate).await?, candidate);
    /// let other = Deployment { project_id: "project-2".into(), ..candidate.clone() };
    /// assert_eq!(service.init_deployment(&other).await?.project_id, "project-1");
    /// service.set_api_secret_hash(&[8; 32]).await?;
    /// assert_eq!(service.deployment().await?.unwrap().secret_hash, [8; 32]);
    /// service.check_store_health().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn deployment(&self) -> ServiceResult<Option<Deployment>> {
        Ok(self.shared.store.deployment.get_deployment().await?)
    }

    /// Stores `candidate` unless a deployment exists, and returns the stored one: nodes starting
    /// at once on one store agree on the first writer's.
    pub async fn init_deployment(&self, candidate: &Deployment) -> ServiceResult<Deployment> {
        Ok(self.shared.store.deployment.init_deployment(candidate).await?)
    }

    /// Replaces the API secret's hash (secret rotation): the old secret stops working on every
    /// node at its next credential refresh. `NotFound(Deployment)` if there is no deployment.
    pub async fn set_api_secret_hash(&self, secret_hash: &[u8; 32]) -> ServiceResult<()> {
        let events =
            self.record(tessera_core::EventType::ApiSecretRotated, self.shared.clock.now(), |e| e);
        Ok(self.shared.store.deployment.set_deployment_secret(secret_hash, &events).await?)
    }

    /// Whether the store answers, by its cheapest query (the one-row deployment record): `Ok`
    /// or the store's error. Scans nothing, so a health check every second costs nothing.
    pub async fn check_store_health(&self) -> ServiceResult<()> {
        self.shared.store.deployment.get_deployment().await?;
        Ok(())
    }

    /// The storage backend's name: `memory`, `sqlite`, `postgres` or `custom`.
    pub fn store_backend(&self) -> &'static str {
        self.shared.store.backend()
    }
}
