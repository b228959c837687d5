//! Errors of the domain, and the catalog of stable `error_type` strings that every layer shares.
//!
//! Each layer of Tessera has its own error enum (this one, the store's, the service's); each of
//! them maps every variant to one [`ErrorType`]. The catalog is the contract with clients: the
//! strings never change once published, and they match Stytch's where Stytch has one.

use std::fmt;

use crate::token::TokenFormatError;

/// The stable, machine-readable kind of an error.
///
/// New kinds may be added (hence `#[non_exhaustive]`); existing strings never change. Which
/// HTTP status answers each kind is the HTTP layer's business (`tessera-server`), not the
/// domain's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    SessionNotFound,
    InvalidSessionToken,
    InvalidSessionDurationMinutes,
    InvalidIdleTimeoutMinutes,
    InvalidMaxSessionLifetimeMinutes,
    InvalidTouchInterval,
    InvalidTokenPrefix,
    CustomClaimsTooLarge,
    ReservedClaimsInCustomClaims,
    InvalidCustomClaims,
    InvalidOrganizationSlug,
    InvalidOrganizationName,
    InvalidOrganizationId,
    InvalidMemberId,
    InvalidSessionId,
    InvalidEmail,
    InvalidExternalId,
    InvalidRole,
    TooManyRoles,
    InvalidRbacPolicy,
    InvalidOrganizationMfaPolicy,
    MetadataTooLarge,
    MetadataInvalidFormat,
    OrganizationSlugAlreadyUsed,
    OrganizationNotFound,
    MemberNotFound,
    DuplicateEmail,
    DuplicateExternalId,
    SessionAuthorizationError,
    SessionAuthorizationTenancyError,
    MfaRequired,
    SessionLimitReached,
    InvalidSessionLimit,
    InvalidEventType,
    InvalidWebhookUrl,
    WebhookEndpointNotFound,
    WebhookDeliveryNotFound,
    ReauthenticationRequired,
    NoSessionArguments,
    TooManySessionArguments,
    InvalidAuthenticationFactor,
    InsufficientFactorsForSessionExchange,
    UnableToParseSessionJwt,
    JwtInvalidAudience,
    JwtInvalidIssuer,
    JwtInvalidClaims,
    UnauthorizedCredentials,
    InvalidRequest,
    PayloadTooLarge,
    StorageUnavailable,
    InternalServerError,
}

