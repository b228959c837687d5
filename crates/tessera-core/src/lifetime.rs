//! Session lifetime: duration bounds, the absolute cap, the idle timeout, coalesced touches and
//! the status of a session at a given instant.
//!
//! Every function takes `now`; nothing here reads a clock.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Minutes bounds shared by every lifetime setting: 5 minutes to 366 days (Stytch's bounds).
pub const MIN_MINUTES: u32 = 5;
pub const MAX_MINUTES: u32 = 527_040;

macro_rules! minutes_setting {
    ($(#[$doc:meta])* $name:ident, $error:ident, default = $default:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(u32);

        impl $name {
            pub const MIN: Self = Self(MIN_MINUTES);
            pub const MAX: Self = Self(MAX_MINUTES);

            pub fn from_minutes(minutes: i64) -> Result<Self, Error> {
                u32::try_from(minutes)
                    .ok()
                    .filter(|m| (MIN_MINUTES..=MAX_MINUTES).contains(m))
                    .map(Self)
                    .ok_or(Error::$error { minutes })
            }

            pub const fn minutes(self) -> u32 {
                self.0
            }

            pub fn as_delta(self) -> TimeDelta {
                TimeDelta::minutes(i64::from(self.0))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($default)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = Error;
            fn try_from(minutes: i64) -> Result<Self, Error> {
                Self::from_minutes(minutes)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                i64::from(value.0)
            }
        }
    };
}

minutes_setting!(
    /// `session_duration_minutes`: how long from now a session lives when created or extended.
    SessionDuration,
    InvalidSessionDuration,
    default = 60
);
minutes_setting!(
    /// The absolute timeout: no session outlives `started_at + max_lifetime`, however often it
    /// is extended. An organization setting.
    MaxLifetime,
    InvalidMaxSessionLifetime,
    default = MAX_MINUTES
);
minutes_setting!(
    /// A session not accessed for this long is over. An optional organization setting.
    ///
    /// Its lower bound (5 minutes) sits well above any sensible [`TouchInterval`]: because
    /// accesses are persisted at most once per touch interval, a session can time out for
    /// idleness up to one touch interval early, never late.
    IdleTimeout,
    InvalidIdleTimeout,
    default = 60
);

/// How often at most `last_accessed_at` is written back: 0 to 3600 seconds, default 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TouchInterval(TimeDelta);

impl TouchInterval {
    pub const MAX_SECONDS: i64 = 3600;

    pub fn from_seconds(seconds: i64) -> Result<Self, Error> {
        if (0..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(TimeDelta::seconds(seconds)))
        } else {
            Err(Error::InvalidTouchInterval { seconds })
        }
    }

    pub fn as_delta(self) -> TimeDelta {
        self.0
    }
}

impl Default for TouchInterval {
    fn default() -> Self {
        Self(TimeDelta::seconds(60))
    }
}

/// The lifetime rules of one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifetimePolicy {
    pub max_lifetime: MaxLifetime,
    pub idle_timeout: Option<IdleTimeout>,
}

/// Where a session stands at an instant. Everything but `Active` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Expired,
    IdleTimedOut,
    Revoked,
}

