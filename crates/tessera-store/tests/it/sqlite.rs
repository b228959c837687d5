//! The conformance suite on the SQLite backend, and what is specific to it: tokens never reach
//! the file, migrations, writers from two stores on one file, damaged rows, no thread hop.

use std::{
    future::Future,
    path::{Path, PathBuf},
    pin::pin,
    task::{Context, Poll, Waker},
};

use chrono::TimeDelta;
use rusqlite::Connection;
use tessera_core::{ClaimNamespaces, EventType, MemberRef, OrganizationRef};
use tessera_store::{
    AuthenticationWrite, DeliveryFilter, EndpointSecret, SessionKey, StoreError, WebhookEndpoint,
    WebhookEndpointId,
    sqlite::{SCHEMA_VERSION, SqliteStore},
    testing::fixture::{Fixture, t0},
};

/// An access record at `now`, due when the last one is a minute old.
fn touch(now: chrono::DateTime<chrono::Utc>) -> AuthenticationWrite {
    AuthenticationWrite {
        touch_if_accessed_by: Some(now - TimeDelta::seconds(60)),
        ..Default::default()
    }
}

/// A new database path under the temp dir (its directory is created by `open`).
fn temp_db_path() -> PathBuf {
    std::env::temp_dir()
        .join("tessera-store-sqlite-tests")
        .join(format!("{:032x}", rand::random::<u128>()))
        .join("tessera.sqlite3")
}

async fn fresh_store() -> Option<tessera_store::Store> {
    Some(SqliteStore::open(temp_db_path()).await.expect("open a fresh SQLite store").into_store())
}

tessera_store::conformance_suite!(fresh_store);

/// The database file and its WAL and shared-memory companions, as bytes.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(content) = std::fs::read(PathBuf::from(name)) {
            bytes.extend(content);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn raw_connection(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("raw connection");
    conn.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    conn
}

