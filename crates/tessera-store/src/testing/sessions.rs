//! Session repository cases: the hot path, every conditional write, and tenancy for each.

use chrono::TimeDelta;
use serde_json::json;
use tessera_core::{
    AuthenticationFactor, ClaimNamespaces, DeliveryMethod, FactorInput, FactorType, LifetimePolicy,
    MaxLifetime, MemberRef, SessionId, TouchInterval,
};

use super::{
    expect_err,
    fixture::{Fixture, minutes, t0},
};
use crate::{Constraint, Entity, ExchangeFrom, Store, StoreError};

fn ns() -> ClaimNamespaces {
    ClaimNamespaces::stytch()
}

fn seconds(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

pub async fn create_then_find_by_token_returns_session_member_and_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let member = fx.member(&organization, "ada@example.com").await;
    let opened = fx.session(&member).await;
    let found = fx.store.sessions.find_session_by_token(&opened.token.hash(), t0()).await.unwrap();
    assert_eq!(found.session, opened.session);
    assert_eq!(found.member, member);
    assert_eq!(found.organization, organization);
}

pub async fn find_by_id_is_scoped_by_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let found =
        fx.store.sessions.find_session_by_id(a.organization.id, a.session.id, t0()).await.unwrap();
    assert_eq!(found.session, a.session);
    expect_err!(
        fx.store.sessions.find_session_by_id(b.organization.id, a.session.id, t0()).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn unknown_token_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    fx.tenant("acme").await;
    let stranger = fx.token();
    expect_err!(
        fx.store.sessions.find_session_by_token(&stranger.hash(), t0()).await,
        StoreError::NotFound(Entity::Session)
    );
}

/// A session can only be created for a member of its own, existing organization.
pub async fn create_requires_the_member_in_that_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;

    let mut cross = fx.session_value(&b.member, t0());
    cross.organization_id = a.organization.id;
    let token = fx.token();
    expect_err!(
        fx.store.sessions.create_session(&cross, &token.hash()).await,
        StoreError::NotFound(Entity::Member)
    );
    expect_err!(
        fx.store.sessions.find_session_by_token(&token.hash(), t0()).await,
        StoreError::NotFound(Entity::Session)
    );

    let ghost_org = fx.organization_value("ghost");
    let ghost_member = fx.member_value(&ghost_org, "ghost@example.com");
    let orphan = fx.session_value(&ghost_member, t0());
    expect_err!(
        fx.store.sessions.create_session(&orphan, &fx.token().hash()).await,
        StoreError::NotFound(Entity::Organization)
    );

    fx.store.members.delete_member(a.organization.id, a.member.id).await.unwrap();
    let for_deleted = fx.session_value(&a.member, t0());
    expect_err!(
        fx.store.sessions.create_session(&for_deleted, &fx.token().hash()).await,
        StoreError::NotFound(Entity::Member)
    );
}

pub async fn duplicate_token_hash_or_id_conflicts(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    let other = fx.session_value(&a.member, t0());
    expect_err!(
        fx.store.sessions.create_session(&other, &a.token.hash()).await,
        StoreError::Conflict(Constraint::SessionTokenHash)
    );
    let same_id = a.session.clone();
    expect_err!(
        fx.store.sessions.create_session(&same_id, &fx.token().hash()).await,
        StoreError::Conflict(Constraint::PrimaryKey)
    );
}

pub async fn expired_session_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    let end = a.session.times.expires_at;
    fx.store.sessions.find_session_by_token(&a.token.hash(), end - seconds(1)).await.unwrap();
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), end).await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        fx.store.sessions.find_session_by_id(a.organization.id, a.session.id, end).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn idle_session_is_not_found_until_touched(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization_with_idle_timeout("idle", 15).await;
    let member = fx.member(&organization, "ada@example.com").await;
    let opened = fx.session(&member).await;
    let hash = opened.token.hash();
    expect_err!(
        fx.store.sessions.find_session_by_token(&hash, t0() + minutes(15)).await,
        StoreError::NotFound(Entity::Session)
    );
    let touched = fx
        .store
        .sessions
        .touch_session(
            organization.id,
            opened.session.id,
            t0() + minutes(10),
            TouchInterval::default(),
        )
        .await
        .unwrap();
    assert!(touched);
    let found = fx.store.sessions.find_session_by_token(&hash, t0() + minutes(20)).await.unwrap();
    assert_eq!(found.session.times.last_accessed_at, t0() + minutes(10));
}

