//! Session JWTs through the service: minted by every operation, verified remotely (through the
//! store) and locally (without it), refused for every RFC 8725 reason, keys rotated and retired,
//! the JWKS checkable with nothing but its JWK members.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use aws_lc_rs::{
    hmac,
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ED25519, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
        UnparsedPublicKey,
    },
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tessera_api::{
    AddFactor, Authenticate, Clock, Credential, Exchange, IssuedSession, JwtAlgorithm, JwtError,
    LocalVerification, ManualClock, Revoke, ServiceConfig, ServiceError, SessionJwt,
    SessionService,
};
use tessera_core::{ErrorType, MemberRef, SessionAttributes, SessionDuration};
use tessera_store::{
    MockMemberRepository, MockOrganizationRepository, MockSessionRepository,
    MockSigningKeyRepository, SigningKey, SigningKeyRepository, Store, StoreError, StoreResult,
};

use crate::harness::{FullJwt, Harness, email_factor, factor_input, on_every_store, t0};

// ---------------------------------------------------------------------------------------------
// Helpers

fn jwt(issued: &SessionJwt) -> Credential {
    Credential::Jwt(issued.expose().to_owned())
}

fn token(issued: &IssuedSession) -> Credential {
    Credential::Token(issued.token.expose().to_owned())
}

fn segment(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub(crate) fn header(jwt: &SessionJwt) -> Value {
    segment(jwt.expose(), 0)
}

pub(crate) fn payload(jwt: &SessionJwt) -> Value {
    segment(jwt.expose(), 1)
}

fn b64json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A compact JWS of `header` and `payload`, signed by `sign` over the signing input.
pub(crate) fn forge(header: &Value, payload: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64json(header), b64json(payload));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub(crate) fn rsa_sign(pair: &RsaKeyPair) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |message| {
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature).unwrap();
        signature
    }
}

/// The deployment's real signing key, read from the store as an attacker who stole it, or a
/// test that needs to sign well-formed-but-wrong JWTs, would.
pub(crate) async fn stored_signer(store: &Store) -> (String, RsaKeyPair) {
    let keys = store.signing_keys.list_signing_keys().await.unwrap();
    let key = keys.iter().rev().find(|k| k.retired_at.is_none()).unwrap();
    (key.kid.clone(), RsaKeyPair::from_pkcs8(&key.private_key_der).unwrap())
}

fn jwt_error(err: ServiceError) -> JwtError {
    match err {
        ServiceError::Jwt(e) => e,
        other => panic!("expected a JWT error, got {other:?}"),
    }
}

/// Another node of the same deployment: same store and clock, its own key cache.
fn sibling(h: &Harness, config: ServiceConfig) -> SessionService {
    SessionService::new(h.store.clone(), config)
        .with_clock(h.clock.clone())
        .with_policy(h.service.policy().clone())
}

fn config() -> ServiceConfig {
    ServiceConfig::new("project-test")
}

pub(crate) async fn local(
    service: &SessionService,
    jwt: &str,
) -> Result<tessera_api::LocalSession, ServiceError> {
    service.authenticate_jwt_local(jwt, LocalVerification::default()).await
}

pub(crate) async fn remote(
    service: &SessionService,
    jwt: &str,
) -> Result<tessera_api::Authenticated, ServiceError> {
    service.authenticate(Authenticate::new(Credential::Jwt(jwt.to_owned()))).await
}

