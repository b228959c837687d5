//! From the strings of a request to domain values, each failure a typed error naming the field.

use serde_json::Value;
use tessera_core::{
    EmailAddress, ErrorType, ExternalId, IdleTimeout, MaxLifetime, MemberRef, Metadata, MfaPolicy,
    OrganizationName, OrganizationRef, OrganizationSlug, RoleId, SessionDuration,
};

use super::error::ApiError;

pub(super) fn organization_ref(value: &str) -> Result<OrganizationRef, ApiError> {
    Ok(OrganizationRef::parse(value)?)
}

/// Stytch's `member_id` parameter: a member id or an external id.
pub(super) fn member_ref(value: &str) -> Result<MemberRef, ApiError> {
    Ok(MemberRef::parse_id_or_external_id(value)?)
}

pub(super) fn email(value: &str) -> Result<EmailAddress, ApiError> {
    Ok(EmailAddress::parse(value)?)
}

pub(super) fn external_id(value: &str) -> Result<ExternalId, ApiError> {
    Ok(ExternalId::parse(value)?)
}

/// An optional external id where `""` clears it (Stytch sends empty strings for "none").
pub(super) fn optional_external_id(value: Option<&str>) -> Result<Option<ExternalId>, ApiError> {
    value.filter(|v| !v.is_empty()).map(external_id).transpose()
}

pub(super) fn organization_name(value: &str) -> Result<OrganizationName, ApiError> {
    Ok(OrganizationName::parse(value)?)
}

pub(super) fn slug(value: &str) -> Result<OrganizationSlug, ApiError> {
    Ok(OrganizationSlug::parse(value)?)
}

pub(super) fn duration(minutes: Option<i64>) -> Result<Option<SessionDuration>, ApiError> {
    Ok(minutes.map(SessionDuration::from_minutes).transpose()?)
}

pub(super) fn max_lifetime(minutes: Option<i64>) -> Result<Option<MaxLifetime>, ApiError> {
    Ok(minutes.map(MaxLifetime::from_minutes).transpose()?)
}

pub(super) fn idle_timeout(minutes: Option<i64>) -> Result<Option<IdleTimeout>, ApiError> {
    Ok(minutes.map(IdleTimeout::from_minutes).transpose()?)
}

/// Stytch's `mfa_policy`; `""` or absent leaves it as it is.
pub(super) fn mfa_policy(value: Option<&str>) -> Result<Option<MfaPolicy>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(policy) => Ok(Some(policy.parse()?)),
    }
}

pub(super) fn roles(values: &[String]) -> Result<Vec<RoleId>, ApiError> {
    values.iter().map(|r| RoleId::parse(r).map_err(ApiError::from)).collect()
}

/// A metadata object: `null` or absent is none.
pub(super) fn metadata(
    value: Option<Value>,
    field: &'static str,
) -> Result<Option<Metadata>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(Metadata::parse(field, map)?)),
        Some(_) => Err(ApiError::new(
            ErrorType::MetadataInvalidFormat,
            format!("{field} is invalid: must be a JSON object"),
        )),
    }
}
