//! `GET /v1/events`: Tessera's audit log, filtered and paged by its sequence (a Tessera route;
//! neither Stytch nor Polar has one).

use axum::{Json, response::IntoResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_api::views::stytch::{Envelope, ErrorBody};
use tessera_core::{Actor, Event, EventFilter, EventType, MemberId, OrganizationId, SessionId};
use utoipa::{IntoParams, ToSchema};

use super::{acting::Acting, error::ApiError, extract::ApiQuery, formats, request_id::RequestId};

/// Events per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventsQuery {
    /// Only events of this organization (its id: a deleted organization has no slug).
    #[param(value_type = Option<formats::Id>)]
    organization_id: Option<String>,
    #[param(value_type = Option<formats::Id>)]
    member_id: Option<String>,
    #[param(value_type = Option<formats::Id>)]
    member_session_id: Option<String>,
    /// Event types, comma-separated (e.g. `session.created,session.revoked`).
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<formats::EventTypes>)]
    types: Option<String>,
    /// At or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// The cursor: only events after this sequence (the `next_cursor` of the previous page).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many events (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Who caused an event: `project` (the project's credentials), `member` (with `member_id`),
/// `operator` (the `tessera` command line) or `system`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActorView {
    #[serde(rename = "type")]
    actor_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
}

/// One event of the audit log. Never holds a token, a JWT or a secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    /// UUIDv7; a receiver's idempotency key.
    event_id: String,
    /// Position in the log, increasing in commit order.
    sequence: u64,
    #[serde(rename = "type")]
    event_type: &'static str,
    /// UTC, with microseconds.
    occurred_at: String,
    organization_id: Option<String>,
    member_id: Option<String>,
    member_session_id: Option<String>,
    actor: ActorView,
    request_id: Option<String>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    #[schema(value_type = Object)]
    payload: Value,
}

impl From<&Event> for EventView {
    fn from(event: &Event) -> Self {
        let r = &event.record;
        Self {
            event_id: r.id.to_string(),
            sequence: event.sequence,
            event_type: r.event_type.as_str(),
            occurred_at: r.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            organization_id: r.organization_id.map(|id| id.to_string()),
            member_id: r.member_id.map(|id| id.to_string()),
            member_session_id: r.session_id.map(|id| id.to_string()),
            actor: ActorView {
                actor_type: r.actor.kind(),
                member_id: match r.actor {
                    Actor::Member(id) => Some(id.to_string()),
                    _ => None,
                },
            },
            request_id: r.request.request_id.clone(),
            ip_address: r.request.ip_address.clone(),
            user_agent: r.request.user_agent.clone(),
            payload: r.payload.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EventsResponse {
    events: Vec<EventView>,
    /// Pass as `after` for the next page; absent when this page was not full.
    next_cursor: Option<u64>,
}

fn instant(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 instant"))
        })
        .transpose()
}

impl EventsQuery {
    fn filter(&self) -> Result<EventFilter, ApiError> {
        let types = match &self.types {
            None => Vec::new(),
            // Every piece must be a type: `type=` or `a,,b` is a mistake, not "every type".
            Some(list) => {
                list.split(',').map(|t| t.parse::<EventType>()).collect::<Result<_, _>>()?
            }
        };
        Ok(EventFilter {
            organization_id: self
                .organization_id
                .as_deref()
                .map(OrganizationId::parse)
                .transpose()?,
            member_id: self.member_id.as_deref().map(MemberId::parse).transpose()?,
            session_id: self.member_session_id.as_deref().map(SessionId::parse).transpose()?,
            types,
            since: instant("since", self.since.as_deref())?,
            until: instant("until", self.until.as_deref())?,
            after_sequence: self
                .after
                .map(|after| {
                    u64::try_from(after)
                        .map_err(|_| ApiError::invalid("after", "must be at least 0"))
                })
                .transpose()?,
        })
    }
}

/// The audit log: organization, member, session and credential events, oldest first, from a
/// cursor on. Follow it by passing each page's `next_cursor` as `after`: no event is skipped,
/// even one that commits late.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    operation_id = "list_events",
    summary = "List audit-log events (Tessera)",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = Envelope<EventsResponse>),
        (status = "4XX", response = ErrorBody),
        (status = "5XX", response = ErrorBody),
    ),
    security(("projectBasic" = []), ("projectBearer" = [])),
)]
pub(super) async fn list(
    Acting(service): Acting,
    request_id: RequestId,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<axum::response::Response, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=tessera_api::EVENTS_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let events = service.list_events(&query.filter()?, limit).await?;
    let next_cursor =
        (events.len() == limit as usize).then(|| events.last().map(|e| e.sequence)).flatten();
    let body = EventsResponse { events: events.iter().map(EventView::from).collect(), next_cursor };
    Ok(Json(Envelope::ok(&request_id.0, body)).into_response())
}