impl ErrorType {
    /// Every kind, for tests and documentation generators.
    pub const ALL: &'static [ErrorType] = &[
        Self::SessionNotFound,
        Self::InvalidSessionToken,
        Self::InvalidSessionDurationMinutes,
        Self::InvalidIdleTimeoutMinutes,
        Self::InvalidMaxSessionLifetimeMinutes,
        Self::InvalidTouchInterval,
        Self::InvalidTokenPrefix,
        Self::CustomClaimsTooLarge,
        Self::ReservedClaimsInCustomClaims,
        Self::InvalidCustomClaims,
        Self::InvalidOrganizationSlug,
        Self::InvalidOrganizationName,
        Self::InvalidOrganizationId,
        Self::InvalidMemberId,
        Self::InvalidSessionId,
        Self::InvalidEmail,
        Self::InvalidExternalId,
        Self::InvalidRole,
        Self::TooManyRoles,
        Self::InvalidRbacPolicy,
        Self::InvalidOrganizationMfaPolicy,
        Self::MetadataTooLarge,
        Self::MetadataInvalidFormat,
        Self::OrganizationSlugAlreadyUsed,
        Self::OrganizationNotFound,
        Self::MemberNotFound,
        Self::DuplicateEmail,
        Self::DuplicateExternalId,
        Self::SessionAuthorizationError,
        Self::SessionAuthorizationTenancyError,
        Self::MfaRequired,
        Self::SessionLimitReached,
        Self::InvalidSessionLimit,
        Self::InvalidEventType,
        Self::InvalidWebhookUrl,
        Self::WebhookEndpointNotFound,
        Self::WebhookDeliveryNotFound,
        Self::ReauthenticationRequired,
        Self::NoSessionArguments,
        Self::TooManySessionArguments,
        Self::InvalidAuthenticationFactor,
        Self::InsufficientFactorsForSessionExchange,
        Self::UnableToParseSessionJwt,
        Self::JwtInvalidAudience,
        Self::JwtInvalidIssuer,
        Self::JwtInvalidClaims,
        Self::UnauthorizedCredentials,
        Self::InvalidRequest,
        Self::PayloadTooLarge,
        Self::StorageUnavailable,
        Self::InternalServerError,
    ];

    /// The wire string, e.g. `session_not_found`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionNotFound => "session_not_found",
            Self::InvalidSessionToken => "invalid_session_token",
            Self::InvalidSessionDurationMinutes => "invalid_session_duration_minutes",
            Self::InvalidIdleTimeoutMinutes => "invalid_idle_timeout_minutes",
            Self::InvalidMaxSessionLifetimeMinutes => "invalid_max_session_lifetime_minutes",
            Self::InvalidTouchInterval => "invalid_touch_interval",
            Self::InvalidTokenPrefix => "invalid_token_prefix",
            Self::CustomClaimsTooLarge => "custom_claims_too_large",
            Self::ReservedClaimsInCustomClaims => "reserved_claims_in_custom_claims",
            Self::InvalidCustomClaims => "invalid_custom_claims",
            Self::InvalidOrganizationSlug => "invalid_organization_slug",
            Self::InvalidOrganizationName => "invalid_organization_name",
            Self::InvalidOrganizationId => "invalid_organization_id",
            Self::InvalidMemberId => "invalid_member_id",
            Self::InvalidSessionId => "invalid_session_id",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidExternalId => "invalid_external_id",
            Self::InvalidRole => "invalid_role",
            Self::TooManyRoles => "too_many_roles",
            Self::InvalidRbacPolicy => "invalid_rbac_policy",
            Self::InvalidOrganizationMfaPolicy => "invalid_organization_mfa_policy",
            Self::MetadataTooLarge => "metadata_too_large",
            Self::MetadataInvalidFormat => "metadata_invalid_format",
            Self::OrganizationSlugAlreadyUsed => "organization_slug_already_used",
            Self::OrganizationNotFound => "organization_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::DuplicateEmail => "duplicate_email",
            Self::DuplicateExternalId => "duplicate_external_id",
            Self::SessionAuthorizationError => "session_authorization_error",
            Self::SessionAuthorizationTenancyError => "session_authorization_tenancy_error",
            Self::MfaRequired => "mfa_required",
            Self::SessionLimitReached => "session_limit_reached",
            Self::InvalidSessionLimit => "invalid_session_limit",
            Self::InvalidEventType => "invalid_event_type",
            Self::InvalidWebhookUrl => "invalid_webhook_url",
            Self::WebhookEndpointNotFound => "webhook_endpoint_not_found",
            Self::WebhookDeliveryNotFound => "webhook_delivery_not_found",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::NoSessionArguments => "no_session_arguments",
            Self::TooManySessionArguments => "too_many_session_arguments",
            Self::InvalidAuthenticationFactor => "invalid_authentication_factor",
            Self::InsufficientFactorsForSessionExchange => {
                "insufficient_factors_for_session_exchange"
            }
            Self::UnableToParseSessionJwt => "unable_to_parse_session_jwt",
            Self::JwtInvalidAudience => "jwt_invalid_audience",
            Self::JwtInvalidIssuer => "jwt_invalid_issuer",
            Self::JwtInvalidClaims => "jwt_invalid_claims",
            Self::UnauthorizedCredentials => "unauthorized_credentials",
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::StorageUnavailable => "storage_unavailable",
            Self::InternalServerError => "internal_server_error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bad input as it may appear in an error message: at most [`ECHO_MAX_CHARS`] characters, control
