//! How many sessions a member may hold at once in an organization (ASVS 5.0 7.1.2), and what
//! happens to a sign-in beyond that.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// At most `max_sessions` live sessions per member in one organization; `when_reached` says what
/// a new one does at the limit. Stores enforce it in the transaction that adds the session
/// (sign-in and exchange), so concurrent sign-ins never exceed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionLimit {
    max_sessions: u32,
    pub when_reached: WhenLimitReached,
}

impl SessionLimit {
    /// The largest limit accepted: far above any person's devices, small enough that a revoke of
    /// the least recently used sessions stays one short statement.
    pub const MAX: u32 = 1000;

    /// A limit of `max_sessions` (1 to [`Self::MAX`]).
    pub fn new(max_sessions: i64, when_reached: WhenLimitReached) -> Result<Self, Error> {
        u32::try_from(max_sessions)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(|max_sessions| Self { max_sessions, when_reached })
            .ok_or_else(|| Error::InvalidSessionLimit {
                reason: format!(
                    "max_sessions_per_member must be between 1 and {} (got {max_sessions})",
                    Self::MAX
                ),
            })
    }

    /// A limit as stored: `max_sessions_per_member` (none when `None`) and
    /// `session_limit_behavior` (the default when `None`). An out-of-range maximum or an unknown
    /// behaviour is an error: the stored row is not one Tessera wrote.
    pub fn from_stored(max: Option<i64>, behavior: Option<&str>) -> Result<Option<Self>, Error> {
        let Some(max) = max else { return Ok(None) };
        let when_reached = match behavior {
            None => WhenLimitReached::default(),
            Some(b) => WhenLimitReached::parse(b).ok_or_else(|| Error::InvalidSessionLimit {
                reason: "session_limit_behavior is not revoke_least_recently_used or refuse".into(),
            })?,
        };
        Self::new(max, when_reached).map(Some)
    }

    /// The limit after a change: `limit` replaces `base` (`Some(None)` removes it), then
    /// `behavior`, or else `base`'s behaviour, applies to whatever limit there is. Organization
    /// updates start from the organization's limit, creates from the deployment's default.
    pub fn resolve(
        base: Option<Self>,
        limit: Option<Option<Self>>,
        behavior: Option<WhenLimitReached>,
    ) -> Option<Self> {
        let behavior = behavior.or(base.map(|l| l.when_reached));
        let mut resolved = limit.unwrap_or(base);
        if let (Some(resolved), Some(behavior)) = (&mut resolved, behavior) {
            resolved.when_reached = behavior;
        }
        resolved
    }

    pub const fn max_sessions(self) -> u32 {
        self.max_sessions
    }

    /// With `live` sessions already held, how many of the least recently used ones a new session
    /// revokes, or the refusal.
    pub fn make_room(self, live: u64) -> Result<u64, Error> {
        let max = u64::from(self.max_sessions);
        if live < max {
            return Ok(0);
        }
        match self.when_reached {
            WhenLimitReached::RevokeLeastRecentlyUsed => Ok(live - max + 1),
            WhenLimitReached::Refuse => {
                Err(Error::SessionLimitReached { limit: self.max_sessions })
            }
        }
    }
}

/// What a sign-in does when the member already holds the limit.
///
/// The default revokes the least recently used session: a member who left sessions behind on
/// old devices is never locked out, and a session taken over is the one that loses. `Refuse`
/// suits organizations that want a new device to be a deliberate act (revoke one first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenLimitReached {
    #[default]
    RevokeLeastRecentlyUsed,
    Refuse,
}

impl WhenLimitReached {
    pub const ALL: [WhenLimitReached; 2] = [Self::RevokeLeastRecentlyUsed, Self::Refuse];

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RevokeLeastRecentlyUsed => "revoke_least_recently_used",
            Self::Refuse => "refuse",
        }
    }

    /// The exact wire value; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

impl fmt::Display for WhenLimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorType;

    #[test]
    fn bounds() {
        for ok in [1, 3, i64::from(SessionLimit::MAX)] {
            assert!(SessionLimit::new(ok, WhenLimitReached::Refuse).is_ok(), "{ok}");
        }
        for bad in [0, -1, i64::from(SessionLimit::MAX) + 1, i64::MAX] {
            let err = SessionLimit::new(bad, WhenLimitReached::Refuse).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidSessionLimit, "{bad}");
        }
    }

    #[test]
    fn room_is_made_or_refused_at_the_limit() {
        let lru = SessionLimit::new(3, WhenLimitReached::RevokeLeastRecentlyUsed).unwrap();
        assert_eq!(lru.make_room(0).unwrap(), 0);
        assert_eq!(lru.make_room(2).unwrap(), 0);
        assert_eq!(lru.make_room(3).unwrap(), 1);
        // More than the limit (it was lowered): back down to it, the new one included.
        assert_eq!(lru.make_room(7).unwrap(), 5);
        let refuse = SessionLimit::new(3, WhenLimitReached::Refuse).unwrap();
        assert_eq!(refuse.make_room(2).unwrap(), 0);
        let err = refuse.make_room(3).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionLimitReached);
    }

    #[test]
    fn stored_values_decode_or_are_refused() {
        assert_eq!(SessionLimit::from_stored(None, Some("refuse")).unwrap(), None);
        let stored = SessionLimit::from_stored(Some(3), None).unwrap().unwrap();
        assert_eq!((stored.max_sessions(), stored.when_reached), (3, WhenLimitReached::default()));
        let stored = SessionLimit::from_stored(Some(3), Some("refuse")).unwrap().unwrap();
        assert_eq!(stored.when_reached, WhenLimitReached::Refuse);
        assert!(SessionLimit::from_stored(Some(0), None).is_err());
        assert!(SessionLimit::from_stored(Some(3), Some("REFUSE")).is_err());
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let refuse = SessionLimit::new(2, WhenLimitReached::Refuse).unwrap();
        let five = SessionLimit::new(5, WhenLimitReached::default()).unwrap();
        // A new maximum keeps the base's behaviour.
        let changed = SessionLimit::resolve(Some(refuse), Some(Some(five)), None).unwrap();
        assert_eq!((changed.max_sessions(), changed.when_reached), (5, WhenLimitReached::Refuse));
        // A behaviour alone changes the base's.
        let lru = WhenLimitReached::RevokeLeastRecentlyUsed;
        let changed = SessionLimit::resolve(Some(refuse), None, Some(lru)).unwrap();
        assert_eq!((changed.max_sessions(), changed.when_reached), (2, lru));
        // Removed, or never there: a behaviour alone has nothing to apply to.
        assert_eq!(SessionLimit::resolve(Some(refuse), Some(None), Some(lru)), None);
        assert_eq!(SessionLimit::resolve(None, None, Some(lru)), None);
        assert_eq!(SessionLimit::resolve(Some(refuse), None, None), Some(refuse));
    }

    #[test]
    fn wire_values_round_trip() {
        for w in WhenLimitReached::ALL {
            assert_eq!(WhenLimitReached::parse(w.as_str()), Some(w));
        }
        assert_eq!(WhenLimitReached::parse("REFUSE"), None);
        assert_eq!(WhenLimitReached::default(), WhenLimitReached::RevokeLeastRecentlyUsed);
    }
}
