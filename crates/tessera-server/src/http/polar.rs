//! Polar-compatible sessions (API version 2026-10): `POST /v1/customer-sessions/` and
//! `POST /v1/member-sessions/` (server to server, with the project credentials), and the
//! customer-portal routes, which accept only a member-session token as `Bearer`. Errors are
//! Polar's ([`super::polar_errors`]).

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tessera_api::{
    CreateSession, IssuedSession, OwnerError, ServiceError,
    views::polar::{
        CustomerSession, CustomerSessionIntrospection, MemberSession, PortalAuthenticatedUser,
        errors::{ErrorBody, ValidationErrorBody},
    },
};
use tessera_axum::{AuthConfig, AuthRejection, CredentialSource, CurrentSession, TesseraAuth};
use tessera_core::{
    AuthenticatedSession, ErrorType, ExternalId, MemberId, MemberRef, OrganizationRef,
};
use utoipa::ToSchema;

use super::{
    AppState, acting::Acting, error::ApiError, extract::ApiJson, formats, polar_errors::PolarError,
};

/// Polar's `CustomerSessionCustomerIDCreate | CustomerSessionCustomerExternalIDCreate`.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateCustomerSessionBody {
    /// The organization (Polar's customer) by id (or slug); exactly one of this and
    /// `external_customer_id`.
    #[serde(default)]
    #[schema(value_type = Option<formats::OrganizationRef>)]
    customer_id: Option<String>,
    /// The organization by its external id.
    #[serde(default, alias = "customer_external_id")]
    #[schema(value_type = Option<formats::ExternalId>)]
    external_customer_id: Option<String>,
    /// The member of that organization the session is for; wins over `external_member_id`.
    /// Without either, the organization's owner member (see docs/HTTP.md).
    #[serde(default)]
    #[schema(value_type = Option<formats::Id>)]
    member_id: Option<String>,
    /// The member by its external id.
    #[serde(default)]
    #[schema(value_type = Option<formats::ExternalId>)]
    external_member_id: Option<String>,
    /// `""` is none.
    #[serde(default)]
    #[schema(value_type = Option<formats::ReturnUrlOrEmpty>)]
    return_url: Option<String>,
}

