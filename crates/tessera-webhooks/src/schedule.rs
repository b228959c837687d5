//! When to try again: the retry schedule, `Retry-After`, jitter, and when to give up on an
//! endpoint. All pure: the caller supplies the clock and the random fraction, so every answer
//! is reproducible in a test.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// The default delays before each attempt (Svix's, extended as Stytch does): immediately, then
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h and 24 h. Eleven attempts over about
/// three and a half days: quick retries ride out a blip or a deploy, the long tail an outage
/// over a weekend.
pub const DEFAULT_DELAYS: [Duration; 11] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(2 * HOUR),
    Duration::from_secs(5 * HOUR),
    Duration::from_secs(10 * HOUR),
    Duration::from_secs(10 * HOUR),
    Duration::from_secs(14 * HOUR),
    Duration::from_secs(20 * HOUR),
    Duration::from_secs(24 * HOUR),
];

/// An endpoint whose deliveries have failed without a single success for this long is disabled
/// (five days: longer than one message's whole schedule, so it takes failures across several
/// messages, not one unlucky one).
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * HOUR);

/// The most a `Retry-After` can postpone an attempt: a receiver cannot park a delivery for
/// longer than the schedule's longest step.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * HOUR);

/// Jitter spreads each delay over ±10%, so that deliveries that failed together (an outage)
/// do not all come back in the same second.
pub const JITTER_RATIO: f64 = 0.10;

/// The attempts of one message and the endpoint-disabling threshold.
///
/// Attempts are numbered from 1; [`RetrySchedule::delay_before`] of a number past the last is
/// `None`: the message is dead (dead-lettered) after its last attempt fails.
///
/// ```
/// use std::time::Duration;
/// use tessera_webhooks::RetrySchedule;
///
/// let schedule = RetrySchedule::default();
/// assert_eq!(schedule.delay_before(1), Some(Duration::ZERO));
/// assert_eq!(schedule.delay_before(2), Some(Duration::from_secs(5)));
/// assert_eq!(schedule.delay_before(12), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    disable_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(DEFAULT_DELAYS.to_vec(), DEFAULT_DISABLE_AFTER)
    }
}

impl RetrySchedule {
    /// A schedule of `delays` (the first is the wait before attempt 1, usually zero; an empty
    /// list makes no attempt at all) and an endpoint-disabling threshold.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tessera_webhooks::RetrySchedule;
    ///
    /// let quick = RetrySchedule::new(
    ///     vec![Duration::ZERO, Duration::from_secs(1)],
    ///     Duration::from_secs(60),
    /// );
    /// assert_eq!(quick.attempts(), 2);
    /// ```
    pub fn new(delays: Vec<Duration>, disable_after: Duration) -> Self {
        Self { delays, disable_after }
    }

