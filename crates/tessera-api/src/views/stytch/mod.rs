//! Stytch B2B shapes.
//!
//! The contract is the official Python SDK, `stytch==15.3.0`: its pydantic models
//! (`stytch/b2b/models/{sessions,organizations,organizations_members,rbac}.py`,
//! `stytch/consumer/models/sessions.py`, `stytch/core/response_base.py`) must parse every
//! response. Every field those models require is present here with a value that describes what
//! Tessera does; optional fields are sent when Tessera has them. The field lists are checked by
//! this module's tests against JSON Schemas generated from those models
//! (`tests/fixtures/stytch_sdk_models.schema.json`) and against the seed `MemberSession` schema.
//!
//! Timestamps are RFC 3339, UTC, `Z`, whole seconds (`2021-12-29T12:33:09Z`).

mod directory;
mod rbac;
mod responses;
mod session;

#[cfg(test)]
mod tests;

pub use directory::{
    ALL_ALLOWED, DIRECT_ASSIGNMENT, MEMBER_STATUS_ACTIVE, Member, MemberRole, MemberRoleSource,
    NOT_ALLOWED, Organization,
};
pub use rbac::{OrgPolicy, Policy, PolicyPermission, PolicyResource, PolicyRole, PolicyScope};
pub use responses::{
    AuthenticateResponse, AuthorizationVerdict, CreateSessionResponse, DeleteMemberResponse,
    DeleteOrganizationResponse, ERROR_URL_BASE, Envelope, ErrorBody, ExchangeResponse,
    GetJwksResponse, GetOrgPolicyResponse, GetSessionsResponse, Jwk, MemberResponse,
    OrganizationResponse, PolicyResponse, RevokeOrganizationResponse, RevokeResponse, error_url,
};
#[cfg(feature = "openapi")]
pub use session::FactorDetailFields;
pub use session::{
    AuthenticationFactor, AuthenticatorAppFactor, EmailFactor, FactorDetail, ImpersonatedFactor,
    MemberSession, OauthAccessTokenExchangeFactor, OauthExchangeFactor, OauthFactor,
    PhoneNumberFactor, RecoveryCodeFactor, SsoFactor, TrustedAuthTokenFactor, WebauthnFactor,
};
