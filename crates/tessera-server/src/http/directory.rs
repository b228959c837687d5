//! Organizations and members, in Stytch's shapes.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use tessera_api::{
    CreateMember, CreateOrganization, UpdateMember, UpdateOrganization,
    views::stytch::{
        DeleteMemberResponse, DeleteOrganizationResponse, Envelope, ErrorBody, MemberResponse,
        OrganizationResponse,
    },
};
use tessera_core::{MemberRef, OrganizationSettings};
use utoipa::ToSchema;

use super::{
    AppState,
    acting::Acting,
    answer::{Answer, ok},
    error::ApiError,
    extract::{ApiJson, ApiPath, ApiQuery},
    formats, parse,
    request_id::RequestId,
};

/// The optional organization fields, shared by create and update: one parser for both.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(super) struct OrganizationFields {
    #[serde(default)]
    #[schema(value_type = Option<formats::ExternalIdOrEmpty>)]
    organization_external_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::EmailAddressOrEmpty>)]
    email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::Metadata>)]
    trusted_metadata: Option<Value>,
    /// `OPTIONAL` or `REQUIRED_FOR_ALL`.
    #[serde(default)]
    #[schema(value_type = Option<formats::MfaPolicy>)]
    mfa_policy: Option<String>,
    /// Tessera: the absolute cap on a session's lifetime.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::Minutes>)]
    max_session_lifetime_minutes: Option<i64>,
    /// Tessera: a session unused this long ends; `0` means no idle timeout.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::IdleTimeoutMinutes>)]
    idle_timeout_minutes: Option<i64>,
    /// Tessera: the live sessions a member may hold here (1 to 1000); `0` removes the limit.
    /// Left out at creation: the deployment's default.
    #[serde(default, deserialize_with = "parse::whole_number")]
    #[schema(value_type = Option<formats::MaxSessionsPerMember>)]
    max_sessions_per_member: Option<i64>,
    /// Tessera: what a sign-in does at that limit: `revoke_least_recently_used` (the default)
    /// or `refuse` (`409 session_limit_reached`). No effect without a limit.
    #[serde(default)]
    #[schema(value_type = Option<formats::SessionLimitBehavior>)]
    session_limit_behavior: Option<String>,
}

