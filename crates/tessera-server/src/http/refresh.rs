//! A value read from the store and re-read at most so often, one read at a time: what keeps a
//! burst of requests (wrong secrets, health checks) from becoming a burst of store queries.

use std::{
    future::Future,
    sync::{PoisonError, RwLock},
    time::{Duration, Instant},
};

/// The last value read and when it was read (or last tried).
pub(super) struct Refreshed<T> {
    state: RwLock<(T, Option<Instant>)>,
    /// Held while a read is in flight: callers that arrive meanwhile wait for it and use its
    /// result instead of reading too (single flight).
    reading: tokio::sync::Mutex<()>,
}

impl<T> std::fmt::Debug for Refreshed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value may be a secret's hash: never printed.
        f.debug_struct("Refreshed").finish_non_exhaustive()
    }
}

impl<T: Clone> Refreshed<T> {
    /// A value read just now.
    pub(super) fn fresh(value: T) -> Self {
        Self::with_state(value, Some(Instant::now()))
    }

    /// A placeholder that the first [`Self::refresh_if_older`] replaces.
    pub(super) fn unread(placeholder: T) -> Self {
        Self::with_state(placeholder, None)
    }

    fn with_state(value: T, read_at: Option<Instant>) -> Self {
        Self { state: RwLock::new((value, read_at)), reading: tokio::sync::Mutex::new(()) }
    }

    pub(super) fn get(&self) -> T {
        self.state.read().unwrap_or_else(PoisonError::into_inner).0.clone()
    }

    fn is_younger_than(&self, max_age: Duration) -> bool {
        let read_at = self.state.read().unwrap_or_else(PoisonError::into_inner).1;
        read_at.is_some_and(|at| at.elapsed() < max_age)
    }

    /// Runs `read` if the last read (or attempt) is `max_age` old or older, unless another
    /// caller's read is in flight, whose result it then waits for. A read that yields `None`
    /// (the store failed) keeps the value but counts as an attempt, so a failing store is
    /// asked at most once per `max_age` too.
    pub(super) async fn refresh_if_older<F, Fut>(&self, max_age: Duration, read: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        if self.is_younger_than(max_age) {
            return;
        }
        let _reading = self.reading.lock().await;
        if self.is_younger_than(max_age) {
            return; // read by the caller we waited for
        }
        let value = read().await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = value {
            state.0 = value;
        }
        state.1 = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn concurrent_refreshes_are_one_read() {
        let value = Arc::new(Refreshed::unread(0));
        let reads = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (value, reads) = (value.clone(), reads.clone());
                tokio::spawn(async move {
                    value
                        .refresh_if_older(Duration::from_secs(60), || async {
                            reads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Some(7)
                        })
                        .await;
                    value.get()
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 7, "every caller sees the one read's value");
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_keeps_the_value_and_counts_as_an_attempt() {
        let value = Refreshed::fresh(1);
        value.refresh_if_older(Duration::ZERO, || async { None }).await;
        assert_eq!(value.get(), 1);
        let asked = std::sync::atomic::AtomicBool::new(false);
        value
            .refresh_if_older(Duration::from_secs(60), || async {
                asked.store(true, Ordering::SeqCst);
                Some(2)
            })
            .await;
        assert!(!asked.load(Ordering::SeqCst), "the failed attempt was recent");
        assert_eq!(value.get(), 1);
    }
}
