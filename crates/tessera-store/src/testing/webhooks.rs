//! Webhook delivery's storage: endpoints and their secrets; the fan-out from the audit log
//! along each endpoint's cursor, under its filters; claims under a lease, the outcome of each
//! attempt, and dispatchers racing for the same deliveries (each delivered exactly once).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::{Event, EventFilter, EventRecord, EventType, OrganizationId};

use super::{
    expect_err,
    fixture::{Fixture, minutes, t0},
};
use crate::{
    AttemptRecord, Constraint, Delivery, DeliveryFilter, DeliveryId, DeliveryStatus,
    EndpointSecret, EndpointUpdate, Entity, Store, StoreError, WebhookEndpoint, WebhookEndpointId,
    webhook::{GONE_REASON, MAX_STORED_ERROR_CHARS},
};

const LEASE: TimeDelta = TimeDelta::minutes(5);

fn secret(text: &str, at: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> EndpointSecret {
    EndpointSecret { secret: format!("whsec_{text}"), created_at: at, expires_at }
}

/// An endpoint value (not stored) created at `at`, for every event type and organization.
fn endpoint_value(at: DateTime<Utc>) -> WebhookEndpoint {
    let id = WebhookEndpointId::generate(at, &mut rand::rng());
    WebhookEndpoint {
        id,
        url: format!("https://hooks.example.com/{id}"),
        description: Some("conformance".into()),
        event_types: Vec::new(),
        organization_id: None,
        enabled: true,
        disabled_reason: None,
        secrets: vec![secret("Y29uZm9ybWFuY2Utc2VjcmV0LTAx", at, None)],
        created_at: at,
        updated_at: at,
        failing_since: None,
        // Whatever a caller says, the store starts the cursor at the newest event.
        last_sequence: 12_345,
    }
}

/// A stored endpoint with the given filters.
async fn endpoint(
    store: &Store,
    at: DateTime<Utc>,
    event_types: &[EventType],
    organization_id: Option<OrganizationId>,
) -> WebhookEndpoint {
    let value = WebhookEndpoint {
        event_types: event_types.to_vec(),
        organization_id,
        ..endpoint_value(at)
    };
    store.webhooks.create_endpoint(&value).await.unwrap()
}

/// Appends one event of `event_type` about `organization_id` at `at`, and returns it as logged.
async fn log(
    fx: &mut Fixture,
    event_type: EventType,
    organization_id: Option<OrganizationId>,
    at: DateTime<Utc>,
) -> Event {
    let mut record = fx.event(event_type, at);
    record.organization_id = organization_id;
    fx.store.events.append_events(&[record.clone()]).await.unwrap();
    logged(&fx.store, &record).await
}

async fn logged(store: &Store, record: &EventRecord) -> Event {
    let all = store.events.list_events(&EventFilter::default(), 10_000).await.unwrap();
    all.into_iter().find(|e| e.record.id == record.id).unwrap()
}

async fn deliveries_of(store: &Store, endpoint_id: WebhookEndpointId) -> Vec<Delivery> {
    let filter = DeliveryFilter { endpoint_id: Some(endpoint_id), ..Default::default() };
    store.webhooks.list_deliveries(&filter, 10_000).await.unwrap()
}

async fn delivery(store: &Store, id: DeliveryId) -> Delivery {
    let all = store.webhooks.list_deliveries(&DeliveryFilter::default(), 10_000).await.unwrap();
    all.into_iter().find(|d| d.id == id).unwrap()
}

fn sequences(deliveries: &[Delivery]) -> Vec<u64> {
    deliveries.iter().map(|d| d.event.sequence).collect()
}

pub async fn endpoint_crud_and_secret_rotation(store: Store) {
    let mut fx = Fixture::new(store);
    log(&mut fx, EventType::ApiSecretRotated, None, t0()).await;
    let newest = log(&mut fx, EventType::ApiSecretRotated, None, t0()).await;

    let value = endpoint_value(t0() + minutes(1));
    let created = fx.store.webhooks.create_endpoint(&value).await.unwrap();
    assert_eq!(created.last_sequence, newest.sequence, "starts at the newest event");
    assert_eq!(created, WebhookEndpoint { last_sequence: newest.sequence, ..value.clone() });
    assert_eq!(fx.store.webhooks.get_endpoint(value.id).await.unwrap(), created);
    expect_err!(
        fx.store.webhooks.create_endpoint(&value).await,
        StoreError::Conflict(Constraint::PrimaryKey)
    );
    let unknown = WebhookEndpointId::from_uuid(uuid::Uuid::nil());
    expect_err!(
        fx.store.webhooks.get_endpoint(unknown).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );
    assert!(!format!("{created:?}").contains("whsec_"), "Debug prints no secret");

    // Listed in creation order, whatever the order of the calls.
    let earlier = endpoint(&fx.store, t0(), &[], None).await;
    let listed: Vec<_> =
        fx.store.webhooks.list_endpoints().await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(listed, vec![earlier.id, created.id]);

    // Updates change exactly the named fields.
    let org = OrganizationId::generate(t0(), &mut rand::rng());
    let now = t0() + minutes(2);
    let update = EndpointUpdate {
        url: Some("https://hooks.example.com/moved".into()),
        description: Some(None),
        event_types: Some(vec![EventType::SessionRevoked, EventType::MemberDeleted]),
        organization_id: Some(Some(org)),
        enabled: None,
    };
    let updated = fx.store.webhooks.update_endpoint(value.id, &update, now).await.unwrap();
    let mut expected = created.clone();
    update.apply_to(&mut expected, now);
    assert_eq!(updated, expected);
    assert_eq!(updated.url, "https://hooks.example.com/moved");
    assert_eq!(updated.description, None);
    assert_eq!(updated.secrets, created.secrets);
    assert_eq!(fx.store.webhooks.get_endpoint(value.id).await.unwrap(), updated);
    expect_err!(
        fx.store.webhooks.update_endpoint(unknown, &update, now).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );

    // Disabled with a reason (bounded), enabled again by an update, which clears it.
    let long_reason = "failing for 5 days; ".repeat(100);
    fx.store.webhooks.disable_endpoint(value.id, &long_reason, now).await.unwrap();
    let disabled = fx.store.webhooks.get_endpoint(value.id).await.unwrap();
    assert!(!disabled.enabled);
    let reason = disabled.disabled_reason.unwrap_or_default();
    assert_eq!(reason.chars().count(), MAX_STORED_ERROR_CHARS);
    expect_err!(
        fx.store.webhooks.disable_endpoint(unknown, "x", now).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );
    let enable = EndpointUpdate { enabled: Some(true), ..Default::default() };
    let enabled = fx.store.webhooks.update_endpoint(value.id, &enable, now).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);

    // Rotation: the old secret signs until `old_expires_at`; expired ones are dropped.
    let first = created.secrets[0].clone();
    let second = secret("c2Vjb25kLXNlY3JldC1vZi10aGUtc3VpdGU", now, None);
    let rotated = fx
        .store
        .webhooks
        .rotate_endpoint_secret(value.id, second.clone(), now + TimeDelta::days(1), now)
        .await
        .unwrap();
    assert_eq!(
        rotated.secrets,
        vec![
            EndpointSecret { expires_at: Some(now + TimeDelta::days(1)), ..first.clone() },
            second.clone()
        ]
    );
    assert_eq!(rotated.updated_at, now);
    assert_eq!(fx.store.webhooks.get_endpoint(value.id).await.unwrap(), rotated);
    let later = now + TimeDelta::days(2);
    let third = secret("dGhpcmQtc2VjcmV0LW9mLXRoZS1zdWl0ZQ", later, None);
    let rotated = fx
        .store
        .webhooks
        .rotate_endpoint_secret(value.id, third.clone(), later + TimeDelta::hours(1), later)
        .await
        .unwrap();
    assert_eq!(
        rotated.secrets,
        vec![EndpointSecret { expires_at: Some(later + TimeDelta::hours(1)), ..second }, third]
    );
    expect_err!(
        fx.store.webhooks.rotate_endpoint_secret(unknown, first, later, later).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );

    // Deleting takes the endpoint's deliveries with it, and no other's.
    let update = EndpointUpdate {
        event_types: Some(Vec::new()),
        organization_id: Some(None),
        ..Default::default()
    };
    fx.store.webhooks.update_endpoint(value.id, &update, later).await.unwrap();
    log(&mut fx, EventType::ApiSecretRotated, None, later).await;
    assert_eq!(fx.store.webhooks.fan_out(later, 100).await.unwrap(), 2);
    fx.store.webhooks.delete_endpoint(value.id).await.unwrap();
    expect_err!(
        fx.store.webhooks.get_endpoint(value.id).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );
    expect_err!(
        fx.store.webhooks.delete_endpoint(value.id).await,
        StoreError::NotFound(Entity::WebhookEndpoint)
    );
    assert!(deliveries_of(&fx.store, value.id).await.is_empty());
    assert_eq!(deliveries_of(&fx.store, earlier.id).await.len(), 1);
}

