//! Several `tessera serve` nodes on one PostgreSQL, behind a client that picks a node at random:
//! two nodes connect directly, the third through PgBouncer (session pooling). PostgreSQL is a
//! private throw-away cluster on a free loopback port, so that restarting it disturbs nobody.
//!
//! A separate test puts a node behind PgBouncer in *transaction* pooling mode, with the store in
//! its transaction pooling mode (`?pool-mode=transaction`: every operation in `BEGIN … COMMIT`,
//! unnamed statements, sqlx's statement cache off), under concurrent creates and authenticates.
//! Without that parameter the node fails at its first read with sqlx 0.9 and PgBouncer 1.18
//! (Debian 12), even with `?statement-cache-capacity=0`: sqlx names its prepared statements
//! (`sqlx_s_1`, ... per client connection) and parses and executes them in two protocol round
//! trips, so that behind transaction pooling a statement meets a server connection where another
//! client's `sqlx_s_1` exists (`42P05`), or where it does not exist. docs/PROOF.md says what
//! works and what the mode costs.
//!
//! Checks: sessions cross nodes (made on one, authenticated by token and by JWT on the others);
//! a revoke holds on every node at once; the JWKS agree; a key rotated with `tessera keys
//! rotate` signs on every node within the key cache TTL (`--key-cache-ttl-seconds`, 2 s here),
//! while JWTs signed by the old key still verify; a PostgreSQL restart under traffic gets
//! `503 storage_unavailable` answers, never a hang, then recovery without restarting any node.
//!
//! Short form (in `cargo xtask test`): one round. Long form: `cargo xtask multinode --rounds N`
//! (`TESSERA_MULTINODE_ROUNDS`): N rounds of crossing sessions, rotations and restarts.

use std::{
    collections::BTreeSet,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    pg_cluster::{PrivateCluster, as_unprivileged, free_port, hand_over, unavailable},
    processes::{Api, Credentials, Database, Reply, Serve, env_number, tessera_cli},
};

/// The key cache TTL the nodes run with; a rotation must reach every node within it (plus the
/// time until its next signing request, which this test makes every 100 ms).
const KEY_CACHE_TTL_SECONDS: u64 = 2;

/// The client's timeout: an answer later than this is a hang. Far above the pool's 5 s acquire
/// timeout and PgBouncer's 5 s `query_wait_timeout`.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// PgBouncer as a child process, killed when dropped.
struct PgBouncer {
    child: Child,
    port: u16,
}

impl PgBouncer {
    fn binary() -> Option<&'static str> {
        ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
    }

    fn start(binary: &str, cluster: &PrivateCluster, pool_mode: &str) -> Self {
        let port = free_port();
        let dir = cluster.dir();
        let users = dir.join("userlist.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").unwrap();
        let config = dir.join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n\
                 postgres = host=127.0.0.1 port={pg} dbname=postgres\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 pool_mode = {pool_mode}\n\
                 default_pool_size = 8\n\
                 max_client_conn = 200\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 query_wait_timeout = 5\n\
                 server_login_retry = 1\n\
                 logfile = {log}\n",
                pg = cluster.port,
                users = users.display(),
                log = dir.join("pgbouncer.log").display(),
            ),
        )
        .unwrap();
        for path in [&users, &config] {
            hand_over(path);
        }
        // It logs to its logfile too; its own directory goes when the cluster's does.
        let child = as_unprivileged(Command::new(binary).arg(&config))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "PgBouncer did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nodes, and a client that picks one at random.
struct Cluster {
    nodes: Vec<Serve>,
    names: Vec<&'static str>,
    api: Api,
}

impl Cluster {
    fn random(&self) -> usize {
        rand::rng().random_range(0..self.nodes.len())
    }

    fn base(&self, node: usize) -> &str {
        &self.nodes[node].base
    }

    async fn post(&self, node: usize, path: &str, body: &Value) -> Reply {
        self.api.post(self.base(node), path, body).await
    }

    #[track_caller]
    fn ok(&self, node: usize, reply: Reply, doing: &str) -> Value {
        match reply {
            Some((StatusCode::OK, body)) => body,
            other => panic!("{doing} on {}: {other:?}", self.names[node]),
        }
    }

