//! The rest of a session's life: memory per live session in the memory store, create-session
//! throughput (SQLite, PostgreSQL), and purging expired sessions while authenticates go on.
//! Run by `cargo xtask bench`; the figures land in docs/BENCHMARKS.md.

mod support;

use std::{hint::black_box, sync::Arc, time::Instant};

use chrono::TimeDelta;
use rand::{SeedableRng, rngs::StdRng};
use support::{Backend, World, concurrently, runtime};
use tessera_api::{Authenticate, CreateSession, Credential, ServiceConfig};
use tessera_api::{Clock, SystemClock};
use tessera_bench::{
    Measurement, Record, Settings, Subject, Timed, criterion::Criterion, percentiles,
};
use tessera_core::{
    CustomClaims, DeliveryMethod, FactorInput, FactorType, SessionId, SessionToken, TokenPrefix,
};
use tessera_store::{memory::MemoryStore, testing::fixture::Fixture};
use tokio::runtime::Runtime;

const TASKS: u64 = 32;

fn main() {
    let settings = Settings::from_env();
    let rt = runtime();
    // First, while the heap is fresh.
    memory_per_session(&rt, 1_000_000);
    let mut c = tessera_bench::config();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        create_sessions(&mut c, &rt, backend);
    }
    let expired = if settings.quick { 100_000 } else { 1_000_000 };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        purge_during_authenticates(&rt, &settings, backend, expired);
    }
    c.final_summary();
}

/// Resident memory added by `n` live sessions (one factor, no custom claims) in the memory
/// store, measured from the process's resident set size.
fn memory_per_session(rt: &Runtime, n: usize) {
    let store = MemoryStore::store();
    let mut fixture = Fixture::new(store.clone());
    let now = SystemClock.now();
    let template = rt.block_on(async {
        let organization = fixture.organization("memory").await;
        let member = fixture.member(&organization, "ada@example.com").await;
        let mut session = fixture.session_value(&member, now);
        session.custom_claims = CustomClaims::empty();
        session
    });
    let (prefix, mut rng) = (TokenPrefix::default(), StdRng::seed_from_u64(1));
    let before = resident_bytes();
    rt.block_on(async {
        for _ in 0..n {
            let mut session = template.clone();
            session.id = SessionId::generate(now, &mut rng);
            let hash = SessionToken::generate(&prefix, &mut rng).hash();
            store.sessions.create_session(&session, &hash, &[]).await.expect("create");
        }
    });
    let after = resident_bytes();
    let per_session = (after.saturating_sub(before)) as f64 / n as f64;
    Record::new("memory", &format!("n={n}"), Subject::Tessera, "resident bytes per live session (memory store)")
        .n(n)
        .value(per_session, "bytes/session")
        .notes(format!(
            "RSS {:.0} MiB before, {:.0} MiB after {n} sessions (1 factor, IP + user agent, no custom claims)",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0
        ))
        .write()
        .expect("write the result");
}

/// The process's resident set size, from /proc/self/statm (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux)");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm");
    pages * 4096
}

fn create_sessions(c: &mut Criterion, rt: &Runtime, backend: Backend) {
    let group = format!("create/{}", backend.name());
    // With the audit log (the default) and, as this row's floor, without it: the cost of
    // recording `session.created` in the create's transaction (target: at most 10% more).
    for events in [true, false] {
        let mut config = ServiceConfig::new("project-bench");
        config.events.enabled = events;
        let world = Arc::new(rt.block_on(World::with_config(backend, config)));
        let (subject, label) = match events {
            true => (Subject::Tessera, "SessionService::create_session (incl. RS256 JWT)"),
            false => (Subject::Floor, "the same with the audit log off (EventSettings::enabled)"),
        };
        for tasks in [1, TASKS] {
            let measurement = Measurement::new(
                Record::new(&group, &format!("tasks={tasks}"), subject, label).tasks(tasks),
            );
            c.bench_function(measurement.id(), |b| {
                b.iter_custom(|iters| {
                    let world = world.clone();
                    rt.block_on(concurrently(&measurement, iters, tasks, move |i| {
                        let world = world.clone();
                        async move {
                            let (organization, member) = world.member(i);
                            let request =
                                CreateSession::new(organization, member).with_factor(FactorInput {
                                    factor_type: FactorType::MagicLink,
                                    delivery_method: DeliveryMethod::Email,
                                    last_authenticated_at: None,
                                    detail: None,
                                });
                            black_box(
                                world.service.create_session(request).await.expect("created"),
                            );
                        }
                    }))
                })
            });
            measurement.finish().expect("write the result");
        }
    }
}

/// Authenticate latency (one caller) while idle, then while `expired` dead sessions are purged.
fn purge_during_authenticates(rt: &Runtime, settings: &Settings, backend: Backend, expired: usize) {
    let mut config = ServiceConfig::new("project-bench");
    config.purge_retention = TimeDelta::zero();
    let mut world = rt.block_on(World::with_config(backend, config));
    rt.block_on(world.grow_to(10_000));
    rt.block_on(world.add_expired(expired));
    let world = Arc::new(world);
    let group = format!("purge/{}", backend.name());

    let idle_for = settings.load_duration() / 2;
    let idle =
        rt.block_on(authenticate_until(&world, async { tokio::time::sleep(idle_for).await }));
    let purger = world.clone();
    let started = Instant::now();
    let (during, (deleted, took)) = rt.block_on(async {
        let purge = tokio::spawn(async move {
            let deleted = purger.service.purge_sessions(|_| {}).await.expect("purge");
            (deleted, started.elapsed())
        });
        let mut outcome = None;
        let during = authenticate_until(&world, async {
            outcome = Some(purge.await.expect("the purge task"));
        })
        .await;
        (during, outcome.expect("the purge finished"))
    });
    write_latency(&group, "p99 idle", "authenticate (1 caller), no purge running", idle, expired);
    write_latency(
        &group,
        "p99 during purge",
        "authenticate (1 caller) while purge runs",
        during,
        expired,
    );
    Record::new(&group, "purge", Subject::Tessera, &format!("purge {expired} expired sessions"))
        .n(expired)
        .value(took.as_secs_f64(), "s")
        .notes(format!(
            "deleted {deleted} rows ({:.0}/s) in batches of 1000, beside 10000 live sessions",
            deleted as f64 / took.as_secs_f64()
        ))
        .write()
        .expect("write the result");
}

/// Authenticates one caller in a loop until `until` completes; the latencies.
async fn authenticate_until(world: &World, until: impl Future<Output = ()>) -> Vec<u64> {
    let mut timed = Timed::default();
    let mut until = std::pin::pin!(until);
    let mut i = 0u64;
    loop {
        tokio::select! {
            biased;
            () = &mut until => break,
            () = async {
                i += 1;
                let request = Authenticate::new(Credential::Token(world.token(i).to_owned())).without_jwt();
                timed.time_async(world.service.authenticate(request)).await.expect("a live session");
            } => {}
        }
    }
    timed.into_latencies()
}

fn write_latency(group: &str, key: &str, label: &str, latencies: Vec<u64>, n: usize) {
    let ops = latencies.len() as u64;
    let (p50, p99) = percentiles(latencies);
    let mut record = Record::new(group, key, Subject::Tessera, label).n(n).tasks(1);
    record.p50_ns = p50;
    record.p99_ns = p99;
    record.ops = Some(ops);
    record.write().expect("write the result");
}
