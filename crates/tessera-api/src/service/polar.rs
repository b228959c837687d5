//! The two lookups that Polar's `POST /v1/customer-sessions/` needs and the rest of the API does
//! not: an organization by its external id (Polar's `external_customer_id`), and the
//! organization's owner member (whom Polar's customer session is for when no member is named).

use tessera_core::{ExternalId, Member, Organization, OrganizationRef};
use tessera_store::{Entity, StoreError};

use super::SessionService;
use crate::{
    error::{ServiceError, ServiceResult},
    views::polar::MemberRole,
};

/// Rows read per store call while scanning.
const PAGE: u32 = 500;

/// The Polar role name that designates an organization's owner explicitly.
pub const OWNER_ROLE: &str = "owner";

/// Why [`SessionService::owner_member`] found no single owner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// No member is an owner.
    #[error(
        "the organization has no owner member: give one member the `owner` role (or \
         `tessera_admin`), or name the member"
    )]
    NoOwner,
    /// Several members are owners at the deciding level of the rule, and none is preferred.
    #[error(
        "the organization has {count} owner members: name the member, or give exactly one of \
         them the `owner` role"
    )]
    SeveralOwners { count: usize },
    /// The organization could not be read, or the store failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl SessionService {
    /// The organization whose `external_id` is `external_id` (external ids are unique per
    /// deployment); `organization_not_found` if there is none.
    ///
    /// The store has no lookup by external id yet, so this pages through the organizations in
    /// id order: one store call per [`PAGE`] organizations. Fine for thousands of organizations;
    /// a deployment with many more needs a store lookup on the `organizations_external_id_key`
    /// index, which both SQL schemas already have.
    pub async fn organization_by_external_id(
        &self,
        external_id: &ExternalId,
    ) -> ServiceResult<Organization> {
        let mut after = None;
        loop {
            let page = self.shared.store.organizations.list_organizations(after, PAGE).await?;
            if let Some(found) = page.iter().find(|o| o.external_id.as_ref() == Some(external_id)) {
                return Ok(found.clone());
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.id),
                _ => return Err(StoreError::NotFound(Entity::Organization).into()),
            }
        }
    }

    /// The organization's owner member, by this rule (Polar keeps exactly one owner per
    /// customer; Tessera has no such constraint, so the rule says which member is meant):
    /// 1. the members holding the explicit role [`OWNER_ROLE`], if any;
    /// 2. else the members whose Polar role is `owner` by [`MemberRole::from_roles`], i.e.
    ///    holding `tessera_admin` without `billing_manager`.
    ///
    /// Exactly one member at the first level that has any is the owner; none at both levels is
    /// [`OwnerError::NoOwner`], several at the deciding level [`OwnerError::SeveralOwners`]:
    /// never a guess between people.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use tessera_api::{CreateMember, CreateOrganization, OwnerError, ServiceConfig, SessionService};
    /// use tessera_core::{EmailAddress, ExternalId, OrganizationName, OrganizationSlug, RoleId};
    ///
    /// let store = tessera_store::memory::MemoryStore::store();
    /// let service = SessionService::new(store, ServiceConfig::new("project-docs"));
    /// let mut request = CreateOrganization::new(
    ///     OrganizationName::parse("Acme")?,
    ///     OrganizationSlug::parse("acme")?,
    /// );
    /// request.external_id = Some(ExternalId::parse("crm-acme")?);
    /// let acme = service.create_organization(request).await?;
    /// let found = service.organization_by_external_id(&ExternalId::parse("crm-acme")?).await?;
    /// assert_eq!(found.id, acme.id);
    ///
    /// let nobody = service.owner_member(&acme.id.into()).await;
    /// assert!(matches!(nobody, Err(OwnerError::NoOwner)));
    /// let mut admin = CreateMember::new(EmailAddress::parse("olga@acme.example")?);
    /// admin.roles = vec![RoleId::admin()];
    /// let (olga, _) = service.create_member(&acme.id.into(), admin).await?;
    /// let (owner, _) = service.owner_member(&acme.id.into()).await?;
    /// assert_eq!(owner.id, olga.id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn owner_member(
        &self,
        organization: &OrganizationRef,
    ) -> Result<(Member, Organization), OwnerError> {
        let organization = self
            .shared
            .store
            .organizations
            .get_organization(organization)
            .await
            .map_err(ServiceError::from)?;
        let (mut explicit, mut admins) = (Vec::new(), Vec::new());
        let mut after = None;
        loop {
            let page = self
                .shared
                .store
                .members
                .list_members(organization.id, after, PAGE)
                .await
                .map_err(ServiceError::from)?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|m| m.id);
            for member in page {
                if member.roles.iter().any(|r| r.as_str() == OWNER_ROLE) {
                    explicit.push(member);
                } else if MemberRole::from_roles(&member.roles) == MemberRole::Owner {
                    admins.push(member);
                }
            }
            if !full {
                break;
            }
        }
        let deciding = if explicit.is_empty() { admins } else { explicit };
        let count = deciding.len();
        match <[Member; 1]>::try_from(deciding) {
            Ok([owner]) => Ok((owner, organization)),
            Err(_) if count == 0 => Err(OwnerError::NoOwner),
            Err(_) => Err(OwnerError::SeveralOwners { count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use tessera_core::{
        EmailAddress, ErrorType, OrganizationName, OrganizationSlug, Policy, RoleId,
    };

    use super::*;
    use crate::{CreateMember, CreateOrganization, ManualClock, SeededRandom, ServiceConfig};

    fn service() -> (SessionService, Arc<ManualClock>) {
        let policy = Policy::from_json(
            &json!({"resources": [], "roles": [
                {"role_id": "owner", "description": "Polar's owner", "permissions": []},
                {"role_id": "billing_manager", "description": "Polar's", "permissions": []}
            ]})
            .to_string(),
        )
        .unwrap();
        let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap()));
        let service = SessionService::new(
            tessera_store::memory::MemoryStore::store(),
            ServiceConfig::new("p"),
        )
        .with_clock(clock.clone())
        .with_random(Arc::new(SeededRandom::new(3)))
        .with_policy(policy);
        (service, clock)
    }

    async fn organization(service: &SessionService, n: usize) -> Organization {
        let mut request = CreateOrganization::new(
            OrganizationName::parse(&format!("Org {n}")).unwrap(),
            OrganizationSlug::parse(&format!("org-{n}")).unwrap(),
        );
        request.external_id = Some(ExternalId::parse(&format!("crm-{n}")).unwrap());
        service.create_organization(request).await.unwrap()
    }

    async fn member(
        service: &SessionService,
        org: &Organization,
        n: usize,
        roles: &[&str],
    ) -> Member {
        let mut request =
            CreateMember::new(EmailAddress::parse(&format!("m{n}@x.example")).unwrap());
        request.roles = roles.iter().map(|r| RoleId::parse(r).unwrap()).collect();
        service.create_member(&org.id.into(), request).await.unwrap().0
    }

    #[tokio::test]
    async fn finds_an_organization_by_external_id_past_the_first_pages() {
        let (service, _) = service();
        let mut organizations = Vec::new();
        for n in 0..(2 * PAGE as usize + 1) {
            organizations.push(organization(&service, n).await);
        }
        // The one with the greatest id sits on the last page of the scan.
        let last = organizations.iter().max_by_key(|o| o.id).unwrap();
        let external_id = last.external_id.clone().unwrap();
        assert_eq!(service.organization_by_external_id(&external_id).await.unwrap().id, last.id);
        let nobody = ExternalId::parse("crm-nobody").unwrap();
        let error = service.organization_by_external_id(&nobody).await.unwrap_err();
        assert_eq!(error.error_type(), ErrorType::OrganizationNotFound);
    }

    #[tokio::test]
    async fn the_owner_is_the_single_member_at_the_deciding_level() {
        let (service, clock) = service();
        let org = organization(&service, 0).await;
        let by_id = OrganizationRef::Id(org.id);
        for n in 0..(PAGE as usize + 1) {
            member(&service, &org, n, &[]).await;
        }
        assert!(matches!(service.owner_member(&by_id).await, Err(OwnerError::NoOwner)));

        // An admin is the owner (made later, so their id sorts after the first page of the
        // scan); an admin who is billing manager is not one.
        clock.advance(chrono::TimeDelta::seconds(1));
        member(&service, &org, 9001, &["tessera_admin", "billing_manager"]).await;
        let admin = member(&service, &org, 9002, &["tessera_admin"]).await;
        assert_eq!(service.owner_member(&by_id).await.unwrap().0.id, admin.id);
        member(&service, &org, 9003, &["tessera_admin"]).await;
        assert!(matches!(
            service.owner_member(&by_id).await,
            Err(OwnerError::SeveralOwners { count: 2 })
        ));

        // An explicit `owner` wins over the admins; two of them are ambiguous again.
        let owner = member(&service, &org, 9004, &["owner", "billing_manager"]).await;
        assert_eq!(service.owner_member(&by_id).await.unwrap().0.id, owner.id);
        member(&service, &org, 9005, &["owner"]).await;
        assert!(matches!(
            service.owner_member(&by_id).await,
            Err(OwnerError::SeveralOwners { count: 2 })
        ));

        // Another organization's owners are not this one's.
        let other = organization(&service, 1).await;
        assert!(matches!(
            service.owner_member(&OrganizationRef::Id(other.id)).await,
            Err(OwnerError::NoOwner)
        ));
        let unknown = OrganizationRef::Slug(OrganizationSlug::parse("nope").unwrap());
        match service.owner_member(&unknown).await {
            Err(OwnerError::Service(e)) => {
                assert_eq!(e.error_type(), ErrorType::OrganizationNotFound)
            }
            other => panic!("{other:?}"),
        }
    }
}
