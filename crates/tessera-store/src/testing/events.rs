//! The audit log: every write appends its events in its own transaction, and only when it
//! commits; the store adds what only it knows (counts, what a session limit did); listings filter
//! and page by sequence; the retention purge deletes old events only.

use tessera_core::{
    Actor, Event, EventFilter, EventType, MemberId, OrganizationUpdate, RequestContext,
    WhenLimitReached,
};

use super::{
    expect_err,
    fixture::{Fixture, minutes, t0},
};
use crate::{Constraint, Entity, Store, StoreError};

async fn all(store: &Store) -> Vec<Event> {
    store.events.list_events(&EventFilter::default(), 1000).await.unwrap()
}

fn of_type(events: &[Event], event_type: EventType) -> Vec<&Event> {
    events.iter().filter(|e| e.record.event_type == event_type).collect()
}

pub async fn a_write_appends_its_events_whole_and_in_order(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization_value("logged");
    let created = fx
        .event(EventType::OrganizationCreated, t0())
        .organization(organization.id)
        .with("organization_slug", "logged");
    fx.store
        .organizations
        .create_organization(&organization, std::slice::from_ref(&created))
        .await
        .unwrap();
    let member = fx.member_value(&organization, "ada@logged.example");
    let first = fx.event(EventType::MemberUpdated, t0()).organization(organization.id);
    let second =
        fx.event(EventType::MemberRolesChanged, t0() + minutes(1)).member(member.id).with("n", 2);
    fx.store.members.create_member(&member, &[first.clone(), second.clone()]).await.unwrap();

    let events = all(&fx.store).await;
    assert_eq!(events.len(), 3);
    assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence), "{events:?}");
    // Every field comes back as written, the instant to the microsecond.
    assert_eq!(events[0].record, created);
    assert_eq!(events[1].record, first);
    assert_eq!(events[2].record, second);
    assert_eq!(events[0].record.request.ip_address.as_deref(), Some("203.0.113.7"));
}

pub async fn a_failed_write_appends_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("first").await;
    let b = fx.tenant("second").await;

    let mut taken = fx.organization_value("other");
    taken.slug = a.organization.slug.clone();
    let event = fx.event(EventType::OrganizationCreated, t0());
    expect_err!(
        fx.store.organizations.create_organization(&taken, &[event]).await,
        StoreError::Conflict(Constraint::OrganizationSlug)
    );
    let event = fx.event(EventType::SessionRevoked, t0());
    fx.store
        .sessions
        .revoke_session(a.organization.id, a.session.id, None, t0(), std::slice::from_ref(&event))
        .await
        .unwrap();
    // Revoking it again finds nothing to revoke: no second event.
    expect_err!(
        fx.store
            .sessions
            .revoke_session(a.organization.id, a.session.id, None, t0(), &[event])
            .await,
        StoreError::NotFound(Entity::Session)
    );
    let ghost = MemberId::from_uuid(uuid::Uuid::nil());
    let event = fx.event(EventType::MemberDeleted, t0());
    expect_err!(
        fx.store.members.delete_member(a.organization.id, ghost, &[event]).await,
        StoreError::NotFound(Entity::Member)
    );
    let event = fx.event(EventType::OrganizationUpdated, t0());
    let update =
        OrganizationUpdate { slug: Some(a.organization.slug.clone()), ..Default::default() };
    expect_err!(
        fx.store
            .organizations
            .update_organization(b.organization.id, &update, t0(), &[event])
            .await,
        StoreError::Conflict(Constraint::OrganizationSlug)
    );
    // Only the one revoke that happened is in the log (the fixture's writes record none).
    let events = all(&fx.store).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].record.event_type, EventType::SessionRevoked);
}

pub async fn wide_revokes_record_their_count(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    fx.session(&a.member).await;
    fx.session(&b.member).await;
    let now = t0() + minutes(1);
    let event = fx.event(EventType::SessionRevoked, now).organization(a.organization.id);
    let revoked = fx
        .store
        .sessions
        .revoke_organization_sessions(a.organization.id, None, now, &[event])
        .await
        .unwrap();
    assert_eq!(revoked, 2);
    let event = fx.event(EventType::SessionRevoked, now);
    assert_eq!(fx.store.sessions.revoke_all_sessions(now, &[event]).await.unwrap(), 2);
    let event = fx.event(EventType::SessionRevoked, now);
    let none = fx
        .store
        .sessions
        .revoke_member_sessions(a.organization.id, a.member.id, now, &[event])
        .await
        .unwrap();
    assert_eq!(none, 0);
    let events = all(&fx.store).await;
    let counts: Vec<_> = of_type(&events, EventType::SessionRevoked)
        .iter()
        .map(|e| e.record.payload["revoked_count"].as_u64())
        .collect();
    assert_eq!(counts, vec![Some(2), Some(2), Some(0)]);
}

