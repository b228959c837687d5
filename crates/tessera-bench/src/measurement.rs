//! Per-operation timing inside criterion benchmarks.
//!
//! Criterion calls `iter_custom(|iters| ...)` first while warming up, then once per sample. A
//! [`Measurement`] keeps every call as a batch and, when finished, uses only the last
//! `samples` batches (criterion's measurement): the median over them of time per operation,
//! and p50/p99 over the individual operations they contain.

use std::{
    io,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::{Record, Settings};

/// Per-operation latencies of one task, in nanoseconds.
#[derive(Debug, Default)]
pub struct Timed {
    latencies: Vec<u64>,
}

impl Timed {
    pub fn with_capacity(ops: usize) -> Self {
        Self { latencies: Vec::with_capacity(ops) }
    }

    /// Runs `op` once and records how long it took.
    pub fn time<T>(&mut self, op: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = op();
        self.latencies.push(nanos(started.elapsed()));
        out
    }

    /// Awaits `op` and records how long it took.
    pub async fn time_async<T>(&mut self, op: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = op.await;
        self.latencies.push(nanos(started.elapsed()));
        out
    }

    pub fn into_latencies(self) -> Vec<u64> {
        self.latencies
    }
}

#[derive(Debug)]
struct Batch {
    ops: u64,
    elapsed: Duration,
    latencies: Vec<u64>,
}

/// Collects the batches of one benchmark and turns them into its [`Record`].
#[derive(Debug)]
pub struct Measurement {
    record: Record,
    samples: usize,
    batches: Mutex<Vec<Batch>>,
}

impl Measurement {
    pub fn new(record: Record) -> Self {
        Self { record, samples: Settings::from_env().samples(), batches: Mutex::new(Vec::new()) }
    }

    /// The record's id: also the criterion benchmark's name.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// Runs `ops` operations one after another, timing each; returns the batch's total time,
    /// as `iter_custom` wants.
    pub fn run(&self, ops: u64, mut op: impl FnMut()) -> Duration {
        let mut timed = Timed::with_capacity(capacity(ops));
        let started = Instant::now();
        for _ in 0..ops {
            timed.time(&mut op);
        }
        let elapsed = started.elapsed();
        self.record_batch(ops, elapsed, timed.into_latencies());
        elapsed
    }

    /// [`run`](Self::run) for an async operation.
    pub async fn run_async(&self, ops: u64, mut op: impl AsyncFnMut()) -> Duration {
        let mut timed = Timed::with_capacity(capacity(ops));
        let started = Instant::now();
        for _ in 0..ops {
            timed.time_async(op()).await;
        }
        let elapsed = started.elapsed();
        self.record_batch(ops, elapsed, timed.into_latencies());
        elapsed
    }

    /// Records a batch timed elsewhere, e.g. `ops` operations spread over concurrent tasks
    /// (`elapsed` is then the wall time of the whole batch).
    pub fn record_batch(&self, ops: u64, elapsed: Duration, latencies: Vec<u64>) {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batches.push(Batch { ops, elapsed, latencies });
    }

    /// Computes the figures from the last `samples` batches and writes the record.
    pub fn finish(self) -> io::Result<Record> {
        let batches = self.batches.into_inner().unwrap_or_else(PoisonError::into_inner);
        let record = summarize(self.record, &batches[batches.len().saturating_sub(self.samples)..]);
        record.write()?;
        Ok(record)
    }
}

fn summarize(mut record: Record, measured: &[Batch]) -> Record {
    let mut per_op: Vec<f64> = measured
        .iter()
        .filter(|b| b.ops > 0)
        .map(|b| b.elapsed.as_nanos() as f64 / b.ops as f64)
        .collect();
    per_op.sort_by(f64::total_cmp);
    let latencies: Vec<u64> = measured.iter().flat_map(|b| b.latencies.iter().copied()).collect();
    (record.p50_ns, record.p99_ns) = percentiles(latencies);
    record.samples = Some(per_op.len());
    record.ops = Some(measured.iter().map(|b| b.ops).sum());
    record.median_ns = median(&per_op);
    record.throughput_per_s = record.median_ns.filter(|ns| *ns > 0.0).map(|ns| 1e9 / ns);
    record
}

/// Latency percentiles of a load that ran outside criterion (e.g. during a purge).
pub fn percentiles(mut latencies: Vec<u64>) -> (Option<f64>, Option<f64>) {
    latencies.sort_unstable();
    (percentile(&latencies, 0.50), percentile(&latencies, 0.99))
}

fn capacity(ops: u64) -> usize {
    usize::try_from(ops).unwrap_or(usize::MAX).min(1 << 24)
}

pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn median(sorted: &[f64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), Some(50.0));
        assert_eq!(percentile(&values, 0.99), Some(99.0));
        assert_eq!(percentile(&[7], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[1.0, 2.0, 10.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn summary_of_batches() {
        let batch = |ops, ns, latency| Batch {
            ops,
            elapsed: Duration::from_nanos(ns),
            latencies: vec![latency; usize::try_from(ops).unwrap_or_default()],
        };
        let record = Record::new("test", "k", crate::Subject::Floor, "batches");
        let record =
            summarize(record, &[batch(10, 100, 9), batch(20, 600, 30), batch(10, 200, 20)]);
        assert_eq!(record.median_ns, Some(20.0));
        assert_eq!(record.throughput_per_s, Some(5e7));
        assert_eq!(record.ops, Some(40));
        // 40 latencies: ten of 9 ns, ten of 20 ns, twenty of 30 ns (nearest rank).
        assert_eq!(record.p50_ns, Some(20.0));
        assert_eq!(record.p99_ns, Some(30.0));
        assert_eq!(record.samples, Some(3));
    }
}
