//! Stytch's response bodies, the `request_id`/`status_code` envelope and the error body.
//!
//! The bodies here are without the envelope; wrap them in [`Envelope`] to send them. The SDK
//! parses every response with a model deriving from `ResponseBase` (python
//! `stytch/core/response_base.py`: `status_code: int`, `request_id: str`, both required).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::{AuthenticatedSession, ErrorType, MemberId, OrganizationId, RoleId};

use super::{Member, MemberSession, OrgPolicy, Organization, Policy};
use crate::views::SecretString;

/// Where an error's `error_url` points: `https://tessera.invalid/docs/errors#<error_type>`.
///
/// `.invalid` is reserved (RFC 2606, RFC 6761) and never resolves: Tessera hosts no error pages,
/// and says so, while still giving each error type a stable absolute URL that identifies it. The
/// error types are described in the project's HTTP API documentation, under the same anchors.
pub const ERROR_URL_BASE: &str = "https://tessera.invalid/docs/errors";

/// The `error_url` of an error type.
pub fn error_url(error_type: &str) -> String {
    format!("{ERROR_URL_BASE}#{error_type}")
}

/// A response body with Stytch's envelope: `{request_id, status_code, ...body}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T> {
    pub request_id: String,
    pub status_code: u16,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Envelope<T> {
    pub fn new(request_id: impl Into<String>, status_code: u16, body: T) -> Self {
        Self { request_id: request_id.into(), status_code, body }
    }

    /// A `200` response.
    pub fn ok(request_id: impl Into<String>, body: T) -> Self {
        Self::new(request_id, 200, body)
    }
}

/// Stytch's error body: `{status_code, request_id, error_type, error_message, error_url}`
/// (python `StytchErrorDetails`: only `error_message` is required besides the envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::ToResponse))]
#[cfg_attr(
    feature = "openapi",
    response(description = "Stytch's error body; `error_type` is stable, see `ErrorType`.")
)]
pub struct ErrorBody {
    pub status_code: u16,
    pub request_id: String,
    pub error_type: String,
    pub error_message: String,
    pub error_url: String,
}

impl ErrorBody {
    /// An error of the shared catalog, answered with `status_code` (which status answers which
    /// kind is the HTTP layer's decision).
    pub fn new(
        request_id: impl Into<String>,
        status_code: u16,
        error_type: ErrorType,
        error_message: impl Into<String>,
    ) -> Self {
        Self::custom(request_id, status_code, error_type.as_str(), error_message)
    }

    /// An error whose type is not in the catalog (prefer [`ErrorBody::new`]).
    pub fn custom(
        request_id: impl Into<String>,
        status_code: u16,
        error_type: impl Into<String>,
        error_message: impl Into<String>,
    ) -> Self {
        let error_type = error_type.into();
        Self {
            status_code,
            request_id: request_id.into(),
            error_url: error_url(&error_type),
            error_type,
            error_message: error_message.into(),
        }
    }
}

/// `AuthorizationVerdict`: present when an authorization check was asked for and passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationVerdict {
    /// Always `true` (a failed check is an error response).
    pub authorized: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub granting_roles: Vec<RoleId>,
}

impl AuthorizationVerdict {
    pub fn new(verdict: &tessera_core::Verdict) -> Self {
        Self { authorized: verdict.authorized, granting_roles: verdict.granting_roles.clone() }
    }
}

/// `POST /v1/b2b/sessions/authenticate` (python `sessions.AuthenticateResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticateResponse {
    pub member_session: MemberSession,
    /// The session token, required by the SDK. When the caller authenticated with a JWT, Tessera
    /// does not know the token (it keeps only its hash): the server sends `""` then.
    pub session_token: SecretString,
    pub session_jwt: SecretString,
    pub member: Member,
    pub organization: Organization,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<AuthorizationVerdict>,
}

impl AuthenticateResponse {
    /// `roles` are the session's roles for this request (see [`MemberSession::new`]).
    pub fn new(
        authenticated: &AuthenticatedSession,
        roles: &[RoleId],
        session_token: impl Into<SecretString>,
        session_jwt: impl Into<SecretString>,
        verdict: Option<&tessera_core::Verdict>,
    ) -> Self {
        Self {
            member_session: MemberSession::new(
                &authenticated.session,
                &authenticated.organization,
                roles,
            ),
            session_token: session_token.into(),
            session_jwt: session_jwt.into(),
            member: Member::new(&authenticated.member, roles),
            organization: Organization::new(&authenticated.organization),
            verdict: verdict.map(AuthorizationVerdict::new),
        }
    }
}

