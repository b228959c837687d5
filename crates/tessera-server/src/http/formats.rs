//! The formats of request fields as JSON Schemas, stated from the same limits the parsers
//! enforce, so that `/openapi.json` calls valid the requests the server accepts (`cargo xtask
//! schema` holds it to that with schemathesis, both ways: schema-valid requests must be
//! accepted, schema-invalid ones refused). Two limits JSON Schema cannot state are only in the
//! descriptions: the serialized size of metadata and of the claims a patch leaves.
//!
//! A field names its format with a marker type (`#[schema(value_type = formats::OrganizationSlug)]`,
//! or `params(("organization_id" = formats::OrganizationRef, Path))`), which utoipa writes as a
//! `$ref` to `#/components/schemas/<name>`. [`apply`] then writes each of those components in
//! full JSON Schema (patterns, `not`, recursion, which utoipa's builders cannot all say), adds
//! the request bodies' "exactly one of" rules, revoke's conditional and the links of the
//! stateful tests, and fills in what only the running deployment knows: its project id, the
//! roles of its RBAC policy and its reserved claim names.

use serde_json::{Map, Value, json};
use tessera_api::{
    IP_ADDRESS_MAX_CHARS, MEMBER_NAME_MAX_CHARS, RETURN_URL_MAX_CHARS, USER_AGENT_MAX_CHARS,
};
use tessera_core::{
    self as core, ClaimNamespaces, DeliveryMethod, FactorText, FactorType, Policy,
    claims::{MAX_CUSTOM_CLAIMS_BYTES, REGISTERED_CLAIMS},
    factor::MAX_FACTORS_PER_SESSION,
    lifetime::{MAX_MINUTES, MIN_MINUTES},
    rbac::MAX_ROLES_PER_MEMBER,
};
use utoipa::openapi::{RefOr, schema::Schema};

/// A comma-separated list of the audit log's event types (`core::EventType::ALL`).
fn event_types() -> Value {
    let one = core::EventType::ALL
        .iter()
        .map(|t| t.as_str().replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|");
    json!({"type": "string", "pattern": format!("^({one})(,({one}))*$")})
}

/// What a marker's own schema says until [`apply`] replaces it; the tests check that it never
/// reaches the served document.
const PLACEHOLDER: &str = "(a request format, written by formats::apply)";

macro_rules! formats {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        $(
            $(#[$doc])*
            pub(super) struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    utoipa::openapi::ObjectBuilder::new().description(Some(PLACEHOLDER)).into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )+

        /// The name of every marker, for the check that [`apply`] writes each one.
        #[cfg(test)]
        pub(super) const MARKERS: &[&str] = &[$(stringify!($name)),+];
    };
}

formats! {
    /// A Tessera id (a UUID, in any form the parser reads).
    Id,
    /// An organization's id or slug.
    OrganizationRef,
    OrganizationSlug,
    OrganizationName,
    /// An external id: 1 to 128 characters, no whitespace or control characters.
    ExternalId,
    /// An external id, or `""` to clear it.
    ExternalIdOrEmpty,
    /// Stytch's `member_id`: a member id or an external id.
    MemberRef,
    EmailAddress,
    /// An email address, or `""` to clear it.
    EmailAddressOrEmpty,
    /// A member's display name, or `""` to clear it.
    MemberName,
    /// `OPTIONAL` or `REQUIRED_FOR_ALL`; `""` leaves it as it is.
    MfaPolicy,
    /// A session or lifetime length in minutes.
    Minutes,
    /// An idle timeout in minutes; `0` turns it off.
    IdleTimeoutMinutes,
    /// A session limit; `0` removes it.
    MaxSessionsPerMember,
    /// What a sign-in does at the session limit; `""` leaves it.
    SessionLimitBehavior,
    /// A metadata object.
    Metadata,
    /// A JSON Merge Patch of the session's custom claims.
    CustomClaimsPatch,
    /// Roles of the deployment's RBAC policy.
    RoleIds,
    /// This deployment's project id.
    ProjectId,
    /// An absolute http(s) URL, or `""` for none.
    ReturnUrlOrEmpty,
    /// Where the session was made from.
    SessionAttributes,
    /// An authentication factor the host application verified.
    FactorInput,
    /// The factors of a sign-in.
    FactorInputs,
    /// `GET …/member`'s query: a member by id or external id, or by email address.
    MemberLookup,
    /// Audit-log event types, comma-separated.
    EventTypes,
    /// One audit-log event type.
    EventType,
    /// A Tessera id, or `""` for none.
    IdOrEmpty,
    /// A webhook endpoint's URL.
    WebhookUrl,
    /// A webhook endpoint's description.
    WebhookDescription,
    /// A webhook delivery's status.
    DeliveryStatus,
}

/// What the document says that only the running deployment knows.
pub(super) struct Deployment<'a> {
    pub(super) project_id: &'a str,
    pub(super) policy: &'a Policy,
    pub(super) claims: &'a ClaimNamespaces,
}

