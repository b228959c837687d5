//! The directory: organizations and their members.

use serde_json::Value;
use tessera_core::{
    EmailAddress, EventType, ExternalId, Member, MemberId, MemberRef, MemberUpdate, Metadata,
    Organization, OrganizationId, OrganizationName, OrganizationRef, OrganizationSettings,
    OrganizationSlug, OrganizationUpdate, RoleId, SessionLimit, WhenLimitReached,
};

use super::SessionService;
use crate::error::ServiceResult;

/// Input of [`SessionService::create_organization`].
#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrganization {
    pub name: OrganizationName,
    pub slug: OrganizationSlug,
    pub external_id: Option<ExternalId>,
    pub email: Option<EmailAddress>,
    pub trusted_metadata: Metadata,
    /// The MFA policy and lifetimes. Its `session_limit` is not read: the two fields below say
    /// it, so that the deployment's default applies unless the caller names a limit.
    pub settings: OrganizationSettings,
    /// `None`: the deployment's `ServiceConfig::default_session_limit`; `Some(None)`: no limit.
    pub session_limit: Option<Option<SessionLimit>>,
    /// What a sign-in does at the limit, if there is one (else that limit's own behaviour).
    pub session_limit_behavior: Option<WhenLimitReached>,
}

impl CreateOrganization {
    pub fn new(name: OrganizationName, slug: OrganizationSlug) -> Self {
        Self {
            name,
            slug,
            external_id: None,
            email: None,
            trusted_metadata: Metadata::new(),
            settings: OrganizationSettings::default(),
            session_limit: None,
            session_limit_behavior: None,
        }
    }
}

/// Input of [`SessionService::update_organization`]: `None` leaves a field as it is; for
/// optional fields, `Some(None)` clears it. Only the named fields are written, so concurrent
/// updates of different fields are all kept.
pub type UpdateOrganization = OrganizationUpdate;

/// Input of [`SessionService::create_member`].
#[derive(Debug, Clone, PartialEq)]
pub struct CreateMember {
    pub email_address: EmailAddress,
    pub name: Option<String>,
    pub external_id: Option<ExternalId>,
    /// Explicit roles; every member also has `tessera_member` implicitly.
    pub roles: Vec<RoleId>,
    pub trusted_metadata: Metadata,
    pub untrusted_metadata: Metadata,
}

impl CreateMember {
    pub fn new(email_address: EmailAddress) -> Self {
        Self {
            email_address,
            name: None,
            external_id: None,
            roles: Vec::new(),
            trusted_metadata: Metadata::new(),
            untrusted_metadata: Metadata::new(),
        }
    }
}

/// Input of [`SessionService::update_member`]: `None` leaves a field as it is. Only the named
/// fields are written, so concurrent updates of different fields are all kept (an admin's role
/// removal is never undone by a concurrent metadata update).
pub type UpdateMember = MemberUpdate;

/// Longest member name accepted, in characters.
pub const MEMBER_NAME_MAX_CHARS: usize = 256;

fn check_name(name: Option<&String>) -> ServiceResult<()> {
    match name {
        Some(name)
            if name.chars().count() > MEMBER_NAME_MAX_CHARS
                || name.chars().any(char::is_control) =>
        {
            Err(crate::ServiceError::invalid(
                "name",
                "must be at most 256 characters without control characters",
            ))
        }
        _ => Ok(()),
    }
}

