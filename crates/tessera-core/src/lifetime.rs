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
    /// Accesses are persisted at most once per [`touch_threshold`] (the touch interval, but
    /// never more than half the idle timeout), so a session can time out for idleness up to
    /// that threshold early, never late, and a session in use never idles out.
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
        Self::continuing(now, now, duration, policy)
    }

    /// A session that continues a sign-in made at `started_at` (an exchange into another
    /// organization): accessed now, for `duration`, but capped by the absolute limit counted from
    /// the sign-in, so moving between organizations never outlives it.
    pub fn continuing(
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
        duration: SessionDuration,
        policy: &LifetimePolicy,
    ) -> Self {
        Self {
            started_at,
            last_accessed_at: now,
            expires_at: (now + duration.as_delta())
                .min(started_at + policy.max_lifetime.as_delta()),
            revoked_at: None,
        }
    }

    /// The instant after which no extension can keep the session alive.
    pub fn absolute_deadline(&self, policy: &LifetimePolicy) -> DateTime<Utc> {
        self.started_at + policy.max_lifetime.as_delta()
    }

    /// The instant after which an unused session is idle, if the organization has an idle timeout.
    pub fn idle_deadline(&self, policy: &LifetimePolicy) -> Option<DateTime<Utc>> {
        policy.idle_timeout.map(|idle| self.last_accessed_at + idle.as_delta())
    }

    /// The instant the session ends if nothing else happens to it: when it was revoked, or the
    /// earliest of its expiry, its absolute deadline and its idle deadline. The session is active
    /// exactly while `now < ends_at` ([`Self::status`] says the same, naming the reason); stores
    /// keep this instant so that purging and the "is it live" test of a write are one indexed
    /// comparison.
    pub fn ends_at(&self, policy: &LifetimePolicy) -> DateTime<Utc> {
        if let Some(revoked_at) = self.revoked_at {
            return revoked_at;
        }
        let ends = self.expires_at.min(self.absolute_deadline(policy));
        self.idle_deadline(policy).map_or(ends, |idle| ends.min(idle))
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
    /// [`touch_threshold`] are coalesced into the first one to spare the database.
    pub fn touch_due(
        &self,
        now: DateTime<Utc>,
        interval: TouchInterval,
        policy: &LifetimePolicy,
    ) -> bool {
        now - self.last_accessed_at >= touch_threshold(interval, policy)
    }
}