#[tokio::test]
async fn raw_tokens_never_reach_the_file() {
    let path = temp_db_path();
    let store = SqliteStore::open(&path).await.expect("open").into_store();
    let mut fx = Fixture::new(store.clone());
    let a = fx.tenant("alpha").await;
    let b = fx.tenant("beta").await;
    let mut tokens = vec![a.token.clone(), b.token.clone()];
    let mut hashes = vec![a.token.hash(), b.token.hash()];
    for _ in 0..20 {
        let opened = fx.session(&a.member).await;
        hashes.push(opened.token.hash());
        tokens.push(opened.token);
    }
    // A rotation and an exchange write new hashes too.
    let next = fx.token();
    let rotated = store
        .sessions
        .rotate_session_token(
            &SessionKey::of(&a.session),
            &next.hash(),
            &a.session.authentication_factors,
            None,
            t0(),
            &[],
        )
        .await
        .expect("rotate");
    hashes.push(next.hash());
    tokens.push(next.clone());
    let to = fx.session_value(&b.member, t0());
    let exchanged = fx.token();
    let from = SessionKey::of(&rotated);
    store
        .sessions
        .exchange_session(&from, &to, &exchanged.hash(), t0(), &[])
        .await
        .expect("exchange");
    hashes.push(exchanged.hash());
    tokens.push(exchanged);

    let bytes = file_bytes(&path);
    assert!(!bytes.is_empty());
    for hash in &hashes {
        assert!(contains(&bytes, hash.as_bytes()), "the hashes are in the files read");
    }
    for token in &tokens {
        let secret = token.expose();
        assert!(!contains(&bytes, secret.as_bytes()), "a raw token reached the database");
        let body = &secret[secret.len() - 46..secret.len() - 6];
        assert!(!contains(&bytes, body.as_bytes()), "a token body reached the database");
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_a_future_version_is_refused() {
    let path = temp_db_path();
    assert!(!path.parent().expect("a parent").exists());
    let store = SqliteStore::open(&path).await.expect("open creates the file and its directory");
    let mut fx = Fixture::new(store.into_store());
    let a = fx.tenant("alpha").await;
    drop(fx);

    // Again, and again: nothing is re-applied, nothing is lost.
    for _ in 0..2 {
        let store = SqliteStore::open(&path).await.expect("reopen").into_store();
        let found =
            store.sessions.find_session_by_token(&a.token.hash(), t0()).await.expect("find");
        assert_eq!(found.session, a.session);
        assert_eq!(*found.member, a.member);
        assert_eq!(*found.organization, a.organization);
    }
    let version: i64 = raw_connection(&path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version");
    assert_eq!(version, SCHEMA_VERSION);

    raw_connection(&path)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("set a future version");
    match SqliteStore::open(&path).await {
        Err(StoreError::Open { message, .. }) => {
            assert!(message.contains("newer"), "{message}");
        }
        other => panic!("expected Open error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let path = temp_db_path();
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, b"this is not a database, just a text file that is long enough")
        .expect("write");
    assert!(matches!(SqliteStore::open(&path).await, Err(StoreError::Open { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_one_file_never_fail_with_busy() {
    let path = temp_db_path();
    let one = SqliteStore::open(&path).await.expect("open").into_store();
    // A second store on the same file: its own writer, as another process would have.
    let two = SqliteStore::open(&path).await.expect("open again").into_store();
    let organization = Fixture::new(one.clone()).organization("busy").await;

    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let other = if i % 2 == 0 { two.clone() } else { one.clone() };
        let organization = organization.clone();
        tasks.push(tokio::spawn(async move {
            let mut fx = Fixture::new(store.clone());
            let member = fx.member(&organization, &format!("user{i}@busy.example")).await;
            for round in 0..3 {
                let opened = fx.session(&member).await;
                // Written through one store, visible at once through the other's readers.
                let found = other
                    .sessions
                    .find_session_by_token(&opened.token.hash(), t0() + TimeDelta::seconds(1))
                    .await
                    .expect("found through the other store");
                assert_eq!(found.session.id, opened.session.id);
                let at = t0() + TimeDelta::minutes(1);
                let touched = store
                    .sessions
                    .record_authentication(
                        &SessionKey::of(&opened.session),
                        &touch(at),
                        &ClaimNamespaces::stytch(),
                        at,
                        &[],
                    )
                    .await
                    .expect("touch");
                assert_eq!(touched.times.last_accessed_at, at);
                if round == 0 {
                    other
                        .sessions
                        .revoke_session(
                            organization.id,
                            opened.session.id,
                            None,
                            t0() + TimeDelta::minutes(2),
                            &[],
                        )
                        .await
                        .expect("revoke");
                }
            }
            member
        }));
    }
    for task in tasks {
        task.await.expect("no task failed");
    }
    let members = one.members.list_members(organization.id, None, 100).await.expect("list");
    assert_eq!(members.len(), 50);
    let purged = two.sessions.purge_sessions(t0() + TimeDelta::days(1), 1000).await.expect("purge");
    assert_eq!(purged, 150, "every session expired by then");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_on_one_file_agree_on_the_deployment() {
    let path = temp_db_path();
    let one = SqliteStore::open(&path).await.expect("open").into_store();
    // A second store on the same file, as a second process would have.
    let two = SqliteStore::open(&path).await.expect("open again").into_store();
    let mut tasks = Vec::new();
    for i in 0..10u8 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(async move {
            let candidate = tessera_store::Deployment {
                project_id: format!("project-{i}"),
                secret_hash: [i; 32],
                created_at: t0(),
            };
            store.deployment.init_deployment(&candidate).await.expect("init")
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.push(task.await.expect("no task failed"));
    }
    assert!(returned.iter().all(|d| *d == returned[0]), "{returned:?}");
    let stored = two.deployment.get_deployment().await.expect("get");
    assert_eq!(stored.as_ref(), Some(&returned[0]));

    // A rotation through one store is read through the other.
    one.deployment.set_deployment_secret(&[0xEE; 32], &[]).await.expect("rotate");
    let rotated = two.deployment.get_deployment().await.expect("get").expect("stored");
    assert_eq!(rotated.secret_hash, [0xEE; 32]);
    assert_eq!(rotated.project_id, returned[0].project_id);
}

#[tokio::test]
async fn damaged_rows_are_corrupt_errors_not_panics() {
    let path = temp_db_path();
    let store = SqliteStore::open(&path).await.expect("open").into_store();
    let mut fx = Fixture::new(store.clone());
    let a = fx.tenant("alpha").await;
    let raw = raw_connection(&path);

    raw.execute("UPDATE sessions SET custom_claims = 'not json'", []).expect("damage claims");
    let err =
        store.sessions.find_session_by_token(&a.token.hash(), t0()).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "sessions", .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(a.token.expose()));
    assert!(!shown.contains(&a.token.hash().to_hex()));
    raw.execute("UPDATE sessions SET custom_claims = '[1, 2]'", []).expect("claims not an object");
    let err = store
        .sessions
        .list_member_sessions(a.organization.id, a.member.id, t0())
        .await
        .expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "sessions", .. }), "{err:?}");
    raw.execute("UPDATE sessions SET custom_claims = '{}'", []).expect("repair");
    raw.execute(
        "UPDATE sessions SET authentication_factors = \
         '[{\"type\":\"totp\",\"delivery_method\":\"email\",\
         \"created_at\":\"2026-06-01T12:00:00Z\",\
         \"last_authenticated_at\":\"2026-06-01T12:00:00Z\",\
         \"updated_at\":\"2026-06-01T12:00:00Z\"}]'",
        [],
    )
    .expect("incoherent factor");
    let err = store
        .sessions
        .find_session_by_id(a.organization.id, a.session.id, t0())
        .await
        .expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "sessions", .. }), "{err:?}");

    raw.execute("UPDATE members SET roles = '{\"not\": \"a list\"}'", []).expect("damage roles");
    let err = store
        .members
        .get_member(a.organization.id, &MemberRef::Id(a.member.id))
        .await
        .expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "members", .. }), "{err:?}");
    raw.execute("UPDATE members SET roles = '[]', email_address = 'no-at-sign'", [])
        .expect("damage email");
    let err = store.members.list_members(a.organization.id, None, 10).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "members", .. }), "{err:?}");

    raw.execute("UPDATE organizations SET slug = 'no spaces allowed'", []).expect("damage slug");
    let err = store
        .organizations
        .get_organization(&OrganizationRef::Id(a.organization.id))
        .await
        .expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "organizations", .. }), "{err:?}");
    raw.execute("UPDATE organizations SET slug = 'fine', max_lifetime_minutes = 1", [])
        .expect("out of bounds");
    let err = store.organizations.list_organizations(None, 10).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "organizations", .. }), "{err:?}");
}