/// Request bodies whose fields are alternatives: exactly one of them must be given. A secret
/// (`session_token`, `session_jwt`, ...) counts when it is a non-empty string (the handlers read
/// `""` as absent), any other field when it is present and not `null`.
const EXACTLY_ONE_OF: &[(&str, &[&str])] = &[
    ("AuthenticateBody", &["session_token", "session_jwt"]),
    ("ExchangeBody", &["session_token", "session_jwt"]),
    ("AddFactorBody", &["session_token", "intermediate_session_token"]),
    ("RevokeBody", &["member_session_id", "session_token", "session_jwt", "member_id"]),
    ("CreateSessionBody", &["member_id", "email_address", "external_id"]),
    ("MemberLookup", &["member_id", "email_address"]),
    ("CreateCustomerSessionBody", &["customer_id", "external_customer_id"]),
];

/// OpenAPI links: what a success answers, fed into the next operation (organization → member →
/// session → authenticate, exchange, step-up, revoke), so that schema-driven tests reach past
/// `404` with ids that exist. `(from operation, link name, to operation, parameters, request body
/// fields)`; values are runtime expressions on the response body.
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
);

const ORGANIZATION_ID: &str = "$response.body#/organization/organization_id";
const MEMBER_ID: &str = "$response.body#/member/member_id";
const SESSION_TOKEN: &str = "$response.body#/session_token";
const SESSION_JWT: &str = "$response.body#/session_jwt";

const LINKS: &[Link] = &[
    (
        "create_organization",
        "GetOrganization",
        "get_organization",
        &[("organization_id", ORGANIZATION_ID)],
        &[],
    ),
    (
        "create_organization",
        "UpdateOrganization",
        "update_organization",
        &[("organization_id", ORGANIZATION_ID)],
        &[],
    ),
    (
        "create_organization",
        "CreateMember",
        "create_member",
        &[("organization_id", ORGANIZATION_ID)],
        &[],
    ),
    (
        "create_organization",
        "OrganizationPolicy",
        "organization_policy",
        &[("organization_id", ORGANIZATION_ID)],
        &[],
    ),
    (
        "create_organization",
        "RevokeOrganizationSessions",
        "revoke_organization_sessions",
        &[("organization_id", ORGANIZATION_ID)],
        &[],
    ),
    (
        "create_member",
        "UpdateMember",
        "update_member",
        &[("organization_id", ORGANIZATION_ID), ("member_id", MEMBER_ID)],
        &[],
    ),
    ("create_member", "GetMember", "get_member", &[("organization_id", ORGANIZATION_ID)], &[]),
    (
        "create_member",
        "ListSessions",
        "list_sessions",
        &[("organization_id", ORGANIZATION_ID), ("member_id", MEMBER_ID)],
        &[],
    ),
    (
        "create_member",
        "CreateSession",
        "create_session",
        &[],
        &[("organization_id", ORGANIZATION_ID), ("member_id", MEMBER_ID)],
    ),
    (
        "create_session",
        "AuthenticateToken",
        "authenticate",
        &[],
        &[("session_token", SESSION_TOKEN)],
    ),
    ("create_session", "AuthenticateJwt", "authenticate", &[], &[("session_jwt", SESSION_JWT)]),
    (
        "create_session",
        "Exchange",
        "exchange_session",
        &[],
        &[("session_token", SESSION_TOKEN), ("organization_id", ORGANIZATION_ID)],
    ),
    ("create_session", "StepUp", "add_session_factor", &[], &[("session_token", SESSION_TOKEN)]),
    ("create_session", "Revoke", "revoke_sessions", &[], &[("session_token", SESSION_TOKEN)]),
    (
        "create_member",
        "DeleteMember",
        "delete_member",
        &[("organization_id", ORGANIZATION_ID), ("member_id", MEMBER_ID)],
        &[],
    ),
];

