//! # tessera-store
//!
//! Storage for Tessera: the repository traits ([`OrganizationRepository`], [`MemberRepository`],
//! [`SessionRepository`], [`SigningKeyRepository`], [`DeploymentRepository`], [`EventRepository`],
//! [`WebhookRepository`]),
//! the [`Store`] that
//! bundles them, and three backends behind cargo features (all on by default):
//!
//! - `memory`: [`memory::MemoryStore`], for tests and small embeds;
//! - `sqlite`: [`sqlite::SqliteStore`], the embedded default, through rusqlite;
//! - `postgres`: [`postgres::PostgresStore`], the scale-out path, through sqlx.
//!
//! Every backend passes the same conformance suite ([`testing`], feature `testing`).

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod decoded;
pub mod deployment;
pub mod error;
#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
mod events;
pub mod repository;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
pub mod signing_key;
pub mod webhook;

#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::{
    deployment::Deployment,
    error::{Constraint, Entity, StoreError, StoreResult},
    repository::{
        AuthenticationWrite, DeploymentRepository, EventRepository, MemberRepository,
        OrganizationRepository, SessionKey, SessionRepository, SigningKeyRepository, Store,
        WebhookRepository,
    },
    signing_key::SigningKey,
    webhook::{
        AttemptRecord, Backlog, ClaimedDelivery, Delivery, DeliveryFilter, DeliveryId,
        DeliveryStatus, EndpointSecret, EndpointUpdate, WebhookEndpoint, WebhookEndpointId,
    },
};

#[cfg(feature = "mock")]
pub use crate::repository::{
    MockDeploymentRepository, MockEventRepository, MockMemberRepository,
    MockOrganizationRepository, MockSessionRepository, MockSigningKeyRepository,
    MockWebhookRepository,
};
