//! The extractors: [`CurrentSession`], `Option<CurrentSession>`, [`Require`] guards and
//! [`Claims`].

use std::marker::PhantomData;

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts, RawPathParams},
    http::request::Parts,
};
use chrono::TimeDelta;
use serde::de::DeserializeOwned;
use tessera_core::{
    AssuranceRequirement, AuthorizationCheck, ErrorType, MfaPolicy, OrganizationRef, assurance,
};

use crate::{AuthRejection, CurrentSession, TesseraAuth, auth::Outcome};

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    TesseraAuth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        match <Self as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await? {
            Some(session) => Ok(session),
            None => Err(AuthRejection::MissingCredential),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    TesseraAuth: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        let auth = TesseraAuth::from_ref(state);
        match &*auth.outcome(parts).await {
            Outcome::NoCredential => Ok(None),
            Outcome::Authenticated { session, .. } => Ok(Some(session.clone())),
            Outcome::Rejected(rejection) => Err(rejection.clone()),
        }
    }
}

/// What a [`Require`] guard demands. Implement it on a unit struct per kind of route; every
/// item has a default that demands nothing more than a live session.
///
/// ```
/// use tessera_axum::{Require, Requirement};
///
/// /// `documents:write` in the organization of the `{org}` path parameter, with MFA, and a
/// /// factor proved in the last 10 minutes.
/// struct WriteDocuments;
/// impl Requirement for WriteDocuments {
///     const ORGANIZATION_PARAM: Option<&'static str> = Some("org");
///     const PERMISSION: Option<(&'static str, &'static str)> = Some(("documents", "write"));
///     const REQUIRE_MFA: bool = true;
///     const MAX_FACTOR_AGE_SECONDS: Option<i64> = Some(600);
/// }
///
/// async fn write(Require(session, ..): Require<WriteDocuments>) -> String {
///     session.member_id.to_string()
/// }
/// # let _: axum::Router = axum::Router::new()
/// #     .route("/orgs/{org}/documents", axum::routing::post(write))
/// #     .with_state(tessera_axum::test::TestKit::new().auth());
/// ```
pub trait Requirement: Send + Sync + 'static {
    /// The path parameter naming the organization (id or slug). The session must belong to it
    /// (checked first: `session_authorization_tenancy_error`). `None`: no tenancy check.
    const ORGANIZATION_PARAM: Option<&'static str> = None;
    /// `(resource_id, action)` one of the session's roles must grant, in the route's
    /// organization (or the session's own without [`Self::ORGANIZATION_PARAM`]).
    const PERMISSION: Option<(&'static str, &'static str)> = None;
    /// The session must be multi-factor (`mfa_required`).
    const REQUIRE_MFA: bool = false;
    /// Some factor must have been proved this recently (step-up: `reauthentication_required`).
    const MAX_FACTOR_AGE_SECONDS: Option<i64> = None;
}

/// A guard: the request's session, checked against `R` (tenancy, then permission, then MFA,
/// then factor age). Rejections are [`AuthRejection`]s. See [`Requirement`].
#[derive(Debug, Clone)]
pub struct Require<R: Requirement>(pub CurrentSession, pub PhantomData<fn() -> R>);

impl<R: Requirement> Require<R> {
    /// The checked session.
    pub fn into_inner(self) -> CurrentSession {
        self.0
    }
}

impl<S, R> FromRequestParts<S> for Require<R>
where
    S: Send + Sync,
    TesseraAuth: FromRef<S>,
    R: Requirement,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let session =
            <CurrentSession as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let auth = TesseraAuth::from_ref(state);
        let organization = match R::ORGANIZATION_PARAM {
            Some(name) => {
                let params =
                    RawPathParams::from_request_parts(parts, state).await.map_err(|_| {
                        AuthRejection::Misconfigured {
                            message: "the route's guard names a path parameter it cannot read",
                        }
                    })?;
                let value = params.iter().find(|(key, _)| *key == name).map(|(_, v)| v).ok_or(
                    AuthRejection::Misconfigured {
                        message: "the route's guard names a path parameter the route does not have",
                    },
                )?;
                Some(value.to_owned())
            }
            None => None,
        };
        let requirement = AssuranceRequirement {
            require_mfa: R::REQUIRE_MFA,
            max_factor_age: R::MAX_FACTOR_AGE_SECONDS.map(TimeDelta::seconds),
        };
        auth.check(&session, organization.as_deref(), R::PERMISSION, requirement).await?;
        Ok(Self(session, PhantomData))
    }
}

