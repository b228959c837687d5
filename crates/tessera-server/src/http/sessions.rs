//! Member sessions in Stytch's shapes, plus Tessera's own create route.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use tessera_api::{
    AddFactor, Authenticate, CreateSession, Credential, Exchange, IssuedSession, Revoke,
    views::SecretString,
    views::stytch::{
        AuthenticateResponse, CreateSessionResponse, Envelope, ErrorBody, ExchangeResponse,
        GetJwksResponse, GetOrgPolicyResponse, GetSessionsResponse, PolicyResponse,
        RevokeOrganizationResponse, RevokeResponse,
    },
};
use tessera_core::{
    AuthorizationCheck, ErrorType, FactorInput, MemberRef, SessionAttributes, SessionId,
};

use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    acting::Acting,
    answer::{Answer, ok},
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    formats, parse,
    request_id::RequestId,
};

/// A secret of a request body (`session_token`, `session_jwt`): absent and `""` are the same.
fn given(secret: Option<SecretString>) -> Option<String> {
    secret.map(|s| s.expose().to_owned()).filter(|s| !s.is_empty())
}

/// Exactly one of `session_token` and `session_jwt`, as Stytch requires.
fn credential(
    token: Option<SecretString>,
    jwt: Option<SecretString>,
) -> Result<Credential, ApiError> {
    match (given(token), given(jwt)) {
        (Some(token), None) => Ok(Credential::Token(token)),
        (None, Some(jwt)) => Ok(Credential::Jwt(jwt)),
        (None, None) => Err(ApiError::new(
            ErrorType::NoSessionArguments,
            "Send one of session_token and session_jwt.",
        )),
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorType::TooManySessionArguments,
            "Send only one of session_token and session_jwt, not both.",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct AuthorizationCheckBody {
    #[schema(value_type = formats::OrganizationRef)]
    organization_id: String,
    resource_id: String,
    action: String,
}

impl AuthorizationCheckBody {
    fn parse(self) -> Result<AuthorizationCheck, ApiError> {
        Ok(AuthorizationCheck {
            organization: parse::organization_ref(&self.organization_id)?,
            resource_id: self.resource_id,
            action: self.action,
        })
    }
}

/// `Debug` of this and every body below prints `session_token` and `session_jwt` redacted
/// (`SecretString`).
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct AuthenticateBody {
    /// Exactly one of `session_token` and `session_jwt`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_token: Option<SecretString>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_jwt: Option<SecretString>,
    /// Extends the session to `now + d`, capped by the absolute lifetime; without it the
    /// session is not extended.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::Minutes>)]
    session_duration_minutes: Option<i64>,
    /// A JSON Merge Patch (RFC 7396) of the session's custom claims: `null` deletes a key.
    #[serde(default)]
    #[schema(value_type = Option<formats::CustomClaimsPatch>)]
    session_custom_claims: Option<Value>,
    /// Answers `verdict` when the session may do `action` on `resource_id`; refuses otherwise.
    #[serde(default)]
    authorization_check: Option<AuthorizationCheckBody>,
}

#[utoipa::path(
    post,
    path = "/v1/b2b/sessions/authenticate",
    tag = "sessions",
    summary = "Authenticate a session token or JWT",
    request_body = AuthenticateBody,
    responses(
        (
            status = 200,
            description = "The session, its member and organization, a fresh session JWT",
            body = Envelope<AuthenticateResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn authenticate(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<AuthenticateBody>,
) -> Answer {
    let credential = credential(body.session_token, body.session_jwt)?;
    // The token goes back to its holder in the response (Stytch echoes it); after a JWT
    // authentication Tessera cannot know the token, since it keeps only its hash.
    let echoed_token = match &credential {
        Credential::Token(token) => token.clone(),
        Credential::Jwt(_) => String::new(),
    };
    let mut request = Authenticate::new(credential);
    request.extend_by = parse::duration(body.session_duration_minutes)?;
    request.custom_claims = body.session_custom_claims.filter(|c| !c.is_null());
    request.authorization_check =
        body.authorization_check.map(AuthorizationCheckBody::parse).transpose()?;
    let authenticated = service.authenticate(request).await?;
    // `Authenticate::new` asks for a JWT; Stytch's answer always carries one.
    let jwt = authenticated.jwt.as_ref().ok_or_else(|| {
        ApiError::new(ErrorType::InternalServerError, "the session JWT is missing")
    })?;
    Ok(ok(
        &request_id,
        AuthenticateResponse::new(
            &authenticated.session,
            &authenticated.roles,
            echoed_token,
            jwt.expose(),
            authenticated.verdict.as_ref(),
        ),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateSessionBody {
    #[schema(value_type = formats::OrganizationRef)]
    organization_id: String,
    /// Exactly one of `member_id` (or an external id), `email_address` and `external_id`.
    #[serde(default)]
    #[schema(value_type = Option<formats::MemberRef>)]
    member_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::EmailAddress>)]
    email_address: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::ExternalId>)]
    external_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = formats::FactorInputs)]
    authentication_factors: Vec<FactorInput>,
    /// 5 to 527040; 60 when left out.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::Minutes>)]
    session_duration_minutes: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<formats::CustomClaimsPatch>)]
    session_custom_claims: Option<Value>,
    /// `""` is none.
    #[serde(default)]
    #[schema(value_type = Option<formats::ReturnUrlOrEmpty>)]
    return_url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::SessionAttributes>)]
    attributes: Option<SessionAttributes>,
}

