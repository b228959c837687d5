//! Authenticate over HTTP, end to end: `wrk` against the real `tessera-server` router, served in
//! this process on loopback, next to a floor served by the same runtime. Run by
//! `cargo xtask bench`; the figures land in docs/BENCHMARKS.md.
//!
//! For each store (SQLite, PostgreSQL): one organization, 100 members and 1000 sessions created
//! through the service; `wrk -t2 -c64` then posts `{"session_token": ...}` to
//! `POST /v1/b2b/sessions/authenticate` with the project's Basic credentials, rotating through
//! the 1000 tokens. Every answer carries a session JWT, as the HTTP API always does.
//!
//! - Floor: a trivial axum handler on the same path that reads the body and answers a constant
//!   `{"status_code":200}`: no credentials, no store, no JWT. What hyper, axum and loopback TCP
//!   cost on this machine.
//! - Tessera: `tessera_server::http::router`, as `tessera serve` runs it: a multi-threaded tokio
//!   runtime with one worker per core, the access log at `tessera serve`'s default level
//!   (`info,sqlx=warn`, or `TESSERA_LOG`), one line per request, written to a file.
//!
//! Runs alternate (floor, Tessera, floor, ...), after a warm-up of each, so that drift affects
//! both; each figure is the median of the runs. wrk and the server share the machine's cores:
//! the figures are a lower bound of what a dedicated server does.

use std::{
    fs::File,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, http::header::CONTENT_TYPE, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD};
use tessera_api::{CreateMember, CreateOrganization, CreateSession, ServiceConfig, SessionService};
use tessera_bench::{Record, Settings, Subject};
use tessera_core::{
    DeliveryMethod, EmailAddress, FactorInput, FactorType, MemberRef, OrganizationName,
    OrganizationSlug,
};
use tessera_server::{
    deployment::{self, Bootstrap},
    http::{AppState, router},
};
use tessera_store::{postgres::PostgresStore, sqlite::SqliteStore};
use tokio::{sync::oneshot, task::JoinHandle};
use tracing_subscriber::EnvFilter;

const PATH: &str = "/v1/b2b/sessions/authenticate";
const MEMBERS: usize = 100;
const SESSIONS: usize = 1000;
const THREADS: u32 = 2;
const CONNECTIONS: u64 = 64;
const RUNS: usize = 3;
const BENCH_DATABASE: &str = "tessera_bench_http";
const FLOOR_LABEL: &str = "trivial axum handler (same runtime, hyper, loopback)";
const TESSERA_LABEL: &str = "POST /v1/b2b/sessions/authenticate (tessera-server router)";

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

