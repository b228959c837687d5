//! Authentication factors: how a member proved who they are.
//!
//! Tessera does not verify factors (the host application did); it records which ones were used,
//! checks that each one is coherent (the delivery method fits the type, the detail object fits
//! the delivery method), and reasons about them (MFA, freshness; see [`crate::assurance`]).
//!
//! The serialized shape is Stytch's `AuthenticationFactor`: `type`, `delivery_method`, the three
//! timestamps, and at most one detail object under its own key (`email_factor`, ...).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    email::EmailAddress,
    error::{Error, echo},
};

/// What kind of proof a factor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorType {
    MagicLink,
    EmailOtp,
    Otp,
    Oauth,
    Sso,
    Password,
    Totp,
    RecoveryCodes,
    TrustedAuthToken,
    Impersonated,
    Imported,
    Webauthn,
}

/// The two kinds whose combination makes a session multi-factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactorKind {
    /// Something known, emailed or federated: the usual first factor.
    Primary,
    /// Something possessed: a phone, an authenticator, recovery codes, a security key.
    Possession,
}

impl FactorType {
    /// Every value, in declaration order.
    pub const ALL: [FactorType; 12] = [
        Self::MagicLink,
        Self::EmailOtp,
        Self::Otp,
        Self::Oauth,
        Self::Sso,
        Self::Password,
        Self::Totp,
        Self::RecoveryCodes,
        Self::TrustedAuthToken,
        Self::Impersonated,
        Self::Imported,
        Self::Webauthn,
    ];

    /// The wire value (Stytch's `type`), as serde writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MagicLink => "magic_link",
            Self::EmailOtp => "email_otp",
            Self::Otp => "otp",
            Self::Oauth => "oauth",
            Self::Sso => "sso",
            Self::Password => "password",
            Self::Totp => "totp",
            Self::RecoveryCodes => "recovery_codes",
            Self::TrustedAuthToken => "trusted_auth_token",
            Self::Impersonated => "impersonated",
            Self::Imported => "imported",
            Self::Webauthn => "webauthn",
        }
    }

    pub fn kind(self) -> FactorKind {
        match self {
            Self::Otp | Self::Totp | Self::RecoveryCodes | Self::Webauthn => FactorKind::Possession,
            Self::MagicLink
            | Self::EmailOtp
            | Self::Oauth
            | Self::Sso
            | Self::Password
            | Self::TrustedAuthToken
            | Self::Impersonated
            | Self::Imported => FactorKind::Primary,
        }
    }

    /// The delivery methods that can carry this type of factor.
    pub fn allowed_delivery_methods(self) -> &'static [DeliveryMethod] {
        use DeliveryMethod as D;
        match self {
            Self::MagicLink | Self::EmailOtp => &[D::Email],
            Self::Otp => &[D::Sms, D::Whatsapp],
            Self::Oauth => &[
                D::OauthGoogle,
                D::OauthMicrosoft,
                D::OauthGithub,
                D::OauthHubspot,
                D::OauthSlack,
                D::OauthExchangeGoogle,
                D::OauthExchangeGithub,
                D::OauthExchangeHubspot,
                D::OauthExchangeSlack,
                D::OauthAccessTokenExchange,
            ],
            Self::Sso => &[D::SsoSaml, D::SsoOidc],
            Self::Password => &[D::Knowledge],
            Self::Totp => &[D::AuthenticatorApp],
            Self::RecoveryCodes => &[D::RecoveryCode],
            Self::TrustedAuthToken => &[D::TrustedTokenExchange],
            Self::Impersonated => &[D::Impersonation],
            Self::Imported => &[D::ImportedAuth0],
            Self::Webauthn => &[D::WebauthnRegistration],
        }
    }
}

/// How a factor reached the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Email,
    Sms,
    Whatsapp,
    OauthGoogle,
    OauthMicrosoft,
    OauthGithub,
    OauthHubspot,
    OauthSlack,
    OauthExchangeGoogle,
    OauthExchangeGithub,
    OauthExchangeHubspot,
    OauthExchangeSlack,
    OauthAccessTokenExchange,
    SsoSaml,
    SsoOidc,
    Knowledge,
    AuthenticatorApp,
    RecoveryCode,
    TrustedTokenExchange,
    Impersonation,
    ImportedAuth0,
    WebauthnRegistration,
}