fn active_kids(keys: &[SigningKey]) -> Vec<&str> {
    keys.iter().filter(|k| k.retired_at.is_none()).map(|k| k.kid.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Minting and the two verifications, on every store

on_every_store! {
    async fn every_operation_returns_a_stytch_shaped_jwt(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let ada_at_globex = h.member(&globex, "ada@example.com").await;

        let mut request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
            .with_factor(email_factor("ada@example.com"));
        request.custom_claims = Some(json!({"plan": "pro", "flags": {"beta": true}}));
        request.attributes = SessionAttributes {
            ip_address: Some("203.0.113.7".into()),
            user_agent: Some("curl/8".into()),
        };
        let issued = h.service.create_session(request).await.unwrap();
        let session_id = issued.session.session.id;

        let jwks = h.service.jwks().await.unwrap();
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(header(issued.full_jwt()), json!({"alg": "RS256", "typ": "JWT", "kid": jwks.keys[0].kid}));
        let iat = t0().timestamp();
        assert_eq!(
            payload(issued.full_jwt()),
            json!({
                "iss": "stytch.com/project-test",
                "aud": ["project-test"],
                "sub": ada.id.to_string(),
                "iat": iat, "nbf": iat, "exp": iat + 300,
                "https://stytch.com/session": {
                    "id": session_id.to_string(),
                    "started_at": "2026-07-01T09:00:00Z",
                    "last_accessed_at": "2026-07-01T09:00:00Z",
                    "expires_at": "2026-07-01T10:00:00Z",
                    "attributes": {"ip_address": "203.0.113.7", "user_agent": "curl/8"},
                    "authentication_factors": [
                        serde_json::to_value(&issued.session.session.authentication_factors[0]).unwrap()
                    ],
                    "roles": ["tessera_member"],
                    "token_generation": 0,
                },
                "https://stytch.com/organization": {"organization_id": acme.id.to_string(), "slug": "acme"},
                "plan": "pro",
                "flags": {"beta": true},
            })
        );
        let factor = &payload(issued.full_jwt())["https://stytch.com/session"]["authentication_factors"][0];
        assert_eq!((factor["type"].as_str(), factor["delivery_method"].as_str()), (Some("magic_link"), Some("email")));

        let seen = local(&h.service, issued.full_jwt().expose()).await.unwrap();
        assert_eq!(seen.session_id, session_id);
        assert_eq!((seen.member_id, seen.organization_id), (ada.id, acme.id));
        assert_eq!(seen.organization_slug, acme.slug);
        assert_eq!(seen.expires_at, t0() + TimeDelta::minutes(60));
        assert_eq!(seen.jwt_expires_at, t0() + TimeDelta::minutes(5));
        assert_eq!(seen.attributes.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(seen.custom_claims.as_map()["plan"], json!("pro"));
        assert_eq!(seen.authentication_factors, issued.session.session.authentication_factors);
        assert_eq!(seen.key_id, jwks.keys[0].kid);

        // Authenticate (token): a JWT minted now, from the state after the touch; roles are the
        // member's current ones.
        let update = tessera_api::UpdateMember {
            roles: Some(vec![tessera_core::RoleId::parse("editor").unwrap()]),
            ..Default::default()
        };
        h.service.update_member(&acme.id.into(), &MemberRef::Id(ada.id), update).await.unwrap();
        h.clock.advance(TimeDelta::seconds(90));
        let auth = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        let claims = payload(auth.jwt.as_ref().unwrap());
        assert_eq!(claims["iat"], json!(iat + 90));
        assert_eq!(claims["exp"], json!(iat + 390));
        assert_eq!(claims["https://stytch.com/session"]["last_accessed_at"], json!("2026-07-01T09:01:30Z"));
        assert_eq!(claims["https://stytch.com/session"]["roles"], json!(["tessera_member", "editor"]));
        assert_ne!(auth.jwt.as_ref(), Some(issued.full_jwt()));

        // Add factor: the JWT carries both factors.
        let stepped = h.service
            .add_factor(AddFactor::new(issued.token.expose().to_owned(), factor_input("totp")))
            .await
            .unwrap();
        let factors = &payload(stepped.full_jwt())["https://stytch.com/session"]["authentication_factors"];
        assert_eq!(factors.as_array().unwrap().len(), 2);
        local(&h.service, stepped.full_jwt().expose()).await.unwrap();

        // Exchange: a JWT of the new session, in the other organization.
        let exchanged = h.service
            .exchange(Exchange {
                credential: Credential::Token(stepped.token.expose().to_owned()),
                organization: globex.slug.clone().into(),
                duration: None,
                custom_claims: None,
            })
            .await
            .unwrap();
        let claims = payload(exchanged.full_jwt());
        assert_eq!(claims["sub"], json!(ada_at_globex.id.to_string()));
        assert_eq!(claims["https://stytch.com/organization"]["slug"], json!("globex"));
        assert_eq!(claims["https://stytch.com/session"]["id"], json!(exchanged.session.session.id.to_string()));
        assert!(claims.get("plan").is_none(), "custom claims do not follow an exchange");

        // Secrets stay out of Debug.
        for shown in [format!("{issued:?}"), format!("{auth:?}"), format!("{exchanged:?}")] {
            for secret in [issued.full_jwt().expose(), auth.jwt.as_ref().unwrap().expose(), exchanged.full_jwt().expose()] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }

    async fn authenticate_with_a_jwt_works_like_the_token(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        h.clock.advance(TimeDelta::minutes(2));
        let mut request = Authenticate::new(jwt(issued.full_jwt()));
        request.extend_by = Some(SessionDuration::from_minutes(120).unwrap());
        request.custom_claims = Some(json!({"plan": "team"}));
        let auth = h.service.authenticate(request).await.unwrap();
        assert_eq!(auth.session.session.id, issued.session.session.id);
        assert_eq!(auth.session.session.times.expires_at, t0() + TimeDelta::minutes(122));
        assert_eq!(auth.session.session.times.last_accessed_at, t0() + TimeDelta::minutes(2));
        let claims = payload(auth.jwt.as_ref().unwrap());
        assert_eq!(claims["iat"], json!((t0() + TimeDelta::minutes(2)).timestamp()));
        assert_eq!(claims["plan"], json!("team"));
        assert_eq!(claims["https://stytch.com/session"]["expires_at"], json!("2026-07-01T11:02:00Z"));

        // The store saw the writes: the token path sees them too.
        let by_token = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_eq!(by_token.session.session.times.expires_at, t0() + TimeDelta::minutes(122));
        assert_eq!(by_token.session.session.custom_claims.as_map()["plan"], json!("team"));
    }

    async fn an_expired_jwt_of_a_live_session_is_answered_with_a_new_one(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        h.clock.advance(TimeDelta::minutes(20));
        let err = local(&h.service, issued.full_jwt().expose()).await.unwrap_err();
        assert_eq!(jwt_error(err), JwtError::Expired);

        let auth = h.service.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap();
        assert_eq!(auth.session.session.id, issued.session.session.id);
        assert_eq!(payload(auth.jwt.as_ref().unwrap())["iat"], json!((t0() + TimeDelta::minutes(20)).timestamp()));
        local(&h.service, auth.jwt.as_ref().unwrap().expose()).await.unwrap();

        // Once the session itself is over, the JWT is no use.
        h.clock.advance(TimeDelta::minutes(41));
        let err = h.service.authenticate(Authenticate::new(jwt(auth.jwt.as_ref().unwrap()))).await.unwrap_err();
        assert!(err.is_session_not_found(), "{err:?}");
    }

    async fn a_revoked_session_is_refused_remotely_and_valid_locally_until_exp(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        h.clock.advance(TimeDelta::seconds(30));
        assert_eq!(h.service.revoke(Revoke::Jwt(issued.full_jwt().expose().to_owned())).await.unwrap(), 1);
        let err = h.service.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        let err = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        let err = h.service.revoke(Revoke::Jwt(issued.full_jwt().expose().to_owned())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);

        // The service that revoked refuses the JWT locally at once (its in-process revocation
        // list, issue 13)...
        let err = local(&h.service, issued.full_jwt().expose()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        // ...but another process over the same store (here: a second service) has the
        // documented window: its local verification does not know about the revocation...
        let other = SessionService::new(h.store.clone(), h.service.config().clone())
            .with_clock(h.clock.clone());
        h.clock.set(t0() + TimeDelta::seconds(299));
        local(&other, issued.full_jwt().expose()).await.unwrap();
        // ...until the JWT expires.
        h.clock.set(t0() + TimeDelta::seconds(300));
        assert_eq!(jwt_error(local(&other, issued.full_jwt().expose()).await.unwrap_err()), JwtError::Expired);
    }

    /// A JWT is bound to the token generation it was minted at: a rotation (step-up) ends every
    /// JWT minted before it for every call that reads the session, while the JWT minted by the
    /// rotation designates the session until it ends.
    async fn a_rotation_ends_earlier_jwts_and_later_ones_follow_the_session(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        h.member(&globex, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        let stepped = h.service
            .add_factor(AddFactor::new(issued.token.expose().to_owned(), factor_input("totp")))
            .await
            .unwrap();
        let old_token = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap_err();
        assert_eq!(old_token.error_type(), ErrorType::SessionNotFound);
        let old_jwt = h.service.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap_err();
        assert_eq!(old_jwt.error_type(), ErrorType::SessionNotFound);
        assert_eq!(payload(stepped.full_jwt())["https://stytch.com/session"]["token_generation"], json!(1));
        let auth = h.service.authenticate(Authenticate::new(jwt(stepped.full_jwt()))).await.unwrap();
        assert_eq!(auth.session.session.id, issued.session.session.id);
        assert_eq!(auth.session.session.authentication_factors.len(), 2);

        // Exchange revokes session A: every JWT of it is refused from then on.
        h.service
            .exchange(Exchange {
                credential: Credential::Token(stepped.token.expose().to_owned()),
                organization: globex.id.into(),
                duration: None,
                custom_claims: None,
            })
            .await
            .unwrap();
        for old in [issued.full_jwt(), stepped.full_jwt(), auth.jwt.as_ref().unwrap()] {
            let err = h.service.authenticate(Authenticate::new(jwt(old))).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        }
    }

    async fn exchange_accepts_a_jwt_and_ends_the_old_session(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let ada_at_globex = h.member(&globex, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let exchange = |credential: Credential| Exchange {
            credential,
            organization: globex.slug.clone().into(),
            duration: None,
            custom_claims: Some(json!({"came_from": "acme"})),
        };

        // Even once expired by its exp, as on authenticate.
        h.clock.advance(TimeDelta::minutes(6));
        let exchanged = h.service.exchange(exchange(jwt(issued.full_jwt()))).await.unwrap();
        assert_eq!(exchanged.session.member.id, ada_at_globex.id);
        assert_eq!(payload(exchanged.full_jwt())["came_from"], json!("acme"));
        h.service.authenticate(Authenticate::new(token(&exchanged))).await.unwrap();
        for old in [token(&issued), jwt(issued.full_jwt())] {
            let err = h.service.authenticate(Authenticate::new(old.clone())).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::SessionNotFound);
            let err = h.service.exchange(exchange(old)).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        }
        let listed = h.service.list_sessions(&acme.id.into(), &MemberRef::Id(ada.id)).await.unwrap();
        assert!(listed.sessions.is_empty());

        let err = h.service.exchange(exchange(Credential::Jwt("x.y.z".into()))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt);
    }

    async fn rotation_keeps_old_jwts_valid_until_they_expire(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let k1 = header(issued.full_jwt())["kid"].as_str().unwrap().to_owned();

        h.clock.advance(TimeDelta::minutes(1));
        let rotated_at = h.clock.now();
        let k2 = h.service.rotate_signing_key().await.unwrap();
        assert_ne!(k1, k2);
        let stored = h.store.signing_keys.list_signing_keys().await.unwrap();
        assert_eq!(active_kids(&stored), [k2.as_str()]);
        assert_eq!(stored.iter().find(|k| k.kid == k1).unwrap().retired_at, Some(rotated_at));
        let kids = |jwks: tessera_api::Jwks| jwks.keys.into_iter().map(|k| k.kid).collect::<Vec<_>>();
        assert_eq!(kids(h.service.jwks().await.unwrap()), [k2.clone(), k1.clone()], "signing key first");

        // The new key signs from now on.
        let auth = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_eq!(header(auth.jwt.as_ref().unwrap())["kid"], json!(k2));
        local(&h.service, auth.jwt.as_ref().unwrap().expose()).await.unwrap();

        // The JWT signed before the rotation verifies after it, until it expires.
        h.clock.set(t0() + TimeDelta::seconds(299));
        local(&h.service, issued.full_jwt().expose()).await.unwrap();
        remote(&h.service, issued.full_jwt().expose()).await.unwrap();
        h.clock.set(t0() + TimeDelta::seconds(300));
        assert_eq!(jwt_error(local(&h.service, issued.full_jwt().expose()).await.unwrap_err()), JwtError::Expired);

        // The old key stays published for the retention (lifetime + cache TTL + margin = 7 min)...
        let retention = h.service.config().jwt.retired_key_retention();
        assert_eq!(retention, TimeDelta::minutes(7));
        h.clock.set(rotated_at + retention - TimeDelta::microseconds(1));
        assert_eq!(kids(h.service.jwks().await.unwrap()), [k2.clone(), k1.clone()]);
        // ...expired-but-live JWTs it signed are still refreshed remotely meanwhile...
        remote(&h.service, issued.full_jwt().expose()).await.unwrap();
        // ...and then it is gone from the JWKS and from verification, at that instant...
        h.clock.set(rotated_at + retention);
        assert_eq!(kids(h.service.jwks().await.unwrap()), [k2.as_str()]);
        let err = remote(&h.service, issued.full_jwt().expose()).await.unwrap_err();
        assert_eq!(jwt_error(err), JwtError::UnknownKey);
        // ...and from the store at the next reload of the key table (the cache was read 1 µs
        // ago, so that is one cache TTL later).
        let stored_kids = || async {
            let stored = h.store.signing_keys.list_signing_keys().await.unwrap();
            stored.into_iter().map(|k| k.kid).collect::<Vec<_>>()
        };
        assert_eq!(stored_kids().await, [k1.clone(), k2.clone()]);
        h.clock.advance(TimeDelta::seconds(60));
        h.service.jwks().await.unwrap();
        assert_eq!(stored_kids().await, [k2.as_str()]);
    }

    async fn keys_persist_in_the_store_and_are_shared_by_every_node(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        // A second node (or a restart) on the same store uses the same key.
        let other = sibling(&h, config());
        assert_eq!(other.jwks().await.unwrap(), h.service.jwks().await.unwrap());
        local(&other, issued.full_jwt().expose()).await.unwrap();
        let auth = other.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap();
        assert_eq!(header(auth.jwt.as_ref().unwrap())["kid"], header(issued.full_jwt())["kid"]);
        local(&h.service, auth.jwt.as_ref().unwrap().expose()).await.unwrap();

        // A rotation on one node. Another node keeps signing with the old key (still published)
        // until its cache TTL runs out; a JWT with the new kid makes it reload at once.
        let third = sibling(&h, config());
        third.jwks().await.unwrap();
        h.clock.advance(TimeDelta::seconds(5));
        let k2 = h.service.rotate_signing_key().await.unwrap();
        let stale = other.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_ne!(header(stale.jwt.as_ref().unwrap())["kid"], json!(k2), "within the TTL: the old key");
        local(&h.service, stale.jwt.as_ref().unwrap().expose()).await.unwrap();
        let fresh = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_eq!(header(fresh.jwt.as_ref().unwrap())["kid"], json!(k2));
        local(&other, fresh.jwt.as_ref().unwrap().expose()).await.unwrap();
        let reloaded = other.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_eq!(header(reloaded.jwt.as_ref().unwrap())["kid"], json!(k2), "the unknown kid refreshed the cache");
        let stale = third.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_ne!(header(stale.jwt.as_ref().unwrap())["kid"], json!(k2));
        h.clock.advance(TimeDelta::seconds(61));
        let later = third.authenticate(Authenticate::new(token(&issued))).await.unwrap();
        assert_eq!(header(later.jwt.as_ref().unwrap())["kid"], json!(k2), "after the TTL");
    }
}

// ---------------------------------------------------------------------------------------------
// Reuse: an authenticate within the reuse window answers the JWT it already minted, unless
// anything in its claims changed

on_every_store! {
    async fn jwt_is_reused_within_the_window_until_the_claims_change(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let again = async || {
            let auth = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap();
            auth.jwt.unwrap()
        };

        let first = again().await;
        h.clock.advance(TimeDelta::seconds(10));
        assert_eq!(again().await, first, "10 s later, nothing changed: the same JWT");

        h.clock.advance(TimeDelta::seconds(20));
        let second = again().await;
        assert_ne!(second, first, "30 s after it was minted: a new one");
        assert_eq!(payload(&second)["iat"], json!(payload(&first)["iat"].as_i64().unwrap() + 30));

        // A claims patch, a member update and a touch each change the claims: a new JWT at once.
        let mut patch = Authenticate::new(token(&issued));
        patch.custom_claims = Some(json!({"plan": "team"}));
        let patched = h.service.authenticate(patch).await.unwrap().jwt.unwrap();
        assert_eq!(payload(&patched)["plan"], json!("team"));
        assert_eq!(again().await, patched);

        let update = tessera_api::UpdateMember {
            roles: Some(vec![tessera_core::RoleId::parse("editor").unwrap()]),
            ..Default::default()
        };
        h.service.update_member(&acme.id.into(), &MemberRef::Id(ada.id), update).await.unwrap();
        let promoted = again().await;
        assert_eq!(payload(&promoted)["https://stytch.com/session"]["roles"], json!(["tessera_member", "editor"]));

        h.clock.advance(TimeDelta::seconds(61));
        let touched = again().await;
        assert_ne!(touched, promoted, "a touch moved last_accessed_at");
        assert_eq!(
            payload(&touched)["https://stytch.com/session"]["last_accessed_at"],
            json!((t0() + TimeDelta::seconds(91)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        );

        // Without a JWT: none minted. Revoked: refused, whatever is cached.
        let bare = h.service.authenticate(Authenticate::new(token(&issued)).without_jwt()).await.unwrap();
        assert!(bare.jwt.is_none());
        h.service.revoke(Revoke::Token(issued.token.expose().to_owned())).await.unwrap();
        let err = h.service.authenticate(Authenticate::new(token(&issued))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }
}
// ---------------------------------------------------------------------------------------------
// Refusals (RFC 8725), each through both verifiers

/// Asserts that both verifiers refuse `jwt` with `expected`, as a 4xx of `error_type`.
async fn refused_everywhere(h: &Harness, jwt: &str, expected: JwtError, error_type: ErrorType) {
    let err = remote(&h.service, jwt).await.unwrap_err();
    assert_eq!(err.error_type(), error_type, "{err:?}");
    assert!(
        !matches!(err.error_type(), ErrorType::StorageUnavailable | ErrorType::InternalServerError),
        "the caller's fault: {err:?}"
    );
    assert_eq!(jwt_error(err), expected, "remote");
    let err = local(&h.service, jwt).await.unwrap_err();
    assert_eq!(jwt_error(err), expected, "local");
}

#[tokio::test]
async fn forged_and_foreign_jwts_are_refused() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let issued = h.session(&ada, &["email"]).await;
    let good = issued.full_jwt().expose();
    remote(&h.service, good).await.unwrap();
    let (kid, real) = stored_signer(&h.store).await;
    let head = header(issued.full_jwt());
    let claims = payload(issued.full_jwt());
    let unparseable = ErrorType::UnableToParseSessionJwt;

    // Sanity: the forging helper with the real key makes JWTs that are accepted, so each refusal
    // below is due to the one thing changed.
    let resigned = forge(&head, &claims, rsa_sign(&real));
    remote(&h.service, &resigned).await.unwrap();
    local(&h.service, &resigned).await.unwrap();

    // Wrong key: a fresh RSA key, claiming the real kid.
    let stranger = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let forged = forge(&head, &claims, rsa_sign(&stranger));
    refused_everywhere(&h, &forged, JwtError::InvalidSignature, unparseable).await;

    // Wrong alg: HS256 keyed with the public key (the classic confusion attack), in each form
    // the public key is known by.
    let jwks = h.service.jwks().await.unwrap();
    let spki = h.store.signing_keys.list_signing_keys().await.unwrap()[0].public_key_der.clone();
    let n = URL_SAFE_NO_PAD.decode(jwks.keys[0].n.as_deref().unwrap()).unwrap();
    let jwk_json = serde_json::to_vec(&jwks.keys[0]).unwrap();
    for secret in [spki.clone(), n, jwk_json, STANDARD.encode(&spki).into_bytes()] {
        let hs256 = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
        let forged = forge(&hs256, &claims, |m| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), m).as_ref().to_vec()
        });
        refused_everywhere(&h, &forged, JwtError::UnsupportedAlgorithm, unparseable).await;
    }

    // `none`, in any case, with or without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let none = json!({"alg": alg, "typ": "JWT", "kid": kid});
        let unsigned = format!("{}.{}.", b64json(&none), b64json(&claims));
        refused_everywhere(&h, &unsigned, JwtError::UnsupportedAlgorithm, unparseable).await;
        let signed = forge(&none, &claims, rsa_sign(&real));
        refused_everywhere(&h, &signed, JwtError::UnsupportedAlgorithm, unparseable).await;
    }

    // EdDSA is allowed, but this kid is pinned to RS256.
    let eddsa = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let forged = forge(&eddsa, &claims, rsa_sign(&real));
    refused_everywhere(&h, &forged, JwtError::AlgorithmMismatch, unparseable).await;

    // Unknown kid, even with the real key's signature.
    let unknown = json!({"alg": "RS256", "typ": "JWT", "kid": "not-a-key-of-ours"});
    let forged = forge(&unknown, &claims, rsa_sign(&real));
    refused_everywhere(&h, &forged, JwtError::UnknownKey, unparseable).await;

    // Explicit typing: another typ is another kind of token, even signed by the real key.
    let typed = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let forged = forge(&typed, &claims, rsa_sign(&real));
    refused_everywhere(&h, &forged, JwtError::InvalidType, unparseable).await;

    // Header members that point elsewhere are refused, not followed.
    let with_jku =
        json!({"alg": "RS256", "typ": "JWT", "kid": kid, "jku": "https://evil.example/jwks"});
    let forged = forge(&with_jku, &claims, rsa_sign(&real));
    let err = jwt_error(remote(&h.service, &forged).await.unwrap_err());
    assert!(matches!(err, JwtError::Malformed(_)), "{err:?}");

    // Tampered payload (promote to admin) or header, keeping the signature.
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    let (head_b64, _) = signing_input.split_once('.').unwrap();
    let mut promoted = claims.clone();
    promoted["https://stytch.com/session"]["roles"] = json!(["tessera_member", "tessera_admin"]);
    let tampered = format!("{head_b64}.{}.{signature}", b64json(&promoted));
    refused_everywhere(&h, &tampered, JwtError::InvalidSignature, unparseable).await;
    let mut flipped = good.to_owned().into_bytes();
    let at = head_b64.len() + 10;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    refused_everywhere(&h, &flipped, JwtError::InvalidSignature, unparseable).await;

    // Wrong audience / issuer: well signed by the deployment's own key, but minted under another
    // profile (what a JWT of another deployment sharing the key would look like).
    let mut other_audience = config();
    other_audience.jwt.audience = "project-other".into();
    let foreign =
        sibling(&h, other_audience).authenticate(Authenticate::new(token(&issued))).await.unwrap();
    refused_everywhere(
        &h,
        foreign.jwt.as_ref().unwrap().expose(),
        JwtError::InvalidAudience,
        ErrorType::JwtInvalidAudience,
    )
    .await;
    let foreign = sibling(&h, ServiceConfig::new("project-other"))
        .authenticate(Authenticate::new(token(&issued)))
        .await
        .unwrap();
    refused_everywhere(
        &h,
        foreign.jwt.as_ref().unwrap().expose(),
        JwtError::InvalidIssuer,
        ErrorType::JwtInvalidIssuer,
    )
    .await;

    // A well-signed JWT whose `sub` is not the session's member.
    let mut other_sub = claims.clone();
    other_sub["sub"] = json!(tessera_core::MemberId::generate(t0(), &mut rand::rng()).to_string());
    let forged = forge(&head, &other_sub, rsa_sign(&real));
    let err = remote(&h.service, &forged).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::JwtInvalidClaims);

    // Missing registered claims, signed by the real key.
    for claim in ["iss", "aud", "exp", "iat", "nbf", "sub"] {
        let mut missing = claims.clone();
        missing.as_object_mut().unwrap().remove(claim);
        let forged = forge(&head, &missing, rsa_sign(&real));
        let err = local(&h.service, &forged).await.unwrap_err();
        assert!(
            matches!(
                err.error_type(),
                ErrorType::JwtInvalidIssuer
                    | ErrorType::JwtInvalidAudience
                    | ErrorType::JwtInvalidClaims
            ),
            "{claim}: {err:?}"
        );
    }

    // Garbage.
    for garbage in ["", "a.b.c", "not a jwt", "....", &format!("{good}.extra")] {
        let err = remote(&h.service, garbage).await.unwrap_err();
        assert_eq!(err.error_type(), unparseable, "{garbage:?}");
    }

    // The genuine JWT is still fine after all of this.
    remote(&h.service, good).await.unwrap();
}

#[tokio::test]
async fn time_claims_are_enforced_with_leeway() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let issued = h.session(&ada, &["email"]).await;
    let jwt = issued.full_jwt().expose();
    let with = |leeway: i64, max_age: Option<i64>| LocalVerification {
        leeway: TimeDelta::seconds(leeway),
        max_token_age: max_age.map(TimeDelta::seconds),
    };
    let check = |options: LocalVerification| {
        let service = h.service.clone();
        async move { service.authenticate_jwt_local(jwt, options).await.map_err(jwt_error) }
    };
    let micro = TimeDelta::microseconds(1);

    // Expired beyond leeway: exp = t0 + 300 s.
    h.clock.set(t0() + TimeDelta::seconds(300) - micro);
    check(with(0, None)).await.unwrap();
    h.clock.set(t0() + TimeDelta::seconds(300));
    assert_eq!(check(with(0, None)).await.unwrap_err(), JwtError::Expired);
    h.clock.set(t0() + TimeDelta::seconds(329));
    check(with(30, None)).await.unwrap();
    h.clock.set(t0() + TimeDelta::seconds(330));
    assert_eq!(check(with(30, None)).await.unwrap_err(), JwtError::Expired);
    assert_eq!(check(with(30, None)).await.unwrap_err().to_string(), "session_jwt has expired");

    // Max token age, on iat.
    h.clock.set(t0() + TimeDelta::seconds(59));
    check(with(0, Some(60))).await.unwrap();
    h.clock.set(t0() + TimeDelta::seconds(60));
    assert_eq!(check(with(0, Some(60))).await.unwrap_err(), JwtError::TooOld);
    assert_eq!(
        check(with(0, Some(0))).await.unwrap_err(),
        JwtError::TooOld,
        "zero: every JWT is too old"
    );

    // Not yet valid: minted by a node whose clock is two minutes ahead.
    let ahead = Arc::new(ManualClock::new(t0() + TimeDelta::minutes(2)));
    let node = SessionService::new(h.store.clone(), config()).with_clock(ahead);
    let early = node.authenticate(Authenticate::new(token(&issued))).await.unwrap();
    h.clock.set(t0());
    let err = h
        .service
        .authenticate_jwt_local(early.jwt.as_ref().unwrap().expose(), with(0, None))
        .await
        .unwrap_err();
    assert_eq!(jwt_error(err), JwtError::NotYetValid);
    h.service
        .authenticate_jwt_local(early.jwt.as_ref().unwrap().expose(), with(120, None))
        .await
        .unwrap();
    // The remote path tolerates 30 s of skew between nodes, not two minutes.
    let err = remote(&h.service, early.jwt.as_ref().unwrap().expose()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::JwtInvalidClaims);
    assert_eq!(jwt_error(err), JwtError::NotYetValid);
    h.clock.set(t0() + TimeDelta::seconds(90));
    remote(&h.service, early.jwt.as_ref().unwrap().expose()).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Local verification reads no session

/// A signing-key repository that counts the reads of the key table.
struct CountingKeys {
    inner: Arc<dyn SigningKeyRepository>,
    lists: AtomicUsize,
}

#[async_trait]
impl SigningKeyRepository for CountingKeys {
    async fn insert_signing_key(
        &self,
        key: &SigningKey,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        self.inner.insert_signing_key(key, events).await
    }
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        self.inner.list_signing_keys().await
    }
    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> StoreResult<()> {
        self.inner.retire_signing_key(kid, at).await
    }
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.inner.delete_signing_key(kid).await
    }
}

#[tokio::test]
async fn local_verification_reads_no_session_member_or_organization() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let issued = h.session(&ada, &["email"]).await;

    // A relying node whose session, member and organization repositories panic on any call
    // (mocks with no expectations), and whose key reads are counted.
    let counting =
        Arc::new(CountingKeys { inner: h.store.signing_keys.clone(), lists: AtomicUsize::new(0) });
    let mut store = h.store.clone();
    store.sessions = Arc::new(MockSessionRepository::new());
    store.members = Arc::new(MockMemberRepository::new());
    store.organizations = Arc::new(MockOrganizationRepository::new());
    store.signing_keys = counting.clone();
    let relying = SessionService::new(store, config()).with_clock(h.clock.clone());

    let seen = local(&relying, issued.full_jwt().expose()).await.unwrap();
    assert_eq!(seen.session_id, issued.session.session.id);
    assert_eq!(counting.lists.load(Ordering::SeqCst), 1, "first use loads the keys once");
    for _ in 0..3 {
        local(&relying, issued.full_jwt().expose()).await.unwrap();
    }
    assert_eq!(counting.lists.load(Ordering::SeqCst), 1, "a known kid never reads the store");

    // Revoked, and even deleted from the store: still valid locally until exp (documented).
    h.service.revoke(Revoke::Token(issued.token.expose().to_owned())).await.unwrap();
    h.clock.advance(TimeDelta::days(8));
    h.service.purge_sessions(|_| {}).await.unwrap();
    h.clock.set(t0() + TimeDelta::seconds(10));
    let err = h.service.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap_err();
    assert!(err.is_session_not_found());
    local(&relying, issued.full_jwt().expose()).await.unwrap();

    // An unknown kid: one reload, then at most one per interval (10 s), however many arrive.
    let (_, real) = stored_signer(&h.store).await;
    let bogus = forge(
        &json!({"alg": "RS256", "typ": "JWT", "kid": "bogus"}),
        &payload(issued.full_jwt()),
        rsa_sign(&real),
    );
    for _ in 0..5 {
        assert_eq!(jwt_error(local(&relying, &bogus).await.unwrap_err()), JwtError::UnknownKey);
    }
    assert_eq!(counting.lists.load(Ordering::SeqCst), 2);
    h.clock.advance(TimeDelta::seconds(10));
    assert_eq!(jwt_error(local(&relying, &bogus).await.unwrap_err()), JwtError::UnknownKey);
    assert_eq!(counting.lists.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_key_table_failure_refuses_the_operation_before_any_write() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;

    let mut failing = MockSigningKeyRepository::new();
    failing.expect_list_signing_keys().returning(|| {
        Err(StoreError::unavailable("connection refused", std::io::Error::other("refused")))
    });
    let mut store = h.store.clone();
    store.signing_keys = Arc::new(failing);
    // No expectations: any session write would panic.
    store.sessions = Arc::new(MockSessionRepository::new());
    let service = SessionService::new(store, config()).with_clock(h.clock.clone());
    let request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
        .with_factor(factor_input("email"));
    let err = service.create_session(request).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::StorageUnavailable);
    let err = service.jwks().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::StorageUnavailable);
}