pub async fn fan_out_follows_filters_and_the_cursor(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let (org_a, org_b) = (a.organization.id, b.organization.id);
    let before = log(&mut fx, EventType::SessionRevoked, Some(org_a), t0()).await;

    let every = endpoint(&fx.store, t0(), &[], None).await;
    let revocations = endpoint(&fx.store, t0(), &[EventType::SessionRevoked], None).await;
    let of_a = endpoint(&fx.store, t0(), &[], Some(org_a)).await;
    let revocations_of_a =
        endpoint(&fx.store, t0(), &[EventType::SessionRevoked], Some(org_a)).await;
    assert_eq!(every.last_sequence, before.sequence);

    let e1 = log(&mut fx, EventType::SessionRevoked, Some(org_a), t0() + minutes(1)).await;
    let e2 = log(&mut fx, EventType::SessionCreated, Some(org_b), t0() + minutes(2)).await;
    let e3 = log(&mut fx, EventType::ApiSecretRotated, None, t0() + minutes(3)).await;
    let e4 = log(&mut fx, EventType::SessionRevoked, Some(org_b), t0() + minutes(4)).await;

    let now = t0() + minutes(5);
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 4 + 2 + 1 + 1);
    // Nothing twice.
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 0);

    let all = deliveries_of(&fx.store, every.id).await;
    assert_eq!(sequences(&all), vec![e1.sequence, e2.sequence, e3.sequence, e4.sequence]);
    assert_eq!(all[1].event, e2, "the delivery carries the event as logged");
    for d in &all {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!((d.attempts, d.next_attempt_at, d.created_at), (0, now, now));
        assert_eq!((d.last_attempt_at, d.last_status, d.last_error.clone()), (None, None, None));
        assert_eq!(d.endpoint_id, every.id);
    }
    let typed = deliveries_of(&fx.store, revocations.id).await;
    assert_eq!(sequences(&typed), vec![e1.sequence, e4.sequence]);
    // An organization filter excludes the other organization and deployment-wide events.
    assert_eq!(sequences(&deliveries_of(&fx.store, of_a.id).await), vec![e1.sequence]);
    assert_eq!(sequences(&deliveries_of(&fx.store, revocations_of_a.id).await), vec![e1.sequence]);
    for endpoint in [&every, &revocations, &of_a, &revocations_of_a] {
        let stored = fx.store.webhooks.get_endpoint(endpoint.id).await.unwrap();
        assert_eq!(stored.last_sequence, e4.sequence, "read, wanted or not");
    }

    // Each run moves each cursor by at most `batch` events.
    let mut more = Vec::new();
    for n in 0..5 {
        more.push(log(&mut fx, EventType::MemberDeleted, Some(org_b), now + minutes(n)).await);
    }
    assert_eq!(fx.store.webhooks.fan_out(now, 2).await.unwrap(), 2);
    let stored = fx.store.webhooks.get_endpoint(of_a.id).await.unwrap();
    assert_eq!(stored.last_sequence, more[1].sequence);
    assert_eq!(fx.store.webhooks.fan_out(now, 2).await.unwrap(), 2);
    assert_eq!(fx.store.webhooks.fan_out(now, 2).await.unwrap(), 1);
    assert_eq!(fx.store.webhooks.fan_out(now, 2).await.unwrap(), 0);
    assert_eq!(deliveries_of(&fx.store, every.id).await.len(), 4 + 5);
    assert_eq!(deliveries_of(&fx.store, of_a.id).await.len(), 1);

    // A disabled endpoint is passed over and its cursor waits; enabled again, it catches up.
    fx.store.webhooks.disable_endpoint(every.id, "paused", now).await.unwrap();
    let missed = log(&mut fx, EventType::MemberCreated, Some(org_a), now + minutes(9)).await;
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 1, "of_a only");
    let paused = fx.store.webhooks.get_endpoint(every.id).await.unwrap();
    assert_eq!(paused.last_sequence, more[4].sequence);
    let enable = EndpointUpdate { enabled: Some(true), ..Default::default() };
    fx.store.webhooks.update_endpoint(every.id, &enable, now).await.unwrap();
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 1);
    let last = deliveries_of(&fx.store, every.id).await.pop().unwrap();
    assert_eq!(last.event, missed);
    // A new endpoint gets nothing of what came before it.
    let late = endpoint(&fx.store, now, &[], None).await;
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 0);
    assert!(deliveries_of(&fx.store, late.id).await.is_empty());
}