/// The secrets among the alternatives above.
const SECRETS: &[&str] = &["session_token", "session_jwt", "intermediate_session_token"];

/// Writes every format component, the alternatives and the deployment's values into `document`
/// (the JSON of utoipa's document). Its `expect`s and `panic!`s name schemas and operations of
/// this crate's own document, never anything of a request: the unit tests build it.
pub(super) fn apply(document: &mut Value, deployment: &Deployment<'_>) {
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .expect("the document has component schemas");
    for (name, schema) in formats(deployment) {
        schemas.insert(name.to_owned(), schema);
    }
    for (body, fields) in EXACTLY_ONE_OF {
        let Some(Value::Object(schema)) = schemas.get_mut(*body) else {
            panic!("no request body schema named {body}");
        };
        let alternatives: Vec<Value> = fields
            .iter()
            .map(|field| {
                let given = if SECRETS.contains(field) {
                    json!({"type": "string", "minLength": 1})
                } else {
                    json!({"not": {"type": "null"}})
                };
                json!({"required": [field], "properties": {*field: given}})
            })
            .collect();
        schema.insert("oneOf".to_owned(), Value::Array(alternatives));
    }
    // A member named by external id is found within an organization only (ids are global).
    if let Some(Value::Object(revoke)) = schemas.get_mut("RevokeBody") {
        revoke.insert(
            "if".to_owned(),
            json!({
                "required": ["member_id"],
                "properties": {"member_id": {"type": "string", "not": reference("Id")}},
            }),
        );
        revoke.insert(
            "then".to_owned(),
            json!({
                "required": ["organization_id"],
                "properties": {"organization_id": {"not": {"type": "null"}}},
            }),
        );
    }
    add_links(document);
}

fn add_links(document: &mut Value) {
    let paths = document["paths"].as_object_mut().expect("the document has paths");
    for (from, name, to, parameters, body) in LINKS {
        let operation = paths
            .values_mut()
            .flat_map(|item| item.as_object_mut().into_iter().flat_map(|item| item.values_mut()))
            .find(|operation| operation["operationId"] == *from)
            .unwrap_or_else(|| panic!("no operation {from}"));
        let mut link = Map::new();
        link.insert("operationId".into(), json!(to));
        if !parameters.is_empty() {
            let parameters: Map<String, Value> =
                parameters.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
            link.insert("parameters".into(), Value::Object(parameters));
        }
        if !body.is_empty() {
            let body: Map<String, Value> =
                body.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
            link.insert("requestBody".into(), Value::Object(body));
        }
        operation["responses"]["200"]["links"][*name] = Value::Object(link);
    }
}

/// Characters Rust's `char::is_control` or `char::is_whitespace` is true of, as a regex class
/// body: C0, DEL and C1 controls, and Unicode's `White_Space`.
const CONTROL_OR_WHITESPACE: &str =
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Characters `char::is_control` is true of.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// One hyphenated UUID.
const UUID_HYPHENATED: &str =
    "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";

