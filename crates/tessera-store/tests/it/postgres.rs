//! The conformance suite on the PostgreSQL backend, plus what is specific to it: migrations,
//! constraint names, corrupt rows, races between nodes, and that no raw token reaches a table.
//!
//! Every test works in a schema of its own (`tessera_test_<unix time>_<random>`), created through
//! an admin connection and selected with the pool's `search_path`; schemas of runs more than 15
//! minutes old are dropped by the next run. The server is `TESSERA_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`. If it cannot be reached the tests are skipped
//! with a loud `SKIPPED` line, unless `CI=true`, where they fail.
//!
//! The suite runs twice: in the default [`PoolMode::Session`], and (module `transaction_mode`) in
//! [`PoolMode::Transaction`], straight on PostgreSQL, so that every operation's transaction and
//! unnamed statements are checked against the same cases as the default path. That PgBouncer in
//! transaction mode then works is the server's multi-node test.

// Test code: a failed expectation should stop the test with its message.
#![allow(clippy::unwrap_used)]

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::Rng;
use serde_json::json;
use sqlx::{
    AssertSqlSafe, Connection,
    postgres::{PgConnectOptions, PgConnection, PgPoolOptions},
};
use tessera_core::{
    AuthenticationFactor, CustomClaims, DeliveryMethod, EmailAddress, EventType, ExternalId,
    FactorInput, FactorType, LifetimePolicy, Member, MemberId, MemberRef, MemberSession, Metadata,
    Organization, OrganizationId, OrganizationName, OrganizationRef, OrganizationSettings,
    OrganizationSlug, RoleId, SessionAttributes, SessionDuration, SessionId, SessionTimes,
    SessionToken, TokenHash, TokenPrefix,
};
use tessera_store::{
    AuthenticationWrite, Constraint, DeliveryFilter, EndpointSecret, Entity, SessionKey,
    SigningKey, Store, StoreError, WebhookEndpoint, WebhookEndpointId,
    postgres::{PoolMode, PostgresStore},
};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const SCHEMA_PREFIX: &str = "tessera_test_";
/// Schemas of earlier runs older than this (15 minutes) are dropped.
const STALE_AFTER_SECS: u64 = 900;

fn server_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The server's URL without a password, for messages.
fn shown_url(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// A connection to the server for creating and dropping schemas, or `None` (after saying so
/// loudly) if the server is unreachable outside CI.
async fn admin_connection() -> Option<(PgConnection, PgConnectOptions)> {
    let options = PgConnectOptions::from_str(&server_url())
        .unwrap_or_else(|e| panic!("TESSERA_TEST_POSTGRES_URL is not a PostgreSQL URL: {e}"));
    match PgConnection::connect_with(&options).await {
        Ok(conn) => Some((conn, options)),
        Err(e) => {
            let at = shown_url(&options);
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "PostgreSQL unreachable at {at}: {e}\n\
                     Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) \
                     main start`, or point TESSERA_TEST_POSTGRES_URL at a running server."
                );
            }
            eprintln!(
                "\n*** SKIPPED: PostgreSQL unreachable at {at} ({e}); the PostgreSQL tests did \
                 not run. Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls \
                 /etc/postgresql) main start` or set TESSERA_TEST_POSTGRES_URL. ***\n"
            );
            None
        }
    }
}

/// A new, empty schema, and connect options that select it.
struct TestSchema {
    name: String,
    options: PgConnectOptions,
}

impl TestSchema {
    async fn create() -> Option<Self> {
        let (mut admin, options) = admin_connection().await?;
        drop_stale_schemas(&mut admin).await;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let name = format!("{SCHEMA_PREFIX}{now}_{:016x}", rand::rng().random::<u64>());
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        let options = options.options([("search_path", name.as_str())]);
        Some(Self { name, options })
    }

    /// A migrated store on this schema, connected as `tessera serve` connects (its pool opens
    /// connections as they are needed).
    async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(self.options.clone()).await.unwrap()
    }

    /// A store on this schema, migrated in session mode, then in [`PoolMode::Transaction`] on a
    /// pool of its own with sqlx's statement cache off (as [`PostgresStore::connect_with_mode`]
    /// makes it).
    async fn transaction_mode_store(&self, max_connections: u32) -> PostgresStore {
        self.store().await.pool().close().await;
        let pool = PostgresStore::pool_options()
            .max_connections(max_connections)
            .connect_with(self.options.clone().statement_cache_capacity(0))
            .await
            .unwrap();
        let store = PostgresStore::from_pool(pool).with_pool_mode(PoolMode::Transaction);
        // Only checks that the schema is migrated, in this mode.
        store.migrate().await.unwrap();
        store
    }
}

