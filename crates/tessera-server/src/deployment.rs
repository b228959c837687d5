//! The deployment's identity: a project id and an API secret, created on first start.
//!
//! The secret is printed once, when it is created; the store keeps only its SHA-256. Several
//! nodes starting at once on one store agree on one deployment (the store's first writer wins).

use std::sync::Arc;

use chrono::Utc;
use rand::{TryRngCore, rngs::OsRng};
use sha2::{Digest, Sha256};
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

/// A new random API secret (the OS CSPRNG; 40 base62 characters and a checksum).
pub fn new_secret() -> Result<SessionToken, String> {
    let prefix = TokenPrefix::parse(SECRET_PREFIX).map_err(|e| e.to_string())?;
    let mut rng = OsRng.unwrap_err();
    Ok(SessionToken::generate(&prefix, &mut rng))
}

pub fn hash_secret(secret: &SessionToken) -> [u8; 32] {
    Sha256::digest(secret.expose().as_bytes()).into()
}

/// Loads the deployment, creating it on first start.
pub async fn bootstrap(store: &Store) -> Result<Bootstrap, String> {
    let unavailable = |e: tessera_store::StoreError| format!("cannot read the deployment: {e}");
    if let Some(existing) = store.deployment.get_deployment().await.map_err(unavailable)? {
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
    let stored = store.deployment.init_deployment(&candidate).await.map_err(unavailable)?;
    if stored.project_id == candidate.project_id {
        Ok(Bootstrap::Created { credentials: credentials(&stored), secret })
    } else {
        // Another node won the race: its secret was printed there.
        Ok(Bootstrap::Existing(credentials(&stored)))
    }
}

fn credentials(deployment: &Deployment) -> Arc<ProjectCredentials> {
    Arc::new(ProjectCredentials::new(deployment.project_id.clone(), deployment.secret_hash))
}
