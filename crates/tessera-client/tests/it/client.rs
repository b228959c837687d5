//! The client's calls, errors and JWKS cache against a real server.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use tessera_api::LocalVerification;
use tessera_client::{
    AuthenticateRequest, ClientConfig, ClientError, RevokeRequest, SessionCredential, TesseraClient,
};
use tessera_core::ErrorType;

use crate::server::{Serve, email_factor, sign_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticate_and_revoke_round_trip_with_error_types() {
    let server = Serve::start(&[]);
    let (org_id, member_id) = server.organization_with_member("acme").await;
    let client = server.client();
    let (token, jwt) = sign_in(&client, "acme").await;

    // By token, with an authorization check and a duration.
    let answer =
        client
            .authenticate(
                AuthenticateRequest::token(&token)
                    .session_duration_minutes(120)
                    .authorization_check("acme", "tessera.organization", "read"),
            )
            .await
            .unwrap();
    assert_eq!(answer.member.member_id.to_string(), member_id);
    assert_eq!(answer.organization.organization_id.to_string(), org_id);
    let verdict = answer.verdict.unwrap();
    assert!(verdict.authorized);
    assert!(!answer.session_jwt.expose().is_empty());
    // By JWT.
    let by_jwt = client.authenticate(AuthenticateRequest::jwt(&jwt)).await.unwrap();
    assert_eq!(by_jwt.member_session.member_session_id, answer.member_session.member_session_id);

    // A refused check carries the server's error_type and status.
    let refused = client
        .authenticate(AuthenticateRequest::token(&token).authorization_check(
            "other-org",
            "tessera.organization",
            "read",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.error_type(), ErrorType::SessionAuthorizationTenancyError, "{refused}");
    assert_eq!(refused.status(), Some(403));

    // Step-up rotates the token; exchange into an org without a member is refused.
    let stepped = client
        .add_factor(SessionCredential::Token(&token), &email_factor("ada@example.com"), None)
        .await
        .unwrap();
    let token = stepped.session_token.expose().to_owned();
    assert_ne!(token, "");
    let old = client.authenticate(AuthenticateRequest::jwt(&jwt)).await.unwrap_err();
    assert_eq!(old.error_type(), ErrorType::SessionNotFound, "a pre-step-up JWT: {old}");
    let exchange = client.exchange(SessionCredential::Token(&token), "nowhere").await.unwrap_err();
    assert_eq!(exchange.status(), Some(404), "{exchange}");

    // Revoke, then the token is session_not_found (404), and no error shows the token.
    client.revoke(RevokeRequest::Token(token.clone())).await.unwrap();
    let gone = client.authenticate(AuthenticateRequest::token(&token)).await.unwrap_err();
    assert!(
        matches!(
            &gone,
            ClientError::Api { status: 404, error_type: Some(ErrorType::SessionNotFound), .. }
        ),
        "{gone:?}"
    );
    assert!(!format!("{gone} {gone:?}").contains(&token));

    // Wrong project credentials: 401 unauthorized_credentials; the secret is never printed.
    let mut config = ClientConfig::new(&server.base_url, &server.project_id, "tsr_secret_wrong");
    config.timeout = Duration::from_secs(5);
    let wrong = TesseraClient::new(config).unwrap();
    let denied = wrong.authenticate(AuthenticateRequest::token("x")).await.unwrap_err();
    assert_eq!(denied.error_type(), ErrorType::UnauthorizedCredentials, "{denied}");
    assert_eq!(denied.status(), Some(401));
    assert!(!format!("{client:?} {wrong:?}").contains(&server.secret));
    assert!(!format!("{wrong:?}").contains("tsr_secret_wrong"));

    // Unreachable server: a transport error, storage_unavailable.
    let closed = TesseraClient::new(ClientConfig::new("http://127.0.0.1:9", "p", "s")).unwrap();
    let unreachable = closed.authenticate(AuthenticateRequest::token("x")).await.unwrap_err();
    assert!(matches!(unreachable, ClientError::Transport(_)), "{unreachable:?}");
    assert_eq!(unreachable.error_type(), ErrorType::StorageUnavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_is_fetched_once_for_many_local_verifications() {
    let server = Serve::start(&[]);
    let (_, member_id) = server.organization_with_member("acme").await;
    let client = server.client();
    assert_eq!(client.jwks_fetches(), 0, "nothing is fetched before it is needed");
    let (_, jwt) = sign_in(&client, "acme").await;

    for _ in 0..100 {
        let local = client.verify_jwt_locally(&jwt, LocalVerification::default()).await.unwrap();
        assert_eq!(local.member_id.to_string(), member_id);
    }
    // Concurrent first uses on a fresh clone of another client share one fetch too.
    let fresh = server.client();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (fresh, jwt) = (fresh.clone(), jwt.clone());
            tokio::spawn(async move { fresh.verify_jwt_locally(&jwt, Default::default()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(client.jwks_fetches(), 1, "100 verifications, one JWKS fetch");
    assert_eq!(fresh.jwks_fetches(), 1, "16 concurrent first verifications, one fetch");

    // The strict rules: a tampered payload, a token age, a forged header.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = serde_json::json!(uuid_like());
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let err = client.verify_jwt_locally(&tampered, Default::default()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt, "{err}");
    let too_old =
        LocalVerification { max_token_age: Some(chrono::TimeDelta::zero()), ..Default::default() };
    let err = client.verify_jwt_locally(&jwt, too_old).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::JwtInvalidClaims, "{err}");
    let none_alg = forged("none", "whatever");
    let err = client.verify_jwt_locally(&none_alg, Default::default()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt, "{err}");
    assert_eq!(client.jwks_fetches(), 1, "refusals before the key lookup fetch nothing");
}

fn uuid_like() -> String {
    "member-test-00000000-0000-4000-8000-000000000000".to_owned()
}

/// A JWT with this header `alg` and `kid`, and a junk payload and signature.
fn forged(alg: &str, kid: &str) -> String {
    let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string();
    format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode("{}"), "c2ln")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_after_rotation_refreshes_once_then_verifies() {
    let server = Serve::start(&["--key-cache-ttl-seconds", "1"]);
    server.organization_with_member("acme").await;
    let mut config = server.config();
    config.jwks_refresh_interval = Duration::from_millis(500);
    let client = TesseraClient::new(config).unwrap();
    let (_, old_jwt) = sign_in(&client, "acme").await;
    client.verify_jwt_locally(&old_jwt, Default::default()).await.unwrap();
    assert_eq!(client.jwks_fetches(), 1);

    let rotated = server.command(&["keys", "rotate"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    // The server picks the new key up within its key cache TTL (1 s here).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, new_jwt) = sign_in(&client, "acme").await;
    assert_eq!(tessera_api::jwt::jwt_key_id(&new_jwt).unwrap(), new_kid, "signed by the new key");
    assert_ne!(tessera_api::jwt::jwt_key_id(&old_jwt).unwrap(), new_kid);

    // Unknown kid: one refresh, then it verifies; the old key is still published.
    client.verify_jwt_locally(&new_jwt, Default::default()).await.unwrap();
    assert_eq!(client.jwks_fetches(), 2, "exactly one refresh for the new kid");
    client.verify_jwt_locally(&new_jwt, Default::default()).await.unwrap();
    client.verify_jwt_locally(&old_jwt, Default::default()).await.unwrap();
    assert_eq!(client.jwks_fetches(), 2, "both keys now cached");

    // A flood of unknown kids within the refresh interval fetches nothing more.
    for i in 0..50 {
        let err = client
            .verify_jwt_locally(&forged("RS256", &format!("forged-{i}")), Default::default())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt, "{err}");
    }
    assert_eq!(client.jwks_fetches(), 2, "unknown kids are rate-limited");
    // After the interval, one more (single) refresh is allowed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for i in 0..10 {
        let _ = client
            .verify_jwt_locally(&forged("RS256", &format!("again-{i}")), Default::default())
            .await;
    }
    assert_eq!(client.jwks_fetches(), 3, "at most one refresh per interval");
}
