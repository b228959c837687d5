//! The session limit of an organization and the organization- and deployment-wide revokes.

use std::collections::HashSet;

use tessera_core::{ClaimNamespaces, ErrorType, WhenLimitReached};

use super::{
    expect_err,
    fixture::{Fixture, minutes, t0},
};
use crate::{AuthenticationWrite, Entity, Store, StoreError};

fn is_limit_refusal(result: &Result<Vec<tessera_core::SessionId>, StoreError>) -> bool {
    matches!(result, Err(StoreError::Rejected(e)) if e.error_type() == ErrorType::SessionLimitReached)
}

pub async fn limit_revokes_the_least_recently_used(store: Store) {
    let mut fx = Fixture::new(store);
    let org = fx.organization_with_limit("lru", 2, WhenLimitReached::RevokeLeastRecentlyUsed).await;
    let ada = fx.member(&org, "ada@lru.example").await;
    let bob = fx.member(&org, "bob@lru.example").await;
    let other = fx.tenant("elsewhere").await;
    let first = fx.session_at(&ada, t0()).await;
    let second = fx.session_at(&ada, t0() + minutes(1)).await;
    let bobs = fx.session_at(&bob, t0() + minutes(1)).await;
    // `first` is used again, so `second` is the least recently used.
    let touch =
        AuthenticationWrite { touch_if_accessed_by: Some(t0() + minutes(2)), ..Default::default() };
    fx.store
        .sessions
        .record_authentication(
            &Fixture::key(&first.session),
            &touch,
            &ClaimNamespaces::stytch(),
            t0() + minutes(2),
            &[],
        )
        .await
        .unwrap();

    let third = fx.session_value(&ada, t0() + minutes(3));
    let token = fx.token();
    let revoked = fx.store.sessions.create_session(&third, &token.hash(), &[]).await.unwrap();
    assert_eq!(revoked, vec![second.session.id]);
    let now = t0() + minutes(3);
    expect_err!(
        fx.store.sessions.find_session_by_token(&second.token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    for live in [&first.token, &token, &bobs.token, &other.token] {
        fx.store.sessions.find_session_by_token(&live.hash(), now).await.unwrap();
    }
    let listed = fx.store.sessions.list_member_sessions(org.id, ada.id, now).await.unwrap();
    assert_eq!(listed.len(), 2);
}

pub async fn limit_refuses_and_writes_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let org = fx.organization_with_limit("refuse", 2, WhenLimitReached::Refuse).await;
    let ada = fx.member(&org, "ada@refuse.example").await;
    let first = fx.session_at(&ada, t0()).await;
    fx.session_at(&ada, t0() + minutes(1)).await;

    let third = fx.session_value(&ada, t0() + minutes(2));
    let token = fx.token();
    let refused = fx.store.sessions.create_session(&third, &token.hash(), &[]).await;
    assert!(is_limit_refusal(&refused), "{refused:?}");
    let now = t0() + minutes(2);
    expect_err!(
        fx.store.sessions.find_session_by_token(&token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    assert_eq!(fx.store.sessions.list_member_sessions(org.id, ada.id, now).await.unwrap().len(), 2);

    // A revoked session frees its place.
    fx.store.sessions.revoke_session(org.id, first.session.id, None, now, &[]).await.unwrap();
    assert_eq!(fx.store.sessions.create_session(&third, &token.hash(), &[]).await.unwrap(), vec![]);
}

pub async fn exchange_respects_the_target_limit(store: Store) {
    let mut fx = Fixture::new(store);
    let source = fx.tenant("source").await;
    let target = fx.organization_with_limit("target", 1, WhenLimitReached::Refuse).await;
    let there = fx.member(&target, "ada@target.example").await;
    fx.session_at(&there, t0()).await;
    let now = t0() + minutes(1);

    let to = fx.session_value(&there, now);
    let token = fx.token();
    let refused = fx
        .store
        .sessions
        .exchange_session(&Fixture::key(&source.session), &to, &token.hash(), now, &[])
        .await;
    assert!(is_limit_refusal(&refused), "{refused:?}");
    // Nothing happened: the source session is live, the new one does not exist.
    fx.store.sessions.find_session_by_token(&source.token.hash(), now).await.unwrap();
    expect_err!(
        fx.store.sessions.find_session_by_token(&token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn revoke_organization_is_scoped_and_keeps_the_exception(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let second = fx.session(&a.member).await;
    let colleague = fx.member(&a.organization, "bob@alpha.example").await;
    let colleagues = fx.session(&colleague).await;
    let now = t0() + minutes(1);

    let revoked = fx
        .store
        .sessions
        .revoke_organization_sessions(a.organization.id, Some(second.session.id), now, &[])
        .await
        .unwrap();
    assert_eq!(revoked, 2);
    for ended in [&a.token, &colleagues.token] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&ended.hash(), now).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    // The exception and the other organization are untouched.
    fx.store.sessions.find_session_by_token(&second.token.hash(), now).await.unwrap();
    fx.store.sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();
    // Revoked sessions are not counted twice; without an exception, the rest goes.
    let rest = fx
        .store
        .sessions
        .revoke_organization_sessions(a.organization.id, None, now, &[])
        .await
        .unwrap();
    assert_eq!(rest, 1);
    let unknown = fx.organization_value("never-stored");
    expect_err!(
        fx.store.sessions.revoke_organization_sessions(unknown.id, None, now, &[]).await,
        StoreError::NotFound(Entity::Organization)
    );
}

pub async fn revoke_all_ends_every_live_session(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let expired_at = t0() + minutes(61);
    let later = fx.session_at(&a.member, t0() + minutes(30)).await;
    // `a` and `b` have expired by `expired_at`; only `later` is live then.
    let revoked = fx.store.sessions.revoke_all_sessions(expired_at, &[]).await.unwrap();
    assert_eq!(revoked, 1);
    expect_err!(
        fx.store.sessions.find_session_by_token(&later.token.hash(), expired_at).await,
        StoreError::NotFound(Entity::Session)
    );
    let now = t0() + minutes(1);
    let fresh = fx.session_at(&b.member, now).await;
    assert_eq!(fx.store.sessions.revoke_all_sessions(now, &[]).await.unwrap(), 3);
    for token in [&a.token, &b.token, &fresh.token] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&token.hash(), now).await,
            StoreError::NotFound(Entity::Session)
        );
    }
}

const RACERS: usize = 50;
const LIMIT: i64 = 3;

/// 50 concurrent sign-ins of one member under a limit of 3: exactly 3 live sessions remain,
/// under either behaviour; with `Refuse`, exactly 3 sign-ins succeed.
pub async fn concurrent_creates_never_exceed_the_limit(store: Store) {
    for when_reached in WhenLimitReached::ALL {
        let mut fx = Fixture::new(store.clone());
        let org = fx.organization_with_limit("race-limit", LIMIT, when_reached).await;
        let ada = fx.member(&org, "ada@race.example").await;
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let session = fx.session_value(&ada, t0() + chrono::TimeDelta::milliseconds(i as i64));
            let token = fx.token();
            let store = fx.store.clone();
            tasks.push(tokio::spawn(async move {
                store.sessions.create_session(&session, &token.hash(), &[]).await
            }));
        }
        let mut created = 0;
        let mut revoked = HashSet::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(ids) => {
                    created += 1;
                    for id in ids {
                        assert!(revoked.insert(id), "{id:?} revoked twice");
                    }
                }
                Err(e) if when_reached == WhenLimitReached::Refuse => {
                    assert!(is_limit_refusal(&Err(e)), "{when_reached}");
                }
                Err(e) => panic!("{when_reached}: {e}"),
            }
        }
        let now = t0() + chrono::TimeDelta::milliseconds(RACERS as i64);
        let live = fx.store.sessions.list_member_sessions(org.id, ada.id, now).await.unwrap();
        assert_eq!(live.len(), LIMIT as usize, "{when_reached}");
        match when_reached {
            WhenLimitReached::Refuse => assert_eq!(created, LIMIT as usize),
            WhenLimitReached::RevokeLeastRecentlyUsed => {
                assert_eq!(created, RACERS);
                assert_eq!(revoked.len(), RACERS - LIMIT as usize);
            }
        }
    }
}