/// Tessera's own `POST /v1/b2b/sessions` (create) and `POST /v1/b2b/sessions/factors` (step-up):
/// authenticate's shape plus `member_id` (the fields of Stytch's other session-minting
/// responses, python `sessions.AttestResponse`, `MigrateResponse`, so the SDK's
/// `AuthenticateResponse` and `AttestResponse` models both parse it), plus Stytch's MFA fields.
///
/// A session that does not meet its organization's MFA policy is answered the way Stytch answers
/// an intermediate session: `member_authenticated: false`, the token in
/// `intermediate_session_token` (good only for adding a factor), `session_token` and
/// `session_jwt` empty, and `mfa_required` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateSessionResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub member_session: MemberSession,
    pub session_token: SecretString,
    pub session_jwt: SecretString,
    pub member: Member,
    pub organization: Organization,
    /// `false` while the session is pending MFA.
    pub member_authenticated: bool,
    /// The token of a session pending MFA; `""` otherwise.
    pub intermediate_session_token: SecretString,
    /// `{"member_options": null, "secondary_auth_initiated": null}` while pending MFA, `null`
    /// otherwise.
    pub mfa_required: Option<Value>,
}

impl CreateSessionResponse {
    /// A full session (`session_jwt` given) or one pending MFA (`None`).
    pub fn new(
        created: &AuthenticatedSession,
        roles: &[RoleId],
        session_token: impl Into<SecretString>,
        session_jwt: Option<&str>,
    ) -> Self {
        let token = session_token.into();
        let (session_token, session_jwt, intermediate, mfa_required) = match session_jwt {
            Some(jwt) => (token, SecretString::new(jwt), SecretString::new(""), None),
            None => (
                SecretString::new(""),
                SecretString::new(""),
                token,
                Some(serde_json::json!({"member_options": null, "secondary_auth_initiated": null})),
            ),
        };
        Self {
            member_id: created.member.id,
            member_session: MemberSession::new(&created.session, &created.organization, roles),
            session_token,
            session_jwt,
            member: Member::new(&created.member, roles),
            organization: Organization::new(&created.organization),
            member_authenticated: mfa_required.is_none(),
            intermediate_session_token: intermediate,
            mfa_required,
        }
    }
}

/// `GET /v1/b2b/sessions` (python `sessions.GetResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetSessionsResponse {
    pub member_sessions: Vec<MemberSession>,
}

impl GetSessionsResponse {
    /// The sessions of one member of `organization`; they share the member's current `roles`.
    pub fn new(
        sessions: &[tessera_core::MemberSession],
        organization: &tessera_core::Organization,
        roles: &[RoleId],
    ) -> Self {
        Self {
            member_sessions: sessions
                .iter()
                .map(|s| MemberSession::new(s, organization, roles))
                .collect(),
        }
    }
}

/// `POST /v1/b2b/sessions/revoke` (python `sessions.RevokeResponse`): nothing but the envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeResponse {}

/// Tessera's `POST /v1/b2b/organizations/{organization_id}/sessions/revoke`: how many live
/// sessions it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeOrganizationResponse {
    pub revoked_count: u64,
}

/// `POST /v1/b2b/sessions/exchange` (python `sessions.ExchangeResponse`). Tessera never answers
/// with an intermediate (MFA-pending) session: an exchange either yields a full session or
/// fails, so `member_authenticated` is `true`, `intermediate_session_token` is `""` and
/// `mfa_required`/`primary_required` are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub member_session: MemberSession,
    pub session_token: SecretString,
    pub session_jwt: SecretString,
    pub member: Member,
    pub organization: Organization,
    pub member_authenticated: bool,
    pub intermediate_session_token: String,
    pub mfa_required: Option<Value>,
    pub primary_required: Option<Value>,
}

impl ExchangeResponse {
    /// `exchanged` is the new session in the target organization.
    pub fn new(
        exchanged: &AuthenticatedSession,
        roles: &[RoleId],
        session_token: impl Into<SecretString>,
        session_jwt: impl Into<SecretString>,
    ) -> Self {
        Self {
            member_id: exchanged.member.id,
            member_session: MemberSession::new(&exchanged.session, &exchanged.organization, roles),
            session_token: session_token.into(),
            session_jwt: session_jwt.into(),
            member: Member::new(&exchanged.member, roles),
            organization: Organization::new(&exchanged.organization),
            member_authenticated: true,
            intermediate_session_token: String::new(),
            mfa_required: None,
            primary_required: None,
        }
    }
}

/// Create, get and update organization (python `organizations.CreateResponse`, `GetResponse`,
/// `UpdateResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationResponse {
    pub organization: Organization,
}