pub async fn claims_and_records_follow_each_outcome(store: Store) {
    let mut fx = Fixture::new(store);
    let now = t0() + minutes(10);
    let value = WebhookEndpoint {
        secrets: vec![
            secret("ZXhwaXJlZC1zZWNyZXQtb2YtdGhlLXN1aXRl", t0(), Some(t0() + minutes(1))),
            secret("bGl2ZS1zZWNyZXQtb2YtdGhlLXN1aXRlISE", t0(), None),
        ],
        ..endpoint_value(t0())
    };
    let hook = fx.store.webhooks.create_endpoint(&value).await.unwrap();
    for n in 0..4 {
        log(&mut fx, EventType::SessionRevoked, None, t0() + minutes(n)).await;
    }
    assert_eq!(fx.store.webhooks.fan_out(now, 100).await.unwrap(), 4);
    let pending = deliveries_of(&fx.store, hook.id).await;

    let claimed = fx.store.webhooks.claim_deliveries(now, LEASE, 10).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|c| c.delivery.id).collect();
    assert_eq!(ids, pending.iter().map(|d| d.id).collect::<Vec<_>>());
    assert_eq!(claimed[0].url, hook.url);
    assert_eq!(claimed[0].secrets, vec![hook.secrets[1].clone()], "only the live secret signs");
    assert_eq!(claimed[0].delivery, pending[0]);
    assert!(!format!("{claimed:?}").contains("whsec_"));
    // Leased: no second claim takes them.
    assert!(fx.store.webhooks.claim_deliveries(now, LEASE, 10).await.unwrap().is_empty());

    let at = now + TimeDelta::seconds(1);
    let webhooks = &fx.store.webhooks;
    webhooks.record_attempt(ids[0], &AttemptRecord::Delivered { status: 204 }, at).await.unwrap();
    let retry_at = now + minutes(30);
    let long = "x".repeat(3 * MAX_STORED_ERROR_CHARS);
    let retry = AttemptRecord::Retry { status: Some(503), error: long, next_attempt_at: retry_at };
    webhooks.record_attempt(ids[1], &retry, at).await.unwrap();
    let failed_at = at + TimeDelta::seconds(1);
    let dead = AttemptRecord::Dead { status: None, error: "timed out".into() };
    webhooks.record_attempt(ids[2], &dead, failed_at).await.unwrap();

    let d0 = delivery(&fx.store, ids[0]).await;
    assert_eq!(d0.status, DeliveryStatus::Delivered);
    assert_eq!((d0.attempts, d0.last_attempt_at, d0.last_status), (1, Some(at), Some(204)));
    assert_eq!(d0.last_error, None);
    let d1 = delivery(&fx.store, ids[1]).await;
    assert_eq!(
        (d1.status, d1.attempts, d1.next_attempt_at),
        (DeliveryStatus::Pending, 1, retry_at)
    );
    assert_eq!(d1.last_status, Some(503));
    assert_eq!(d1.last_error.map(|e| e.chars().count()), Some(MAX_STORED_ERROR_CHARS));
    let d2 = delivery(&fx.store, ids[2]).await;
    assert_eq!((d2.status, d2.last_status), (DeliveryStatus::Dead, None));
    assert_eq!(d2.last_error.as_deref(), Some("timed out"));
    // Failing since the first failure, not the last.
    let stored = fx.store.webhooks.get_endpoint(hook.id).await.unwrap();
    assert_eq!(stored.failing_since, Some(at));
    assert!(stored.enabled);

    // A late record cannot undo a delivery.
    let late = AttemptRecord::Retry { status: None, error: "late".into(), next_attempt_at: at };
    webhooks.record_attempt(ids[0], &late, failed_at).await.unwrap();
    assert_eq!(delivery(&fx.store, ids[0]).await, d0);
    expect_err!(
        webhooks.record_attempt(DeliveryId::from_uuid(uuid::Uuid::nil()), &dead, at).await,
        StoreError::NotFound(Entity::WebhookDelivery)
    );

    // 410 Gone: dead, and the endpoint disabled; a disabled endpoint's deliveries wait.
    webhooks.record_attempt(ids[3], &AttemptRecord::Gone { status: 410 }, at).await.unwrap();
    let d3 = delivery(&fx.store, ids[3]).await;
    assert_eq!((d3.status, d3.last_status), (DeliveryStatus::Dead, Some(410)));
    let gone = fx.store.webhooks.get_endpoint(hook.id).await.unwrap();
    assert!(!gone.enabled);
    assert_eq!(gone.disabled_reason.as_deref(), Some(GONE_REASON));
    assert!(fx.store.webhooks.claim_deliveries(retry_at, LEASE, 10).await.unwrap().is_empty());

    // Enabled again: a fresh start, and the retry is claimed when due.
    let enable = EndpointUpdate { enabled: Some(true), ..Default::default() };
    let enabled = fx.store.webhooks.update_endpoint(hook.id, &enable, retry_at).await.unwrap();
    assert_eq!((enabled.disabled_reason, enabled.failing_since), (None, None));
    let before_due = retry_at - TimeDelta::seconds(1);
    assert!(fx.store.webhooks.claim_deliveries(before_due, LEASE, 10).await.unwrap().is_empty());
    let claimed = fx.store.webhooks.claim_deliveries(retry_at, LEASE, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.delivery.id).collect::<Vec<_>>(), vec![ids[1]]);
    let dead = AttemptRecord::Dead { status: Some(500), error: "again".into() };
    webhooks.record_attempt(ids[1], &dead, retry_at).await.unwrap();
    assert_eq!(
        fx.store.webhooks.get_endpoint(hook.id).await.unwrap().failing_since,
        Some(retry_at)
    );
    let d1 = delivery(&fx.store, ids[1]).await;
    assert_eq!((d1.status, d1.attempts), (DeliveryStatus::Dead, 2));
    // A success clears the failure.
    fx.store.webhooks.retry_delivery(ids[1], retry_at).await.unwrap();
    fx.store.webhooks.claim_deliveries(retry_at, LEASE, 10).await.unwrap();
    webhooks
        .record_attempt(ids[1], &AttemptRecord::Delivered { status: 200 }, retry_at)
        .await
        .unwrap();
    assert_eq!(fx.store.webhooks.get_endpoint(hook.id).await.unwrap().failing_since, None);
}

