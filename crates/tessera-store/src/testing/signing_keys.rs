//! Signing key repository cases.

use chrono::TimeDelta;

use super::{expect_err, fixture::t0};
use crate::{Constraint, Entity, SigningKey, Store, StoreError};

fn key(kid: &str, minutes_after: i64) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        algorithm: "RS256".into(),
        private_key_der: vec![0x30, 0x82, 0x01, 0x02, 0xAA, 0xBB],
        public_key_der: vec![0x30, 0x59, 0x01],
        created_at: t0() + TimeDelta::minutes(minutes_after),
        retired_at: None,
    }
}

pub async fn insert_list_retire_delete(store: Store) {
    let keys = &store.signing_keys;
    let older = key("key-older", 0);
    let newer = key("key-newer", 5);
    keys.insert_signing_key(&newer, &[]).await.unwrap();
    keys.insert_signing_key(&older, &[]).await.unwrap();
    assert_eq!(keys.list_signing_keys().await.unwrap(), vec![older.clone(), newer.clone()]);

    expect_err!(
        keys.insert_signing_key(&older, &[]).await,
        StoreError::Conflict(Constraint::SigningKeyId)
    );

    let retired_at = t0() + TimeDelta::minutes(10);
    keys.retire_signing_key("key-older", retired_at).await.unwrap();
    let listed = keys.list_signing_keys().await.unwrap();
    assert_eq!(listed[0].retired_at, Some(retired_at));
    assert_eq!(listed[1].retired_at, None);
    expect_err!(
        keys.retire_signing_key("key-older", retired_at).await,
        StoreError::NotFound(Entity::SigningKey)
    );
    expect_err!(
        keys.retire_signing_key("nope", retired_at).await,
        StoreError::NotFound(Entity::SigningKey)
    );

    keys.delete_signing_key("key-older").await.unwrap();
    assert_eq!(keys.list_signing_keys().await.unwrap(), vec![newer]);
    expect_err!(
        keys.delete_signing_key("key-older").await,
        StoreError::NotFound(Entity::SigningKey)
    );
}

pub async fn debug_never_prints_private_key_material(_store: Store) {
    let shown = format!("{:?}", key("k", 0));
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("170") && !shown.contains("AA") && !shown.contains("0xaa"), "{shown}");
}
