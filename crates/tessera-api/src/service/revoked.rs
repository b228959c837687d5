//! The in-process revocation list of the local JWT path.
//!
//! [`SessionService::authenticate_jwt_local`](super::SessionService::authenticate_jwt_local)
//! reads no session, so on its own a revoked session's JWT stays valid there until it expires.
//! Every revoke made **through this service (or a clone of it)** records what it ended here, and
//! the local path refuses it at once (`session_not_found`, as remote authenticate would):
//!
//! - a revoked session (by id, token or JWT): every JWT of that session;
//! - all of a member's sessions: every JWT of that member issued (`iat`, whole seconds) no later
//!   than the revoke; likewise all of an organization's (but the one excepted) and all of the
//!   deployment's;
//! - sessions revoked to make room under a session limit: every JWT of those sessions;
//! - a step-up ([`super::SessionService::add_factor`]) rotates the token: every JWT of that
//!   session minted for an older token generation (remote authenticate refuses them already).
//!
//! An entry is kept for `JwtProfile::lifetime + JwtProfile::retired_key_margin` (6 minutes by
//! default): by then every JWT it covers has expired, unless the caller's leeway exceeds the
//! margin. Memory is bounded: at most [`REVOCATION_CAPACITY`] entries (about 60 bytes each).
//! When it is full of live entries, the list **fails closed**: the local path refuses every JWT
//! (callers fall back to remote authenticate, which reads the store) until the retention of the
//! last unrecorded revoke has passed.
//!
//! What this cannot do: another process (another service over the same store, another
//! `tessera serve` node, a relying service verifying JWTs against the JWKS) learns nothing from
//! this list. There, a revoked session's JWT keeps verifying locally until its `exp` (at most the
//! JWT lifetime, 5 minutes by default, plus that verifier's leeway).

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::{MemberId, OrganizationId, SessionId};

/// The most revocations kept at once (see the module documentation).
pub const REVOCATION_CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Session(SessionId),
    Member(OrganizationId, MemberId),
    /// Every session of an organization but one (`except`).
    Organization(OrganizationId),
    /// Every session of the deployment.
    Deployment,
}

/// Which JWTs of a key are refused: those issued at or before `issued_up_to`, and those of a
/// token generation below `generation_below`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    issued_up_to: DateTime<Utc>,
    generation_below: u32,
    /// A session the rule never refuses (an organization-wide revoke's exception).
    except: Option<SessionId>,
}

impl Rule {
    fn refuses(self, session: SessionId, issued_at: DateTime<Utc>, generation: u32) -> bool {
        self.except != Some(session)
            && (issued_at <= self.issued_up_to || generation < self.generation_below)
    }

