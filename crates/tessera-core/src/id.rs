//! Identifiers: UUIDv7 newtypes, so ids sort by creation time and stay friendly to B-tree indexes.
//!
//! An id is made from a time and a random source that the caller passes in; this crate reads
//! neither the clock nor the OS RNG by itself.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, IdKind, echo};

macro_rules! uuid_v7_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id for something created at `now`.
            pub fn generate<R: CryptoRng + ?Sized>(now: DateTime<Utc>, rng: &mut R) -> Self {
                Self(uuid_v7(now, rng))
            }

            /// Wraps an existing UUID (e.g. one read back from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Parses the wire form (a UUID string).
            pub fn parse(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s).map(Self).map_err(|_| Error::InvalidId {
                    kind: $kind,
                    value: echo(s),
                })
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_v7_id!(
    /// An organization (Stytch's organization, Polar's customer).
    OrganizationId,
    IdKind::Organization
);
uuid_v7_id!(
    /// A member of one organization.
    MemberId,
    IdKind::Member
);
uuid_v7_id!(
    /// One member session.
    SessionId,
    IdKind::Session
);

fn uuid_v7<R: CryptoRng + ?Sized>(now: DateTime<Utc>, rng: &mut R) -> Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    // Times before the epoch cannot be encoded in a UUIDv7; they do not occur outside tests.
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::error::ErrorType;

    #[test]
    fn ids_are_v7_and_sort_by_time() {
        let mut rng = StdRng::seed_from_u64(7);
        let t1 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let t2 = t1 + chrono::TimeDelta::milliseconds(1);
        let a = SessionId::generate(t1, &mut rng);
        let b = SessionId::generate(t2, &mut rng);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn serde_is_a_plain_string() {
        let id = MemberId::parse("0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b\"");
        let back: MemberId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b");
    }

    #[test]
    fn parse_errors_name_the_kind() {
        let err = OrganizationId::parse("not-a-uuid").unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidOrganizationId);
        assert_eq!(MemberId::parse("").unwrap_err().error_type(), ErrorType::InvalidMemberId);
        assert_eq!(SessionId::parse("x").unwrap_err().error_type(), ErrorType::InvalidSessionId);
    }

    #[test]
    fn long_bad_input_is_truncated_in_errors() {
        let garbage = "z".repeat(10_000);
        let msg = OrganizationId::parse(&garbage).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }
}