/// Roles as an event's payload holds them.
fn roles(roles: &[RoleId]) -> Value {
    Value::from(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
}

impl SessionService {
    pub async fn create_organization(
        &self,
        request: CreateOrganization,
    ) -> ServiceResult<Organization> {
        let now = self.shared.clock.now();
        let mut settings = request.settings;
        settings.session_limit = SessionLimit::resolve(
            self.shared.config.default_session_limit,
            request.session_limit,
            request.session_limit_behavior,
        );
        let organization = Organization {
            id: OrganizationId::generate(now, &mut self.rng()),
            name: request.name,
            slug: request.slug,
            external_id: request.external_id,
            email: request.email,
            trusted_metadata: request.trusted_metadata,
            settings,
            created_at: now,
            updated_at: now,
        };
        let events = self.record(EventType::OrganizationCreated, now, |e| {
            e.organization(organization.id).with("organization_slug", organization.slug.as_str())
        });
        self.shared.store.organizations.create_organization(&organization, &events).await?;
        Ok(organization)
    }

    pub async fn get_organization(
        &self,
        organization: &OrganizationRef,
    ) -> ServiceResult<Organization> {
        Ok(self.shared.store.organizations.get_organization(organization).await?)
    }

    /// Writes the fields `update` names, and only them.
    pub async fn update_organization(
        &self,
        organization: &OrganizationRef,
        update: UpdateOrganization,
    ) -> ServiceResult<Organization> {
        let now = self.shared.clock.now();
        let organization_id = match organization {
            OrganizationRef::Id(id) => *id,
            OrganizationRef::Slug(_) => {
                self.shared.store.organizations.get_organization(organization).await?.id
            }
        };
        let events = self.record(EventType::OrganizationUpdated, now, |e| {
            e.organization(organization_id).with("changed", update.changed_fields())
        });
        Ok(self
            .shared
            .store
            .organizations
            .update_organization(organization_id, &update, now, &events)
            .await?)
    }

    /// Deletes the organization, its members and their sessions.
    pub async fn delete_organization(
        &self,
        organization: &OrganizationRef,
    ) -> ServiceResult<OrganizationId> {
        let organization = self.shared.store.organizations.get_organization(organization).await?;
        let events = self.record(EventType::OrganizationDeleted, self.shared.clock.now(), |e| {
            e.organization(organization.id).with("organization_slug", organization.slug.as_str())
        });
        self.shared.store.organizations.delete_organization(organization.id, &events).await?;
        Ok(organization.id)
    }

    pub async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: u32,
    ) -> ServiceResult<Vec<Organization>> {
        Ok(self.shared.store.organizations.list_organizations(after, limit).await?)
    }

    /// Creates a member; their explicit roles must be defined by the policy.
    pub async fn create_member(
        &self,
        organization: &OrganizationRef,
        request: CreateMember,
    ) -> ServiceResult<(Member, Organization)> {
        self.shared.policy.check_assignable(&request.roles)?;
        check_name(request.name.as_ref())?;
        let organization = self.shared.store.organizations.get_organization(organization).await?;
        let now = self.shared.clock.now();
        let member = Member {
            id: MemberId::generate(now, &mut self.rng()),
            organization_id: organization.id,
            email_address: request.email_address,
            name: request.name,
            external_id: request.external_id,
            roles: request.roles,
            trusted_metadata: request.trusted_metadata,
            untrusted_metadata: request.untrusted_metadata,
            created_at: now,
            updated_at: now,
        };
        let events = self.record(EventType::MemberCreated, now, |e| {
            e.organization(organization.id).member(member.id).with("roles", roles(&member.roles))
        });
        self.shared.store.members.create_member(&member, &events).await?;
        Ok((member, organization))
    }

    pub async fn get_member(
        &self,
        organization: &OrganizationRef,
        member: &MemberRef,
    ) -> ServiceResult<(Member, Organization)> {
        let organization = self.shared.store.organizations.get_organization(organization).await?;
        let member = self.shared.store.members.get_member(organization.id, member).await?;
        Ok((member, organization))
    }

    /// Updates the fields `update` names, and only them. A role change applies to the member's
    /// sessions at their next authenticate.
    pub async fn update_member(
        &self,
        organization: &OrganizationRef,
        member: &MemberRef,
        update: UpdateMember,
    ) -> ServiceResult<(Member, Organization)> {
        if let Some(roles) = &update.roles {
            self.shared.policy.check_assignable(roles)?;
        }
        if let Some(name) = &update.name {
            check_name(name.as_ref())?;
        }
        let now = self.shared.clock.now();
        let (member, organization) = self.get_member(organization, member).await?;
        let subject =
            |e: tessera_core::EventRecord| e.organization(organization.id).member(member.id);
        let mut events = self.record(EventType::MemberUpdated, now, |e| {
            subject(e).with("changed", update.changed_fields())
        });
        // The roles as read here: the update replaces them whole, so `after` is exact and
        // `before` is what the member had when the administrator acted.
        if let Some(after) = update.roles.as_ref().filter(|after| **after != member.roles) {
            events.extend(self.record(EventType::MemberRolesChanged, now, |e| {
                subject(e).with("before", roles(&member.roles)).with("after", roles(after))
            }));
        }
        let member = self
            .shared
            .store
            .members
            .update_member(organization.id, member.id, &update, now, &events)
            .await?;
        Ok((member, organization))
    }

    /// Deletes a member and, with them, every session of theirs.
    pub async fn delete_member(
        &self,
        organization: &OrganizationRef,
        member: &MemberRef,
    ) -> ServiceResult<(MemberId, Organization)> {
        let (member, organization) = self.get_member(organization, member).await?;
        let events = self.record(EventType::MemberDeleted, self.shared.clock.now(), |e| {
            e.organization(organization.id).member(member.id)
        });
        self.shared.store.members.delete_member(organization.id, member.id, &events).await?;
        Ok((member.id, organization))
    }

    /// The organization of a member known only by id (ids are global). For callers holding the
    /// project credentials, such as Polar's `POST /v1/member-sessions/`, which names only the
    /// member.
    pub async fn locate_member(&self, member_id: MemberId) -> ServiceResult<OrganizationId> {
        Ok(self.shared.store.members.find_member_organization(member_id).await?)
    }

    pub async fn list_members(
        &self,
        organization: &OrganizationRef,
        after: Option<MemberId>,
        limit: u32,
    ) -> ServiceResult<(Vec<Member>, Organization)> {
        let organization = self.shared.store.organizations.get_organization(organization).await?;
        let members = self.shared.store.members.list_members(organization.id, after, limit).await?;
        Ok((members, organization))
    }
}
