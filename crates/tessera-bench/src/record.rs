//! One measured figure, as the report generator (`xtask/bench/report.py`) reads it.

use std::{fs, io};

use serde::Serialize;

use crate::Settings;

/// Who a figure belongs to: rows of the same group and key are compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// Tessera's own code path.
    Tessera,
    /// The least work the operation physically needs (a hash, an indexed point select, a
    /// signature), measured in the same run.
    Floor,
    /// Another library doing the same job.
    Peer,
}

/// One JSON record in the results directory. Fields other than the first five may be absent.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Unique: `<group>/<subject>/<key>/<label>`, made by [`Record::new`].
    pub id: String,
    /// The report's table, e.g. `authenticate/sqlite`.
    pub group: String,
    /// Rows with the same group and key are compared, e.g. `n=10000 tasks=1`.
    pub key: String,
    pub subject: Subject,
    /// What was measured, in words.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<usize>,
    /// Median over samples of the time per operation (for concurrent runs, wall time per
    /// operation: the inverse of throughput).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Record {
    pub fn new(group: &str, key: &str, subject: Subject, label: &str) -> Self {
        let subject_name = match subject {
            Subject::Tessera => "tessera",
            Subject::Floor => "floor",
            Subject::Peer => "peer",
        };
        Self {
            id: format!("{group}/{subject_name}/{key}/{label}"),
            group: group.to_owned(),
            key: key.to_owned(),
            subject,
            label: label.to_owned(),
            n: None,
            tasks: None,
            median_ns: None,
            p50_ns: None,
            p99_ns: None,
            samples: None,
            ops: None,
            throughput_per_s: None,
            value: None,
            unit: None,
            notes: None,
        }
    }

    /// The number of live sessions the figure was measured at.
    pub fn n(mut self, n: usize) -> Self {
        self.n = Some(n);
        self
    }

    /// The number of concurrent callers.
    pub fn tasks(mut self, tasks: u64) -> Self {
        self.tasks = usize::try_from(tasks).ok();
        self
    }

    /// A figure that is not a latency: `812 bytes/session`, `41.2 s`.
    pub fn value(mut self, value: f64, unit: &str) -> Self {
        self.value = Some(value);
        self.unit = Some(unit.to_owned());
        self
    }

    pub fn notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Writes the record into the results directory (one file per id) and prints it.
    pub fn write(&self) -> io::Result<()> {
        let settings = Settings::from_env();
        fs::create_dir_all(&settings.results)?;
        let file: String = self
            .id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        let json = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        fs::write(settings.results.join(format!("{file}.json")), json)?;
        eprintln!("{}", self.summary());
        Ok(())
    }

    fn summary(&self) -> String {
        let mut line = format!("result {}:", self.id);
        for (name, value) in
            [("median", self.median_ns), ("p50", self.p50_ns), ("p99", self.p99_ns)]
        {
            if let Some(ns) = value {
                line.push_str(&format!(" {name} {}", format_ns(ns)));
            }
        }
        if let Some(rate) = self.throughput_per_s {
            line.push_str(&format!(" {rate:.0}/s"));
        }
        if let (Some(value), Some(unit)) = (self.value, &self.unit) {
            line.push_str(&format!(" {value:.3} {unit}"));
        }
        line
    }
}

fn format_ns(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.2} s", ns / 1e9),
    }
}
