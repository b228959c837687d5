//! Soak: the real `tessera serve` (the release binary cargo builds for this bench) driven for
//! minutes at a steady fraction of its measured capacity, with a realistic mix, reporting the
//! server's RSS and the latency percentiles per minute. Run by `cargo xtask soak [--minutes N]`;
//! the figures of a 10-minute run are in docs/BENCHMARKS-analysis.md. Flat RSS and a flat p99
//! are the goal: a leak or a growing table shows as a slope.
//!
//! 1. Start `tessera serve` on a fresh SQLite file (or `TESSERA_SOAK_DATABASE`), with purge every
//!    10 s and a retention of 0 days, so that purge runs against the revoked sessions while the
//!    load goes on.
//! 2. Seed one organization, 100 members, 2000 sessions.
//! 3. Capacity: 32 callers in a closed loop for 15 s, same mix; requests per second.
//! 4. Steady load: an open loop at `TESSERA_SOAK_FRACTION` (default 0.5) of that capacity for
//!    the duration: requests are sent on a fixed schedule whatever the answers, and each
//!    latency is measured from its scheduled time, so that a stall counts in full (no
//!    coordinated omission).
//!
//! Mix: authenticate by token 90%, create 3%, authenticate with an extension 4%, revoke 3%:
//! creates and revokes balance, so the live pool stays around its initial size (a growing pool
//! would make every minute's work larger, and hide a leak behind it); revoked sessions are what
//! purge deletes.
//!
//! Output: a table per minute on stderr, and JSON in `target/soak/soak-<unix time>.json`. Each
//! row has the server's CPU seconds in that minute and the machine's load average, to tell a
//! slower server (more CPU per request) from a busier machine (other work on the cores).

// A bench prints its figures; a failed expectation should stop it with its message.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::Rng;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const MEMBERS: usize = 100;
const SEEDED_SESSIONS: usize = 2000;
const CAPACITY_CALLERS: usize = 32;
const CAPACITY_SECONDS: u64 = 15;
/// At most this many requests in flight in the open loop; beyond it a request is counted as
/// dropped (the server is not keeping up), never queued unboundedly.
const MAX_IN_FLIGHT: u64 = 512;

#[derive(Debug, Clone, Copy)]
enum Operation {
    Authenticate,
    Create,
    Extend,
    Revoke,
}

impl Operation {
    fn pick() -> Self {
        match rand::rng().random_range(0..100) {
            0..90 => Self::Authenticate,
            90..93 => Self::Create,
            93..97 => Self::Extend,
            _ => Self::Revoke,
        }
    }
}

/// What the load needs: the server, the credentials, the live tokens.
struct Target {
    client: Client,
    base: String,
    project_id: String,
    secret: String,
    organization_id: String,
    members: Vec<String>,
    tokens: Mutex<Vec<String>>,
}

impl Target {
    async fn post(&self, path: &str, body: &Value) -> Option<(StatusCode, Value)> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.project_id, Some(&self.secret))
            .json(body)
            .send()
            .await
            .ok()?;
        let status = response.status();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    fn random_token(&self) -> Option<String> {
        let tokens = self.tokens.lock().unwrap();
        (!tokens.is_empty()).then(|| tokens[rand::rng().random_range(0..tokens.len())].clone())
    }

    async fn create(&self) -> bool {
        let member = &self.members[rand::rng().random_range(0..self.members.len())];
        let body = json!({
            "organization_id": self.organization_id,
            "member_id": member,
            "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}],
        });
        match self.post("/v1/b2b/sessions", &body).await {
            Some((StatusCode::OK, body)) => {
                let token = body["session_token"].as_str().unwrap().to_owned();
                self.tokens.lock().unwrap().push(token);
                true
            }
            _ => false,
        }
    }

    /// One operation of the mix; whether it succeeded.
    async fn operate(&self, operation: Operation) -> bool {
        let Some(token) = self.random_token() else { return self.create().await };
        match operation {
            Operation::Create => self.create().await,
            Operation::Authenticate | Operation::Extend => {
                let mut body = json!({"session_token": token});
                if matches!(operation, Operation::Extend) {
                    body["session_duration_minutes"] = json!(rand::rng().random_range(60..600));
                }
                // A token revoked by a concurrent caller answers 404: expected in this mix.
                matches!(
                    self.post("/v1/b2b/sessions/authenticate", &body).await,
                    Some((StatusCode::OK | StatusCode::NOT_FOUND, _))
                )
            }
            Operation::Revoke => {
                self.tokens.lock().unwrap().retain(|t| *t != token);
                matches!(
                    self.post("/v1/b2b/sessions/revoke", &json!({"session_token": token})).await,
                    Some((StatusCode::OK | StatusCode::NOT_FOUND, _))
                )
            }
        }
    }
}

