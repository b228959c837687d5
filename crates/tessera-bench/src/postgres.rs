//! The benchmarks' PostgreSQL: a fresh database per benchmark binary.

use sqlx::AssertSqlSafe;

/// Where benchmarks find PostgreSQL unless `TESSERA_BENCH_DATABASE_URL` says otherwise.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Drops and creates the database `name` (lower-case letters and `_`) on the server of
/// `TESSERA_BENCH_DATABASE_URL` (default [`DEFAULT_ADMIN_URL`]), and returns its URL. Panics,
/// saying what to do, if the server is unreachable.
///
/// ```no_run
/// # async fn run() {
/// let url = tessera_bench::fresh_postgres_database("tessera_bench_example").await;
/// assert!(url.ends_with("/tessera_bench_example"));
/// # }
/// ```
pub async fn fresh_postgres_database(name: &str) -> String {
    assert!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "a bench database name is lower-case letters and `_`: {name:?}"
    );
    let admin = std::env::var("TESSERA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {admin} is unreachable ({e}); start it or set TESSERA_BENCH_DATABASE_URL"
        )
    });
    // The name is checked above: nothing to quote or escape.
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("cannot drop the bench database {name}: {e}"));
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("cannot create the bench database {name}: {e}"));
    pool.close().await;
    match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("TESSERA_BENCH_DATABASE_URL has no database name: {admin}"),
    }
}
