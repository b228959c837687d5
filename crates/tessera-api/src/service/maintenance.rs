//! Maintenance: purging dead sessions and old events.

use tessera_core::EventType;

use super::SessionService;
use crate::error::ServiceResult;

impl SessionService {
    /// Deletes sessions that expired or were revoked more than the retention period ago, one
    /// bounded batch at a time, calling `progress` with the running total after each batch.
    /// Returns the total.
    ///
    /// Between batches it pauses `purge_pause_ratio` times as long as the batch took: the
    /// deletes compete with authenticates for the store's writer, its I/O and the CPU, and a
    /// purge can wait where an authenticate cannot.
    ///
    /// With `EventSettings::record_purges`, the run appends one `session.purged` event with the
    /// total once it is done (a run that deletes nothing records nothing).
    pub async fn purge_sessions(&self, progress: impl FnMut(u64) + Send) -> ServiceResult<u64> {
        let now = self.shared.clock.now();
        let before = now - self.shared.config.purge_retention;
        let sessions = self.shared.store.sessions.clone();
        let total = self
            .in_batches(progress, |batch| {
                let sessions = sessions.clone();
                async move { sessions.purge_sessions(before, batch).await }
            })
            .await?;
        if total > 0 && self.shared.config.events.record_purges {
            let events = self.record(EventType::SessionsPurged, now, |e| {
                e.with("purged_count", total).with("ended_before", before.to_rfc3339())
            });
            self.shared.store.events.append_events(&events).await?;
        }
        Ok(total)
    }

    /// Deletes events older than the retention (`EventSettings::retention`), in batches like
    /// [`Self::purge_sessions`]. Returns how many.
    pub async fn purge_events(&self, progress: impl FnMut(u64) + Send) -> ServiceResult<u64> {
        let before = self.shared.clock.now() - self.shared.config.events.retention;
        let events = self.shared.store.events.clone();
        self.in_batches(progress, |batch| {
            let events = events.clone();
            async move { events.purge_events(before, batch).await }
        })
        .await
    }

    /// Runs `purge` (one bounded delete of at most `batch` rows) until it deletes less than a
    /// batch, pausing between batches.
    async fn in_batches<F, Fut>(
        &self,
        mut progress: impl FnMut(u64) + Send,
        purge: F,
    ) -> ServiceResult<u64>
    where
        F: Fn(u32) -> Fut + Send,
        Fut: std::future::Future<Output = tessera_store::StoreResult<u64>> + Send,
    {
        let batch = self.shared.config.purge_batch_size.max(1);
        let mut total = 0;
        loop {
            let started = std::time::Instant::now();
            let purged = purge(batch).await?;
            total += purged;
            progress(total);
            if purged < u64::from(batch) {
                return Ok(total);
            }
            let pause = started.elapsed() * self.shared.config.purge_pause_ratio;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }
}
