//! Reusing a session's JWT instead of signing an identical one again.
//!
//! Every authenticate answers with a session JWT (Stytch's contract), and an RS256 signature
//! costs two orders of magnitude more than the rest of an authenticate (docs/BENCHMARKS.md).
//! A host that authenticates on every request would sign the same claims over and over. So an
//! authenticate answers with the JWT it minted for the same session less than
//! [`JwtProfile::reuse_window`](super::JwtProfile::reuse_window) ago, provided nothing in its
//! claims could have changed since:
//!
//! - the session row is the same version (`updated_at` moves on every change but a touch;
//!   `last_accessed_at` on a touch; `expires_at` on an extension),
//! - the member and the organization are the same versions (roles, slug),
//! - the roles derived from them are the same, and it is signed by the current key.
//!
//! The only claims that differ from a fresh mint are `iat`/`nbf`/`exp`: the JWT handed out is at
//! most one window older, so it has at least `lifetime - reuse_window` left. The session itself
//! is always read from the store first: a revoked or expired session never gets a cached JWT.
//! The cache is bounded (a fixed number of shards, each cleared when full) so its memory stays
//! bounded however many sessions pass through.

use std::{
    collections::HashMap,
    hash::{BuildHasher, Hasher, RandomState},
    sync::{Mutex, PoisonError},
};

use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::{AuthenticatedSession, RoleId, SessionId};

use super::SessionJwt;

const SHARDS: usize = 16;

/// Recently minted JWTs by session.
#[derive(Debug)]
pub(crate) struct JwtReuse {
    shards: Box<[Mutex<HashMap<SessionId, Minted>>]>,
    per_shard: usize,
    hasher: RandomState,
}

#[derive(Debug)]
struct Minted {
    version: Version,
    issued_at: DateTime<Utc>,
    jwt: SessionJwt,
}

/// What the claims of a session's JWT are made from, besides the deployment's fixed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    session_updated_at: DateTime<Utc>,
    /// Also moved by `updated_at`, except within one microsecond; the JWT must name the
    /// generation exactly, so it is compared on its own.
    token_generation: u32,
    last_accessed_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    member_updated_at: DateTime<Utc>,
    organization_updated_at: DateTime<Utc>,
    roles: Vec<RoleId>,
    kid: String,
}

impl Version {
    /// Whether `found` with `roles`, signed by `kid`, is this version (without allocating).
    fn matches(&self, found: &AuthenticatedSession, roles: &[RoleId], kid: &str) -> bool {
        self.session_updated_at == found.session.updated_at
            && self.token_generation == found.session.token_generation
            && self.last_accessed_at == found.session.times.last_accessed_at
            && self.expires_at == found.session.times.expires_at
            && self.member_updated_at == found.member.updated_at
            && self.organization_updated_at == found.organization.updated_at
            && self.roles == roles
            && self.kid == kid
    }

    fn of(found: &AuthenticatedSession, roles: &[RoleId], kid: &str) -> Self {
        Self {
            session_updated_at: found.session.updated_at,
            token_generation: found.session.token_generation,
            last_accessed_at: found.session.times.last_accessed_at,
            expires_at: found.session.times.expires_at,
            member_updated_at: found.member.updated_at,
            organization_updated_at: found.organization.updated_at,
            roles: roles.to_vec(),
            kid: kid.to_owned(),
        }
    }
}

impl JwtReuse {
    /// Room for about `capacity` sessions; `0` disables reuse.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
        }
    }

    /// The JWT minted for this state of the session less than `window` before `now`, if any.
    pub(crate) fn get(
        &self,
        found: &AuthenticatedSession,
        roles: &[RoleId],
        kid: &str,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Option<SessionJwt> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(found.session.id).lock().unwrap_or_else(PoisonError::into_inner);
        let minted = shard.get(&found.session.id)?;
        let age = now - minted.issued_at;
        let fresh = age >= TimeDelta::zero() && age < window;
        (fresh && minted.version.matches(found, roles, kid)).then(|| minted.jwt.clone())
    }

    /// Remembers the JWT just minted for this state of the session.
    pub(crate) fn put(
        &self,
        found: &AuthenticatedSession,
        roles: &[RoleId],
        kid: &str,
        now: DateTime<Utc>,
        jwt: &SessionJwt,
    ) {
        if self.per_shard == 0 {
            return;
        }
        let version = Version::of(found, roles, kid);
        let mut shard = self.shard(found.session.id).lock().unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&found.session.id) {
            // Full: start the shard over. Cheaper than tracking recency, and a session that
            // loses its entry only pays one signature.
            shard.clear();
        }
        shard.insert(found.session.id, Minted { version, issued_at: now, jwt: jwt.clone() });
    }

    fn shard(&self, id: SessionId) -> &Mutex<HashMap<SessionId, Minted>> {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(id.as_uuid().as_bytes());
        // The modulo of a 64-bit hash by 16: always in range.
        let index = usize::try_from(hasher.finish() % SHARDS as u64).unwrap_or(0);
        &self.shards[index]
    }
}