pub async fn an_expired_lease_is_claimable_again_with_the_same_id(store: Store) {
    let mut fx = Fixture::new(store);
    let hook = endpoint(&fx.store, t0(), &[], None).await;
    log(&mut fx, EventType::SessionRevoked, None, t0()).await;
    fx.store.webhooks.fan_out(t0(), 10).await.unwrap();
    let lease = TimeDelta::minutes(1);

    let first = fx.store.webhooks.claim_deliveries(t0(), lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    let during = t0() + TimeDelta::seconds(59);
    assert!(fx.store.webhooks.claim_deliveries(during, lease, 10).await.unwrap().is_empty());
    // The dispatcher died between sending and recording: at least once, with the same id.
    let again = fx.store.webhooks.claim_deliveries(t0() + lease, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.id, first[0].delivery.id);
    assert_eq!(again[0].delivery.attempts, 0);
    let done = AttemptRecord::Delivered { status: 200 };
    fx.store.webhooks.record_attempt(again[0].delivery.id, &done, t0() + lease).await.unwrap();
    let after = t0() + TimeDelta::hours(1);
    assert!(fx.store.webhooks.claim_deliveries(after, lease, 10).await.unwrap().is_empty());
    assert_eq!(deliveries_of(&fx.store, hook.id).await[0].status, DeliveryStatus::Delivered);
}

const EVENTS: usize = 200;
const DISPATCHERS: usize = 4;

/// Four fan-outs race over one endpoint, then four dispatchers loop claim → record until nothing
/// is left: every delivery is created once and claimed exactly once.
pub async fn concurrent_dispatchers_deliver_each_exactly_once(store: Store) {
    let mut fx = Fixture::new(store);
    let hook = endpoint(&fx.store, t0(), &[], None).await;
    let records: Vec<EventRecord> = (0..EVENTS)
        .map(|n| fx.event(EventType::SessionRevoked, t0() + TimeDelta::milliseconds(n as i64)))
        .collect();
    for chunk in records.chunks(50) {
        fx.store.events.append_events(chunk).await.unwrap();
    }
    let last = logged(&fx.store, &records[EVENTS - 1]).await.sequence;
    let now = t0() + minutes(1);

    let fan_outs: Vec<_> = (0..DISPATCHERS)
        .map(|_| {
            let store = fx.store.clone();
            tokio::spawn(async move {
                let mut created = 0;
                for _ in 0..15 {
                    created += store.webhooks.fan_out(now, 20).await.unwrap();
                    tokio::task::yield_now().await;
                }
                created
            })
        })
        .collect();
    let mut created = 0;
    for task in fan_outs {
        created += task.await.unwrap();
    }
    // Had every run been skipped while another held the endpoint, finish here.
    for _ in 0..EVENTS {
        if fx.store.webhooks.get_endpoint(hook.id).await.unwrap().last_sequence == last {
            break;
        }
        created += fx.store.webhooks.fan_out(now, 20).await.unwrap();
    }
    assert_eq!(created, EVENTS as u64, "each delivery created once");
    assert_eq!(deliveries_of(&fx.store, hook.id).await.len(), EVENTS);

    let dispatchers: Vec<_> = (0..DISPATCHERS)
        .map(|_| {
            let store = fx.store.clone();
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let batch = store.webhooks.claim_deliveries(now, LEASE, 7).await.unwrap();
                    if batch.is_empty() {
                        return claimed;
                    }
                    for claim in batch {
                        tokio::task::yield_now().await;
                        let done = AttemptRecord::Delivered { status: 200 };
                        store.webhooks.record_attempt(claim.delivery.id, &done, now).await.unwrap();
                        claimed.push(claim.delivery.id);
                    }
                }
            })
        })
        .collect();
    let mut claims: HashMap<DeliveryId, usize> = HashMap::new();
    for task in dispatchers {
        for id in task.await.unwrap() {
            *claims.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = claims.iter().filter(|&(_, &n)| n != 1).collect();
    let some: Vec<_> = twice.iter().take(3).collect();
    assert!(twice.is_empty(), "{} claimed more than once, e.g. {some:?}", twice.len());
    assert_eq!(claims.len(), EVENTS, "every delivery claimed");
    let delivered =
        DeliveryFilter { status: Some(DeliveryStatus::Delivered), ..Default::default() };
    let delivered = fx.store.webhooks.list_deliveries(&delivered, 1000).await.unwrap();
    assert_eq!(delivered.len(), EVENTS);
    assert!(delivered.iter().all(|d| d.attempts == 1));
    assert_eq!(fx.store.webhooks.backlog(now).await.unwrap().pending, 0);
}

pub async fn retry_brings_a_dead_delivery_back(store: Store) {
    let mut fx = Fixture::new(store);
    let hook = endpoint(&fx.store, t0(), &[], None).await;
    log(&mut fx, EventType::SessionRevoked, None, t0()).await;
    fx.store.webhooks.fan_out(t0(), 10).await.unwrap();
    let id = fx.store.webhooks.claim_deliveries(t0(), LEASE, 10).await.unwrap()[0].delivery.id;
    let dead = AttemptRecord::Dead { status: Some(500), error: "no attempts left".into() };
    fx.store.webhooks.record_attempt(id, &dead, t0()).await.unwrap();
    let dead_letters = DeliveryFilter { status: Some(DeliveryStatus::Dead), ..Default::default() };
    let listed = fx.store.webhooks.list_deliveries(&dead_letters, 10).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![id]);

    let later = t0() + TimeDelta::hours(1);
    let retried = fx.store.webhooks.retry_delivery(id, later).await.unwrap();
    assert_eq!((retried.status, retried.next_attempt_at), (DeliveryStatus::Pending, later));
    assert_eq!(retried.attempts, 1, "attempts are kept");
    assert_eq!(retried, delivery(&fx.store, id).await);
    assert!(fx.store.webhooks.list_deliveries(&dead_letters, 10).await.unwrap().is_empty());
    let claimed = fx.store.webhooks.claim_deliveries(later, LEASE, 10).await.unwrap();
    assert_eq!(claimed[0].delivery.id, id);
    let done = AttemptRecord::Delivered { status: 200 };
    fx.store.webhooks.record_attempt(id, &done, later).await.unwrap();
    // A delivered delivery is final: a retry returns it as it is.
    let delivered = fx.store.webhooks.retry_delivery(id, later + minutes(1)).await.unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(delivered, delivery(&fx.store, id).await);
    expect_err!(
        fx.store.webhooks.retry_delivery(DeliveryId::from_uuid(uuid::Uuid::nil()), later).await,
        StoreError::NotFound(Entity::WebhookDelivery)
    );

    // An event purged before its delivery: the claim makes the delivery dead, not sent.
    log(&mut fx, EventType::MemberDeleted, None, later).await;
    fx.store.webhooks.fan_out(later, 10).await.unwrap();
    let orphan = deliveries_of(&fx.store, hook.id).await.pop().unwrap().id;
    fx.store.events.purge_events(later + minutes(1), 100).await.unwrap();
    assert!(fx.store.webhooks.claim_deliveries(later, LEASE, 10).await.unwrap().is_empty());
    assert_eq!(fx.store.webhooks.backlog(later).await.unwrap().pending, 0, "dead, not pending");
    assert!(deliveries_of(&fx.store, hook.id).await.is_empty(), "nothing left to list");
    expect_err!(
        fx.store.webhooks.retry_delivery(orphan, later).await,
        StoreError::NotFound(Entity::WebhookDelivery)
    );
}