fn uuid_pattern() -> String {
    format!(
        "^([0-9A-Fa-f]{{32}}|{UUID_HYPHENATED}|\\{{{UUID_HYPHENATED}\\}}|\
         [Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:{UUID_HYPHENATED})$"
    )
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Any JSON value without a NUL character in a string or an object key (what PostgreSQL's
/// `jsonb` can store).
fn json_without_nul() -> Value {
    json!({
        "anyOf": [
            {"type": ["null", "boolean", "number"]},
            {"type": "string", "pattern": r"^[^\u0000]*$"},
            {"type": "array", "items": reference("JsonWithoutNul")},
            {
                "type": "object",
                "propertyNames": {"pattern": r"^[^\u0000]*$"},
                "additionalProperties": reference("JsonWithoutNul"),
            },
        ],
    })
}

/// A merge-patch value: like [`json_without_nul`], except that a key holding `null` (a
/// deletion) may be anything, since it is not stored.
fn patch_without_nul() -> Value {
    json!({
        "anyOf": [
            {"type": ["null", "boolean", "number"]},
            {"type": "string", "pattern": r"^[^\u0000]*$"},
            {"type": "array", "items": reference("JsonWithoutNul")},
            {
                "type": "object",
                "patternProperties": {r"\u0000": {"type": "null"}},
                "additionalProperties": reference("MergePatchWithoutNul"),
            },
        ],
    })
}

fn formats(deployment: &Deployment<'_>) -> Vec<(&'static str, Value)> {
    let external_id = json!({
        "type": "string",
        "minLength": 1,
        "maxLength": core::ExternalId::MAX_LEN,
        "pattern": format!("^[^{CONTROL_OR_WHITESPACE}]*$"),
    });
    let slug = json!({
        "type": "string",
        "minLength": core::OrganizationSlug::MIN_LEN,
        "maxLength": core::OrganizationSlug::MAX_LEN,
        "pattern": "^[A-Za-z0-9._~-]*$",
        "not": {"pattern": uuid_pattern()},
        "description": "Letters, digits and `-` `.` `_` `~`; not a UUID.",
    });
    // Local part and domain: no whitespace, control character or `@`; the domain's labels are
    // separated by single dots.
    let atom = format!("[^@{CONTROL_OR_WHITESPACE}]");
    let label = format!("[^@.{CONTROL_OR_WHITESPACE}]");
    let email = json!({
        "type": "string",
        "minLength": 3,
        "maxLength": core::EmailAddress::MAX_LEN,
        "pattern": format!("^{atom}{{1,64}}@{label}+(\\.{label}+)*$"),
    });
    let minutes = json!({"type": "integer", "minimum": MIN_MINUTES, "maximum": MAX_MINUTES});
    let reserved_claims: Vec<&str> = REGISTERED_CLAIMS
        .iter()
        .copied()
        .chain([deployment.claims.session.as_str(), deployment.claims.organization.as_str()])
        .collect();
    let roles: Vec<&str> = deployment.policy.roles().iter().map(|r| r.role_id.as_str()).collect();
    let detail_keys: Vec<&str> = FACTOR_DETAILS.iter().map(|detail| detail.key).collect();
    let factor_alternatives: Vec<Value> = FactorType::ALL
        .iter()
        .flat_map(|factor_type| {
            factor_type.allowed_delivery_methods().iter().map(|method| {
                let fitting = FACTOR_DETAILS.iter().find(|d| d.methods.contains(method));
                let mut properties = Map::new();
                properties.insert("type".into(), json!({"const": factor_type.as_str()}));
                properties.insert("delivery_method".into(), json!({"const": method.as_str()}));
                for detail in FACTOR_DETAILS {
                    let schema = if fitting.is_some_and(|f| f.key == detail.key) {
                        json!({"anyOf": [{"type": "null"}, detail.schema()]})
                    } else {
                        json!({"type": "null"})
                    };
                    properties.insert(detail.key.into(), schema);
                }
                json!({"properties": properties})
            })
        })
        .collect();
    let mut factor_properties = Map::new();
    factor_properties.insert(
        "type".into(),
        json!({"enum": FactorType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()}),
    );
    factor_properties.insert(
        "delivery_method".into(),
        json!({"enum": DeliveryMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>()}),
    );
    factor_properties.insert(
        "last_authenticated_at".into(),
        json!({
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the member proved this factor; now when left out or later than \
                            now.",
        }),
    );
    factor_properties.insert("created_at".into(), json!({"description": "Ignored."}));
    factor_properties.insert("updated_at".into(), json!({"description": "Ignored."}));
    for key in &detail_keys {
        factor_properties.insert(
            (*key).into(),
            json!({"description": "A detail object; only the one that fits the delivery method."}),
        );
    }

    vec![
        ("Id", json!({"type": "string", "pattern": uuid_pattern()})),
        ("OrganizationSlug", slug),
        ("OrganizationRef", json!({"anyOf": [reference("Id"), reference("OrganizationSlug")]})),
        (
            "OrganizationName",
            json!({
                "type": "string",
                "minLength": 1,
                "maxLength": core::OrganizationName::MAX_LEN,
                "pattern": format!("^[^{CONTROL}]*[^{CONTROL_OR_WHITESPACE}][^{CONTROL}]*$"),
                "description": "Not blank; no control characters.",
            }),
        ),
        ("ExternalId", external_id),
        ("ExternalIdOrEmpty", json!({"anyOf": [{"const": ""}, reference("ExternalId")]})),
        // A UUID is a valid external id too: the parser tries the id first.
        ("MemberRef", reference("ExternalId")),
        ("EmailAddress", email),
        ("EmailAddressOrEmpty", json!({"anyOf": [{"const": ""}, reference("EmailAddress")]})),
        (
            "MemberName",
            json!({
                "type": "string",
                "maxLength": MEMBER_NAME_MAX_CHARS,
                "pattern": format!("^[^{CONTROL}]*$"),
            }),
        ),
        ("MfaPolicy", json!({"enum": ["", "OPTIONAL", "REQUIRED_FOR_ALL"]})),
        ("EventTypes", event_types()),
        (
            "EventType",
            json!({"enum": core::EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>()}),
        ),
        ("IdOrEmpty", json!({"anyOf": [{"const": ""}, reference("Id")]})),
        (
            "WebhookUrl",
            json!({
                "type": "string",
                "format": "uri",
                "pattern": "^https?://",
                "maxLength": tessera_webhooks::MAX_URL_LEN,
                "description": "An absolute http(s) URL without user info. Private, loopback and \
                    link-local targets are refused (`400 invalid_webhook_url`) unless the \
                    deployment allows them, so a well-formed URL may still be refused.",
            }),
        ),
        (
            "WebhookDescription",
            json!({
                "type": "string",
                "maxLength": super::webhooks::DESCRIPTION_MAX_CHARS,
                "pattern": format!("^[^{CONTROL}]*$"),
            }),
        ),
        ("DeliveryStatus", json!({"enum": ["pending", "delivered", "dead"]})),
        ("Minutes", minutes.clone()),
        ("IdleTimeoutMinutes", json!({"anyOf": [{"const": 0}, minutes]})),
        (
            "MaxSessionsPerMember",
            json!({"type": "integer", "minimum": 0, "maximum": core::SessionLimit::MAX}),
        ),
        (
            "SessionLimitBehavior",
            json!({
                "enum": std::iter::once("")
                    .chain(core::WhenLimitReached::ALL.iter().map(|w| w.as_str()))
                    .collect::<Vec<_>>(),
            }),
        ),
        ("JsonWithoutNul", json_without_nul()),
        ("MergePatchWithoutNul", patch_without_nul()),
        (
            "Metadata",
            json!({
                "type": "object",
                "propertyNames": {"pattern": r"^[^\u0000]*$"},
                "additionalProperties": reference("JsonWithoutNul"),
                "description": format!(
                    "At most {} bytes as JSON; no NUL character anywhere.",
                    core::Metadata::MAX_BYTES
                ),
            }),
        ),
        (
            "CustomClaimsPatch",
            json!({
                "type": "object",
                "propertyNames": {
                    "not": {
                        "anyOf": [
                            {"enum": reserved_claims},
                            {"pattern": format!("^{}", regex_escape(&deployment.claims.reserved_prefix))},
                        ],
                    },
                },
                "patternProperties": {r"\u0000": {"type": "null"}},
                "additionalProperties": reference("MergePatchWithoutNul"),
                "description": format!(
                    "An RFC 7396 merge patch; `null` deletes a key. The claims it leaves are at \
                     most {} bytes as JSON. Registered JWT claims and Tessera's own namespaces are \
                     refused.",
                    MAX_CUSTOM_CLAIMS_BYTES
                ),
            }),
        ),
        (
            "RoleIds",
            json!({
                "type": "array",
                "maxItems": MAX_ROLES_PER_MEMBER,
                "items": {"enum": roles},
            }),
        ),
        ("ProjectId", json!({"enum": [deployment.project_id]})),
        (
            "ReturnUrl",
            json!({
                "type": "string",
                "maxLength": RETURN_URL_MAX_CHARS,
                "pattern": format!("^https?://[^{CONTROL_OR_WHITESPACE}]*$"),
            }),
        ),
        ("ReturnUrlOrEmpty", json!({"anyOf": [{"const": ""}, reference("ReturnUrl")]})),
        (
            "SessionAttributes",
            json!({
                "type": "object",
                "properties": {
                    "ip_address": {
                        "type": ["string", "null"],
                        "maxLength": IP_ADDRESS_MAX_CHARS,
                        "pattern": format!("^[^{CONTROL}]*$"),
                    },
                    "user_agent": {
                        "type": ["string", "null"],
                        "maxLength": USER_AGENT_MAX_CHARS,
                        "pattern": format!("^[^{CONTROL}]*$"),
                    },
                },
            }),
        ),
        (
            "FactorInput",
            json!({
                "type": "object",
                "required": ["type", "delivery_method"],
                "properties": factor_properties,
                // The parser reads any other non-null key as a detail object it does not know.
                "additionalProperties": {"type": "null"},
                "oneOf": factor_alternatives,
            }),
        ),
        (
            "MemberLookup",
            json!({
                "type": "object",
                "properties": {
                    "member_id": reference("MemberRef"),
                    "email_address": reference("EmailAddress"),
                },
            }),
        ),
        (
            "FactorInputs",
            json!({"type": "array", "maxItems": MAX_FACTORS_PER_SESSION, "items": reference("FactorInput")}),
        ),
    ]
}

/// `text` as a regex that matches it literally.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$/-".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A factor's detail object as a request states it: its key, the delivery methods it fits and
/// its fields (free text, or an email address). The core's detail structs, restated as a
/// schema; `factor_details_match_the_parser` below holds the two together.
pub(super) struct FactorDetailFormat {
    pub(super) key: &'static str,
    pub(super) methods: &'static [DeliveryMethod],
    /// Required fields; `(name, is_email)`.
    pub(super) required: &'static [(&'static str, bool)],
    /// Optional free-text fields.
    pub(super) optional: &'static [&'static str],
}