/// Drops the schemas left by runs more than 15 minutes old (once per test process).
async fn drop_stale_schemas(admin: &mut PgConnection) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, 'tessera_test_')",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let created = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        let is_stale = created.is_some_and(|secs| secs + STALE_AFTER_SECS < now);
        let is_plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if is_stale && is_plain {
            // Another test process may be dropping it too: ignore failures.
            sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
                .execute(&mut *admin)
                .await
                .ok();
        }
    }
}

/// A fresh, migrated, empty PostgreSQL store in a schema of its own; `None` if skipped.
async fn fresh_store() -> Option<Store> {
    let schema = TestSchema::create().await?;
    Some(schema.store().await.into_store())
}

async fn fresh_postgres() -> Option<PostgresStore> {
    let schema = TestSchema::create().await?;
    Some(schema.store().await)
}

tessera_store::conformance_suite!(fresh_store);

/// The conformance suite in [`PoolMode::Transaction`].
mod transaction_mode {
    async fn fresh_store() -> Option<tessera_store::Store> {
        let schema = super::TestSchema::create().await?;
        Some(schema.transaction_mode_store(8).await.into_store())
    }

    tessera_store::conformance_suite!(fresh_store);
}

// ---------------------------------------------------------------------------------------------
// Fixtures for the PostgreSQL-specific tests.

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + TimeDelta::microseconds(654_321)
}

fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

fn token() -> SessionToken {
    SessionToken::generate(&TokenPrefix::default(), &mut rand::rng())
}

