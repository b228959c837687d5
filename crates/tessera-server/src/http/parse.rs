//! From the strings of a request to domain values, each failure a typed error naming the field.

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::{Number, Value};
use tessera_core::{
    EmailAddress, ErrorType, ExternalId, IdleTimeout, MaxLifetime, MemberRef, Metadata, MfaPolicy,
    OrganizationName, OrganizationRef, OrganizationSlug, RoleId, SessionDuration, SessionLimit,
    WhenLimitReached,
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

/// `max_sessions_per_member`: absent leaves it, `0` removes the limit, 1 to 1000 sets it (with
/// the default behaviour, which the update's or the organization's own replaces).
pub(super) fn session_limit(max: Option<i64>) -> Result<Option<Option<SessionLimit>>, ApiError> {
    match max {
        None => Ok(None),
        Some(0) => Ok(Some(None)),
        Some(max) => Ok(Some(Some(SessionLimit::new(max, WhenLimitReached::default())?))),
    }
}

/// `session_limit_behavior`; `""` or absent leaves it as it is.
pub(super) fn session_limit_behavior(
    value: Option<&str>,
) -> Result<Option<WhenLimitReached>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(behavior) => WhenLimitReached::parse(behavior).map(Some).ok_or_else(|| {
            ApiError::from(tessera_core::Error::InvalidSessionLimit {
                reason: "session_limit_behavior must be revoke_least_recently_used or refuse"
                    .into(),
            })
        }),
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

/// A whole number, for `#[serde(deserialize_with)]` on the minute fields: JSON Schema's
/// `integer`, which the OpenAPI document names, counts `60.0` as one, and serde's `i64` alone
/// would refuse it.
pub(super) fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<Number>::deserialize(deserializer)? else { return Ok(None) };
    if let Some(whole) = number.as_i64() {
        return Ok(Some(whole));
    }
    // Within ±2^53 a float is exact; beyond it no minute field is valid anyway.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match number.as_f64() {
        Some(float) if float.fract() == 0.0 && float.abs() <= EXACT => Ok(Some(float as i64)),
        _ => Err(D::Error::custom("expected a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    struct Minutes {
        #[serde(default, deserialize_with = "super::whole_number")]
        minutes: Option<i64>,
    }

    fn read(value: serde_json::Value) -> Result<Option<i64>, serde_json::Error> {
        serde_json::from_value::<Minutes>(value).map(|m| m.minutes)
    }

    #[test]
    fn whole_numbers_are_read_in_either_json_form() {
        assert_eq!(read(json!({"minutes": 60})).unwrap(), Some(60));
        assert_eq!(read(json!({"minutes": 60.0})).unwrap(), Some(60));
        assert_eq!(read(json!({"minutes": -5.0})).unwrap(), Some(-5));
        assert_eq!(read(json!({"minutes": null})).unwrap(), None);
        assert_eq!(read(json!({})).unwrap(), None);
        for bad in [json!(60.5), json!(1e300), json!("60"), json!(true), json!(u64::MAX)] {
            assert!(read(json!({"minutes": bad})).is_err(), "{bad}");
        }
    }
}
