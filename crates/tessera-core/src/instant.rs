//! RFC 3339 instants as Tessera stores them, read fast.
//!
//! Every stored session holds its factors as JSON with three instants each, written by chrono
//! (`2026-05-01T09:00:00.123456Z`), and every lookup reads them back. chrono's general RFC 3339
//! parser (offsets, lowercase, leap seconds) is several times the cost of reading that one
//! layout, so [`parse`] reads the layout chrono writes for UTC directly and hands anything else
//! to chrono: it accepts exactly what chrono accepts, with the same result.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Deserializer};

/// An instant as chrono's `Deserialize` for `DateTime<Utc>` reads it (RFC 3339 and chrono's own
/// extensions), in UTC, with a fast path for the layout chrono writes for years 0000–9999.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use tessera_core::instant;
///
/// let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
/// assert_eq!(instant::parse("2026-05-01T09:00:00Z"), Ok(at));
/// assert_eq!(instant::parse("2026-05-01T11:00:00+02:00"), Ok(at)); // chrono's path
/// assert!(instant::parse("2026-02-30T09:00:00Z").is_err());
/// ```
pub fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_utc_layout(s.as_bytes()) {
        Some(at) => Ok(at),
        None => chrono_reads(s),
    }
}

/// What chrono's own `Deserialize` for `DateTime<Utc>` reads: its `FromStr`, which is laxer than
/// RFC 3339 and reads every instant chrono writes, years before 0 or after 9999 and leap seconds
/// included (RFC 3339 alone refuses those, so a stored factor chrono wrote would not read back).
fn chrono_reads(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    s.parse::<DateTime<FixedOffset>>().map(|at| at.with_timezone(&Utc))
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`; `None` for anything else (then chrono decides).
fn parse_utc_layout(s: &[u8]) -> Option<DateTime<Utc>> {
    let (main, rest) = s.split_at_checked(19)?;
    let digits = |range: std::ops::Range<usize>| number(&main[range]);
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| main[i] != c) {
        return None;
    }
    let (zone, fraction) = rest.split_last()?;
    if *zone != b'Z' {
        return None;
    }
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if second >= 60 {
        return None; // a leap second: chrono's to read
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// The decimal number `digits` spell (at most 9 of them), if they are all digits.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

/// `#[serde(deserialize_with = "tessera_core::instant::deserialize")]` for a `DateTime<Utc>`
/// field.
///
/// ```
/// use chrono::{DateTime, Utc};
///
/// #[derive(serde::Deserialize)]
/// struct Stored {
///     #[serde(deserialize_with = "tessera_core::instant::deserialize")]
///     at: DateTime<Utc>,
/// }
///
/// let stored: Stored = serde_json::from_str(r#"{"at": "2026-05-01T09:00:00.5Z"}"#)?;
/// assert_eq!(stored.at.timestamp_millis() % 1000, 500);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `DateTime<Utc>`'s own `Deserialize` reads, the reference.
    fn chrono(s: &str) -> Option<DateTime<Utc>> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// Chrono writes instants that RFC 3339 cannot hold (years outside 0000–9999, leap
    /// seconds); a factor holding one must read back (found by the `factor_input` fuzz target:
    /// a reported `last_authenticated_at` of `-026-05-01T08:00:60Z` was accepted, stored, and
    /// then unreadable).
    #[test]
    fn reads_back_every_instant_chrono_writes_outside_rfc_3339() {
        let leap = NaiveDate::from_ymd_opt(-26, 5, 1)
            .and_then(|d| d.and_hms_nano_opt(8, 0, 59, 1_000_000_000))
            .unwrap()
            .and_utc();
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        for at in [leap, far.and_utc(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let written = serde_json::to_value(at).unwrap();
            let written = written.as_str().unwrap();
            assert_eq!(parse(written), Ok(at), "{written}");
        }
        assert!(parse("-026-05-01T08:00:60Z").is_ok());
    }

    #[test]
    fn reads_what_chrono_writes_and_agrees_with_chrono_elsewhere() {
        for s in [
            "2026-05-01T09:00:00Z",
            "2026-05-01T09:00:00.123456Z",
            "2026-05-01T09:00:00.123456789Z",
            "2026-05-01T09:00:00.1Z",
            "2024-02-29T23:59:59.999999999Z",
            "2026-05-01T09:00:00+02:00",
            "2026-05-01t09:00:00z",
            "2026-05-01 09:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-02-30T09:00:00Z",
            "2026-05-01T24:00:00Z",
            "2026-05-01T09:00:00.Z",
            "2026-05-01T09:00:00.1234567890Z",
            "2026-05-01T09:00:00",
            "+2026-05-01T09:00:00Z",
            "",
            "not a time",
        ] {
            assert_eq!(parse(s).ok(), chrono(s), "{s}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_chrono_on_every_instant_it_writes(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64) {
            let at = DateTime::from_timestamp_micros(micros).unwrap();
            for s in [at.to_rfc3339(), at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), serde_json::to_value(at).unwrap().as_str().unwrap().to_owned()] {
                prop_assert_eq!(parse(&s).ok(), chrono(&s));
                prop_assert_eq!(parse(&s).ok(), Some(at));
            }
        }

        #[test]
        fn agrees_with_chrono_on_near_misses(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?[Zz]?") {
            prop_assert_eq!(parse(&s).ok(), chrono(&s));
        }
    }
}