    /// The delays, in attempt order.
    ///
    /// ```
    /// use tessera_webhooks::{DEFAULT_DELAYS, RetrySchedule};
    ///
    /// assert_eq!(RetrySchedule::default().delays(), DEFAULT_DELAYS);
    /// ```
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How many attempts a message gets.
    ///
    /// ```
    /// use tessera_webhooks::RetrySchedule;
    ///
    /// assert_eq!(RetrySchedule::default().attempts(), 11);
    /// ```
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX)
    }

    /// The wait before attempt `attempt` (1-based), counted from the failure of the one before
    /// (or from the message's creation, for attempt 1); `None` when there is no such attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tessera_webhooks::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::default();
    /// assert_eq!(schedule.delay_before(3), Some(Duration::from_secs(300)));
    /// assert_eq!(schedule.delay_before(0), None);
    /// ```
    pub fn delay_before(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.delays.get(index).copied()
    }

    /// When attempt `attempt` is due, after the one before failed at `now`; `None` when the
    /// message has had its last attempt and is dead.
    ///
    /// The wait is the larger of the jittered schedule delay and `retry_after` (capped at
    /// [`RETRY_AFTER_CAP`]). The larger, because each is a floor set by one side: the receiver
    /// asked not to be called before its `Retry-After`, and the schedule is what keeps a
    /// message alive for days; a short `Retry-After` after a long step would pull the remaining
    /// attempts forward and use them up during the very outage they exist to outlast. The
    /// `Retry-After` wait is not jittered: the receiver named that moment.
    ///
    /// ```
    /// use std::time::Duration;
    /// use chrono::{TimeDelta, Utc};
    /// use tessera_webhooks::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::default();
    /// let now = Utc::now();
    /// // Attempt 2 waits 5 s; the receiver asked for 60 s.
    /// let due = schedule.next_attempt_at(2, Some(Duration::from_secs(60)), now, 0.5);
    /// assert_eq!(due, Some(now + TimeDelta::seconds(60)));
    /// assert_eq!(schedule.next_attempt_at(12, None, now, 0.5), None);
    /// ```
    pub fn next_attempt_at(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        jitter_fraction: f64,
    ) -> Option<DateTime<Utc>> {
        let scheduled = with_jitter(self.delay_before(attempt)?, jitter_fraction);
        let asked = retry_after.map_or(Duration::ZERO, |d| d.min(RETRY_AFTER_CAP));
        let wait = TimeDelta::from_std(scheduled.max(asked)).unwrap_or(TimeDelta::MAX);
        Some(now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// The endpoint-disabling threshold.
    ///
    /// ```
    /// use tessera_webhooks::{DEFAULT_DISABLE_AFTER, RetrySchedule};
    ///
    /// assert_eq!(RetrySchedule::default().disable_after(), DEFAULT_DISABLE_AFTER);
    /// ```
    pub fn disable_after(&self) -> Duration {
        self.disable_after
    }

    /// Whether an endpoint whose deliveries have all failed since `first_failure_at` (the
    /// caller clears that time at the first success) should now be disabled.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use tessera_webhooks::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::default();
    /// let now = Utc::now();
    /// assert!(!schedule.should_disable(now - TimeDelta::days(4), now));
    /// assert!(schedule.should_disable(now - TimeDelta::days(5), now));
    /// ```
    pub fn should_disable(&self, first_failure_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let threshold = TimeDelta::from_std(self.disable_after).unwrap_or(TimeDelta::MAX);
        now.signed_duration_since(first_failure_at) >= threshold
    }
}

/// `delay` spread over ±[`JITTER_RATIO`]: `rng_fraction` in `[0, 1]` maps linearly onto
/// `[delay × 0.9, delay × 1.1]` (0.5 leaves it unchanged). Outside that range the fraction is
/// clamped, a NaN counts as 0.5, so the result is never negative and never far off. The
/// fraction is a parameter so that the result is deterministic; [`random_fraction`] draws one.
///
/// ```
/// use std::time::Duration;
/// use tessera_webhooks::with_jitter;
///
/// let hour = Duration::from_secs(3600);
/// assert_eq!(with_jitter(hour, 0.0), Duration::from_secs(3240));
/// assert_eq!(with_jitter(hour, 0.5), hour);
/// assert_eq!(with_jitter(hour, 1.0), Duration::from_secs(3960));
/// assert_eq!(with_jitter(Duration::ZERO, 1.0), Duration::ZERO);
/// ```
pub fn with_jitter(delay: Duration, rng_fraction: f64) -> Duration {
    let fraction = if rng_fraction.is_nan() { 0.5 } else { rng_fraction.clamp(0.0, 1.0) };
    let factor = 1.0 + JITTER_RATIO * (2.0 * fraction - 1.0);
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(delay)
}

/// A uniform fraction in `[0, 1)` from the operating system's random generator, for
/// [`with_jitter`]; 0.5 (no jitter) in the unheard-of case that the generator fails, since
/// jitter only smooths load.
///
/// ```
/// let f = tessera_webhooks::random_fraction();
/// assert!((0.0..1.0).contains(&f));
/// ```
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0.5;
    }
    // The top 53 bits: exactly representable, uniform over [0, 1).
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a `Retry-After` value asks for, at most [`RETRY_AFTER_CAP`]: delta-seconds (`120`)
/// or an HTTP-date in any of the three forms RFC 9110 has recipients accept (IMF-fixdate, RFC
/// 850, asctime). A date already past asks for no wait; anything else unparsable is `None`
/// (the schedule alone decides).
///
/// ```
/// use std::time::Duration;
/// use chrono::{TimeZone, Utc};
/// use tessera_webhooks::retry_after;
///
/// let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
/// assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
/// assert_eq!(retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(Duration::from_secs(120)));
/// assert_eq!(retry_after("999999999", now), Some(Duration::from_secs(24 * 3600)));
/// assert_eq!(retry_after("soon", now), None);
/// ```
pub fn retry_after(header_value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = header_value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and an overflowing wait is a very long one.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(RETRY_AFTER_CAP));
    }
    let at = http_date(value)?;
    let wait = at.signed_duration_since(now).to_std().unwrap_or(Duration::ZERO);
    Some(wait.min(RETRY_AFTER_CAP))
}

