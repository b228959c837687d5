//! Timestamp formats of the wire views.
//!
//! Both APIs speak RFC 3339 in UTC with a `Z` suffix; they differ in precision:
//! - Stytch documents whole seconds, e.g. `2021-12-29T12:33:09Z` ([`stytch_timestamp`]).
//! - Polar's API (pydantic) emits microseconds, e.g. `2021-12-29T12:33:09.123456Z`
//!   ([`polar_timestamp`]).
//!
//! Sub-second digits beyond the format's precision are truncated, never rounded, so a formatted
//! instant is never later than the real one (an `expires_at` is never shown later than it is).

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `2021-12-29T12:33:09Z`: RFC 3339, UTC, `Z`, whole seconds (Stytch).
pub fn stytch_timestamp(at: DateTime<Utc>) -> String {
    let mut buffer = [0u8; STYTCH_LENGTH];
    match format_stytch(at, &mut buffer) {
        Some(formatted) => formatted.to_owned(),
        None => at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// `2021-12-29T12:33:09.123456Z`: RFC 3339, UTC, `Z`, always six fractional digits (Polar).
pub fn polar_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

const STYTCH_LENGTH: usize = "2021-12-29T12:33:09Z".len();

/// [`stytch_timestamp`] into a stack buffer, for years 0 to 9999 outside leap seconds (`None`
/// otherwise, for chrono to format): every
/// response carries several timestamps, and chrono's general formatter costs far more than
/// these twenty digits and separators.
fn format_stytch(at: DateTime<Utc>, buffer: &mut [u8; STYTCH_LENGTH]) -> Option<&str> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    if at.nanosecond() >= 1_000_000_000 {
        return None;
    }
    let fields = [
        (0, 4, year),
        (5, 2, at.month()),
        (8, 2, at.day()),
        (11, 2, at.hour()),
        (14, 2, at.minute()),
        (17, 2, at.second()),
    ];
    *buffer = *b"0000-00-00T00:00:00Z";
    for (start, width, mut value) in fields {
        for digit in buffer[start..start + width].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buffer).ok()
}

/// `serialize_with` helpers for Stytch views.
pub(crate) mod stytch {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buffer = [0u8; STYTCH_LENGTH];
        match format_stytch(*at, &mut buffer) {
            Some(formatted) => s.serialize_str(formatted),
            None => s.serialize_str(&stytch_timestamp(*at)),
        }
    }
}

/// `serialize_with` helpers for Polar views.
pub(crate) mod polar {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&polar_timestamp(*at))
    }

    pub(crate) fn serialize_option<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&polar_timestamp(*at)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn instant() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2021, 12, 29, 12, 33, 9).unwrap() + TimeDelta::nanoseconds(987_654_321)
    }

    #[test]
    fn stytch_is_whole_seconds_utc_z_truncated() {
        assert_eq!(stytch_timestamp(instant()), "2021-12-29T12:33:09Z");
        let whole = Utc.with_ymd_and_hms(2021, 12, 29, 12, 33, 9).unwrap();
        assert_eq!(stytch_timestamp(whole), "2021-12-29T12:33:09Z");
    }

    #[test]
    fn stytch_agrees_with_chrono_at_every_kind_of_instant() {
        let instants = [
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 7, 5, 3).unwrap() + TimeDelta::microseconds(999_999),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 15, 12, 0, 0).unwrap(),
        ];
        for at in instants {
            assert_eq!(stytch_timestamp(at), at.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }

    #[test]
    fn polar_is_microseconds_utc_z_truncated() {
        assert_eq!(polar_timestamp(instant()), "2021-12-29T12:33:09.987654Z");
        let whole = Utc.with_ymd_and_hms(2021, 12, 29, 12, 33, 9).unwrap();
        assert_eq!(polar_timestamp(whole), "2021-12-29T12:33:09.000000Z");
    }

    #[test]
    fn both_parse_back_as_rfc3339() {
        for s in [stytch_timestamp(instant()), polar_timestamp(instant())] {
            let back = DateTime::parse_from_rfc3339(&s).unwrap();
            assert_eq!(back.offset().local_minus_utc(), 0);
            assert!(back <= instant());
            assert!(instant() - back.with_timezone(&Utc) < TimeDelta::seconds(1));
        }
    }
}
