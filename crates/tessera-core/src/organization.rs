//! Organizations (Stytch's organization, Polar's customer) and their session settings.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    assurance::MfaPolicy,
    email::EmailAddress,
    error::Error,
    external_id::ExternalId,
    id::OrganizationId,
    lifetime::{IdleTimeout, LifetimePolicy, MaxLifetime},
    metadata::Metadata,
    session_limit::{SessionLimit, WhenLimitReached},
    slug::OrganizationSlug,
};

/// A display name: 1–256 characters, no control characters, not blank.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganizationName(String);

impl OrganizationName {
    pub const MAX_LEN: usize = 256;

    pub fn parse(s: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidOrganizationName { reason };
        if s.trim().is_empty() {
            return Err(invalid("must not be blank"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(invalid("must be at most 256 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrganizationName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<OrganizationName> for String {
    fn from(n: OrganizationName) -> Self {
        n.0
    }
}

impl fmt::Display for OrganizationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rules an organization sets for its members' sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrganizationSettings {
    pub mfa_policy: MfaPolicy,
    #[serde(flatten)]
    pub lifetime: LifetimePolicy,
    /// How many live sessions a member may hold here; `None`: no limit.
    #[serde(default)]
    pub session_limit: Option<SessionLimit>,
}

/// An organization: the union of what Stytch's `Organization` and Polar's `Customer` say about a
/// B2B account that Tessera needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: OrganizationName,
    pub slug: OrganizationSlug,
    /// The host application's key for this organization (Polar's `external_id`).
    pub external_id: Option<ExternalId>,
    /// A billing or contact address (Polar's customer `email`); optional, as for team customers.
    pub email: Option<EmailAddress>,
    /// Set by the server side only (Stytch's `trusted_metadata`, Polar's `metadata`).
    pub trusted_metadata: Metadata,
    pub settings: OrganizationSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to some fields of an organization: `None` leaves a field as it is; for optional
/// fields, `Some(None)` clears it. Stores apply exactly the named fields, in one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationUpdate {
    pub name: Option<OrganizationName>,
    pub slug: Option<OrganizationSlug>,
    pub external_id: Option<Option<ExternalId>>,
    pub email: Option<Option<EmailAddress>>,
    pub trusted_metadata: Option<Metadata>,
    pub mfa_policy: Option<MfaPolicy>,
    pub max_lifetime: Option<MaxLifetime>,
    pub idle_timeout: Option<Option<IdleTimeout>>,
    /// The limit: `Some(None)` removes it. Its behaviour stays the organization's unless
    /// `session_limit_behavior` names one.
    pub session_limit: Option<Option<SessionLimit>>,
    /// What a sign-in does at the limit; without a limit (after this update) it has no effect.
    pub session_limit_behavior: Option<WhenLimitReached>,
}

impl OrganizationUpdate {
    /// The wire names of the fields this update names (what an audit event lists as changed).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let Self {
            name,
            slug,
            external_id,
            email,
            trusted_metadata,
            mfa_policy,
            max_lifetime,
            idle_timeout,
            session_limit,
            session_limit_behavior,
        } = self;
        [
            ("organization_name", name.is_some()),
            ("organization_slug", slug.is_some()),
            ("organization_external_id", external_id.is_some()),
            ("email", email.is_some()),
            ("trusted_metadata", trusted_metadata.is_some()),
            ("mfa_policy", mfa_policy.is_some()),
            ("max_session_lifetime_minutes", max_lifetime.is_some()),
            ("idle_timeout_minutes", idle_timeout.is_some()),
            ("max_sessions_per_member", session_limit.is_some()),
            ("session_limit_behavior", session_limit_behavior.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, named)| named.then_some(field))
        .collect()
    }

    /// Whether the update changes when sessions end (their stored end instants must follow).
    /// A lower session limit does not: it applies at the next sign-in.
    pub fn changes_lifetime(&self) -> bool {
        self.max_lifetime.is_some() || self.idle_timeout.is_some()
    }

    /// Applies the named fields to `organization`.
    pub fn apply_to(&self, organization: &mut Organization) {
        let Self {
            name,
            slug,
            external_id,
            email,
            trusted_metadata,
            mfa_policy,
            max_lifetime,
            idle_timeout,
            session_limit,
            session_limit_behavior,
        } = self;
        if let Some(name) = name {
            organization.name = name.clone();
        }
        if let Some(slug) = slug {
            organization.slug = slug.clone();
        }
        if let Some(external_id) = external_id {
            organization.external_id = external_id.clone();
        }
        if let Some(email) = email {
            organization.email = email.clone();
        }
        if let Some(metadata) = trusted_metadata {
            organization.trusted_metadata = metadata.clone();
        }
        if let Some(policy) = mfa_policy {
            organization.settings.mfa_policy = *policy;
        }
        if let Some(max_lifetime) = max_lifetime {
            organization.settings.lifetime.max_lifetime = *max_lifetime;
        }
        if let Some(idle_timeout) = idle_timeout {
            organization.settings.lifetime.idle_timeout = *idle_timeout;
        }
        organization.settings.session_limit = SessionLimit::resolve(
            organization.settings.session_limit,
            *session_limit,
            *session_limit_behavior,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert!(OrganizationName::parse("Acme, Inc.").is_ok());
        assert!(OrganizationName::parse("").is_err());
        assert!(OrganizationName::parse("   ").is_err());
        assert!(OrganizationName::parse("a\nb").is_err());
        assert!(OrganizationName::parse(&"é".repeat(256)).is_ok());
        assert!(OrganizationName::parse(&"é".repeat(257)).is_err());
    }

    #[test]
    fn settings_serialize_flat_with_defaults() {
        let value = serde_json::to_value(OrganizationSettings::default()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"mfa_policy": "OPTIONAL", "max_lifetime": 527040, "idle_timeout": null,
                               "session_limit": null})
        );
        let back: OrganizationSettings = serde_json::from_value(value).unwrap();
        assert_eq!(back, OrganizationSettings::default());
        // Settings written before session limits had none.
        let older = serde_json::json!({"mfa_policy": "OPTIONAL", "max_lifetime": 527040,
                                       "idle_timeout": null});
        let back: OrganizationSettings = serde_json::from_value(older).unwrap();
        assert_eq!(back.session_limit, None);
    }
}
