//! Authenticate by token at 10^4..10^6 live sessions, on each store, next to its floor (and, for
//! SQLite, the tower-sessions peer measured by `bench/tower-sessions-peer`). Run by
//! `cargo xtask bench`; the figures land in docs/BENCHMARKS.md.
//!
//! - memory: floor = SHA-256 of the token + a `HashMap<[u8; 32], _>` lookup over the same N.
//! - SQLite: floor = a raw rusqlite prepared point select by token hash, on the same file, with
//!   the same reader pragmas as the store (memory-mapped, 16 MiB page cache).
//! - PostgreSQL: floor = one prepared indexed point select by token hash, over the store's pool.
//!
//! Tessera's figure is `SessionService::authenticate` with a token and without a session JWT:
//! parse, hash, the store's joined lookup (session + member + organization), the status and
//! policy checks. The JWT an HTTP authenticate also answers with is measured on its own (the
//! `jwt` bench: signing, and reusing a JWT minted less than 30 s ago) and end to end by the
//! `http` bench. A `lookup/<store>` group adds the store's `find_session_by_token` alone, to show
//! where the time goes.

mod support;

use std::{
    collections::HashMap,
    hint::black_box,
    sync::{Arc, Mutex, PoisonError},
};

use sha2::{Digest, Sha256};
use support::{Backend, World, concurrently, runtime};
use tessera_api::{Authenticate, Credential};
use tessera_bench::{Measurement, Record, Settings, Subject, criterion::Criterion};

/// Concurrent tasks in the "many callers" cases.
const TASKS: u64 = 32;
const SELECT_BY_HASH_SQLITE: &str = "SELECT id FROM sessions WHERE token_hash = ?1";
const SELECT_BY_HASH_POSTGRES: &str = "SELECT id FROM sessions WHERE token_hash = $1";

fn main() {
    let settings = Settings::from_env();
    let mut c = tessera_bench::config();
    let rt = runtime();
    for backend in settings_backends() {
        let mut world = rt.block_on(World::new(backend));
        for &n in &settings.sizes() {
            rt.block_on(world.grow_to(n));
            let shared = Arc::new(world);
            bench_size(&mut c, &rt, &shared, n);
            world =
                Arc::try_unwrap(shared).unwrap_or_else(|_| panic!("a bench task outlived its run"));
        }
    }
    c.final_summary();
}

/// Every store, or those named in `TESSERA_BENCH_STORES` (e.g. `sqlite,postgres`).
fn settings_backends() -> Vec<Backend> {
    let all = [Backend::Memory, Backend::Sqlite, Backend::Postgres];
    match std::env::var("TESSERA_BENCH_STORES") {
        Ok(names) => all.into_iter().filter(|b| names.split(',').any(|n| n == b.name())).collect(),
        Err(_) => all.to_vec(),
    }
}

