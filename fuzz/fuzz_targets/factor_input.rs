//! Authentication factors as the host reports them (`FactorInput`, `AuthenticationFactor::new`)
//! and as they are stored (`AuthenticationFactor`'s deserializer).
//!
//! Oracles: never a panic; an accepted factor's delivery method is one its type allows, its
//! detail object (at most one, under the key its delivery method names) fits the delivery
//! method, its timestamps are not in the future; serializing and reading it back gives it
//! unchanged; both parsers agree on coherence.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera_core::{AuthenticationFactor, FactorInput};

/// The keys of Stytch's detail objects (`FactorDetail`).
const DETAIL_KEYS: &[&str] = &[
    "email_factor",
    "phone_number_factor",
    "google_oauth_factor",
    "microsoft_oauth_factor",
    "github_oauth_factor",
    "hubspot_oauth_factor",
    "slack_oauth_factor",
    "google_oauth_exchange_factor",
    "github_oauth_exchange_factor",
    "hubspot_oauth_exchange_factor",
    "slack_oauth_exchange_factor",
    "oauth_access_token_exchange_factor",
    "saml_sso_factor",
    "oidc_sso_factor",
    "authenticator_app_factor",
    "recovery_code_factor",
    "trusted_auth_token_factor",
    "impersonated_factor",
    "webauthn_factor",
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

fn check(factor: &AuthenticationFactor, input: &Value) {
    assert!(factor.factor_type().allowed_delivery_methods().contains(&factor.delivery_method()));
    if let Some(detail) = factor.detail() {
        assert!(detail.fits(factor.delivery_method()), "{input}");
    }
    let detail_keys = input
        .as_object()
        .map(|map| map.keys().filter(|k| DETAIL_KEYS.contains(&k.as_str())).count())
        .unwrap_or_default();
    assert!(detail_keys <= 1, "accepted a factor with {detail_keys} detail objects: {input}");
    let json = serde_json::to_string(factor).unwrap();
    let back: AuthenticationFactor = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, factor, "round trip of {json}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else { return };
    if let Ok(reported) = serde_json::from_value::<FactorInput>(input.clone()) {
        if let Ok(factor) = AuthenticationFactor::new(reported, now()) {
            assert!(factor.last_authenticated_at() <= now());
            assert_eq!(factor.created_at(), factor.last_authenticated_at());
            check(&factor, &input);
        }
    }
    if let Ok(stored) = serde_json::from_value::<AuthenticationFactor>(input.clone()) {
        check(&stored, &input);
    }
});
