//! Session repository cases: the hot path, every conditional write, and tenancy for each.

use chrono::TimeDelta;
use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_core::{
    AuthenticationFactor, ClaimNamespaces, DeliveryMethod, FactorInput, FactorType, MaxLifetime,
    MemberRef, MemberUpdate, MfaPolicy, OrganizationId, OrganizationName, OrganizationUpdate,
    RoleId, SessionId,
};

use super::{
    expect_err,
    fixture::{Fixture, minutes, t0},
};
use crate::{AuthenticationWrite, Constraint, Entity, SessionKey, Store, StoreError};

fn ns() -> ClaimNamespaces {
    ClaimNamespaces::stytch()
}

fn key(session: &tessera_core::MemberSession) -> SessionKey {
    Fixture::key(session)
}

/// An access record at `now`, due if the last one is a minute old (the default touch interval).
fn touch(now: DateTime<Utc>) -> AuthenticationWrite {
    AuthenticationWrite { touch_if_accessed_by: Some(now - seconds(60)), ..Default::default() }
}

fn extend(expires_at: DateTime<Utc>) -> AuthenticationWrite {
    AuthenticationWrite { expires_at: Some(expires_at), ..Default::default() }
}

fn patch(claims: serde_json::Value) -> AuthenticationWrite {
    AuthenticationWrite { claims_patch: Some(claims), ..Default::default() }
}

/// Lowers `organization`'s absolute lifetime to `minutes`, at `t0`.
async fn cap(fx: &Fixture, organization: OrganizationId, minutes: i64) {
    let update = OrganizationUpdate {
        max_lifetime: Some(MaxLifetime::from_minutes(minutes).unwrap()),
        ..Default::default()
    };
    fx.store.organizations.update_organization(organization, &update, t0(), &[]).await.unwrap();
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
    assert_eq!(*found.member, member);
    assert_eq!(*found.organization, organization);
}

/// A lookup always shows the member and organization as they are now, even when they changed
/// at the very instant of the previous lookup (the SQL backends keep decoded members and
/// organizations between lookups: a kept value must never outlive a change).
pub async fn lookups_see_every_member_and_organization_change(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let member = fx.member(&organization, "ada@example.com").await;
    let opened = fx.session(&member).await;
    let hash = opened.token.hash();
    let sessions = fx.store.sessions.clone();
    let before = sessions.find_session_by_token(&hash, t0()).await.unwrap();
    assert_eq!(before.member.name, member.name);

    // Both updates at t0: the rows' `updated_at` does not move.
    let update = MemberUpdate {
        name: Some(Some("Ada Lovelace".to_owned())),
        roles: Some(vec![RoleId::parse("editor").unwrap()]),
        ..Default::default()
    };
    let updated = fx
        .store
        .members
        .update_member(organization.id, member.id, &update, t0(), &[])
        .await
        .unwrap();
    let after = sessions.find_session_by_token(&hash, t0()).await.unwrap();
    assert_eq!(*after.member, updated);
    assert_eq!(after.member.roles, vec![RoleId::parse("editor").unwrap()]);

    let update = OrganizationUpdate {
        name: Some(OrganizationName::parse("Acme Two").unwrap()),
        mfa_policy: Some(MfaPolicy::RequiredForAll),
        ..Default::default()
    };
    let updated = fx
        .store
        .organizations
        .update_organization(organization.id, &update, t0(), &[])
        .await
        .unwrap();
    let after = sessions.find_session_by_token(&hash, t0()).await.unwrap();
    assert_eq!(*after.organization, updated);
    assert_eq!(after.organization.settings.mfa_policy, MfaPolicy::RequiredForAll);
    // And back: a value seen before is decoded from the row, not resurrected from a cache.
    let revert = OrganizationUpdate { mfa_policy: Some(MfaPolicy::Optional), ..Default::default() };
    fx.store.organizations.update_organization(organization.id, &revert, t0(), &[]).await.unwrap();
    let reverted = sessions.find_session_by_token(&hash, t0()).await.unwrap();
    assert_eq!(reverted.organization.settings.mfa_policy, MfaPolicy::Optional);
    assert_eq!(reverted.organization.name.as_str(), "Acme Two");
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
        fx.store.sessions.create_session(&cross, &token.hash(), &[]).await,
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
        fx.store.sessions.create_session(&orphan, &fx.token().hash(), &[]).await,
        StoreError::NotFound(Entity::Organization)
    );

    fx.store.members.delete_member(a.organization.id, a.member.id, &[]).await.unwrap();
    let for_deleted = fx.session_value(&a.member, t0());
    expect_err!(
        fx.store.sessions.create_session(&for_deleted, &fx.token().hash(), &[]).await,
        StoreError::NotFound(Entity::Member)
    );
}

