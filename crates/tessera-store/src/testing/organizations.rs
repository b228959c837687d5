//! Organization repository cases.

use tessera_core::{
    ExternalId, MaxLifetime, MemberRef, Metadata, MfaPolicy, OrganizationName, OrganizationRef,
    OrganizationSlug, OrganizationUpdate,
};

use super::{
    expect_err,
    fixture::{Fixture, t0},
};
use crate::{Constraint, Entity, Store, StoreError};

pub async fn create_then_get_by_id_and_slug(store: Store) {
    let mut fx = Fixture::new(store);
    let mut organization = fx.organization_value("acme");
    organization.external_id = Some(ExternalId::parse("crm-1").unwrap());
    organization.trusted_metadata = metadata(serde_json::json!({"tier": "enterprise"}));
    fx.store.organizations.create_organization(&organization, &[]).await.unwrap();

    let by_id = fx.store.organizations.get_organization(&organization.id.into()).await.unwrap();
    assert_eq!(by_id, organization);
    let by_slug =
        fx.store.organizations.get_organization(&organization.slug.clone().into()).await.unwrap();
    assert_eq!(by_slug, organization);
}

pub async fn get_unknown_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let never_stored = fx.organization_value("ghost");
    expect_err!(
        fx.store.organizations.get_organization(&never_stored.id.into()).await,
        StoreError::NotFound(Entity::Organization)
    );
    expect_err!(
        fx.store.organizations.get_organization(&never_stored.slug.into()).await,
        StoreError::NotFound(Entity::Organization)
    );
}

pub async fn duplicate_slug_conflicts_and_writes_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let first = fx.organization("acme").await;
    let mut second = fx.organization_value("other");
    second.slug = first.slug.clone();
    expect_err!(
        fx.store.organizations.create_organization(&second, &[]).await,
        StoreError::Conflict(Constraint::OrganizationSlug)
    );
    expect_err!(
        fx.store.organizations.get_organization(&second.id.into()).await,
        StoreError::NotFound(Entity::Organization)
    );
    let still = fx.store.organizations.get_organization(&first.slug.clone().into()).await.unwrap();
    assert_eq!(still.id, first.id);
}

pub async fn duplicate_id_conflicts(store: Store) {
    let mut fx = Fixture::new(store);
    let first = fx.organization("acme").await;
    let mut again = fx.organization_value("fresh");
    again.id = first.id;
    expect_err!(
        fx.store.organizations.create_organization(&again, &[]).await,
        StoreError::Conflict(Constraint::PrimaryKey)
    );
}

pub async fn duplicate_external_id_conflicts(store: Store) {
    let mut fx = Fixture::new(store);
    let mut first = fx.organization_value("acme");
    first.external_id = Some(ExternalId::parse("crm-7").unwrap());
    fx.store.organizations.create_organization(&first, &[]).await.unwrap();
    let mut second = fx.organization_value("globex");
    second.external_id = first.external_id.clone();
    expect_err!(
        fx.store.organizations.create_organization(&second, &[]).await,
        StoreError::Conflict(Constraint::OrganizationExternalId)
    );
    // Organizations without an external id never collide.
    fx.organization("one").await;
    fx.organization("two").await;
}

pub async fn update_replaces_fields(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let update = OrganizationUpdate {
        name: Some(OrganizationName::parse("Acme Renamed").unwrap()),
        slug: Some(OrganizationSlug::parse(&format!("{}-new", organization.slug)).unwrap()),
        external_id: Some(Some(ExternalId::parse("crm-9").unwrap())),
        mfa_policy: Some(MfaPolicy::RequiredForAll),
        trusted_metadata: Some(metadata(serde_json::json!({"tier": "free"}))),
        ..Default::default()
    };
    let at = t0() + chrono::TimeDelta::seconds(5);
    let updated = fx
        .store
        .organizations
        .update_organization(organization.id, &update, at, &[])
        .await
        .unwrap();
    let mut expected = organization.clone();
    update.apply_to(&mut expected);
    expected.updated_at = at;
    assert_eq!(updated, expected);
    let stored = fx.store.organizations.get_organization(&organization.id.into()).await.unwrap();
    assert_eq!(stored, expected);
    expect_err!(
        fx.store.organizations.get_organization(&organization.slug.into()).await,
        StoreError::NotFound(Entity::Organization)
    );
    // `Some(None)` clears an optional field; fields left out stay as they are.
    let clear = OrganizationUpdate { external_id: Some(None), ..Default::default() };
    let cleared =
        fx.store.organizations.update_organization(organization.id, &clear, at, &[]).await.unwrap();
    assert_eq!(cleared.external_id, None);
    assert_eq!(cleared.name, expected.name);
    assert_eq!(cleared.created_at, organization.created_at);
}

