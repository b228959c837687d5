//! The key ring: this node's cache of the store's signing keys, and their whole lifecycle.
//!
//! # Lifecycle, exactly
//!
//! - **Creation (first use).** The first operation that needs a key (mint, JWKS) finds none that
//!   may sign, generates one for [`JwtProfile::algorithm`], inserts it (a `Conflict` is taken as
//!   "someone else inserted it" and ignored) and reloads. Two nodes starting at once on one store
//!   may each insert a key; every reload then retires every active key but the newest (by
//!   `created_at`, then `kid`), so the nodes converge on one signing key at their next reload
//!   (at most [`JwtProfile::key_cache_ttl`] later). The retired duplicate stays published like
//!   any retired key, so nothing it signed in between is refused.
//! - **Signing.** Always with the newest active key of the cached set.
//! - **Rotation** ([`KeyRing::rotate`], on demand). A new key is generated and inserted, then
//!   every other active key is retired at `now`; the new key signs from that moment on this node,
//!   and on every other node at its next reload.
//! - **Retention.** A retired key stays published (in the JWKS, and usable to verify) while
//!   `now < retired_at + JwtProfile::retired_key_retention()` (`lifetime + key_cache_ttl +
//!   retired_key_margin`, 7 minutes by default): long enough for every JWT it signed, including
//!   those a node that had not yet reloaded signed with it, to expire. The check is made at each
//!   use against the clock, so the key leaves the JWKS at that instant exactly, whether or not a
//!   reload happened.
//! - **Deletion.** The first reload at or after that instant deletes the key from the store
//!   (`NotFound` from a concurrent deletion is ignored).
//!
//! # Reloads
//!
//! The cached set is read again from the store (one `list_signing_keys`) only:
//! - when the node has no set yet (first use of any kind);
//! - when signing, serving the JWKS or verifying with a set older than
//!   [`JwtProfile::key_cache_ttl`] (so a key retired or deleted elsewhere stops verifying on every
//!   node within that TTL, including nodes that only verify);
//! - when verifying a JWT whose `kid` is not in the set, unless another unknown `kid` already
//!   caused a reload less than [`JwtProfile::unknown_kid_reload_interval`] ago (so a flood of
//!   made-up `kid`s costs at most one read per interval, while the first JWT signed by a key
//!   another node just made is found at once); the `kid` is then looked up once more and refused
//!   if still unknown;
//! - after creating a key and after a rotation.
//!
//! Verification of a `kid` in a set younger than the TTL never reads the store. Reloads are
//! single-flight: concurrent callers wait for one reload instead of each making their own.
//!
//! A stored key whose algorithm this version does not know is skipped (neither used nor
//! published); one of a known algorithm that does not parse fails the reload (`KeyError::Corrupt`,
//! an internal error): a corrupt key table is the operator's to repair, not to paper over.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use chrono::{DateTime, TimeDelta, Utc};
use tessera_store::{SigningKeyRepository, StoreError};

use super::{
    JwtError, JwtProfile, KeyError,
    keys::{self, Jwk, Jwks, LoadedKey},
};
use crate::error::{ServiceError, ServiceResult};

/// The keys as last read from the store.
#[derive(Debug)]
struct KeySet {
    /// Oldest first, by `(created_at, kid)`.
    keys: Vec<Arc<LoadedKey>>,
    loaded_at: DateTime<Utc>,
}

impl KeySet {
    /// The newest active key.
    fn signer(&self) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().rev().find(|k| k.is_active())
    }

    fn published(
        &self,
        now: DateTime<Utc>,
        retention: TimeDelta,
    ) -> impl Iterator<Item = &Arc<LoadedKey>> {
        self.keys.iter().filter(move |k| is_published(k, now, retention))
    }

    fn age(&self, now: DateTime<Utc>) -> TimeDelta {
        now - self.loaded_at
    }
}

fn is_published(key: &LoadedKey, now: DateTime<Utc>, retention: TimeDelta) -> bool {
    key.retired_at.is_none_or(|retired_at| now < retired_at + retention)
}

