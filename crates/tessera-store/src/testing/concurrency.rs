//! Races that a backend must win: revoke against touches, concurrent claim patches, and
//! concurrent creates of the same unique value.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use chrono::TimeDelta;
use serde_json::json;
use tessera_core::{
    ClaimNamespaces, MemberRef, MemberUpdate, Metadata, OrganizationName, OrganizationUpdate,
    RoleId,
};

use super::fixture::{Fixture, t0};
use crate::{AuthenticationWrite, Constraint, Entity, Store, StoreError};

const TASKS: usize = 50;

/// 50 tasks record accesses to one session while another revokes it. Once the revoke has
/// returned, no access record succeeds, and the session stays revoked.
pub async fn revoke_wins_over_concurrent_touches(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("race").await;
    let revoked = Arc::new(AtomicBool::new(false));

    let mut touchers = Vec::new();
    for task in 0..TASKS {
        let store = fx.store.clone();
        let revoked = revoked.clone();
        let key = Fixture::key(&a.session);
        touchers.push(tokio::spawn(async move {
            let mut late_successes = 0;
            for round in 0..20 {
                let revoke_done_before = revoked.load(Ordering::SeqCst);
                let now = t0() + TimeDelta::milliseconds((round * TASKS + task) as i64 + 1);
                // Due whenever the last access is not later than `now`; due or not, a record
                // of a live session succeeds, and only success counts.
                let write =
                    AuthenticationWrite { touch_if_accessed_by: Some(now), ..Default::default() };
                let wrote = match store
                    .sessions
                    .record_authentication(&key, &write, &ClaimNamespaces::stytch(), now, &[])
                    .await
                {
                    Ok(_) => true,
                    Err(StoreError::NotFound(Entity::Session)) => false,
                    Err(e) => panic!("{e}"),
                };
                if revoke_done_before && wrote {
                    late_successes += 1;
                }
                tokio::task::yield_now().await;
            }
            late_successes
        }));
    }
    tokio::task::yield_now().await;
    let revoke_at = t0() + TimeDelta::milliseconds(500);
    fx.store
        .sessions
        .revoke_session(a.organization.id, a.session.id, None, revoke_at, &[])
        .await
        .unwrap();
    revoked.store(true, Ordering::SeqCst);

    for toucher in touchers {
        assert_eq!(toucher.await.unwrap(), 0, "a touch succeeded after the revoke returned");
    }
    assert!(
        matches!(
            fx.store.sessions.find_session_by_token(&a.token.hash(), revoke_at).await,
            Err(StoreError::NotFound(Entity::Session))
        ),
        "the session came back to life"
    );
    let listed = fx
        .store
        .sessions
        .list_member_sessions(a.organization.id, a.member.id, revoke_at)
        .await
        .unwrap();
    assert!(listed.is_empty());
}

/// 50 concurrent patches of different keys: none is lost.
pub async fn concurrent_claim_patches_lose_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("claims").await;
    let mut patches = Vec::new();
    for i in 0..TASKS {
        let store = fx.store.clone();
        let key = Fixture::key(&a.session);
        patches.push(tokio::spawn(async move {
            let write = AuthenticationWrite {
                claims_patch: Some(json!({ format!("k{i}"): i })),
                ..Default::default()
            };
            store
                .sessions
                .record_authentication(&key, &write, &ClaimNamespaces::stytch(), t0(), &[])
                .await
                .map(|_| ())
        }));
    }
    for patch in patches {
        patch.await.unwrap().unwrap();
    }
    let found = fx.store.sessions.find_session_by_token(&a.token.hash(), t0()).await.unwrap();
    let claims = found.session.custom_claims.as_map();
    for i in 0..TASKS {
        assert_eq!(claims.get(&format!("k{i}")), Some(&json!(i)), "k{i} was lost");
    }
    assert_eq!(claims.get("tier"), Some(&json!("gold")));
}