/// An HTTP-date (RFC 9110 §5.6.7), always GMT.
fn http_date(value: &str) -> Option<DateTime<Utc>> {
    // IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, a subset of RFC 2822.
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    // RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, then asctime `Sun Nov  6 08:49:37 1994`.
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .into_iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 0).unwrap()
    }

    #[test]
    fn the_default_schedule_is_svix_and_stytchs() {
        let schedule = RetrySchedule::default();
        let secs: Vec<u64> = (1..=schedule.attempts())
            .map(|n| schedule.delay_before(n).unwrap().as_secs())
            .collect();
        assert_eq!(secs, [0, 5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400]);
        assert_eq!(schedule.delay_before(0), None);
        assert_eq!(schedule.delay_before(12), None);
        assert_eq!(schedule.delay_before(u32::MAX), None);
        // About three and a half days from the first attempt to the last.
        let total: Duration = schedule.delays().iter().sum();
        assert_eq!(total.as_secs(), 3 * 86400 + 13 * 3600 + 35 * 60 + 5);
        assert!(total < schedule.disable_after());
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_never_goes_negative() {
        let delay = Duration::from_secs(1000);
        for fraction in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let jittered = with_jitter(delay, fraction);
            assert!((900..=1100).contains(&jittered.as_secs()), "{fraction}: {jittered:?}");
        }
        assert_eq!(with_jitter(delay, 0.25), Duration::from_secs(950));
        assert_eq!(with_jitter(delay, -3.0), Duration::from_secs(900));
        assert_eq!(with_jitter(delay, 7.0), Duration::from_secs(1100));
        assert_eq!(with_jitter(delay, f64::NAN), delay);
        assert_eq!(with_jitter(delay, f64::NEG_INFINITY), Duration::from_secs(900));
        assert_eq!(with_jitter(Duration::ZERO, 0.0), Duration::ZERO);
        assert_eq!(with_jitter(Duration::MAX, 1.0), Duration::MAX);
    }

    #[test]
    fn random_fractions_are_in_range_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(retry_after("0", now()), Some(Duration::ZERO));
        assert_eq!(retry_after(" 120 ", now()), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("86400", now()), Some(RETRY_AFTER_CAP));
        assert_eq!(retry_after("86401", now()), Some(RETRY_AFTER_CAP));
        assert_eq!(retry_after("99999999999999999999999", now()), Some(RETRY_AFTER_CAP));
        for bad in ["", " ", "-5", "+5", "1.5", "5s", "0x10", "１"] {
            assert_eq!(retry_after(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_http_dates_in_all_three_forms() {
        let in_37s = Some(Duration::from_secs(37));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now()), in_37s);
        assert_eq!(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now()), in_37s);
        assert_eq!(retry_after("Sun Nov  6 08:49:37 1994", now()), in_37s);
        // Past dates ask for no wait; far ones are capped.
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now()), Some(Duration::ZERO));
        assert_eq!(retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now()), Some(RETRY_AFTER_CAP));
        for bad in ["Sun, 06 Nov 1994", "tomorrow", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(retry_after(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn the_next_attempt_waits_for_the_larger_of_schedule_and_retry_after() {
        let schedule = RetrySchedule::default();
        let at = |secs: i64| Some(now() + TimeDelta::seconds(secs));
        // Attempt 3 is 5 minutes out; a shorter Retry-After does not pull it forward.
        assert_eq!(schedule.next_attempt_at(3, None, now(), 0.5), at(300));
        assert_eq!(schedule.next_attempt_at(3, Some(Duration::from_secs(7)), now(), 0.5), at(300));
        assert_eq!(schedule.next_attempt_at(3, None, now(), 0.0), at(270));
        assert_eq!(schedule.next_attempt_at(3, None, now(), 1.0), at(330));
        // A longer one postpones it, unjittered, up to the cap.
        let ten_min = Some(Duration::from_secs(600));
        assert_eq!(schedule.next_attempt_at(3, ten_min, now(), 0.0), at(600));
        let week = Some(Duration::from_secs(7 * 86400));
        assert_eq!(schedule.next_attempt_at(2, week, now(), 0.5), at(86400));
        // After the last attempt the message is dead, whatever the receiver asked.
        assert_eq!(schedule.next_attempt_at(12, ten_min, now(), 0.5), None);
        assert_eq!(
            RetrySchedule::new(vec![], DEFAULT_DISABLE_AFTER).next_attempt_at(1, None, now(), 0.5),
            None
        );
    }

    #[test]
    fn an_endpoint_failing_for_five_days_is_disabled() {
        let schedule = RetrySchedule::default();
        let first = now();
        let later = |secs: i64| first + TimeDelta::seconds(secs);
        assert!(!schedule.should_disable(first, first));
        assert!(!schedule.should_disable(first, later(5 * 86400 - 1)));
        assert!(schedule.should_disable(first, later(5 * 86400)));
        assert!(schedule.should_disable(first, later(30 * 86400)));
        // A clock that went backwards disables nothing.
        assert!(!schedule.should_disable(first, later(-86400)));
    }
}
