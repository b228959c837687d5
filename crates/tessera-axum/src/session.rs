//! [`CurrentSession`]: who is calling, as the layer verified it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use tessera_api::LocalSession;
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, CustomClaims, MemberId, OrganizationId,
    OrganizationSlug, RoleId, SessionId, rbac::Subject,
};

use crate::{AuthRejection, CredentialSource};

/// How the request's session was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verification {
    /// The session JWT's signature and claims, locally, without reading the session: it may have
    /// been revoked by another process since the JWT was minted (at most the JWT lifetime ago).
    LocalJwt,
    /// The session JWT, then the session itself (remote authenticate): live now.
    RemoteJwt,
    /// The opaque session token (remote authenticate): live now.
    Token,
}

/// The request's verified member session: the session, its member and organization, roles,
/// factors and custom claims. Extract it in a handler (a request without a live session is
/// refused with [`AuthRejection`]); extract `Option<CurrentSession>` for routes that also serve
/// anonymous callers (`None` only when no credential is present: a bad one is still refused).
///
/// After a local JWT verification only what the JWT says is known (ids, slug, roles, factors,
/// claims); after a remote one, [`Self::authenticated`] has the whole session, member and
/// organization as stored.
///
/// ```
/// use tessera_axum::CurrentSession;
///
/// async fn whoami(session: CurrentSession) -> String {
///     format!("{} in {}", session.member_id, session.organization_slug)
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(whoami))
/// #     .with_state(tessera_axum::test::TestKit::new().auth());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CurrentSession {
    /// The session's id.
    pub session_id: SessionId,
    /// The member the session is for.
    pub member_id: MemberId,
    /// The session's organization.
    pub organization_id: OrganizationId,
    /// The organization's slug.
    pub organization_slug: OrganizationSlug,
    /// The session's roles (explicit and implicit).
    pub roles: Vec<RoleId>,
    /// The factors proved, with when.
    pub authentication_factors: Vec<AuthenticationFactor>,
    /// The session's custom claims; [`Self::claims`] deserializes them.
    pub custom_claims: CustomClaims,
    /// When the member signed in.
    pub started_at: DateTime<Utc>,
    /// When the session expires (as of the verification).
    pub expires_at: DateTime<Utc>,
    /// How it was verified.
    pub verification: Verification,
    /// Where the credential came from.
    pub source: CredentialSource,
    /// The whole session, member and organization, after a remote verification.
    pub authenticated: Option<Arc<AuthenticatedSession>>,
}

impl CurrentSession {
    /// What a locally verified JWT says (`source` is set by the layer; `Bearer` until then).
    pub fn from_local(local: LocalSession) -> Self {
        Self {
            session_id: local.session_id,
            member_id: local.member_id,
            organization_id: local.organization_id,
            organization_slug: local.organization_slug,
            roles: local.roles,
            authentication_factors: local.authentication_factors,
            custom_claims: local.custom_claims,
            started_at: local.started_at,
            expires_at: local.expires_at,
            verification: Verification::LocalJwt,
            source: CredentialSource::Bearer,
            authenticated: None,
        }
    }

    /// A session read from the store, with its roles.
    pub fn from_authenticated(
        found: AuthenticatedSession,
        roles: Vec<RoleId>,
        verification: Verification,
    ) -> Self {
        Self {
            session_id: found.session.id,
            member_id: found.member.id,
            organization_id: found.organization.id,
            organization_slug: found.organization.slug.clone(),
            roles,
            authentication_factors: found.session.authentication_factors.clone(),
            custom_claims: found.session.custom_claims.clone(),
            started_at: found.session.times.started_at,
            expires_at: found.session.times.expires_at,
            verification,
            source: CredentialSource::Bearer,
            authenticated: Some(Arc::new(found)),
        }
    }

    /// The subject of an authorization check.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            organization_id: self.organization_id,
            organization_slug: &self.organization_slug,
            roles: &self.roles,
        }
    }

    /// Whether the session has the role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.as_str() == role)
    }

    /// The custom claims as the application's type (`invalid_custom_claims` if they do not fit).
    ///
    /// ```
    /// # use tessera_axum::CurrentSession;
    /// #[derive(serde::Deserialize)]
    /// struct Plan { plan: Option<String> }
    ///
    /// fn plan(session: &CurrentSession) -> Option<String> {
    ///     session.claims::<Plan>().ok()?.plan
    /// }
    /// ```
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, AuthRejection> {
        let value = serde_json::Value::Object(self.custom_claims.as_map().clone());
        serde_json::from_value(value).map_err(|error| AuthRejection::InvalidClaims {
            message: format!("The session's custom claims do not fit this route: {error}."),
        })
    }
}