/// Lowering an organization's maximum lifetime ends older sessions at once.
pub async fn absolute_lifetime_is_enforced_at_lookup(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    let mut organization = a.organization.clone();
    organization.settings.lifetime =
        LifetimePolicy { max_lifetime: MaxLifetime::from_minutes(30).unwrap(), idle_timeout: None };
    fx.store.organizations.update_organization(&organization).await.unwrap();
    fx.store.sessions.find_session_by_token(&a.token.hash(), t0() + minutes(29)).await.unwrap();
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), t0() + minutes(30)).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn touch_is_coalesced_and_scoped(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let interval = TouchInterval::default();
    let sessions = &fx.store.sessions;
    assert!(
        !sessions
            .touch_session(a.organization.id, a.session.id, t0() + seconds(59), interval)
            .await
            .unwrap()
    );
    assert!(
        sessions
            .touch_session(a.organization.id, a.session.id, t0() + seconds(60), interval)
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .touch_session(a.organization.id, a.session.id, t0() + seconds(61), interval)
            .await
            .unwrap()
    );
    let found = sessions
        .find_session_by_id(a.organization.id, a.session.id, t0() + seconds(90))
        .await
        .unwrap();
    assert_eq!(found.session.times.last_accessed_at, t0() + seconds(60));

    // Through another organization: nothing written.
    assert!(
        !sessions
            .touch_session(b.organization.id, a.session.id, t0() + minutes(5), interval)
            .await
            .unwrap()
    );
    let found = sessions
        .find_session_by_id(a.organization.id, a.session.id, t0() + seconds(90))
        .await
        .unwrap();
    assert_eq!(found.session.times.last_accessed_at, t0() + seconds(60));

    // Not live: nothing written.
    let end = a.session.times.expires_at;
    assert!(!sessions.touch_session(a.organization.id, a.session.id, end, interval).await.unwrap());
}

