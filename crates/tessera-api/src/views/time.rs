//! Timestamp formats of the wire views.
//!
//! Both APIs speak RFC 3339 in UTC with a `Z` suffix; they differ in precision:
//! - Stytch documents whole seconds, e.g. `2021-12-29T12:33:09Z` ([`stytch_timestamp`]).
//! - Polar's API (pydantic) emits microseconds, e.g. `2021-12-29T12:33:09.123456Z`
//!   ([`polar_timestamp`]).
//!
//! Sub-second digits beyond the format's precision are truncated, never rounded, so a formatted
//! instant is never later than the real one (an `expires_at` is never shown later than it is).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `2021-12-29T12:33:09Z`: RFC 3339, UTC, `Z`, whole seconds (Stytch).
pub fn stytch_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2021-12-29T12:33:09.123456Z`: RFC 3339, UTC, `Z`, always six fractional digits (Polar).
pub fn polar_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `serialize_with` helpers for Stytch views.
pub(crate) mod stytch {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&stytch_timestamp(*at))
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