impl OrganizationResponse {
    pub fn new(organization: &tessera_core::Organization) -> Self {
        Self { organization: Organization::new(organization) }
    }
}

/// Delete organization (python `organizations.DeleteResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteOrganizationResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub organization_id: OrganizationId,
}

/// Create, get and update member (python `organizations_members.CreateResponse`,
/// `GetResponse`, `UpdateResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    pub member: Member,
    pub organization: Organization,
}

impl MemberResponse {
    /// `roles` are the member's effective roles (see [`Member::new`]).
    pub fn new(
        member: &tessera_core::Member,
        roles: &[RoleId],
        organization: &tessera_core::Organization,
    ) -> Self {
        debug_assert_eq!(member.organization_id, organization.id, "member of another org");
        Self {
            member_id: member.id,
            member: Member::new(member, roles),
            organization: Organization::new(organization),
        }
    }
}

/// Delete member (python `organizations_members.DeleteResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteMemberResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
}

/// `GET /v1/b2b/rbac/policy` (python `rbac.PolicyResponse`; `policy` is optional there, Tessera
/// always sends it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyResponse {
    pub policy: Policy,
}

impl PolicyResponse {
    pub fn new(policy: &tessera_core::Policy) -> Self {
        Self { policy: Policy::new(policy) }
    }
}

/// `GET /v1/b2b/rbac/organizations/{organization_id}` (python
/// `rbac_organizations.GetOrgPolicyResponse`): Tessera has no organization-scoped roles, so
/// `org_policy.roles` is always empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetOrgPolicyResponse {
    pub org_policy: OrgPolicy,
}

/// `GET /v1/b2b/sessions/jwks/{project_id}` (python `sessions.GetJWKSResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetJwksResponse {
    pub keys: Vec<Jwk>,
}

/// One public key (python `stytch/consumer/models/sessions.py` `JWK`). The SDK requires all of
/// `kty, use, key_ops, alg, kid, x5c, x5tS256, n, e`: a key without a certificate sends
/// `x5c: []` and `x5tS256: ""`, and a non-RSA key sends `n: ""`, `e: ""` and its own members
/// (`crv`, `x` for an Ed25519 key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub key_ops: Vec<String>,
    pub alg: String,
    pub kid: String,
    pub x5c: Vec<String>,
    #[serde(rename = "x5tS256")]
    pub x5t_s256: String,
    pub n: String,
    pub e: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
}

impl Jwk {
    /// An RSA signing key (`kty: RSA`, `use: sig`, `key_ops: [verify]`), `n` and `e` in
    /// base64url without padding.
    pub fn rsa(
        kid: impl Into<String>,
        alg: impl Into<String>,
        n: impl Into<String>,
        e: impl Into<String>,
    ) -> Self {
        Self {
            kty: "RSA".into(),
            key_use: "sig".into(),
            key_ops: vec!["verify".into()],
            alg: alg.into(),
            kid: kid.into(),
            x5c: Vec::new(),
            x5t_s256: String::new(),
            n: n.into(),
            e: e.into(),
            crv: None,
            x: None,
        }
    }

    /// An Ed25519 signing key (`kty: OKP`, `crv: Ed25519`, `alg: EdDSA`), `x` in base64url
    /// without padding.
    pub fn ed25519(kid: impl Into<String>, x: impl Into<String>) -> Self {
        Self {
            kty: "OKP".into(),
            key_use: "sig".into(),
            key_ops: vec!["verify".into()],
            alg: "EdDSA".into(),
            kid: kid.into(),
            x5c: Vec::new(),
            x5t_s256: String::new(),
            n: String::new(),
            e: String::new(),
            crv: Some("Ed25519".into()),
            x: Some(x.into()),
        }
    }
}

impl From<crate::jwt::Jwk> for Jwk {
    /// The service's JWK in the SDK's shape: every member the SDK requires, empty where the key
    /// type has none.
    fn from(key: crate::jwt::Jwk) -> Self {
        Self {
            kty: key.kty,
            key_use: key.key_use,
            key_ops: key.key_ops,
            alg: key.alg,
            kid: key.kid,
            x5c: key.x5c,
            x5t_s256: key.x5t_s256.unwrap_or_default(),
            n: key.n.unwrap_or_default(),
            e: key.e.unwrap_or_default(),
            crv: key.crv,
            x: key.x,
        }
    }
}

impl From<crate::jwt::Jwks> for GetJwksResponse {
    fn from(jwks: crate::jwt::Jwks) -> Self {
        Self { keys: jwks.keys.into_iter().map(Jwk::from).collect() }
    }
}