fn organization(slug: &str) -> Organization {
    Organization {
        id: OrganizationId::generate(t0(), &mut rand::rng()),
        name: OrganizationName::parse("Acme").unwrap(),
        slug: OrganizationSlug::parse(slug).unwrap(),
        external_id: None,
        email: Some(EmailAddress::parse("billing@acme.example").unwrap()),
        trusted_metadata: serde_json::from_value(json!({"tier": 3})).unwrap(),
        settings: OrganizationSettings::default(),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn member(organization: &Organization, email: &str) -> Member {
    Member {
        id: MemberId::generate(t0(), &mut rand::rng()),
        organization_id: organization.id,
        email_address: EmailAddress::parse(email).unwrap(),
        name: None,
        external_id: None,
        roles: vec![RoleId::parse("editor").unwrap()],
        trusted_metadata: Metadata::new(),
        untrusted_metadata: Metadata::new(),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn session(member: &Member) -> MemberSession {
    let factor = AuthenticationFactor::new(
        FactorInput {
            factor_type: FactorType::MagicLink,
            delivery_method: DeliveryMethod::Email,
            last_authenticated_at: Some(t0()),
            detail: None,
        },
        t0(),
    )
    .unwrap();
    MemberSession {
        id: SessionId::generate(t0(), &mut rand::rng()),
        organization_id: member.organization_id,
        member_id: member.id,
        times: SessionTimes::start(t0(), SessionDuration::default(), &LifetimePolicy::default()),
        authentication_factors: vec![factor],
        custom_claims: CustomClaims::empty(),
        attributes: SessionAttributes { ip_address: Some("198.51.100.4".into()), user_agent: None },
        return_url: None,
        updated_at: t0(),
        token_generation: 0,
    }
}

/// An organization with one member holding one session, stored.
async fn tenant(store: &Store, slug: &str) -> (Organization, Member, MemberSession, SessionToken) {
    let organization = organization(slug);
    store.organizations.create_organization(&organization, &[]).await.unwrap();
    let member = member(&organization, "ada@acme.example");
    store.members.create_member(&member, &[]).await.unwrap();
    let session = session(&member);
    let token = token();
    store.sessions.create_session(&session, &token.hash(), &[]).await.unwrap();
    (organization, member, session, token)
}

fn is_corrupt_in(result: Result<impl std::fmt::Debug, StoreError>, expected: &str) -> bool {
    match result {
        Err(StoreError::Corrupt { table, .. }) => table == expected,
        other => panic!("expected Corrupt in {expected}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Migrations.

#[tokio::test]
async fn migrations_are_idempotent_and_recorded() {
    let Some(store) = fresh_postgres().await else { return };
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM tessera_schema_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    // The store works after migrating again.
    let store = store.into_store();
    tenant(&store, "after-remigrate").await;
}

#[tokio::test]
async fn a_version_1_schema_upgrades_and_keeps_its_data() {
    let Some(store) = fresh_postgres().await else { return };
    let before = store.clone().into_store();
    let (_, _, session, token) = tenant(&before, "before-upgrade").await;
    // Back to version 1, data kept: as a database migrated by a Tessera that knew only 0001
    // would be (its sessions had no token generation, and their attributes in one jsonb column).
    for undo in [
        "ALTER TABLE sessions ADD COLUMN attributes jsonb",
        "UPDATE sessions SET attributes = jsonb_strip_nulls(jsonb_build_object(\
         'ip_address', ip_address, 'user_agent', user_agent))",
        "ALTER TABLE sessions ALTER COLUMN attributes SET NOT NULL",
        "ALTER TABLE sessions DROP COLUMN ip_address",
        "ALTER TABLE sessions DROP COLUMN user_agent",
        "DROP TABLE webhook_deliveries",
        "DROP TABLE webhook_endpoints",
        "DROP TABLE events",
        "DROP TABLE event_sequence",
        "DROP TABLE deployment",
        "ALTER TABLE organizations DROP COLUMN max_sessions_per_member",
        "ALTER TABLE organizations DROP COLUMN session_limit_behavior",
        "ALTER TABLE sessions DROP COLUMN token_generation",
        "DROP INDEX sessions_last_accessed_idx",
        "DROP INDEX sessions_started_idx",
        "DROP INDEX sessions_member_idx",
        "CREATE INDEX sessions_member_idx ON sessions (organization_id, member_id)",
        "DELETE FROM tessera_schema_migrations WHERE version > 1",
    ] {
        sqlx::query(AssertSqlSafe(undo)).execute(store.pool()).await.unwrap();
    }

    store.migrate().await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM tessera_schema_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    let store = store.into_store();
    let found = store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
    assert_eq!(found.session, session, "the upgrade kept the version-1 data");
    assert_eq!(store.deployment.get_deployment().await.unwrap(), None);
    let deployment = tessera_store::Deployment {
        project_id: "project-upgraded".into(),
        secret_hash: [3; 32],
        created_at: t0(),
    };
    assert_eq!(store.deployment.init_deployment(&deployment).await.unwrap(), deployment);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_migrating_one_schema_at_once_all_succeed() {
    let Some(schema) = TestSchema::create().await else { return };
    let mut nodes = Vec::new();
    for _ in 0..4 {
        let options = schema.options.clone();
        nodes.push(tokio::spawn(async move { PostgresStore::connect_with(options).await }));
    }
    let mut stores = Vec::new();
    for node in nodes {
        stores.push(node.await.unwrap().unwrap());
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM tessera_schema_migrations")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    assert_eq!(applied, 7, "each migration applied exactly once");
    let store = stores.remove(0).into_store();
    tenant(&store, "raced").await;
    assert!(schema.name.starts_with(SCHEMA_PREFIX));
}

#[tokio::test]
async fn a_changed_applied_migration_refuses_to_open() {
    let Some(schema) = TestSchema::create().await else { return };
    let store = schema.store().await;
    sqlx::query("UPDATE tessera_schema_migrations SET checksum = '\\x00' WHERE version = 1")
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("migration 1"), "{err}");
    // The failed run released its lock: another migrator in this database is not blocked.
    let other = TestSchema::create().await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), other.store()).await.expect("not blocked");
}

// ---------------------------------------------------------------------------------------------
// Opening.

#[tokio::test]
async fn unreachable_server_is_an_open_error_without_the_password() {
    // Port 1 on localhost: nothing listens there.
    let err = PostgresStore::connect("postgres://tessera:hunter2secret@127.0.0.1:1/tessera")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(message.contains("start PostgreSQL"), "{message}");
    assert!(!message.contains("hunter2secret"), "{message}");
    assert!(!format!("{err:?}").contains("hunter2secret"));

    let err = PostgresStore::connect("mysql://nope").await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_database_is_an_open_error_that_says_so() {
    let Some((_admin, options)) = admin_connection().await else { return };
    let options = options.database("tessera_no_such_database");
    let err = PostgresStore::connect_with(options).await.unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

/// A store on a pool of the caller's own runs that pool's `before_acquire` hook on every
/// operation that takes an idle connection: only a pool the store built itself, which checks
/// nothing, hands idle connections out directly.
#[tokio::test]
async fn a_pool_of_ones_own_runs_its_before_acquire_hook() {
    let Some(schema) = TestSchema::create().await else { return };
    let (_, _, _, token) = tenant(&schema.store().await.into_store(), "hooked").await;
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&checks);
    let pool = PostgresStore::pool_options()
        .max_connections(1)
        .before_acquire(move |_, _| {
            let counted = Arc::clone(&counted);
            Box::pin(async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(true)
            })
        })
        .connect_with(schema.options.clone())
        .await
        .unwrap();
    let store = PostgresStore::from_pool(pool).into_store();
    for _ in 0..3 {
        store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
        // sqlx returns a connection to the pool from a task of its own: let it run, so that the
        // next lookup finds the connection idle.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first lookup opened the connection; the next two took it idle, through the hook.
    assert!(checks.load(Ordering::SeqCst) >= 2, "{} hook calls", checks.load(Ordering::SeqCst));
}

#[tokio::test]
async fn an_exhausted_pool_is_unavailable() {
    let Some(schema) = TestSchema::create().await else { return };
    schema.store().await; // migrate
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(300))
        .connect_with(schema.options.clone())
        .await
        .unwrap();
    let held = pool.acquire().await.unwrap();
    let store = PostgresStore::from_pool(pool).into_store();
    let err = store.organizations.list_organizations(None, 10).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.error_type(), tessera_core::ErrorType::StorageUnavailable);
    assert!(err.to_string().contains("PostgreSQL"), "{err}");
    drop(held);
    store.organizations.list_organizations(None, 10).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Transaction pooling mode.

/// In [`PoolMode::Transaction`] no statement is named: after a round of operations on its one
/// connection, that connection holds no prepared statement (`pg_prepared_statements` lists the
/// named ones of the session), while the session mode's holds its cached ones.
#[tokio::test]
async fn transaction_mode_prepares_no_named_statement() {
    let Some(schema) = TestSchema::create().await else { return };
    let count = "SELECT count(*) FROM pg_prepared_statements";
    for (mode, store) in [
        (PoolMode::Session, {
            let pool = PostgresStore::pool_options()
                .max_connections(1)
                .connect_with(schema.options.clone())
                .await
                .unwrap();
            PostgresStore::from_pool(pool)
        }),
        (PoolMode::Transaction, schema.transaction_mode_store(1).await),
    ] {
        let pool = store.pool().clone();
        let store = store.into_store();
        let slug = format!("named-{}", mode.as_str());
        let (org, ada, session, token) = tenant(&store, &slug).await;
        store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
        store.sessions.list_member_sessions(org.id, ada.id, t0()).await.unwrap();
        store
            .sessions
            .record_authentication(
                &SessionKey::of(&session),
                &AuthenticationWrite { claims_patch: Some(json!({"a": 1})), ..Default::default() },
                &Default::default(),
                t0(),
                &[],
            )
            .await
            .unwrap();
        // Unnamed itself, so that it does not count itself.
        let named: i64 =
            sqlx::query_scalar(count).persistent(false).fetch_one(&pool).await.unwrap();
        match mode {
            PoolMode::Session => assert!(named >= 5, "session mode caches its statements"),
            PoolMode::Transaction => assert_eq!(named, 0, "transaction mode names none"),
        }
    }
}

/// In [`PoolMode::Transaction`] the store does not migrate: a schema that lacks migrations is
/// refused with what to do, and the URL parameter is checked, shown and never given to sqlx.
#[tokio::test]
async fn transaction_mode_refuses_an_unmigrated_schema() {
    let Some(schema) = TestSchema::create().await else { return };
    let err = PostgresStore::connect_with_mode(schema.options.clone(), PoolMode::Transaction)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(message.contains("lacks migration(s) 1, 2, 3"), "{message}");
    assert!(message.contains("direct connection"), "{message}");
    // Nothing was created by the refusal.
    let pool = PgPoolOptions::new().connect_with(schema.options.clone()).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema.name)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 0, "the refusal created nothing");

    // Migrated in session mode (as on a direct connection), it opens.
    schema.store().await;
    let store =
        PostgresStore::connect_with_mode(schema.options.clone(), PoolMode::Transaction).await;
    assert_eq!(store.unwrap().pool_mode(), PoolMode::Transaction);

    // From a URL: the parameter selects the mode (the admin URL's database is migrated in the
    // public schema only if some run did so, so only parsing is checked here).
    let err = PostgresStore::connect("postgres://u:hunter2@127.0.0.1:1/d?pool-mode=bogus")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`pool-mode` must be"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("bogus"), "{err}");
    let err = PostgresStore::connect("postgres://u:hunter2@127.0.0.1:1/d?pool-mode=transaction")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot connect to PostgreSQL at u@127.0.0.1:1/d"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Constraints.

#[tokio::test]
async fn unique_violations_map_to_their_constraint() {
    let Some(store) = fresh_store().await else { return };
    let (org, ada, session, _token) = tenant(&store, "acme").await;

    // Organizations.
    let mut same_id = organization("other-slug");
    same_id.id = org.id;
    let err = store.organizations.create_organization(&same_id, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::PrimaryKey)), "{err:?}");
    let err =
        store.organizations.create_organization(&organization("acme"), &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::OrganizationSlug)), "{err:?}");
    let mut with_external = organization("ext-1");
    with_external.external_id = Some(ExternalId::parse("crm-1").unwrap());
    store.organizations.create_organization(&with_external, &[]).await.unwrap();
    let mut again = organization("ext-2");
    again.external_id = Some(ExternalId::parse("crm-1").unwrap());
    let err = store.organizations.create_organization(&again, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::OrganizationExternalId)), "{err:?}");
    // Organizations without external id do not collide.
    store.organizations.create_organization(&organization("no-ext-1"), &[]).await.unwrap();
    store.organizations.create_organization(&organization("no-ext-2"), &[]).await.unwrap();

    // Members.
    let mut same_member_id = member(&org, "grace@acme.example");
    same_member_id.id = ada.id;
    let err = store.members.create_member(&same_member_id, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::PrimaryKey)), "{err:?}");
    let err =
        store.members.create_member(&member(&org, "ADA@Acme.Example"), &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::MemberEmail)), "{err:?}");
    let mut grace = member(&org, "grace@acme.example");
    grace.external_id = Some(ExternalId::parse("u-1").unwrap());
    store.members.create_member(&grace, &[]).await.unwrap();
    let mut linus = member(&org, "linus@acme.example");
    linus.external_id = Some(ExternalId::parse("u-1").unwrap());
    let err = store.members.create_member(&linus, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::MemberExternalId)), "{err:?}");
    // The same email and external id in another organization are fine.
    let other = organization("other");
    store.organizations.create_organization(&other, &[]).await.unwrap();
    let mut twin = member(&other, "ada@acme.example");
    twin.external_id = Some(ExternalId::parse("u-1").unwrap());
    store.members.create_member(&twin, &[]).await.unwrap();
    // Email lookups ignore case.
    let found = store
        .members
        .get_member(org.id, &MemberRef::Email(EmailAddress::parse("Ada@ACME.example").unwrap()))
        .await
        .unwrap();
    assert_eq!(found.id, ada.id);

    // Sessions.
    let mut same_session_id = self::session(&ada);
    same_session_id.id = session.id;
    let err =
        store.sessions.create_session(&same_session_id, &token().hash(), &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::PrimaryKey)), "{err:?}");
    let reused = token();
    store.sessions.create_session(&self::session(&ada), &reused.hash(), &[]).await.unwrap();
    let err =
        store.sessions.create_session(&self::session(&ada), &reused.hash(), &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::SessionTokenHash)), "{err:?}");

    // Signing keys.
    let key = SigningKey {
        kid: "k1".into(),
        algorithm: "EdDSA".into(),
        private_key_der: vec![1; 48],
        public_key_der: vec![2; 44],
        created_at: t0(),
        retired_at: None,
    };
    store.signing_keys.insert_signing_key(&key, &[]).await.unwrap();
    let err = store.signing_keys.insert_signing_key(&key, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Constraint::SigningKeyId)), "{err:?}");
}