/// One per service (shared by its clones): the signing keys of the deployment, cached.
pub(crate) struct KeyRing {
    repository: Arc<dyn SigningKeyRepository>,
    state: RwLock<Option<Arc<KeySet>>>,
    reload: tokio::sync::Mutex<()>,
    /// When an unknown `kid` last caused a reload.
    unknown_kid_reload_at: Mutex<Option<DateTime<Utc>>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        let kids: Vec<&str> =
            snapshot.iter().flat_map(|set| set.keys.iter().map(|k| k.kid.as_str())).collect();
        f.debug_struct("KeyRing")
            .field("kids", &kids)
            .field("loaded_at", &snapshot.as_ref().map(|set| set.loaded_at))
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    pub(crate) fn new(repository: Arc<dyn SigningKeyRepository>) -> Self {
        Self {
            repository,
            state: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
            unknown_kid_reload_at: Mutex::new(None),
        }
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The key that signs at `now`, creating the deployment's first key if there is none.
    pub(crate) async fn signer(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
    ) -> ServiceResult<Arc<LoadedKey>> {
        let set = self.refresh(profile, now, |set| set.age(now) >= profile.key_cache_ttl).await?;
        if let Some(key) = set.signer() {
            return Ok(key.clone());
        }
        let set = self.create_first(profile, now).await?;
        set.signer().cloned().ok_or(ServiceError::SigningKey(KeyError::NoSigningKey))
    }

    /// The published public keys at `now`: the signing key first, then the others newest first.
    /// Like signing, it creates the first key if there is none, so that relying parties see a
    /// key before any JWT signed with it exists.
    pub(crate) async fn jwks(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
    ) -> ServiceResult<Jwks> {
        self.signer(profile, now).await?;
        let Some(set) = self.snapshot() else {
            return Err(ServiceError::SigningKey(KeyError::NoSigningKey));
        };
        let retention = profile.retired_key_retention();
        let mut published: Vec<&Arc<LoadedKey>> = set.published(now, retention).collect();
        published
            .sort_by_key(|k| (!k.is_active(), std::cmp::Reverse((k.created_at, k.kid.clone()))));
        Ok(Jwks { keys: published.into_iter().map(|k| k.jwk.clone()).collect::<Vec<Jwk>>() })
    }

    /// The published key named `kid`, for verification. See the module documentation for when
    /// this reads the store.
    pub(crate) async fn verification_key(
        &self,
        kid: &str,
        profile: &JwtProfile,
        now: DateTime<Utc>,
    ) -> ServiceResult<Arc<LoadedKey>> {
        let retention = profile.retired_key_retention();
        let find = |set: &KeySet| set.keys.iter().find(|k| k.kid == kid).cloned();
        // A known key past its retention is as good as gone: no reload brings it back.
        let published = |key: Arc<LoadedKey>| {
            if is_published(&key, now, retention) { Ok(key) } else { Err(JwtError::UnknownKey) }
        };
        // A cached set is trusted for `key_cache_ttl`, for verifying as for signing: a key retired
        // or deleted elsewhere (a rotation after a leak, say) stops verifying here within it,
        // even on a node that never signs.
        let fresh = |set: &KeySet| set.age(now) < profile.key_cache_ttl;
        if let Some(set) = self.snapshot()
            && fresh(&set)
            && let Some(key) = find(&set)
        {
            return Ok(published(key)?);
        }
        let set = self.refresh(profile, now, |set| !fresh(set)).await?;
        if let Some(key) = find(&set) {
            return Ok(published(key)?);
        }
        let _reloading = self.reload.lock().await;
        let snapshot = self.snapshot();
        // Another caller may have loaded it while this one waited.
        if let Some(key) = snapshot.as_deref().and_then(find) {
            return Ok(published(key)?);
        }
        if snapshot.is_some() {
            let mut last =
                self.unknown_kid_reload_at.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now - at < profile.unknown_kid_reload_interval) {
                return Err(JwtError::UnknownKey.into());
            }
            *last = Some(now);
        }
        let set = self.reload_locked(profile, now).await?;
        Ok(published(find(&set).ok_or(JwtError::UnknownKey)?)?)
    }