fn main() {
    let started = Instant::now();
    let settings = Settings::from_env();
    let wrk = wrk_path();
    let scratch = TempDir::new();
    let log = AccessLog::init(&scratch.0.join("access.log"));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // Like `tessera serve`: multi-threaded, one worker per core.
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let floor = rt.block_on(Server::start(floor_router()));
    eprintln!("http: floor listening on {}", floor.address);

    let duration = settings.load_duration().as_secs();
    let warm_up = if settings.quick { 1 } else { 3 };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let world = rt.block_on(World::new(backend, &scratch.0));
        let tessera = rt.block_on(Server::start(router(world.state.clone())));
        eprintln!("http/{}: tessera listening on {}", backend.name(), tessera.address);
        rt.block_on(check_answer(&world, tessera.address));
        let script = scratch.0.join(format!("authenticate-{}.lua", backend.name()));
        std::fs::write(&script, world.lua_script()).expect("write the wrk script");

        let wrk_run = |server: &Server, seconds: u64, what: &str| {
            let run = run_wrk(&wrk, &script, server.address, seconds);
            eprintln!(
                "http/{}: {what}: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, {} requests",
                backend.name(),
                run.requests_per_s,
                run.p50_ns / 1e3,
                run.p99_ns / 1e3,
                run.requests
            );
            run
        };
        wrk_run(&floor, warm_up, "floor warm-up");
        let warmed = wrk_run(&tessera, warm_up, "tessera warm-up");
        log.check_and_clear(warmed.requests + 1);
        let (mut floor_runs, mut tessera_runs) = (Vec::new(), Vec::new());
        for i in 1..=RUNS {
            floor_runs.push(wrk_run(&floor, duration, &format!("floor run {i}/{RUNS}")));
            let run = wrk_run(&tessera, duration, &format!("tessera run {i}/{RUNS}"));
            log.check_and_clear(run.requests);
            tessera_runs.push(run);
        }

        let group = format!("http/{}", backend.name());
        let common = format!(
            "wrk -t{THREADS} -c{CONNECTIONS} -d{duration}s, {SESSIONS} sessions rotated; wrk and \
             the server share the machine's {cores} cores"
        );
        summarize(&group, Subject::Floor, FLOOR_LABEL, &floor_runs)
            .notes(common.clone())
            .write()
            .expect("write the floor's record");
        summarize(&group, Subject::Tessera, TESSERA_LABEL, &tessera_runs)
            .notes(format!("{common}; {}; {}", world.store_note, log.note))
            .write()
            .expect("write Tessera's record");

        rt.block_on(tessera.stop());
    }
    rt.block_on(floor.stop());
    eprintln!("http: done in {:.1} s", started.elapsed().as_secs_f64());
}

/// The floor: reads the body, answers a constant small JSON. No credentials, no store.
fn floor_router() -> Router {
    Router::new().route(
        PATH,
        post(|body: Bytes| async move {
            std::hint::black_box(body);
            ([(CONTENT_TYPE, "application/json")], r#"{"status_code":200}"#)
        }),
    )
}

/// A router served on 127.0.0.1:<ephemeral> until [`Server::stop`].
struct Server {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: Router) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("the listener's address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Self { address, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the server on {} failed: {e}", self.address),
            Ok(Err(e)) => panic!("the server task on {} panicked: {e}", self.address),
            Err(_) => eprintln!("http: the server on {} did not stop within 10 s", self.address),
        }
    }
}

/// A store with one organization, its members and their sessions, and the app state over it.
struct World {
    state: AppState,
    project_id: String,
    secret: String,
    tokens: Vec<String>,
    /// How the store runs, for the record's notes.
    store_note: String,
}

impl World {
    async fn new(backend: Backend, scratch: &Path) -> Self {
        let (store, store_note) = match backend {
            Backend::Sqlite => {
                let path = scratch.join("tessera.db");
                let store = SqliteStore::open_store(&path).await.expect("open the SQLite store");
                (store, "SQLite file in WAL mode".to_owned())
            }
            Backend::Postgres => {
                let url = tessera_bench::fresh_postgres_database(BENCH_DATABASE).await;
                let pg = PostgresStore::connect(&url).await.expect("connect to PostgreSQL");
                pg.migrate().await.expect("migrate PostgreSQL");
                let version: String = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(pg.pool())
                    .await
                    .expect("read PostgreSQL's version");
                let version = version.split_whitespace().next().unwrap_or("?").to_owned();
                (pg.into_store(), format!("PostgreSQL {version} on loopback"))
            }
        };
        let Bootstrap::Created { credentials, secret } =
            deployment::bootstrap(&deployment::service_for_deployment(store.clone()))
                .await
                .expect("bootstrap the deployment")
        else {
            panic!("a fresh store has no deployment yet");
        };
        let service =
            SessionService::new(store.clone(), ServiceConfig::new(credentials.project_id.clone()));
        // As `tessera serve` does: the first signing key now, not on the first request.
        service.jwks().await.expect("create the signing key");
        let tokens = seed(&service, backend).await;
        Self {
            project_id: credentials.project_id.clone(),
            secret: secret.expose().to_owned(),
            state: AppState::new(service, credentials),
            tokens,
            store_note,
        }
    }