/// characters dropped, `…` when cut. Every error that quotes what the caller sent goes through
/// this, so that a megabyte of garbage never reaches a response body or a log line.
pub fn echo(input: &str) -> String {
    let mut out: String = input.chars().take(ECHO_MAX_CHARS).filter(|c| !c.is_control()).collect();
    if input.chars().nth(ECHO_MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The longest echo of bad input in an error message.
pub const ECHO_MAX_CHARS: usize = 64;

/// What went wrong in a domain rule. Messages name the rule and the offending value, never a
/// secret: a token never appears in an error, only what was wrong with its shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("organization slug is invalid: {reason}")]
    InvalidOrganizationSlug { reason: &'static str },
    #[error("organization name is invalid: {reason}")]
    InvalidOrganizationName { reason: &'static str },
    #[error("`{value}` is not a valid {kind} id: expected a UUID")]
    InvalidId { kind: IdKind, value: String },
    #[error("email address is invalid: {reason}")]
    InvalidEmail { reason: &'static str },
    #[error("external id is invalid: {reason}")]
    InvalidExternalId { reason: &'static str },
    #[error("session token is malformed: {0}")]
    InvalidSessionToken(#[from] TokenFormatError),
    #[error("token prefix is invalid: {reason}")]
    InvalidTokenPrefix { reason: &'static str },
    #[error(
        "session_duration_minutes is invalid, should be between 5 to 527040 minutes (got {minutes})"
    )]
    InvalidSessionDuration { minutes: i64 },
    #[error(
        "idle_timeout_minutes is invalid, should be between 5 to 527040 minutes (got {minutes})"
    )]
    InvalidIdleTimeout { minutes: i64 },
    #[error(
        "max_session_lifetime_minutes is invalid, should be between 5 to 527040 minutes (got {minutes})"
    )]
    InvalidMaxSessionLifetime { minutes: i64 },
    #[error("touch interval is invalid, should be between 0 and 3600 seconds (got {seconds})")]
    InvalidTouchInterval { seconds: i64 },
    #[error("authentication factor is invalid: {reason}")]
    InvalidAuthenticationFactor { reason: String },
    #[error(
        "this organization requires multi-factor authentication and the session has one kind of factor"
    )]
    MfaRequired,
    #[error(
        "the member has {limit} live sessions in this organization, its limit: revoke one or sign in again later"
    )]
    SessionLimitReached { limit: u32 },
    #[error("the session limit is invalid: {reason}")]
    InvalidSessionLimit { reason: String },
    #[error("unknown event type {value:?}")]
    InvalidEventType { value: String },
    #[error(
        "no authentication factor of this session is more recent than {max_age_seconds} seconds"
    )]
    FactorTooOld { max_age_seconds: i64 },
    #[error(
        "the sign-in is older than the target organization's absolute session lifetime ({max_lifetime_minutes} minutes): sign in again"
    )]
    SignInTooOld { max_lifetime_minutes: u32 },
    #[error(
        "subject organization_id {session_organization} does not match authZ request organization_id {requested}"
    )]
    AuthorizationTenancy { session_organization: String, requested: String },
    #[error("the member is not authorized to perform `{action}` on `{resource_id}`")]
    Unauthorized { resource_id: String, action: String },
    #[error("custom claims are {size} bytes when serialized; the limit is {limit}")]
    CustomClaimsTooLarge { size: usize, limit: usize },
    #[error("custom claims use reserved names: {}", keys.join(", "))]
    ReservedClaims { keys: Vec<String> },
    #[error("custom claims are invalid: {reason}")]
    InvalidCustomClaims { reason: &'static str },
    #[error("role id is invalid: {reason}")]
    InvalidRole { reason: String },
    #[error("mfa_policy `{value}` is not one of OPTIONAL, REQUIRED_FOR_ALL")]
    InvalidMfaPolicy { value: String },
    #[error("a member may hold at most {limit} roles")]
    TooManyRoles { limit: usize },
    #[error("{field} is {size} bytes when serialized; the limit is {limit}")]
    MetadataTooLarge { field: &'static str, size: usize, limit: usize },
    #[error("{field} is invalid: {reason}")]
    InvalidMetadata { field: &'static str, reason: &'static str },
    #[error("RBAC policy is invalid: {reason}")]
    InvalidPolicy { reason: String },
}

/// Which id an [`Error::InvalidId`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Organization,
    Member,
    Session,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Organization => "organization",
            Self::Member => "member",
            Self::Session => "session",
        })
    }
}