/// A damaged webhook row is `Corrupt` (and a damaged secret is not quoted); a delivery whose event
/// cannot be read is made dead by the claim, which goes on with the others.
#[tokio::test]
async fn damaged_webhook_rows_are_corrupt_or_dead_lettered() {
    let path = temp_db_path();
    let store = SqliteStore::open(&path).await.expect("open").into_store();
    let mut fx = Fixture::new(store.clone());
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::generate(t0(), &mut rand::rng()),
        url: "https://hooks.example.com/t".into(),
        description: None,
        event_types: Vec::new(),
        organization_id: None,
        enabled: true,
        disabled_reason: None,
        secrets: vec![EndpointSecret {
            secret: "whsec_aHVudGVyMi1odW50ZXIyLWh1bnRlcjI".into(),
            created_at: t0(),
            expires_at: None,
        }],
        created_at: t0(),
        updated_at: t0(),
        failing_since: None,
        last_sequence: 0,
    };
    store.webhooks.create_endpoint(&endpoint).await.expect("create");
    for n in 0..2 {
        let event = fx.event(EventType::SessionRevoked, t0() + TimeDelta::minutes(n));
        store.events.append_events(&[event]).await.expect("append");
    }
    assert_eq!(store.webhooks.fan_out(t0(), 10).await.expect("fan out"), 2);
    let raw = raw_connection(&path);

    raw.execute("UPDATE events SET type = 'session.hijacked' WHERE sequence = 1", [])
        .expect("damage an event");
    let lease = TimeDelta::minutes(5);
    let claimed = store.webhooks.claim_deliveries(t0(), lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1, "the readable one");
    assert_eq!(claimed[0].delivery.event.sequence, 2);
    let (status, error): (String, String) = raw
        .query_row(
            "SELECT status, last_error FROM webhook_deliveries WHERE event_sequence = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the damaged one");
    assert_eq!(status, "dead");
    assert!(error.starts_with("the event cannot be read"), "{error}");

    raw.execute("UPDATE webhook_endpoints SET secrets = '[{\"secret\": \"whsec_hunter2\"}]'", [])
        .expect("damage the secrets");
    let err = store.webhooks.get_endpoint(endpoint.id).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "webhook_endpoints", .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    raw.execute("UPDATE webhook_endpoints SET secrets = '[]', event_types = '[\"nope\"]'", [])
        .expect("damage the types");
    let err = store.webhooks.list_endpoints().await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "webhook_endpoints", .. }), "{err:?}");

    // Past the schema's CHECK (which SQLite lets `ignore_check_constraints` switch off).
    raw.execute_batch(
        "PRAGMA ignore_check_constraints = ON; \
         UPDATE webhook_deliveries SET status = 'lost' WHERE event_sequence = 2; \
         UPDATE events SET type = 'session.revoked';",
    )
    .expect("damage a status");
    let err =
        store.webhooks.list_deliveries(&DeliveryFilter::default(), 10).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::Corrupt { table: "webhook_deliveries", .. }), "{err:?}");
}

