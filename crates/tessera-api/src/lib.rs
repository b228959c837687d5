//! # tessera-api
//!
//! [`SessionService`]: Tessera's operations (organizations, members, and the life of member
//! sessions) over a [`tessera_store::Store`], a [`Clock`], a [`RandomSource`], the RBAC policy
//! and the deployment's [`ServiceConfig`]; session JWTs, their signing keys and the JWKS
//! ([`jwt`]); and the wire views that render its results in
//! Stytch's and Polar's shapes ([`views`]).
//!
//! The service is the only layer that reads the clock and the OS random generator; the rules it
//! applies live in `tessera-core`, the SQL in `tessera-store`, HTTP in `tessera-server`.

/// The domain types (`tessera-core`), re-exported so that one dependency line suffices.
pub use tessera_core as core;
/// The stores (`tessera-store`), re-exported so that one dependency line suffices.
pub use tessera_store as store;

pub mod clock;
pub mod config;
pub mod error;
pub mod jwt;
pub mod random;
mod service;
pub mod views;

pub use crate::service::polar::{OWNER_ROLE, OwnerError};
pub use crate::{
    clock::{Clock, ManualClock, SystemClock},
    config::{EventSettings, ServiceConfig},
    error::{ServiceError, ServiceResult},
    jwt::{
        Jwk, Jwks, JwtAlgorithm, JwtError, JwtProfile, KeyError, LocalSession, LocalVerification,
        SessionJwt, VerifyingKey,
    },
    random::{OsRandom, RandomSource, SeededRandom},
    service::{
        AddFactor, Authenticate, Authenticated, CreateMember, CreateOrganization, CreateSession,
        CreateWebhookEndpoint, Credential, EVENTS_PAGE_MAX, Exchange, IP_ADDRESS_MAX_CHARS,
        IssuedSession, MEMBER_NAME_MAX_CHARS, MemberSessions, PENDING_MFA_LIFETIME,
        RETURN_URL_MAX_CHARS, REVOCATION_CAPACITY, Revoke, SessionService, SignInMethod,
        USER_AGENT_MAX_CHARS, UpdateMember, UpdateOrganization,
    },
};