/// Latencies (µs) and failures of one minute.
#[derive(Debug, Default)]
struct Minute {
    latencies: Vec<u64>,
    failures: u64,
    dropped: u64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
        })
        .unwrap_or_default()
}

/// The server's CPU time so far (user + system), in clock ticks of `/proc/<pid>/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may contain spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or_default()
}

/// The machine's 1-minute load average: other work on the same cores shows here.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_default()
}

fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; the filter-style arguments of other benches do not apply.
    let minutes: u64 = arg_value("--minutes").map_or(10, |m| m.parse().expect("--minutes N"));
    let fraction: f64 = std::env::var("TESSERA_SOAK_FRACTION")
        .ok()
        .map_or(0.5, |f| f.parse().expect("TESSERA_SOAK_FRACTION is a number"));

    let dir = std::env::temp_dir().join(format!("tessera-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let database = std::env::var("TESSERA_SOAK_DATABASE")
        .unwrap_or_else(|_| dir.join("tessera.db").display().to_string());
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--database")
        .arg(&database)
        .args(["--purge-retention-days", "0"])
        .args(["serve", "--listen", "127.0.0.1:0", "--purge-interval-seconds", "10"])
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start tessera serve");
    let pid = server.id();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let (mut base, mut project_id, mut secret) = (None, None, None);
    while secret.is_none() {
        let line = lines.next().expect("tessera serve exited").unwrap();
        if let Some(rest) = line.strip_prefix("Tessera listening on ") {
            base = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("Project id: ") {
            project_id = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("API secret (shown once, store it now): ") {
            secret = Some(rest.trim().to_owned());
        }
    }
    std::thread::spawn(move || lines.for_each(drop));

    let mut target = Target {
        client: Client::builder().pool_max_idle_per_host(1024).build().unwrap(),
        base: base.unwrap(),
        project_id: project_id.unwrap(),
        secret: secret.unwrap(),
        organization_id: String::new(),
        members: Vec::new(),
        tokens: Mutex::new(Vec::new()),
    };
    let (status, organization) = target
        .post(
            "/v1/b2b/organizations",
            &json!({"organization_name": "Soak", "organization_slug": "soak"}),
        )
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{organization}");
    target.organization_id =
        organization["organization"]["organization_id"].as_str().unwrap().to_owned();
    for i in 0..MEMBERS {
        let path = format!("/v1/b2b/organizations/{}/members", target.organization_id);
        let (status, member) = target
            .post(&path, &json!({"email_address": format!("member{i}@example.com")}))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{member}");
        target.members.push(member["member"]["member_id"].as_str().unwrap().to_owned());
    }
    let target = Arc::new(target);
    for _ in 0..SEEDED_SESSIONS / 50 {
        let creates: Vec<_> = (0..50)
            .map(|_| {
                let target = target.clone();
                tokio::spawn(async move { target.create().await })
            })
            .collect();
        for create in creates {
            assert!(create.await.unwrap(), "seeding a session failed");
        }
    }
    eprintln!(
        "soak: seeded {MEMBERS} members and {SEEDED_SESSIONS} sessions; RSS {} KiB",
        rss_kib(pid)
    );

    // Capacity: a closed loop of the same mix.
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(CAPACITY_SECONDS);
    let callers: Vec<_> = (0..CAPACITY_CALLERS)
        .map(|_| {
            let (target, done) = (target.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    if target.operate(Operation::pick()).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let capacity = done.load(Ordering::Relaxed) as f64 / CAPACITY_SECONDS as f64;
    let rate = (capacity * fraction).max(1.0);
    eprintln!(
        "soak: capacity {capacity:.0} requests/s ({CAPACITY_CALLERS} callers, closed loop); \
         steady load {rate:.0} requests/s ({fraction} of it) for {minutes} min"
    );

    // Steady load, open loop.
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let minutes_data: Arc<Vec<Mutex<Minute>>> =
        Arc::new((0..minutes).map(|_| Mutex::new(Minute::default())).collect());
    let in_flight = Arc::new(AtomicU64::new(0));
    let mut scheduled = start;
    let end = start + Duration::from_secs(minutes * 60);
    let mut next_report = start + Duration::from_secs(60);
    eprintln!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>9} {:>6}",
        "minute",
        "requests",
        "p50 µs",
        "p99 µs",
        "max µs",
        "failed",
        "dropped",
        "RSS KiB",
        "live",
        "server s",
        "load"
    );
    let mut ticks = cpu_ticks(pid);
    let mut report = Vec::new();
    while scheduled < end {
        let now = Instant::now();
        if scheduled > now {
            tokio::time::sleep(scheduled - now).await;
        }
        if Instant::now() >= next_report {
            let m = (next_report - start).as_secs() / 60 - 1;
            report.push(summarize(&minutes_data, m, pid, &target, &mut ticks));
            next_report += Duration::from_secs(60);
        }
        let minute = ((scheduled - start).as_secs() / 60) as usize;
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            minutes_data[minute].lock().unwrap().dropped += 1;
        } else {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (target, data, in_flight) =
                (target.clone(), minutes_data.clone(), in_flight.clone());
            let planned = scheduled;
            tokio::spawn(async move {
                let ok = target.operate(Operation::pick()).await;
                let latency = planned.elapsed().as_micros() as u64;
                let mut slot = data[minute].lock().unwrap();
                slot.latencies.push(latency);
                if !ok {
                    slot.failures += 1;
                }
                in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
        scheduled += interval;
    }
    while in_flight.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while report.len() < minutes as usize {
        let m = report.len() as u64;
        report.push(summarize(&minutes_data, m, pid, &target, &mut ticks));
    }

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/soak");
    std::fs::create_dir_all(&out).unwrap();
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let file = out.join(format!("soak-{stamp}.json"));
    let json = json!({
        "minutes": minutes,
        "capacity_rps": capacity,
        "fraction": fraction,
        "rate_rps": rate,
        "database": if std::env::var("TESSERA_SOAK_DATABASE").is_ok() { "custom" } else { "sqlite" },
        "per_minute": report,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    eprintln!("soak: results in {}", file.display());
}

/// Prints and returns minute `m`'s row; `ticks` is the server's CPU time at the previous row.
fn summarize(data: &[Mutex<Minute>], m: u64, pid: u32, target: &Target, ticks: &mut u64) -> Value {
    let mut slot = data[m as usize].lock().unwrap();
    slot.latencies.sort_unstable();
    let (p50, p99) = (percentile(&slot.latencies, 50.0), percentile(&slot.latencies, 99.0));
    let max = slot.latencies.last().copied().unwrap_or_default();
    let rss = rss_kib(pid);
    let live = target.tokens.lock().unwrap().len();
    let now = cpu_ticks(pid);
    // Clock ticks are 1/100 s on Linux.
    let server_seconds = now.saturating_sub(*ticks) as f64 / 100.0;
    *ticks = now;
    let load = load_average();
    eprintln!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>9.1} {:>6.1}",
        m + 1,
        slot.latencies.len(),
        p50,
        p99,
        max,
        slot.failures,
        slot.dropped,
        rss,
        live,
        server_seconds,
        load
    );
    json!({
        "minute": m + 1,
        "requests": slot.latencies.len(),
        "p50_us": p50,
        "p99_us": p99,
        "max_us": max,
        "failures": slot.failures,
        "dropped": slot.dropped,
        "rss_kib": rss,
        "live_sessions": live,
        "server_cpu_seconds": server_seconds,
        "load_average": load,
    })
}
