//! Maintenance: purging dead sessions.

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
    pub async fn purge_sessions(&self, mut progress: impl FnMut(u64) + Send) -> ServiceResult<u64> {
        let before = self.clock.now() - self.config.purge_retention;
        let batch = self.config.purge_batch_size.max(1);
        let mut total = 0;
        loop {
            let started = std::time::Instant::now();
            let purged = self.store.sessions.purge_sessions(before, batch).await?;
            total += purged;
            progress(total);
            if purged < u64::from(batch) {
                return Ok(total);
            }
            let pause = started.elapsed() * self.config.purge_pause_ratio;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }
}