impl SessionStatus {
    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

/// The instants that decide a session's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimes {
    pub started_at: DateTime<Utc>,
    pub last_accessed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl SessionTimes {
    /// A session starting at `now` for `duration`, capped by the organization's absolute limit.
    pub fn start(now: DateTime<Utc>, duration: SessionDuration, policy: &LifetimePolicy) -> Self {
        Self {
            started_at: now,
            last_accessed_at: now,
            expires_at: now + duration.as_delta().min(policy.max_lifetime.as_delta()),
            revoked_at: None,
        }
    }

    /// The instant after which no extension can keep the session alive.
    pub fn absolute_deadline(&self, policy: &LifetimePolicy) -> DateTime<Utc> {
        self.started_at + policy.max_lifetime.as_delta()
    }

    /// The status at `now`. Revocation wins over expiry, expiry over idleness, so that the
    /// answer names the first thing that ended the session.
    pub fn status(&self, now: DateTime<Utc>, policy: &LifetimePolicy) -> SessionStatus {
        if self.revoked_at.is_some() {
            return SessionStatus::Revoked;
        }
        if now >= self.expires_at || now >= self.absolute_deadline(policy) {
            return SessionStatus::Expired;
        }
        if let Some(idle) = policy.idle_timeout
            && now >= self.last_accessed_at + idle.as_delta()
        {
            return SessionStatus::IdleTimedOut;
        }
        SessionStatus::Active
    }

    /// The `expires_at` after extending at `now` by `duration`: `now + duration`, never beyond
    /// the absolute deadline. Like Stytch, an extension may also shorten the session.
    pub fn extended_expiry(
        &self,
        now: DateTime<Utc>,
        duration: SessionDuration,
        policy: &LifetimePolicy,
    ) -> DateTime<Utc> {
        (now + duration.as_delta()).min(self.absolute_deadline(policy))
    }

    /// Whether an access at `now` should be written back. Accesses closer together than the
    /// touch interval are coalesced into the first one to spare the database.
    pub fn touch_due(&self, now: DateTime<Utc>, interval: TouchInterval) -> bool {
        now - self.last_accessed_at >= interval.as_delta()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::error::ErrorType;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn minutes(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    #[test]
    fn duration_bounds() {
        assert_eq!(
            SessionDuration::from_minutes(4).unwrap_err().error_type(),
            ErrorType::InvalidSessionDurationMinutes
        );
        assert_eq!(SessionDuration::from_minutes(5).unwrap().minutes(), 5);
        assert_eq!(SessionDuration::from_minutes(527_040).unwrap().minutes(), 527_040);
        assert!(SessionDuration::from_minutes(527_041).is_err());
        assert!(SessionDuration::from_minutes(-60).is_err());
        assert!(SessionDuration::from_minutes(i64::MAX).is_err());
        assert_eq!(SessionDuration::default().minutes(), 60);
        assert!(serde_json::from_str::<SessionDuration>("4").is_err());
        assert_eq!(serde_json::from_str::<SessionDuration>("30").unwrap().minutes(), 30);
    }

    #[test]
    fn other_settings_have_their_own_error_types() {
        assert_eq!(
            MaxLifetime::from_minutes(4).unwrap_err().error_type(),
            ErrorType::InvalidMaxSessionLifetimeMinutes
        );
        assert_eq!(
            IdleTimeout::from_minutes(527_041).unwrap_err().error_type(),
            ErrorType::InvalidIdleTimeoutMinutes
        );
        assert_eq!(MaxLifetime::default().minutes(), 527_040);
        assert!(TouchInterval::from_seconds(0).is_ok());
        assert!(TouchInterval::from_seconds(3600).is_ok());
        assert!(TouchInterval::from_seconds(3601).is_err());
        assert!(TouchInterval::from_seconds(-1).is_err());
        assert_eq!(TouchInterval::default().as_delta(), TimeDelta::seconds(60));
    }

    #[test]
    fn start_is_capped_by_max_lifetime() {
        let policy = LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(30).unwrap(),
            idle_timeout: None,
        };
        let times = SessionTimes::start(t0(), SessionDuration::from_minutes(60).unwrap(), &policy);
        assert_eq!(times.expires_at, t0() + minutes(30));
        assert_eq!(times.last_accessed_at, t0());
    }

    #[test]
    fn expiry_boundary_is_exclusive() {
        let policy = LifetimePolicy::default();
        let times = SessionTimes::start(t0(), SessionDuration::default(), &policy);
        let end = t0() + minutes(60);
        assert_eq!(times.status(end - TimeDelta::nanoseconds(1), &policy), SessionStatus::Active);
        assert_eq!(times.status(end, &policy), SessionStatus::Expired);
    }

    #[test]
    fn idle_timeout_boundary() {
        let policy = LifetimePolicy {
            max_lifetime: MaxLifetime::default(),
            idle_timeout: Some(IdleTimeout::from_minutes(15).unwrap()),
        };
        let times = SessionTimes::start(t0(), SessionDuration::from_minutes(600).unwrap(), &policy);
        assert_eq!(
            times.status(t0() + minutes(15) - TimeDelta::seconds(1), &policy),
            SessionStatus::Active
        );
        assert_eq!(times.status(t0() + minutes(15), &policy), SessionStatus::IdleTimedOut);
        let touched = SessionTimes { last_accessed_at: t0() + minutes(10), ..times };
        assert_eq!(touched.status(t0() + minutes(20), &policy), SessionStatus::Active);
    }

    #[test]
    fn lowering_max_lifetime_ends_old_sessions_at_once() {
        let generous = LifetimePolicy::default();
        let times =
            SessionTimes::start(t0(), SessionDuration::from_minutes(600).unwrap(), &generous);
        let strict = LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(60).unwrap(),
            idle_timeout: None,
        };
        assert_eq!(times.status(t0() + minutes(61), &strict), SessionStatus::Expired);
        assert_eq!(times.status(t0() + minutes(61), &generous), SessionStatus::Active);
    }

    #[test]
    fn revocation_wins() {
        let policy = LifetimePolicy::default();
        let mut times = SessionTimes::start(t0(), SessionDuration::default(), &policy);
        times.revoked_at = Some(t0());
        assert_eq!(times.status(t0(), &policy), SessionStatus::Revoked);
        assert_eq!(times.status(t0() + minutes(120), &policy), SessionStatus::Revoked);
    }

    #[test]
    fn extend_resets_from_now_and_clamps() {
        let policy = LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(120).unwrap(),
            idle_timeout: None,
        };
        let times = SessionTimes::start(t0(), SessionDuration::from_minutes(30).unwrap(), &policy);
        let at = t0() + minutes(20);
        assert_eq!(
            times.extended_expiry(at, SessionDuration::from_minutes(60).unwrap(), &policy),
            at + minutes(60)
        );
        assert_eq!(
            times.extended_expiry(at, SessionDuration::from_minutes(5).unwrap(), &policy),
            at + minutes(5)
        );
        assert_eq!(
            times.extended_expiry(at, SessionDuration::from_minutes(600).unwrap(), &policy),
            t0() + minutes(120)
        );
    }

