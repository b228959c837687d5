//! Webhook endpoints and deliveries (Tessera routes): endpoints get the audit log's events,
//! signed per the Standard Webhooks spec; the `whsec_` secret is shown once, at creation and at
//! each rotation. `serve`'s dispatcher (`crate::dispatcher`) sends them.

use axum::extract::State;
use chrono::{SecondsFormat, TimeDelta};
use serde::{Deserialize, Serialize};
use tessera_api::{
    CreateWebhookEndpoint,
    views::stytch::{Envelope, ErrorBody},
};
use tessera_core::{ErrorType, EventType, OrganizationId};
use tessera_store::{
    Delivery, DeliveryFilter, DeliveryId, DeliveryStatus, EndpointUpdate, WebhookEndpoint,
    WebhookEndpointId,
};
use tessera_webhooks::{WebhookSecret, WebhookUrl};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    answer::{Answer, ok},
    error::ApiError,
    events::EventView,
    extract::{ApiJson, ApiPath, ApiQuery},
    formats,
    request_id::RequestId,
};

/// How long the secrets an endpoint had keep signing after a rotation (Svix: 24 hours), so that
/// its receiver can switch to the new one without refusing a delivery.
pub(crate) const SECRET_ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// An endpoint as the API shows it: never its secrets.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointView {
    endpoint_id: String,
    url: String,
    description: Option<String>,
    /// Empty: every type.
    event_types: Vec<&'static str>,
    /// `null`: every organization.
    organization_id: Option<String>,
    enabled: bool,
    /// Why it was disabled (`410 Gone`, failing for days), if it was.
    disabled_reason: Option<String>,
    /// Since when every attempt failed, if they do.
    failing_since: Option<String>,
    created_at: String,
    updated_at: String,
}

