//! The run's settings, read from the environment that `cargo xtask bench` sets.

use std::{path::PathBuf, time::Duration};

use criterion::Criterion;

/// How much to measure and where to write it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TESSERA_BENCH_QUICK=1`: fewer samples and smaller session counts (`cargo xtask bench --quick`).
    pub quick: bool,
    /// `TESSERA_BENCH_RESULTS`: the directory of JSON records (default `target/bench-results`).
    pub results: PathBuf,
}

impl Settings {
    pub fn from_env() -> Self {
        let quick = std::env::var("TESSERA_BENCH_QUICK").is_ok_and(|v| v == "1" || v == "true");
        let results = std::env::var_os("TESSERA_BENCH_RESULTS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results"),
            PathBuf::from,
        );
        Self { quick, results }
    }

    /// The numbers of live sessions to measure at: 10^4 and 10^5 in a quick run, up to 10^6 in
    /// a full one. `TESSERA_BENCH_SIZES=10000,50000` overrides both.
    pub fn sizes(&self) -> Vec<usize> {
        if let Ok(sizes) = std::env::var("TESSERA_BENCH_SIZES") {
            let parsed: Vec<usize> =
                sizes.split(',').filter_map(|s| s.trim().parse().ok()).collect();
            if !parsed.is_empty() {
                return parsed;
            }
        }
        if self.quick { vec![10_000, 100_000] } else { vec![10_000, 100_000, 1_000_000] }
    }

    /// Criterion samples per benchmark; [`Measurement`](crate::Measurement) keeps the same
    /// number of its last batches.
    pub fn samples(&self) -> usize {
        if self.quick { 10 } else { 20 }
    }

    /// How long a figure that is not a criterion benchmark (a load test, a purge) runs.
    pub fn load_duration(&self) -> Duration {
        if self.quick { Duration::from_secs(3) } else { Duration::from_secs(10) }
    }
}

/// Criterion configured for this run: short in a quick run, longer in a full one. Plots are
/// off (the report draws its own).
pub fn config() -> Criterion {
    let settings = Settings::from_env();
    let (warm_up, measure) = if settings.quick {
        (Duration::from_millis(300), Duration::from_secs(1))
    } else {
        (Duration::from_secs(1), Duration::from_secs(3))
    };
    Criterion::default()
        .sample_size(settings.samples())
        .warm_up_time(warm_up)
        .measurement_time(measure)
        .without_plots()
        .configure_from_args()
}