fn bench_size(c: &mut Criterion, rt: &tokio::runtime::Runtime, world: &Arc<World>, n: usize) {
    let store = world.backend.name();
    let group = format!("authenticate/{store}");
    let one = format!("n={n} tasks=1");

    // The floor, one caller.
    let floor = Measurement::new(
        Record::new(&group, &one, Subject::Floor, floor_label(world.backend)).n(n).tasks(1),
    );
    match world.backend {
        Backend::Memory => {
            let map: HashMap<[u8; 32], u32> =
                world.hashes.iter().enumerate().map(|(i, h)| (*h.as_bytes(), i as u32)).collect();
            let mut i = 0;
            bench(c, &floor, |b| {
                b.iter_custom(|iters| {
                    floor.run(iters, || {
                        i += 1;
                        let hash: [u8; 32] = Sha256::digest(world.token(i).as_bytes()).into();
                        black_box(map.get(&hash).expect("a seeded hash"));
                    })
                });
            });
        }
        Backend::Sqlite => {
            let connection = sqlite_reader(&world.location);
            let mut i = 0;
            bench(c, &floor, |b| {
                b.iter_custom(|iters| {
                    floor.run(iters, || {
                        i += 1;
                        black_box(sqlite_select(&connection, world, i));
                    })
                });
            });
        }
        Backend::Postgres => {
            let pool = world.pg_pool.clone().expect("the store's pool");
            let mut i = 0;
            bench(c, &floor, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(floor.run_async(iters, async || {
                        i += 1;
                        black_box(postgres_select(&pool, world, i).await);
                    }))
                });
            });
        }
    }
    floor.finish().expect("write the result");

    // Tessera, one caller.
    let tessera = Measurement::new(
        Record::new(&group, &one, Subject::Tessera, "SessionService::authenticate (token, no JWT)")
            .n(n)
            .tasks(1),
    );
    let mut i = 0;
    bench(c, &tessera, |b| {
        b.iter_custom(|iters| {
            rt.block_on(tessera.run_async(iters, async || {
                i += 1;
                black_box(authenticate(world, i).await);
            }))
        });
    });
    tessera.finish().expect("write the result");

    // Where the time goes: the store's lookup alone (hash given).
    let lookup = Measurement::new(
        Record::new(
            &format!("lookup/{store}"),
            &one,
            Subject::Tessera,
            "Store::find_session_by_token (hash given)",
        )
        .n(n)
        .tasks(1),
    );
    let mut i = 0;
    bench(c, &lookup, |b| {
        b.iter_custom(|iters| {
            rt.block_on(lookup.run_async(iters, async || {
                i += 1;
                let found = world.store.sessions.find_session_by_token(world.hash(i), world.now);
                black_box(found.await.expect("a live session"));
            }))
        });
    });
    lookup.finish().expect("write the result");

    if world.backend == Backend::Memory {
        return;
    }
    // Many callers: floor and Tessera with 32 concurrent tasks on the runtime's workers.
    let many = format!("n={n} tasks={TASKS}");
    let floor = Measurement::new(
        Record::new(&group, &many, Subject::Floor, floor_label(world.backend)).n(n).tasks(TASKS),
    );
    match world.backend {
        Backend::Sqlite => {
            // As many reader connections as the store has (4), each used by one task at a time.
            let readers: Arc<Vec<Mutex<rusqlite::Connection>>> =
                Arc::new((0..4).map(|_| Mutex::new(sqlite_reader(&world.location))).collect());
            bench(c, &floor, |b| {
                b.iter_custom(|iters| {
                    let (readers, world) = (readers.clone(), world.clone());
                    rt.block_on(concurrently(&floor, iters, TASKS, move |i| {
                        let (readers, world) = (readers.clone(), world.clone());
                        async move {
                            let reader = readers[i as usize % readers.len()]
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner);
                            black_box(sqlite_select(&reader, &world, i));
                        }
                    }))
                });
            });
        }
        Backend::Postgres => {
            let pool = world.pg_pool.clone().expect("the store's pool");
            bench(c, &floor, |b| {
                b.iter_custom(|iters| {
                    let (pool, world) = (pool.clone(), world.clone());
                    rt.block_on(concurrently(&floor, iters, TASKS, move |i| {
                        let (pool, world) = (pool.clone(), world.clone());
                        async move {
                            black_box(postgres_select(&pool, &world, i).await);
                        }
                    }))
                });
            });
        }
        Backend::Memory => unreachable!("returned above"),
    }
    floor.finish().expect("write the result");

    let tessera = Measurement::new(
        Record::new(
            &group,
            &many,
            Subject::Tessera,
            "SessionService::authenticate (token, no JWT)",
        )
        .n(n)
        .tasks(TASKS),
    );
    bench(c, &tessera, |b| {
        b.iter_custom(|iters| {
            let world = world.clone();
            rt.block_on(concurrently(&tessera, iters, TASKS, move |i| {
                let world = world.clone();
                async move {
                    black_box(authenticate(&world, i).await);
                }
            }))
        });
    });
    tessera.finish().expect("write the result");
}

fn floor_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Memory => "SHA-256 + HashMap<[u8; 32], _> lookup",
        Backend::Sqlite => "rusqlite prepared point select by hash",
        Backend::Postgres => "sqlx prepared point select by hash (same pool)",
    }
}

/// Runs one criterion benchmark named after the measurement's record.
fn bench(
    c: &mut Criterion,
    measurement: &Measurement,
    f: impl FnMut(&mut tessera_bench::criterion::Bencher<'_>),
) {
    c.bench_function(measurement.id(), f);
}

async fn authenticate(world: &World, i: u64) -> tessera_api::Authenticated {
    let request = Authenticate::new(Credential::Token(world.token(i).to_owned())).without_jwt();
    world.service.authenticate(request).await.expect("a live session")
}

/// A read-only connection with the store's reader pragmas (memory map, 16 MiB page cache), so
/// that the floor and Tessera read the file the same way.
fn sqlite_reader(path: &str) -> rusqlite::Connection {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection =
        rusqlite::Connection::open_with_flags(path, flags).expect("open the SQLite file");
    connection
        .execute_batch("PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;")
        .expect("reader pragmas");
    connection
}

fn sqlite_select(connection: &rusqlite::Connection, world: &World, i: u64) -> Vec<u8> {
    let mut select = connection.prepare_cached(SELECT_BY_HASH_SQLITE).expect("prepare");
    select
        .query_row([world.hash(i).as_bytes().as_slice()], |row| row.get(0))
        .expect("a seeded hash")
}

async fn postgres_select(pool: &sqlx::PgPool, world: &World, i: u64) -> uuid::Uuid {
    sqlx::query_scalar(SELECT_BY_HASH_POSTGRES)
        .bind(world.hash(i).as_bytes().as_slice())
        .fetch_one(pool)
        .await
        .expect("a seeded hash")
}
