//! A protected route through tessera-axum: on the local-JWT path, next to the same route with no
//! authentication and to a raw RS256 verification (aws-lc-rs, same input length); on the remote
//! path (a session token), next to a direct `SessionService::authenticate`. Memory store.
//!
//! `cargo bench -p tessera-axum --bench layer` (criterion's report only; not yet part of
//! `cargo xtask bench`'s JSON records).

use std::hint::black_box;

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
    },
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
    routing::get,
};
use tessera_api::{Authenticate, Credential};
use tessera_axum::{CurrentSession, test::TestKit};
use tower::ServiceExt;

fn main() {
    let mut c = tessera_bench::config();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let kit = TestKit::new();
    let member = rt.block_on(kit.signed_in("acme", "ada@acme.example"));
    let auth = kit.auth();
    let protected: Router = Router::new()
        .route("/", get(|s: CurrentSession| async move { black_box(s.member_id).to_string() }))
        .layer(auth.layer())
        .with_state(auth);
    let open: Router = Router::new().route("/", get(|| async { "open" }));
    let call = |app: &Router, header: Option<(axum::http::HeaderName, axum::http::HeaderValue)>| {
        let mut request = Request::get("/");
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = rt
            .block_on(app.clone().oneshot(request.body(Body::empty()).expect("request")))
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
    };

    c.bench_function("axum/no_auth", |b| b.iter(|| call(&open, None)));
    c.bench_function("axum/local_jwt", |b| b.iter(|| call(&protected, Some(member.bearer()))));
    c.bench_function("axum/remote_token", |b| {
        b.iter(|| call(&protected, Some(member.bearer_token())))
    });
    c.bench_function("service/authenticate_token", |b| {
        b.iter(|| {
            let request = Authenticate::new(Credential::Token(member.token.clone())).without_jwt();
            rt.block_on(kit.service().authenticate(request)).expect("authenticate")
        })
    });

    // The floor of the local path: one RS256 verification of an input as long as the JWT's.
    let jwt = member.jwt.clone().expect("a JWT");
    let signing_input = jwt.rsplit_once('.').map_or(jwt.as_str(), |(input, _)| input).to_owned();
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
        .expect("sign");
    let public =
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref().to_vec());
    c.bench_function("rs256/raw_verify", |b| {
        b.iter(|| public.verify(black_box(signing_input.as_bytes()), &signature).expect("verify"))
    });
    c.final_summary();
}