// ---------------------------------------------------------------------------------------------
// JWKS

#[tokio::test]
async fn the_jwks_alone_verifies_an_rs256_jwt() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let issued = h.session(&ada, &["email"]).await;

    let jwks = h.service.jwks().await.unwrap();
    let document = serde_json::to_value(&jwks).unwrap();
    let key = &document["keys"][0];
    for member in ["kty", "use", "key_ops", "alg", "kid", "n", "e", "x5c", "x5tS256"] {
        assert!(key.get(member).is_some(), "{member} missing: {key}");
    }
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["key_ops"], json!(["verify"]));
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(key["kid"], header(issued.full_jwt())["kid"]);

    // Rebuild the public key from n and e only, as a relying party does, and check the
    // signature over the signing input as received.
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    let public = RsaPublicKeyComponents { n: &n[..], e: &e[..] };
    let (input, signature) = issued.full_jwt().expose().rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    public.verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature).unwrap();
    let tampered = input.replacen('.', ".e", 1);
    assert!(public.verify(&RSA_PKCS1_2048_8192_SHA256, tampered.as_bytes(), &signature).is_err());

    // x5c is a real certificate of that very key; x5tS256 its SHA-256 thumbprint.
    let certificate = STANDARD.decode(key["x5c"][0].as_str().unwrap()).unwrap();
    let spki = &h.store.signing_keys.list_signing_keys().await.unwrap()[0].public_key_der;
    assert!(certificate.windows(spki.len()).any(|w| w == &spki[..]));
    let thumbprint = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &certificate);
    assert_eq!(key["x5tS256"], json!(URL_SAFE_NO_PAD.encode(thumbprint)));

    // The document round-trips through serde (what the server serializes).
    let back: tessera_api::Jwks = serde_json::from_value(document).unwrap();
    assert_eq!(back, jwks);
}

