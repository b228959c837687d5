//! Member repository cases.

use tessera_core::{EmailAddress, MemberId, MemberRef, MemberUpdate, RoleId};

use super::{
    expect_err,
    fixture::{Fixture, t0},
};
use crate::{Constraint, Entity, Store, StoreError};

pub async fn create_then_get_by_id_email_and_external_id(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let mut member = fx.member_value(&organization, "Ada.Lovelace@Example.com");
    member.external_id = Some(fx.external_id("crm"));
    fx.store.members.create_member(&member, &[]).await.unwrap();

    let refs = [
        MemberRef::Id(member.id),
        MemberRef::Email(EmailAddress::parse("ada.lovelace@example.COM").unwrap()),
        MemberRef::ExternalId(member.external_id.clone().unwrap()),
    ];
    for reference in refs {
        let found = fx.store.members.get_member(organization.id, &reference).await.unwrap();
        assert_eq!(found, member, "{reference}");
    }
}

pub async fn create_in_unknown_organization_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let ghost = fx.organization_value("ghost");
    let member = fx.member_value(&ghost, "ada@example.com");
    expect_err!(
        fx.store.members.create_member(&member, &[]).await,
        StoreError::NotFound(Entity::Organization)
    );
    // Nothing half-written: creating the organization afterwards shows no such member.
    fx.store.organizations.create_organization(&ghost, &[]).await.unwrap();
    expect_err!(
        fx.store.members.get_member(ghost.id, &MemberRef::Id(member.id)).await,
        StoreError::NotFound(Entity::Member)
    );
}

pub async fn duplicate_email_conflicts_ignoring_case_within_one_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.organization("alpha").await;
    let b = fx.organization("beta").await;
    fx.member(&a, "ada@example.com").await;
    let clash = fx.member_value(&a, "ADA@example.com");
    expect_err!(
        fx.store.members.create_member(&clash, &[]).await,
        StoreError::Conflict(Constraint::MemberEmail)
    );
    expect_err!(
        fx.store.members.get_member(a.id, &MemberRef::Id(clash.id)).await,
        StoreError::NotFound(Entity::Member)
    );
    // The same person may be a member of another organization.
    fx.member(&b, "ada@example.com").await;
}

pub async fn duplicate_external_id_conflicts_within_one_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let a = fx.organization("alpha").await;
    let b = fx.organization("beta").await;
    let external_id = fx.external_id("crm");
    let mut first = fx.member_value(&a, "one@example.com");
    first.external_id = Some(external_id.clone());
    fx.store.members.create_member(&first, &[]).await.unwrap();
    let mut second = fx.member_value(&a, "two@example.com");
    second.external_id = Some(external_id.clone());
    expect_err!(
        fx.store.members.create_member(&second, &[]).await,
        StoreError::Conflict(Constraint::MemberExternalId)
    );
    let mut elsewhere = fx.member_value(&b, "two@example.com");
    elsewhere.external_id = Some(external_id);
    fx.store.members.create_member(&elsewhere, &[]).await.unwrap();
}

/// Organization B's member cannot be read through organization A, by any reference.
pub async fn get_through_another_organization_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let update =
        MemberUpdate { external_id: Some(Some(fx.external_id("crm"))), ..Default::default() };
    let member = fx
        .store
        .members
        .update_member(b.organization.id, b.member.id, &update, t0(), &[])
        .await
        .unwrap();
    let refs = [
        MemberRef::Id(member.id),
        MemberRef::Email(member.email_address.clone()),
        MemberRef::ExternalId(member.external_id.clone().unwrap()),
    ];
    for reference in refs {
        expect_err!(
            fx.store.members.get_member(a.organization.id, &reference).await,
            StoreError::NotFound(Entity::Member)
        );
    }
}

pub async fn update_replaces_fields(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let member = fx.member(&organization, "ada@example.com").await;
    let update = MemberUpdate {
        email_address: Some(EmailAddress::parse("ada@new.example").unwrap()),
        name: Some(None),
        roles: Some(vec![RoleId::parse("owner").unwrap(), RoleId::parse("billing").unwrap()]),
        external_id: Some(Some(fx.external_id("crm"))),
        untrusted_metadata: Some(
            serde_json::from_value(serde_json::json!({"theme": "dark"})).unwrap(),
        ),
        ..Default::default()
    };
    let at = t0() + chrono::TimeDelta::seconds(1);
    let updated =
        fx.store.members.update_member(organization.id, member.id, &update, at, &[]).await.unwrap();
    let mut expected = member.clone();
    update.apply_to(&mut expected);
    expected.updated_at = at;
    assert_eq!(updated, expected);
    assert_eq!(updated.trusted_metadata, member.trusted_metadata, "not named, not changed");
    let stored =
        fx.store.members.get_member(organization.id, &MemberRef::Id(member.id)).await.unwrap();
    assert_eq!(stored, expected);
    // The new email finds the member, ignoring case; the old one no longer does.
    let by_email = MemberRef::Email(EmailAddress::parse("ADA@new.example").unwrap());
    assert_eq!(
        fx.store.members.get_member(organization.id, &by_email).await.unwrap().id,
        member.id
    );
    expect_err!(
        fx.store
            .members
            .get_member(organization.id, &MemberRef::Email(member.email_address.clone()))
            .await,
        StoreError::NotFound(Entity::Member)
    );
}