/// A value PostgreSQL cannot store (a NUL in text: SQLSTATE 22021) that slipped past the parsers
/// is the request's fault: `InvalidValue` (a 400), never `Unavailable` (a 503), and nothing is
/// written.
#[tokio::test]
async fn values_postgres_cannot_store_are_invalid_not_unavailable() {
    let Some(store) = fresh_store().await else { return };
    let (org, _, _, _) = tenant(&store, "acme").await;
    let mut nul = member(&org, "nul@acme.example");
    nul.name = Some("Ada\u{0}Lovelace".into());
    let err = store.members.create_member(&nul, &[]).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidValue { .. }), "{err:?}");
    assert_eq!(err.error_type(), tessera_core::ErrorType::InvalidRequest);
    let err = store.members.get_member(org.id, &MemberRef::Id(nul.id)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(Entity::Member)), "{err:?}");
}

#[tokio::test]
async fn foreign_keys_map_to_not_found() {
    let Some(store) = fresh_store().await else { return };
    let (org, ada, _session, _token) = tenant(&store, "acme").await;
    let (other, _, _, _) = tenant(&store, "other").await;

    let ghost_org = organization("ghost");
    let err = store.members.create_member(&member(&ghost_org, "x@ghost.example"), &[]).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Organization))), "{err:?}");

    // A session naming a member of another organization.
    let mut crossed = session(&ada);
    crossed.organization_id = other.id;
    let err = store.sessions.create_session(&crossed, &token().hash(), &[]).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Member))), "{err:?}");
    let mut orphan = session(&ada);
    orphan.organization_id = ghost_org.id;
    let err = store.sessions.create_session(&orphan, &token().hash(), &[]).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Organization))), "{err:?}");

    // Nothing was written by the failures.
    let sessions = store.sessions.list_member_sessions(org.id, ada.id, t0()).await.unwrap();
    assert_eq!(sessions.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Corrupt rows.

#[tokio::test]
async fn corrupt_rows_are_reported_not_panicked_on() {
    let Some(pg) = fresh_postgres().await else { return };
    let pool = pg.pool().clone();
    let store = pg.into_store();
    let (org, ada, session, token) = tenant(&store, "acme").await;
    let hash = token.hash();

    // Claims that are not an object.
    sqlx::query("UPDATE sessions SET custom_claims = '[1, 2]'").execute(&pool).await.unwrap();
    assert!(is_corrupt_in(store.sessions.find_session_by_token(&hash, t0()).await, "sessions"));
    assert!(is_corrupt_in(
        store.sessions.list_member_sessions(org.id, ada.id, t0()).await,
        "sessions"
    ));
    assert!(is_corrupt_in(
        store
            .sessions
            .record_authentication(
                &SessionKey::of(&session),
                &AuthenticationWrite { claims_patch: Some(json!({"a": 1})), ..Default::default() },
                &Default::default(),
                t0(),
                &[],
            )
            .await,
        "sessions"
    ));

    // An incoherent factor.
    sqlx::query(
        "UPDATE sessions SET custom_claims = '{}', \
         authentication_factors = '[{\"type\": \"totp\", \"delivery_method\": \"email\"}]'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(is_corrupt_in(
        store.sessions.find_session_by_id(org.id, session.id, t0()).await,
        "sessions"
    ));
    sqlx::query("UPDATE sessions SET authentication_factors = '[]'").execute(&pool).await.unwrap();
    store.sessions.find_session_by_token(&hash, t0()).await.unwrap();

    // A member role and an organization slug that no longer parse.
    sqlx::query("UPDATE members SET roles = ARRAY['not a role!']").execute(&pool).await.unwrap();
    assert!(is_corrupt_in(store.sessions.find_session_by_token(&hash, t0()).await, "members"));
    assert!(is_corrupt_in(
        store.members.get_member(org.id, &MemberRef::Id(ada.id)).await,
        "members"
    ));
    sqlx::query("UPDATE organizations SET slug = 'x', mfa_policy = 'SOMETIMES'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(is_corrupt_in(
        store.organizations.get_organization(&OrganizationRef::Id(org.id)).await,
        "organizations"
    ));
    assert!(is_corrupt_in(store.organizations.list_organizations(None, 10).await, "organizations"));
    sqlx::query("UPDATE organizations SET slug = 'acme', max_lifetime_minutes = 1")
        .execute(&pool)
        .await
        .unwrap();
    assert!(is_corrupt_in(
        store.organizations.get_organization(&OrganizationRef::Id(org.id)).await,
        "organizations"
    ));

    // The schema itself refuses a token hash of the wrong length.
    let err =
        sqlx::query("UPDATE sessions SET token_hash = '\\x0102'").execute(&pool).await.unwrap_err();
    assert!(err.to_string().contains("sessions_token_hash_length"), "{err}");
}

