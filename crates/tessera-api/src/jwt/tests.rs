//! Unit tests of the JWT pieces: key generation and JWK export, the strict decoder, the claim
//! set, and the time rules at their boundaries. The service-level behaviour (minting in every
//! operation, remote and local verification, rotation) is in `tests/it/jwt.rs`.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use super::{
    claims::{SessionClaims, TimeRules},
    keys::{self, Jwk, LoadedKey},
    verify::{self, MAX_JWT_LEN},
    *,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 28, 23, 59, 30).unwrap()
}

fn loaded(algorithm: JwtAlgorithm) -> (tessera_store::SigningKey, LoadedKey) {
    let stored = keys::generate(algorithm, t0()).unwrap();
    let key = LoadedKey::load(&stored).unwrap().unwrap();
    (stored, key)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// RFC 7638 §3.1's worked example.
#[test]
fn thumbprint_matches_rfc7638_example() {
    let jwk = Jwk {
        kty: "RSA".into(),
        key_use: "sig".into(),
        key_ops: vec![],
        alg: "RS256".into(),
        kid: "2011-04-29".into(),
        n: Some(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
        ),
        e: Some("AQAB".into()),
        crv: None,
        x: None,
        x5c: vec![],
        x5t_s256: None,
    };
    assert_eq!(keys::thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[test]
fn a_reload_reuses_a_loaded_key_only_when_the_stored_key_is_the_same() {
    for algorithm in [JwtAlgorithm::Rs256, JwtAlgorithm::EdDsa] {
        let (stored, key) = loaded(algorithm);
        let again = key.reloaded(&stored).expect("the same stored key");
        assert!(again.shares_parsed_key_with(&key));
        assert_eq!(again.jwk, key.jwk);
        let signature = again.sign(b"message").unwrap();
        assert!(key.verifies(b"message", &signature));

        // Retired elsewhere: reused, and retired here too.
        let retired =
            tessera_store::SigningKey { retired_at: Some(stored.created_at), ..stored.clone() };
        let again = key.reloaded(&retired).expect("the same key, retired");
        assert_eq!(again.retired_at, retired.retired_at);
        assert!(!again.is_active());

        // Other key bytes under the same kid (a damaged or replaced row): parsed again.
        let (other, _) = loaded(algorithm);
        let replaced = tessera_store::SigningKey { kid: stored.kid.clone(), ..other };
        assert!(key.reloaded(&replaced).is_none());
        let moved = tessera_store::SigningKey {
            created_at: stored.created_at + TimeDelta::seconds(1),
            ..stored
        };
        assert!(key.reloaded(&moved).is_none());
    }
}

#[test]
fn rsa_keys_are_2048_bits_pkcs8_and_export_a_stytch_jwk() {
    let (stored, key) = loaded(JwtAlgorithm::Rs256);
    assert_eq!(stored.algorithm, "RS256");
    assert_eq!(stored.retired_at, None);
    // PKCS#8 and SPKI are DER SEQUENCEs.
    assert_eq!(stored.private_key_der[0], 0x30);
    assert_eq!(stored.public_key_der[0], 0x30);
    let jwk = &key.jwk;
    assert_eq!((jwk.kty.as_str(), jwk.key_use.as_str(), jwk.alg.as_str()), ("RSA", "sig", "RS256"));
    assert_eq!(jwk.key_ops, ["verify"]);
    assert_eq!(jwk.kid, stored.kid);
    assert_eq!(jwk.kid, keys::thumbprint(jwk), "the kid is the RFC 7638 thumbprint");
    let n = unb64(jwk.n.as_deref().unwrap());
    assert_eq!(n.len(), 256, "2048-bit modulus, no leading zero byte");
    assert_ne!(n[0], 0);
    assert_eq!(jwk.e.as_deref(), Some("AQAB"));
    assert_eq!((jwk.crv.as_deref(), jwk.x.as_deref()), (None, None));

    // x5c: one certificate (standard base64, with padding) of this very key; x5tS256 is its
    // SHA-256 in base64url.
    assert_eq!(jwk.x5c.len(), 1);
    let certificate = STANDARD.decode(&jwk.x5c[0]).unwrap();
    assert!(certificate.windows(stored.public_key_der.len()).any(|w| w == stored.public_key_der));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &certificate);
    assert_eq!(jwk.x5t_s256.as_deref(), Some(b64(digest.as_ref()).as_str()));

    // Every node derives the same certificate from the stored key.
    let again = LoadedKey::load(&stored).unwrap().unwrap();
    assert_eq!(again.jwk, key.jwk);

    let json = serde_json::to_value(jwk).unwrap();
    for member in ["kty", "use", "key_ops", "alg", "kid", "n", "e", "x5c", "x5tS256"] {
        assert!(json.get(member).is_some(), "{member} missing from {json}");
    }
}

#[test]
fn ed25519_keys_export_an_okp_jwk() {
    let (stored, key) = loaded(JwtAlgorithm::EdDsa);
    assert_eq!(stored.algorithm, "EdDSA");
    let jwk = &key.jwk;
    assert_eq!((jwk.kty.as_str(), jwk.alg.as_str()), ("OKP", "EdDSA"));
    assert_eq!(jwk.crv.as_deref(), Some("Ed25519"));
    assert_eq!(unb64(jwk.x.as_deref().unwrap()).len(), 32);
    assert_eq!((jwk.n.as_deref(), jwk.e.as_deref()), (None, None));
    assert_eq!(jwk.kid, keys::thumbprint(jwk));
    assert_eq!(jwk.x5c.len(), 1);
    let json = serde_json::to_value(jwk).unwrap();
    assert!(json.get("n").is_none() && json.get("crv").is_some());
}

#[test]
fn signatures_verify_with_the_jwk_alone() {
    let (_, key) = loaded(JwtAlgorithm::Rs256);
    let message = b"header.payload";
    let signature = key.sign(message).unwrap();
    assert!(key.verifies(message, &signature));
    let public = RsaPublicKeyComponents {
        n: unb64(key.jwk.n.as_deref().unwrap()),
        e: unb64(key.jwk.e.as_deref().unwrap()),
    };
    public.verify(&RSA_PKCS1_2048_8192_SHA256, message, &signature).unwrap();
    assert!(public.verify(&RSA_PKCS1_2048_8192_SHA256, b"header.payloaD", &signature).is_err());
}

#[test]
fn stored_keys_that_do_not_hold_together_are_refused() {
    let (stored, _) = loaded(JwtAlgorithm::EdDsa);
    let (other, _) = loaded(JwtAlgorithm::EdDsa);

    let mut mismatched = stored.clone();
    mismatched.public_key_der = other.public_key_der.clone();
    let err = LoadedKey::load(&mismatched).unwrap_err();
    assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");

    let mut garbage = stored.clone();
    garbage.private_key_der = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    assert!(matches!(LoadedKey::load(&garbage), Err(KeyError::Corrupt { .. })));

    let mut wrong_algorithm = stored.clone();
    wrong_algorithm.algorithm = "RS256".into();
    assert!(matches!(LoadedKey::load(&wrong_algorithm), Err(KeyError::Corrupt { .. })));

    // A key of an algorithm this version does not know is skipped, not an error.
    let mut future = stored;
    future.algorithm = "ML-DSA-65".into();
    assert!(LoadedKey::load(&future).unwrap().is_none());
}

#[test]
fn private_key_material_never_shows_in_debug() {
    let (stored, key) = loaded(JwtAlgorithm::Rs256);
    // The tail of an RSA PKCS#8 document is the CRT coefficient: private (its head holds the
    // modulus, which is public).
    let der = &stored.private_key_der;
    let private = &der[der.len() - 40..der.len() - 8];
    let private_hex: String = private.iter().map(|b| format!("{b:02x}")).collect();
    let private_b64 = STANDARD.encode(private);
    for shown in [format!("{stored:?}"), format!("{key:?}"), format!("{key:#?}")] {
        assert!(!shown.contains(&private_hex), "{shown}");
        assert!(!shown.contains(&private_b64[..24]), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &private[..8])), "{shown}");
    }
    assert!(format!("{key:?}").contains("redacted"));
    let jwt = SessionJwt::new("eyJhbGciOi.secret.signature".into());
    assert_eq!(format!("{jwt:?}"), "SessionJwt([redacted])");
}