pub async fn backlog_counts_what_is_due(store: Store) {
    let mut fx = Fixture::new(store);
    let empty = fx.store.webhooks.backlog(t0()).await.unwrap();
    assert_eq!((empty.pending, empty.oldest_pending_at), (0, None));
    let hook = endpoint(&fx.store, t0(), &[], None).await;
    for n in 0..3 {
        log(&mut fx, EventType::SessionRevoked, None, t0() + minutes(n)).await;
    }
    let now = t0() + minutes(5);
    fx.store.webhooks.fan_out(now, 10).await.unwrap();
    assert_eq!(fx.store.webhooks.backlog(now - TimeDelta::seconds(1)).await.unwrap().pending, 0);
    let backlog = fx.store.webhooks.backlog(now).await.unwrap();
    assert_eq!((backlog.pending, backlog.oldest_pending_at), (3, Some(now)));

    // Claimed and being sent still counts; a retry scheduled later does not, yet.
    let claimed = fx.store.webhooks.claim_deliveries(now, LEASE, 2).await.unwrap();
    assert_eq!(fx.store.webhooks.backlog(now).await.unwrap().pending, 3);
    let retry_at = now + minutes(30);
    let retry =
        AttemptRecord::Retry { status: None, error: "refused".into(), next_attempt_at: retry_at };
    fx.store.webhooks.record_attempt(claimed[0].delivery.id, &retry, now).await.unwrap();
    let done = AttemptRecord::Delivered { status: 200 };
    fx.store.webhooks.record_attempt(claimed[1].delivery.id, &done, now).await.unwrap();
    let backlog = fx.store.webhooks.backlog(now + minutes(1)).await.unwrap();
    assert_eq!((backlog.pending, backlog.oldest_pending_at), (1, Some(now)));
    let backlog = fx.store.webhooks.backlog(retry_at).await.unwrap();
    assert_eq!((backlog.pending, backlog.oldest_pending_at), (2, Some(now)));
    // A disabled endpoint's deliveries are not sent: not backlog.
    fx.store.webhooks.disable_endpoint(hook.id, "paused", now).await.unwrap();
    assert_eq!(fx.store.webhooks.backlog(retry_at).await.unwrap().pending, 0);
}

