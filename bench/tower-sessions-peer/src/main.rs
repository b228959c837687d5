//! Peer benchmark: `tower-sessions-sqlx-store` 0.15 `SqliteStore::load` on a file-backed SQLite
//! database in WAL mode, seeded with 10^4..10^6 live sessions shaped like Tessera's.
//!
//! Usage: `tower-sessions-peer --out <DIR> [--quick] [--sizes 10000,100000,1000000]
//!         [--pool-size N] [--db-dir DIR]`
//!
//! Writes one JSON file per measurement into `<DIR>` (see README.md for the schema) and prints
//! progress and a one-line summary per measurement to stderr.

use std::{
    collections::HashMap,
    fmt::Display,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tower_sessions_core::{
    SessionStore,
    session::{Id, Record},
};
use tower_sessions_sqlx_store::{
    SqliteStore,
    sqlx::{
        self, SqlitePool,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    },
};

type Result<T, E = String> = std::result::Result<T, E>;

const GROUP: &str = "authenticate/sqlite";
const SUBJECT: &str = "peer";
const LABEL: &str = "tower-sessions-sqlx-store 0.15 SqliteStore::load";
/// The store's default table (`SqliteStore::new`).
const TABLE: &str = "tower_sessions";
/// sqlx's default `PoolOptions::max_connections`.
const DEFAULT_POOL_SIZE: u32 = 10;
/// Sessions seeded through `SessionStore::create` (the real write path) before switching to
/// bulk inserts of byte-identical rows.
const API_SEEDED: u64 = 2_000;
/// Rows per multi-row INSERT statement (3 parameters each) and per transaction.
const ROWS_PER_STATEMENT: usize = 256;
const ROWS_PER_TRANSACTION: usize = 50_000;
const CONCURRENT_TASKS: usize = 32;
const CALIBRATION_LOADS: usize = 200;

trait Context<T> {
    fn context(self, what: impl Display) -> Result<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tower-sessions-peer: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
struct Args {
    out: PathBuf,
    quick: bool,
    sizes: Vec<usize>,
    pool_size: u32,
    db_dir: Option<PathBuf>,
}

const USAGE: &str = "usage: tower-sessions-peer --out <DIR> [--quick] [--sizes 10000,100000,1000000] \
                     [--pool-size N] [--db-dir DIR]";

fn parse_args() -> Result<Args> {
    let mut out = None;
    let mut quick = false;
    let mut sizes = None;
    let mut pool_size = DEFAULT_POOL_SIZE;
    let mut db_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value =
            |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--quick" => quick = true,
            "--sizes" => {
                let list = value("--sizes")?;
                let parsed = list
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .context(format!("--sizes {list:?}: expected comma-separated counts"))?;
                sizes = Some(parsed);
            }
            "--pool-size" => {
                pool_size =
                    value("--pool-size")?.parse().context("--pool-size: expected a count")?
            }
            "--db-dir" => db_dir = Some(PathBuf::from(value("--db-dir")?)),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out <DIR> is required\n{USAGE}"))?;
    let mut sizes = sizes.unwrap_or_else(|| {
        if quick { vec![10_000, 100_000] } else { vec![10_000, 100_000, 1_000_000] }
    });
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() || sizes[0] == 0 {
        return Err("--sizes: every size must be at least 1".into());
    }
    if pool_size == 0 {
        return Err("--pool-size must be at least 1".into());
    }
    Ok(Args { out, quick, sizes, pool_size, db_dir })
}

fn run() -> Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out).context(format!("creating {}", args.out.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(bench(args))
}

/// A fresh directory for the database, removed on drop (also on error).
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(parent: &Path) -> Result<Self> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = parent.join(format!("tower-sessions-peer-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).context(format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    samples: usize,
    sample_time: Duration,
    warmup: Duration,
}

async fn bench(args: Args) -> Result<()> {
    let timing = if args.quick {
        Timing {
            samples: 10,
            sample_time: Duration::from_millis(200),
            warmup: Duration::from_secs(1),
        }
    } else {
        Timing {
            samples: 20,
            sample_time: Duration::from_millis(500),
            warmup: Duration::from_secs(2),
        }
    };

    let db_parent = args.db_dir.clone().unwrap_or_else(std::env::temp_dir);
    let temp = TempDir::new(&db_parent)?;
    let db_path = temp.0.join("sessions.db");
    let options = SqliteConnectOptions::new()
        .filename(&db_path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(args.pool_size)
        .connect_with(options)
        .await
        .context(format!("opening {}", db_path.display()))?;
    let store = SqliteStore::new(pool.clone());
    store.migrate().await.context("SqliteStore::migrate")?;

    let sqlite_version: String = sqlx::query_scalar("select sqlite_version()")
        .fetch_one(&pool)
        .await
        .context("select sqlite_version()")?;
    let journal_mode: String = sqlx::query_scalar("pragma journal_mode")
        .fetch_one(&pool)
        .await
        .context("pragma journal_mode")?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(format!("expected journal_mode=wal, got {journal_mode}"));
    }
    let notes = format!(
        "sqlx {} / libsqlite3-sys {} (bundled SQLite {sqlite_version}), file DB in WAL mode \
         (synchronous=NORMAL), pool of {} connections; ids drawn uniformly at random, every \
         load hits a live session",
        env!("PEER_SQLX_VERSION"),
        env!("PEER_LIBSQLITE3_SYS_VERSION"),
        args.pool_size,
    );
    eprintln!(
        "tower-sessions-peer: SQLite {sqlite_version}, db {}, pool {} connections, tokio workers = \
         cores, sizes {:?}{}",
        db_path.display(),
        args.pool_size,
        args.sizes,
        if args.quick { " (quick)" } else { "" }
    );

    let mut seeder = Seeder::new();
    for &n in &args.sizes {
        seeder.grow_to(&store, &pool, n).await?;
        let ids = Arc::new(seeder.ids[..n].to_vec());
        for tasks in [1, CONCURRENT_TASKS] {
            let m = measure(&store, &ids, tasks, timing).await?;
            let id = format!("{GROUP}/{SUBJECT}/n={n}/tasks={tasks}");
            let record = json!({
                "id": id,
                "group": GROUP,
                "key": format!("n={n} tasks={tasks}"),
                "subject": SUBJECT,
                "label": LABEL,
                "n": n,
                "tasks": tasks,
                "median_ns": m.median_ns,
                "p50_ns": m.p50_ns,
                "p99_ns": m.p99_ns,
                "samples": m.samples,
                "ops": m.ops,
                "throughput_per_s": 1e9 / m.median_ns,
                "notes": notes,
            });
            let file = args.out.join(format!("{}.json", sanitize(&id)));
            let text = serde_json::to_string_pretty(&record).context("encoding the result")?;
            std::fs::write(&file, text + "\n").context(format!("writing {}", file.display()))?;
            eprintln!(
                "{id}: median {:.0} ns/op ({:.0} loads/s), p50 {:.0} ns, p99 {:.0} ns, {} samples, \
                 {} loads",
                m.median_ns,
                1e9 / m.median_ns,
                m.p50_ns,
                m.p99_ns,
                m.samples,
                m.ops
            );
        }
    }
    pool.close().await;
    Ok(())
}

fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect()
}

/// splitmix64: a small, fast, seedable generator (quality is plenty for picking ids).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; bias is negligible for n <= 10^6).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn uuid_v4(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

#[derive(Debug)]
struct Seeder {
    rng: Rng,
    /// `ids[i]` is the session of `member{i}@example.com`.
    ids: Vec<Id>,
    organizations: Vec<String>,
}

impl Seeder {
    fn new() -> Self {
        let mut rng = Rng(0x07e5_5e7a_5eed);
        let organizations = (0..100).map(|_| rng.uuid_v4()).collect();
        Self { rng, ids: Vec::new(), organizations }
    }

    /// A session record comparable to what Tessera keeps for a member session.
    fn record(&mut self, i: usize, now: OffsetDateTime) -> Result<Record> {
        let id =
            Id((u128::from(self.rng.next_u64()) << 64 | u128::from(self.rng.next_u64())) as i128);
        let expiry_date = now + time::Duration::hours(1);
        let started_at = now.format(&Rfc3339).context("formatting started_at")?;
        let expires_at = expiry_date.format(&Rfc3339).context("formatting expires_at")?;
        let email = format!("member{i}@example.com");
        let organization_id = self.organizations[i % self.organizations.len()].clone();
        let data: HashMap<String, Value> = HashMap::from([
            ("member_id".to_owned(), json!(self.rng.uuid_v4())),
            ("organization_id".to_owned(), json!(organization_id)),
            ("email".to_owned(), json!(email)),
            ("roles".to_owned(), json!(["tessera_member"])),
            (
                "authentication_factors".to_owned(),
                json!([{
                    "type": "magic_link",
                    "delivery_method": "email",
                    "last_authenticated_at": started_at,
                    "email_factor": {"email_id": self.rng.uuid_v4(), "email_address": email},
                }]),
            ),
            ("started_at".to_owned(), json!(started_at)),
            ("expires_at".to_owned(), json!(expires_at)),
        ]);
        Ok(Record { id, data, expiry_date })
    }

    /// Seeds sessions `ids.len()..n`: the first `API_SEEDED` of all through
    /// `SessionStore::create`, the rest as bulk inserts of byte-identical rows.
    async fn grow_to(&mut self, store: &SqliteStore, pool: &SqlitePool, n: usize) -> Result<()> {
        let start = self.ids.len();
        if n <= start {
            return Ok(());
        }
        eprint!("seeding {n} sessions ({start} -> {n})... ");
        let began = Instant::now();
        let now = OffsetDateTime::now_utc();

        let api_end = n.min(API_SEEDED as usize).max(start);
        let api_began = Instant::now();
        let mut sample_record = None;
        let mut row_bytes = None;
        for i in start..api_end {
            let mut record = self.record(i, now)?;
            store.create(&mut record).await.context("SessionStore::create")?;
            self.ids.push(record.id);
            sample_record = Some(record);
        }
        let api_time = api_began.elapsed();
        if let Some(record) = &sample_record {
            row_bytes = Some(verify_row_encoding(pool, record).await?);
        }

        let bulk_began = Instant::now();
        let mut i = api_end;
        let mut last_bulk = None;
        while i < n {
            let tx_end = (i + ROWS_PER_TRANSACTION).min(n);
            let mut tx = pool.begin().await.context("begin")?;
            while i < tx_end {
                let stmt_end = (i + ROWS_PER_STATEMENT).min(tx_end);
                let rows = stmt_end - i;
                let values = vec!["(?, ?, ?)"; rows].join(", ");
                let sql = format!("insert into {TABLE} (id, data, expiry_date) values {values}");
                let mut query = sqlx::query(&sql);
                for j in i..stmt_end {
                    let record = self.record(j, now)?;
                    // Exactly what `SqliteStore::save`/`create` bind.
                    let data = rmp_serde::to_vec(&record).context("rmp_serde::to_vec(record)")?;
                    query = query.bind(record.id.to_string()).bind(data).bind(record.expiry_date);
                    self.ids.push(record.id);
                    if j + 1 == n {
                        last_bulk = Some(record);
                    }
                }
                query.execute(&mut *tx).await.context("bulk insert")?;
                i = stmt_end;
            }
            tx.commit().await.context("commit")?;
        }
        let bulk_time = bulk_began.elapsed();
        if let Some(record) = &last_bulk {
            row_bytes = Some(verify_row_encoding(pool, record).await?);
        }
        // Leave the database in a steady state (WAL folded back into the main file).
        sqlx::query("pragma wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .context("wal_checkpoint")?;
        let total = began.elapsed();

        let api_rows = api_end - start;
        let bulk_rows = n - api_end;
        let per_1e5 = |rows: usize, t: Duration| t.as_secs_f64() * 1e5 / rows as f64;
        let mut detail = Vec::new();
        if api_rows > 0 {
            detail.push(format!(
                "{api_rows} via SessionStore::create in {:.2} s = {:.1} s per 10^5",
                api_time.as_secs_f64(),
                per_1e5(api_rows, api_time)
            ));
        }
        if bulk_rows > 0 {
            detail.push(format!(
                "{bulk_rows} bulk rows in {:.2} s = {:.1} s per 10^5",
                bulk_time.as_secs_f64(),
                per_1e5(bulk_rows, bulk_time)
            ));
        }
        if let Some(bytes) = row_bytes {
            detail.push(format!("data {bytes} B/row"));
        }
        let db_bytes: i64 = sqlx::query_scalar(
            "select page_count * page_size from pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(pool)
        .await
        .context("database size")?;
        detail.push(format!("database {:.0} MB", db_bytes as f64 / 1e6));
        eprintln!("{:.1} s ({})", total.as_secs_f64(), detail.join("; "));

        let count: i64 = sqlx::query_scalar(&format!("select count(*) from {TABLE}"))
            .fetch_one(pool)
            .await
            .context("count(*)")?;
        if count != n as i64 {
            return Err(format!("expected {n} rows in {TABLE} after seeding, found {count}"));
        }
        self.verify_loads(store, n).await
    }

    /// `load` of a few random seeded ids must return that very session.
    async fn verify_loads(&self, store: &SqliteStore, n: usize) -> Result<()> {
        let mut rng = Rng(n as u64);
        let picks = [0, n - 1].into_iter().chain((0..16).map(|_| rng.below(n)));
        for i in picks {
            let id = self.ids[i];
            let loaded = store.load(&id).await.context(format!("load of seeded session #{i}"))?;
            let record = loaded
                .ok_or_else(|| format!("load of seeded session #{i} ({id}) returned None"))?;
            let email = record.data.get("email").and_then(Value::as_str);
            let expected = format!("member{i}@example.com");
            if record.id != id || email != Some(expected.as_str()) {
                return Err(format!(
                    "load of seeded session #{i} ({id}) returned a different session: {record:?}"
                ));
            }
        }
        Ok(())
    }
}

/// The row stored for `record` is what the store itself writes: `data` = rmp_serde of the
/// record, `expiry_date` = sqlx's encoding of `OffsetDateTime` (RFC 3339 TEXT, despite the
/// column's `integer` declaration). Returns the size of `data`.
async fn verify_row_encoding(pool: &SqlitePool, record: &Record) -> Result<usize> {
    let (data, expiry, expiry_type): (Vec<u8>, String, String) = sqlx::query_as(&format!(
        "select data, cast(expiry_date as text), typeof(expiry_date) from {TABLE} where id = ?"
    ))
    .bind(record.id.to_string())
    .fetch_one(pool)
    .await
    .context(format!("reading back the row of {}", record.id))?;
    let expected_data = rmp_serde::to_vec(record).context("rmp_serde::to_vec(record)")?;
    let expected_expiry = record.expiry_date.format(&Rfc3339).context("formatting expiry")?;
    if data != expected_data || expiry != expected_expiry || expiry_type != "text" {
        return Err(format!(
            "row of {} is not encoded as expected: data {} bytes (expected {}), expiry_date \
             {expiry:?} ({expiry_type}), expected {expected_expiry:?} (text)",
            record.id,
            data.len(),
            expected_data.len()
        ));
    }
    Ok(data.len())
}

#[derive(Debug)]
struct Measurement {
    median_ns: f64,
    p50_ns: f64,
    p99_ns: f64,
    samples: usize,
    ops: usize,
}

#[derive(Debug)]
struct Round {
    wall: Duration,
    latencies_ns: Vec<u64>,
}

/// `tasks` concurrent tasks each doing `per_task` loads of uniformly random ids.
async fn round(
    store: &SqliteStore,
    ids: &Arc<Vec<Id>>,
    tasks: usize,
    per_task: usize,
    seed: u64,
) -> Result<Round> {
    let began = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let store = store.clone();
            let ids = Arc::clone(ids);
            let mut rng = Rng(seed.wrapping_mul(1_000_003).wrapping_add(t as u64));
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let id = ids[rng.below(ids.len())];
                    let t0 = Instant::now();
                    let loaded = store.load(&id).await;
                    latencies.push(t0.elapsed().as_nanos() as u64);
                    match loaded {
                        Ok(Some(_)) => {}
                        Ok(None) => return Err(format!("load({id}) returned None")),
                        Err(e) => return Err(format!("load({id}): {e}")),
                    }
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies_ns = Vec::with_capacity(tasks * per_task);
    for handle in handles {
        latencies_ns.extend(handle.await.context("load task panicked")??);
    }
    Ok(Round { wall: began.elapsed(), latencies_ns })
}

async fn measure(
    store: &SqliteStore,
    ids: &Arc<Vec<Id>>,
    tasks: usize,
    timing: Timing,
) -> Result<Measurement> {
    // Warm-up (opens the pool's connections, fills page and statement caches) doubling as
    // calibration of the per-sample load count.
    let per_task = CALIBRATION_LOADS.div_ceil(tasks);
    let began = Instant::now();
    let (mut loads, mut seed) = (0usize, 0u64);
    while began.elapsed() < timing.warmup {
        seed += 1;
        round(store, ids, tasks, per_task, u64::MAX - seed).await?;
        loads += tasks * per_task;
    }
    let ns_per_op = began.elapsed().as_nanos() as f64 / loads as f64;
    let per_task =
        ((timing.sample_time.as_nanos() as f64 / ns_per_op / tasks as f64).ceil() as usize).max(4);

    let mut per_sample = Vec::with_capacity(timing.samples);
    let mut all = Vec::with_capacity(timing.samples * tasks * per_task);
    for s in 0..timing.samples {
        let r = round(store, ids, tasks, per_task, s as u64).await?;
        let ops = r.latencies_ns.len() as f64;
        per_sample.push(if tasks == 1 {
            r.latencies_ns.iter().sum::<u64>() as f64 / ops
        } else {
            r.wall.as_nanos() as f64 / ops
        });
        all.extend(r.latencies_ns);
    }
    per_sample.sort_by(f64::total_cmp);
    all.sort_unstable();
    Ok(Measurement {
        median_ns: median(&per_sample),
        p50_ns: percentile(&all, 0.50),
        p99_ns: percentile(&all, 0.99),
        samples: timing.samples,
        ops: all.len(),
    })
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}
