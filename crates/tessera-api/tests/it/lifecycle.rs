//! The whole life of a session: create → authenticate → extend → patch claims → add factor →
//! exchange → revoke → purge.

use chrono::TimeDelta;
use serde_json::json;
use tessera_api::{AddFactor, Authenticate, Credential, Exchange, Revoke};
use tessera_core::{ErrorType, MemberRef, SessionDuration};

use crate::harness::{factor_input, on_every_store, t0};

fn token(t: &tessera_core::SessionToken) -> Credential {
    Credential::Token(t.expose().to_owned())
}

on_every_store! {
    async fn full_life_of_a_session(h: Harness) {
        let acme = h.organization("acme").await;
        let globex = h.organization("globex").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let ada_at_globex = h.member(&globex, "Ada@Example.com").await;

        // Create.
        let issued = h.session(&ada, &["email"]).await;
        assert_eq!(issued.session.session.times.expires_at, t0() + TimeDelta::minutes(60));
        assert_eq!(issued.roles.first().map(|r| r.as_str()), Some("tessera_member"));

        // Authenticate, without extension: expiry unchanged.
        h.clock.advance(TimeDelta::minutes(10));
        let auth = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap();
        assert_eq!(auth.session.session.id, issued.session.session.id);
        assert_eq!(auth.session.member.id, ada.id);
        assert_eq!(auth.session.organization.slug, acme.slug);
        assert_eq!(auth.session.session.times.expires_at, t0() + TimeDelta::minutes(60));
        assert_eq!(auth.session.session.times.last_accessed_at, t0() + TimeDelta::minutes(10));

        // Extend.
        let mut extend = Authenticate::new(token(&issued.token));
        extend.extend_by = Some(SessionDuration::from_minutes(120).unwrap());
        let auth = h.service.authenticate(extend).await.unwrap();
        assert_eq!(auth.session.session.times.expires_at, t0() + TimeDelta::minutes(130));

        // Patch claims.
        let mut patch = Authenticate::new(token(&issued.token));
        patch.custom_claims = Some(json!({"plan": "pro", "flags": {"beta": true}}));
        h.service.authenticate(patch).await.unwrap();
        let mut patch = Authenticate::new(token(&issued.token));
        patch.custom_claims = Some(json!({"flags": {"beta": null, "new_ui": true}}));
        let auth = h.service.authenticate(patch).await.unwrap();
        assert_eq!(
            serde_json::Value::Object(auth.session.session.custom_claims.as_map().clone()),
            json!({"plan": "pro", "flags": {"new_ui": true}})
        );

        // Add a factor: the token rotates and the old one is dead at once.
        h.clock.advance(TimeDelta::minutes(1));
        let stepped = h
            .service
            .add_factor(AddFactor::new(issued.token.expose().to_owned(), factor_input("totp")))
            .await
            .unwrap();
        assert_ne!(stepped.token.expose(), issued.token.expose());
        assert!(stepped.session.session.is_multi_factor());
        let old = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
        assert_eq!(old.error_type(), ErrorType::SessionNotFound);
        h.service.authenticate(Authenticate::new(token(&stepped.token))).await.unwrap();

        // Exchange into globex: only the email factor carries over; the old session ends.
        let exchanged = h
            .service
            .exchange(Exchange {
                credential: Credential::Token(stepped.token.expose().to_owned()),
                organization: globex.slug.clone().into(),
                duration: None,
                custom_claims: Some(json!({"came_from": "acme"})),
            })
            .await
            .unwrap();
        assert_eq!(exchanged.session.organization.id, globex.id);
        assert_eq!(exchanged.session.member.id, ada_at_globex.id);
        let carried: Vec<_> = exchanged
            .session
            .session
            .authentication_factors
            .iter()
            .map(|f| f.factor_type())
            .collect();
        assert_eq!(carried, vec![tessera_core::FactorType::MagicLink]);
        let old = h.service.authenticate(Authenticate::new(token(&stepped.token))).await.unwrap_err();
        assert_eq!(old.error_type(), ErrorType::SessionNotFound);

        // List, then revoke.
        let listed = h.service.list_sessions(&globex.id.into(), &MemberRef::Id(ada_at_globex.id)).await.unwrap();
        assert_eq!(listed.sessions.len(), 1);
        let revoked = h.service.revoke(Revoke::Token(exchanged.token.expose().to_owned())).await.unwrap();
        assert_eq!(revoked, 1);
        let gone = h.service.authenticate(Authenticate::new(token(&exchanged.token))).await.unwrap_err();
        assert_eq!(gone.error_type(), ErrorType::SessionNotFound);

        // Purge: dead sessions go once they are older than the retention (7 days).
        h.clock.advance(TimeDelta::days(8));
        let mut reported = Vec::new();
        let purged = h.service.purge_sessions(|total| reported.push(total)).await.unwrap();
        assert_eq!(purged, 2, "the original (stepped up in place, then exchanged away) and the exchanged one: {reported:?}");
        assert_eq!(reported.last(), Some(&purged));
    }

    async fn revoke_by_id_and_by_member(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let one = h.session(&ada, &["email"]).await;
        let two = h.session(&ada, &["password"]).await;
        let three = h.session(&ada, &["password"]).await;

        h.service
            .revoke(Revoke::Session { organization: Some(acme.slug.clone().into()), session_id: one.session.session.id })
            .await
            .unwrap();
        let ended = h
            .service
            .revoke(Revoke::Member { organization: None, member: MemberRef::Id(ada.id) })
            .await
            .unwrap();
        assert_eq!(ended, 2);
        for issued in [one, two, three] {
            let err = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::SessionNotFound);
        }
    }

    async fn deleting_a_member_ends_their_sessions(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        h.service.delete_member(&acme.id.into(), &MemberRef::Id(ada.id)).await.unwrap();
        let err = h.service.authenticate(Authenticate::new(token(&issued.token))).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionNotFound);
    }

    async fn role_changes_apply_at_the_next_authenticate(h: Harness) {
        let acme = h.organization("acme").await;
        let ada = h.member(&acme, "ada@example.com").await;
        let issued = h.session(&ada, &["email"]).await;
        let check = tessera_core::AuthorizationCheck {
            organization: acme.slug.clone().into(),
            resource_id: "documents".into(),
            action: "write".into(),
        };
        let mut request = Authenticate::new(token(&issued.token));
        request.authorization_check = Some(check.clone());
        let err = h.service.authenticate(request.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::SessionAuthorizationError);

        let update = tessera_api::UpdateMember {
            roles: Some(vec![tessera_core::RoleId::parse("editor").unwrap()]),
            ..Default::default()
        };
        h.service.update_member(&acme.id.into(), &MemberRef::Id(ada.id), update).await.unwrap();
        let auth = h.service.authenticate(request).await.unwrap();
        let verdict = auth.verdict.unwrap();
        assert!(verdict.authorized);
        assert_eq!(verdict.granting_roles, vec![tessera_core::RoleId::parse("editor").unwrap()]);
    }
}

