//! Deployment record cases: one record per store, the first writer wins, secret rotation.

use chrono::TimeDelta;

use super::{expect_err, fixture::t0};
use crate::{Deployment, Entity, Store, StoreError};

/// Concurrent initializations in [`concurrent_inits_all_return_the_same_deployment`].
const TASKS: u8 = 10;

fn candidate(project_id: &str, hash_byte: u8) -> Deployment {
    Deployment {
        project_id: project_id.into(),
        secret_hash: [hash_byte; 32],
        created_at: t0() + TimeDelta::seconds(i64::from(hash_byte)),
    }
}

pub async fn empty_store_has_no_deployment(store: Store) {
    assert_eq!(store.deployment.get_deployment().await.unwrap(), None);
}

pub async fn init_stores_and_returns_the_candidate(store: Store) {
    let first = candidate("project-first", 1);
    assert_eq!(store.deployment.init_deployment(&first).await.unwrap(), first);
    assert_eq!(store.deployment.get_deployment().await.unwrap(), Some(first));
}

pub async fn second_init_returns_the_first_deployment(store: Store) {
    let first = candidate("project-first", 1);
    let second = candidate("project-second", 2);
    store.deployment.init_deployment(&first).await.unwrap();
    assert_eq!(store.deployment.init_deployment(&second).await.unwrap(), first);
    assert_eq!(store.deployment.get_deployment().await.unwrap(), Some(first));
}

pub async fn concurrent_inits_all_return_the_same_deployment(store: Store) {
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mine = candidate(&format!("project-{i}"), i + 1);
            store.deployment.init_deployment(&mine).await.unwrap()
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.push(task.await.unwrap());
    }
    let winner = returned[0].clone();
    assert!(returned.iter().all(|d| *d == winner), "the nodes disagree: {returned:?}");
    let candidates: Vec<Deployment> =
        (0..TASKS).map(|i| candidate(&format!("project-{i}"), i + 1)).collect();
    assert!(candidates.contains(&winner), "the winner is none of the candidates: {winner:?}");
    assert_eq!(store.deployment.get_deployment().await.unwrap(), Some(winner));
}

pub async fn set_secret_changes_the_hash_and_keeps_the_project(store: Store) {
    let first = candidate("project-first", 1);
    store.deployment.init_deployment(&first).await.unwrap();
    store.deployment.set_deployment_secret(&[9; 32], &[]).await.unwrap();
    let stored = store.deployment.get_deployment().await.unwrap().unwrap();
    assert_eq!(stored, Deployment { secret_hash: [9; 32], ..first.clone() });
    // A later init still returns the stored deployment, with the new secret.
    assert_eq!(store.deployment.init_deployment(&first).await.unwrap(), stored);
}

pub async fn set_secret_on_an_empty_store_is_not_found(store: Store) {
    expect_err!(
        store.deployment.set_deployment_secret(&[9; 32], &[]).await,
        StoreError::NotFound(Entity::Deployment)
    );
    assert_eq!(store.deployment.get_deployment().await.unwrap(), None);
}

pub async fn debug_never_prints_the_secret_hash(_store: Store) {
    let deployment = Deployment {
        project_id: "project-shown".into(),
        secret_hash: [0x5A; 32],
        created_at: t0(),
    };
    let shown = format!("{deployment:?}");
    assert!(shown.contains("project-shown"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    // The bytes in decimal (`[90, 90, ...]`), in hex, or as text (`ZZZ...`).
    for leak in ["90", "5a", "5A", "ZZ"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}