impl TesseraAuth {
    /// The checks of a [`Require`] guard, for handlers that decide at run time: the session
    /// belongs to `organization` (id or slug) if given, holds `permission` `(resource, action)`
    /// there if given, and meets `requirement`.
    ///
    /// ```
    /// use tessera_axum::{CurrentSession, TesseraAuth, AuthRejection};
    /// use axum::extract::{Path, State};
    ///
    /// async fn handler(
    ///     State(auth): State<TesseraAuth>,
    ///     Path(org): Path<String>,
    ///     session: CurrentSession,
    /// ) -> Result<&'static str, AuthRejection> {
    ///     auth.check(&session, Some(&org), Some(("documents", "read")), Default::default()).await?;
    ///     Ok("ok")
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/{org}", axum::routing::get(handler))
    /// #     .with_state(tessera_axum::test::TestKit::new().auth());
    /// ```
    pub async fn check(
        &self,
        session: &CurrentSession,
        organization: Option<&str>,
        permission: Option<(&str, &str)>,
        requirement: AssuranceRequirement,
    ) -> Result<(), AuthRejection> {
        let source = session.source;
        let tenancy =
            |requested: &str| AuthRejection::Tenancy { requested: requested.into(), source };
        let organization_ref = match organization {
            Some(requested) => {
                let parsed = OrganizationRef::parse(requested).map_err(|_| tenancy(requested))?;
                if !parsed.matches(session.organization_id, &session.organization_slug) {
                    return Err(tenancy(requested));
                }
                parsed
            }
            None => OrganizationRef::Id(session.organization_id),
        };
        if let Some((resource_id, action)) = permission {
            let check = AuthorizationCheck {
                organization: organization_ref,
                resource_id: resource_id.into(),
                action: action.into(),
            };
            let denied = || AuthRejection::Permission {
                resource_id: resource_id.into(),
                action: action.into(),
                source,
            };
            match self.authenticator().authorize(&session.subject(), &check).await {
                Ok(verdict) if verdict.authorized => {}
                Ok(_) => return Err(denied()),
                Err(error) => {
                    return Err(match error.error_type {
                        ErrorType::SessionAuthorizationTenancyError => {
                            tenancy(organization.unwrap_or_default())
                        }
                        ErrorType::StorageUnavailable | ErrorType::InternalServerError => {
                            AuthRejection::Unavailable {
                                error_type: error.error_type,
                                message: error.message,
                            }
                        }
                        _ => denied(),
                    });
                }
            }
        }
        let now = self.authenticator().now();
        // The organization's own MFA policy was met when the session's JWT was minted (no JWT
        // exists otherwise) and is checked by every remote authenticate: only the route's
        // requirement is left.
        assurance::check(&session.authentication_factors, MfaPolicy::Optional, requirement, now)
            .map_err(|error| match error {
                tessera_core::Error::FactorTooOld { max_age_seconds } => {
                    AuthRejection::ReauthenticationRequired { max_age_seconds, source }
                }
                _ => AuthRejection::MfaRequired { source },
            })
    }
}

/// The session's custom claims as `T`, and the session: `invalid_custom_claims` (403) if they do
/// not fit.
///
/// ```
/// use tessera_axum::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct Plan { plan: String }
///
/// async fn handler(Claims(plan, _session): Claims<Plan>) -> String { plan.plan }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(handler))
/// #     .with_state(tessera_axum::test::TestKit::new().auth());
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T, pub CurrentSession);

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    TesseraAuth: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let session =
            <CurrentSession as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(Self(session.claims()?, session))
    }
}