    async fn jwks_kids(&self, node: usize) -> BTreeSet<String> {
        let path = format!("/v1/b2b/sessions/jwks/{}", self.nodes[0].project_id);
        let body = self.ok(node, self.api.get(self.base(node), &path).await, "read the JWKS");
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_one_postgres_agree_and_survive_a_postgres_restart() {
    let Some(pgbouncer) = PgBouncer::binary() else {
        unavailable(
            "PgBouncer",
            "not installed: `apt-get install pgbouncer` (cargo xtask test does)",
        );
        return;
    };
    let Some(mut postgres) = PrivateCluster::create() else { return };
    let bouncer = PgBouncer::start(pgbouncer, &postgres, "session");
    let rounds = env_number("TESSERA_MULTINODE_ROUNDS", 1);

    let direct = Database(postgres.url("postgres"));
    let pooled = Database(format!("postgres://postgres@127.0.0.1:{}/postgres", bouncer.port));
    let ttl = KEY_CACHE_TTL_SECONDS.to_string();
    let flags = ["--key-cache-ttl-seconds", ttl.as_str()];
    let first = Serve::start(&direct, &flags, true);
    let credentials =
        Credentials { project_id: first.project_id.clone(), secret: first.secret.clone().unwrap() };
    let second = Serve::start(&direct, &flags, false);
    let third = Serve::start(&pooled, &flags, false);
    let cluster = Cluster {
        nodes: vec![first, second, third],
        names: vec!["node 1 (direct)", "node 2 (direct)", "node 3 (PgBouncer, session pooling)"],
        api: Api::new(credentials, CLIENT_TIMEOUT),
    };

    let organization = cluster.ok(
        0,
        cluster
            .post(
                cluster.random(),
                "/v1/b2b/organizations",
                &json!({"organization_name": "Nodes", "organization_slug": "nodes"}),
            )
            .await,
        "create the organization",
    );
    let organization_id =
        organization["organization"]["organization_id"].as_str().unwrap().to_owned();
    let member = cluster.ok(
        0,
        cluster
            .post(
                cluster.random(),
                &format!("/v1/b2b/organizations/{organization_id}/members"),
                &json!({"email_address": "ada@example.com"}),
            )
            .await,
        "create the member",
    );
    let member_id = member["member"]["member_id"].as_str().unwrap().to_owned();
    let create = json!({
        "organization_id": organization_id,
        "member_id": member_id,
        "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}],
    });

    let mut crossings = 0;
    let mut revokes = 0;
    for round in 0..rounds {
        // The JWKS agree on every node.
        let kids = cluster.jwks_kids(0).await;
        for node in 1..cluster.nodes.len() {
            assert_eq!(cluster.jwks_kids(node).await, kids, "{} disagrees", cluster.names[node]);
        }

        // Sessions cross nodes; revokes hold everywhere at once.
        for _ in 0..20 {
            let maker = cluster.random();
            let created =
                cluster.ok(maker, cluster.post(maker, "/v1/b2b/sessions", &create).await, "create");
            let token = created["session_token"].as_str().unwrap().to_owned();
            let jwt = created["session_jwt"].as_str().unwrap().to_owned();
            let id = created["member_session"]["member_session_id"].clone();
            for node in 0..cluster.nodes.len() {
                for credential in [json!({"session_token": token}), json!({"session_jwt": jwt})] {
                    let body = cluster.ok(
                        node,
                        cluster.post(node, "/v1/b2b/sessions/authenticate", &credential).await,
                        "authenticate a session made elsewhere",
                    );
                    assert_eq!(body["member_session"]["member_session_id"], id);
                    crossings += 1;
                }
            }
            let revoker = cluster.random();
            cluster.ok(
                revoker,
                cluster
                    .post(revoker, "/v1/b2b/sessions/revoke", &json!({"session_token": token}))
                    .await,
                "revoke",
            );
            for node in 0..cluster.nodes.len() {
                for credential in [json!({"session_token": token}), json!({"session_jwt": jwt})] {
                    let reply =
                        cluster.post(node, "/v1/b2b/sessions/authenticate", &credential).await;
                    let (status, body) = reply.unwrap();
                    assert_eq!(
                        (status, body["error_type"].as_str()),
                        (StatusCode::NOT_FOUND, Some("session_not_found")),
                        "a session revoked on {} still works on {}",
                        cluster.names[revoker],
                        cluster.names[node]
                    );
                    revokes += 1;
                }
            }
        }

        // A key rotated by the operator CLI reaches every node within the key cache TTL.
        let before = cluster.ok(0, cluster.post(0, "/v1/b2b/sessions", &create).await, "create");
        let old_jwt = before["session_jwt"].as_str().unwrap().to_owned();
        let rotated = tessera_cli(&direct, &["keys", "rotate"]);
        let rotated_at = Instant::now();
        let new_kid: Value = serde_json::from_str(&rotated).unwrap();
        let new_kid = new_kid["kid"].as_str().unwrap().to_owned();
        let mut reached = vec![None; cluster.nodes.len()];
        let deadline = rotated_at + Duration::from_secs(KEY_CACHE_TTL_SECONDS * 5 + 10);
        while reached.iter().any(Option::is_none) {
            assert!(
                Instant::now() < deadline,
                "the rotated key had not reached {:?} after {:?} (TTL {KEY_CACHE_TTL_SECONDS} s)",
                reached
                    .iter()
                    .zip(&cluster.names)
                    .filter(|(r, _)| r.is_none())
                    .map(|(_, n)| n)
                    .collect::<Vec<_>>(),
                rotated_at.elapsed()
            );
            for (node, reached) in reached.iter_mut().enumerate() {
                if reached.is_some() {
                    continue;
                }
                let made = cluster.ok(
                    node,
                    cluster.post(node, "/v1/b2b/sessions", &create).await,
                    "create",
                );
                if kid_of(made["session_jwt"].as_str().unwrap()) == new_kid
                    && cluster.jwks_kids(node).await.contains(&new_kid)
                {
                    *reached = Some(rotated_at.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "round {round}: key {new_kid} rotated by the CLI signed on every node after {:?}",
            reached.iter().flatten().collect::<Vec<_>>()
        );
        for node in 0..cluster.nodes.len() {
            cluster.ok(
                node,
                cluster
                    .post(node, "/v1/b2b/sessions/authenticate", &json!({"session_jwt": old_jwt}))
                    .await,
                "authenticate a JWT signed by the retired key",
            );
        }

        restart_under_traffic(&cluster, &mut postgres, &create).await;
    }
    eprintln!(
        "multi-node: {rounds} rounds, {crossings} cross-node authenticates, {revokes} \
         cross-node revoke checks, every check held"
    );
}

/// One call during the restart: the node, the status (none: no answer), the `error_type`, and
/// how long it took.
type Call = (usize, Option<StatusCode>, Option<String>, Duration);

/// Stops PostgreSQL for a few seconds while clients keep calling random nodes, then starts it
/// again: every call must be answered (no hang), with `200` or `503 storage_unavailable`, some
/// must have been 503, and every node must answer `200` again without being restarted.
async fn restart_under_traffic(cluster: &Cluster, postgres: &mut PrivateCluster, create: &Value) {
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Call>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (api, bases, stop, seen, create) = (
            cluster.api.clone(),
            cluster.nodes.iter().map(|n| n.base.clone()).collect::<Vec<_>>(),
            stop.clone(),
            seen.clone(),
            create.clone(),
        );
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let node = rand::rng().random_range(0..bases.len());
                let started = Instant::now();
                let reply = api.post(&bases[node], "/v1/b2b/sessions", &create).await;
                let took = started.elapsed();
                let (status, error_type) = match &reply {
                    Some((status, body)) => {
                        (Some(*status), body["error_type"].as_str().map(str::to_owned))
                    }
                    None => (None, None),
                };
                seen.lock().unwrap().push((node, status, error_type, took));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped_at = Instant::now();
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.start();
    let restarted_at = Instant::now();

    // Recovery: every node answers 200 three times in a row, without a restart.
    let mut recovered = vec![None; cluster.nodes.len()];
    let deadline = restarted_at + Duration::from_secs(60);
    for (node, recovered) in recovered.iter_mut().enumerate() {
        let mut streak = 0;
        while streak < 3 {
            assert!(Instant::now() < deadline, "{} did not recover", cluster.names[node]);
            match cluster.post(node, "/v1/b2b/sessions", create).await {
                Some((StatusCode::OK, _)) => streak += 1,
                _ => {
                    streak = 0;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        *recovered = Some(restarted_at.elapsed());
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    let seen = seen.lock().unwrap();
    let hung: Vec<_> = seen.iter().filter(|(_, status, _, _)| status.is_none()).collect();
    assert!(hung.is_empty(), "calls got no answer within {CLIENT_TIMEOUT:?}: {hung:?}");
    let mut unavailable = 0;
    let mut slowest_503 = Duration::ZERO;
    for (node, status, error_type, took) in seen.iter() {
        match status {
            Some(StatusCode::OK) => {}
            Some(StatusCode::SERVICE_UNAVAILABLE) => {
                assert_eq!(
                    error_type.as_deref(),
                    Some("storage_unavailable"),
                    "{}",
                    cluster.names[*node]
                );
                unavailable += 1;
                slowest_503 = slowest_503.max(*took);
            }
            other => panic!(
                "{} answered {other:?} ({error_type:?}) during the restart",
                cluster.names[*node]
            ),
        }
    }
    assert!(unavailable > 0, "no call saw the outage: the restart was not under traffic");
    eprintln!(
        "PostgreSQL restart under traffic: {} calls, {unavailable} answered 503 \
         storage_unavailable (slowest {slowest_503:?}), none hung; down for {:?}; nodes \
         recovered {:?} after the restart",
        seen.len(),
        restarted_at - stopped_at,
        recovered.iter().flatten().collect::<Vec<_>>()
    );
}

/// A node behind PgBouncer in transaction pooling mode, the store in its transaction pooling
/// mode (`?pool-mode=transaction`), under concurrent traffic: every call must succeed. Without
/// the parameter it fails (see the module doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_pgbouncer_transaction_pooling_serves_concurrent_traffic() {
    let Some(pgbouncer) = PgBouncer::binary() else {
        unavailable(
            "PgBouncer",
            "not installed: `apt-get install pgbouncer` (cargo xtask test does)",
        );
        return;
    };
    let Some(postgres) = PrivateCluster::create() else { return };
    let bouncer = PgBouncer::start(pgbouncer, &postgres, "transaction");
    // A direct node migrates the schema and creates the deployment first, as an operator would
    // (migrations hold a session-level advisory lock, which transaction pooling cannot keep).
    let direct = Serve::start(&Database(postgres.url("postgres")), &[], true);
    let credentials = Credentials {
        project_id: direct.project_id.clone(),
        secret: direct.secret.clone().unwrap(),
    };
    let api = Api::new(credentials, CLIENT_TIMEOUT);
    let organization = api
        .post(
            &direct.base,
            "/v1/b2b/organizations",
            &json!({"organization_name": "Pooled", "organization_slug": "pooled"}),
        )
        .await;
    let organization_id = organization.unwrap().1["organization"]["organization_id"].clone();
    let member = api
        .post(
            &direct.base,
            &format!("/v1/b2b/organizations/{}/members", organization_id.as_str().unwrap()),
            &json!({"email_address": "ada@example.com"}),
        )
        .await;
    let member_id = member.unwrap().1["member"]["member_id"].clone();

    let pooled = Database(format!(
        "postgres://postgres@127.0.0.1:{}/postgres?pool-mode=transaction",
        bouncer.port
    ));
    let node = Serve::try_start(&pooled, &[], false).unwrap_or_else(|e| {
        panic!("the node behind PgBouncer (transaction pooling) did not start: {e}")
    });
    let create = json!({
        "organization_id": organization_id,
        "member_id": member_id,
        "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}],
    });
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..4 {
        let (api, base, create) = (api.clone(), node.base.clone(), create.clone());
        callers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            for _ in 0..25 {
                match api.post(&base, "/v1/b2b/sessions", &create).await {
                    Some((StatusCode::OK, body)) => {
                        let token = body["session_token"].clone();
                        let reply = api
                            .post(
                                &base,
                                "/v1/b2b/sessions/authenticate",
                                &json!({"session_token": token}),
                            )
                            .await;
                        if !matches!(reply, Some((StatusCode::OK, _))) {
                            failures.push(format!("{reply:?}"));
                        }
                    }
                    other => failures.push(format!("{other:?}")),
                }
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for caller in callers {
        failures.extend(caller.await.unwrap());
    }
    eprintln!(
        "PgBouncer transaction pooling: 200 calls (100 creates, 100 authenticates, 4 callers) \
         in {:?}, {} failed",
        started.elapsed(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of 200 calls through PgBouncer (transaction pooling) failed; the first: {}",
        failures.len(),
        failures[0]
    );
}
