//! What the session benchmarks share: a store of each backend seeded with N live sessions
//! fast (bulk copies of template rows, not N service calls), the service over it, and a
//! runner for concurrent tasks.

#![allow(dead_code)] // each bench binary uses its own part

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use rand::{SeedableRng, rngs::StdRng};
use tessera_api::{Clock, ManualClock, ServiceConfig, SessionService, SystemClock};
use tessera_bench::{Measurement, Timed};
use tessera_core::{
    MemberRef, MemberSession, OrganizationRef, SessionId, SessionToken, TokenHash, TokenPrefix,
};
use tessera_store::{
    Store, memory::MemoryStore, postgres::PostgresStore, sqlite::SqliteStore,
    testing::fixture::Fixture,
};

/// Organizations × members per organization that the sessions are spread over.
const ORGANIZATIONS: usize = 20;
const MEMBERS_PER_ORGANIZATION: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A store with `len()` live sessions whose raw tokens we keep, and a service over it whose
/// clock stands still at `now` (so no touch is due: authenticate is measured on its read path;
/// access records are written at most once per touch interval per session in production).
pub(crate) struct World {
    pub(crate) backend: Backend,
    pub(crate) store: Store,
    pub(crate) service: SessionService,
    pub(crate) now: DateTime<Utc>,
    pub(crate) tokens: Vec<String>,
    pub(crate) hashes: Vec<TokenHash>,
    /// One session per member, created through the store; the rest are copies of these rows.
    templates: Vec<MemberSession>,
    rng: StdRng,
    /// The SQLite file, or the PostgreSQL URL of the bench database.
    pub(crate) location: String,
    /// PostgreSQL: the store's own pool, for the floor's point select.
    pub(crate) pg_pool: Option<sqlx::PgPool>,
    _dir: Option<TempDir>,
}

impl World {
    pub(crate) async fn new(backend: Backend) -> Self {
        Self::with_config(backend, ServiceConfig::new("project-bench")).await
    }

    pub(crate) async fn with_config(backend: Backend, config: ServiceConfig) -> Self {
        let now = SystemClock.now();
        let mut pg_pool = None;
        let (store, location, dir) = match backend {
            Backend::Memory => (MemoryStore::store(), String::new(), None),
            Backend::Sqlite => {
                let dir = TempDir::new("sqlite");
                let path = dir.0.join("tessera.db");
                let store = SqliteStore::open_store(&path).await.expect("open SQLite");
                (store, path.display().to_string(), Some(dir))
            }
            Backend::Postgres => {
                let url = tessera_bench::fresh_postgres_database("tessera_bench").await;
                let pg = PostgresStore::connect(&url).await.expect("connect to PostgreSQL");
                pg.migrate().await.expect("migrate PostgreSQL");
                // `TESSERA_BENCH_POSTGRES_POOL_MODE=transaction`: the store in its transaction
                // pooling mode (on the same, now migrated, database), to measure what it costs.
                let pg = match std::env::var("TESSERA_BENCH_POSTGRES_POOL_MODE").as_deref() {
                    Ok("transaction") => {
                        pg.pool().close().await;
                        PostgresStore::connect(&format!("{url}?pool-mode=transaction"))
                            .await
                            .expect("connect to PostgreSQL in transaction pooling mode")
                    }
                    _ => pg,
                };
                pg_pool = Some(pg.pool().clone());
                (pg.into_store(), url, None)
            }
        };
        let service = SessionService::new(store.clone(), config)
            .with_clock(Arc::new(ManualClock::new(now + TimeDelta::seconds(1))));
        let mut world = Self {
            backend,
            store: store.clone(),
            service,
            now,
            tokens: Vec::new(),
            hashes: Vec::new(),
            templates: Vec::new(),
            rng: StdRng::seed_from_u64(7),
            location,
            pg_pool,
            _dir: dir,
        };
        let mut fixture = Fixture::new(store);
        for o in 0..ORGANIZATIONS {
            let organization = fixture.organization(&format!("bench-{o}")).await;
            for m in 0..MEMBERS_PER_ORGANIZATION {
                let member = fixture.member(&organization, &format!("m{m}@o{o}.example")).await;
                let opened = fixture.session_at(&member, now).await;
                world.push_token(opened.token);
                world.templates.push(opened.session);
            }
        }
        world
    }

    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    fn push_token(&mut self, token: SessionToken) {
        self.hashes.push(token.hash());
        self.tokens.push(token.expose().to_owned());
    }

    /// Adds live sessions until there are `n`, printing progress.
    pub(crate) async fn grow_to(&mut self, n: usize) {
        self.grow(n, self.now + TimeDelta::minutes(60), true).await;
    }

    /// Adds `count` sessions that expired an hour before `now` (for purge). Their tokens are
    /// not kept.
    pub(crate) async fn add_expired(&mut self, count: usize) {
        let keep = self.len();
        self.grow(keep + count, self.now - TimeDelta::hours(1), false).await;
    }

    async fn grow(&mut self, n: usize, expires_at: DateTime<Utc>, keep_tokens: bool) {
        let started = Instant::now();
        let from = self.len();
        let mut rows: Vec<(SessionId, TokenHash, usize)> =
            Vec::with_capacity(n.saturating_sub(from));
        let prefix = TokenPrefix::default();
        for i in from..n {
            let token = SessionToken::generate(&prefix, &mut self.rng);
            let id = SessionId::generate(self.now, &mut self.rng);
            rows.push((id, token.hash(), i % self.templates.len()));
            if keep_tokens {
                self.push_token(token);
            }
        }
        let added = rows.len();
        for chunk in rows.chunks(50_000) {
            match self.backend {
                Backend::Memory => self.copy_memory(chunk, expires_at).await,
                Backend::Sqlite => self.copy_sqlite(chunk, expires_at),
                Backend::Postgres => self.copy_postgres(chunk, expires_at).await,
            }
        }
        if let Some(pool) = &self.pg_pool {
            // Fresh statistics, as autovacuum would eventually give a table grown this much.
            sqlx::query("ANALYZE sessions").execute(pool).await.expect("analyze");
        }
        eprintln!(
            "seeded {added} {} sessions into {} in {:.1} s",
            if keep_tokens { "live" } else { "expired" },
            self.backend.name(),
            started.elapsed().as_secs_f64()
        );
    }