/// Tessera's `POST /v1/b2b/sessions`: the host application tells Tessera who signed in, how.
#[utoipa::path(
    post,
    path = "/v1/b2b/sessions",
    tag = "sessions",
    operation_id = "create_session",
    summary = "Create a session (Tessera)",
    request_body = CreateSessionBody,
    responses(
        (
            status = 200,
            description = "The new session with its token (shown only here) and JWT",
            body = Envelope<CreateSessionResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<CreateSessionBody>,
) -> Answer {
    let member = match (body.member_id, body.email_address, body.external_id) {
        (Some(id), None, None) => parse::member_ref(&id)?,
        (None, Some(email), None) => MemberRef::Email(parse::email(&email)?),
        (None, None, Some(external_id)) => MemberRef::ExternalId(parse::external_id(&external_id)?),
        _ => {
            return Err(ApiError::invalid(
                "member",
                "give exactly one of member_id, email_address and external_id",
            ));
        }
    };
    let mut request = CreateSession::new(parse::organization_ref(&body.organization_id)?, member);
    request.factors = body.authentication_factors;
    request.duration = parse::duration(body.session_duration_minutes)?;
    request.custom_claims = body.session_custom_claims.filter(|c| !c.is_null());
    request.return_url = body.return_url.filter(|u| !u.is_empty());
    request.attributes = body.attributes.unwrap_or_default();
    let issued = service.create_session(request).await?;
    Ok(ok(&request_id, issued_response(&issued)))
}

/// A new or stepped-up session: a full one, or one pending MFA (no JWT, the token as
/// `intermediate_session_token`).
fn issued_response(issued: &IssuedSession) -> CreateSessionResponse {
    CreateSessionResponse::new(
        &issued.session,
        &issued.roles,
        &issued.token,
        issued.jwt.as_ref().map(|jwt| jwt.expose()),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct AddFactorBody {
    /// Exactly one of `session_token` (a full session) and `intermediate_session_token` (one
    /// pending MFA, as `POST /v1/b2b/sessions` answered it).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_token: Option<SecretString>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    intermediate_session_token: Option<SecretString>,
    /// The factor the host application just verified.
    #[schema(value_type = formats::FactorInput)]
    authentication_factor: FactorInput,
    /// Extends the session to `now + d` (5 to 527040), capped by the absolute lifetime. Without
    /// it a full session keeps its expiry, and a session this factor completes gets the
    /// deployment's default duration.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::Minutes>)]
    session_duration_minutes: Option<i64>,
}

/// Tessera's `POST /v1/b2b/sessions/factors`: step-up. Records a factor the host application
/// verified on a live session (full, or pending MFA) and rotates its token: the old token and
/// every JWT minted before are dead when this answers.
#[utoipa::path(
    post,
    path = "/v1/b2b/sessions/factors",
    tag = "sessions",
    operation_id = "add_session_factor",
    summary = "Add a factor to a session and rotate its token (Tessera)",
    request_body = AddFactorBody,
    responses(
        (
            status = 200,
            description = "The session with its new token (shown only here) and, if it now meets \
                           its organization's MFA policy, a JWT",
            body = Envelope<CreateSessionResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn add_factor(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<AddFactorBody>,
) -> Answer {
    let token = match (given(body.session_token), given(body.intermediate_session_token)) {
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => {
            return Err(ApiError::new(
                ErrorType::NoSessionArguments,
                "Send one of session_token and intermediate_session_token.",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorType::TooManySessionArguments,
                "Send only one of session_token and intermediate_session_token, not both.",
            ));
        }
    };
    let mut request = AddFactor::new(token, body.authentication_factor);
    request.duration = parse::duration(body.session_duration_minutes)?;
    let issued = service.add_factor(request).await?;
    Ok(ok(&request_id, issued_response(&issued)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    #[param(value_type = formats::OrganizationRef)]
    organization_id: String,
    #[param(value_type = formats::MemberRef)]
    member_id: String,
}

#[utoipa::path(
    get,
    path = "/v1/b2b/sessions",
    tag = "sessions",
    operation_id = "list_sessions",
    summary = "List a member's active sessions",
    params(ListQuery),
    responses(
        (
            status = 200,
            description = "The member's active sessions",
            body = Envelope<GetSessionsResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Answer {
    let listed = state
        .service
        .list_sessions(
            &parse::organization_ref(&query.organization_id)?,
            &parse::member_ref(&query.member_id)?,
        )
        .await?;
    Ok(ok(
        &request_id,
        GetSessionsResponse::new(&listed.sessions, &listed.organization, &listed.roles),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct RevokeBody {
    #[serde(default)]
    #[schema(value_type = Option<formats::Id>)]
    member_session_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_token: Option<SecretString>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_jwt: Option<SecretString>,
    #[serde(default)]
    #[schema(value_type = Option<formats::MemberRef>)]
    member_id: Option<String>,
    /// Tessera: the organization of `member_session_id` or `member_id`, when known. Ids are
    /// global, so it may be left out.
    #[serde(default)]
    #[schema(value_type = Option<formats::OrganizationRef>)]
    organization_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/b2b/sessions/revoke",
    tag = "sessions",
    operation_id = "revoke_sessions",
    summary = "Revoke a session or all of a member's",
    request_body = RevokeBody,
    responses(
        (status = 200, description = "Revoked", body = Envelope<RevokeResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn revoke(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Answer {
    let organization = body.organization_id.as_deref().map(parse::organization_ref).transpose()?;
    let target = match (
        body.member_session_id,
        given(body.session_token),
        given(body.session_jwt),
        body.member_id,
    ) {
        (None, None, None, None) => {
            return Err(ApiError::new(
                ErrorType::NoSessionArguments,
                "Send one of member_session_id, session_token, session_jwt and member_id.",
            ));
        }
        (Some(id), None, None, None) => {
            Revoke::Session { organization, session_id: SessionId::parse(&id)? }
        }
        (None, Some(token), None, None) => Revoke::Token(token),
        (None, None, Some(jwt), None) => Revoke::Jwt(jwt),
        (None, None, None, Some(member)) => {
            Revoke::Member { organization, member: parse::member_ref(&member)? }
        }
        _ => {
            return Err(ApiError::new(
                ErrorType::TooManySessionArguments,
                "Send only one of member_session_id, session_token, session_jwt and member_id.",
            ));
        }
    };
    service.revoke(target).await?;
    Ok(ok(&request_id, RevokeResponse {}))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct RevokeOrganizationBody {
    /// A session to keep (e.g. the administrator's own); it must be of this organization to
    /// matter.
    #[serde(default)]
    #[schema(value_type = Option<formats::Id>)]
    except_member_session_id: Option<String>,
}

/// Tessera's organization-wide revoke: every live session of the organization ends at once (an
/// administrator's "sign everyone out"), but the one named in `except_member_session_id`.
#[utoipa::path(
    post,
    path = "/v1/b2b/organizations/{organization_id}/sessions/revoke",
    tag = "sessions",
    operation_id = "revoke_organization_sessions",
    summary = "Revoke every session of an organization (Tessera)",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    request_body = RevokeOrganizationBody,
    responses(
        (status = 200, description = "How many sessions ended", body = Envelope<RevokeOrganizationResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn revoke_organization(
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeOrganizationBody>,
) -> Answer {
    let except = body.except_member_session_id.as_deref().map(SessionId::parse).transpose()?;
    let revoked_count = service
        .revoke(Revoke::Organization {
            organization: parse::organization_ref(&organization_id)?,
            except,
        })
        .await?;
    Ok(ok(&request_id, RevokeOrganizationResponse { revoked_count }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct ExchangeBody {
    #[schema(value_type = formats::OrganizationRef)]
    organization_id: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_token: Option<SecretString>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    session_jwt: Option<SecretString>,
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::Minutes>)]
    session_duration_minutes: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<formats::CustomClaimsPatch>)]
    session_custom_claims: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/v1/b2b/sessions/exchange",
    tag = "sessions",
    operation_id = "exchange_session",
    summary = "Exchange a session for one in another organization",
    request_body = ExchangeBody,
    responses(
        (
            status = 200,
            description = "The new session in the target organization",
            body = Envelope<ExchangeResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn exchange(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<ExchangeBody>,
) -> Answer {
    let credential = credential(body.session_token, body.session_jwt)?;
    let exchanged = service
        .exchange(Exchange {
            credential,
            organization: parse::organization_ref(&body.organization_id)?,
            duration: parse::duration(body.session_duration_minutes)?,
            custom_claims: body.session_custom_claims.filter(|c| !c.is_null()),
        })
        .await?;
    // An exchange yields a full session (a pending one is refused), so it always has a JWT.
    let jwt = exchanged.jwt.as_ref().ok_or_else(|| {
        ApiError::new(ErrorType::InternalServerError, "the session JWT is missing")
    })?;
    Ok(ok(
        &request_id,
        ExchangeResponse::new(&exchanged.session, &exchanged.roles, &exchanged.token, jwt.expose()),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/b2b/sessions/jwks/{project_id}",
    tag = "sessions",
    summary = "The JWKS that verifies session JWTs",
    params(("project_id" = formats::ProjectId, Path, description = "This deployment's project id")),
    responses(
        (status = 200, description = "The public keys", body = Envelope<GetJwksResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
)]
pub(super) async fn jwks(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(project_id): ApiPath<String>,
) -> Answer {
    if project_id != state.credentials.project_id {
        return Err(ApiError::invalid("project_id", "this is not this deployment's project id"));
    }
    Ok(ok(&request_id, GetJwksResponse::from(state.service.jwks().await?)))
}

#[utoipa::path(
    get,
    path = "/v1/b2b/rbac/policy",
    tag = "rbac",
    summary = "The RBAC policy",
    responses(
        (status = 200, description = "The policy", body = Envelope<PolicyResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn policy(State(state): State<AppState>, request_id: RequestId) -> Answer {
    Ok(ok(&request_id, PolicyResponse::new(state.service.policy())))
}

/// `GET /v1/b2b/rbac/organizations/{organization_id}`: Stytch's organization-scoped roles, which
/// its SDKs read before a local authorization check. Tessera has project-level roles only, so
/// the list is empty (for an organization that exists).
#[utoipa::path(
    get,
    path = "/v1/b2b/rbac/organizations/{organization_id}",
    tag = "rbac",
    summary = "Organization-scoped roles (none in Tessera)",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    responses(
        (
            status = 200,
            description = "An empty organization policy",
            body = Envelope<GetOrgPolicyResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn organization_policy(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
) -> Answer {
    state.service.get_organization(&parse::organization_ref(&organization_id)?).await?;
    Ok(ok(&request_id, GetOrgPolicyResponse::default()))
}
