//! The deployment's identity: a project id and an API secret, created by the first
//! `tessera serve` on a store, which prints the secret (once: the store keeps only its SHA-256).
//! Operator commands never create it, so that no secret is ever made where nobody sees it; on a
//! store without one they say to run `tessera serve` once. Several nodes starting at once on one
//! store agree on one deployment (the store's first writer wins).
//!
//! Everything here goes through the [`SessionService`]'s deployment operations.

use std::sync::Arc;

use chrono::Utc;
use rand::{TryRngCore, rngs::OsRng};
use sha2::{Digest, Sha256};
use tessera_api::{ServiceConfig, SessionService};
use tessera_core::{SessionToken, TokenPrefix};
use tessera_store::{Deployment, Store};

use crate::http::ProjectCredentials;

/// The prefix of API secrets, so secret scanners can tell them from session tokens.
const SECRET_PREFIX: &str = "tsr_secret_";

/// What start-up found or made.
#[derive(Debug)]
pub enum Bootstrap {
    /// First start: the secret exists only here and must be shown to the operator now.
    Created {
        credentials: Arc<ProjectCredentials>,
        secret: SessionToken,
    },
    Existing(Arc<ProjectCredentials>),
}

impl Bootstrap {
    pub fn credentials(&self) -> &Arc<ProjectCredentials> {
        match self {
            Self::Created { credentials, .. } | Self::Existing(credentials) => credentials,
        }
    }
}

/// A service over `store` for the deployment operations, which do not depend on the service's
/// configuration: what reads or creates the deployment before its project id is known.
pub fn service_for_deployment(store: Store) -> SessionService {
    SessionService::new(store, ServiceConfig::new("tessera-deployment"))
}

/// A new random API secret (the OS CSPRNG; 40 base62 characters and a checksum).
pub fn new_secret() -> Result<SessionToken, String> {
    let prefix = TokenPrefix::parse(SECRET_PREFIX).map_err(|e| e.to_string())?;
    let mut rng = OsRng.unwrap_err();
    Ok(SessionToken::generate(&prefix, &mut rng))
}

pub fn hash_secret(secret: &SessionToken) -> [u8; 32] {
    Sha256::digest(secret.expose().as_bytes()).into()
}

fn unavailable(e: tessera_api::ServiceError) -> String {
    format!("cannot read the deployment: {e}")
}

/// Loads the deployment, creating it if there is none (`tessera serve` only).
pub async fn bootstrap(service: &SessionService) -> Result<Bootstrap, String> {
    if let Some(existing) = service.deployment().await.map_err(unavailable)? {
        return Ok(Bootstrap::Existing(credentials(&existing)));
    }
    let secret = new_secret()?;
    let mut id = [0u8; 16];
    OsRng.try_fill_bytes(&mut id).map_err(|e| format!("the OS random generator failed: {e}"))?;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let candidate = Deployment {
        project_id: format!(
            "project-tessera-{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        ),
        secret_hash: hash_secret(&secret),
        created_at: Utc::now(),
    };
    let stored = service.init_deployment(&candidate).await.map_err(unavailable)?;
    if stored.project_id == candidate.project_id {
        Ok(Bootstrap::Created { credentials: credentials(&stored), secret })
    } else {
        // Another node won the race: its secret was printed there.
        Ok(Bootstrap::Existing(credentials(&stored)))
    }
}

/// What an operator command says on a store without a deployment.
pub const NO_DEPLOYMENT: &str = "this store has no deployment yet: run `tessera serve` once on \
                                 it (with the same --data-dir or --database); it creates the \
                                 project id and the API secret, and prints the secret";

/// The existing deployment's credentials, for operator commands: `None` if there is none.
pub async fn existing(service: &SessionService) -> Result<Option<Arc<ProjectCredentials>>, String> {
    Ok(service.deployment().await.map_err(unavailable)?.as_ref().map(credentials))
}

/// Makes a new API secret and stores its hash; the old secret stops working at once. The
/// returned secret exists only there: print it.
pub async fn rotate_secret(service: &SessionService) -> Result<SessionToken, String> {
    if service.deployment().await.map_err(unavailable)?.is_none() {
        return Err(NO_DEPLOYMENT.to_owned());
    }
    let secret = new_secret()?;
    service.set_api_secret_hash(&hash_secret(&secret)).await.map_err(|e| e.to_string())?;
    Ok(secret)
}

fn credentials(deployment: &Deployment) -> Arc<ProjectCredentials> {
    Arc::new(ProjectCredentials::new(deployment.project_id.clone(), deployment.secret_hash))
}
