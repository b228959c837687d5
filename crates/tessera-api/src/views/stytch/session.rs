//! Stytch's `MemberSession` and `AuthenticationFactor`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_core::{MemberId, OrganizationId, RoleId, SessionId, factor as domain};

use crate::views::time;

/// `api_b2b_session_v1_MemberSession` (the seed schema; python `stytch/b2b/models/sessions.py`
/// `MemberSession`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberSession {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_session_id: SessionId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub member_id: MemberId,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub last_accessed_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub expires_at: DateTime<Utc>,
    pub authentication_factors: Vec<AuthenticationFactor>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "uuid"))]
    pub organization_id: OrganizationId,
    /// The session's roles, implicit ones included (`tessera_member` first).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub roles: Vec<RoleId>,
    pub organization_slug: String,
    /// Always present, `{}` when the session has none (optional in the SDK).
    pub custom_claims: Map<String, Value>,
}

impl MemberSession {
    /// The session as Stytch shows it. `roles` are the session's roles as computed for this
    /// request (`Policy::session_roles` of the member's current assignments), shown in the
    /// given order.
    pub fn new(
        session: &tessera_core::MemberSession,
        organization: &tessera_core::Organization,
        roles: &[RoleId],
    ) -> Self {
        debug_assert_eq!(session.organization_id, organization.id, "session of another org");
        Self {
            member_session_id: session.id,
            member_id: session.member_id,
            started_at: session.times.started_at,
            last_accessed_at: session.times.last_accessed_at,
            expires_at: session.times.expires_at,
            authentication_factors: session
                .authentication_factors
                .iter()
                .map(AuthenticationFactor::new)
                .collect(),
            organization_id: session.organization_id,
            roles: roles.to_vec(),
            organization_slug: organization.slug.as_str().to_owned(),
            custom_claims: session.custom_claims.as_map().clone(),
        }
    }
}

/// Stytch's flat `AuthenticationFactor` (python `stytch/consumer/models/sessions.py`, shared by
/// B2B): `type`, `delivery_method`, the three timestamps, and at most one detail object under
/// its own key (`email_factor`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticationFactor {
    #[serde(rename = "type")]
    pub factor_type: String,
    pub delivery_method: String,
    /// When the factor was first proved.
    #[serde(serialize_with = "time::stytch::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub last_authenticated_at: DateTime<Utc>,
    #[serde(serialize_with = "time::stytch::serialize")]
    pub updated_at: DateTime<Utc>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = FactorDetailFields))]
    pub detail: Option<FactorDetail>,
}

impl AuthenticationFactor {
    pub fn new(factor: &domain::AuthenticationFactor) -> Self {
        Self {
            factor_type: factor.factor_type().as_str().to_owned(),
            delivery_method: factor.delivery_method().as_str().to_owned(),
            created_at: factor.created_at(),
            last_authenticated_at: factor.last_authenticated_at(),
            updated_at: factor.updated_at(),
            detail: factor.detail().map(FactorDetail::new),
        }
    }
}

impl From<&domain::AuthenticationFactor> for AuthenticationFactor {
    fn from(factor: &domain::AuthenticationFactor) -> Self {
        Self::new(factor)
    }
}

/// A factor's detail object, serialized under its Stytch key (`email_factor`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FactorDetail {
    EmailFactor(EmailFactor),
    PhoneNumberFactor(PhoneNumberFactor),
    GoogleOauthFactor(OauthFactor),
    MicrosoftOauthFactor(OauthFactor),
    GithubOauthFactor(OauthFactor),
    HubspotOauthFactor(OauthFactor),
    SlackOauthFactor(OauthFactor),
    GoogleOauthExchangeFactor(OauthExchangeFactor),
    GithubOauthExchangeFactor(OauthExchangeFactor),
    HubspotOauthExchangeFactor(OauthExchangeFactor),
    SlackOauthExchangeFactor(OauthExchangeFactor),
    OauthAccessTokenExchangeFactor(OauthAccessTokenExchangeFactor),
    SamlSsoFactor(SsoFactor),
    OidcSsoFactor(SsoFactor),
    AuthenticatorAppFactor(AuthenticatorAppFactor),
    RecoveryCodeFactor(RecoveryCodeFactor),
    TrustedAuthTokenFactor(TrustedAuthTokenFactor),
    ImpersonatedFactor(ImpersonatedFactor),
    WebauthnFactor(WebauthnFactor),
}

