//! Assurance: is a session multi-factor, and are its factors fresh enough for what is asked?

use std::{fmt, str::FromStr};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, echo},
    factor::{AuthenticationFactor, FactorKind},
};

/// An organization's MFA rule, with Stytch's wire values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MfaPolicy {
    #[default]
    Optional,
    RequiredForAll,
}

impl MfaPolicy {
    pub const ALL: [MfaPolicy; 2] = [Self::Optional, Self::RequiredForAll];

    /// The wire value (Stytch's `mfa_policy`), as serde writes it and stores keep it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "OPTIONAL",
            Self::RequiredForAll => "REQUIRED_FOR_ALL",
        }
    }

    /// The exact wire value; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|policy| policy.as_str() == s)
    }

    /// Whether a session with these factors meets this policy. A session that does not may be
    /// stepped up (a factor added) but never authenticates and never carries a session JWT.
    pub fn is_met_by(self, factors: &[AuthenticationFactor]) -> bool {
        self == Self::Optional || is_multi_factor(factors)
    }
}

impl fmt::Display for MfaPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MfaPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s).ok_or_else(|| Error::InvalidMfaPolicy { value: echo(s) })
    }
}

/// What an authenticate call may ask for on top of the organization's rules (step-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssuranceRequirement {
    /// The session must be multi-factor, whatever the organization's policy.
    pub require_mfa: bool,
    /// Some factor must have been proved no longer ago than this.
    pub max_factor_age: Option<TimeDelta>,
}

/// True when the factors include both a primary factor and a possession factor.
pub fn is_multi_factor(factors: &[AuthenticationFactor]) -> bool {
    let has = |kind| factors.iter().any(|f| f.factor_type().kind() == kind);
    has(FactorKind::Primary) && has(FactorKind::Possession)
}

/// The most recent proof among the factors, if any.
pub fn last_authenticated_at(factors: &[AuthenticationFactor]) -> Option<DateTime<Utc>> {
    factors.iter().map(AuthenticationFactor::last_authenticated_at).max()
}

/// Checks the organization's policy and the call's requirement against a session's factors.
/// MFA is checked first: a session lacking a kind of factor cannot fix that by being fresh.
pub fn check(
    factors: &[AuthenticationFactor],
    policy: MfaPolicy,
    requirement: AssuranceRequirement,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if !policy.is_met_by(factors) || (requirement.require_mfa && !is_multi_factor(factors)) {
        return Err(Error::MfaRequired);
    }
    if let Some(max_age) = requirement.max_factor_age {
        let fresh = last_authenticated_at(factors).is_some_and(|at| now - at <= max_age);
        if !fresh {
            return Err(Error::FactorTooOld { max_age_seconds: max_age.num_seconds() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{
        error::ErrorType,
        factor::{DeliveryMethod, FactorInput, FactorType},
    };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
    }

    fn factor(
        factor_type: FactorType,
        delivery_method: DeliveryMethod,
        at: DateTime<Utc>,
    ) -> AuthenticationFactor {
        AuthenticationFactor::new(
            FactorInput {
                factor_type,
                delivery_method,
                last_authenticated_at: Some(at),
                detail: None,
            },
            at,
        )
        .unwrap()
    }

    fn password() -> AuthenticationFactor {
        factor(FactorType::Password, DeliveryMethod::Knowledge, t0())
    }

    fn totp_at(at: DateTime<Utc>) -> AuthenticationFactor {
        factor(FactorType::Totp, DeliveryMethod::AuthenticatorApp, at)
    }

    #[test]
    fn mfa_needs_two_kinds() {
        assert!(!is_multi_factor(&[]));
        assert!(!is_multi_factor(&[password()]));
        assert!(!is_multi_factor(&[
            password(),
            factor(FactorType::MagicLink, DeliveryMethod::Email, t0())
        ]));
        assert!(!is_multi_factor(&[
            totp_at(t0()),
            factor(FactorType::Otp, DeliveryMethod::Sms, t0())
        ]));
        assert!(is_multi_factor(&[password(), totp_at(t0())]));
    }

    #[test]
    fn required_for_all_refuses_single_factor_sessions() {
        let none = AssuranceRequirement::default();
        assert!(check(&[password()], MfaPolicy::Optional, none, t0()).is_ok());
        let err = check(&[password()], MfaPolicy::RequiredForAll, none, t0()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired);
        assert!(check(&[password(), totp_at(t0())], MfaPolicy::RequiredForAll, none, t0()).is_ok());
    }

    #[test]
    fn step_up_can_require_mfa_on_an_optional_organization() {
        let req = AssuranceRequirement { require_mfa: true, max_factor_age: None };
        assert!(check(&[password()], MfaPolicy::Optional, req, t0()).is_err());
    }

    #[test]
    fn factor_age_boundary() {
        let req = AssuranceRequirement {
            require_mfa: false,
            max_factor_age: Some(TimeDelta::seconds(300)),
        };
        let factors = [password(), totp_at(t0() + TimeDelta::seconds(100))];
        assert!(check(&factors, MfaPolicy::Optional, req, t0() + TimeDelta::seconds(400)).is_ok());
        let err =
            check(&factors, MfaPolicy::Optional, req, t0() + TimeDelta::seconds(401)).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::ReauthenticationRequired);
        assert!(check(&[], MfaPolicy::Optional, req, t0()).is_err());
    }

    #[test]
    fn policy_wire_values_are_stytchs() {
        assert_eq!(
            serde_json::to_string(&MfaPolicy::RequiredForAll).unwrap(),
            "\"REQUIRED_FOR_ALL\""
        );
        assert_eq!(serde_json::from_str::<MfaPolicy>("\"OPTIONAL\"").unwrap(), MfaPolicy::Optional);
        assert!(serde_json::from_str::<MfaPolicy>("\"SOMETIMES\"").is_err());
        for policy in MfaPolicy::ALL {
            assert_eq!(serde_json::to_value(policy).unwrap(), policy.as_str());
            assert_eq!(policy.as_str().parse::<MfaPolicy>().unwrap(), policy);
        }
        let err = "required_for_all".parse::<MfaPolicy>().unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidOrganizationMfaPolicy);
    }
}