/// Polls a future once: reads, and writes whose lock is free, finish on the calling thread
/// without waiting for another thread. Unconstrained by tokio's cooperative budget, which could
/// otherwise make a free lock answer `Pending` once the test task has used its budget.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(tokio::task::unconstrained(future));
    future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test]
async fn the_hot_path_completes_inline_without_a_thread_hop() {
    let store = SqliteStore::open(temp_db_path()).await.expect("open").into_store();
    let mut fx = Fixture::new(store.clone());
    let a = fx.tenant("alpha").await;
    let now = t0() + TimeDelta::minutes(2);
    match poll_once(store.sessions.find_session_by_token(&a.token.hash(), now)) {
        Poll::Ready(found) => assert_eq!(found.expect("found").session.id, a.session.id),
        Poll::Pending => panic!("a token lookup waited for another thread"),
    }
    let namespaces = ClaimNamespaces::stytch();
    match poll_once(store.sessions.record_authentication(
        &SessionKey::of(&a.session),
        &touch(now),
        &namespaces,
        now,
        &[],
    )) {
        Poll::Ready(touched) => assert_eq!(touched.expect("touch").times.last_accessed_at, now),
        Poll::Pending => panic!("an uncontended touch waited for another thread"),
    }
}

/// Work that grows with the data (a cascading delete of an organization or a member, revoking
/// every session of a member) leaves the async worker for the blocking pool. Another connection
/// holds SQLite's write lock meanwhile, so the work cannot finish until it is released: on the
/// blocking pool the first poll answers `Pending` at once; run inline, it would block this
/// thread in SQLite's busy wait and come back `Ready`. Dropped after that poll, the work still
/// runs to its end on the blocking pool, holding the store's writer, so the next write waits for
/// it and sees all of its effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_writes_leave_the_async_workers() {
    let path = temp_db_path();
    let store = SqliteStore::open(&path).await.expect("open").into_store();
    let mut fx = Fixture::new(store.clone());
    let a = fx.tenant("alpha").await;
    let b = fx.tenant("beta").await;
    let now = t0() + TimeDelta::minutes(1);
    let blocker = raw_connection(&path);
    let hold_write_lock = || blocker.execute_batch("BEGIN IMMEDIATE").expect("write lock");
    let release = || blocker.execute_batch("COMMIT").expect("release");

    hold_write_lock();
    let revoke = store.sessions.revoke_member_sessions(a.organization.id, a.member.id, now, &[]);
    assert!(poll_once(revoke).is_pending(), "a revoke of all a member's sessions ran inline");
    release();
    let again = store.sessions.revoke_member_sessions(a.organization.id, a.member.id, now, &[]);
    assert_eq!(again.await.unwrap(), 0, "the dropped revoke finished first");

    hold_write_lock();
    let delete = store.members.delete_member(a.organization.id, a.member.id, &[]);
    assert!(poll_once(delete).is_pending(), "a member's cascading delete ran inline");
    release();
    let again = store.members.delete_member(a.organization.id, a.member.id, &[]).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");

    hold_write_lock();
    let delete = store.organizations.delete_organization(b.organization.id, &[]);
    assert!(poll_once(delete).is_pending(), "an organization's cascading delete ran inline");
    release();
    let again = store.organizations.delete_organization(b.organization.id, &[]).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
}
