//! Assurance: is a session multi-factor, and are its factors fresh enough for what is asked?

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
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
    let mfa_needed = requirement.require_mfa || policy == MfaPolicy::RequiredForAll;
    if mfa_needed && !is_multi_factor(factors) {
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
    }
}