    fn basic_auth(&self) -> String {
        STANDARD.encode(format!("{}:{}", self.project_id, self.secret))
    }

    /// POST with the project's Basic credentials; each wrk thread walks the bodies from its own
    /// offset.
    fn lua_script(&self) -> String {
        let mut script = String::new();
        script.push_str("wrk.method = \"POST\"\n");
        script.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
        script.push_str(&format!(
            "wrk.headers[\"Authorization\"] = {}\n",
            lua_string(&format!("Basic {}", self.basic_auth()))
        ));
        script.push_str("local bodies = {\n");
        for token in &self.tokens {
            let body = serde_json::json!({ "session_token": token }).to_string();
            script.push_str(&format!("  {},\n", lua_string(&body)));
        }
        script.push_str("}\nlocal n = #bodies\n");
        script.push_str(
            r#"local threads = 0
function setup(thread)
  thread:set("offset", threads * 499)
  threads = threads + 1
end
i = 0
function init(args)
  i = (offset or 0) % n
end
function request()
  i = i % n + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"#,
        );
        script
    }
}

/// One organization, [`MEMBERS`] members, [`SESSIONS`] sessions spread over them, all through
/// the service; returns the sessions' raw tokens.
async fn seed(service: &SessionService, backend: Backend) -> Vec<String> {
    let started = Instant::now();
    let organization = service
        .create_organization(CreateOrganization::new(
            OrganizationName::parse("Bench").expect("a valid organization name"),
            OrganizationSlug::parse("bench").expect("a valid slug"),
        ))
        .await
        .expect("create the organization");
    let organization_ref = organization.id.into();
    let mut members = Vec::with_capacity(MEMBERS);
    for m in 0..MEMBERS {
        let email = EmailAddress::parse(&format!("member{m}@bench.example")).expect("an email");
        let (member, _) = service
            .create_member(&organization_ref, CreateMember::new(email))
            .await
            .expect("create a member");
        members.push(member.id);
    }
    let mut tokens = Vec::with_capacity(SESSIONS);
    for s in 0..SESSIONS {
        let request =
            CreateSession::new(organization_ref.clone(), MemberRef::Id(members[s % members.len()]))
                .with_factor(FactorInput {
                    factor_type: FactorType::MagicLink,
                    delivery_method: DeliveryMethod::Email,
                    last_authenticated_at: None,
                    detail: None,
                });
        let issued = service.create_session(request).await.expect("create a session");
        tokens.push(issued.token.expose().to_owned());
    }
    eprintln!(
        "http/{}: created 1 organization, {MEMBERS} members, {SESSIONS} sessions in {:.1} s",
        backend.name(),
        started.elapsed().as_secs_f64()
    );
    tokens
}

/// One authenticate through the server before measuring: it must answer 200 with a JWT.
async fn check_answer(world: &World, address: SocketAddr) {
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("http://{address}{PATH}"))
        .basic_auth(&world.project_id, Some(&world.secret))
        .json(&serde_json::json!({ "session_token": world.tokens[0] }))
        .send()
        .await
        .expect("send an authenticate request");
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.expect("a JSON answer to authenticate");
    assert!(
        status == reqwest::StatusCode::OK
            && body["session_jwt"].as_str().is_some_and(|j| !j.is_empty()),
        "authenticate answered {status} without a session_jwt: {body}"
    );
}

/// What one wrk run measured.
#[derive(Debug)]
struct WrkRun {
    requests_per_s: f64,
    p50_ns: f64,
    p99_ns: f64,
    requests: u64,
}