impl DeliveryMethod {
    /// Every value, in declaration order.
    pub const ALL: [DeliveryMethod; 22] = [
        Self::Email,
        Self::Sms,
        Self::Whatsapp,
        Self::OauthGoogle,
        Self::OauthMicrosoft,
        Self::OauthGithub,
        Self::OauthHubspot,
        Self::OauthSlack,
        Self::OauthExchangeGoogle,
        Self::OauthExchangeGithub,
        Self::OauthExchangeHubspot,
        Self::OauthExchangeSlack,
        Self::OauthAccessTokenExchange,
        Self::SsoSaml,
        Self::SsoOidc,
        Self::Knowledge,
        Self::AuthenticatorApp,
        Self::RecoveryCode,
        Self::TrustedTokenExchange,
        Self::Impersonation,
        Self::ImportedAuth0,
        Self::WebauthnRegistration,
    ];

    /// The wire value (Stytch's `delivery_method`), as serde writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::OauthGoogle => "oauth_google",
            Self::OauthMicrosoft => "oauth_microsoft",
            Self::OauthGithub => "oauth_github",
            Self::OauthHubspot => "oauth_hubspot",
            Self::OauthSlack => "oauth_slack",
            Self::OauthExchangeGoogle => "oauth_exchange_google",
            Self::OauthExchangeGithub => "oauth_exchange_github",
            Self::OauthExchangeHubspot => "oauth_exchange_hubspot",
            Self::OauthExchangeSlack => "oauth_exchange_slack",
            Self::OauthAccessTokenExchange => "oauth_access_token_exchange",
            Self::SsoSaml => "sso_saml",
            Self::SsoOidc => "sso_oidc",
            Self::Knowledge => "knowledge",
            Self::AuthenticatorApp => "authenticator_app",
            Self::RecoveryCode => "recovery_code",
            Self::TrustedTokenExchange => "trusted_token_exchange",
            Self::Impersonation => "impersonation",
            Self::ImportedAuth0 => "imported_auth0",
            Self::WebauthnRegistration => "webauthn_registration",
        }
    }
}

