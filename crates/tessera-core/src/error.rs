//! Errors of the domain, and the catalog of stable `error_type` strings that every layer shares.
//!
//! Each layer of Tessera has its own error enum (this one, the store's, the service's); each of
//! them maps every variant to one [`ErrorType`]. The catalog is the contract with clients: the
//! strings never change once published, and they match Stytch's where Stytch has one.

use std::fmt;

use crate::token::TokenFormatError;

/// The stable, machine-readable kind of an error, with its HTTP status.
///
/// Deliberately not `#[non_exhaustive]`-free of additions: new kinds may be added, existing
/// strings never change.
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
    InvalidRbacPolicy,
    OrganizationSlugAlreadyUsed,
    OrganizationNotFound,
    MemberNotFound,
    DuplicateEmail,
    DuplicateExternalId,
    SessionAuthorizationError,
    SessionAuthorizationTenancyError,
    MfaRequired,
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
        Self::InvalidRbacPolicy,
        Self::OrganizationSlugAlreadyUsed,
        Self::OrganizationNotFound,
        Self::MemberNotFound,
        Self::DuplicateEmail,
        Self::DuplicateExternalId,
        Self::SessionAuthorizationError,
        Self::SessionAuthorizationTenancyError,
        Self::MfaRequired,
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
            Self::InvalidRbacPolicy => "invalid_rbac_policy",
            Self::OrganizationSlugAlreadyUsed => "organization_slug_already_used",
            Self::OrganizationNotFound => "organization_not_found",
            Self::MemberNotFound => "member_not_found",
            Self::DuplicateEmail => "duplicate_email",
            Self::DuplicateExternalId => "duplicate_external_id",
            Self::SessionAuthorizationError => "session_authorization_error",
            Self::SessionAuthorizationTenancyError => "session_authorization_tenancy_error",
            Self::MfaRequired => "mfa_required",
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

    /// The HTTP status code this kind is answered with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::SessionNotFound | Self::OrganizationNotFound | Self::MemberNotFound => 404,
            Self::OrganizationSlugAlreadyUsed
            | Self::DuplicateEmail
            | Self::DuplicateExternalId => 409,
            Self::SessionAuthorizationError
            | Self::SessionAuthorizationTenancyError
            | Self::MfaRequired
            | Self::ReauthenticationRequired => 403,
            Self::UnauthorizedCredentials => 401,
            Self::PayloadTooLarge => 413,
            Self::StorageUnavailable => 503,
            Self::InternalServerError => 500,
            Self::InvalidSessionToken
            | Self::InvalidSessionDurationMinutes
            | Self::InvalidIdleTimeoutMinutes
            | Self::InvalidMaxSessionLifetimeMinutes
            | Self::InvalidTouchInterval
            | Self::InvalidTokenPrefix
            | Self::CustomClaimsTooLarge
            | Self::ReservedClaimsInCustomClaims
            | Self::InvalidCustomClaims
            | Self::InvalidOrganizationSlug
            | Self::InvalidOrganizationName
            | Self::InvalidOrganizationId
            | Self::InvalidMemberId
            | Self::InvalidSessionId
            | Self::InvalidEmail
            | Self::InvalidExternalId
            | Self::InvalidRole
            | Self::InvalidRbacPolicy
            | Self::NoSessionArguments
            | Self::TooManySessionArguments
            | Self::InvalidAuthenticationFactor
            | Self::InsufficientFactorsForSessionExchange
            | Self::UnableToParseSessionJwt
            | Self::JwtInvalidAudience
            | Self::JwtInvalidIssuer
            | Self::JwtInvalidClaims
            | Self::InvalidRequest => 400,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
        "no authentication factor of this session is more recent than {max_age_seconds} seconds"
    )]
    FactorTooOld { max_age_seconds: i64 },
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
            Self::FactorTooOld { .. } => ErrorType::ReauthenticationRequired,
            Self::AuthorizationTenancy { .. } => ErrorType::SessionAuthorizationTenancyError,
            Self::Unauthorized { .. } => ErrorType::SessionAuthorizationError,
            Self::CustomClaimsTooLarge { .. } => ErrorType::CustomClaimsTooLarge,
            Self::ReservedClaims { .. } => ErrorType::ReservedClaimsInCustomClaims,
            Self::InvalidCustomClaims { .. } => ErrorType::InvalidCustomClaims,
            Self::InvalidRole { .. } => ErrorType::InvalidRole,
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
            assert!((400..600).contains(&kind.http_status()), "{s}");
        }
    }

    #[test]
    fn design_catalog_statuses() {
        // DESIGN §4.5 names these pairs; they are part of the wire contract.
        let expected = [
            (ErrorType::SessionNotFound, "session_not_found", 404),
            (ErrorType::InvalidSessionDurationMinutes, "invalid_session_duration_minutes", 400),
            (ErrorType::CustomClaimsTooLarge, "custom_claims_too_large", 400),
            (ErrorType::ReservedClaimsInCustomClaims, "reserved_claims_in_custom_claims", 400),
            (ErrorType::InvalidOrganizationSlug, "invalid_organization_slug", 400),
            (ErrorType::OrganizationSlugAlreadyUsed, "organization_slug_already_used", 409),
            (ErrorType::OrganizationNotFound, "organization_not_found", 404),
            (ErrorType::MemberNotFound, "member_not_found", 404),
            (ErrorType::DuplicateEmail, "duplicate_email", 409),
            (ErrorType::SessionAuthorizationError, "session_authorization_error", 403),
            (
                ErrorType::SessionAuthorizationTenancyError,
                "session_authorization_tenancy_error",
                403,
            ),
            (ErrorType::MfaRequired, "mfa_required", 403),
            (ErrorType::NoSessionArguments, "no_session_arguments", 400),
            (ErrorType::TooManySessionArguments, "too_many_session_arguments", 400),
            (ErrorType::InvalidAuthenticationFactor, "invalid_authentication_factor", 400),
            (ErrorType::UnauthorizedCredentials, "unauthorized_credentials", 401),
            (ErrorType::InvalidRequest, "invalid_request", 400),
            (ErrorType::PayloadTooLarge, "payload_too_large", 413),
            (ErrorType::StorageUnavailable, "storage_unavailable", 503),
            (ErrorType::InternalServerError, "internal_server_error", 500),
            // Stytch's strings for session JWTs (shared/reference/stytch-error-types.txt).
            (ErrorType::UnableToParseSessionJwt, "unable_to_parse_session_jwt", 400),
            (ErrorType::JwtInvalidAudience, "jwt_invalid_audience", 400),
            (ErrorType::JwtInvalidIssuer, "jwt_invalid_issuer", 400),
            (ErrorType::JwtInvalidClaims, "jwt_invalid_claims", 400),
        ];
        for (kind, s, status) in expected {
            assert_eq!(kind.as_str(), s);
            assert_eq!(kind.http_status(), status, "{s}");
        }
    }

    #[test]
    fn every_domain_error_has_a_client_error_status() {
        let samples = [
            Error::MfaRequired,
            Error::InvalidSessionDuration { minutes: 4 },
            Error::InvalidId { kind: IdKind::Member, value: "x".into() },
            Error::ReservedClaims { keys: vec!["iss".into()] },
        ];
        for e in samples {
            let status = e.error_type().http_status();
            assert!((400..500).contains(&status), "{e}: {status}");
        }
    }
}
