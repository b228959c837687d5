//! What reads the store on behalf of many requests: the project-credential refresh and the
//! health probe. A burst of requests must not become a burst of store queries.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use tessera_store::{Deployment, DeploymentRepository, StoreError, StoreResult};

use crate::server::{Answer, TestServer};

/// A deployment repository that counts its reads and can be made to fail. Each read takes a
/// while, like a read from a remote database under load: concurrent requests overlap it.
struct CountingDeployment {
    inner: Arc<dyn DeploymentRepository>,
    reads: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

#[async_trait]
impl DeploymentRepository for CountingDeployment {
    async fn get_deployment(&self) -> StoreResult<Option<Deployment>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(
                "the store is down",
                std::io::Error::other("down"),
            ));
        }
        self.inner.get_deployment().await
    }

    async fn init_deployment(&self, candidate: &Deployment) -> StoreResult<Deployment> {
        self.inner.init_deployment(candidate).await
    }

    async fn set_deployment_secret(
        &self,
        secret_hash: &[u8; 32],
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        self.inner.set_deployment_secret(secret_hash, events).await
    }
}

/// A server whose deployment reads are counted (and can be made to fail), with `reads` and
/// `failing`.
async fn counted_server() -> (TestServer, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let (counter, switch) = (reads.clone(), failing.clone());
    let server = TestServer::start_with_store(move |mut store| {
        store.deployment = Arc::new(CountingDeployment {
            inner: store.deployment,
            reads: counter,
            failing: switch,
        });
        // Health must not read the organizations (a table scan on some backends): any call to
        // this mock panics.
        store.organizations = Arc::new(tessera_store::MockOrganizationRepository::new());
        store
    })
    .await;
    (server, reads, failing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_secrets_is_at_most_one_store_read() {
    let (server, reads, _) = counted_server().await;
    // Past the rate limit of re-reads on failure (one a second), so the burst may trigger one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = reads.load(Ordering::SeqCst);
    let url = server.url("/v1/b2b/rbac/policy");
    let burst: Vec<_> = (0..200)
        .map(|i| {
            let request = server
                .client()
                .get(&url)
                .basic_auth(&server.project_id, Some(format!("wrong-secret-{i}")));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for request in burst {
        assert_eq!(request.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let during = reads.load(Ordering::SeqCst) - before;
    assert!(during <= 2, "200 wrong secrets made {during} store reads");
    // The right secret still works.
    server.get("/v1/b2b/rbac/policy").await.expect(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_one_cheap_probe_a_second_at_most() {
    let (server, reads, failing) = counted_server().await;
    let health = || async {
        Answer::from(server.client().get(server.url("/healthz")).send().await.unwrap()).await
    };
    let before = reads.load(Ordering::SeqCst);
    let burst: Vec<_> = (0..50)
        .map(|_| {
            let request = server.client().get(server.url("/healthz"));
            tokio::spawn(async move { Answer::from(request.send().await.unwrap()).await })
        })
        .collect();
    for answer in burst {
        let answer = answer.await.unwrap();
        answer.expect(StatusCode::OK);
        assert_eq!(answer.body["status"], "ok");
    }
    let during = reads.load(Ordering::SeqCst) - before;
    assert!(during <= 2, "50 health checks made {during} store reads");

    // A store that stops answering turns health into a 503 within about a second, and back.
    failing.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = health().await;
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            answer.expect_error(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable");
            break;
        }
        assert!(Instant::now() < deadline, "health still says ok with the store down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    failing.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    while health().await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "health never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