impl Error {
    /// The stable kind of this error.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::InvalidOrganizationSlug { .. } => ErrorType::InvalidOrganizationSlug,
            Self::InvalidOrganizationName { .. } => ErrorType::InvalidOrganizationName,
            Self::InvalidId { kind: IdKind::Organization, .. } => ErrorType::InvalidOrganizationId,
            Self::InvalidId { kind: IdKind::Member, .. } => ErrorType::InvalidMemberId,
            Self::InvalidId { kind: IdKind::Session, .. } => ErrorType::InvalidSessionId,
            Self::InvalidEmail { .. } => ErrorType::InvalidEmail,
            Self::InvalidExternalId { .. } => ErrorType::InvalidExternalId,
            Self::InvalidSessionToken(_) => ErrorType::InvalidSessionToken,
            Self::InvalidTokenPrefix { .. } => ErrorType::InvalidTokenPrefix,
            Self::InvalidSessionDuration { .. } => ErrorType::InvalidSessionDurationMinutes,
            Self::InvalidIdleTimeout { .. } => ErrorType::InvalidIdleTimeoutMinutes,
            Self::InvalidMaxSessionLifetime { .. } => ErrorType::InvalidMaxSessionLifetimeMinutes,
            Self::InvalidTouchInterval { .. } => ErrorType::InvalidTouchInterval,
            Self::InvalidAuthenticationFactor { .. } => ErrorType::InvalidAuthenticationFactor,
            Self::MfaRequired => ErrorType::MfaRequired,
            Self::SessionLimitReached { .. } => ErrorType::SessionLimitReached,
            Self::InvalidSessionLimit { .. } => ErrorType::InvalidSessionLimit,
            Self::InvalidEventType { .. } => ErrorType::InvalidEventType,
            Self::FactorTooOld { .. } | Self::SignInTooOld { .. } => {
                ErrorType::ReauthenticationRequired
            }
            Self::AuthorizationTenancy { .. } => ErrorType::SessionAuthorizationTenancyError,
            Self::Unauthorized { .. } => ErrorType::SessionAuthorizationError,
            Self::CustomClaimsTooLarge { .. } => ErrorType::CustomClaimsTooLarge,
            Self::ReservedClaims { .. } => ErrorType::ReservedClaimsInCustomClaims,
            Self::InvalidCustomClaims { .. } => ErrorType::InvalidCustomClaims,
            Self::InvalidRole { .. } => ErrorType::InvalidRole,
            Self::TooManyRoles { .. } => ErrorType::TooManyRoles,
            Self::InvalidMfaPolicy { .. } => ErrorType::InvalidOrganizationMfaPolicy,
            Self::MetadataTooLarge { .. } => ErrorType::MetadataTooLarge,
            Self::InvalidMetadata { .. } => ErrorType::MetadataInvalidFormat,
            Self::InvalidPolicy { .. } => ErrorType::InvalidRbacPolicy,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn error_type_strings_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for kind in ErrorType::ALL {
            let s = kind.as_str();
            assert!(seen.insert(s), "duplicate error_type {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        }
    }

    #[test]
    fn design_catalog_strings() {
        // DESIGN §4.5 and Stytch's catalog name these; they are part of the wire contract.
        let expected = [
            (ErrorType::SessionNotFound, "session_not_found"),
            (ErrorType::InvalidSessionDurationMinutes, "invalid_session_duration_minutes"),
            (ErrorType::CustomClaimsTooLarge, "custom_claims_too_large"),
            (ErrorType::ReservedClaimsInCustomClaims, "reserved_claims_in_custom_claims"),
            (ErrorType::InvalidOrganizationSlug, "invalid_organization_slug"),
            (ErrorType::OrganizationSlugAlreadyUsed, "organization_slug_already_used"),
            (ErrorType::OrganizationNotFound, "organization_not_found"),
            (ErrorType::MemberNotFound, "member_not_found"),
            (ErrorType::DuplicateEmail, "duplicate_email"),
            (ErrorType::SessionAuthorizationError, "session_authorization_error"),
            (ErrorType::SessionAuthorizationTenancyError, "session_authorization_tenancy_error"),
            (ErrorType::MfaRequired, "mfa_required"),
            (ErrorType::NoSessionArguments, "no_session_arguments"),
            (ErrorType::TooManySessionArguments, "too_many_session_arguments"),
            (ErrorType::InvalidAuthenticationFactor, "invalid_authentication_factor"),
            (ErrorType::UnauthorizedCredentials, "unauthorized_credentials"),
            (ErrorType::InvalidRequest, "invalid_request"),
            (ErrorType::PayloadTooLarge, "payload_too_large"),
            (ErrorType::StorageUnavailable, "storage_unavailable"),
            (ErrorType::InternalServerError, "internal_server_error"),
            (ErrorType::UnableToParseSessionJwt, "unable_to_parse_session_jwt"),
            (ErrorType::JwtInvalidAudience, "jwt_invalid_audience"),
            (ErrorType::JwtInvalidIssuer, "jwt_invalid_issuer"),
            (ErrorType::JwtInvalidClaims, "jwt_invalid_claims"),
            (ErrorType::MetadataTooLarge, "metadata_too_large"),
            (ErrorType::MetadataInvalidFormat, "metadata_invalid_format"),
            (ErrorType::TooManyRoles, "too_many_roles"),
        ];
        for (kind, s) in expected {
            assert_eq!(kind.as_str(), s);
        }
    }

    #[test]
    fn echo_is_bounded_and_printable() {
        assert_eq!(echo("abc"), "abc");
        assert_eq!(echo("a\u{0}b\nc"), "abc");
        let long = "x".repeat(10_000);
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), ECHO_MAX_CHARS + 1);
        assert!(echoed.ends_with('…'));
        assert_eq!(echo(&"y".repeat(ECHO_MAX_CHARS)), "y".repeat(ECHO_MAX_CHARS));
    }
}