    async fn copy_memory(&self, rows: &[(SessionId, TokenHash, usize)], expires_at: DateTime<Utc>) {
        for (id, hash, template) in rows {
            let mut session = self.templates[*template].clone();
            session.id = *id;
            session.times.expires_at = expires_at;
            self.store.sessions.create_session(&session, hash, &[]).await.expect("create session");
        }
    }

    fn copy_sqlite(&self, rows: &[(SessionId, TokenHash, usize)], expires_at: DateTime<Utc>) {
        let mut connection = rusqlite::Connection::open(&self.location).expect("open SQLite");
        connection.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
        let tx = connection.transaction().expect("begin");
        {
            let mut copy = tx
                .prepare(
                    "INSERT INTO sessions (id, token_hash, expires_at, organization_id, member_id,
                         started_at, last_accessed_at, revoked_at, authentication_factors,
                         custom_claims, ip_address, user_agent, return_url, updated_at)
                     SELECT ?1, ?2, ?3, organization_id, member_id, started_at, last_accessed_at,
                         revoked_at, authentication_factors, custom_claims, ip_address,
                         user_agent, return_url, updated_at
                     FROM sessions WHERE id = ?4",
                )
                .expect("prepare copy");
            let expires = expires_at.timestamp_micros();
            for (id, hash, template) in rows {
                let from = self.templates[*template].id;
                let copied = copy
                    .execute(rusqlite::params![
                        id.as_uuid().as_bytes().as_slice(),
                        hash.as_bytes().as_slice(),
                        expires,
                        from.as_uuid().as_bytes().as_slice(),
                    ])
                    .expect("copy a session row");
                assert_eq!(copied, 1, "the template row exists");
            }
        }
        tx.commit().expect("commit");
    }

    async fn copy_postgres(
        &self,
        rows: &[(SessionId, TokenHash, usize)],
        expires_at: DateTime<Utc>,
    ) {
        let pool = self.pg_pool.as_ref().expect("the store's pool");
        let ids: Vec<uuid::Uuid> = rows.iter().map(|(id, _, _)| *id.as_uuid()).collect();
        let hashes: Vec<Vec<u8>> = rows.iter().map(|(_, h, _)| h.as_bytes().to_vec()).collect();
        let templates: Vec<uuid::Uuid> =
            rows.iter().map(|(_, _, t)| *self.templates[*t].id.as_uuid()).collect();
        let copied = sqlx::query(
            "INSERT INTO sessions (id, token_hash, expires_at, organization_id, member_id,
                 started_at, last_accessed_at, revoked_at, authentication_factors, custom_claims,
                 ip_address, user_agent, return_url, updated_at)
             SELECT u.id, u.hash, $4, s.organization_id, s.member_id, s.started_at,
                 s.last_accessed_at, s.revoked_at, s.authentication_factors, s.custom_claims,
                 s.ip_address, s.user_agent, s.return_url, s.updated_at
             FROM unnest($1::uuid[], $2::bytea[], $3::uuid[]) AS u(id, hash, template)
             JOIN sessions s ON s.id = u.template",
        )
        .bind(&ids)
        .bind(&hashes)
        .bind(&templates)
        .bind(expires_at)
        .execute(pool)
        .await
        .expect("copy session rows");
        assert_eq!(copied.rows_affected(), rows.len() as u64, "every template row exists");
    }

    /// The organization and member of the i-th template session (wrapping).
    pub(crate) fn member(&self, i: u64) -> (OrganizationRef, MemberRef) {
        let template = &self.templates[index(i, self.templates.len())];
        (template.organization_id.into(), MemberRef::Id(template.member_id))
    }

    /// The i-th token (wrapping), for spreading lookups over all sessions.
    pub(crate) fn token(&self, i: u64) -> &str {
        &self.tokens[index(i, self.tokens.len())]
    }

    pub(crate) fn hash(&self, i: u64) -> &TokenHash {
        &self.hashes[index(i, self.hashes.len())]
    }
}

/// A pseudo-random index in `0..len` for the i-th operation: lookups hit the whole table, not
/// a cached few rows, and every run hits the same ones.
pub(crate) fn index(i: u64, len: usize) -> usize {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % len as u64) as usize
}

/// `ops` operations spread over `tasks` concurrent tokio tasks; records the batch (wall time,
/// each operation's latency) and returns its wall time, as `iter_custom` wants.
pub(crate) async fn concurrently<F, Fut>(
    measurement: &Measurement,
    ops: u64,
    tasks: u64,
    op: F,
) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = op.clone();
            let share = ops / tasks + u64::from(task < ops % tasks);
            tokio::spawn(async move {
                let mut timed = Timed::with_capacity(usize::try_from(share).unwrap_or(0));
                for k in 0..share {
                    timed.time_async(op(k * tasks + task)).await;
                }
                timed.into_latencies()
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(usize::try_from(ops).unwrap_or(0));
    for handle in handles {
        latencies.extend(handle.await.expect("a bench task panicked"));
    }
    let elapsed = started.elapsed();
    measurement.record_batch(ops, elapsed, latencies);
    elapsed
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tessera-bench-{name}-{}", std::process::id()));
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

/// A multi-threaded runtime with one worker per core, like `tessera serve`.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}
