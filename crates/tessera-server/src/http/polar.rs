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
    views::polar::{CustomerSessionIntrospection, MemberSession, PortalAuthenticatedUser},
};
use tessera_core::{ErrorType, MemberId, MemberRef};

use super::{AppState, auth::bearer_token, error::ApiError, extract::ApiJson};

#[derive(Debug, Deserialize)]
pub(super) struct CreateMemberSessionBody {
    member_id: String,
    #[serde(default)]
    return_url: Option<String>,
}

/// Creates a session for a member, identified by id alone (ids are global), and answers with
/// Polar's `MemberSession`, token and portal URL included. `201 Created`, as Polar answers.
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

pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(CustomerSessionIntrospection::new(&authenticated.session.session)).into_response())
}

pub(super) async fn user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let authenticated = portal_session(&state, &headers).await?;
    Ok(Json(PortalAuthenticatedUser::new(&authenticated.session.member)).into_response())
}