#[tokio::test]
async fn the_eddsa_profile_mints_and_verifies_with_ed25519() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let mut eddsa = config();
    eddsa.jwt.algorithm = JwtAlgorithm::EdDsa;
    let service = sibling(&h, eddsa);

    let issued = service
        .create_session(
            tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
                .with_factor(factor_input("email")),
        )
        .await
        .unwrap();
    assert_eq!(header(issued.full_jwt())["alg"], "EdDSA");
    assert_eq!(payload(issued.full_jwt())["iss"], "stytch.com/project-test");
    service
        .authenticate_jwt_local(issued.full_jwt().expose(), LocalVerification::default())
        .await
        .unwrap();
    let auth = service.authenticate(Authenticate::new(jwt(issued.full_jwt()))).await.unwrap();
    assert_eq!(header(auth.jwt.as_ref().unwrap())["alg"], "EdDSA");

    let jwks = service.jwks().await.unwrap();
    let key = serde_json::to_value(&jwks.keys[0]).unwrap();
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(key.get("n").is_none());
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    let (input, signature) = issued.full_jwt().expose().rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    UnparsedPublicKey::new(&ED25519, &x).verify(input.as_bytes(), &signature).unwrap();

    // The key is pinned to EdDSA: the same signature presented as RS256 is refused.
    let relabelled = format!(
        "{}.{}",
        b64json(&json!({"alg": "RS256", "typ": "JWT", "kid": key["kid"]})),
        issued.full_jwt().expose().split_once('.').unwrap().1
    );
    let err = service
        .authenticate_jwt_local(&relabelled, LocalVerification::default())
        .await
        .unwrap_err();
    assert_eq!(jwt_error(err), JwtError::AlgorithmMismatch);
}

