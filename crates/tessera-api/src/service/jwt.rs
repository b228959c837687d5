//! Session JWTs in the service: minting for the operations, the JWKS, key rotation, and the two
//! verifications (remote, through the store; local, without it).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tessera_core::{AuthenticatedSession, RoleId};
use tessera_store::{Entity, StoreError};

use super::SessionService;
use crate::{
    error::ServiceResult,
    jwt::{
        self, Jwks, JwtError, LoadedKey, LocalSession, LocalVerification, SessionJwt, TimeRules,
    },
};

impl SessionService {
    /// The JWKS document: every key that verifies a JWT this deployment may still accept, the
    /// signing key first. Creates the deployment's first key if there is none yet. Serve it at
    /// `GET /v1/b2b/sessions/jwks/{project_id}`.
    pub async fn jwks(&self) -> ServiceResult<Jwks> {
        self.shared.keys.jwks(&self.shared.config.jwt, self.shared.clock.now()).await
    }

    /// Makes a new signing key, which signs from now on, and retires every other one: a retired
    /// key stays in the JWKS for [`crate::JwtProfile::retired_key_retention`] (until every JWT it
    /// signed has expired), then leaves it and is deleted from the store at the next reload.
    /// Other nodes pick the new key up within [`crate::JwtProfile::key_cache_ttl`]. Returns the
    /// new key's `kid`.
    pub async fn rotate_signing_key(&self) -> ServiceResult<String> {
        let now = self.shared.clock.now();
        self.shared
            .keys
            .rotate(&self.shared.config.jwt, now, |kid| {
                self.record(tessera_core::EventType::SigningKeyRotated, now, |e| {
                    e.with("kid", kid).with("algorithm", self.shared.config.jwt.algorithm.as_str())
                })
            })
            .await
    }

    /// A newly signed JWT of `found` as it is, issued now, with the member's current roles: for
    /// a host that holds a session (e.g. from [`Self::authenticate`] without a JWT) and needs
    /// its JWT after all. Always signs (no reuse). Refused (`mfa_required`) for a session that
    /// does not meet its organization's MFA policy: no such session ever carries a JWT.
    pub async fn session_jwt(&self, found: &AuthenticatedSession) -> ServiceResult<SessionJwt> {
        let now = self.shared.clock.now();
        let key = self.signing_key(now).await?;
        self.mint_jwt(&key, found, &self.session_roles(found), now)
    }

    /// Verifies a session JWT **without reading any session, member or organization**: the
    /// signature against the cached keys, and every claim, `exp` included (with
    /// `options.leeway`), plus the optional maximum token age. Returns what the JWT says.
    ///
    /// Revocations made **through this service or a clone of it** (revoke, a step-up's token
    /// rotation, exchange) count here at once: such a JWT is `session_not_found`, as remote
    /// authenticate would answer (the in-process list of `revoked.rs`, bounded, kept for the JWT
    /// lifetime). **A session revoked by another process keeps a valid JWT here until it
    /// expires** (at most the JWT lifetime, 5 minutes by default, plus the leeway); use
    /// [`Self::authenticate`] where every revocation must count at once.
    ///
    /// Store reads: none for a `kid` the node has cached. The signing-key table is read (one
    /// `list_signing_keys`) only if the node has never loaded its keys, or for an unknown `kid`
    /// when the cached keys are at least [`crate::JwtProfile::unknown_kid_reload_interval`] old;
    /// a `kid` still unknown after that is refused.
    pub async fn authenticate_jwt_local(
        &self,
        jwt: &str,
        options: LocalVerification,
    ) -> ServiceResult<LocalSession> {
        let now = self.shared.clock.now();
        let rules = TimeRules {
            leeway: options.leeway.max(TimeDelta::zero()),
            check_expiry: true,
            max_token_age: options.max_token_age,
        };
        let (claims, kid) = jwt::verify_jwt(
            &self.shared.keys,
            jwt,
            &self.shared.config.jwt,
            &self.shared.config.claim_namespaces,
            rules,
            now,
        )
        .await?;
        let local = claims.into_local(kid);
        if self.shared.revoked.is_revoked(
            local.session_id,
            local.organization_id,
            local.member_id,
            (local.issued_at, local.token_generation),
            now,
        ) {
            return Err(StoreError::NotFound(Entity::Session).into());
        }
        Ok(local)
    }

    /// The live session a JWT designates: signature and claims checked except `exp` (Stytch
    /// refreshes an expired JWT of a live session) but with `iat` no older than
    /// [`crate::JwtProfile::max_refresh_age`], then the session read by organization and id, so a
    /// revoked, expired or idle session is `session_not_found` like with a token, and so is one
    /// whose token was rotated after the JWT was minted.
    pub(super) async fn session_for_jwt(
        &self,
        jwt: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<AuthenticatedSession> {
        let rules = TimeRules {
            leeway: self.shared.config.jwt.clock_skew,
            check_expiry: false,
            max_token_age: Some(self.shared.config.jwt.max_refresh_age),
        };
        let (claims, _) = jwt::verify_jwt(
            &self.shared.keys,
            jwt,
            &self.shared.config.jwt,
            &self.shared.config.claim_namespaces,
            rules,
            now,
        )
        .await?;
        let found = self
            .shared
            .store
            .sessions
            .find_session_by_id(claims.organization.organization_id, claims.session.id, now)
            .await?;
        if found.member.id != claims.subject {
            return Err(JwtError::InvalidClaims("`sub` is not the session's member").into());
        }
        if found.session.token_generation != claims.session.token_generation {
            // Minted for a token that a step-up has replaced: it designates nothing live.
            return Err(StoreError::NotFound(Entity::Session).into());
        }
        Ok(found)
    }

    /// The key the next JWT is signed with; taken before an operation's first write, so that a
    /// key-table failure refuses the operation instead of leaving it half done.
    pub(super) async fn signing_key(&self, now: DateTime<Utc>) -> ServiceResult<Arc<LoadedKey>> {
        self.shared.keys.signer(&self.shared.config.jwt, now).await
    }

    /// A JWT of `found` (as it is after the operation's writes) with `roles`, issued at `now`.
    /// The one place JWTs are signed, so the one place that refuses to sign for a session that
    /// does not meet its organization's MFA policy.
    pub(super) fn mint_jwt(
        &self,
        key: &LoadedKey,
        found: &AuthenticatedSession,
        roles: &[RoleId],
        now: DateTime<Utc>,
    ) -> ServiceResult<SessionJwt> {
        if !found.meets_mfa_policy() {
            return Err(tessera_core::Error::MfaRequired.into());
        }
        Ok(jwt::mint(
            key,
            &self.shared.config.jwt,
            &self.shared.config.claim_namespaces,
            found,
            roles,
            now,
        )?)
    }

    /// [`Self::mint_jwt`], or the JWT minted for the same state of the session less than
    /// `reuse_window` ago (see `jwt/reuse.rs`).
    pub(super) fn reuse_or_mint_jwt(
        &self,
        key: &LoadedKey,
        found: &AuthenticatedSession,
        roles: &[RoleId],
        now: DateTime<Utc>,
    ) -> ServiceResult<SessionJwt> {
        let window = self.shared.config.jwt.reuse_window;
        if let Some(jwt) = self.shared.jwt_reuse.get(found, roles, &key.kid, now, window) {
            return Ok(jwt);
        }
        let jwt = self.mint_jwt(key, found, roles, now)?;
        self.shared.jwt_reuse.put(found, roles, &key.kid, now, &jwt);
        Ok(jwt)
    }
}