pub async fn the_session_limit_records_what_it_did(store: Store) {
    let mut fx = Fixture::new(store);
    let lru =
        fx.organization_with_limit("lru-log", 1, WhenLimitReached::RevokeLeastRecentlyUsed).await;
    let ada = fx.member(&lru, "ada@lru.example").await;
    let first = fx.session_at(&ada, t0()).await;
    let second = fx.session_value(&ada, t0() + minutes(1));
    let created = fx
        .event(EventType::SessionCreated, t0() + minutes(1))
        .organization(lru.id)
        .member(ada.id)
        .session(second.id);
    fx.store
        .sessions
        .create_session(&second, &fx.token().hash(), std::slice::from_ref(&created))
        .await
        .unwrap();

    let refusing = fx.organization_with_limit("refuse-log", 1, WhenLimitReached::Refuse).await;
    let bob = fx.member(&refusing, "bob@refuse.example").await;
    fx.session_at(&bob, t0()).await;
    let refused = fx.session_value(&bob, t0() + minutes(1));
    let attempt = fx
        .event(EventType::SessionCreated, t0() + minutes(1))
        .organization(refusing.id)
        .member(bob.id)
        .session(refused.id)
        .with("method", "api");
    let result = fx.store.sessions.create_session(&refused, &fx.token().hash(), &[attempt]).await;
    assert!(result.is_err());

    let events = all(&fx.store).await;
    let revoked = of_type(&events, EventType::SessionRevoked);
    assert_eq!(revoked.len(), 1, "{events:?}");
    assert_eq!(revoked[0].record.session_id, Some(first.session.id));
    assert_eq!(revoked[0].record.payload["reason"], "session_limit");
    assert_eq!(revoked[0].record.request, created.request);
    assert_ne!(revoked[0].record.id, created.id);
    // The refused sign-in left its denial, and no `session.created`.
    let created_events = of_type(&events, EventType::SessionCreated);
    assert_eq!(created_events.len(), 1);
    assert_eq!(created_events[0].record.session_id, Some(second.id));
    let denied = of_type(&events, EventType::SessionLimitDenied);
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].record.member_id, Some(bob.id));
    assert_eq!(denied[0].record.session_id, None);
    assert_eq!(denied[0].record.payload["limit"], 1);
    assert_eq!(denied[0].record.payload["method"], "api");
}

pub async fn listings_filter_and_page_by_sequence(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    for n in 0..5 {
        let at = t0() + minutes(n);
        let e =
            fx.event(EventType::SessionRevoked, at).organization(a.organization.id).with("n", n);
        fx.store.events.append_events(&[e]).await.unwrap();
        let e = fx
            .event(EventType::MemberUpdated, at)
            .organization(b.organization.id)
            .member(b.member.id);
        fx.store.events.append_events(&[e]).await.unwrap();
    }
    let of_a = EventFilter { organization_id: Some(a.organization.id), ..Default::default() };
    let page = fx.store.events.list_events(&of_a, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    let next = EventFilter { after_sequence: Some(page[1].sequence), ..of_a.clone() };
    let rest = fx.store.events.list_events(&next, 100).await.unwrap();
    let ns: Vec<_> = page.iter().chain(&rest).map(|e| e.record.payload["n"].as_i64()).collect();
    assert_eq!(ns, (0..5).map(Some).collect::<Vec<_>>());
    assert!(rest.iter().all(|e| e.record.organization_id == Some(a.organization.id)));

    let by_member = EventFilter { member_id: Some(b.member.id), ..Default::default() };
    assert_eq!(fx.store.events.list_events(&by_member, 100).await.unwrap().len(), 5);
    let by_type = EventFilter {
        types: vec![EventType::MemberUpdated, EventType::OrganizationDeleted],
        ..Default::default()
    };
    let typed = fx.store.events.list_events(&by_type, 100).await.unwrap();
    assert_eq!(typed.len(), 5);
    assert!(typed.iter().all(|e| e.record.event_type == EventType::MemberUpdated));
    let window = EventFilter {
        since: Some(t0() + minutes(1)),
        until: Some(t0() + minutes(3)),
        ..of_a.clone()
    };
    let ns: Vec<_> = fx
        .store
        .events
        .list_events(&window, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.record.payload["n"].as_i64())
        .collect();
    assert_eq!(ns, vec![Some(1), Some(2)]);
    let by_session = EventFilter { session_id: Some(a.session.id), ..Default::default() };
    assert!(fx.store.events.list_events(&by_session, 100).await.unwrap().is_empty());
}

pub async fn purge_deletes_old_events_only_and_sequences_go_on(store: Store) {
    let mut fx = Fixture::new(store);
    for n in 0..5 {
        let e = fx.event(EventType::ApiSecretRotated, t0() + minutes(n));
        fx.store.events.append_events(&[e]).await.unwrap();
    }
    let last = all(&fx.store).await.last().map(|e| e.sequence).unwrap();
    assert_eq!(fx.store.events.purge_events(t0() + minutes(3), 2).await.unwrap(), 2);
    assert_eq!(fx.store.events.purge_events(t0() + minutes(3), 2).await.unwrap(), 1);
    assert_eq!(fx.store.events.purge_events(t0() + minutes(3), 2).await.unwrap(), 0);
    let left = all(&fx.store).await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|e| e.record.occurred_at >= t0() + minutes(3)));
    // A purged sequence is never given again.
    fx.store.events.purge_events(t0() + minutes(10), 100).await.unwrap();
    let e = fx.event(EventType::ApiSecretRotated, t0());
    fx.store.events.append_events(&[e]).await.unwrap();
    assert!(all(&fx.store).await[0].sequence > last);
}

pub async fn events_name_their_actor(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.tenant("actors").await;
    let mut by_member = fx.event(EventType::SessionRevoked, t0());
    by_member.actor = Actor::Member(a.member.id);
    by_member.request = RequestContext::default();
    let mut by_operator = fx.event(EventType::SessionRevoked, t0());
    by_operator.actor = Actor::Operator;
    let mut by_system = fx.event(EventType::SessionsPurged, t0());
    by_system.actor = Actor::System;
    fx.store.events.append_events(&[by_member, by_operator, by_system]).await.unwrap();
    let actors: Vec<_> = all(&fx.store).await.iter().map(|e| e.record.actor).collect();
    assert_eq!(actors, vec![Actor::Member(a.member.id), Actor::Operator, Actor::System]);
}