/// Creates a session for a member of an organization and answers with Polar's
/// `CustomerSession`, token and portal URL included. `201 Created`, as Polar answers.
#[utoipa::path(
    post,
    path = "/v1/customer-sessions/",
    tag = "polar",
    summary = "Create a Polar customer session (a member's)",
    request_body = CreateCustomerSessionBody,
    responses(
        (
            status = 201,
            description = "Polar's CustomerSession, token and portal URL included",
            body = CustomerSession,
        ),
        (status = 401, description = "Missing or wrong project credentials", body = ErrorBody),
        (
            status = 422,
            description = "Bad input, an unknown customer or member (at its field), or no single \
                           owner member",
            body = ValidationErrorBody,
        ),
        (status = "4XX", description = "Another client error", body = ErrorBody),
        (status = "5XX", description = "Server or storage failure", body = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_customer_session(
    State(state): State<AppState>,
    Acting(service): Acting,
    ApiJson(body): ApiJson<CreateCustomerSessionBody>,
) -> Result<Response, PolarError> {
    let (customer_field, organization) = match (&body.customer_id, &body.external_customer_id) {
        (Some(id), None) => {
            ("customer_id", OrganizationRef::parse(id).map_err(PolarError::at("customer_id"))?)
        }
        (None, Some(external_id)) => {
            let external_id =
                ExternalId::parse(external_id).map_err(PolarError::at("external_customer_id"))?;
            let organization = state
                .service
                .organization_by_external_id(&external_id)
                .await
                .map_err(|e| not_found_at(e, "external_customer_id", "member_id"))?;
            ("external_customer_id", OrganizationRef::Id(organization.id))
        }
        (Some(_), Some(_)) => {
            return Err(PolarError::Invalid {
                field: None,
                error_type: ErrorType::InvalidRequest.as_str(),
                message: "Send exactly one of customer_id and external_customer_id.".into(),
            });
        }
        (None, None) => {
            return Err(PolarError::invalid(
                "customer_id",
                ErrorType::InvalidRequest.as_str(),
                "Field required: customer_id (or external_customer_id).",
            ));
        }
    };
    let (member_field, member) = match (&body.member_id, &body.external_member_id) {
        (Some(id), _) => {
            ("member_id", MemberRef::Id(MemberId::parse(id).map_err(PolarError::at("member_id"))?))
        }
        (None, Some(external_id)) => (
            "external_member_id",
            MemberRef::ExternalId(
                ExternalId::parse(external_id).map_err(PolarError::at("external_member_id"))?,
            ),
        ),
        (None, None) => {
            let (owner, _) = state
                .service
                .owner_member(&organization)
                .await
                .map_err(|e| owner_error(e, customer_field))?;
            ("member_id", MemberRef::Id(owner.id))
        }
    };

    // Polar has no MFA: in an organization that requires it, refuse rather than hand out a
    // session whose token could only ever step up.
    let mut request = CreateSession::new(organization, member).refusing_pending_mfa().via_polar();
    request.return_url = body.return_url.filter(|u| !u.is_empty());
    let issued = service
        .create_session(request)
        .await
        .map_err(|e| not_found_at(e, customer_field, member_field))?;
    let view = CustomerSession::new(
        &issued.session.session,
        &issued.session.organization,
        &issued.token,
        portal_url(&state, &issued),
        &state.credentials.project_id,
    );
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `error_type` of a customer session without a member, for an organization with no owner.
const NO_OWNER_MEMBER: &str = "no_owner_member";
/// `error_type` of a customer session without a member, for an organization with several.
const AMBIGUOUS_OWNER_MEMBER: &str = "ambiguous_owner_member";

/// No single owner member is a `422` at `member_id`: naming the member is the fix.
fn owner_error(error: OwnerError, customer_field: &'static str) -> PolarError {
    let message = error.to_string();
    match error {
        OwnerError::Service(e) => not_found_at(e, customer_field, "member_id"),
        OwnerError::NoOwner => PolarError::invalid("member_id", NO_OWNER_MEMBER, message),
        OwnerError::SeveralOwners { .. } => {
            PolarError::invalid("member_id", AMBIGUOUS_OWNER_MEMBER, message)
        }
        other => {
            tracing::error!(error = %other, "unexpected owner lookup failure");
            PolarError::Other(ApiError::new(
                ErrorType::InternalServerError,
                "Internal server error.",
            ))
        }
    }
}

/// Polar answers an unknown customer or member with a `422` on the field that named it (never
/// a 404: the caller's input is what is wrong), and so does Tessera; a member of another
/// organization is unknown in this one.
fn not_found_at(
    error: ServiceError,
    customer_field: &'static str,
    member_field: &'static str,
) -> PolarError {
    match error.error_type() {
        ErrorType::OrganizationNotFound => PolarError::invalid(
            customer_field,
            ErrorType::OrganizationNotFound.as_str(),
            "Customer does not exist.",
        ),
        ErrorType::MemberNotFound => PolarError::invalid(
            member_field,
            ErrorType::MemberNotFound.as_str(),
            "Member does not exist for this customer.",
        ),
        _ => error.into(),
    }
}

/// The portal URL of a new session, from the deployment's template (`--portal-url-template`).
fn portal_url(state: &AppState, issued: &IssuedSession) -> String {
    state.service.member_portal_url(
        &issued.session.organization,
        issued.session.member.email_address.as_str(),
        &issued.token,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateMemberSessionBody {
    #[schema(value_type = formats::Id)]
    member_id: String,
    /// `""` is none.
    #[serde(default)]
    #[schema(value_type = Option<formats::ReturnUrlOrEmpty>)]
    return_url: Option<String>,
}

/// Creates a session for a member, identified by id alone (ids are global), and answers with
/// Polar's `MemberSession`, token and portal URL included. `201 Created`, as Polar answered.
#[utoipa::path(
    post,
    path = "/v1/member-sessions/",
    tag = "polar",
    summary = "Create a Polar member session",
    request_body = CreateMemberSessionBody,
    responses(
        (
            status = 201,
            description = "Polar's MemberSession, token and portal URL included",
            body = MemberSession,
        ),
        (status = 401, description = "Missing or wrong project credentials", body = ErrorBody),
        (
            status = 422,
            description = "Bad input or an unknown member (at `member_id`)",
            body = ValidationErrorBody,
        ),
        (status = "4XX", description = "Another client error", body = ErrorBody),
        (status = "5XX", description = "Server or storage failure", body = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_member_session(
    State(state): State<AppState>,
    Acting(service): Acting,
    ApiJson(body): ApiJson<CreateMemberSessionBody>,
) -> Result<Response, PolarError> {
    let member_id = MemberId::parse(&body.member_id).map_err(PolarError::at("member_id"))?;
    let organization = state
        .service
        .locate_member(member_id)
        .await
        .map_err(|e| not_found_at(e, "member_id", "member_id"))?;
    let mut request = CreateSession::new(organization.into(), MemberRef::Id(member_id))
        .refusing_pending_mfa()
        .via_polar();
    request.return_url = body.return_url.filter(|u| !u.is_empty());
    let issued = service
        .create_session(request)
        .await
        .map_err(|e| not_found_at(e, "member_id", "member_id"))?;
    let view = MemberSession::new(
        &issued.session.session,
        &issued.session.member,
        &issued.session.organization,
        &issued.token,
        portal_url(&state, &issued),
        &state.credentials.project_id,
    );
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The member session behind the request's bearer token, or 401 (Polar's `Unauthorized`) for a
/// missing, unknown, expired, idle or revoked one: the answer never says which. Verified by
/// tessera-axum (the one mechanism for member-session credentials), Bearer only and always
/// against the store, so a revoke counts at once.
async fn portal_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Arc<AuthenticatedSession>, PolarError> {
    let unauthorized = || {
        PolarError::Other(ApiError::new(
            ErrorType::UnauthorizedCredentials,
            "Send a live member-session token as `Authorization: Bearer <token>`.",
        ))
    };
    let config = AuthConfig {
        sources: vec![CredentialSource::Bearer],
        max_token_age: Some(chrono::TimeDelta::zero()),
        ..AuthConfig::default()
    };
    let auth = TesseraAuth::with_config(state.service.clone(), config);
    match auth.session_from_headers(&Method::GET, headers).await {
        Ok(Some(CurrentSession { authenticated: Some(found), .. })) => Ok(found),
        Ok(_) | Err(AuthRejection::MissingCredential | AuthRejection::InvalidCredential { .. }) => {
            Err(unauthorized())
        }
        // A session pending MFA: refused as the service refuses it.
        Err(AuthRejection::MfaRequired { .. }) => {
            Err(ServiceError::from(tessera_core::Error::MfaRequired).into())
        }
        Err(AuthRejection::Unavailable { error_type, message }) => {
            Err(PolarError::Other(ApiError::new(error_type, message)))
        }
        Err(other) => {
            Err(PolarError::Other(ApiError::new(ErrorType::InternalServerError, other.message())))
        }
    }
}

#[utoipa::path(
    get,
    path = "/v1/customer-portal/customer-session/introspect",
    tag = "polar",
    summary = "Expiry and return URL of the calling member session",
    responses(
        (
            status = 200,
            description = "The calling member session (Polar's CustomerCustomerSession)",
            body = CustomerSessionIntrospection,
        ),
        (
            status = 401,
            description = "No live member-session token (missing, unknown, expired, idle or \
                           revoked)",
            body = ErrorBody,
        ),
        (status = "4XX", description = "Another client error", body = ErrorBody),
        (status = "5XX", description = "Server or storage failure", body = ErrorBody),
    ),
    security(("memberSession" = [])),
)]
pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PolarError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(CustomerSessionIntrospection::new(&authenticated.session)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/customer-portal/customer-session/user",
    tag = "polar",
    operation_id = "portal_user",
    summary = "The member of the calling member session",
    responses(
        (status = 200, description = "The calling member", body = PortalAuthenticatedUser),
        (
            status = 401,
            description = "No live member-session token (missing, unknown, expired, idle or \
                           revoked)",
            body = ErrorBody,
        ),
        (status = "4XX", description = "Another client error", body = ErrorBody),
        (status = "5XX", description = "Server or storage failure", body = ErrorBody),
    ),
    security(("memberSession" = [])),
)]
pub(super) async fn user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PolarError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(PortalAuthenticatedUser::new(&authenticated.member)).into_response())
}
