//! `tessera_axum::Authenticator` for [`TesseraClient`]: the same layer over a remote Tessera.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_api::{
    Credential, LocalSession, LocalVerification, views::stytch::AuthenticateResponse,
};
use tessera_axum::{
    Authenticated, Authenticator, AuthenticatorError, CurrentSession, Verification,
};
use tessera_core::{
    AuthenticationFactor, AuthorizationCheck, CustomClaims, ErrorType, OrganizationSlug,
    SessionAttributes, Verdict, rbac::Subject,
};

use crate::{AuthenticateRequest, ClientError, TesseraClient};

impl From<ClientError> for AuthenticatorError {
    fn from(error: ClientError) -> Self {
        let error_type = error.error_type();
        let message = match (&error, error_type) {
            (_, ErrorType::SessionNotFound) => "Session could not be found.".to_owned(),
            (ClientError::Api { message, .. }, _) => message.clone(),
            (ClientError::Jwt(jwt), _) => jwt.to_string(),
            (_, ErrorType::StorageUnavailable) => {
                "The Tessera server is unavailable; retry later.".to_owned()
            }
            _ => "Internal server error.".to_owned(),
        };
        Self { error_type, message }
    }
}

/// The session of an authenticate answer, as the layer sees it (`authenticated` stays `None`:
/// the wire shapes are not the store's types; the member and organization are in the answer).
fn current_session(
    answer: AuthenticateResponse,
    verification: Verification,
    now: DateTime<Utc>,
) -> Result<CurrentSession, AuthenticatorError> {
    let unexpected = |what: &str| AuthenticatorError {
        error_type: ErrorType::InternalServerError,
        message: format!("The Tessera server answered a session with an invalid {what}."),
    };
    let session = answer.member_session;
    let factors = session
        .authentication_factors
        .iter()
        .map(|factor| {
            serde_json::to_value(factor)
                .and_then(serde_json::from_value::<AuthenticationFactor>)
                .map_err(|_| unexpected("authentication factor"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let local = LocalSession {
        session_id: session.member_session_id,
        member_id: session.member_id,
        organization_id: session.organization_id,
        organization_slug: OrganizationSlug::parse(&session.organization_slug)
            .map_err(|_| unexpected("organization slug"))?,
        started_at: session.started_at,
        last_accessed_at: session.last_accessed_at,
        expires_at: session.expires_at,
        attributes: SessionAttributes::default(),
        authentication_factors: factors,
        roles: session.roles,
        custom_claims: CustomClaims::from_stored(serde_json::Value::Object(session.custom_claims))
            .map_err(|_| unexpected("custom claims"))?,
        issued_at: now,
        jwt_expires_at: session.expires_at,
        key_id: String::new(),
        token_generation: 0,
    };
    let mut current = CurrentSession::from_local(local);
    current.verification = verification;
    Ok(current)
}

#[async_trait]
impl Authenticator for TesseraClient {
    async fn verify_jwt_locally(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> Result<LocalSession, AuthenticatorError> {
        Ok(TesseraClient::verify_jwt_locally(self, jwt, options).await?)
    }

    async fn authenticate(
        &self,
        credential: Credential,
        with_jwt: bool,
    ) -> Result<Authenticated, AuthenticatorError> {
        let (request, verification) = match credential {
            Credential::Token(token) => (AuthenticateRequest::token(token), Verification::Token),
            Credential::Jwt(jwt) => (AuthenticateRequest::jwt(jwt), Verification::RemoteJwt),
        };
        let answer = TesseraClient::authenticate(self, request).await?;
        let jwt = (with_jwt && !answer.session_jwt.expose().is_empty())
            .then(|| answer.session_jwt.expose().to_owned());
        Ok(Authenticated { session: current_session(answer, verification, self.now())?, jwt })
    }

    async fn authorize(
        &self,
        subject: &Subject<'_>,
        check: &AuthorizationCheck,
    ) -> Result<Verdict, AuthenticatorError> {
        let policy = self.policy().await?;
        Ok(policy.authorize(subject, check)?)
    }

    fn now(&self) -> DateTime<Utc> {
        TesseraClient::now(self)
    }
}
