//! The member session, and the authenticated view of it (session + member + organization).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    assurance,
    claims::CustomClaims,
    factor::AuthenticationFactor,
    id::{MemberId, OrganizationId, SessionId},
    lifetime::{SessionStatus, SessionTimes},
    member::Member,
    organization::Organization,
    rbac::{Policy, RoleId, Subject},
};

/// Where the session was started from, as the host application reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionAttributes {
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// A member session as stored. Its token is not here: storage keeps only the token's hash, and
/// the raw token exists only in the response that creates or rotates it.
///
/// Together with its member and organization it holds every field of both seed objects:
/// Stytch's `MemberSession` (id, member and organization ids, the lifetime instants, factors,
/// custom claims; roles and slug come from member and organization) and Polar's `MemberSession`
/// (id, expiry, return URL, member, customer, created/modified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSession {
    pub id: SessionId,
    pub organization_id: OrganizationId,
    pub member_id: MemberId,
    #[serde(flatten)]
    pub times: SessionTimes,
    pub authentication_factors: Vec<AuthenticationFactor>,
    pub custom_claims: CustomClaims,
    pub attributes: SessionAttributes,
    /// Where the member portal sends the member back to (Polar).
    pub return_url: Option<String>,
    /// Last change to the row other than a touch (Polar's `modified_at`).
    pub updated_at: DateTime<Utc>,
    /// How many times the token was rotated (0 at sign-in). Every session JWT carries the
    /// generation it was minted at, so a JWT minted before a rotation designates a token that no
    /// longer exists and is refused by every call that reads the session.
    pub token_generation: u32,
}

impl MemberSession {
    pub fn created_at(&self) -> DateTime<Utc> {
        self.times.started_at
    }

    pub fn is_multi_factor(&self) -> bool {
        assurance::is_multi_factor(&self.authentication_factors)
    }
}

/// What a token lookup yields: the session with its member and organization, read together.
///
/// The member and the organization are shared (`Arc`): they change rarely and are the same for
/// every session of the member, so a store may hand out the values it holds (the memory store's
/// own, or a decoded row it cached) instead of a deep copy per lookup. They are read-only here;
/// [`Arc::unwrap_or_clone`] gives an owned value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedSession {
    pub session: MemberSession,
    pub member: Arc<Member>,
    pub organization: Arc<Organization>,
}

impl AuthenticatedSession {
    pub fn status(&self, now: DateTime<Utc>) -> SessionStatus {
        self.session.times.status(now, &self.organization.settings.lifetime)
    }

    /// Whether the session meets its organization's MFA policy. One that does not is good only
    /// for step-up: it never authenticates and never carries a session JWT.
    pub fn meets_mfa_policy(&self) -> bool {
        self.organization.settings.mfa_policy.is_met_by(&self.session.authentication_factors)
    }

    /// The session's roles under `policy`, from the member's current assignments.
    pub fn roles(&self, policy: &Policy) -> Vec<RoleId> {
        policy.session_roles(&self.member.roles)
    }

    /// The subject for an authorization check, given the roles computed by [`Self::roles`].
    pub fn subject<'a>(&'a self, roles: &'a [RoleId]) -> Subject<'a> {
        Subject {
            organization_id: self.organization.id,
            organization_slug: &self.organization.slug,
            roles,
        }
    }
}