    #[test]
    fn touch_coalescing_boundary() {
        let policy = LifetimePolicy::default();
        let times = SessionTimes::start(t0(), SessionDuration::default(), &policy);
        let interval = TouchInterval::default();
        assert!(!times.touch_due(t0() + TimeDelta::seconds(59), interval));
        assert!(times.touch_due(t0() + TimeDelta::seconds(60), interval));
        assert!(times.touch_due(t0(), TouchInterval::from_seconds(0).unwrap()));
    }

    fn arb_policy() -> impl Strategy<Value = LifetimePolicy> {
        (5i64..=527_040, proptest::option::of(5i64..=10_000)).prop_map(|(max, idle)| {
            LifetimePolicy {
                max_lifetime: MaxLifetime::from_minutes(max).unwrap(),
                idle_timeout: idle.map(|m| IdleTimeout::from_minutes(m).unwrap()),
            }
        })
    }

    proptest! {
        /// Once a session is not active it stays not active for every later `now`.
        #[test]
        fn not_active_is_final(
            policy in arb_policy(),
            duration in 5i64..=527_040,
            accessed_after in 0i64..1_000_000,
            revoked in proptest::option::of(0i64..1_000_000),
            t1 in 0i64..40_000_000,
            dt in 0i64..40_000_000,
        ) {
            let mut times = SessionTimes::start(t0(), SessionDuration::from_minutes(duration).unwrap(), &policy);
            times.last_accessed_at = t0() + TimeDelta::seconds(accessed_after);
            times.revoked_at = revoked.map(|s| t0() + TimeDelta::seconds(s));
            let first = times.status(t0() + TimeDelta::seconds(t1), &policy);
            let later = times.status(t0() + TimeDelta::seconds(t1 + dt), &policy);
            if !first.is_active() {
                prop_assert!(!later.is_active(), "{first:?} then {later:?}");
            }
        }

        /// Whatever sequence of extensions, `expires_at` never passes `started_at + max_lifetime`.
        #[test]
        fn extensions_never_pass_the_absolute_deadline(
            policy in arb_policy(),
            initial in 5i64..=527_040,
            steps in proptest::collection::vec((0i64..10_000_000, 5i64..=527_040), 0..32),
        ) {
            let mut times = SessionTimes::start(t0(), SessionDuration::from_minutes(initial).unwrap(), &policy);
            let deadline = t0() + policy.max_lifetime.as_delta();
            prop_assert!(times.expires_at <= deadline);
            let mut now = t0();
            for (advance, minutes) in steps {
                now += TimeDelta::seconds(advance);
                times.expires_at = times.extended_expiry(now, SessionDuration::from_minutes(minutes).unwrap(), &policy);
                prop_assert!(times.expires_at <= deadline);
            }
        }
    }
}