/// The detail object of a factor, serialized under its Stytch key (`email_factor`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The serialized key of this detail, for error messages.
    pub fn key(&self) -> &'static str {
        match self {
            Self::EmailFactor(_) => "email_factor",
            Self::PhoneNumberFactor(_) => "phone_number_factor",
            Self::GoogleOauthFactor(_) => "google_oauth_factor",
            Self::MicrosoftOauthFactor(_) => "microsoft_oauth_factor",
            Self::GithubOauthFactor(_) => "github_oauth_factor",
            Self::HubspotOauthFactor(_) => "hubspot_oauth_factor",
            Self::SlackOauthFactor(_) => "slack_oauth_factor",
            Self::GoogleOauthExchangeFactor(_) => "google_oauth_exchange_factor",
            Self::GithubOauthExchangeFactor(_) => "github_oauth_exchange_factor",
            Self::HubspotOauthExchangeFactor(_) => "hubspot_oauth_exchange_factor",
            Self::SlackOauthExchangeFactor(_) => "slack_oauth_exchange_factor",
            Self::OauthAccessTokenExchangeFactor(_) => "oauth_access_token_exchange_factor",
            Self::SamlSsoFactor(_) => "saml_sso_factor",
            Self::OidcSsoFactor(_) => "oidc_sso_factor",
            Self::AuthenticatorAppFactor(_) => "authenticator_app_factor",
            Self::RecoveryCodeFactor(_) => "recovery_code_factor",
            Self::TrustedAuthTokenFactor(_) => "trusted_auth_token_factor",
            Self::ImpersonatedFactor(_) => "impersonated_factor",
            Self::WebauthnFactor(_) => "webauthn_factor",
        }
    }

    /// Whether this detail describes a factor delivered by `method`.
    pub fn fits(&self, method: DeliveryMethod) -> bool {
        use DeliveryMethod as D;
        matches!(
            (self, method),
            (Self::EmailFactor(_), D::Email)
                | (Self::PhoneNumberFactor(_), D::Sms | D::Whatsapp)
                | (Self::GoogleOauthFactor(_), D::OauthGoogle)
                | (Self::MicrosoftOauthFactor(_), D::OauthMicrosoft)
                | (Self::GithubOauthFactor(_), D::OauthGithub)
                | (Self::HubspotOauthFactor(_), D::OauthHubspot)
                | (Self::SlackOauthFactor(_), D::OauthSlack)
                | (Self::GoogleOauthExchangeFactor(_), D::OauthExchangeGoogle)
                | (Self::GithubOauthExchangeFactor(_), D::OauthExchangeGithub)
                | (Self::HubspotOauthExchangeFactor(_), D::OauthExchangeHubspot)
                | (Self::SlackOauthExchangeFactor(_), D::OauthExchangeSlack)
                | (Self::OauthAccessTokenExchangeFactor(_), D::OauthAccessTokenExchange)
                | (Self::SamlSsoFactor(_), D::SsoSaml)
                | (Self::OidcSsoFactor(_), D::SsoOidc)
                | (Self::AuthenticatorAppFactor(_), D::AuthenticatorApp)
                | (Self::RecoveryCodeFactor(_), D::RecoveryCode)
                | (Self::TrustedAuthTokenFactor(_), D::TrustedTokenExchange)
                | (Self::ImpersonatedFactor(_), D::Impersonation)
                | (Self::WebauthnFactor(_), D::WebauthnRegistration)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailFactor {
    pub email_id: FactorText,
    pub email_address: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberFactor {
    pub phone_id: FactorText,
    pub phone_number: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OauthFactor {
    pub id: FactorText,
    pub provider_subject: FactorText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_id: Option<FactorText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OauthExchangeFactor {
    pub email_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OauthAccessTokenExchangeFactor {
    pub client_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoFactor {
    pub id: FactorText,
    pub provider_id: FactorText,
    pub external_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorAppFactor {
    pub totp_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeFactor {
    pub totp_recovery_code_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedAuthTokenFactor {
    pub token_id: FactorText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpersonatedFactor {
    pub impersonator_id: FactorText,
    pub impersonator_email_address: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebauthnFactor {
    pub webauthn_registration_id: FactorText,
    pub domain: FactorText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<FactorText>,
}

/// The most factors one session records. Every factor travels in every session JWT, so the bound
/// keeps the largest possible JWT well under the size Tessera itself accepts.
pub const MAX_FACTORS_PER_SESSION: usize = 8;

/// Refuses more than [`MAX_FACTORS_PER_SESSION`] factors.
pub fn check_factor_count(count: usize) -> Result<(), Error> {
    if count > MAX_FACTORS_PER_SESSION {
        return Err(invalid(format!(
            "a session records at most {MAX_FACTORS_PER_SESSION} authentication factors"
        )));
    }
    Ok(())
}

/// A free-text field of a factor's detail object (an id at the identity provider, a phone
/// number, a domain...): at most [`FactorText::MAX_CHARS`] characters, no control characters.
/// Bounded because it is stored with the session and copied into every session JWT.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FactorText(String);

impl FactorText {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.chars().count() > Self::MAX_CHARS {
            return Err(invalid(format!(
                "factor detail fields are at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid("factor detail fields must not contain control characters".into()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FactorText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl std::str::FromStr for FactorText {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for FactorText {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<FactorText> for String {
    fn from(text: FactorText) -> Self {
        text.0
    }
}

/// What the host application reports about one factor it verified.
///
/// Deserialized strictly: at most one detail object, under a key this version knows, that fits
/// its schema and bounds; `created_at` / `updated_at` (as in a factor copied from a Stytch
/// response) and detail keys whose value is `null` are ignored. Anything else is refused rather
/// than dropped, so a factor is never stored with less than the host said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawFactorInput")]
pub struct FactorInput {
    #[serde(rename = "type")]
    pub factor_type: FactorType,
    pub delivery_method: DeliveryMethod,
    /// When the member proved this factor; `now` if not given or later than `now`.
    #[serde(default)]
    pub last_authenticated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub detail: Option<FactorDetail>,
}

/// A coherent authentication factor. Only constructible through [`AuthenticationFactor::new`]
/// (or deserialization, which runs the same checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawFactor")]
pub struct AuthenticationFactor {
    #[serde(rename = "type")]
    factor_type: FactorType,
    delivery_method: DeliveryMethod,
    created_at: DateTime<Utc>,
    last_authenticated_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    detail: Option<FactorDetail>,
}

impl AuthenticationFactor {
    /// Validates what the host reported, stamping it at `now`.
    pub fn new(input: FactorInput, now: DateTime<Utc>) -> Result<Self, Error> {
        // A time after `now` is the host's clock running ahead of ours: read as `now`. It
        // claims no more than leaving the field out (which means `now`), so it grants nothing.
        let authenticated_at = input.last_authenticated_at.map_or(now, |at| at.min(now));
        check_coherent(input.factor_type, input.delivery_method, input.detail.as_ref())?;
        Ok(Self {
            factor_type: input.factor_type,
            delivery_method: input.delivery_method,
            created_at: authenticated_at,
            last_authenticated_at: authenticated_at,
            updated_at: authenticated_at,
            detail: input.detail,
        })
    }

    pub fn factor_type(&self) -> FactorType {
        self.factor_type
    }

    pub fn delivery_method(&self) -> DeliveryMethod {
        self.delivery_method
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    pub fn last_authenticated_at(&self) -> DateTime<Utc> {
        self.last_authenticated_at
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    pub fn detail(&self) -> Option<&FactorDetail> {
        self.detail.as_ref()
    }

    /// The same proof, made again at `at` (e.g. a second TOTP code during step-up).
    pub fn reauthenticated(&self, at: DateTime<Utc>) -> Self {
        Self { last_authenticated_at: at, updated_at: at, ..self.clone() }
    }

    /// Whether two factors are the same proof (same type, delivery and detail), regardless of
    /// when they were made.
    pub fn same_proof_as(&self, other: &AuthenticationFactor) -> bool {
        self.factor_type == other.factor_type
            && self.delivery_method == other.delivery_method
            && self.detail == other.detail
    }

    /// The email address this factor proved control of, if it names one: an email-delivered
    /// factor (magic link, email OTP) with its `email_factor` detail.
    pub fn proven_email(&self) -> Option<&EmailAddress> {
        match (&self.delivery_method, &self.detail) {
            (DeliveryMethod::Email, Some(FactorDetail::EmailFactor(detail))) => {
                Some(&detail.email_address)
            }
            _ => None,
        }
    }

    /// Whether this factor stays valid when the person moves into the membership of `email` in
    /// another organization: only a proof of control of that very address does (the address is
    /// what ties the two memberships together). An email factor that does not say which address
    /// it proved does not carry over.
    pub fn proves_email(&self, email: &EmailAddress) -> bool {
        self.proven_email().is_some_and(|proven| proven.same_as(email))
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidAuthenticationFactor { reason }
}

fn check_coherent(
    factor_type: FactorType,
    method: DeliveryMethod,
    detail: Option<&FactorDetail>,
) -> Result<(), Error> {
    let type_name = factor_type.as_str();
    let method_name = method.as_str();
    if !factor_type.allowed_delivery_methods().contains(&method) {
        return Err(invalid(format!(
            "delivery_method `{method_name}` does not fit type `{type_name}`"
        )));
    }
    if let Some(detail) = detail
        && !detail.fits(method)
    {
        return Err(invalid(format!(
            "`{}` does not describe a factor delivered by `{method_name}`",
            detail.key()
        )));
    }
    Ok(())
}

/// [`FactorInput`] as sent, before its detail object is parsed.
#[derive(Deserialize)]
struct RawFactorInput {
    #[serde(rename = "type")]
    factor_type: FactorType,
    delivery_method: DeliveryMethod,
    #[serde(default)]
    last_authenticated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl TryFrom<RawFactorInput> for FactorInput {
    type Error = Error;
    fn try_from(raw: RawFactorInput) -> Result<Self, Error> {
        let mut rest = raw.rest;
        rest.remove("created_at");
        rest.remove("updated_at");
        Ok(Self {
            factor_type: raw.factor_type,
            delivery_method: raw.delivery_method,
            last_authenticated_at: raw.last_authenticated_at,
            detail: detail_from(rest)?,
        })
    }
}

/// The one detail object among the remaining keys of a factor, parsed strictly (see
/// [`FactorInput`]).
fn detail_from(
    mut rest: serde_json::Map<String, serde_json::Value>,
) -> Result<Option<FactorDetail>, Error> {
    rest.retain(|_, value| !value.is_null());
    match rest.len() {
        0 => Ok(None),
        1 => {
            let key = rest.keys().next().map(|k| echo(k)).unwrap_or_default();
            serde_json::from_value(serde_json::Value::Object(rest)).map(Some).map_err(|e| {
                invalid(format!(
                    "`{key}` is not a detail object this version reads: {}",
                    echo(&e.to_string())
                ))
            })
        }
        _ => Err(invalid("a factor has at most one detail object".to_owned())),
    }
}

/// The stored form, checked on the way in so a corrupted row cannot yield an incoherent factor.
/// Every session lookup reads it, so it is read by hand ([`RawFactorVisitor`]) rather than
/// through `#[serde(flatten)]`, which buffers the whole object first.
struct RawFactor {
    factor_type: FactorType,
    delivery_method: DeliveryMethod,
    created_at: DateTime<Utc>,
    last_authenticated_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The keys other than the five above (the detail object, if any).
    rest: serde_json::Map<String, serde_json::Value>,
}

impl<'de> Deserialize<'de> for RawFactor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawFactorVisitor)
    }
}

struct RawFactorVisitor;

/// An instant of the stored form (`crate::instant`: chrono's RFC 3339, read fast).
struct StoredInstant(DateTime<Utc>);

impl<'de> Deserialize<'de> for StoredInstant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::instant::deserialize(deserializer).map(Self)
    }
}

impl<'de> serde::de::Visitor<'de> for RawFactorVisitor {
    type Value = RawFactor;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an authentication factor object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawFactor, A::Error> {
        use serde::de::Error as _;
        fn once<T, E: serde::de::Error>(
            slot: &mut Option<T>,
            key: &'static str,
            value: T,
        ) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::duplicate_field(key)),
            }
        }
        let (mut factor_type, mut delivery_method) = (None, None);
        let (mut created_at, mut last_authenticated_at, mut updated_at) = (None, None, None);
        let mut rest = serde_json::Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => once(&mut factor_type, "type", map.next_value()?)?,
                "delivery_method" => {
                    once(&mut delivery_method, "delivery_method", map.next_value()?)?
                }
                "created_at" => {
                    once(&mut created_at, "created_at", map.next_value::<StoredInstant>()?.0)?
                }
                "last_authenticated_at" => once(
                    &mut last_authenticated_at,
                    "last_authenticated_at",
                    map.next_value::<StoredInstant>()?.0,
                )?,
                "updated_at" => {
                    once(&mut updated_at, "updated_at", map.next_value::<StoredInstant>()?.0)?
                }
                _ => {
                    rest.insert(key.into_owned(), map.next_value()?);
                }
            }
        }
        Ok(RawFactor {
            factor_type: factor_type.ok_or_else(|| A::Error::missing_field("type"))?,
            delivery_method: delivery_method
                .ok_or_else(|| A::Error::missing_field("delivery_method"))?,
            created_at: created_at.ok_or_else(|| A::Error::missing_field("created_at"))?,
            last_authenticated_at: last_authenticated_at
                .ok_or_else(|| A::Error::missing_field("last_authenticated_at"))?,
            updated_at: updated_at.ok_or_else(|| A::Error::missing_field("updated_at"))?,
            rest,
        })
    }
}

impl TryFrom<RawFactor> for AuthenticationFactor {
    type Error = Error;
    fn try_from(raw: RawFactor) -> Result<Self, Error> {
        let detail = detail_from(raw.rest)?;
        check_coherent(raw.factor_type, raw.delivery_method, detail.as_ref())?;
        Ok(Self {
            factor_type: raw.factor_type,
            delivery_method: raw.delivery_method,
            created_at: raw.created_at,
            last_authenticated_at: raw.last_authenticated_at,
            updated_at: raw.updated_at,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::error::ErrorType;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
    }

    fn input(value: serde_json::Value) -> FactorInput {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn magic_link_with_email_detail_round_trips_in_stytch_shape() {
        let factor = AuthenticationFactor::new(
            input(json!({
                "type": "magic_link",
                "delivery_method": "email",
                "email_factor": {"email_id": "email-1", "email_address": "ada@example.com"}
            })),
            now(),
        )
        .unwrap();
        let value = serde_json::to_value(&factor).unwrap();
        assert_eq!(value["type"], "magic_link");
        assert_eq!(value["delivery_method"], "email");
        assert_eq!(value["email_factor"]["email_address"], "ada@example.com");
        assert_eq!(value["created_at"], "2026-05-01T09:00:00Z");
        let back: AuthenticationFactor = serde_json::from_value(value).unwrap();
        assert_eq!(back, factor);
        assert!(factor.proves_email(&EmailAddress::parse("ADA@example.com").unwrap()));
        assert!(!factor.proves_email(&EmailAddress::parse("bob@example.com").unwrap()));
    }

    #[test]
    fn factor_without_detail_serializes_without_detail_keys() {
        let factor = AuthenticationFactor::new(
            input(json!({"type": "password", "delivery_method": "knowledge"})),
            now(),
        )
        .unwrap();
        let value = serde_json::to_value(&factor).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 5, "{value}");
        assert!(factor.proven_email().is_none());
    }

    #[test]
    fn every_type_accepts_its_delivery_methods_and_nothing_else() {
        let all_methods: Vec<DeliveryMethod> = serde_json::from_value(json!([
            "email",
            "sms",
            "whatsapp",
            "oauth_google",
            "oauth_microsoft",
            "oauth_github",
            "oauth_hubspot",
            "oauth_slack",
            "oauth_exchange_google",
            "oauth_exchange_github",
            "oauth_exchange_hubspot",
            "oauth_exchange_slack",
            "oauth_access_token_exchange",
            "sso_saml",
            "sso_oidc",
            "knowledge",
            "authenticator_app",
            "recovery_code",
            "trusted_token_exchange",
            "impersonation",
            "imported_auth0",
            "webauthn_registration"
        ]))
        .unwrap();
        let all_types: Vec<FactorType> = serde_json::from_value(json!([
            "magic_link",
            "email_otp",
            "otp",
            "oauth",
            "sso",
            "password",
            "totp",
            "recovery_codes",
            "trusted_auth_token",
            "impersonated",
            "imported",
            "webauthn"
        ]))
        .unwrap();
        for &t in &all_types {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str(), "as_str agrees with serde");
        }
        for &m in &all_methods {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str(), "as_str agrees with serde");
            let mut accepting = Vec::new();
            for &t in &all_types {
                let result = AuthenticationFactor::new(
                    FactorInput {
                        factor_type: t,
                        delivery_method: m,
                        last_authenticated_at: None,
                        detail: None,
                    },
                    now(),
                );
                assert_eq!(
                    result.is_ok(),
                    t.allowed_delivery_methods().contains(&m),
                    "{t:?}/{m:?}"
                );
                if result.is_ok() {
                    accepting.push(t);
                }
            }
            // Only email is shared (magic links and email OTPs); every other method has one type.
            let expected = if m == DeliveryMethod::Email { 2 } else { 1 };
            assert_eq!(accepting.len(), expected, "{m:?}: {accepting:?}");
        }
    }

    #[test]
    fn mismatched_delivery_method_is_refused() {
        let err = AuthenticationFactor::new(
            input(json!({"type": "totp", "delivery_method": "sms"})),
            now(),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidAuthenticationFactor);
        assert!(err.to_string().contains("`sms`"), "{err}");
        assert!(err.to_string().contains("`totp`"), "{err}");
    }

    #[test]
    fn detail_must_fit_delivery_method() {
        let err = AuthenticationFactor::new(
            input(json!({
                "type": "sso", "delivery_method": "sso_saml",
                "oidc_sso_factor": {"id": "c", "provider_id": "p", "external_id": "e"}
            })),
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("oidc_sso_factor"), "{err}");
        assert!(
            AuthenticationFactor::new(
                input(json!({
                    "type": "sso", "delivery_method": "sso_saml",
                    "saml_sso_factor": {"id": "c", "provider_id": "p", "external_id": "e"}
                })),
                now(),
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_type_or_method_does_not_deserialize() {
        assert!(
            serde_json::from_value::<FactorInput>(
                json!({"type": "telepathy", "delivery_method": "email"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<FactorInput>(
                json!({"type": "otp", "delivery_method": "pigeon"})
            )
            .is_err()
        );
    }

    #[test]
    fn detail_text_is_bounded_and_printable() {
        let with_id = |id: &str| {
            serde_json::from_value::<FactorInput>(json!({
                "type": "totp", "delivery_method": "authenticator_app",
                "authenticator_app_factor": {"totp_id": id}
            }))
        };
        assert!(with_id(&"t".repeat(FactorText::MAX_CHARS)).is_ok());
        assert!(with_id(&"t".repeat(FactorText::MAX_CHARS + 1)).is_err());
        assert!(with_id("a\u{0}b").is_err());
        assert!(with_id("").is_ok(), "Stytch sends empty strings for unknown ids");
        let unknown_detail = serde_json::from_value::<FactorInput>(json!({
            "type": "password", "delivery_method": "knowledge", "telepathy_factor": {"x": 1}
        }));
        assert!(unknown_detail.is_err(), "an unknown detail key is refused, not dropped");
        let two = serde_json::from_value::<FactorInput>(json!({
            "type": "magic_link", "delivery_method": "email",
            "email_factor": {"email_id": "e", "email_address": "a@example.com"},
            "phone_number_factor": {"phone_id": "p", "phone_number": "+1"}
        }));
        assert!(two.is_err());
        let from_stytch = serde_json::from_value::<FactorInput>(json!({
            "type": "magic_link", "delivery_method": "email",
            "created_at": "2026-05-01T09:00:00Z", "updated_at": "2026-05-01T09:00:00Z",
            "email_factor": {"email_id": "e", "email_address": "a@example.com"},
            "phone_number_factor": null
        }))
        .unwrap();
        assert!(matches!(from_stytch.detail, Some(FactorDetail::EmailFactor(_))));
        assert!(check_factor_count(MAX_FACTORS_PER_SESSION).is_ok());
        let err = check_factor_count(MAX_FACTORS_PER_SESSION + 1).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidAuthenticationFactor);
    }

    #[test]
    fn an_email_factor_without_its_address_proves_no_address() {
        let bare = AuthenticationFactor::new(
            input(json!({"type": "magic_link", "delivery_method": "email"})),
            now(),
        )
        .unwrap();
        assert!(!bare.proves_email(&EmailAddress::parse("ada@example.com").unwrap()));
    }

    #[test]
    fn all_lists_every_value_once() {
        let types: std::collections::HashSet<_> = FactorType::ALL.iter().collect();
        assert_eq!(types.len(), FactorType::ALL.len());
        let methods: std::collections::HashSet<_> = DeliveryMethod::ALL.iter().collect();
        assert_eq!(methods.len(), DeliveryMethod::ALL.len());
        // Every method serves some type, so a list missing a type would miss its methods.
        let served: std::collections::HashSet<_> =
            FactorType::ALL.iter().flat_map(|t| t.allowed_delivery_methods()).collect();
        assert_eq!(served, methods);
    }

    #[test]
    fn a_future_authentication_time_reads_as_now() {
        for later in [chrono::TimeDelta::seconds(1), chrono::TimeDelta::days(365 * 1000)] {
            let factor = AuthenticationFactor::new(
                FactorInput {
                    factor_type: FactorType::Password,
                    delivery_method: DeliveryMethod::Knowledge,
                    last_authenticated_at: Some(now() + later),
                    detail: None,
                },
                now(),
            )
            .unwrap();
            assert_eq!(factor.last_authenticated_at(), now());
            assert_eq!(factor.created_at(), now());
        }
    }

    #[test]
    fn stored_incoherent_factor_is_refused_on_read() {
        let row = json!({
            "type": "totp", "delivery_method": "email",
            "created_at": "2026-05-01T09:00:00Z",
            "last_authenticated_at": "2026-05-01T09:00:00Z",
            "updated_at": "2026-05-01T09:00:00Z"
        });
        assert!(serde_json::from_value::<AuthenticationFactor>(row).is_err());
    }

    #[test]
    fn reauthentication_keeps_the_proof_and_moves_the_time() {
        let factor = AuthenticationFactor::new(
            input(json!({"type": "totp", "delivery_method": "authenticator_app",
                         "authenticator_app_factor": {"totp_id": "t1"}})),
            now(),
        )
        .unwrap();
        let later = now() + chrono::TimeDelta::minutes(3);
        let again = factor.reauthenticated(later);
        assert!(again.same_proof_as(&factor));
        assert_eq!(again.created_at(), now());
        assert_eq!(again.last_authenticated_at(), later);
    }
}