impl FactorDetailFormat {
    fn schema(&self) -> Value {
        let text = json!({
            "type": "string",
            "maxLength": FactorText::MAX_CHARS,
            "pattern": format!("^[^{CONTROL}]*$"),
        });
        let mut properties = Map::new();
        for (name, is_email) in self.required {
            let schema = if *is_email { reference("EmailAddress") } else { text.clone() };
            properties.insert((*name).into(), schema);
        }
        for name in self.optional {
            properties.insert((*name).into(), json!({"anyOf": [{"type": "null"}, text.clone()]}));
        }
        let required: Vec<&str> = self.required.iter().map(|(name, _)| *name).collect();
        json!({"type": "object", "required": required, "properties": properties})
    }
}

macro_rules! detail {
    ($key:literal, [$($method:ident),+], [$($field:literal $(as $email:ident)?),*], [$($optional:literal),*]) => {
        FactorDetailFormat {
            key: $key,
            methods: &[$(DeliveryMethod::$method),+],
            required: &[$(($field, detail!(@email $($email)?))),*],
            optional: &[$($optional),*],
        }
    };
    (@email email) => { true };
    (@email) => { false };
}

/// Every detail object the parser reads (`tessera_core::factor::FactorDetail`).
pub(super) const FACTOR_DETAILS: &[FactorDetailFormat] = &[
    detail!("email_factor", [Email], ["email_id", "email_address" as email], []),
    detail!("phone_number_factor", [Sms, Whatsapp], ["phone_id", "phone_number"], []),
    detail!("google_oauth_factor", [OauthGoogle], ["id", "provider_subject"], ["email_id"]),
    detail!("microsoft_oauth_factor", [OauthMicrosoft], ["id", "provider_subject"], ["email_id"]),
    detail!("github_oauth_factor", [OauthGithub], ["id", "provider_subject"], ["email_id"]),
    detail!("hubspot_oauth_factor", [OauthHubspot], ["id", "provider_subject"], ["email_id"]),
    detail!("slack_oauth_factor", [OauthSlack], ["id", "provider_subject"], ["email_id"]),
    detail!("google_oauth_exchange_factor", [OauthExchangeGoogle], ["email_id"], []),
    detail!("github_oauth_exchange_factor", [OauthExchangeGithub], ["email_id"], []),
    detail!("hubspot_oauth_exchange_factor", [OauthExchangeHubspot], ["email_id"], []),
    detail!("slack_oauth_exchange_factor", [OauthExchangeSlack], ["email_id"], []),
    detail!("oauth_access_token_exchange_factor", [OauthAccessTokenExchange], ["client_id"], []),
    detail!("saml_sso_factor", [SsoSaml], ["id", "provider_id", "external_id"], []),
    detail!("oidc_sso_factor", [SsoOidc], ["id", "provider_id", "external_id"], []),
    detail!("authenticator_app_factor", [AuthenticatorApp], ["totp_id"], []),
    detail!("recovery_code_factor", [RecoveryCode], ["totp_recovery_code_id"], []),
    detail!("trusted_auth_token_factor", [TrustedTokenExchange], ["token_id"], []),
    detail!(
        "impersonated_factor",
        [Impersonation],
        ["impersonator_id", "impersonator_email_address" as email],
        []
    ),
    detail!(
        "webauthn_factor",
        [WebauthnRegistration],
        ["webauthn_registration_id", "domain"],
        ["user_agent"]
    ),
];

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tessera_core::{AuthenticationFactor, FactorInput};

    use super::*;

    fn document() -> Value {
        let policy = Policy::default();
        let claims = ClaimNamespaces::stytch();
        super::super::openapi::document(&Deployment {
            project_id: "project-test-1",
            policy: &policy,
            claims: &claims,
        })
    }

    #[test]
    fn every_marker_is_written_and_no_placeholder_is_served() {
        let document = document();
        for marker in MARKERS {
            let schema = &document["components"]["schemas"][marker];
            assert!(schema.is_object(), "{marker} is not in the document");
            assert_ne!(schema["description"], PLACEHOLDER, "{marker} was not written");
        }
        assert!(!document.to_string().contains(PLACEHOLDER));
    }

    #[test]
    fn the_deployment_values_are_in_the_document() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["ProjectId"]["enum"], json!(["project-test-1"]));
        let roles = schemas["RoleIds"]["items"]["enum"].as_array().unwrap();
        assert!(roles.contains(&json!("tessera_admin")), "{roles:?}");
        let reserved = &schemas["CustomClaimsPatch"]["propertyNames"]["not"]["anyOf"];
        assert!(reserved[0]["enum"].as_array().unwrap().contains(&json!("iss")));
        assert_eq!(reserved[1]["pattern"], r"^https:\/\/stytch\.com\/");
        let alternatives = schemas["AuthenticateBody"]["oneOf"].as_array().unwrap();
        assert_eq!(alternatives.len(), 2);
        let links = &document["paths"]["/v1/b2b/sessions"]["post"]["responses"]["200"]["links"];
        assert_eq!(links["AuthenticateToken"]["operationId"], "authenticate");
    }

    /// A valid value of every field of `detail`, and the factor that carries it.
    fn factor_with(
        factor_type: FactorType,
        method: DeliveryMethod,
        detail: Option<&FactorDetailFormat>,
    ) -> Value {
        let mut factor = json!({"type": factor_type.as_str(), "delivery_method": method.as_str()});
        if let Some(detail) = detail {
            let mut fields = Map::new();
            for (name, is_email) in detail.required {
                let value = if *is_email { "ada@example.com" } else { "x" };
                fields.insert((*name).into(), json!(value));
            }
            for name in detail.optional {
                fields.insert((*name).into(), json!("y"));
            }
            factor[detail.key] = Value::Object(fields);
        }
        factor
    }

    fn parses(factor: &Value) -> bool {
        serde_json::from_value::<FactorInput>(factor.clone())
            .ok()
            .and_then(|input| AuthenticationFactor::new(input, chrono::Utc::now()).ok())
            .is_some()
    }

    #[test]
    fn factor_details_match_the_parser() {
        for factor_type in FactorType::ALL {
            for method in DeliveryMethod::ALL {
                let allowed = factor_type.allowed_delivery_methods().contains(&method);
                let fitting = FACTOR_DETAILS.iter().find(|d| d.methods.contains(&method));
                // Without a detail object: exactly the allowed pairs.
                assert_eq!(
                    parses(&factor_with(factor_type, method, None)),
                    allowed,
                    "{factor_type:?} {method:?}"
                );
                for detail in FACTOR_DETAILS {
                    let fits = fitting.is_some_and(|f| f.key == detail.key);
                    let factor = factor_with(factor_type, method, Some(detail));
                    assert_eq!(parses(&factor), allowed && fits, "{factor}");
                    if allowed && fits {
                        // Every required field is required.
                        for (name, _) in detail.required {
                            let mut missing = factor.clone();
                            missing[detail.key].as_object_mut().unwrap().remove(*name);
                            assert!(!parses(&missing), "{missing}");
                        }
                    }
                }
            }
        }
    }
}
