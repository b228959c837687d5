//! Every credential source, local vs remote by token age, cookie refresh and clearing, CSRF,
//! laziness and the cache headers.

use axum::http::StatusCode;
use chrono::TimeDelta;
use tessera_api::Revoke;
use tessera_axum::{AuthConfig, CredentialSource};

use crate::support::{get_, send, setup};

#[tokio::test]
async fn a_bearer_jwt_is_verified_locally_and_a_bearer_token_remotely() {
    let (kit, counting, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;

    let (name, value) = member.bearer();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["verification"], "LocalJwt");
    assert_eq!(answer.body["source"], "Bearer");
    assert_eq!(answer.body["organization"], "acme");
    assert_eq!(counting.counts(), (1, 0));

    let (name, value) = member.bearer_token();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "Token");
    assert_eq!(counting.counts(), (1, 1));
    assert!(answer.set_cookies().is_empty(), "Bearer requests never get cookies");
}

#[tokio::test]
async fn cookies_are_read_under_their_stytch_names() {
    let (kit, counting, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;

    let (name, value) = member.cookies();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "LocalJwt");
    assert_eq!(answer.body["source"], "Cookies");
    assert_eq!(counting.counts(), (1, 0));
    assert!(answer.set_cookies().is_empty(), "a fresh JWT is not rewritten");

    // Only the opaque token: authenticated remotely, and the JWT cookie is written.
    let token_only = format!("stytch_session={}", member.token);
    let answer = send(&app, get_("/me").header("cookie", token_only)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "Token");
    let cookies = answer.set_cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].starts_with("stytch_session_jwt=ey"), "{cookies:?}");
    assert!(cookies[0].contains("Path=/; Max-Age=3600; SameSite=Lax; Secure"), "{cookies:?}");
}

#[tokio::test]
async fn sources_follow_the_configured_order() {
    let config = AuthConfig { sources: vec![CredentialSource::Cookies], ..AuthConfig::default() };
    let (kit, _, app) = setup(config);
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.bearer();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "Bearer is not a configured source");
    assert_eq!(answer.error_type(), "unauthorized_credentials");
}

