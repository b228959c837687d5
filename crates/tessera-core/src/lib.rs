//! # tessera-core
//!
//! The rules of member sessions, as pure functions over plain types: identifiers and slugs,
//! session tokens and their hashes, lifetimes, authentication factors and assurance, roles and
//! authorization, custom claims, and the errors of all of these.
//!
//! This crate does no I/O and has no async code. It never reads the clock or the OS random
//! number generator by itself: every function that needs the time takes `now`, every function
//! that needs randomness takes a [`rand_core::CryptoRng`].

pub mod assurance;
pub mod claims;
pub mod email;
pub mod error;
pub mod event;
pub mod external_id;
pub mod factor;
pub mod id;
pub mod instant;
pub mod lifetime;
pub mod member;
pub mod metadata;
pub mod organization;
pub mod rbac;
pub mod session;
pub mod session_limit;
pub mod slug;
pub mod token;

pub use crate::{
    assurance::{AssuranceRequirement, MfaPolicy},
    claims::{ClaimNamespaces, CustomClaims},
    email::EmailAddress,
    error::{Error, ErrorType},
    event::{Actor, Event, EventFilter, EventId, EventRecord, EventType, RequestContext},
    external_id::ExternalId,
    factor::{AuthenticationFactor, DeliveryMethod, FactorInput, FactorText, FactorType},
    id::{MemberId, OrganizationId, SessionId},
    lifetime::{
        IdleTimeout, LifetimePolicy, MaxLifetime, SessionDuration, SessionStatus, SessionTimes,
        TouchInterval, touch_threshold,
    },
    member::{Member, MemberRef, MemberUpdate},
    metadata::Metadata,
    organization::{Organization, OrganizationName, OrganizationSettings, OrganizationUpdate},
    rbac::{AuthorizationCheck, Policy, RoleId, Verdict},
    session::{AuthenticatedSession, MemberSession, SessionAttributes},
    session_limit::{SessionLimit, WhenLimitReached},
    slug::{OrganizationRef, OrganizationSlug},
    token::{SessionToken, TokenHash, TokenPrefix},
};