fn run_wrk(wrk: &Path, script: &Path, address: SocketAddr, seconds: u64) -> WrkRun {
    let output = Command::new(wrk)
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(format!("http://{address}{PATH}"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", wrk.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "wrk failed ({}):\n{stdout}\n{stderr}", output.status);
    parse_wrk(&stdout).unwrap_or_else(|e| panic!("{e}; wrk said:\n{stdout}\n{stderr}"))
}

fn parse_wrk(out: &str) -> Result<WrkRun, String> {
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx or 3xx responses")) {
        return Err(format!("the server refused requests: {}", line.trim()));
    }
    if let Some(line) = out.lines().find(|l| l.trim_start().starts_with("Socket errors")) {
        return Err(format!("wrk had socket errors: {}", line.trim()));
    }
    let requests_per_s = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or("no `Requests/sec:` line")?;
    let requests = out
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("no `N requests in` line")?;
    let distribution: Vec<&str> =
        out.lines().skip_while(|l| !l.contains("Latency Distribution")).skip(1).collect();
    let percentile = |name: &str| {
        distribution
            .iter()
            .find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some(name)).then(|| words.next().and_then(duration_ns)).flatten()
            })
            .ok_or(format!("no {name} line in the latency distribution"))
    };
    Ok(WrkRun { requests_per_s, p50_ns: percentile("50%")?, p99_ns: percentile("99%")?, requests })
}

/// wrk's durations: `635.00us`, `2.46ms`, `1.02s` (and, defensively, `ns`, `m`).
fn duration_ns(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The record of one subject: medians over the runs.
fn summarize(group: &str, subject: Subject, label: &str, runs: &[WrkRun]) -> Record {
    let mut record = Record::new(group, &format!("{CONNECTIONS} connections"), subject, label)
        .tasks(CONNECTIONS);
    let throughput = median(runs.iter().map(|r| r.requests_per_s));
    record.throughput_per_s = Some(throughput);
    record.median_ns = Some(1e9 / throughput);
    record.p50_ns = Some(median(runs.iter().map(|r| r.p50_ns)));
    record.p99_ns = Some(median(runs.iter().map(|r| r.p99_ns)));
    record.samples = Some(runs.len());
    record.ops = Some(runs.iter().map(|r| r.requests).sum());
    record
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A Lua string literal.
fn lua_string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            c => literal.push(c),
        }
    }
    literal.push('"');
    literal
}

/// `TESSERA_BENCH_WRK`, else `wrk` on PATH.
fn wrk_path() -> PathBuf {
    if let Some(wrk) = std::env::var_os("TESSERA_BENCH_WRK") {
        return PathBuf::from(wrk);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path).map(|dir| dir.join("wrk")).find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "wrk (the HTTP load generator) is not on PATH: run this benchmark through \
                 `cargo xtask bench`, which installs it, or set TESSERA_BENCH_WRK"
            )
        })
}

/// The server's log, as `tessera serve` configures it (`TESSERA_LOG`, default
/// `info,sqlx=warn`: one line per request), written to a file instead of stderr so that the
/// bench's own output stays readable. The file is emptied between runs.
struct AccessLog {
    file: Arc<File>,
    note: String,
}

impl AccessLog {
    fn init(path: &Path) -> Self {
        let directives = std::env::var("TESSERA_LOG").ok();
        let filter = directives
            .as_deref()
            .and_then(|d| EnvFilter::try_new(d).ok())
            .unwrap_or_else(|| EnvFilter::new("info,sqlx=warn"));
        // Appending, so that writes go to the end after the file is emptied.
        let file = Arc::new(
            File::options()
                .create(true)
                .append(true)
                .open(path)
                .expect("create the access log file"),
        );
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(file.clone()).init();
        let level = directives.unwrap_or_else(|| "info,sqlx=warn".to_owned());
        Self {
            file,
            note: format!(
                "server log as `tessera serve` ({level}: one access line per request), written \
                 to a file"
            ),
        }
    }

    /// Prints how much the server logged since the last call (`requests` were served to wrk
    /// meanwhile), and empties the file.
    fn check_and_clear(&self, requests: u64) {
        let bytes = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "http: the server logged {:.1} MB ({:.0} bytes per request)",
            bytes as f64 / 1e6,
            bytes as f64 / requests.max(1) as f64
        );
        self.file.set_len(0).expect("empty the access log");
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tessera-bench-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