/// A damaged webhook row is `Corrupt` (and a damaged secret is not quoted); a delivery whose event
/// cannot be read is made dead by the claim, which goes on with the others.
#[tokio::test]
async fn damaged_webhook_rows_are_corrupt_or_dead_lettered() {
    let Some(pg) = fresh_postgres().await else { return };
    let pool = pg.pool().clone();
    let store = pg.into_store();
    let mut fx = tessera_store::testing::fixture::Fixture::new(store.clone());
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
    store.webhooks.create_endpoint(&endpoint).await.unwrap();
    for n in 0..2 {
        let event = fx.event(EventType::SessionRevoked, t0() + minutes(n));
        store.events.append_events(&[event]).await.unwrap();
    }
    assert_eq!(store.webhooks.fan_out(t0(), 10).await.unwrap(), 2);

    sqlx::query("UPDATE events SET type = 'session.hijacked' WHERE sequence = 1")
        .execute(&pool)
        .await
        .unwrap();
    let claimed = store.webhooks.claim_deliveries(t0(), minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "the readable one");
    assert_eq!(claimed[0].delivery.event.sequence, 2);
    let (status, error): (String, String) = sqlx::query_as(
        "SELECT status, last_error FROM webhook_deliveries WHERE event_sequence = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "dead");
    assert!(error.starts_with("the event cannot be read"), "{error}");

    sqlx::query("UPDATE webhook_endpoints SET secrets = '[{\"secret\": \"whsec_hunter2\"}]'")
        .execute(&pool)
        .await
        .unwrap();
    let err = store.webhooks.get_endpoint(endpoint.id).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    assert!(is_corrupt_in(Err::<(), _>(err), "webhook_endpoints"));
    sqlx::query("UPDATE webhook_endpoints SET secrets = '[]', event_types = ARRAY['nope']")
        .execute(&pool)
        .await
        .unwrap();
    assert!(is_corrupt_in(store.webhooks.list_endpoints().await, "webhook_endpoints"));

    // Past the schema's CHECK, as something else than Tessera could write.
    for damage in [
        "ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check",
        "UPDATE webhook_deliveries SET status = 'lost' WHERE event_sequence = 2",
        "UPDATE events SET type = 'session.revoked'",
    ] {
        sqlx::query(AssertSqlSafe(damage)).execute(&pool).await.unwrap();
    }
    assert!(is_corrupt_in(
        store.webhooks.list_deliveries(&DeliveryFilter::default(), 10).await,
        "webhook_deliveries"
    ));
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[tokio::test]
async fn no_raw_token_is_stored() {
    let Some(pg) = fresh_postgres().await else { return };
    let pool = pg.pool().clone();
    let store = pg.into_store();
    let (_org, _ada, session, token) = tenant(&store, "acme").await;
    let next = self::token();
    store
        .sessions
        .rotate_session_token(&SessionKey::of(&session), &next.hash(), &[], None, t0(), &[])
        .await
        .unwrap();

    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT s::text FROM sessions s UNION ALL SELECT m::text FROM members m \
         UNION ALL SELECT o::text FROM organizations o",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for secret in [token.expose(), next.expose()] {
        let body = &secret[TokenPrefix::default().as_str().len()..];
        for row in &rows {
            assert!(!row.contains(secret) && !row.contains(body), "a raw token is stored: {row}");
        }
    }
    // What is stored is the hash.
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_one(&pool).await.unwrap();
    assert_eq!(TokenHash::from_slice(&stored), Some(next.hash()));
}

// ---------------------------------------------------------------------------------------------
// Races between nodes (each task stands for a node; they share the pool as nodes share the
// database).

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exchanges_of_one_session_admit_exactly_one() {
    let Some(store) = fresh_store().await else { return };
    let (org, ada, session, token) = tenant(&store, "acme").await;
    let from = SessionKey::of(&session);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        let to = self::session(&ada);
        let to_token = self::token();
        tasks.push(tokio::spawn(async move {
            let result =
                store.sessions.exchange_session(&from, &to, &to_token.hash(), t0(), &[]).await;
            (result, to_token)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (Ok(_), to_token) => winners.push(to_token),
            (Err(StoreError::NotFound(Entity::Session)), _) => {}
            (Err(e), _) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one exchange wins");
    store.sessions.find_session_by_token(&winners[0].hash(), t0()).await.unwrap();
    let err = store.sessions.find_session_by_token(&token.hash(), t0()).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Session))));
    assert_eq!(store.sessions.list_member_sessions(org.id, ada.id, t0()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_exchange_leaves_the_old_session_live() {
    let Some(store) = fresh_store().await else { return };
    let (_org, ada, session, token) = tenant(&store, "acme").await;
    let from = SessionKey::of(&session);
    // The new session reuses the old token's hash: the insert fails after the revoke.
    let err = store
        .sessions
        .exchange_session(&from, &self::session(&ada), &token.hash(), t0(), &[])
        .await;
    assert!(matches!(err, Err(StoreError::Conflict(Constraint::SessionTokenHash))), "{err:?}");
    store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
    // Into an organization that does not exist.
    let mut orphan = self::session(&ada);
    orphan.organization_id = organization("ghost").id;
    let err =
        store.sessions.exchange_session(&from, &orphan, &self::token().hash(), t0(), &[]).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Organization))), "{err:?}");
    store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purges_delete_each_dead_session_once() {
    let Some(store) = fresh_store().await else { return };
    let (org, ada, _session, _token) = tenant(&store, "acme").await;
    let mut dead = 1; // the tenant's session, once past its expiry
    for i in 0..60 {
        let mut s = self::session(&ada);
        if i % 2 == 0 {
            s.times.revoked_at = Some(t0() + minutes(1));
            dead += 1;
        } else {
            s.times.expires_at = t0() + minutes(600);
        }
        store.sessions.create_session(&s, &token().hash(), &[]).await.unwrap();
    }
    let before = t0() + minutes(120);
    let mut purgers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        purgers.push(tokio::spawn(async move {
            let mut purged = 0;
            loop {
                let n = store.sessions.purge_sessions(before, 5).await.unwrap();
                purged += n;
                if n < 5 {
                    return purged;
                }
            }
        }));
    }
    let mut purged = 0;
    for purger in purgers {
        purged += purger.await.unwrap();
    }
    // Skipped rows (locked by another purger) are taken by the next run.
    purged += store.sessions.purge_sessions(before, 1000).await.unwrap();
    assert_eq!(purged, dead);
    let left =
        store.sessions.list_member_sessions(org.id, ada.id, t0() + minutes(5)).await.unwrap();
    assert_eq!(left.len(), 30);
}

