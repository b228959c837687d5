//! Each rule of the service across its boundaries, and each error path of DESIGN §4.5 that the
//! service owns.

use chrono::TimeDelta;
use serde_json::json;
use tessera_api::{
    AddFactor, Authenticate, CreateMember, CreateOrganization, CreateSession, Credential, Exchange,
    UpdateOrganization,
};
use tessera_core::{
    AssuranceRequirement, AuthorizationCheck, EmailAddress, ErrorType, IdleTimeout, MaxLifetime,
    MemberRef, MfaPolicy, OrganizationName, OrganizationRef, OrganizationSlug, SessionDuration,
};

use crate::harness::{Harness, factor_input, on_every_store, t0};

fn token(t: &tessera_core::SessionToken) -> Credential {
    Credential::Token(t.expose().to_owned())
}

async fn last_accessed(
    h: &Harness,
    issued: &tessera_api::IssuedSession,
) -> chrono::DateTime<chrono::Utc> {
    h.store
        .sessions
        .find_session_by_id(
            issued.session.organization.id,
            issued.session.session.id,
            h.service.clock().now(),
        )
        .await
        .unwrap()
        .session
        .times
        .last_accessed_at
}

on_every_store! {
    /// Authenticates inside one touch interval write nothing; the first one after it writes once.
    async fn touches_are_coalesced(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        for second in [1, 10, 30, 59] {
            h.clock.set(t0() + TimeDelta::seconds(second));
            h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
            assert_eq!(last_accessed(&h, &issued).await, t0(), "wrote at +{second}s");
        }
        h.clock.set(t0() + TimeDelta::seconds(60));
        h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        assert_eq!(last_accessed(&h, &issued).await, t0() + TimeDelta::seconds(60));
        h.clock.set(t0() + TimeDelta::seconds(119));
        h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        assert_eq!(last_accessed(&h, &issued).await, t0() + TimeDelta::seconds(60));
    }

    async fn idle_timeout_ends_unused_sessions(h: Harness) {
        let acme = h.organization("acme").await;
        let update = UpdateOrganization { idle_timeout: Some(Some(IdleTimeout::from_minutes(15).unwrap())), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        h.clock.set(t0() + TimeDelta::minutes(14));
        h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        // Accessed at +14 min: alive until +29 min.
        h.clock.set(t0() + TimeDelta::minutes(29) - TimeDelta::seconds(1));
        h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        h.clock.set(t0() + TimeDelta::minutes(60) - TimeDelta::seconds(2));
        let err = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }

    async fn extension_is_clamped_by_the_absolute_lifetime(h: Harness) {
        let acme = h.organization("acme").await;
        let update = UpdateOrganization { max_lifetime: Some(MaxLifetime::from_minutes(90).unwrap()), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        h.clock.set(t0() + TimeDelta::minutes(50));
        let mut extend = Authenticate::new(token(&issued.token));
        extend.extend_by = Some(SessionDuration::from_minutes(60).unwrap());
        let auth = h.service.authenticate(extend.clone()).await.unwrap();
        assert_eq!(auth.session.session.times.expires_at, t0() + TimeDelta::minutes(90));

        h.clock.set(t0() + TimeDelta::minutes(90));
        let err = h.service.authenticate(extend).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }

    async fn mfa_policy_and_step_up(h: Harness) {
        let acme = h.organization("acme").await;
        let update = UpdateOrganization { mfa_policy: Some(MfaPolicy::RequiredForAll), ..Default::default() };
        h.service.update_organization(&acme.id.into(), update).await.unwrap();
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;

        let err = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired);
        let stepped = h
            .service
            .add_factor(AddFactor::new(issued.token.expose().to_owned(), factor_input("totp")))
            .await
            .unwrap();
        h.service.authenticate(Authenticate::new(token(&stepped.token))).await.unwrap();

        // Factor age: the newest factor was proved at t0.
        let mut fresh = Authenticate::new(token(&stepped.token));
        fresh.assurance = AssuranceRequirement { require_mfa: true, max_factor_age: Some(TimeDelta::seconds(300)) };
        h.clock.set(t0() + TimeDelta::seconds(300));
        h.service.authenticate(fresh.clone()).await.unwrap();
        h.clock.set(t0() + TimeDelta::seconds(301));
        let err = h.service.authenticate(fresh).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::ReauthenticationRequired);
    }

    async fn authorization_checks_tenancy_first(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let mut request = Authenticate::new(token(&issued.token));
        request.authorization_check = Some(AuthorizationCheck {
            organization: globex.slug.clone().into(),
            resource_id: "tessera.self".into(),
            action: "read".into(),
        });
        let err = h.service.authenticate(request.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionAuthorizationTenancyError);
        request.authorization_check = Some(AuthorizationCheck {
            organization: acme.id.into(),
            resource_id: "tessera.self".into(),
            action: "read".into(),
        });
        let verdict = h.service.authenticate(request).await.unwrap().verdict.unwrap();
        assert_eq!(verdict.granting_roles[0].as_str(), "tessera_member");
    }

    /// A refused authenticate writes nothing: no extension, no claims, no touch.
    async fn refused_authenticate_changes_nothing(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        h.clock.set(t0() + TimeDelta::minutes(5));
        let mut request = Authenticate::new(token(&issued.token));
        request.extend_by = Some(SessionDuration::from_minutes(600).unwrap());
        request.custom_claims = Some(json!({"ok": 1}));
        request.authorization_check = Some(AuthorizationCheck {
            organization: acme.id.into(),
            resource_id: "documents".into(),
            action: "write".into(),
        });
        let err = h.service.authenticate(request.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionAuthorizationError);

        request.authorization_check = None;
        request.custom_claims = Some(json!({"big": "x".repeat(5000)}));
        let err = h.service.authenticate(request).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::CustomClaimsTooLarge);

        let stored = h.store.sessions.find_session_by_token(&issued.token.hash(), h.service.clock().now()).await.unwrap();
        assert_eq!(stored.session, issued.session.session);
    }

    async fn directory_errors(h: Harness) {
        let acme = h.organization("acme").await;
        let err = h.service
            .create_organization(CreateOrganization::new(OrganizationName::parse("Dup").unwrap(), OrganizationSlug::parse("acme").unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::OrganizationSlugAlreadyUsed);

        let err = h.service.get_organization(&OrganizationRef::parse("nope").unwrap()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::OrganizationNotFound);

        h.member(&acme, "ada@example.com").await;
        let err = h.service
            .create_member(&acme.id.into(), CreateMember::new(EmailAddress::parse("ADA@example.com").unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::DuplicateEmail);

        let mut with_role = CreateMember::new(EmailAddress::parse("bob@example.com").unwrap());
        with_role.roles = vec![tessera_core::RoleId::parse("pirate").unwrap()];
        let err = h.service.create_member(&acme.id.into(), with_role).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidRole);

        let err = h.service
            .get_member(&acme.id.into(), &MemberRef::Email(EmailAddress::parse("nobody@example.com").unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MemberNotFound);
    }

    async fn session_errors(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let bob_at_globex = h.member(&globex, "bob@example.com").await;

        // A member of another organization can never get a session here.
        let err = h.service
            .create_session(CreateSession::new(acme.id.into(), MemberRef::Id(bob_at_globex.id)))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MemberNotFound);

        let mut request = CreateSession::new(acme.id.into(), MemberRef::Id(ada.id));
        request.factors.push(serde_json::from_value(json!({"type": "totp", "delivery_method": "email"})).unwrap());
        let err = h.service.create_session(request).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidAuthenticationFactor);

        let mut request = CreateSession::new(acme.id.into(), MemberRef::Id(ada.id));
        request.custom_claims = Some(json!({"iss": "me"}));
        let err = h.service.create_session(request).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::ReservedClaimsInCustomClaims);

        let mut request = CreateSession::new(acme.id.into(), MemberRef::Id(ada.id));
        request.return_url = Some("javascript:alert(1)".into());
        let err = h.service.create_session(request).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidRequest);

        // Nothing was written by the refused creates.
        let listed = h.service.list_sessions(&acme.id.into(), &MemberRef::Id(ada.id)).await.unwrap();
        assert!(listed.sessions.is_empty());

        let err = h.service.authenticate(Authenticate::new(Credential::Token("tsr_mst_nope".into()))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidSessionToken);
        let unknown = tessera_core::SessionToken::generate(&Default::default(), &mut rand::rng());
        let err = h.service.authenticate(Authenticate::new(token(&unknown))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        let err = h.service.authenticate(Authenticate::new(Credential::Jwt("a.b.c".into()))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt);
    }

    async fn exchange_errors_leave_the_old_session_alive(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let initech = h.organization("initech").await;
        let ada = h.member(&acme, "ada@example.com").await;
        h.member(&globex, "ada@example.com").await;
        let password_only = h.session(&ada, &["password"]).await;
        let by_email = h.session(&ada, &["email", "totp"]).await;

        let exchange = |t: &tessera_core::SessionToken, to: OrganizationRef| Exchange {
            credential: Credential::Token(t.expose().to_owned()),
            organization: to,
            duration: None,
            custom_claims: None,
        };
        let err = h.service.exchange(exchange(&password_only.token, globex.id.into())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InsufficientFactorsForSessionExchange);
        let err = h.service.exchange(exchange(&by_email.token, initech.id.into())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MemberNotFound);
        let err = h.service.exchange(exchange(&by_email.token, acme.id.into())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidRequest);

        let update = UpdateOrganization { mfa_policy: Some(MfaPolicy::RequiredForAll), ..Default::default() };
        h.service.update_organization(&globex.id.into(), update).await.unwrap();
        let err = h.service.exchange(exchange(&by_email.token, globex.id.into())).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MfaRequired);

        for alive in [&password_only, &by_email] {
            h.service.authenticate(Authenticate::new(token(&alive.token))).await.unwrap();
        }
    }
}
