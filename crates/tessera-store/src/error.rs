//! What can go wrong in storage, whatever the backend.

use std::fmt;

use tessera_core::ErrorType;

/// A boxed backend error, kept as the `source` of [`StoreError`] variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The kinds of stored things, for [`StoreError::NotFound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Organization,
    Member,
    Session,
    SigningKey,
    Deployment,
    WebhookEndpoint,
    WebhookDelivery,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Organization => "organization",
            Self::Member => "member",
            Self::Session => "session",
            Self::SigningKey => "signing key",
            Self::Deployment => "deployment",
            Self::WebhookEndpoint => "webhook endpoint",
            Self::WebhookDelivery => "webhook delivery",
        })
    }
}

/// The uniqueness rules a write can run into, for [`StoreError::Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Constraint {
    /// An organization, member, session, webhook endpoint or delivery id that already exists.
    PrimaryKey,
    OrganizationSlug,
    OrganizationExternalId,
    /// A member email, per organization, ignoring case.
    MemberEmail,
    /// A member external id, per organization.
    MemberExternalId,
    SessionTokenHash,
    SigningKeyId,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PrimaryKey => "id",
            Self::OrganizationSlug => "organization slug",
            Self::OrganizationExternalId => "organization external id",
            Self::MemberEmail => "member email in this organization",
            Self::MemberExternalId => "member external id in this organization",
            Self::SessionTokenHash => "session token hash",
            Self::SigningKeyId => "signing key id",
        })
    }
}

/// A storage failure. Every variant says what went wrong and keeps the backend's error as its
/// `source` where there is one. No variant carries a token or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Nothing matched, or what matched belongs to another organization (the two are
    /// indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(Entity),
    /// A uniqueness rule refused the write; nothing was written.
    #[error("{0} already used")]
    Conflict(Constraint),
    /// A domain rule refused the change (e.g. custom claims over the size limit after a patch).
    #[error(transparent)]
    Rejected(#[from] tessera_core::Error),
    /// The database refused a value as data (PostgreSQL SQLSTATE classes 22 "data exception" and
    /// 23 "integrity constraint violation" other than the uniqueness rules above, a `CHECK`
    /// failure in SQLite): bad input that slipped past the domain's parsers. Nothing was written;
    /// retrying the same request fails the same way.
    #[error("the database refused a value: {reason}")]
    InvalidValue {
        reason: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The database cannot be reached or refused to work (connection lost, pool exhausted,
    /// timed out, disk full). Retrying later may succeed.
    #[error("storage unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// A stored row cannot be read back into a domain value: the data is damaged or was written
    /// by something else.
    #[error("corrupt data in {table}: {reason}")]
    Corrupt {
        table: &'static str,
        reason: String,
        #[source]
        source: Option<BoxError>,
    },
    /// Opening the store or migrating its schema failed.
    #[error("cannot open store: {message}")]
    Open {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable { message: message.into(), source: Some(source.into()) }
    }

    pub fn invalid_value(reason: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::InvalidValue { reason: reason.into(), source: Some(source.into()) }
    }

    pub fn corrupt(table: &'static str, reason: impl Into<String>) -> Self {
        Self::Corrupt { table, reason: reason.into(), source: None }
    }

    pub fn corrupt_with(
        table: &'static str,
        reason: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Corrupt { table, reason: reason.into(), source: Some(source.into()) }
    }

    pub fn open(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Open { message: message.into(), source: Some(source.into()) }
    }

    /// The stable kind clients see.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::NotFound(Entity::Organization) => ErrorType::OrganizationNotFound,
            Self::NotFound(Entity::Member) => ErrorType::MemberNotFound,
            Self::NotFound(Entity::Session) => ErrorType::SessionNotFound,
            // The catalog has no kind for webhooks yet: an HTTP layer that serves them matches
            // these two itself (a 404) before falling back on this.
            Self::NotFound(Entity::WebhookEndpoint) => ErrorType::WebhookEndpointNotFound,
            Self::NotFound(Entity::WebhookDelivery) => ErrorType::WebhookDeliveryNotFound,
            Self::NotFound(Entity::SigningKey | Entity::Deployment) => {
                ErrorType::InternalServerError
            }
            Self::Conflict(Constraint::OrganizationSlug) => ErrorType::OrganizationSlugAlreadyUsed,
            Self::Conflict(Constraint::MemberEmail) => ErrorType::DuplicateEmail,
            Self::Conflict(Constraint::MemberExternalId | Constraint::OrganizationExternalId) => {
                ErrorType::DuplicateExternalId
            }
            Self::Conflict(_) => ErrorType::InternalServerError,
            Self::Rejected(e) => e.error_type(),
            Self::InvalidValue { .. } => ErrorType::InvalidRequest,
            Self::Unavailable { .. } => ErrorType::StorageUnavailable,
            Self::Corrupt { .. } | Self::Open { .. } => ErrorType::InternalServerError,
        }
    }
}

/// Shorthand for storage results.
pub type StoreResult<T> = Result<T, StoreError>;