pub async fn extend_sets_expiry_of_live_sessions_only(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + minutes(10);
    let new_expiry = now + minutes(120);
    let extended = fx
        .store
        .sessions
        .extend_session(a.organization.id, a.session.id, new_expiry, now)
        .await
        .unwrap();
    assert_eq!(extended.times.expires_at, new_expiry);
    assert_eq!(extended.times.last_accessed_at, now);
    let found = fx
        .store
        .sessions
        .find_session_by_token(&a.token.hash(), t0() + minutes(100))
        .await
        .unwrap();
    assert_eq!(found.session.times.expires_at, new_expiry);

    expect_err!(
        fx.store.sessions.extend_session(a.organization.id, b.session.id, new_expiry, now).await,
        StoreError::NotFound(Entity::Session)
    );
    let b_found = fx.store.sessions.find_session_by_token(&b.token.hash(), t0()).await.unwrap();
    assert_eq!(b_found.session.times.expires_at, b.session.times.expires_at);

    fx.store.sessions.revoke_session(a.organization.id, a.session.id, now).await.unwrap();
    expect_err!(
        fx.store
            .sessions
            .extend_session(a.organization.id, a.session.id, new_expiry + minutes(1), now)
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let expired_at = b.session.times.expires_at;
    expect_err!(
        fx.store
            .sessions
            .extend_session(b.organization.id, b.session.id, expired_at + minutes(60), expired_at)
            .await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn patch_claims_merges_and_refusals_change_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + seconds(5);
    let patched = fx
        .store
        .sessions
        .patch_session_claims(
            a.organization.id,
            a.session.id,
            &json!({"tier": null, "seat": 3, "ui": {"dark": true}}),
            &ns(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::Value::Object(patched.custom_claims.as_map().clone()),
        json!({"seat": 3, "ui": {"dark": true}})
    );
    assert_eq!(patched.updated_at, now);

    for bad in
        [json!({"big": "x".repeat(5000)}), json!({"sub": "evil"}), json!(["not", "an", "object"])]
    {
        let result = fx
            .store
            .sessions
            .patch_session_claims(a.organization.id, a.session.id, &bad, &ns(), now)
            .await;
        assert!(matches!(result, Err(StoreError::Rejected(_))), "{bad}: {result:?}");
    }
    let found = fx.store.sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();
    assert_eq!(found.session.custom_claims, patched.custom_claims);

    expect_err!(
        fx.store
            .sessions
            .patch_session_claims(a.organization.id, b.session.id, &json!({"x": 1}), &ns(), now)
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let b_found = fx.store.sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();
    assert_eq!(b_found.session.custom_claims, b.session.custom_claims);
}

pub async fn rotate_kills_the_old_token_at_once(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + minutes(1);
    let totp = AuthenticationFactor::new(
        FactorInput {
            factor_type: FactorType::Totp,
            delivery_method: DeliveryMethod::AuthenticatorApp,
            last_authenticated_at: None,
            detail: None,
        },
        now,
    )
    .unwrap();
    let mut factors = a.session.authentication_factors.clone();
    factors.push(totp);
    let next = fx.token();

    expect_err!(
        fx.store
            .sessions
            .rotate_session_token(
                b.organization.id,
                a.session.id,
                &a.token.hash(),
                &next.hash(),
                &factors,
                now
            )
            .await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        fx.store
            .sessions
            .rotate_session_token(
                a.organization.id,
                a.session.id,
                &b.token.hash(),
                &next.hash(),
                &factors,
                now
            )
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let rotated = fx
        .store
        .sessions
        .rotate_session_token(
            a.organization.id,
            a.session.id,
            &a.token.hash(),
            &next.hash(),
            &factors,
            now,
        )
        .await
        .unwrap();
    assert_eq!(rotated.authentication_factors, factors);
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    let found = fx.store.sessions.find_session_by_token(&next.hash(), now).await.unwrap();
    assert_eq!(found.session.id, a.session.id);
    assert_eq!(found.session.authentication_factors, factors);
    // The old token cannot rotate again.
    expect_err!(
        fx.store
            .sessions
            .rotate_session_token(
                a.organization.id,
                a.session.id,
                &a.token.hash(),
                &fx.token().hash(),
                &factors,
                now
            )
            .await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn revoke_is_final_and_scoped(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + minutes(1);
    expect_err!(
        fx.store.sessions.revoke_session(a.organization.id, b.session.id, now).await,
        StoreError::NotFound(Entity::Session)
    );
    fx.store.sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();

    fx.store.sessions.revoke_session(a.organization.id, a.session.id, now).await.unwrap();
    for at in [now, now + minutes(1)] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&a.token.hash(), at).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    expect_err!(
        fx.store.sessions.revoke_session(a.organization.id, a.session.id, now).await,
        StoreError::NotFound(Entity::Session)
    );
    let listed =
        fx.store.sessions.list_member_sessions(a.organization.id, a.member.id, now).await.unwrap();
    assert!(listed.is_empty());
}

pub async fn revoke_all_of_a_member_is_scoped(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let second = fx.session(&a.member).await;
    let colleague = fx.member(&a.organization, "bob@alpha.example").await;
    let colleague_session = fx.session(&colleague).await;
    let now = t0() + minutes(1);

    expect_err!(
        fx.store.sessions.revoke_member_sessions(b.organization.id, a.member.id, now).await,
        StoreError::NotFound(Entity::Member)
    );
    fx.store.sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();

    let revoked = fx
        .store
        .sessions
        .revoke_member_sessions(a.organization.id, a.member.id, now)
        .await
        .unwrap();
    assert_eq!(revoked, 2);
    for token in [&a.token, &second.token] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&token.hash(), now).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    fx.store.sessions.find_session_by_token(&colleague_session.token.hash(), now).await.unwrap();
    fx.store.sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();
    let again = fx
        .store
        .sessions
        .revoke_member_sessions(a.organization.id, a.member.id, now)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

pub async fn list_shows_active_sessions_oldest_first(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let old = fx.session_at(&a.member, t0() - minutes(120)).await; // expired an hour ago
    let newer = fx.session_at(&a.member, t0() + seconds(30)).await;
    let revoked = fx.session_at(&a.member, t0() + seconds(10)).await;
    let now = t0() + minutes(1);
    fx.store.sessions.revoke_session(a.organization.id, revoked.session.id, now).await.unwrap();

    let listed =
        fx.store.sessions.list_member_sessions(a.organization.id, a.member.id, now).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![a.session.id, newer.session.id]);
    assert!(!ids.contains(&old.session.id));
    assert_eq!(listed[0], a.session);

    expect_err!(
        fx.store.sessions.list_member_sessions(b.organization.id, a.member.id, now).await,
        StoreError::NotFound(Entity::Member)
    );
    let of_b =
        fx.store.sessions.list_member_sessions(b.organization.id, b.member.id, now).await.unwrap();
    assert_eq!(of_b, vec![b.session]);
}

/// Exchange into another organization: the new session appears and the old one is revoked in
/// one step; if either half cannot happen, neither does.
pub async fn exchange_is_atomic(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let ada_in_b = fx.member(&b.organization, &a.member.email_address.to_string()).await;
    let now = t0() + minutes(1);
    let from = ExchangeFrom {
        organization_id: a.organization.id,
        session_id: a.session.id,
        token_hash: a.token.hash(),
    };

    // The target member is not in the target's organization: nothing happens.
    let mut wrong = fx.session_value(&ada_in_b, now);
    wrong.organization_id = a.organization.id;
    let wrong_token = fx.token();
    expect_err!(
        fx.store.sessions.exchange_session(&from, &wrong, &wrong_token.hash(), now).await,
        StoreError::NotFound(Entity::Member)
    );
    fx.store.sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();

    // A stale token for the old session: nothing happens.
    let to = fx.session_value(&ada_in_b, now);
    let to_token = fx.token();
    let stale = ExchangeFrom { token_hash: fx.token().hash(), ..from };
    expect_err!(
        fx.store.sessions.exchange_session(&stale, &to, &to_token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        fx.store.sessions.find_session_by_token(&to_token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );

    // Through the wrong organization: nothing happens.
    let misdirected = ExchangeFrom { organization_id: b.organization.id, ..from };
    expect_err!(
        fx.store.sessions.exchange_session(&misdirected, &to, &to_token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );

    fx.store.sessions.exchange_session(&from, &to, &to_token.hash(), now).await.unwrap();
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    let found = fx.store.sessions.find_session_by_token(&to_token.hash(), now).await.unwrap();
    assert_eq!(found.organization.id, b.organization.id);
    assert_eq!(found.member.id, ada_in_b.id);
    // The old session cannot be exchanged twice.
    let again = fx.session_value(&ada_in_b, now);
    expect_err!(
        fx.store.sessions.exchange_session(&from, &again, &fx.token().hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn purge_deletes_dead_sessions_in_batches(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await; // live until t0 + 60 min
    let expired_a = fx.session_at(&a.member, t0() - minutes(180)).await;
    let expired_b = fx.session_at(&b.member, t0() - minutes(180)).await;
    let revoked = fx.session_at(&a.member, t0()).await;
    fx.store.sessions.revoke_session(a.organization.id, revoked.session.id, t0()).await.unwrap();

    let before = t0() + minutes(1);
    let mut purged = Vec::new();
    loop {
        let n = fx.store.sessions.purge_sessions(before, 2).await.unwrap();
        assert!(n <= 2, "a batch is bounded");
        purged.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(purged.iter().sum::<u64>(), 3, "{purged:?}");
    for live in [&a.token, &b.token] {
        fx.store.sessions.find_session_by_token(&live.hash(), before).await.unwrap();
    }
    // The purged rows are gone for good: their ids and tokens can be reused without conflict.
    for dead in [&expired_a, &expired_b, &revoked] {
        let reborn = dead.session.clone();
        let member_org = reborn.organization_id;
        let member = fx
            .store
            .members
            .get_member(member_org, &MemberRef::Id(reborn.member_id))
            .await
            .unwrap();
        assert_eq!(member.id, reborn.member_id);
        fx.store.sessions.create_session(&reborn, &dead.token.hash()).await.unwrap();
    }
}

/// No write revives a session that ended by idleness or by its absolute lifetime, even though
/// it is neither revoked nor past `expires_at`.
pub async fn writes_never_revive_an_ended_session(store: Store) {
    let mut fx = Fixture::new(store);
    let idle_org = fx.organization_with_idle_timeout("idle", 15).await;
    let member = fx.member(&idle_org, "ada@idle.example").await;
    let idle = fx.session(&member).await;
    let capped = fx.tenant("capped").await;
    let mut organization = capped.organization.clone();
    organization.settings.lifetime =
        LifetimePolicy { max_lifetime: MaxLifetime::from_minutes(30).unwrap(), idle_timeout: None };
    fx.store.organizations.update_organization(&organization).await.unwrap();

    let late = t0() + minutes(31); // idle since t0 (> 15 min) and past the 30-minute cap
    let ended = [
        (idle_org.id, idle.session.id, &idle.token),
        (capped.organization.id, capped.session.id, &capped.token),
    ];
    for (org, id, token) in ended {
        let sessions = &fx.store.sessions;
        assert!(!sessions.touch_session(org, id, late, TouchInterval::default()).await.unwrap());
        expect_err!(
            sessions.extend_session(org, id, late + minutes(60), late).await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions.patch_session_claims(org, id, &json!({"x": 1}), &ns(), late).await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions
                .rotate_session_token(org, id, &token.hash(), &fx.token().hash(), &[], late)
                .await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions.revoke_session(org, id, late).await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions.find_session_by_token(&token.hash(), late).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    let revoked =
        fx.store.sessions.revoke_member_sessions(idle_org.id, member.id, late).await.unwrap();
    assert_eq!(revoked, 0, "an idle session is already over");
    let before =
        fx.store.sessions.find_session_by_id(idle_org.id, idle.session.id, t0()).await.unwrap();
    assert_eq!(before.session.times.last_accessed_at, t0(), "the refused touch wrote nothing");
}

/// The deployment-wide lookup answers with the session's organization whether the session is
/// active, revoked or expired: it takes no `now` and checks no status.
pub async fn find_session_organization_whatever_its_status(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let expired = fx.session_at(&a.member, t0() - minutes(180)).await;
    let revoked = fx.session_at(&a.member, t0()).await;
    fx.store.sessions.revoke_session(a.organization.id, revoked.session.id, t0()).await.unwrap();
    let sessions = &fx.store.sessions;
    for id in [a.session.id, expired.session.id, revoked.session.id] {
        assert_eq!(sessions.find_session_organization(id).await.unwrap(), a.organization.id);
    }
    assert_eq!(sessions.find_session_organization(b.session.id).await.unwrap(), b.organization.id);
}

pub async fn find_session_organization_of_unknown_or_purged_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let never_stored = fx.session_value(&a.member, t0());
    expect_err!(
        fx.store.sessions.find_session_organization(never_stored.id).await,
        StoreError::NotFound(Entity::Session)
    );
    // Only sessions are looked up: the id of an organization or a member is no session's.
    for other in [*a.organization.id.as_uuid(), *a.member.id.as_uuid()] {
        expect_err!(
            fx.store.sessions.find_session_organization(SessionId::from_uuid(other)).await,
            StoreError::NotFound(Entity::Session)
        );
    }

    fx.store.sessions.revoke_session(a.organization.id, a.session.id, t0()).await.unwrap();
    let purged = fx.store.sessions.purge_sessions(t0() + minutes(1), 100).await.unwrap();
    assert_eq!(purged, 1);
    expect_err!(
        fx.store.sessions.find_session_organization(a.session.id).await,
        StoreError::NotFound(Entity::Session)
    );

    // Deleting a member takes their sessions along.
    let survivor = fx.session(&b.member).await;
    fx.store.members.delete_member(b.organization.id, b.member.id).await.unwrap();
    for id in [b.session.id, survivor.session.id] {
        expect_err!(
            fx.store.sessions.find_session_organization(id).await,
            StoreError::NotFound(Entity::Session)
        );
    }
}
