//! The deployment record: who this Tessera deployment is, shared by every node on one store.

use std::fmt;

use chrono::{DateTime, Utc};

/// The deployment's identity: one per store.
///
/// Every stateless node on the same database reads the same record, so they all accept the same
/// API credentials. The first node to start stores it ([`init_deployment`]); the others adopt it.
///
/// [`init_deployment`]: crate::DeploymentRepository::init_deployment
#[derive(Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The project id API clients authenticate as.
    pub project_id: String,
    /// SHA-256 of the API secret; the secret itself is never stored.
    pub secret_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deployment")
            .field("project_id", &self.project_id)
            .field("secret_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}
