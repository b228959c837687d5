//! Which HTTP status answers each kind of error. The domain names kinds (`ErrorType`); only the
//! HTTP layers (this crate and `tessera-server`, which uses this function) decide how they
//! travel.

use axum::http::StatusCode;
use tessera_core::ErrorType;

/// The status of `error_type`: 404 for what does not exist (a session that is unknown, expired,
/// idle or revoked alike), 409 for uniqueness conflicts, 403 for refusals of a known session, 401
/// for credentials that do not verify (the project's, or a session token or JWT a request names),
/// 413, 503 when storage is down, 500 for our own faults, 400 for every other mistake of the
/// caller.
///
/// This is the status of the Tessera HTTP API. A protected route of an embedding service answers
/// [`crate::AuthRejection`]'s statuses instead (401 for every credential that is not a live
/// session), which uses this mapping only for failures to verify (storage down, internal).
///
/// ```
/// use tessera_axum::{status_of, http::StatusCode};
/// use tessera_core::ErrorType;
///
/// assert_eq!(status_of(ErrorType::MfaRequired), StatusCode::FORBIDDEN);
/// ```
pub const fn status_of(error_type: ErrorType) -> StatusCode {
    match error_type {
        ErrorType::SessionNotFound
        | ErrorType::OrganizationNotFound
        | ErrorType::MemberNotFound
        | ErrorType::WebhookEndpointNotFound
        | ErrorType::WebhookDeliveryNotFound => StatusCode::NOT_FOUND,
        ErrorType::OrganizationSlugAlreadyUsed
        | ErrorType::DuplicateEmail
        | ErrorType::DuplicateExternalId
        | ErrorType::SessionLimitReached => StatusCode::CONFLICT,
        ErrorType::SessionAuthorizationError
        | ErrorType::SessionAuthorizationTenancyError
        | ErrorType::MfaRequired
        | ErrorType::ReauthenticationRequired => StatusCode::FORBIDDEN,
        // The project's credentials, or a session credential that does not verify: a token
        // that is not one Tessera mints, a JWT that is malformed, forged, expired or too old.
        ErrorType::UnauthorizedCredentials
        | ErrorType::InvalidSessionToken
        | ErrorType::UnableToParseSessionJwt
        | ErrorType::JwtInvalidAudience
        | ErrorType::JwtInvalidIssuer
        | ErrorType::JwtInvalidClaims => StatusCode::UNAUTHORIZED,
        ErrorType::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorType::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_catalog_statuses() {
        // DESIGN §4.5 names these pairs; they are part of the wire contract.
        let expected = [
            (ErrorType::SessionNotFound, 404),
            (ErrorType::InvalidSessionDurationMinutes, 400),
            (ErrorType::CustomClaimsTooLarge, 400),
            (ErrorType::ReservedClaimsInCustomClaims, 400),
            (ErrorType::InvalidOrganizationSlug, 400),
            (ErrorType::OrganizationSlugAlreadyUsed, 409),
            (ErrorType::OrganizationNotFound, 404),
            (ErrorType::MemberNotFound, 404),
            (ErrorType::DuplicateEmail, 409),
            (ErrorType::SessionAuthorizationError, 403),
            (ErrorType::SessionAuthorizationTenancyError, 403),
            (ErrorType::MfaRequired, 403),
            (ErrorType::NoSessionArguments, 400),
            (ErrorType::TooManySessionArguments, 400),
            (ErrorType::InvalidAuthenticationFactor, 400),
            (ErrorType::UnauthorizedCredentials, 401),
            (ErrorType::InvalidRequest, 400),
            (ErrorType::PayloadTooLarge, 413),
            (ErrorType::StorageUnavailable, 503),
            (ErrorType::InternalServerError, 500),
            // Tessera's: a credential that does not verify is 401, not a malformed request
            // (its format cannot be stated in the OpenAPI document: checksums, signatures).
            (ErrorType::InvalidSessionToken, 401),
            (ErrorType::UnableToParseSessionJwt, 401),
            (ErrorType::JwtInvalidAudience, 401),
            (ErrorType::JwtInvalidIssuer, 401),
            (ErrorType::JwtInvalidClaims, 401),
            (ErrorType::MetadataTooLarge, 400),
            (ErrorType::TooManyRoles, 400),
            // The session limit: a conflict with the member's live sessions.
            (ErrorType::SessionLimitReached, 409),
            (ErrorType::InvalidSessionLimit, 400),
            (ErrorType::InvalidEventType, 400),
            (ErrorType::InvalidWebhookUrl, 400),
            (ErrorType::WebhookEndpointNotFound, 404),
            (ErrorType::WebhookDeliveryNotFound, 404),
        ];
        for (kind, status) in expected {
            assert_eq!(status_of(kind).as_u16(), status, "{kind}");
        }
    }

    #[test]
    fn only_storage_and_our_own_faults_are_5xx() {
        for &kind in ErrorType::ALL {
            let status = status_of(kind);
            let server_side =
                matches!(kind, ErrorType::StorageUnavailable | ErrorType::InternalServerError);
            assert_eq!(status.is_server_error(), server_side, "{kind}: {status}");
            assert!(status.is_client_error() || status.is_server_error(), "{kind}");
        }
    }
}