    fn merged(self, other: Rule) -> Rule {
        Rule {
            issued_up_to: self.issued_up_to.max(other.issued_up_to),
            generation_below: self.generation_below.max(other.generation_below),
            // Two revokes with different exceptions: no exception (each one's excepted session
            // may have ended by the other). Failing closed only sends that session's JWTs to
            // remote authenticate until the entry expires.
            except: if self.except == other.except { self.except } else { None },
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Key → (what is refused, entry kept until).
    entries: HashMap<Key, (Rule, DateTime<Utc>)>,
    /// Insertion order, for pruning: (kept until, key).
    order: VecDeque<(DateTime<Utc>, Key)>,
    /// While `now` is before this, the list overflowed: refuse everything.
    saturated_until: Option<DateTime<Utc>>,
}

/// The revocations this process knows of, for the JWT lifetime. Shared by clones of a service.
#[derive(Debug)]
pub(crate) struct RevokedSessions {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl RevokedSessions {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Inner::default()), capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent maps (every write is one insert).
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every JWT of `session` is refused for `retention` from `now`.
    ///
    /// Also how sessions revoked to make room under a session limit are recorded.
    pub(crate) fn revoke_session(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) {
        let rule =
            Rule { issued_up_to: DateTime::<Utc>::MAX_UTC, generation_below: 0, except: None };
        self.record(Key::Session(session), rule, now, retention);
    }

    /// JWTs of `session` minted for a token generation below `generation` are refused (a token
    /// rotation: the JWT minted by the rotation itself stays valid).
    pub(crate) fn rotate_session(
        &self,
        session: SessionId,
        generation: u32,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) {
        let rule = Rule {
            issued_up_to: DateTime::<Utc>::MIN_UTC,
            generation_below: generation,
            except: None,
        };
        self.record(Key::Session(session), rule, now, retention);
    }

    /// JWTs of the member issued at or before `now` (to the second) are refused.
    pub(crate) fn revoke_member(
        &self,
        organization: OrganizationId,
        member: MemberId,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) {
        let rule = Rule { issued_up_to: now, generation_below: 0, except: None };
        self.record(Key::Member(organization, member), rule, now, retention);
    }

    /// JWTs of the organization's sessions issued at or before `now` (to the second) are
    /// refused, but those of `except`.
    pub(crate) fn revoke_organization(
        &self,
        organization: OrganizationId,
        except: Option<SessionId>,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) {
        let rule = Rule { issued_up_to: now, generation_below: 0, except };
        self.record(Key::Organization(organization), rule, now, retention);
    }

    /// Every JWT issued at or before `now` (to the second) is refused.
    pub(crate) fn revoke_deployment(&self, now: DateTime<Utc>, retention: TimeDelta) {
        let rule = Rule { issued_up_to: now, generation_below: 0, except: None };
        self.record(Key::Deployment, rule, now, retention);
    }

    fn record(&self, key: Key, rule: Rule, now: DateTime<Utc>, retention: TimeDelta) {
        let until = now + retention;
        let mut inner = self.lock();
        prune(&mut inner, now);
        if let Some((old_rule, old_until)) = inner.entries.get_mut(&key) {
            *old_rule = old_rule.merged(rule);
            *old_until = (*old_until).max(until);
            inner.order.push_back((until, key));
            return;
        }
        if inner.entries.len() >= self.capacity {
            let saturated = inner.saturated_until.map_or(until, |at| at.max(until));
            inner.saturated_until = Some(saturated);
            return;
        }
        inner.entries.insert(key, (rule, until));
        inner.order.push_back((until, key));
    }

    /// Whether a JWT of this session, member, `iat` and token generation must be refused at
    /// `now`.
    pub(crate) fn is_revoked(
        &self,
        session: SessionId,
        organization: OrganizationId,
        member: MemberId,
        (issued_at, generation): (DateTime<Utc>, u32),
        now: DateTime<Utc>,
    ) -> bool {
        let inner = self.lock();
        if inner.saturated_until.is_some_and(|until| now < until) {
            return true;
        }
        if inner.entries.is_empty() {
            return false;
        }
        let refused = |key| {
            inner.entries.get(&key).is_some_and(|&(rule, until)| {
                now < until && rule.refuses(session, issued_at, generation)
            })
        };
        refused(Key::Session(session))
            || refused(Key::Member(organization, member))
            || refused(Key::Organization(organization))
            || refused(Key::Deployment)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

fn prune(inner: &mut Inner, now: DateTime<Utc>) {
    while let Some(&(until, key)) = inner.order.front() {
        if until > now {
            break;
        }
        inner.order.pop_front();
        if inner.entries.get(&key).is_some_and(|&(_, kept_until)| kept_until <= now) {
            inner.entries.remove(&key);
        }
    }
    if inner.saturated_until.is_some_and(|until| until <= now) {
        inner.saturated_until = None;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).unwrap()
    }

    fn ids(rng: &mut StdRng) -> (SessionId, OrganizationId, MemberId) {
        (
            SessionId::generate(t0(), rng),
            OrganizationId::generate(t0(), rng),
            MemberId::generate(t0(), rng),
        )
    }

    const RETENTION: TimeDelta = TimeDelta::minutes(6);

    #[test]
    fn a_revoked_session_is_refused_for_the_retention_then_forgotten() {
        let mut rng = StdRng::seed_from_u64(1);
        let (session, org, member) = ids(&mut rng);
        let list = RevokedSessions::new(10);
        assert!(!list.is_revoked(session, org, member, (t0(), 0), t0()));
        list.revoke_session(session, t0(), RETENTION);
        assert!(list.is_revoked(session, org, member, (t0(), 0), t0()));
        assert!(list.is_revoked(
            session,
            org,
            member,
            (t0(), 0),
            t0() + RETENTION - TimeDelta::seconds(1)
        ));
        assert!(!list.is_revoked(session, org, member, (t0(), 0), t0() + RETENTION));
        let (other, _, _) = ids(&mut rng);
        list.revoke_session(other, t0() + RETENTION, RETENTION);
        assert_eq!(list.len(), 1, "the expired entry was pruned");
    }

    #[test]
    fn a_member_revoke_refuses_jwts_issued_up_to_it() {
        let mut rng = StdRng::seed_from_u64(2);
        let (session, org, member) = ids(&mut rng);
        let list = RevokedSessions::new(10);
        let at = t0() + TimeDelta::milliseconds(500);
        list.revoke_member(org, member, at, RETENTION);
        assert!(list.is_revoked(session, org, member, (t0(), 0), at));
        assert!(!list.is_revoked(session, org, member, (t0() + TimeDelta::seconds(1), 0), at));
    }

    #[test]
    fn an_organization_revoke_refuses_all_but_its_exception() {
        let mut rng = StdRng::seed_from_u64(5);
        let (session, org, member) = ids(&mut rng);
        let (kept, _, colleague) = ids(&mut rng);
        let (elsewhere, other_org, _) = ids(&mut rng);
        let list = RevokedSessions::new(10);
        list.revoke_organization(org, Some(kept), t0(), RETENTION);
        assert!(list.is_revoked(session, org, member, (t0(), 0), t0()));
        assert!(!list.is_revoked(kept, org, colleague, (t0(), 0), t0()), "the exception");
        assert!(!list.is_revoked(elsewhere, other_org, member, (t0(), 0), t0()));
        // A JWT issued after the revoke (a new sign-in) passes.
        let later = t0() + TimeDelta::seconds(1);
        assert!(!list.is_revoked(session, org, member, (later, 0), later));
        // A second revoke with another exception fails closed for both exceptions.
        list.revoke_organization(org, Some(session), t0(), RETENTION);
        assert!(list.is_revoked(kept, org, colleague, (t0(), 0), t0()));
        assert!(list.is_revoked(session, org, member, (t0(), 0), t0()));
    }

    #[test]
    fn a_rotation_refuses_only_older_generations() {
        let mut rng = StdRng::seed_from_u64(3);
        let (session, org, member) = ids(&mut rng);
        let list = RevokedSessions::new(10);
        list.rotate_session(session, 1, t0(), RETENTION);
        assert!(list.is_revoked(session, org, member, (t0(), 0), t0()));
        assert!(!list.is_revoked(session, org, member, (t0(), 1), t0()));
        list.rotate_session(session, 2, t0(), RETENTION);
        assert!(list.is_revoked(session, org, member, (t0(), 1), t0()));
    }

    #[test]
    fn a_full_list_fails_closed_until_the_unrecorded_revoke_is_past() {
        let mut rng = StdRng::seed_from_u64(4);
        let list = RevokedSessions::new(2);
        for _ in 0..2 {
            list.revoke_session(ids(&mut rng).0, t0(), RETENTION);
        }
        let later = t0() + TimeDelta::seconds(30);
        let (session, org, member) = ids(&mut rng);
        list.revoke_session(session, later, RETENTION);
        assert_eq!(list.len(), 2, "bounded");
        let (innocent, org2, member2) = ids(&mut rng);
        assert!(list.is_revoked(innocent, org2, member2, (later, 0), later), "fails closed");
        assert!(list.is_revoked(
            session,
            org,
            member,
            (later, 0),
            later + RETENTION - TimeDelta::seconds(1)
        ));
        assert!(!list.is_revoked(innocent, org2, member2, (later, 0), later + RETENTION));
    }
}