impl OrganizationFields {
    /// The fields as a change; `""` (and `0` for the idle timeout) clears an optional field.
    fn parse(self) -> Result<UpdateOrganization, ApiError> {
        Ok(UpdateOrganization {
            name: None,
            slug: None,
            external_id: self
                .organization_external_id
                .as_deref()
                .map(|v| parse::optional_external_id(Some(v)))
                .transpose()?,
            email: self
                .email
                .as_deref()
                .map(|e| if e.is_empty() { Ok(None) } else { parse::email(e).map(Some) })
                .transpose()?,
            trusted_metadata: parse::metadata(self.trusted_metadata, "trusted_metadata")?,
            mfa_policy: parse::mfa_policy(self.mfa_policy.as_deref())?,
            max_lifetime: parse::max_lifetime(self.max_session_lifetime_minutes)?,
            idle_timeout: match self.idle_timeout_minutes {
                None => None,
                Some(0) => Some(None),
                Some(minutes) => Some(parse::idle_timeout(Some(minutes))?),
            },
            session_limit: parse::session_limit(self.max_sessions_per_member)?,
            session_limit_behavior: parse::session_limit_behavior(
                self.session_limit_behavior.as_deref(),
            )?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateOrganizationBody {
    #[schema(value_type = formats::OrganizationName)]
    organization_name: String,
    #[schema(value_type = formats::OrganizationSlug)]
    organization_slug: String,
    #[serde(flatten)]
    fields: OrganizationFields,
}

#[utoipa::path(
    post,
    path = "/v1/b2b/organizations",
    tag = "organizations",
    summary = "Create an organization",
    request_body = CreateOrganizationBody,
    responses(
        (status = 200, description = "The new organization", body = Envelope<OrganizationResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_organization(
    Acting(service): Acting,
    request_id: RequestId,
    ApiJson(body): ApiJson<CreateOrganizationBody>,
) -> Answer {
    let mut request = CreateOrganization::new(
        parse::organization_name(&body.organization_name)?,
        parse::slug(&body.organization_slug)?,
    );
    let fields = body.fields.parse()?;
    request.external_id = fields.external_id.flatten();
    request.email = fields.email.flatten();
    request.trusted_metadata = fields.trusted_metadata.unwrap_or_default();
    let defaults = OrganizationSettings::default();
    request.settings.mfa_policy = fields.mfa_policy.unwrap_or(defaults.mfa_policy);
    request.settings.lifetime.max_lifetime =
        fields.max_lifetime.unwrap_or(defaults.lifetime.max_lifetime);
    request.settings.lifetime.idle_timeout = fields.idle_timeout.flatten();
    request.session_limit = fields.session_limit;
    request.session_limit_behavior = fields.session_limit_behavior;
    let organization = service.create_organization(request).await?;
    Ok(ok(&request_id, OrganizationResponse::new(&organization)))
}

#[utoipa::path(
    get,
    path = "/v1/b2b/organizations/{organization_id}",
    tag = "organizations",
    summary = "Get an organization (id or slug)",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    responses(
        (status = 200, description = "The organization", body = Envelope<OrganizationResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn get_organization(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
) -> Answer {
    let organization =
        state.service.get_organization(&parse::organization_ref(&organization_id)?).await?;
    Ok(ok(&request_id, OrganizationResponse::new(&organization)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UpdateOrganizationBody {
    #[serde(default)]
    #[schema(value_type = Option<formats::OrganizationName>)]
    organization_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::OrganizationSlug>)]
    organization_slug: Option<String>,
    #[serde(flatten)]
    fields: OrganizationFields,
}

#[utoipa::path(
    put,
    path = "/v1/b2b/organizations/{organization_id}",
    tag = "organizations",
    summary = "Update an organization",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    request_body = UpdateOrganizationBody,
    responses(
        (
            status = 200,
            description = "The updated organization",
            body = Envelope<OrganizationResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn update_organization(
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateOrganizationBody>,
) -> Answer {
    let update = UpdateOrganization {
        name: body.organization_name.as_deref().map(parse::organization_name).transpose()?,
        slug: body.organization_slug.as_deref().map(parse::slug).transpose()?,
        ..body.fields.parse()?
    };
    let organization =
        service.update_organization(&parse::organization_ref(&organization_id)?, update).await?;
    Ok(ok(&request_id, OrganizationResponse::new(&organization)))
}

#[utoipa::path(
    delete,
    path = "/v1/b2b/organizations/{organization_id}",
    tag = "organizations",
    summary = "Delete an organization, its members and their sessions",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    responses(
        (
            status = 200,
            description = "The deleted organization's id",
            body = Envelope<DeleteOrganizationResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn delete_organization(
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
) -> Answer {
    let organization_id =
        service.delete_organization(&parse::organization_ref(&organization_id)?).await?;
    Ok(ok(&request_id, DeleteOrganizationResponse { organization_id }))
}

/// The optional member fields, shared by create and update: one parser for both.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(super) struct MemberFields {
    #[serde(default)]
    #[schema(value_type = Option<formats::MemberName>)]
    name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<formats::ExternalIdOrEmpty>)]
    external_id: Option<String>,
    /// Explicit roles; every member also has `tessera_member`.
    #[serde(default)]
    #[schema(value_type = Option<formats::RoleIds>)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<formats::Metadata>)]
    trusted_metadata: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<formats::Metadata>)]
    untrusted_metadata: Option<Value>,
}

impl MemberFields {
    /// The fields as a change; `""` clears an optional field.
    fn parse(self) -> Result<UpdateMember, ApiError> {
        Ok(UpdateMember {
            email_address: None,
            name: self.name.map(|n| (!n.is_empty()).then_some(n)),
            external_id: self
                .external_id
                .as_deref()
                .map(|v| parse::optional_external_id(Some(v)))
                .transpose()?,
            roles: self.roles.as_deref().map(parse::roles).transpose()?,
            trusted_metadata: parse::metadata(self.trusted_metadata, "trusted_metadata")?,
            untrusted_metadata: parse::metadata(self.untrusted_metadata, "untrusted_metadata")?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateMemberBody {
    #[schema(value_type = formats::EmailAddress)]
    email_address: String,
    #[serde(flatten)]
    fields: MemberFields,
}

#[utoipa::path(
    post,
    path = "/v1/b2b/organizations/{organization_id}/members",
    tag = "members",
    summary = "Create a member",
    params(("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug")),
    request_body = CreateMemberBody,
    responses(
        (status = 200, description = "The new member", body = Envelope<MemberResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_member(
    State(state): State<AppState>,
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateMemberBody>,
) -> Answer {
    let mut request = CreateMember::new(parse::email(&body.email_address)?);
    let fields = body.fields.parse()?;
    request.name = fields.name.flatten();
    request.external_id = fields.external_id.flatten();
    request.roles = fields.roles.unwrap_or_default();
    request.trusted_metadata = fields.trusted_metadata.unwrap_or_default();
    request.untrusted_metadata = fields.untrusted_metadata.unwrap_or_default();
    let (member, organization) =
        service.create_member(&parse::organization_ref(&organization_id)?, request).await?;
    let roles = state.service.policy().session_roles(&member.roles);
    Ok(ok(&request_id, MemberResponse::new(&member, &roles, &organization)))
}

/// Documented as `formats::MemberLookup`.
#[derive(Debug, Deserialize)]
pub(super) struct GetMemberQuery {
    /// The member's id or external id (exactly one of `member_id` and `email_address`).
    #[serde(default)]
    member_id: Option<String>,
    #[serde(default)]
    email_address: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/b2b/organizations/{organization_id}/member",
    tag = "members",
    summary = "Get a member by member_id or email_address",
    params(
        ("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug"),
        (
            "lookup" = formats::MemberLookup,
            Query,
            style = Form,
            explode,
            description = "Exactly one of `member_id` (an id or external id) and `email_address`"
        ),
    ),
    responses(
        (status = 200, description = "The member", body = Envelope<MemberResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn get_member(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(organization_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<GetMemberQuery>,
) -> Answer {
    let member = match (query.member_id.as_deref(), query.email_address.as_deref()) {
        (Some(id), None) => parse::member_ref(id)?,
        (None, Some(email)) => MemberRef::Email(parse::email(email)?),
        _ => {
            return Err(ApiError::invalid(
                "query",
                "give exactly one of member_id and email_address",
            ));
        }
    };
    let (member, organization) =
        state.service.get_member(&parse::organization_ref(&organization_id)?, &member).await?;
    let roles = state.service.policy().session_roles(&member.roles);
    Ok(ok(&request_id, MemberResponse::new(&member, &roles, &organization)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UpdateMemberBody {
    #[serde(default)]
    #[schema(value_type = Option<formats::EmailAddress>)]
    email_address: Option<String>,
    #[serde(flatten)]
    fields: MemberFields,
}

#[utoipa::path(
    put,
    path = "/v1/b2b/organizations/{organization_id}/members/{member_id}",
    tag = "members",
    summary = "Update a member",
    params(
        ("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug"),
        ("member_id" = formats::MemberRef, Path, description = "The member's id or external id"),
    ),
    request_body = UpdateMemberBody,
    responses(
        (status = 200, description = "The updated member", body = Envelope<MemberResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn update_member(
    State(state): State<AppState>,
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath((organization_id, member_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<UpdateMemberBody>,
) -> Answer {
    let update = UpdateMember {
        email_address: body.email_address.as_deref().map(parse::email).transpose()?,
        ..body.fields.parse()?
    };
    let (member, organization) = service
        .update_member(
            &parse::organization_ref(&organization_id)?,
            &parse::member_ref(&member_id)?,
            update,
        )
        .await?;
    let roles = state.service.policy().session_roles(&member.roles);
    Ok(ok(&request_id, MemberResponse::new(&member, &roles, &organization)))
}

#[utoipa::path(
    delete,
    path = "/v1/b2b/organizations/{organization_id}/members/{member_id}",
    tag = "members",
    summary = "Delete a member and their sessions",
    params(
        ("organization_id" = formats::OrganizationRef, Path, description = "The organization's id or slug"),
        ("member_id" = formats::MemberRef, Path, description = "The member's id or external id"),
    ),
    responses(
        (
            status = 200,
            description = "The deleted member's id",
            body = Envelope<DeleteMemberResponse>,
        ),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn delete_member(
    Acting(service): Acting,
    request_id: RequestId,
    ApiPath((organization_id, member_id)): ApiPath<(String, String)>,
) -> Answer {
    let (member_id, _) = service
        .delete_member(&parse::organization_ref(&organization_id)?, &parse::member_ref(&member_id)?)
        .await?;
    Ok(ok(&request_id, DeleteMemberResponse { member_id }))
}
