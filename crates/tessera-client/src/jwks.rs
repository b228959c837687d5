//! The JWKS cache: fetched on first use, kept for [`crate::ClientConfig::jwks_ttl`], fetched
//! again for an unknown `kid` at most once per [`crate::ClientConfig::jwks_refresh_interval`],
//! one fetch at a time (callers that miss together wait for the one fetch and share it).

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tessera_api::VerifyingKey;

use crate::ClientError;

/// The keys of the last fetch.
#[derive(Debug, Default)]
struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
    /// When they were fetched; `None` before the first fetch.
    fetched_at: Option<Instant>,
}

impl KeySet {
    fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        self.keys.iter().find(|k| k.kid() == kid).cloned()
    }

    fn is_fresh(&self, ttl: Duration, now: Instant) -> bool {
        self.fetched_at.is_some_and(|at| now.duration_since(at) < ttl)
    }
}

#[derive(Debug)]
pub(crate) struct JwksCache {
    current: RwLock<Arc<KeySet>>,
    /// Held while fetching: the single flight.
    fetching: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    ttl: Duration,
    refresh_interval: Duration,
}

impl JwksCache {
    pub(crate) fn new(ttl: Duration, refresh_interval: Duration) -> Self {
        Self {
            current: RwLock::new(Arc::new(KeySet::default())),
            fetching: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            ttl,
            refresh_interval,
        }
    }

    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, set: KeySet) {
        let set = Arc::new(set);
        match self.current.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    /// The published key named `kid`, fetching the JWKS when the cache is empty or older than
    /// the TTL, or (rate-limited) when `kid` is not in it. `Ok(None)`: not published, as far as
    /// a fetch allowed now can tell.
    pub(crate) async fn key<F, Fut>(
        &self,
        kid: &str,
        fetch: F,
    ) -> Result<Option<Arc<VerifyingKey>>, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<VerifyingKey>, ClientError>>,
    {
        let seen = self.snapshot();
        let now = Instant::now();
        let fresh = seen.is_fresh(self.ttl, now);
        if fresh && let Some(key) = seen.find(kid) {
            return Ok(Some(key));
        }
        if fresh && !self.may_refresh(&seen, now) {
            return Ok(None);
        }
        let _flight = self.fetching.lock().await;
        // Another caller may have fetched while this one waited: use its answer.
        let latest = self.snapshot();
        if latest.fetched_at != seen.fetched_at {
            if let Some(key) = latest.find(kid) {
                return Ok(Some(key));
            }
            if latest.is_fresh(self.ttl, Instant::now()) && !self.may_refresh(&latest, now) {
                return Ok(None);
            }
        }
        let keys = fetch().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let set = KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            fetched_at: Some(Instant::now()),
        };
        let found = set.find(kid);
        self.store(set);
        Ok(found)
    }

    /// Whether an unknown `kid` may cause a fetch now.
    fn may_refresh(&self, set: &KeySet, now: Instant) -> bool {
        set.fetched_at.is_none_or(|at| now.duration_since(at) >= self.refresh_interval)
    }

    /// Fetches now, whatever the cache holds (still one fetch at a time).
    pub(crate) async fn refresh<F, Fut>(&self, fetch: F) -> Result<usize, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<VerifyingKey>, ClientError>>,
    {
        let _flight = self.fetching.lock().await;
        let keys = fetch().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let count = keys.len();
        self.store(KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            fetched_at: Some(Instant::now()),
        });
        Ok(count)
    }
}
