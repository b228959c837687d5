//! Health, the OpenAPI document, and the answers for unknown routes and methods.

use axum::{Json, extract::State, response::IntoResponse};
use serde_json::{Value, json};

use super::{AppState, error::ApiError};

/// `GET /healthz`: 200 when the store answers, 503 otherwise.
pub(super) async fn healthz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.service.store().organizations.list_organizations(None, 1).await?;
    Ok(Json(json!({"status": "ok", "store": state.service.store().backend()})))
}

pub(super) async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// One documented route.
struct RouteDoc {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// `project`: HTTP Basic `project_id:secret` or `Bearer <secret>`; `member`: a member-session
    /// token as `Bearer`; `none`: public.
    auth: &'static str,
}

/// Every route of [`super::router`]; an end-to-end test checks that each one is routed.
const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "post",
        path: "/v1/b2b/organizations",
        summary: "Create an organization",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/organizations/{organization_id}",
        summary: "Get an organization (id or slug)",
        auth: "project",
    },
    RouteDoc {
        method: "put",
        path: "/v1/b2b/organizations/{organization_id}",
        summary: "Update an organization",
        auth: "project",
    },
    RouteDoc {
        method: "delete",
        path: "/v1/b2b/organizations/{organization_id}",
        summary: "Delete an organization, its members and their sessions",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/b2b/organizations/{organization_id}/members",
        summary: "Create a member",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/organizations/{organization_id}/member",
        summary: "Get a member by member_id or email_address",
        auth: "project",
    },
    RouteDoc {
        method: "put",
        path: "/v1/b2b/organizations/{organization_id}/members/{member_id}",
        summary: "Update a member",
        auth: "project",
    },
    RouteDoc {
        method: "delete",
        path: "/v1/b2b/organizations/{organization_id}/members/{member_id}",
        summary: "Delete a member and their sessions",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/b2b/sessions",
        summary: "Create a session (Tessera)",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/sessions",
        summary: "List a member's active sessions",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/b2b/sessions/authenticate",
        summary: "Authenticate a session token or JWT",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/b2b/sessions/revoke",
        summary: "Revoke a session or all of a member's",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/b2b/sessions/exchange",
        summary: "Exchange a session for one in another organization",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/sessions/jwks/{project_id}",
        summary: "The JWKS that verifies session JWTs",
        auth: "none",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/rbac/policy",
        summary: "The RBAC policy",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/b2b/rbac/organizations/{organization_id}",
        summary: "Organization-scoped roles (none in Tessera)",
        auth: "project",
    },
    RouteDoc {
        method: "post",
        path: "/v1/member-sessions/",
        summary: "Create a Polar member session",
        auth: "project",
    },
    RouteDoc {
        method: "get",
        path: "/v1/customer-portal/customer-session/introspect",
        summary: "Expiry and return URL of the calling member session",
        auth: "member",
    },
    RouteDoc {
        method: "get",
        path: "/v1/customer-portal/customer-session/user",
        summary: "The member of the calling member session",
        auth: "member",
    },
    RouteDoc {
        method: "get",
        path: "/healthz",
        summary: "Health (the store answers)",
        auth: "none",
    },
    RouteDoc { method: "get", path: "/metrics", summary: "Prometheus metrics", auth: "none" },
    RouteDoc { method: "get", path: "/openapi.json", summary: "This document", auth: "none" },
];

/// `GET /openapi.json`: an OpenAPI 3.1 document of every route, built from [`ROUTES`].
pub(super) async fn openapi() -> Json<Value> {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let security = match route.auth {
            "project" => json!([{"projectBasic": []}, {"projectBearer": []}]),
            "member" => json!([{"memberSession": []}]),
            _ => json!([]),
        };
        let operation = json!({
            "summary": route.summary,
            "security": security,
            "responses": {
                "200": {"description": "Success: a JSON body with `request_id` and `status_code`."},
                "4XX": {"description": "`{status_code, request_id, error_type, error_message, error_url}`"},
                "5XX": {"description": "`{status_code, request_id, error_type, error_message, error_url}`"}
            }
        });
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(route.method.to_owned(), operation);
        }
    }
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Member sessions for B2B software; wire-compatible with Stytch's B2B Sessions API and Polar's member sessions."
        },
        "components": {"securitySchemes": {
            "projectBasic": {"type": "http", "scheme": "basic", "description": "project_id:secret"},
            "projectBearer": {"type": "http", "scheme": "bearer", "description": "the project secret"},
            "memberSession": {"type": "http", "scheme": "bearer", "description": "a member-session token"}
        }},
        "paths": paths
    }))
}
