//! The claim set of a session JWT: built from a session at mint time, parsed back (strictly)
//! after the signature is verified.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::{
    AuthenticatedSession, AuthenticationFactor, ClaimNamespaces, CustomClaims, MemberId,
    OrganizationId, OrganizationSlug, RoleId, SessionAttributes, SessionId,
    claims::REGISTERED_CLAIMS,
};

use super::{JwtError, JwtProfile, LocalSession};

/// The session claim (`https://stytch.com/session` in the Stytch profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionClaim {
    pub(crate) id: SessionId,
    #[serde(serialize_with = "crate::views::time::stytch::serialize")]
    pub(crate) started_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::views::time::stytch::serialize")]
    pub(crate) last_accessed_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::views::time::stytch::serialize")]
    pub(crate) expires_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) attributes: AttributesClaim,
    pub(crate) authentication_factors: Vec<AuthenticationFactor>,
    pub(crate) roles: Vec<RoleId>,
    /// Tessera's: the token generation the JWT was minted at. Calls that read the session refuse
    /// a JWT whose generation the session no longer holds (its token was rotated since). Absent
    /// in JWTs of earlier versions, which were all minted at generation 0.
    #[serde(default)]
    pub(crate) token_generation: u32,
}

/// Stytch sends both attributes as strings, empty when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct AttributesClaim {
    #[serde(default)]
    pub(crate) ip_address: String,
    #[serde(default)]
    pub(crate) user_agent: String,
}

impl AttributesClaim {
    fn new(attributes: &SessionAttributes) -> Self {
        Self {
            ip_address: attributes.ip_address.clone().unwrap_or_default(),
            user_agent: attributes.user_agent.clone().unwrap_or_default(),
        }
    }

    fn into_attributes(self) -> SessionAttributes {
        let non_empty = |s: String| if s.is_empty() { None } else { Some(s) };
        SessionAttributes {
            ip_address: non_empty(self.ip_address),
            user_agent: non_empty(self.user_agent),
        }
    }
}

/// The organization claim (`https://stytch.com/organization`); the key is `slug`, not
/// `organization_slug` (stytch-node PR #435).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrganizationClaim {
    pub(crate) organization_id: OrganizationId,
    pub(crate) slug: OrganizationSlug,
}

/// A verified claim set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionClaims {
    pub(crate) subject: MemberId,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) session: SessionClaim,
    pub(crate) organization: OrganizationClaim,
    pub(crate) custom: CustomClaims,
}

impl SessionClaims {
    pub(crate) fn into_local(self, key_id: String) -> LocalSession {
        LocalSession {
            session_id: self.session.id,
            member_id: self.subject,
            organization_id: self.organization.organization_id,
            organization_slug: self.organization.slug,
            started_at: self.session.started_at,
            last_accessed_at: self.session.last_accessed_at,
            expires_at: self.session.expires_at,
            attributes: self.session.attributes.into_attributes(),
            authentication_factors: self.session.authentication_factors,
            roles: self.session.roles,
            custom_claims: self.custom,
            issued_at: self.issued_at,
            jwt_expires_at: self.expires_at,
            key_id,
            token_generation: self.session.token_generation,
        }
    }
}