/// The deployment's default session limit applies to every organization created without one,
/// through any caller (the HTTP API and the CLI alike); a request's own limit, its "no limit"
/// and its behaviour win over it.
#[tokio::test]
async fn the_default_session_limit_applies_unless_a_create_names_one() {
    use tessera_api::CreateOrganization;
    use tessera_core::{OrganizationName, OrganizationSlug, SessionLimit, WhenLimitReached};

    let default = SessionLimit::new(3, WhenLimitReached::RevokeLeastRecentlyUsed).unwrap();
    let mut config = tessera_api::ServiceConfig::new("project-test");
    config.default_session_limit = Some(default);
    let h = crate::harness::Harness::memory().reconfigured(config);
    let create = |slug: &str| {
        CreateOrganization::new(
            OrganizationName::parse("Org").unwrap(),
            OrganizationSlug::parse(slug).unwrap(),
        )
    };

    let plain = h.service.create_organization(create("plain")).await.unwrap();
    assert_eq!(plain.settings.session_limit, Some(default));
    let mut unlimited = create("unlimited");
    unlimited.session_limit = Some(None);
    let unlimited = h.service.create_organization(unlimited).await.unwrap();
    assert_eq!(unlimited.settings.session_limit, None);
    let mut strict = create("strict");
    strict.session_limit_behavior = Some(WhenLimitReached::Refuse);
    let strict = h.service.create_organization(strict).await.unwrap();
    let limit = strict.settings.session_limit.unwrap();
    assert_eq!((limit.max_sessions(), limit.when_reached), (3, WhenLimitReached::Refuse));
}
