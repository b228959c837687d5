//! Polar-compatible member sessions: `POST /v1/member-sessions/` (server to server) and the
//! customer-portal routes, which accept only a member-session token as `Bearer`.

use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tessera_api::{
    Authenticate, CreateSession, Credential,
    views::{
        polar::{CustomerSessionIntrospection, MemberSession, PortalAuthenticatedUser},
        stytch::ErrorBody,
    },
};
use tessera_core::{ErrorType, MemberId, MemberRef};
use utoipa::ToSchema;

use super::{AppState, auth::bearer_token, error::ApiError, extract::ApiJson};

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateMemberSessionBody {
    member_id: String,
    #[serde(default)]
    return_url: Option<String>,
}

/// Creates a session for a member, identified by id alone (ids are global), and answers with
/// Polar's `MemberSession`, token and portal URL included. `201 Created`, as Polar answers.
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
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_member_session(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateMemberSessionBody>,
) -> Result<Response, ApiError> {
    let member_id = MemberId::parse(&body.member_id)?;
    let organization = state.service.locate_member(member_id).await?;
    let mut request = CreateSession::new(organization.into(), MemberRef::Id(member_id));
    request.return_url = body.return_url.filter(|u| !u.is_empty());
    let issued = state.service.create_session(request).await?;
    let portal_url = state.service.member_portal_url(
        &issued.session.organization,
        issued.session.member.email_address.as_str(),
        &issued.token,
    );
    let view = MemberSession::new(
        &issued.session.session,
        &issued.session.member,
        &issued.session.organization,
        &issued.token,
        portal_url,
        &state.credentials.project_id,
    );
    Ok((axum::http::StatusCode::CREATED, Json(view)).into_response())
}

/// The member session behind the request's bearer token, or 401.
async fn portal_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<tessera_api::Authenticated, ApiError> {
    let unauthorized = || {
        ApiError::new(
            ErrorType::UnauthorizedCredentials,
            "Send a live member-session token as `Authorization: Bearer <token>`.",
        )
    };
    let token = bearer_token(headers).ok_or_else(unauthorized)?;
    state.service.authenticate(Authenticate::new(Credential::Token(token))).await.map_err(|e| {
        match e.error_type() {
            ErrorType::SessionNotFound | ErrorType::InvalidSessionToken => unauthorized(),
            _ => e.into(),
        }
    })
}

#[utoipa::path(
    get,
    path = "/v1/customer-portal/customer-session/introspect",
    tag = "polar",
    summary = "Expiry and return URL of the calling member session",
    responses(
        (
            status = 200,
            description = "The calling member session",
            body = CustomerSessionIntrospection,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("memberSession" = [])),
)]
pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(CustomerSessionIntrospection::new(&authenticated.session.session)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/customer-portal/customer-session/user",
    tag = "polar",
    operation_id = "portal_user",
    summary = "The member of the calling member session",
    responses(
        (status = 200, description = "The calling member", body = PortalAuthenticatedUser),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("memberSession" = [])),
)]
pub(super) async fn user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(PortalAuthenticatedUser::new(&authenticated.session.member)).into_response())
}