/// The payload of a JWT for `session` with `roles`, issued at `now` (whole seconds, rounded
/// down, so `iat <= now`). Custom claims go at the top level; one that collides with a
/// registered claim or a namespace (possible only if the namespaces changed after it was
/// stored) is left out rather than allowed to overwrite Tessera's claims.
pub(crate) fn build(
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
    found: &AuthenticatedSession,
    roles: &[RoleId],
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, serde_json::Error> {
    let issued_at = now.timestamp();
    let expires_at = issued_at.saturating_add(profile.lifetime.num_seconds());
    let mut claims: Map<String, Value> = found
        .session
        .custom_claims
        .as_map()
        .iter()
        .filter(|(key, _)| !namespaces.is_reserved(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let session = SessionClaim {
        id: found.session.id,
        started_at: found.session.times.started_at,
        last_accessed_at: found.session.times.last_accessed_at,
        expires_at: found.session.times.expires_at,
        attributes: AttributesClaim::new(&found.session.attributes),
        authentication_factors: found.session.authentication_factors.clone(),
        roles: roles.to_vec(),
        token_generation: found.session.token_generation,
    };
    let organization = OrganizationClaim {
        organization_id: found.organization.id,
        slug: found.organization.slug.clone(),
    };
    claims.insert("iss".into(), Value::String(profile.issuer.clone()));
    claims.insert("aud".into(), Value::Array(vec![Value::String(profile.audience.clone())]));
    claims.insert("sub".into(), serde_json::to_value(found.member.id)?);
    claims.insert("iat".into(), Value::from(issued_at));
    claims.insert("nbf".into(), Value::from(issued_at));
    claims.insert("exp".into(), Value::from(expires_at));
    claims.insert(namespaces.session.clone(), serde_json::to_value(&session)?);
    claims.insert(namespaces.organization.clone(), serde_json::to_value(&organization)?);
    Ok(claims)
}

/// Parses a payload whose signature was verified: issuer, audience, the registered claims'
/// presence and types, and the two namespace claims. Time rules are checked by the caller.
pub(crate) fn parse(
    mut payload: Map<String, Value>,
    profile: &JwtProfile,
    namespaces: &ClaimNamespaces,
) -> Result<SessionClaims, JwtError> {
    match payload.get("iss") {
        Some(Value::String(iss)) if *iss == profile.issuer => {}
        _ => return Err(JwtError::InvalidIssuer),
    }
    let audience_ok = match payload.get("aud") {
        Some(Value::String(aud)) => *aud == profile.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&profile.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(JwtError::InvalidAudience);
    }
    let subject = match payload.get("sub") {
        Some(Value::String(sub)) => {
            MemberId::parse(sub).map_err(|_| JwtError::InvalidClaims("`sub` is not a member id"))?
        }
        _ => return Err(JwtError::InvalidClaims("`sub` is missing")),
    };
    let issued_at = numeric_date(&payload, "iat")?;
    let not_before = numeric_date(&payload, "nbf")?;
    let expires_at = numeric_date(&payload, "exp")?;
    let session: SessionClaim = payload
        .remove(&namespaces.session)
        .map(serde_json::from_value)
        .ok_or(JwtError::InvalidClaims("the session claim is missing"))?
        .map_err(|_| JwtError::InvalidClaims("the session claim is malformed"))?;
    let organization: OrganizationClaim = payload
        .remove(&namespaces.organization)
        .map(serde_json::from_value)
        .ok_or(JwtError::InvalidClaims("the organization claim is missing"))?
        .map_err(|_| JwtError::InvalidClaims("the organization claim is malformed"))?;
    payload.retain(|key, _| !REGISTERED_CLAIMS.contains(&key.as_str()));
    let custom = CustomClaims::from_stored(Value::Object(payload))
        .map_err(|_| JwtError::InvalidClaims("the custom claims are too large"))?;
    Ok(SessionClaims { subject, issued_at, not_before, expires_at, session, organization, custom })
}

/// An RFC 7519 NumericDate, which Tessera always writes as an integer.
fn numeric_date(
    payload: &Map<String, Value>,
    name: &'static str,
) -> Result<DateTime<Utc>, JwtError> {
    let seconds = payload
        .get(name)
        .and_then(Value::as_i64)
        .ok_or(JwtError::InvalidClaims("`iat`, `nbf` and `exp` must be present as integers"))?;
    DateTime::from_timestamp(seconds, 0)
        .ok_or(JwtError::InvalidClaims("`iat`, `nbf` or `exp` is out of range"))
}

/// The time rules, at `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeRules {
    /// Tolerance on `nbf` and `iat` being in the future (and on `exp`, when checked).
    pub(crate) leeway: TimeDelta,
    /// `None`: `exp` is not checked (remote authenticate: Stytch refreshes expired JWTs of live
    /// sessions).
    pub(crate) check_expiry: bool,
    pub(crate) max_token_age: Option<TimeDelta>,
}

impl TimeRules {
    /// The comparisons of PyJWT (which Stytch's Python SDK uses), so that a JWT Tessera accepts
    /// locally is one Stytch's SDK accepts at the same instant with the same leeway:
    /// expired iff `exp <= now - leeway`; not yet valid iff `nbf > now + leeway` or
    /// `iat > now + leeway`; too old iff `now - iat >= max_token_age`.
    pub(crate) fn check(&self, claims: &SessionClaims, now: DateTime<Utc>) -> Result<(), JwtError> {
        if claims.not_before > now + self.leeway || claims.issued_at > now + self.leeway {
            return Err(JwtError::NotYetValid);
        }
        if self.check_expiry && claims.expires_at <= now - self.leeway {
            return Err(JwtError::Expired);
        }
        if let Some(max_age) = self.max_token_age
            && now - claims.issued_at >= max_age
        {
            return Err(JwtError::TooOld);
        }
        Ok(())
    }
}