/// How long accesses are coalesced: the deployment's touch interval, but never more than half
/// the organization's idle timeout. With any longer threshold a session in use would idle out
/// (a 3600 s interval against a 5 minute idle timeout ends a session used every second five
/// minutes after sign-in); with at most half, a session accessed at least every `idle / 2` never
/// idles out, and one not accessed idles out at most the threshold early.
pub fn touch_threshold(interval: TouchInterval, policy: &LifetimePolicy) -> TimeDelta {
    match policy.idle_timeout {
        Some(idle) => interval.as_delta().min(idle.as_delta() / 2),
        None => interval.as_delta(),
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
        assert!(!times.touch_due(t0() + TimeDelta::seconds(59), interval, &policy));
        assert!(times.touch_due(t0() + TimeDelta::seconds(60), interval, &policy));
        assert!(times.touch_due(t0(), TouchInterval::from_seconds(0).unwrap(), &policy));
    }

    #[test]
    fn touch_threshold_is_at_most_half_the_idle_timeout() {
        let hour = TouchInterval::from_seconds(3600).unwrap();
        let idle = |m| LifetimePolicy {
            max_lifetime: MaxLifetime::default(),
            idle_timeout: Some(IdleTimeout::from_minutes(m).unwrap()),
        };
        assert_eq!(touch_threshold(hour, &idle(5)), TimeDelta::seconds(150));
        assert_eq!(touch_threshold(hour, &idle(600)), TimeDelta::seconds(3600));
        assert_eq!(touch_threshold(hour, &LifetimePolicy::default()), TimeDelta::seconds(3600));
        let times = SessionTimes::start(t0(), SessionDuration::default(), &idle(5));
        assert!(!times.touch_due(t0() + TimeDelta::seconds(149), hour, &idle(5)));
        assert!(times.touch_due(t0() + TimeDelta::seconds(150), hour, &idle(5)));
    }

    #[test]
    fn continuing_keeps_the_sign_in_deadline() {
        let policy = LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(120).unwrap(),
            idle_timeout: None,
        };
        let later = t0() + minutes(100);
        let times = SessionTimes::continuing(
            t0(),
            later,
            SessionDuration::from_minutes(60).unwrap(),
            &policy,
        );
        assert_eq!(times.started_at, t0());
        assert_eq!(times.last_accessed_at, later);
        assert_eq!(times.expires_at, t0() + minutes(120));
    }

    #[test]
    fn ends_at_is_the_first_deadline() {
        let policy = LifetimePolicy {
            max_lifetime: MaxLifetime::from_minutes(120).unwrap(),
            idle_timeout: Some(IdleTimeout::from_minutes(15).unwrap()),
        };
        let mut times =
            SessionTimes::start(t0(), SessionDuration::from_minutes(60).unwrap(), &policy);
        assert_eq!(times.ends_at(&policy), t0() + minutes(15));
        times.last_accessed_at = t0() + minutes(50);
        assert_eq!(times.ends_at(&policy), t0() + minutes(60));
        times.expires_at = t0() + minutes(500);
        assert_eq!(times.ends_at(&policy), t0() + minutes(65));
        times.last_accessed_at = t0() + minutes(110);
        assert_eq!(times.ends_at(&policy), t0() + minutes(120));
        times.revoked_at = Some(t0() + minutes(1));
        assert_eq!(times.ends_at(&policy), t0() + minutes(1));
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

        /// `ends_at` and `status` agree: active exactly before `ends_at`.
        #[test]
        fn ends_at_agrees_with_status(
            policy in arb_policy(),
            duration in 5i64..=527_040,
            accessed_after in 0i64..1_000_000,
            revoked in proptest::option::of(0i64..1_000_000),
            at in 0i64..40_000_000,
        ) {
            let mut times = SessionTimes::start(t0(), SessionDuration::from_minutes(duration).unwrap(), &policy);
            times.last_accessed_at = t0() + TimeDelta::seconds(accessed_after);
            times.revoked_at = revoked.map(|s| t0() + TimeDelta::seconds(s));
            let now = t0() + TimeDelta::seconds(at);
            let active = times.status(now, &policy).is_active();
            // A revoked session is never active, even before `revoked_at` (status is final).
            let before_end = times.revoked_at.is_none() && now < times.ends_at(&policy);
            prop_assert_eq!(active, before_end);
        }

        /// For every allowed touch interval and idle timeout: a session accessed at least every
        /// `idle / 2` never idles out, whatever the coalescing, and each write-back happens at most
        /// the threshold after the access it records would have been due.
        #[test]
        fn a_session_in_use_never_idles_out(
            interval in 0i64..=TouchInterval::MAX_SECONDS,
            idle_minutes in 5i64..=527_040,
            gaps in proptest::collection::vec(0.0f64..=1.0, 1..64),
        ) {
            let interval = TouchInterval::from_seconds(interval).unwrap();
            let idle = IdleTimeout::from_minutes(idle_minutes).unwrap();
            let policy = LifetimePolicy { max_lifetime: MaxLifetime::MAX, idle_timeout: Some(idle) };
            let mut stored = SessionTimes::start(t0(), SessionDuration::MAX, &policy);
            let max_gap = (idle.as_delta() / 2).num_seconds();
            let mut now = t0();
            for fraction in gaps {
                now += TimeDelta::seconds((fraction * max_gap as f64) as i64);
                let status = stored.status(now, &policy);
                if status == SessionStatus::Expired {
                    break; // past the year-long expiry: not what this property is about
                }
                prop_assert_eq!(
                    status,
                    SessionStatus::Active,
                    "at {} with interval {:?}, idle {} min",
                    now,
                    interval,
                    idle_minutes
                );
                if stored.touch_due(now, interval, &policy) {
                    stored.last_accessed_at = now;
                }
                prop_assert!(now - stored.last_accessed_at < touch_threshold(interval, &policy).max(TimeDelta::microseconds(1)));
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