fn instant(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<&WebhookEndpoint> for EndpointView {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            endpoint_id: e.id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            event_types: e.event_types.iter().map(|t| t.as_str()).collect(),
            organization_id: e.organization_id.map(|id| id.to_string()),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since.map(instant),
            created_at: instant(e.created_at),
            updated_at: instant(e.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryView {
    delivery_id: String,
    endpoint_id: String,
    /// `pending`, `delivered` or `dead`.
    status: &'static str,
    attempts: u32,
    next_attempt_at: String,
    last_attempt_at: Option<String>,
    last_status: Option<u16>,
    last_error: Option<String>,
    created_at: String,
    event: EventView,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            delivery_id: d.id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: instant(d.next_attempt_at),
            last_attempt_at: d.last_attempt_at.map(instant),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: instant(d.created_at),
            event: EventView::from(&d.event),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EndpointResponse {
    endpoint: EndpointView,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EndpointWithSecretResponse {
    endpoint: EndpointView,
    /// The signing secret (`whsec_…`): shown this once; Tessera cannot show it again.
    secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EndpointsResponse {
    endpoints: Vec<EndpointView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeliveryResponse {
    delivery: DeliveryView,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeliveriesResponse {
    deliveries: Vec<DeliveryView>,
    /// Pass as `after` for the next page; absent when this page was not full.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeletedResponse {}

pub(crate) fn checked_url(
    policy: tessera_webhooks::TargetPolicy,
    value: &str,
) -> Result<String, ApiError> {
    // A URI, not an IRI: a host in another script is written in punycode (`xn--…`), so that
    // what is stored is what is requested.
    if !value.is_ascii() {
        return Err(ApiError::new(
            ErrorType::InvalidWebhookUrl,
            "url is refused: it must be ASCII (write an international host in punycode)",
        ));
    }
    WebhookUrl::parse(value, policy).map(|url| url.as_str().to_owned()).map_err(|e| {
        ApiError::new(ErrorType::InvalidWebhookUrl, format!("url is refused: {e} ({})", e.code()))
    })
}

pub(crate) fn event_types(values: &[String]) -> Result<Vec<EventType>, ApiError> {
    values.iter().map(|t| t.parse::<EventType>().map_err(ApiError::from)).collect()
}

fn endpoint_id(value: &str) -> Result<WebhookEndpointId, ApiError> {
    uuid::Uuid::parse_str(value).map(WebhookEndpointId::from_uuid).map_err(|_| {
        ApiError::new(ErrorType::WebhookEndpointNotFound, "No webhook endpoint has this id.")
    })
}

fn delivery_id(value: &str) -> Result<DeliveryId, ApiError> {
    uuid::Uuid::parse_str(value).map(DeliveryId::from_uuid).map_err(|_| {
        ApiError::new(ErrorType::WebhookDeliveryNotFound, "No webhook delivery has this id.")
    })
}

pub(crate) fn new_secret() -> Result<WebhookSecret, ApiError> {
    WebhookSecret::generate().map_err(|_| {
        ApiError::new(ErrorType::InternalServerError, "The OS random source failed; try again.")
    })
}

/// The body of a create. Its fields sit in [`CreateEndpointFields`], flattened, so that only a
/// JSON object is read as one (serde would otherwise take an array, field by field).
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateEndpointBody {
    #[serde(flatten)]
    fields: CreateEndpointFields,
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CreateEndpointFields {
    /// Where deliveries go: `https://…` (or `http://…`); private, loopback and link-local
    /// addresses are refused unless the deployment allows them.
    #[schema(value_type = formats::WebhookUrl)]
    url: String,
    #[serde(default)]
    #[schema(value_type = Option<formats::WebhookDescription>)]
    description: Option<String>,
    /// Only these event types (default: every type).
    #[serde(default)]
    #[schema(value_type = Option<Vec<formats::EventType>>)]
    event_types: Option<Vec<String>>,
    /// Only this organization's events (default: every organization's).
    #[serde(default)]
    #[schema(value_type = Option<formats::Id>)]
    organization_id: Option<String>,
}

pub(crate) fn organization(value: Option<&str>) -> Result<Option<OrganizationId>, ApiError> {
    Ok(value.map(OrganizationId::parse).transpose()?)
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/endpoints",
    tag = "webhooks",
    operation_id = "create_webhook_endpoint",
    summary = "Add a webhook endpoint (Tessera); its secret is in this answer only",
    request_body = CreateEndpointBody,
    responses(
        (status = 200, description = "The endpoint and its signing secret", body = Envelope<EndpointWithSecretResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn create_endpoint(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiJson(CreateEndpointBody { fields: body }): ApiJson<CreateEndpointBody>,
) -> Answer {
    let secret = new_secret()?;
    let request = CreateWebhookEndpoint {
        url: checked_url(state.webhook_policy(), &body.url)?,
        description: description(body.description)?,
        event_types: event_types(body.event_types.as_deref().unwrap_or_default())?,
        organization_id: organization(body.organization_id.as_deref())?,
        secret: secret.expose().to_string(),
    };
    let endpoint = state.service.create_webhook_endpoint(request).await?;
    let shown = EndpointWithSecretResponse {
        endpoint: EndpointView::from(&endpoint),
        secret: secret.expose().to_string(),
    };
    Ok(ok(&request_id, shown))
}

/// The longest endpoint description, in characters.
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 256;

pub(crate) fn description(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(d) if d.chars().count() > DESCRIPTION_MAX_CHARS || d.chars().any(char::is_control) => {
            Err(ApiError::invalid(
                "description",
                "must be at most 256 characters without control characters",
            ))
        }
        other => Ok(other.filter(|d| !d.is_empty())),
    }
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/endpoints",
    tag = "webhooks",
    operation_id = "list_webhook_endpoints",
    summary = "List webhook endpoints (Tessera)",
    responses(
        (status = 200, description = "Every endpoint", body = Envelope<EndpointsResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn list_endpoints(State(state): State<AppState>, request_id: RequestId) -> Answer {
    let endpoints = state.service.list_webhook_endpoints().await?;
    Ok(ok(
        &request_id,
        EndpointsResponse { endpoints: endpoints.iter().map(EndpointView::from).collect() },
    ))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    operation_id = "get_webhook_endpoint",
    summary = "Get a webhook endpoint (Tessera)",
    params(("endpoint_id" = formats::Id, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = Envelope<EndpointResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn get_endpoint(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Answer {
    let endpoint = state.service.get_webhook_endpoint(endpoint_id(&id)?).await?;
    Ok(ok(&request_id, EndpointResponse { endpoint: EndpointView::from(&endpoint) }))
}

/// The body of an update; see [`CreateEndpointBody`] for why its fields are flattened.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UpdateEndpointBody {
    #[serde(flatten)]
    fields: UpdateEndpointFields,
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UpdateEndpointFields {
    #[serde(default)]
    #[schema(value_type = Option<formats::WebhookUrl>)]
    url: Option<String>,
    /// `""` removes it.
    #[serde(default)]
    #[schema(value_type = Option<formats::WebhookDescription>)]
    description: Option<String>,
    /// Replaces the filter; `[]`: every type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<formats::EventType>>)]
    event_types: Option<Vec<String>>,
    /// Replaces the filter; `""`: every organization.
    #[serde(default)]
    #[schema(value_type = Option<formats::IdOrEmpty>)]
    organization_id: Option<String>,
    /// `true` re-enables a disabled endpoint (and forgets why it was disabled).
    #[serde(default)]
    enabled: Option<bool>,
}

#[utoipa::path(
    put,
    path = "/v1/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    operation_id = "update_webhook_endpoint",
    summary = "Update, disable or re-enable a webhook endpoint (Tessera)",
    params(("endpoint_id" = formats::Id, Path, description = "The endpoint's id")),
    request_body = UpdateEndpointBody,
    responses(
        (status = 200, description = "The endpoint as updated", body = Envelope<EndpointResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn update_endpoint(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
    ApiJson(UpdateEndpointBody { fields: body }): ApiJson<UpdateEndpointBody>,
) -> Answer {
    let update = EndpointUpdate {
        url: body.url.as_deref().map(|u| checked_url(state.webhook_policy(), u)).transpose()?,
        description: body.description.map(|d| description(Some(d))).transpose()?,
        event_types: body.event_types.as_deref().map(event_types).transpose()?,
        organization_id: body
            .organization_id
            .map(|o| organization(Some(o.as_str()).filter(|o| !o.is_empty())))
            .transpose()?,
        enabled: body.enabled,
    };
    let endpoint = state.service.update_webhook_endpoint(endpoint_id(&id)?, update).await?;
    Ok(ok(&request_id, EndpointResponse { endpoint: EndpointView::from(&endpoint) }))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/endpoints/{endpoint_id}",
    tag = "webhooks",
    operation_id = "delete_webhook_endpoint",
    summary = "Delete a webhook endpoint and its deliveries (Tessera)",
    params(("endpoint_id" = formats::Id, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn delete_endpoint(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Answer {
    state.service.delete_webhook_endpoint(endpoint_id(&id)?).await?;
    Ok(ok(&request_id, DeletedResponse {}))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/endpoints/{endpoint_id}/secret/rotate",
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    summary = "Rotate an endpoint's signing secret (Tessera); both sign for 24 hours",
    params(("endpoint_id" = formats::Id, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint and its new secret, shown this once", body = Envelope<EndpointWithSecretResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn rotate_secret(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Answer {
    let secret = new_secret()?;
    let endpoint = state
        .service
        .rotate_webhook_secret(
            endpoint_id(&id)?,
            secret.expose().to_string(),
            SECRET_ROTATION_OVERLAP,
        )
        .await?;
    let shown = EndpointWithSecretResponse {
        endpoint: EndpointView::from(&endpoint),
        secret: secret.expose().to_string(),
    };
    Ok(ok(&request_id, shown))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    #[param(value_type = Option<formats::Id>)]
    endpoint_id: Option<String>,
    /// `pending`, `delivered` or `dead` (the dead-letter list).
    #[param(value_type = Option<formats::DeliveryStatus>)]
    status: Option<String>,
    /// The cursor: deliveries after this one (the previous page's `next_cursor`).
    #[param(value_type = Option<formats::Id>)]
    after: Option<String>,
    /// At most this many (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/deliveries",
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    summary = "List webhook deliveries, e.g. the dead letters (Tessera)",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = Envelope<DeliveriesResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn list_deliveries(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Answer {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let parse_id = |value: &str, field: &str| {
        uuid::Uuid::parse_str(value).map_err(|_| ApiError::invalid(field, "must be a UUID"))
    };
    let filter = DeliveryFilter {
        endpoint_id: query
            .endpoint_id
            .as_deref()
            .map(|v| parse_id(v, "endpoint_id").map(WebhookEndpointId::from_uuid))
            .transpose()?,
        status: query
            .status
            .as_deref()
            .map(|s| {
                DeliveryStatus::parse(s).ok_or_else(|| {
                    ApiError::invalid("status", "must be pending, delivered or dead")
                })
            })
            .transpose()?,
        after: query
            .after
            .as_deref()
            .map(|v| parse_id(v, "after").map(DeliveryId::from_uuid))
            .transpose()?,
    };
    let deliveries = state.service.list_webhook_deliveries(&filter, limit).await?;
    let next_cursor = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id.to_string()))
        .flatten();
    let body = DeliveriesResponse {
        deliveries: deliveries.iter().map(DeliveryView::from).collect(),
        next_cursor,
    };
    Ok(ok(&request_id, body))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    summary = "Send a delivery again now, e.g. a dead letter (Tessera)",
    params(("delivery_id" = formats::Id, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery, due now (a delivered one is left as it is)", body = Envelope<DeliveryResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn retry_delivery(
    State(state): State<AppState>,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Answer {
    let delivery = state.service.retry_webhook_delivery(delivery_id(&id)?).await?;
    Ok(ok(&request_id, DeliveryResponse { delivery: DeliveryView::from(&delivery) }))
}
