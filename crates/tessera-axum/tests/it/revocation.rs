//! A revoke through the same `SessionService` is refused on the local JWT path at once; another
//! process over the same store keeps accepting the JWT locally until it expires.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::TimeDelta;
use tessera_api::{Clock, LocalVerification, Revoke, ServiceConfig, SessionService};
use tessera_axum::{AuthConfig, test::factor};
use tessera_core::{ErrorType, MemberRef};

use crate::support::{get_, send, setup};

#[tokio::test]
async fn a_revoke_in_process_is_effective_at_once_on_the_local_path() {
    let (kit, counting, app) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let (name, value) = member.bearer();
    let answer = send(&app, get_("/me").header(name.clone(), value.clone())).await;
    assert_eq!(answer.body["verification"], "LocalJwt");

    kit.service().revoke(Revoke::Token(member.token.clone())).await.unwrap();
    let answer = send(&app, get_("/me").header(name, value)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_type(), "session_not_found");
    assert_eq!(counting.counts(), (2, 1), "local refused it, remote confirmed");

    let jwt = member.jwt.as_deref().unwrap();
    let error =
        kit.service().authenticate_jwt_local(jwt, LocalVerification::default()).await.unwrap_err();
    assert_eq!(error.error_type(), ErrorType::SessionNotFound);
}

#[tokio::test]
async fn another_process_sees_the_revoked_jwt_until_it_expires() {
    let (kit, _, _) = setup(AuthConfig::default());
    let member = kit.signed_in("acme", "ada@acme.example").await;
    let clock = Arc::new(tessera_api::ManualClock::new(kit.clock().now()));
    let other = SessionService::new(kit.store().clone(), ServiceConfig::new("project-test"))
        .with_clock(clock.clone());
    let jwt = member.jwt.as_deref().unwrap();

    kit.service().revoke(Revoke::Token(member.token.clone())).await.unwrap();
    let options = LocalVerification::default();
    assert!(kit.service().authenticate_jwt_local(jwt, options).await.is_err());
    let seen = other.authenticate_jwt_local(jwt, options).await;
    assert!(seen.is_ok(), "another process has no way to know: {seen:?}");
    clock.advance(TimeDelta::seconds(299));
    assert!(other.authenticate_jwt_local(jwt, options).await.is_ok());
    clock.advance(TimeDelta::seconds(1));
    assert!(other.authenticate_jwt_local(jwt, options).await.is_err(), "until exp");
}

#[tokio::test]
async fn revoking_a_member_and_stepping_up_count_locally_too() {
    let (kit, _, _) = setup(AuthConfig::default());
    let acme = kit.organization("acme").await;
    let ada = kit.member(&acme, "ada@acme.example", &[]).await;
    let first = kit.sign_in(&ada, &[]).await;
    let second = kit.sign_in(&ada, &[]).await;
    let options = LocalVerification::default();
    let local = |jwt: Option<String>| {
        let service = kit.service().clone();
        async move { service.authenticate_jwt_local(jwt.as_deref().unwrap(), options).await }
    };

    // A step-up rotates the token: the JWTs minted before it are refused, the new one is not.
    // In the same second as the sign-in: the generation, not the time, tells them apart.
    let stepped = kit
        .service()
        .add_factor(tessera_api::AddFactor::new(first.token.clone(), factor("totp")))
        .await
        .unwrap();
    assert!(local(first.jwt.clone()).await.is_err());
    assert!(local(stepped.jwt.as_ref().map(|j| j.expose().to_owned())).await.is_ok());
    assert!(local(second.jwt.clone()).await.is_ok());

    kit.service()
        .revoke(Revoke::Member {
            organization: Some(acme.id.into()),
            member: MemberRef::Id(ada.id),
        })
        .await
        .unwrap();
    assert!(local(second.jwt.clone()).await.is_err());
    assert!(local(stepped.jwt.as_ref().map(|j| j.expose().to_owned())).await.is_err());
}
