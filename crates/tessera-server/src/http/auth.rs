//! Server-to-server authentication: HTTP Basic `project_id:secret` (what Stytch's SDKs send) or
//! `Authorization: Bearer <secret>`. The secret is compared as a SHA-256 digest, in constant
//! time; the stored form is that digest, never the secret.

use axum::{
    extract::{Request, State},
    http::header::AUTHORIZATION,
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tessera_api::SessionService;

use super::{AppState, error::ApiError, refresh::Refreshed};

/// The deployment's credentials, as the server checks them. The secret's hash is re-read from
/// the store at most every [`ProjectCredentials::REFRESH`], so `tessera secret rotate` (run next
/// to a running server) takes effect on it within that time, on every node; a secret that does
/// not match triggers a re-read at most every [`ProjectCredentials::RETRY`], so a secret rotated
/// a moment ago works at once. Re-reads are single-flight: a burst of wrong secrets is one store
/// read at most.
pub struct ProjectCredentials {
    pub project_id: String,
    /// SHA-256 of `project_id`, compared in constant time with that of the id a client sends.
    project_id_hash: [u8; 32],
    secret_hash: Refreshed<[u8; 32]>,
}

impl std::fmt::Debug for ProjectCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectCredentials")
            .field("project_id", &self.project_id)
            .field("secret_hash", &"[redacted]")
            .finish()
    }
}

impl ProjectCredentials {
    /// How long a read of the secret's hash is trusted.
    pub const REFRESH: Duration = Duration::from_secs(5);
    /// How often, at most, a secret that does not match re-reads the hash.
    pub const RETRY: Duration = Duration::from_secs(1);

    pub fn new(project_id: impl Into<String>, secret_hash: [u8; 32]) -> Self {
        let project_id = project_id.into();
        let project_id_hash = Sha256::digest(project_id.as_bytes()).into();
        Self { project_id, project_id_hash, secret_hash: Refreshed::fresh(secret_hash) }
    }

    /// Whether `secret` (and `project_id`, when the client sent one) are this deployment's.
    pub fn accepts(&self, project_id: Option<&str>, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let secret_ok: bool = digest.ct_eq(&self.secret_hash.get()).into();
        let project_ok = project_id.is_none_or(|id| {
            let sent: [u8; 32] = Sha256::digest(id.as_bytes()).into();
            bool::from(sent.ct_eq(&self.project_id_hash))
        });
        secret_ok & project_ok
    }

    /// Re-reads the secret's hash if the last read is `max_age` old (one read at a time).
    async fn refresh_if_older(&self, service: &SessionService, max_age: Duration) {
        self.secret_hash
            .refresh_if_older(max_age, || async {
                match service.deployment().await {
                    Ok(Some(deployment)) => Some(deployment.secret_hash),
                    Ok(None) => {
                        tracing::error!("the deployment record is gone from the store");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot re-read the API secret; keeping the cached one");
                        None
                    }
                }
            })
            .await;
    }
}

/// Refuses requests without this deployment's credentials (`unauthorized_credentials`, 401).
pub(super) async fn require_project(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let sent = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_authorization);
    let Some((project_id, secret)) = sent else {
        return ApiError::unauthorized().into_response();
    };
    let credentials = &state.credentials;
    credentials.refresh_if_older(&state.service, ProjectCredentials::REFRESH).await;
    let mut authorized = credentials.accepts(project_id.as_deref(), &secret);
    if !authorized {
        // A secret rotated a moment ago should work at once: re-read, rate-limited.
        credentials.refresh_if_older(&state.service, ProjectCredentials::RETRY).await;
        authorized = credentials.accepts(project_id.as_deref(), &secret);
    }
    if authorized { next.run(request).await } else { ApiError::unauthorized().into_response() }
}

/// `Basic base64(project_id:secret)` or `Bearer secret`.
fn parse_authorization(header: &str) -> Option<(Option<String>, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
        let (project_id, secret) = decoded.split_once(':')?;
        Some((Some(project_id.to_owned()), secret.to_owned()))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some((None, value.to_owned()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> ProjectCredentials {
        ProjectCredentials::new("project-1", Sha256::digest(b"s3cret").into())
    }

    #[test]
    fn basic_and_bearer() {
        let basic = format!("Basic {}", STANDARD.encode("project-1:s3cret"));
        let (id, secret) = parse_authorization(&basic).unwrap();
        assert!(credentials().accepts(id.as_deref(), &secret));
        let (id, secret) = parse_authorization("Bearer s3cret").unwrap();
        assert!(credentials().accepts(id.as_deref(), &secret));
    }

    #[test]
    fn wrong_secret_or_project_is_refused() {
        let creds = credentials();
        assert!(!creds.accepts(Some("project-1"), "wrong"));
        assert!(!creds.accepts(Some("project-2"), "s3cret"));
        assert!(parse_authorization("Digest abc").is_none());
        assert!(parse_authorization(&format!("Basic {}", STANDARD.encode("no-colon"))).is_none());
        assert!(parse_authorization("Basic !!!").is_none());
        assert!(format!("{creds:?}").contains("redacted"));
    }
}