pub async fn update_into_a_taken_email_conflicts_and_changes_nothing(store: Store) {
    let mut fx = Fixture::new(store);
    let organization = fx.organization("acme").await;
    let ada = fx.member(&organization, "ada@example.com").await;
    let bob = fx.member(&organization, "bob@example.com").await;
    let grab = MemberUpdate {
        email_address: Some(EmailAddress::parse("Ada@Example.com").unwrap()),
        name: Some(Some("Should not stick".into())),
        ..Default::default()
    };
    expect_err!(
        fx.store.members.update_member(organization.id, bob.id, &grab, t0(), &[]).await,
        StoreError::Conflict(Constraint::MemberEmail)
    );
    let stored =
        fx.store.members.get_member(organization.id, &MemberRef::Id(bob.id)).await.unwrap();
    assert_eq!(stored, bob);
    let stored =
        fx.store.members.get_member(organization.id, &MemberRef::Id(ada.id)).await.unwrap();
    assert_eq!(stored, ada);
}

/// An update that names organization A cannot change B's member.
pub async fn update_through_another_organization_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let hijack = MemberUpdate { name: Some(Some("hijacked".into())), ..Default::default() };
    expect_err!(
        fx.store.members.update_member(a.organization.id, b.member.id, &hijack, t0(), &[]).await,
        StoreError::NotFound(Entity::Member)
    );
    let stored =
        fx.store.members.get_member(b.organization.id, &MemberRef::Id(b.member.id)).await.unwrap();
    assert_eq!(stored, b.member);
}

/// Deleting a member ends all their sessions; deleting through another organization does nothing.
pub async fn delete_removes_member_and_sessions(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let second = fx.session(&a.member).await;

    expect_err!(
        fx.store.members.delete_member(b.organization.id, a.member.id, &[]).await,
        StoreError::NotFound(Entity::Member)
    );
    fx.store.sessions.find_session_by_token(&a.token.hash(), t0()).await.unwrap();

    fx.store.members.delete_member(a.organization.id, a.member.id, &[]).await.unwrap();
    expect_err!(
        fx.store.members.get_member(a.organization.id, &MemberRef::Id(a.member.id)).await,
        StoreError::NotFound(Entity::Member)
    );
    for token in [&a.token, &second.token] {
        expect_err!(
            fx.store.sessions.find_session_by_token(&token.hash(), t0()).await,
            StoreError::NotFound(Entity::Session)
        );
    }
    expect_err!(
        fx.store.members.delete_member(a.organization.id, a.member.id, &[]).await,
        StoreError::NotFound(Entity::Member)
    );
    // B's member and session are untouched.
    fx.store.sessions.find_session_by_token(&b.token.hash(), t0()).await.unwrap();
}

pub async fn list_pages_within_the_organization(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let mut members = vec![a.member.clone()];
    for i in 0..4 {
        members.push(fx.member(&a.organization, &format!("m{i}@example.com")).await);
    }
    members.sort_by_key(|m| m.id);
    let first = fx.store.members.list_members(a.organization.id, None, 3).await.unwrap();
    assert_eq!(first, members[..3].to_vec());
    let rest =
        fx.store.members.list_members(a.organization.id, Some(first[2].id), 10).await.unwrap();
    assert_eq!(rest, members[3..].to_vec());
    let of_b = fx.store.members.list_members(b.organization.id, None, 10).await.unwrap();
    assert_eq!(of_b, vec![b.member]);
}

/// The deployment-wide lookup answers with the member's own organization, whichever it is.
pub async fn find_member_organization_is_deployment_wide(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let colleague = fx.member(&a.organization, "bob@alpha.example").await;
    let members = &fx.store.members;
    assert_eq!(members.find_member_organization(a.member.id).await.unwrap(), a.organization.id);
    assert_eq!(members.find_member_organization(colleague.id).await.unwrap(), a.organization.id);
    assert_eq!(members.find_member_organization(b.member.id).await.unwrap(), b.organization.id);
}

pub async fn find_member_organization_of_unknown_or_deleted_is_not_found(store: Store) {
    let mut fx = Fixture::new(store);
    let (a, b) = fx.two_tenants().await;
    let never_stored = fx.member_value(&a.organization, "ghost@alpha.example");
    expect_err!(
        fx.store.members.find_member_organization(never_stored.id).await,
        StoreError::NotFound(Entity::Member)
    );
    // Only members are looked up: the id of an organization or a session is no member's.
    for other in [*a.organization.id.as_uuid(), *a.session.id.as_uuid()] {
        expect_err!(
            fx.store.members.find_member_organization(MemberId::from_uuid(other)).await,
            StoreError::NotFound(Entity::Member)
        );
    }
    fx.store.members.delete_member(a.organization.id, a.member.id, &[]).await.unwrap();
    expect_err!(
        fx.store.members.find_member_organization(a.member.id).await,
        StoreError::NotFound(Entity::Member)
    );
    assert_eq!(
        fx.store.members.find_member_organization(b.member.id).await.unwrap(),
        b.organization.id
    );
}