/// An organization whose idle timeout passed cannot be revived by a late touch or extension.
#[tokio::test]
async fn ended_sessions_are_not_revived_by_writes() {
    let Some(store) = fresh_store().await else { return };
    let mut org = organization("idle");
    org.settings.lifetime.idle_timeout = Some(tessera_core::IdleTimeout::from_minutes(15).unwrap());
    store.organizations.create_organization(&org, &[]).await.unwrap();
    let ada = member(&org, "ada@idle.example");
    store.members.create_member(&ada, &[]).await.unwrap();
    let s = session(&ada);
    let t = token();
    store.sessions.create_session(&s, &t.hash(), &[]).await.unwrap();

    let late = t0() + minutes(16);
    let namespaces = tessera_core::ClaimNamespaces::stytch();
    for write in [
        AuthenticationWrite { touch_if_accessed_by: Some(late), ..Default::default() },
        AuthenticationWrite { expires_at: Some(late + minutes(60)), ..Default::default() },
    ] {
        let err = store
            .sessions
            .record_authentication(&SessionKey::of(&s), &write, &namespaces, late, &[])
            .await;
        assert!(matches!(err, Err(StoreError::NotFound(Entity::Session))), "{err:?}");
    }
    let err = store.sessions.find_session_by_token(&t.hash(), late).await;
    assert!(matches!(err, Err(StoreError::NotFound(Entity::Session))), "{err:?}");
}

#[tokio::test]
async fn timestamps_and_json_round_trip_exactly() {
    let Some(store) = fresh_store().await else { return };
    let (org, ada, session, token) = tenant(&store, "acme").await;
    let found = store.sessions.find_session_by_token(&token.hash(), t0()).await.unwrap();
    assert_eq!(found.session, session);
    assert_eq!(*found.member, ada);
    assert_eq!(*found.organization, org);
    let listed = store.organizations.list_organizations(None, 10).await.unwrap();
    assert_eq!(listed, vec![org]);
}