    /// Makes a new signing key and retires every other active one at `now`. Returns the new
    /// key's `kid`. `events(kid)` are the events that record the rotation, appended with the
    /// new key.
    pub(crate) async fn rotate(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
        events: impl FnOnce(&str) -> Vec<tessera_core::EventRecord>,
    ) -> ServiceResult<String> {
        let _reloading = self.reload.lock().await;
        let key = keys::generate(profile.algorithm, now)?;
        self.repository.insert_signing_key(&key, &events(&key.kid)).await?;
        for other in self.repository.list_signing_keys().await? {
            if other.kid != key.kid && other.retired_at.is_none() {
                ignore_not_found(self.repository.retire_signing_key(&other.kid, now).await)?;
            }
        }
        self.reload_locked(profile, now).await?;
        Ok(key.kid)
    }

    /// The cached set, reloaded first (single-flight) if there is none or `stale` says so.
    async fn refresh(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
        stale: impl Fn(&KeySet) -> bool,
    ) -> ServiceResult<Arc<KeySet>> {
        if let Some(set) = self.snapshot()
            && !stale(&set)
        {
            return Ok(set);
        }
        let _reloading = self.reload.lock().await;
        // Another caller may have reloaded while this one waited.
        if let Some(set) = self.snapshot()
            && !stale(&set)
        {
            return Ok(set);
        }
        self.reload_locked(profile, now).await
    }

    async fn create_first(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
    ) -> ServiceResult<Arc<KeySet>> {
        let _reloading = self.reload.lock().await;
        let set = self.reload_locked(profile, now).await?;
        if set.signer().is_some() {
            return Ok(set);
        }
        let key = keys::generate(profile.algorithm, now)?;
        // The first key of a deployment: nothing rotated, no event.
        match self.repository.insert_signing_key(&key, &[]).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.reload_locked(profile, now).await
    }

    /// Reads the key table, deletes keys past their retention, retires all active keys but the
    /// newest, parses the rest and installs the result. Call with `self.reload` held.
    async fn reload_locked(
        &self,
        profile: &JwtProfile,
        now: DateTime<Utc>,
    ) -> ServiceResult<Arc<KeySet>> {
        let retention = profile.retired_key_retention();
        let previous = self.snapshot();
        let mut keys = Vec::new();
        for stored in self.repository.list_signing_keys().await? {
            if stored.retired_at.is_some_and(|retired_at| retired_at + retention <= now) {
                ignore_not_found(self.repository.delete_signing_key(&stored.kid).await)?;
                continue;
            }
            // A key already loaded is reused, not parsed again (`LoadedKey::reloaded`).
            let reloaded = previous
                .iter()
                .flat_map(|set| set.keys.iter())
                .find(|key| key.kid == stored.kid)
                .and_then(|key| key.reloaded(&stored));
            match reloaded {
                Some(key) => keys.push(key),
                None => keys.extend(LoadedKey::load(&stored)?),
            }
        }
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        if let Some(newest) = keys.iter().rposition(LoadedKey::is_active) {
            for (index, key) in keys.iter_mut().enumerate() {
                if index != newest && key.is_active() {
                    ignore_not_found(self.repository.retire_signing_key(&key.kid, now).await)?;
                    key.retired_at = Some(now);
                }
            }
        }
        let set =
            Arc::new(KeySet { keys: keys.into_iter().map(Arc::new).collect(), loaded_at: now });
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(set.clone());
        Ok(set)
    }
}

/// Deleting or retiring what a concurrent node already deleted or retired is success.
fn ignore_not_found(result: Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Err(StoreError::NotFound(_)) => Ok(()),
        other => other,
    }
}