pub async fn update_to_taken_slug_conflicts_and_changes_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.organization("alpha").await;
    let b = fx.organization("beta").await;
    let grab = OrganizationUpdate {
        slug: Some(a.slug.clone()),
        name: Some(OrganizationName::parse("Should not stick").unwrap()),
        ..Default::default()
    };
    expect_err!(
        fx.store.organizations.update_organization(b.id, &grab, t0(), &[]).await,
        StoreError::Conflict(Constraint::OrganizationSlug)
    );
    assert_eq!(fx.store.organizations.get_organization(&b.id.into()).await.unwrap(), b);
    assert_eq!(fx.store.organizations.get_organization(&a.id.into()).await.unwrap(), a);
}

pub async fn update_unknown_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let ghost = fx.organization_value("ghost");
    let update = OrganizationUpdate {
        max_lifetime: Some(MaxLifetime::from_minutes(60).unwrap()),
        ..Default::default()
    };
    expect_err!(
        fx.store.organizations.update_organization(ghost.id, &update, t0(), &[]).await,
        StoreError::NotFound(Entity::Organization)
    );
}

fn metadata(value: serde_json::Value) -> Metadata {
    serde_json::from_value(value).unwrap()
}

/// Deleting an organization takes its members and sessions, and nothing of another one.
pub async fn delete_cascades_within_the_organization_only(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    fx.store.organizations.delete_organization(a.organization.id, &[]).await.unwrap();

    expect_err!(
        fx.store.organizations.get_organization(&a.organization.id.into()).await,
        StoreError::NotFound(Entity::Organization)
    );
    expect_err!(
        fx.store.members.get_member(a.organization.id, &MemberRef::Id(a.member.id)).await,
        StoreError::NotFound(Entity::Member)
    );
    expect_err!(
        fx.store.sessions.find_session_by_token(&a.token.hash(), t0()).await,
        StoreError::NotFound(Entity::Session)
    );
    // B is untouched.
    let found = fx.store.sessions.find_session_by_token(&b.token.hash(), t0()).await.unwrap();
    assert_eq!(found.session, b.session);
    expect_err!(
        fx.store.organizations.delete_organization(a.organization.id, &[]).await,
        StoreError::NotFound(Entity::Organization)
    );
}

pub async fn list_pages_in_id_order(store: Store) {
    let mut fx = Fixture::new(store);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(fx.organization(&format!("org{i}")).await);
    }
    created.sort_by_key(|o| o.id);
    let first = fx.store.organizations.list_organizations(None, 2).await.unwrap();
    assert_eq!(first, created[..2].to_vec());
    let rest = fx.store.organizations.list_organizations(Some(first[1].id), 10).await.unwrap();
    assert_eq!(rest, created[2..].to_vec());
    let none = fx.store.organizations.list_organizations(Some(created[4].id), 10).await.unwrap();
    assert!(none.is_empty());
}

/// A reference by slug never resolves to another organization's row.
pub async fn slug_reference_resolves_only_its_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let by_slug = fx
        .store
        .organizations
        .get_organization(&OrganizationRef::Slug(b.organization.slug.clone()))
        .await
        .unwrap();
    assert_eq!(by_slug.id, b.organization.id);
    assert_ne!(by_slug.id, a.organization.id);
}
