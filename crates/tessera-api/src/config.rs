//! Deployment settings of the service.

use chrono::TimeDelta;
use tessera_core::{ClaimNamespaces, SessionDuration, SessionLimit, TokenPrefix, TouchInterval};

use crate::jwt::JwtProfile;

/// Settings that hold for the whole deployment (organizations have their own, see
/// `OrganizationSettings`).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The deployment's id: Stytch's project id, the JWT audience, Polar's merchant organization.
    pub project_id: String,
    /// Used when a create call gives no `session_duration_minutes` (Stytch: 60).
    pub default_session_duration: SessionDuration,
    /// `last_accessed_at` is written at most this often per session.
    pub touch_interval: TouchInterval,
    pub token_prefix: TokenPrefix,
    /// JWT claim names, which custom claims may not use.
    pub claim_namespaces: ClaimNamespaces,
    /// Session JWTs: issuer, audience, lifetime, algorithm, key cache and retention. Default:
    /// [`JwtProfile::stytch`] of `project_id` (set it again if you change `project_id`).
    pub jwt: JwtProfile,
    /// Polar's `member_portal_url`, with `{organization_slug}`, `{token}` and `{email}` filled in
    /// (URL-encoded).
    pub member_portal_url_template: String,
    /// Dead (expired or revoked) sessions are kept this long before purge deletes them, so that
    /// "why was I logged out?" can still be answered.
    pub purge_retention: TimeDelta,
    /// Sessions deleted per purge statement: bounded so authenticate latency stays flat.
    pub purge_batch_size: u32,
    /// After each batch, purge pauses this many times as long as the batch took (default 1:
    /// a purge uses at most half of the store's write capacity and of a core, so concurrent
    /// authenticates keep their latency; docs/BENCHMARKS.md). 0 purges flat out.
    pub purge_pause_ratio: u32,
    /// The session limit of an organization created without one (`None`: no limit). Applied
    /// when the organization is made, so an organization's stored setting is the one enforced.
    pub default_session_limit: Option<SessionLimit>,
    /// What the audit log records, and for how long.
    pub events: EventSettings,
}

/// What the audit log records (`tessera_core::event`), and how long it keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventSettings {
    /// Record events at all (default). Off, no write appends any: for embeds that keep their
    /// own log.
    pub enabled: bool,
    /// Also record `session.extended`, one per authenticate that extends (off by default: as
    /// many as sign-ins times their extensions).
    pub record_extensions: bool,
    /// Also record `session.purged`, one per purge run with its count (off by default).
    pub record_purges: bool,
    /// Events older than this are deleted by the purge (default 90 days: ASVS asks for a
    /// documented retention; Stytch keeps its event log 30 days, Polar nulls payloads at 90).
    pub retention: TimeDelta,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            record_extensions: false,
            record_purges: false,
            retention: TimeDelta::days(90),
        }
    }
}

impl ServiceConfig {
    pub fn new(project_id: impl Into<String>) -> Self {
        let project_id = project_id.into();
        Self {
            jwt: JwtProfile::stytch(&project_id),
            project_id,
            default_session_duration: SessionDuration::default(),
            touch_interval: TouchInterval::default(),
            token_prefix: TokenPrefix::default(),
            claim_namespaces: ClaimNamespaces::stytch(),
            member_portal_url_template:
                "http://127.0.0.1:3000/{organization_slug}/portal?member_session_token={token}&email={email}"
                    .into(),
            purge_retention: TimeDelta::days(7),
            purge_batch_size: 1000,
            purge_pause_ratio: 1,
            default_session_limit: None,
            events: EventSettings::default(),
        }
    }
}