#[test]
fn algorithms_parse_exactly() {
    assert_eq!(JwtAlgorithm::parse("RS256"), Some(JwtAlgorithm::Rs256));
    assert_eq!(JwtAlgorithm::parse("EdDSA"), Some(JwtAlgorithm::EdDsa));
    for refused in ["none", "None", "noNE", "rs256", "HS256", "RS384", "ES256", "", "RS256 "] {
        assert_eq!(JwtAlgorithm::parse(refused), None, "{refused}");
    }
    assert_eq!(serde_json::to_value(JwtAlgorithm::EdDsa).unwrap(), json!("EdDSA"));
    assert_eq!("RS256".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Rs256));
}

fn compact(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(payload).unwrap()),
        b64(signature)
    )
}

fn header() -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})
}

#[test]
fn decoder_accepts_the_minted_shape() {
    let jwt = compact(&header(), &json!({"sub": "x"}), b"sig");
    let decoded = verify::decode(&jwt).unwrap();
    assert_eq!(decoded.algorithm, JwtAlgorithm::Rs256);
    assert_eq!(decoded.kid, "k1");
    // `typ` is a media type: compared ignoring case.
    let jwt = compact(&json!({"alg": "EdDSA", "typ": "jwt", "kid": "k2"}), &json!({}), b"s");
    assert_eq!(verify::decode(&jwt).unwrap().algorithm, JwtAlgorithm::EdDsa);
}