#[tokio::test]
async fn no_credential_is_401_with_a_challenge_and_none_for_the_optional_extractor() {
    let (_kit, counting, app) = setup(AuthConfig::default());
    let answer = send(&app, get_("/me")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_type(), "unauthorized_credentials");
    assert_eq!(answer.body["status_code"], 401);
    assert!(answer.body["error_url"].as_str().unwrap().ends_with("unauthorized_credentials"));
    assert_eq!(answer.headers["www-authenticate"], r#"Bearer realm="tessera""#);

    let answer = send(&app, get_("/maybe")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "anonymous");
    assert_eq!(counting.counts(), (0, 0));
}

#[tokio::test]
async fn a_bad_credential_still_rejects_the_optional_extractor() {
    let (_kit, _, app) = setup(AuthConfig::default());
    let answer = send(&app, get_("/maybe").header("authorization", "Bearer a.b.c")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_type(), "unable_to_parse_session_jwt");
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"Bearer realm="tessera", error="invalid_token""#
    );
    let token = "Bearer tsr_mst_0000000000000000000000000000000000000000000000";
    let answer = send(&app, get_("/maybe").header("authorization", token)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_outcome_is_computed_once_and_only_when_asked() {
    let (kit, counting, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.bearer_token();

    let answer = send(&app, get_("/public").header(name.clone(), value.clone())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(counting.counts(), (0, 0), "a route that never asks verifies nothing");
    assert!(answer.headers.get("cache-control").is_none());

    let answer = send(&app, get_("/twice").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(counting.counts(), (0, 1), "two extractors, one authenticate");
}

#[tokio::test]
async fn authenticated_responses_are_private_and_vary_on_credentials() {
    let (kit, _, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.bearer();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.headers["cache-control"], "private, no-store");
    assert_eq!(answer.headers["vary"], "Cookie, Authorization");
}

#[tokio::test]
async fn a_jwt_older_than_max_token_age_goes_remote_and_refreshes_the_cookie() {
    let config =
        AuthConfig { max_token_age: Some(TimeDelta::seconds(60)), ..AuthConfig::default() };
    let (kit, counting, app) = setup(config);
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.cookies();

    kit.advance(TimeDelta::seconds(59));
    let answer = send(&app, get_("/me").header(name.clone(), value.clone())).await;
    assert_eq!(answer.body["verification"], "LocalJwt");
    assert_eq!(counting.counts(), (1, 0));

    kit.advance(TimeDelta::seconds(1));
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "RemoteJwt");
    assert_eq!(counting.counts(), (2, 1), "local refused (too old), then remote");
    let cookies = answer.set_cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let fresh = cookies[0].split(';').next().unwrap().trim_start_matches("stytch_session_jwt=");
    assert_ne!(Some(fresh), member.jwt.as_deref(), "a newer JWT");
    // Max-Age: the session's remaining lifetime (60 minutes from sign-in, 60 s later).
    assert!(cookies[0].contains("Max-Age=3540"), "{cookies:?}");
}

#[tokio::test]
async fn max_token_age_zero_is_always_remote() {
    let config = AuthConfig { max_token_age: Some(TimeDelta::zero()), ..AuthConfig::default() };
    let (kit, counting, app) = setup(config);
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.bearer();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.body["verification"], "RemoteJwt");
    assert_eq!(counting.counts(), (0, 1));
}

#[tokio::test]
async fn an_expired_jwt_cookie_of_a_live_session_is_refreshed() {
    let (kit, _, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    kit.advance(TimeDelta::minutes(6));
    let (name, value) = member.cookies();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "RemoteJwt");
    assert_eq!(answer.set_cookies().len(), 1);
}

#[tokio::test]
async fn a_dead_cookie_session_clears_both_cookies() {
    let (kit, _, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    kit.service().revoke(Revoke::Token(member.token.clone())).await.unwrap();
    let (name, value) = member.cookies();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_type(), "session_not_found");
    let cookies = answer.set_cookies();
    assert_eq!(
        cookies,
        [
            "stytch_session=; Path=/; Max-Age=0; SameSite=Lax; Secure",
            "stytch_session_jwt=; Path=/; Max-Age=0; SameSite=Lax; Secure"
        ]
    );
    assert_eq!(answer.headers["cache-control"], "private, no-store");
}

#[tokio::test]
async fn a_stale_jwt_cookie_next_to_a_live_token_falls_back_to_the_token() {
    let (kit, _, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let cookie = format!("stytch_session={}; stytch_session_jwt=not.a.jwt", member.token);
    let answer = send(&app, get_("/me").header("cookie", cookie)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["verification"], "Token");
    assert!(answer.set_cookies()[0].starts_with("stytch_session_jwt=ey"));
}

#[tokio::test]
async fn csrf_refuses_cross_site_cookie_writes_and_exempts_bearer() {
    let config = AuthConfig {
        trusted_origins: vec!["https://app.example.com".into()],
        ..AuthConfig::default()
    };
    let (kit, counting, app) = setup(config);
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (cookie, cookies) = member.cookies();
    let post = || axum::http::Request::post("/me");

    let answer = send(
        &app,
        post().header(cookie.clone(), cookies.clone()).header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_type(), "cross_site_request_refused");
    assert_eq!(counting.counts(), (0, 0), "refused before any verification");

    let answer = send(
        &app,
        post().header(cookie.clone(), cookies.clone()).header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    for (name, value) in [("sec-fetch-site", "same-origin"), ("origin", "https://app.example.com")]
    {
        let answer =
            send(&app, post().header(cookie.clone(), cookies.clone()).header(name, value)).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {value}");
    }
    let answer = send(
        &app,
        get_("/me").header(cookie.clone(), cookies.clone()).header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "safe methods pass");

    let (name, value) = member.bearer();
    let answer =
        send(&app, post().header(name, value).header("sec-fetch-site", "cross-site")).await;
    assert_eq!(answer.status, StatusCode::OK, "Bearer is exempt");
}