pub async fn listings_filter_and_page(store: Store) {
    let mut fx = Fixture::new(store);
    let first = endpoint(&fx.store, t0(), &[], None).await;
    let second = endpoint(&fx.store, t0(), &[], None).await;
    for n in 0..3 {
        log(&mut fx, EventType::SessionRevoked, None, t0() + minutes(n)).await;
    }
    let now = t0() + minutes(5);
    assert_eq!(fx.store.webhooks.fan_out(now, 10).await.unwrap(), 6);

    let all = fx.store.webhooks.list_deliveries(&DeliveryFilter::default(), 100).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "id order");
    // Id order is the events' time order.
    assert!(all.windows(2).all(|w| w[0].event.record.occurred_at <= w[1].event.record.occurred_at));
    let page = fx.store.webhooks.list_deliveries(&DeliveryFilter::default(), 4).await.unwrap();
    let next = DeliveryFilter { after: Some(page[3].id), ..Default::default() };
    let rest = fx.store.webhooks.list_deliveries(&next, 100).await.unwrap();
    assert_eq!(page.iter().chain(&rest).cloned().collect::<Vec<_>>(), all);

    let of_second = deliveries_of(&fx.store, second.id).await;
    assert_eq!(of_second.len(), 3);
    assert!(of_second.iter().all(|d| d.endpoint_id == second.id));
    let claimed = fx.store.webhooks.claim_deliveries(now, LEASE, 100).await.unwrap();
    let of_first = claimed.iter().find(|c| c.delivery.endpoint_id == first.id).unwrap();
    let dead = AttemptRecord::Dead { status: Some(404), error: "not found".into() };
    fx.store.webhooks.record_attempt(of_first.delivery.id, &dead, now).await.unwrap();
    let dead_of_first = DeliveryFilter {
        endpoint_id: Some(first.id),
        status: Some(DeliveryStatus::Dead),
        ..Default::default()
    };
    let listed = fx.store.webhooks.list_deliveries(&dead_of_first, 100).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![of_first.delivery.id]);
    let dead_of_second = DeliveryFilter { endpoint_id: Some(second.id), ..dead_of_first };
    assert!(fx.store.webhooks.list_deliveries(&dead_of_second, 100).await.unwrap().is_empty());
    let pending = DeliveryFilter { status: Some(DeliveryStatus::Pending), ..Default::default() };
    assert_eq!(fx.store.webhooks.list_deliveries(&pending, 100).await.unwrap().len(), 5);
}