#[test]
fn decoder_refuses_every_other_shape() {
    let payload = json!({"sub": "x"});
    let good = compact(&header(), &payload, b"sig");
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let padded_header = URL_SAFE.encode(serde_json::to_vec(&header()).unwrap());
    let with = |extra: Value| {
        let mut h = header();
        h.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        compact(&h, &payload, b"sig")
    };
    let malformed = [
        ("two segments", format!("{h}.{p}")),
        ("four segments", format!("{good}.x")),
        ("empty", String::new()),
        ("JWE-like", format!("{h}.{p}.{s}.x.y")),
        ("padded base64", format!("{padded_header}.{p}.{s}")),
        ("standard base64 alphabet", format!("{h}.{p}.{}", STANDARD.encode([0xfb, 0xff]))),
        ("not JSON", format!("{}.{p}.{s}", b64(b"alg=RS256"))),
        ("header array", compact(&json!(["RS256"]), &payload, b"s")),
        ("crit", with(json!({"crit": ["exp"]}))),
        ("jku", with(json!({"jku": "https://evil.example/jwks"}))),
        ("jwk", with(json!({"jwk": {"kty": "oct", "k": "AAAA"}}))),
        ("x5u", with(json!({"x5u": "https://evil.example/cert"}))),
        ("no kid", compact(&json!({"alg": "RS256", "typ": "JWT"}), &payload, b"s")),
        ("no typ", compact(&json!({"alg": "RS256", "kid": "k1"}), &payload, b"s")),
        ("empty kid", compact(&json!({"alg": "RS256", "typ": "JWT", "kid": ""}), &payload, b"s")),
        (
            "kid with control characters",
            compact(&json!({"alg": "RS256", "typ": "JWT", "kid": "k\n1"}), &payload, b"s"),
        ),
        (
            "duplicate alg",
            format!("{}.{p}.{s}", b64(br#"{"alg":"RS256","alg":"none","typ":"JWT","kid":"k"}"#)),
        ),
        ("too long", format!("{h}.{}.{s}", "A".repeat(MAX_JWT_LEN))),
    ];
    for (case, jwt) in malformed {
        let err = verify::decode(&jwt).unwrap_err();
        assert!(matches!(err, JwtError::Malformed(_)), "{case}: {err:?}");
        assert_eq!(err.error_type(), ErrorType::UnableToParseSessionJwt, "{case}");
    }

    for alg in ["none", "None", "noNE", "HS256", "RS512", "ES256", "PS256"] {
        let jwt = compact(&json!({"alg": alg, "typ": "JWT", "kid": "k1"}), &payload, b"");
        assert_eq!(verify::decode(&jwt).unwrap_err(), JwtError::UnsupportedAlgorithm, "{alg}");
    }
    for typ in ["JOSE", "at+jwt", "session+jwt", ""] {
        let jwt = compact(&json!({"alg": "RS256", "typ": typ, "kid": "k1"}), &payload, b"s");
        assert_eq!(verify::decode(&jwt).unwrap_err(), JwtError::InvalidType, "{typ}");
    }
}

#[test]
fn errors_before_the_signature_are_unparseable_and_after_it_specific() {
    use JwtError as E;
    for e in [
        E::Malformed("x"),
        E::InvalidType,
        E::UnsupportedAlgorithm,
        E::UnknownKey,
        E::AlgorithmMismatch,
        E::InvalidSignature,
    ] {
        assert_eq!(e.error_type(), ErrorType::UnableToParseSessionJwt, "{e}");
    }
    assert_eq!(E::InvalidIssuer.error_type(), ErrorType::JwtInvalidIssuer);
    assert_eq!(E::InvalidAudience.error_type(), ErrorType::JwtInvalidAudience);
    for e in [E::InvalidClaims("x"), E::NotYetValid, E::Expired, E::TooOld] {
        assert_eq!(e.error_type(), ErrorType::JwtInvalidClaims, "{e}");
    }
}

fn claims_at(iat: DateTime<Utc>, lifetime: TimeDelta) -> SessionClaims {
    let payload = json!({
        "iss": "stytch.com/p", "aud": ["p"], "sub": "01900000-0000-7000-8000-000000000002",
        "iat": iat.timestamp(), "nbf": iat.timestamp(), "exp": (iat + lifetime).timestamp(),
        "https://stytch.com/session": {
            "id": "01900000-0000-7000-8000-000000000003",
            "started_at": "2026-02-28T23:00:00Z", "last_accessed_at": "2026-02-28T23:00:00Z",
            "expires_at": "2026-03-01T00:00:00Z",
            "attributes": {"ip_address": "203.0.113.9", "user_agent": ""},
            "authentication_factors": [], "roles": ["tessera_member"]
        },
        "https://stytch.com/organization": {
            "organization_id": "01900000-0000-7000-8000-000000000001", "slug": "acme"
        },
        "plan": "pro"
    });
    let Value::Object(map) = payload else { unreachable!() };
    claims::parse(map, &JwtProfile::stytch("p"), &tessera_core::ClaimNamespaces::stytch()).unwrap()
}

#[test]
fn parsed_claims_separate_custom_claims_and_attributes() {
    let claims = claims_at(t0(), TimeDelta::seconds(300));
    assert_eq!(claims.custom.as_map().keys().collect::<Vec<_>>(), ["plan"]);
    assert_eq!(claims.organization.slug.as_str(), "acme");
    let local = claims.into_local("k".into());
    assert_eq!(local.attributes.ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(local.attributes.user_agent, None);
    assert_eq!(local.roles[0].as_str(), "tessera_member");
}

#[test]
fn issuer_and_audience_are_checked_exactly() {
    let base = json!({
        "iss": "stytch.com/p", "aud": ["p"], "sub": "01900000-0000-7000-8000-000000000002",
        "iat": 1, "nbf": 1, "exp": 2
    });
    let parse = |patch: Value| {
        let mut payload = base.clone();
        tessera_core::claims::merge_patch(&mut payload, &patch);
        let Value::Object(map) = payload else { unreachable!() };
        claims::parse(map, &JwtProfile::stytch("p"), &tessera_core::ClaimNamespaces::stytch())
            .unwrap_err()
    };
    for iss in [json!("stytch.com/q"), json!("stytch.com/p/"), json!(["stytch.com/p"]), json!(null)]
    {
        assert_eq!(parse(json!({ "iss": iss })), JwtError::InvalidIssuer, "{iss}");
    }
    for aud in [json!(["q"]), json!("q"), json!([]), json!(["P"]), json!(null), json!(7)] {
        assert_eq!(parse(json!({ "aud": aud })), JwtError::InvalidAudience, "{aud}");
    }
    // With issuer and audience right, what is left is the missing session claim.
    assert!(matches!(parse(json!({"aud": "p"})), JwtError::InvalidClaims(_)));
    for (name, value) in
        [("sub", json!(null)), ("sub", json!("nope")), ("iat", json!(1.5)), ("exp", json!("2"))]
    {
        assert!(matches!(parse(json!({ name: value })), JwtError::InvalidClaims(_)), "{name}");
    }
}

#[test]
fn time_rules_follow_pyjwt_at_their_boundaries() {
    let lifetime = TimeDelta::seconds(300);
    let claims = claims_at(t0(), lifetime);
    let local = |leeway: i64, max_age: Option<i64>| TimeRules {
        leeway: TimeDelta::seconds(leeway),
        check_expiry: true,
        max_token_age: max_age.map(TimeDelta::seconds),
    };
    let micro = TimeDelta::microseconds(1);
    let exp = t0() + lifetime;

    // exp: valid strictly before, expired at the instant.
    assert_eq!(local(0, None).check(&claims, exp - micro), Ok(()));
    assert_eq!(local(0, None).check(&claims, exp), Err(JwtError::Expired));
    // With leeway: valid until exp + leeway, exclusive.
    assert_eq!(local(10, None).check(&claims, exp + TimeDelta::seconds(10) - micro), Ok(()));
    assert_eq!(
        local(10, None).check(&claims, exp + TimeDelta::seconds(10)),
        Err(JwtError::Expired)
    );
    // The remote path does not look at exp at all.
    let remote =
        TimeRules { leeway: TimeDelta::seconds(30), check_expiry: false, max_token_age: None };
    assert_eq!(remote.check(&claims, exp + TimeDelta::days(3)), Ok(()));

    // nbf / iat in the future: refused beyond the leeway, on both paths.
    assert_eq!(local(0, None).check(&claims, t0()), Ok(()));
    assert_eq!(local(0, None).check(&claims, t0() - micro), Err(JwtError::NotYetValid));
    assert_eq!(local(5, None).check(&claims, t0() - TimeDelta::seconds(5)), Ok(()));
    assert_eq!(
        local(5, None).check(&claims, t0() - TimeDelta::seconds(5) - micro),
        Err(JwtError::NotYetValid)
    );
    assert_eq!(remote.check(&claims, t0() - TimeDelta::seconds(30)), Ok(()));
    assert_eq!(remote.check(&claims, t0() - TimeDelta::seconds(31)), Err(JwtError::NotYetValid));

    // Max token age: too old once now - iat reaches it; zero refuses everything.
    assert_eq!(local(0, Some(60)).check(&claims, t0() + TimeDelta::seconds(60) - micro), Ok(()));
    assert_eq!(
        local(0, Some(60)).check(&claims, t0() + TimeDelta::seconds(60)),
        Err(JwtError::TooOld)
    );
    assert_eq!(local(0, Some(0)).check(&claims, t0()), Err(JwtError::TooOld));
}

#[test]
fn the_stytch_profile_is_the_default() {
    let config = crate::ServiceConfig::new("project-live-123");
    assert_eq!(config.jwt.issuer, "stytch.com/project-live-123");
    assert_eq!(config.jwt.audience, "project-live-123");
    assert_eq!(config.jwt.lifetime, TimeDelta::seconds(300));
    assert_eq!(config.jwt.algorithm, JwtAlgorithm::Rs256);
    assert_eq!(config.jwt.retired_key_retention(), TimeDelta::seconds(300 + 60 + 60));
    assert_eq!(config.claim_namespaces.session, "https://stytch.com/session");
}

/// A JWT of `claims_at`'s payload at `iat`, signed by `key` (header `alg`/`kid` of the key).
fn signed_by(key: &LoadedKey, iat: DateTime<Utc>) -> String {
    let header = json!({"alg": key.algorithm.as_str(), "typ": "JWT", "kid": key.kid});
    let payload = json!({
        "iss": "stytch.com/p", "aud": ["p"], "sub": "01900000-0000-7000-8000-000000000002",
        "iat": iat.timestamp(), "nbf": iat.timestamp(), "exp": (iat + TimeDelta::seconds(300)).timestamp(),
        "https://stytch.com/session": {
            "id": "01900000-0000-7000-8000-000000000003",
            "started_at": "2026-02-28T23:00:00Z", "last_accessed_at": "2026-02-28T23:00:00Z",
            "expires_at": "2026-03-01T00:00:00Z",
            "authentication_factors": [], "roles": ["tessera_member"]
        },
        "https://stytch.com/organization": {
            "organization_id": "01900000-0000-7000-8000-000000000001", "slug": "acme"
        }
    });
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(&header).unwrap()),
        b64(&serde_json::to_vec(&payload).unwrap())
    );
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

#[test]
fn verify_local_with_a_published_jwk_applies_the_same_rules() {
    let profile = JwtProfile::stytch("p");
    let namespaces = tessera_core::ClaimNamespaces::stytch();
    for algorithm in [JwtAlgorithm::Rs256, JwtAlgorithm::EdDsa] {
        let (_, key) = loaded(algorithm);
        let verifying = VerifyingKey::from_jwk(&key.jwk).unwrap();
        assert_eq!((verifying.kid(), verifying.algorithm()), (key.kid.as_str(), algorithm));
        let jwt = signed_by(&key, t0());
        assert_eq!(jwt_key_id(&jwt).unwrap(), key.kid);
        let ok = |now, options| {
            verify_local(&jwt, Some(&verifying), &profile, &namespaces, options, now)
        };
        let local = ok(t0(), LocalVerification::default()).unwrap();
        assert_eq!(local.organization_slug.as_str(), "acme");
        assert_eq!(local.key_id, key.kid);
        // exp, max age, unknown key, another key, another issuer.
        let later = t0() + TimeDelta::seconds(300);
        assert_eq!(ok(later, LocalVerification::default()).unwrap_err(), JwtError::Expired);
        let aged =
            LocalVerification { max_token_age: Some(TimeDelta::zero()), ..Default::default() };
        assert_eq!(ok(t0(), aged).unwrap_err(), JwtError::TooOld);
        let none = verify_local(&jwt, None, &profile, &namespaces, Default::default(), t0());
        assert_eq!(none.unwrap_err(), JwtError::UnknownKey);
        let (_, other) = loaded(algorithm);
        let other = VerifyingKey::from_jwk(&other.jwk).unwrap();
        let wrong =
            verify_local(&jwt, Some(&other), &profile, &namespaces, Default::default(), t0());
        assert_eq!(wrong.unwrap_err(), JwtError::UnknownKey, "a key of another kid is not used");
        let issuer = JwtProfile::stytch("q");
        let wrong =
            verify_local(&jwt, Some(&verifying), &issuer, &namespaces, Default::default(), t0());
        assert_eq!(wrong.unwrap_err(), JwtError::InvalidIssuer);
        // A tampered signature.
        let last = if jwt.ends_with('A') { "Q" } else { "A" };
        let tampered = format!("{}{last}", &jwt[..jwt.len() - 1]);
        let bad = verify_local(
            &tampered,
            Some(&verifying),
            &profile,
            &namespaces,
            Default::default(),
            t0(),
        );
        assert!(matches!(bad.unwrap_err(), JwtError::InvalidSignature | JwtError::Malformed(_)));
    }
}

#[test]
fn published_jwks_that_cannot_verify_are_refused() {
    let (_, rsa) = loaded(JwtAlgorithm::Rs256);
    let (_, ed) = loaded(JwtAlgorithm::EdDsa);
    let refuse = |jwk: Jwk| {
        assert!(matches!(VerifyingKey::from_jwk(&jwk), Err(KeyError::InvalidJwk { .. })), "{jwk:?}")
    };
    refuse(Jwk { alg: "HS256".into(), ..rsa.jwk.clone() });
    refuse(Jwk { alg: "EdDSA".into(), ..rsa.jwk.clone() });
    refuse(Jwk { kty: "OKP".into(), ..rsa.jwk.clone() });
    refuse(Jwk { key_use: "enc".into(), ..rsa.jwk.clone() });
    refuse(Jwk { key_ops: vec!["sign".into()], ..rsa.jwk.clone() });
    refuse(Jwk { kid: String::new(), ..rsa.jwk.clone() });
    refuse(Jwk { n: Some(b64(&[0xff; 128])), ..rsa.jwk.clone() });
    refuse(Jwk { n: Some("not base64!".into()), ..rsa.jwk.clone() });
    refuse(Jwk { alg: "RS256".into(), kty: "RSA".into(), ..ed.jwk.clone() });
    refuse(Jwk { x: Some(b64(&[1; 31])), ..ed.jwk.clone() });
    refuse(Jwk { crv: Some("X25519".into()), ..ed.jwk.clone() });
    // The Stytch wire shape of the same keys parses.
    let wire = crate::views::stytch::Jwk::rsa(
        rsa.jwk.kid.clone(),
        "RS256",
        rsa.jwk.n.clone().unwrap(),
        rsa.jwk.e.clone().unwrap(),
    );
    assert_eq!(VerifyingKey::from_stytch_jwk(&wire).unwrap().kid(), rsa.kid);
    let wire = crate::views::stytch::Jwk::ed25519(ed.jwk.kid.clone(), ed.jwk.x.clone().unwrap());
    assert_eq!(VerifyingKey::from_stytch_jwk(&wire).unwrap().algorithm(), JwtAlgorithm::EdDsa);
}