impl FactorDetail {
    pub fn new(detail: &domain::FactorDetail) -> Self {
        use domain::FactorDetail as D;
        let text = |t: &domain::FactorText| t.as_str().to_owned();
        let oauth = |f: &domain::OauthFactor| OauthFactor {
            id: text(&f.id),
            provider_subject: text(&f.provider_subject),
            email_id: f.email_id.as_ref().map(text),
        };
        let exchange =
            |f: &domain::OauthExchangeFactor| OauthExchangeFactor { email_id: text(&f.email_id) };
        let sso = |f: &domain::SsoFactor| SsoFactor {
            id: text(&f.id),
            provider_id: text(&f.provider_id),
            external_id: text(&f.external_id),
        };
        match detail {
            D::EmailFactor(f) => Self::EmailFactor(EmailFactor {
                email_id: text(&f.email_id),
                email_address: f.email_address.as_str().to_owned(),
            }),
            D::PhoneNumberFactor(f) => Self::PhoneNumberFactor(PhoneNumberFactor {
                phone_id: text(&f.phone_id),
                phone_number: text(&f.phone_number),
            }),
            D::GoogleOauthFactor(f) => Self::GoogleOauthFactor(oauth(f)),
            D::MicrosoftOauthFactor(f) => Self::MicrosoftOauthFactor(oauth(f)),
            D::GithubOauthFactor(f) => Self::GithubOauthFactor(oauth(f)),
            D::HubspotOauthFactor(f) => Self::HubspotOauthFactor(oauth(f)),
            D::SlackOauthFactor(f) => Self::SlackOauthFactor(oauth(f)),
            D::GoogleOauthExchangeFactor(f) => Self::GoogleOauthExchangeFactor(exchange(f)),
            D::GithubOauthExchangeFactor(f) => Self::GithubOauthExchangeFactor(exchange(f)),
            D::HubspotOauthExchangeFactor(f) => Self::HubspotOauthExchangeFactor(exchange(f)),
            D::SlackOauthExchangeFactor(f) => Self::SlackOauthExchangeFactor(exchange(f)),
            D::OauthAccessTokenExchangeFactor(f) => {
                Self::OauthAccessTokenExchangeFactor(OauthAccessTokenExchangeFactor {
                    client_id: text(&f.client_id),
                })
            }
            D::SamlSsoFactor(f) => Self::SamlSsoFactor(sso(f)),
            D::OidcSsoFactor(f) => Self::OidcSsoFactor(sso(f)),
            D::AuthenticatorAppFactor(f) => {
                Self::AuthenticatorAppFactor(AuthenticatorAppFactor { totp_id: text(&f.totp_id) })
            }
            D::RecoveryCodeFactor(f) => Self::RecoveryCodeFactor(RecoveryCodeFactor {
                totp_recovery_code_id: text(&f.totp_recovery_code_id),
            }),
            D::TrustedAuthTokenFactor(f) => {
                Self::TrustedAuthTokenFactor(TrustedAuthTokenFactor { token_id: text(&f.token_id) })
            }
            D::ImpersonatedFactor(f) => Self::ImpersonatedFactor(ImpersonatedFactor {
                impersonator_id: text(&f.impersonator_id),
                impersonator_email_address: f.impersonator_email_address.as_str().to_owned(),
            }),
            D::WebauthnFactor(f) => Self::WebauthnFactor(WebauthnFactor {
                webauthn_registration_id: text(&f.webauthn_registration_id),
                domain: text(&f.domain),
                user_agent: f.user_agent.as_ref().map(text),
            }),
        }
    }
}

/// The OpenAPI schema of a flattened `FactorDetail` (as in `AuthenticationFactor`): **at most
/// one** of these keys, the one that fits the factor's type and delivery method. Only describes
/// the wire form; Tessera never builds it.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
pub struct FactorDetailFields {
    #[schema(nullable = false)]
    pub email_factor: Option<EmailFactor>,
    #[schema(nullable = false)]
    pub phone_number_factor: Option<PhoneNumberFactor>,
    #[schema(nullable = false)]
    pub google_oauth_factor: Option<OauthFactor>,
    #[schema(nullable = false)]
    pub microsoft_oauth_factor: Option<OauthFactor>,
    #[schema(nullable = false)]
    pub github_oauth_factor: Option<OauthFactor>,
    #[schema(nullable = false)]
    pub hubspot_oauth_factor: Option<OauthFactor>,
    #[schema(nullable = false)]
    pub slack_oauth_factor: Option<OauthFactor>,
    #[schema(nullable = false)]
    pub google_oauth_exchange_factor: Option<OauthExchangeFactor>,
    #[schema(nullable = false)]
    pub github_oauth_exchange_factor: Option<OauthExchangeFactor>,
    #[schema(nullable = false)]
    pub hubspot_oauth_exchange_factor: Option<OauthExchangeFactor>,
    #[schema(nullable = false)]
    pub slack_oauth_exchange_factor: Option<OauthExchangeFactor>,
    #[schema(nullable = false)]
    pub oauth_access_token_exchange_factor: Option<OauthAccessTokenExchangeFactor>,
    #[schema(nullable = false)]
    pub saml_sso_factor: Option<SsoFactor>,
    #[schema(nullable = false)]
    pub oidc_sso_factor: Option<SsoFactor>,
    #[schema(nullable = false)]
    pub authenticator_app_factor: Option<AuthenticatorAppFactor>,
    #[schema(nullable = false)]
    pub recovery_code_factor: Option<RecoveryCodeFactor>,
    #[schema(nullable = false)]
    pub trusted_auth_token_factor: Option<TrustedAuthTokenFactor>,
    #[schema(nullable = false)]
    pub impersonated_factor: Option<ImpersonatedFactor>,
    #[schema(nullable = false)]
    pub webauthn_factor: Option<WebauthnFactor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailFactor {
    pub email_id: String,
    pub email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneNumberFactor {
    pub phone_id: String,
    pub phone_number: String,
}

/// `google_oauth_factor`, `microsoft_oauth_factor`, `github_oauth_factor`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OauthFactor {
    pub id: String,
    pub provider_subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
}

/// `google_oauth_exchange_factor`, `github_oauth_exchange_factor`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OauthExchangeFactor {
    pub email_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OauthAccessTokenExchangeFactor {
    pub client_id: String,
}

/// `saml_sso_factor` and `oidc_sso_factor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoFactor {
    pub id: String,
    pub provider_id: String,
    pub external_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthenticatorAppFactor {
    pub totp_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodeFactor {
    pub totp_recovery_code_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedAuthTokenFactor {
    pub token_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpersonatedFactor {
    pub impersonator_id: String,
    pub impersonator_email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebauthnFactor {
    pub webauthn_registration_id: String,
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}