// ---------------------------------------------------------------------------------------------
// Key creation races

#[tokio::test]
async fn two_nodes_creating_the_first_key_at_once_converge() {
    // Node A and node B start on one store; each generates a first key before seeing the
    // other's (simulated: B's key is made in an empty store and inserted into the shared one
    // after A inserted its own).
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let a = h.session(&ada, &["email"]).await;
    let b_store = tessera_store::memory::MemoryStore::store();
    let b_alone = SessionService::new(b_store.clone(), config()).with_clock(h.clock.clone());
    b_alone.jwks().await.unwrap();
    let b_key = b_store.signing_keys.list_signing_keys().await.unwrap().remove(0);
    h.store.signing_keys.insert_signing_key(&b_key, &[]).await.unwrap();
    let b = SessionService::new(h.store.clone(), config()).with_clock(h.clock.clone());

    // Two active keys for a moment; both published, so each node's JWTs verify on the other.
    let stored = h.store.signing_keys.list_signing_keys().await.unwrap();
    assert_eq!(active_kids(&stored).len(), 2);
    local(&b, a.full_jwt().expose()).await.unwrap();

    // B's first load settles it: every active key but the newest (by created_at, then kid) is
    // retired; A follows at its next reload (cache TTL).
    let from_b = b.authenticate(Authenticate::new(token(&a))).await.unwrap();
    let stored = h.store.signing_keys.list_signing_keys().await.unwrap();
    assert_eq!(active_kids(&stored).len(), 1);
    let winner = active_kids(&stored)[0].to_owned();
    assert_eq!(header(from_b.jwt.as_ref().unwrap())["kid"], json!(winner));
    local(&h.service, from_b.jwt.as_ref().unwrap().expose()).await.unwrap();
    local(&b, a.full_jwt().expose()).await.unwrap();
    h.clock.advance(TimeDelta::seconds(61));
    let from_a = h.service.authenticate(Authenticate::new(token(&a))).await.unwrap();
    assert_eq!(header(from_a.jwt.as_ref().unwrap())["kid"], json!(winner));
    assert_eq!(h.service.jwks().await.unwrap(), b.jwks().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_use_on_one_store_leaves_one_signing_key() {
    let h = Harness::memory();
    let acme = h.organization("acme").await;
    let ada = h.member(&acme, "ada@example.com").await;
    let nodes: Vec<SessionService> = (0..4).map(|_| sibling(&h, config())).collect();
    let tasks: Vec<_> = nodes
        .iter()
        .cloned()
        .map(|node| {
            let request = tessera_api::CreateSession::new(acme.id.into(), MemberRef::Id(ada.id))
                .with_factor(factor_input("email"));
            tokio::spawn(async move { node.create_session(request).await.unwrap() })
        })
        .collect();
    let mut issued = Vec::new();
    for task in tasks {
        issued.push(task.await.unwrap());
    }
    // Every JWT verifies on every node, whichever key signed it.
    for node in &nodes {
        for one in &issued {
            local(node, one.full_jwt().expose()).await.unwrap();
        }
    }
    h.clock.advance(TimeDelta::seconds(61));
    let mut kids = Vec::new();
    for (node, one) in nodes.iter().zip(&issued) {
        let auth = node.authenticate(Authenticate::new(token(one))).await.unwrap();
        kids.push(header(auth.jwt.as_ref().unwrap())["kid"].clone());
    }
    kids.dedup();
    assert_eq!(kids.len(), 1, "{kids:?}");
    let stored = h.store.signing_keys.list_signing_keys().await.unwrap();
    assert_eq!(active_kids(&stored).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Governance: sessions ended by an organization-wide revoke or by the session limit are refused
// on this process's local path at once

on_every_store! {
    async fn revokes_by_organization_and_by_the_limit_reach_the_local_path(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let eve = h.member(&globex, "eve@example.com").await;
        let kept = h.session(&ada, &["email"]).await;
        let ended = h.session(&ada, &["email"]).await;
        let elsewhere = h.session(&eve, &["email"]).await;

        let revoked = h.service
            .revoke(Revoke::Organization { organization: acme.id.into(), except: Some(kept.session.session.id) })
            .await
            .unwrap();
        assert_eq!(revoked, 1);
        let err = local(&h.service, ended.full_jwt().expose()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        local(&h.service, kept.full_jwt().expose()).await.unwrap();
        local(&h.service, elsewhere.full_jwt().expose()).await.unwrap();

        // A limit of 1 that revokes the least recently used: the next sign-in ends `kept`.
        let limit = tessera_core::SessionLimit::new(1, tessera_core::WhenLimitReached::RevokeLeastRecentlyUsed).unwrap();
        let update = tessera_api::UpdateOrganization { session_limit: Some(Some(limit)), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        h.clock.advance(TimeDelta::seconds(1));
        let newest = h.session(&ada, &["email"]).await;
        let err = local(&h.service, kept.full_jwt().expose()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        local(&h.service, newest.full_jwt().expose()).await.unwrap();
        let err = remote(&h.service, kept.full_jwt().expose()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }
}