/// Two concurrent creates of the same slug: exactly one wins, the other gets a conflict.
pub async fn concurrent_creates_of_one_slug_admit_exactly_one(store: Store) {
    let mut fx = Fixture::new(store);
    for _ in 0..10 {
        let first = fx.organization_value("contested");
        let mut second = fx.organization_value("other");
        second.slug = first.slug.clone();
        let (s1, s2) = (fx.store.clone(), fx.store.clone());
        let one =
            tokio::spawn(async move { s1.organizations.create_organization(&first, &[]).await });
        let two =
            tokio::spawn(async move { s2.organizations.create_organization(&second, &[]).await });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::Conflict(Constraint::OrganizationSlug)))),
            "{results:?}"
        );
    }
}

/// Two concurrent creates of members with the same email: exactly one wins.
pub async fn concurrent_creates_of_one_member_email_admit_exactly_one(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("team").await;
    for round in 0..10 {
        let email = format!("dup{round}@example.com");
        let first = fx.member_value(&organization, &email);
        let second = fx.member_value(&organization, &email.to_uppercase());
        let (s1, s2) = (fx.store.clone(), fx.store.clone());
        let one = tokio::spawn(async move { s1.members.create_member(&first, &[]).await });
        let two = tokio::spawn(async move { s2.members.create_member(&second, &[]).await });
        let results = [one.await.unwrap(), two.await.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(
            results.iter().any(|r| matches!(r, Err(StoreError::Conflict(Constraint::MemberEmail)))),
            "{results:?}"
        );
    }
}

/// Concurrent updates of different fields of one member (an admin removing a role, the member
/// changing their metadata, someone renaming them), 10 rounds: every update is kept.
pub async fn concurrent_member_updates_of_different_fields_keep_all(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("directory").await;
    for round in 0..10 {
        let metadata: Metadata = serde_json::from_value(json!({ "round": round })).unwrap();
        let updates = [
            MemberUpdate {
                roles: Some(vec![RoleId::parse(&format!("r{round}")).unwrap()]),
                ..Default::default()
            },
            MemberUpdate { untrusted_metadata: Some(metadata.clone()), ..Default::default() },
            MemberUpdate { name: Some(Some(format!("Ada {round}"))), ..Default::default() },
        ];
        let tasks: Vec<_> = updates
            .into_iter()
            .map(|update| {
                let store = fx.store.clone();
                let (org, id) = (a.organization.id, a.member.id);
                tokio::spawn(async move {
                    store.members.update_member(org, id, &update, t0(), &[]).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let stored = fx
            .store
            .members
            .get_member(a.organization.id, &MemberRef::Id(a.member.id))
            .await
            .unwrap();
        assert_eq!(
            stored.roles,
            vec![RoleId::parse(&format!("r{round}")).unwrap()],
            "round {round}"
        );
        assert_eq!(stored.untrusted_metadata, metadata, "round {round}");
        assert_eq!(stored.name.as_deref(), Some(format!("Ada {round}").as_str()), "round {round}");
        assert_eq!(
            stored.trusted_metadata, a.member.trusted_metadata,
            "never named, never changed"
        );
    }
}

/// Concurrent updates of different fields of one organization: every update is kept.
pub async fn concurrent_organization_updates_of_different_fields_keep_all(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("settings").await;
    for round in 0..10 {
        let name = OrganizationName::parse(&format!("Renamed {round}")).unwrap();
        let metadata: Metadata = serde_json::from_value(json!({ "round": round })).unwrap();
        let policy = if round % 2 == 0 {
            tessera_core::MfaPolicy::RequiredForAll
        } else {
            tessera_core::MfaPolicy::Optional
        };
        let updates = [
            OrganizationUpdate { name: Some(name.clone()), ..Default::default() },
            OrganizationUpdate { trusted_metadata: Some(metadata.clone()), ..Default::default() },
            OrganizationUpdate { mfa_policy: Some(policy), ..Default::default() },
        ];
        let tasks: Vec<_> = updates
            .into_iter()
            .map(|update| {
                let store = fx.store.clone();
                let org = a.organization.id;
                tokio::spawn(async move {
                    store.organizations.update_organization(org, &update, t0(), &[]).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let stored =
            fx.store.organizations.get_organization(&a.organization.id.into()).await.unwrap();
        assert_eq!(stored.name, name, "round {round}");
        assert_eq!(stored.trusted_metadata, metadata, "round {round}");
        assert_eq!(stored.settings.mfa_policy, policy, "round {round}");
        assert_eq!(stored.slug, a.organization.slug);
    }
}