pub async fn duplicate_token_hash_or_id_conflicts(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    let other = fx.session_value(&a.member, t0());
    expect_err!(
        fx.store.sessions.create_session(&other, &a.token.hash(), &[]).await,
        StoreError::Conflict(Constraint::SessionTokenHash)
    );
    let same_id = a.session.clone();
    expect_err!(
        fx.store.sessions.create_session(&same_id, &fx.token().hash(), &[]).await,
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
    let at = t0() + minutes(10);
    let touched = fx
        .store
        .sessions
        .record_authentication(&key(&opened.session), &touch(at), &ns(), at, &[])
        .await
        .unwrap();
    assert_eq!(touched.times.last_accessed_at, at);
    assert_eq!(touched.updated_at, opened.session.updated_at, "an access record is not a change");
    let found = fx.store.sessions.find_session_by_token(&hash, t0() + minutes(20)).await.unwrap();
    assert_eq!(found.session.times.last_accessed_at, at);
}

/// Lowering an organization's maximum lifetime ends older sessions at once.
pub async fn absolute_lifetime_is_enforced_at_lookup(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    cap(&fx, a.organization.id, 30).await;
    fx.store.sessions.find_session_by_token(&a.token.hash(), t0() + minutes(29)).await.unwrap();
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), t0() + minutes(30)).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn access_records_are_coalesced_and_scoped(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let sessions = &fx.store.sessions;
    let a_key = key(&a.session);
    let record = |at| async move {
        sessions.record_authentication(&a_key, &touch(at), &ns(), at, &[]).await.unwrap()
    };
    assert_eq!(record(t0() + seconds(59)).await.times.last_accessed_at, t0(), "not due yet");
    assert_eq!(record(t0() + seconds(60)).await.times.last_accessed_at, t0() + seconds(60));
    assert_eq!(record(t0() + seconds(61)).await.times.last_accessed_at, t0() + seconds(60));
    let found = sessions
        .find_session_by_id(a.organization.id, a.session.id, t0() + seconds(90))
        .await
        .unwrap();
    assert_eq!(found.session.times.last_accessed_at, t0() + seconds(60));

    // Through another organization: nothing written.
    let elsewhere = SessionKey { organization_id: b.organization.id, ..key(&a.session) };
    let at = t0() + minutes(5);
    expect_err!(
        sessions.record_authentication(&elsewhere, &touch(at), &ns(), at, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    let found = sessions
        .find_session_by_id(a.organization.id, a.session.id, t0() + seconds(90))
        .await
        .unwrap();
    assert_eq!(found.session.times.last_accessed_at, t0() + seconds(60));

    // Not live: nothing written.
    let end = a.session.times.expires_at;
    expect_err!(
        sessions.record_authentication(&key(&a.session), &touch(end), &ns(), end, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn extend_sets_expiry_of_live_sessions_only(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + minutes(10);
    let new_expiry = now + minutes(120);
    let sessions = &fx.store.sessions;
    let extended = sessions
        .record_authentication(&key(&a.session), &extend(new_expiry), &ns(), now, &[])
        .await
        .unwrap();
    assert_eq!(extended.times.expires_at, new_expiry);
    assert_eq!(extended.times.last_accessed_at, now);
    assert_eq!(extended.updated_at, now);
    let found = sessions.find_session_by_token(&a.token.hash(), t0() + minutes(100)).await.unwrap();
    assert_eq!(found.session.times.expires_at, new_expiry);

    let b_through_a = SessionKey { organization_id: a.organization.id, ..key(&b.session) };
    expect_err!(
        sessions.record_authentication(&b_through_a, &extend(new_expiry), &ns(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    let b_found = sessions.find_session_by_token(&b.token.hash(), t0()).await.unwrap();
    assert_eq!(b_found.session.times.expires_at, b.session.times.expires_at);

    sessions.revoke_session(a.organization.id, a.session.id, None, now, &[]).await.unwrap();
    expect_err!(
        sessions
            .record_authentication(
                &key(&a.session),
                &extend(new_expiry + minutes(1)),
                &ns(),
                now,
                &[]
            )
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let expired_at = b.session.times.expires_at;
    expect_err!(
        sessions
            .record_authentication(
                &key(&b.session),
                &extend(expired_at + minutes(60)),
                &ns(),
                expired_at,
                &[],
            )
            .await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn patch_claims_merges_and_refusals_change_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + seconds(5);
    let sessions = &fx.store.sessions;
    let patched = sessions
        .record_authentication(
            &key(&a.session),
            &patch(json!({"tier": null, "seat": 3, "ui": {"dark": true}})),
            &ns(),
            now,
            &[],
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
        let result = sessions
            .record_authentication(&key(&a.session), &patch(bad.clone()), &ns(), now, &[])
            .await;
        assert!(matches!(result, Err(StoreError::Rejected(_))), "{bad}: {result:?}");
    }
    let found = sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();
    assert_eq!(found.session.custom_claims, patched.custom_claims);

    let b_through_a = SessionKey { organization_id: a.organization.id, ..key(&b.session) };
    expect_err!(
        sessions
            .record_authentication(&b_through_a, &patch(json!({"x": 1})), &ns(), now, &[])
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let b_found = sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();
    assert_eq!(b_found.session.custom_claims, b.session.custom_claims);
}

/// Authenticate's write is one: an extension, a claims patch and an access record together, and
/// a patch the claim rules refuse leaves the extension and the access record unwritten too.
pub async fn authentication_write_is_all_or_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("acme").await;
    let sessions = &fx.store.sessions;
    let now = t0() + minutes(5);
    let everything = AuthenticationWrite {
        expires_at: Some(now + minutes(120)),
        claims_patch: Some(json!({"seat": 7})),
        touch_if_accessed_by: Some(now - seconds(60)),
    };
    let written = sessions
        .record_authentication(&key(&a.session), &everything, &ns(), now, &[])
        .await
        .unwrap();
    assert_eq!(written.times.expires_at, now + minutes(120));
    assert_eq!(written.times.last_accessed_at, now);
    assert_eq!(written.custom_claims.as_map().get("seat"), Some(&json!(7)));

    let later = now + minutes(5);
    let refused = AuthenticationWrite {
        expires_at: Some(later + minutes(600)),
        claims_patch: Some(json!({"big": "x".repeat(5000)})),
        touch_if_accessed_by: Some(later - seconds(60)),
    };
    let result =
        sessions.record_authentication(&key(&a.session), &refused, &ns(), later, &[]).await;
    assert!(matches!(result, Err(StoreError::Rejected(_))), "{result:?}");
    let stored = sessions.find_session_by_id(a.organization.id, a.session.id, later).await.unwrap();
    assert_eq!(stored.session, written, "nothing of the refused write stuck");
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
    let to = fx.session_value(&a.member, now);
    let sessions = &fx.store.sessions;

    let a_through_b = SessionKey { organization_id: b.organization.id, ..key(&a.session) };
    expect_err!(
        sessions.rotate_session_token(&a_through_b, &next.hash(), &factors, None, now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    let stale = SessionKey { token_generation: 3, ..key(&a.session) };
    expect_err!(
        sessions.rotate_session_token(&stale, &next.hash(), &factors, None, now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    let rotated = sessions
        .rotate_session_token(
            &key(&a.session),
            &next.hash(),
            &factors,
            Some(now + minutes(90)),
            now,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rotated.authentication_factors, factors);
    assert_eq!(rotated.token_generation, a.session.token_generation + 1);
    assert_eq!(rotated.times.expires_at, now + minutes(90));
    assert_eq!(rotated.times.last_accessed_at, now, "a step-up is an access");
    expect_err!(
        sessions.find_session_by_token(&a.token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );
    let found = sessions.find_session_by_token(&next.hash(), now).await.unwrap();
    assert_eq!(found.session, rotated);
    // Nothing keyed by the old generation acts on the session any more.
    let old = key(&a.session);
    expect_err!(
        sessions.rotate_session_token(&old, &fx.token().hash(), &factors, None, now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        sessions.record_authentication(&old, &extend(now + minutes(600)), &ns(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        sessions
            .revoke_session(a.organization.id, a.session.id, Some(old.token_generation), now, &[])
            .await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        sessions.exchange_session(&old, &to, &fx.token().hash(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    sessions.find_session_by_token(&next.hash(), now).await.unwrap();
    sessions
        .revoke_session(a.organization.id, a.session.id, Some(rotated.token_generation), now, &[])
        .await
        .unwrap();
    sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();
}

pub async fn revoke_is_final_and_scoped(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let now = t0() + minutes(1);
    expect_err!(
        fx.store.sessions.revoke_session(a.organization.id, b.session.id, None, now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    fx.store.sessions.find_session_by_token(&b.token.hash(), now).await.unwrap();

    fx.store
        .sessions
        .revoke_session(a.organization.id, a.session.id, None, now, &[])
        .await
        .unwrap();
    for at in [now, now + minutes(1)] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&a.token.hash(), at).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    expect_err!(
        fx.store.sessions.revoke_session(a.organization.id, a.session.id, None, now, &[]).await,
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
        fx.store.sessions.revoke_member_sessions(b.organization.id, a.member.id, now, &[]).await,
        StoreError::NotFound(Entity::Member)
    );
    fx.store.sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();

    let revoked = fx
        .store
        .sessions
        .revoke_member_sessions(a.organization.id, a.member.id, now, &[])
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
        .revoke_member_sessions(a.organization.id, a.member.id, now, &[])
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
    fx.store
        .sessions
        .revoke_session(a.organization.id, revoked.session.id, None, now, &[])
        .await
        .unwrap();

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
    let from = key(&a.session);

    // The target member is not in the target's organization: nothing happens.
    let mut wrong = fx.session_value(&ada_in_b, now);
    wrong.organization_id = a.organization.id;
    let wrong_token = fx.token();
    expect_err!(
        fx.store.sessions.exchange_session(&from, &wrong, &wrong_token.hash(), now, &[]).await,
        StoreError::NotFound(Entity::Member)
    );
    fx.store.sessions.find_session_by_token(&a.token.hash(), now).await.unwrap();

    // A stale generation of the old session (its token was rotated since): nothing happens.
    let to = fx.session_value(&ada_in_b, now);
    let to_token = fx.token();
    let stale = SessionKey { token_generation: from.token_generation + 1, ..from };
    expect_err!(
        fx.store.sessions.exchange_session(&stale, &to, &to_token.hash(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
    expect_err!(
        fx.store.sessions.find_session_by_token(&to_token.hash(), now).await,
        StoreError::NotFound(Entity::Session)
    );

    // Through the wrong organization: nothing happens.
    let misdirected = SessionKey { organization_id: b.organization.id, ..from };
    expect_err!(
        fx.store.sessions.exchange_session(&misdirected, &to, &to_token.hash(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );

    fx.store.sessions.exchange_session(&from, &to, &to_token.hash(), now, &[]).await.unwrap();
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
        fx.store.sessions.exchange_session(&from, &again, &fx.token().hash(), now, &[]).await,
        StoreError::NotFound(Entity::Session)
    );
}

pub async fn purge_deletes_dead_sessions_in_batches(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await; // live until t0 + 60 min
    let expired_a = fx.session_at(&a.member, t0() - minutes(180)).await;
    let expired_b = fx.session_at(&b.member, t0() - minutes(180)).await;
    let revoked = fx.session_at(&a.member, t0()).await;
    fx.store
        .sessions
        .revoke_session(a.organization.id, revoked.session.id, None, t0(), &[])
        .await
        .unwrap();

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
        fx.store.sessions.create_session(&reborn, &dead.token.hash(), &[]).await.unwrap();
    }
}

/// Purge deletes what is over whatever ended it: the idle timeout and the absolute lifetime of
/// its organization too (under the organization's current settings), and nothing of another
/// organization whose settings differ.
pub async fn purge_deletes_idle_and_capped_sessions(store: Store) {
    let mut fx = Fixture::new(store);
    let idle_org = fx.organization_with_idle_timeout("idle", 15).await;
    let ada = fx.member(&idle_org, "ada@idle.example").await;
    let capped = fx.tenant("capped").await; // its 60-minute session expires at +60
    let relaxed = fx.tenant("relaxed").await; // likewise
    let mut year_long = Vec::new();
    for member in [&ada, &ada, &capped.member, &relaxed.member] {
        let mut session = fx.session_value(member, t0());
        session.times.expires_at = t0() + minutes(527_040);
        fx.store.sessions.create_session(&session, &fx.token().hash(), &[]).await.unwrap();
        year_long.push(session);
    }
    let [untouched, touched, capped_year, relaxed_year] = &year_long[..] else { unreachable!() };
    let at = t0() + minutes(10);
    fx.store
        .sessions
        .record_authentication(&key(touched), &touch(at), &ns(), at, &[])
        .await
        .unwrap();
    cap(&fx, capped.organization.id, 60).await;

    // At +100 min, over are: the untouched idle session (since +15), the touched one (+25), the
    // capped year-long one (+60) and both 60-minute sessions (+60). The relaxed year-long one
    // is live, in an organization with neither setting.
    let cut_off = t0() + minutes(100);
    assert_eq!(fx.store.sessions.purge_sessions(cut_off, 100).await.unwrap(), 5);
    for gone in [untouched, touched, capped_year, &capped.session, &relaxed.session] {
        expect_err!(
            fx.store.sessions.find_session_organization(gone.id).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    assert_eq!(
        fx.store.sessions.find_session_organization(relaxed_year.id).await.unwrap(),
        relaxed.organization.id
    );

    // Not over at the cut-off: an idle-timed session accessed less than its timeout ago stays.
    let fresh = fx.session_at(&ada, cut_off).await;
    assert_eq!(fx.store.sessions.purge_sessions(cut_off + minutes(14), 100).await.unwrap(), 0);
    fx.store
        .sessions
        .find_session_by_token(&fresh.token.hash(), cut_off + minutes(14))
        .await
        .unwrap();
}

/// No write revives a session that ended by idleness or by its absolute lifetime, even though
/// it is neither revoked nor past `expires_at`.
pub async fn writes_never_revive_an_ended_session(store: Store) {
    let mut fx = Fixture::new(store);
    let idle_org = fx.organization_with_idle_timeout("idle", 15).await;
    let member = fx.member(&idle_org, "ada@idle.example").await;
    let idle = fx.session(&member).await;
    let capped = fx.tenant("capped").await;
    cap(&fx, capped.organization.id, 30).await;

    let late = t0() + minutes(31); // idle since t0 (> 15 min) and past the 30-minute cap
    let ended = [(&idle.session, &idle.token), (&capped.session, &capped.token)];
    for (session, token) in ended {
        let sessions = &fx.store.sessions;
        let (org, id) = (session.organization_id, session.id);
        let everything = AuthenticationWrite {
            expires_at: Some(late + minutes(60)),
            claims_patch: Some(json!({"x": 1})),
            touch_if_accessed_by: Some(late),
        };
        for write in [touch(late), extend(late + minutes(60)), patch(json!({"x": 1})), everything] {
            expect_err!(
                sessions.record_authentication(&key(session), &write, &ns(), late, &[]).await,
                StoreError::NotFound(Entity::Session)
            );
        }
        expect_err!(
            sessions
                .rotate_session_token(&key(session), &fx.token().hash(), &[], None, late, &[])
                .await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions.revoke_session(org, id, None, late, &[]).await,
            StoreError::NotFound(Entity::Session)
        );
        expect_err!(
            sessions.find_session_by_token(&token.hash(), late).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    let revoked =
        fx.store.sessions.revoke_member_sessions(idle_org.id, member.id, late, &[]).await.unwrap();
    assert_eq!(revoked, 0, "an idle session is already over");
    let before =
        fx.store.sessions.find_session_by_id(idle_org.id, idle.session.id, t0()).await.unwrap();
    assert_eq!(before.session.times.last_accessed_at, t0(), "the refused touch wrote nothing");
}

/// Lookups apply the active rule in Rust (`SessionTimes::status`), writes in SQL
/// (`crate::row::session_within_policy_at`): at each edge of the rule (expiry, absolute
/// lifetime, idle timeout), a microsecond before, at and after it, a lookup finds the session
/// exactly when a write accepts it.
pub async fn the_write_rule_and_the_lookup_rule_agree_at_every_edge(store: Store) {
    let mut fx = Fixture::new(store);
    let idle_org = fx.organization_with_idle_timeout("idle", 15).await;
    let idle_member = fx.member(&idle_org, "ada@idle.example").await;
    let capped = fx.tenant("capped").await;
    cap(&fx, capped.organization.id, 30).await;
    let plain = fx.tenant("plain").await;
    let expiry = plain.session.times.expires_at;
    assert!(expiry > t0() + minutes(30), "the cap ends the capped sessions before they expire");

    let edges = [
        ("expiry", &plain.member, expiry),
        ("absolute lifetime", &capped.member, t0() + minutes(30)),
        ("idle timeout", &idle_member, t0() + minutes(15)),
    ];
    for (edge, member, at) in edges {
        for offset in [-1, 0, 1] {
            let now = at + TimeDelta::microseconds(offset);
            let opened = fx.session(member).await;
            let found = fx.store.sessions.find_session_by_token(&opened.token.hash(), now).await;
            let written = fx
                .store
                .sessions
                .record_authentication(&key(&opened.session), &touch(now), &ns(), now, &[])
                .await;
            let active = offset < 0;
            assert_eq!(found.is_ok(), active, "lookup at the {edge} {offset:+} µs: {found:?}");
            assert_eq!(written.is_ok(), active, "write at the {edge} {offset:+} µs: {written:?}");
            if !active {
                expect_err!(found, StoreError::NotFound(Entity::Session));
                expect_err!(written, StoreError::NotFound(Entity::Session));
            }
        }
    }
}

/// The deployment-wide lookup answers with the session's organization whether the session is
/// active, revoked or expired: it takes no `now` and checks no status.
pub async fn find_session_organization_whatever_its_status(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let expired = fx.session_at(&a.member, t0() - minutes(180)).await;
    let revoked = fx.session_at(&a.member, t0()).await;
    fx.store
        .sessions
        .revoke_session(a.organization.id, revoked.session.id, None, t0(), &[])
        .await
        .unwrap();
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

    fx.store
        .sessions
        .revoke_session(a.organization.id, a.session.id, None, t0(), &[])
        .await
        .unwrap();
    let purged = fx.store.sessions.purge_sessions(t0() + minutes(1), 100).await.unwrap();
    assert_eq!(purged, 1);
    expect_err!(
        fx.store.sessions.find_session_organization(a.session.id).await,
        StoreError::NotFound(Entity::Session)
    );

    // Deleting a member takes their sessions along.
    let survivor = fx.session(&b.member).await;
    fx.store.members.delete_member(b.organization.id, b.member.id, &[]).await.unwrap();
    for id in [b.session.id, survivor.session.id] {
        expect_err!(
            fx.store.sessions.find_session_organization(id).await,
            StoreError::NotFound(Entity::Session)
        );
    }
}
