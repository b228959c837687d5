//! Session JWTs: signing one (claims + signature) and verifying one locally, next to the raw
//! signature operation of aws-lc-rs on an input of the same length; and what a JWT adds to an
//! authenticate, reused (minted less than `reuse_window` ago) or signed every time. Run by
//! `cargo xtask bench`; the figures land in docs/BENCHMARKS.md.

mod support;

use std::hint::black_box;

use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{
        ED25519, Ed25519KeyPair, KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
        UnparsedPublicKey,
    },
};
use support::{Backend, World, runtime};
use tessera_api::{
    Authenticate, Credential, JwtAlgorithm, LocalVerification, ServiceConfig, SessionJwt,
};
use tessera_bench::{Measurement, Record, Subject, criterion::Criterion};
use tokio::runtime::Runtime;

/// The raw operations of the crypto crate: sign a message; verify a message and signature.
type Sign = Box<dyn Fn(&[u8]) -> Vec<u8>>;
type Verify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

fn main() {
    let mut c = tessera_bench::config();
    let rt = runtime();
    for algorithm in [JwtAlgorithm::Rs256, JwtAlgorithm::EdDsa] {
        let mut config = ServiceConfig::new("project-bench");
        config.jwt.algorithm = algorithm;
        let world = rt.block_on(World::with_config(Backend::Memory, config));
        sign_and_verify(&mut c, &rt, &world, algorithm);
    }
    authenticate_with_jwt(&mut c, &rt);
    c.final_summary();
}

fn sign_and_verify(c: &mut Criterion, rt: &Runtime, world: &World, algorithm: JwtAlgorithm) {
    let group = format!("jwt/{}", algorithm.as_str().to_ascii_lowercase());
    let found = rt.block_on(authenticate(world, 0, false)).session;
    let jwt = rt.block_on(world.service.session_jwt(&found)).expect("a JWT");
    let signing_input = signing_input(&jwt);
    let bytes = format!("{} bytes", signing_input.len());

    let (sign, verify): (Sign, Verify) = match algorithm {
        JwtAlgorithm::Rs256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
            let public = pair.public_key().as_ref().to_vec();
            let rng = SystemRandom::new();
            (
                Box::new(move |message| {
                    let mut signature = vec![0; pair.public_modulus_len()];
                    pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature).expect("sign");
                    signature
                }),
                Box::new(move |message, signature| {
                    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
                        .verify(message, signature)
                        .is_ok()
                }),
            )
        }
        _ => {
            let pair = Ed25519KeyPair::generate().expect("an Ed25519 key");
            let public = pair.public_key().as_ref().to_vec();
            (
                Box::new(move |message| pair.sign(message).as_ref().to_vec()),
                Box::new(move |message, signature| {
                    UnparsedPublicKey::new(&ED25519, &public).verify(message, signature).is_ok()
                }),
            )
        }
    };
    let raw = match algorithm {
        JwtAlgorithm::Rs256 => "RSA-2048 PKCS#1 v1.5 SHA-256",
        _ => "Ed25519",
    };

    let floor = Measurement::new(Record::new(
        &group,
        "sign",
        Subject::Floor,
        &format!("aws-lc-rs {raw} sign of {bytes}"),
    ));
    c.bench_function(floor.id(), |b| {
        b.iter_custom(|iters| floor.run(iters, || drop(black_box(sign(signing_input.as_bytes())))))
    });
    floor.finish().expect("write the result");

    let tessera = Measurement::new(Record::new(
        &group,
        "sign",
        Subject::Tessera,
        "SessionService::session_jwt (claims, JSON, base64url, signature)",
    ));
    c.bench_function(tessera.id(), |b| {
        b.iter_custom(|iters| {
            rt.block_on(tessera.run_async(iters, async || {
                black_box(world.service.session_jwt(&found).await.expect("a JWT"));
            }))
        })
    });
    tessera.finish().expect("write the result");

    let signature = sign(signing_input.as_bytes());
    let floor = Measurement::new(Record::new(
        &group,
        "verify",
        Subject::Floor,
        &format!("aws-lc-rs {raw} verify of {bytes}"),
    ));
    c.bench_function(floor.id(), |b| {
        b.iter_custom(|iters| {
            floor.run(iters, || assert!(verify(signing_input.as_bytes(), &signature)))
        })
    });
    floor.finish().expect("write the result");

    let tessera = Measurement::new(Record::new(
        &group,
        "verify",
        Subject::Tessera,
        "SessionService::authenticate_jwt_local (all RFC 8725 checks)",
    ));
    c.bench_function(tessera.id(), |b| {
        b.iter_custom(|iters| {
            rt.block_on(tessera.run_async(iters, async || {
                let local = world
                    .service
                    .authenticate_jwt_local(jwt.expose(), LocalVerification::default());
                black_box(local.await.expect("a valid JWT"));
            }))
        })
    });
    tessera.finish().expect("write the result");
}

/// What a JWT in the answer adds to an authenticate (memory store, RS256): reused, and signed
/// every time (reuse disabled), each next to the same authenticate without a JWT.
fn authenticate_with_jwt(c: &mut Criterion, rt: &Runtime) {
    let group = "jwt/authenticate";
    let reusing = rt.block_on(World::new(Backend::Memory));
    let mut config = ServiceConfig::new("project-bench");
    config.jwt.reuse_capacity = 0;
    let signing = rt.block_on(World::with_config(Backend::Memory, config));
    for (world, key, label) in [
        (&reusing, "JWT reused", "authenticate (token) answering a reused RS256 JWT"),
        (&signing, "JWT signed each time", "authenticate (token) signing an RS256 JWT"),
    ] {
        // The same 1000 sessions over and over: after this first pass, every JWT is reused.
        for i in 0..world.len() as u64 {
            rt.block_on(authenticate(world, i, true));
        }
        let floor = Measurement::new(Record::new(
            group,
            key,
            Subject::Floor,
            "the same authenticate without a JWT",
        ));
        let mut i = 0;
        c.bench_function(floor.id(), |b| {
            b.iter_custom(|iters| {
                rt.block_on(floor.run_async(iters, async || {
                    i += 1;
                    black_box(authenticate(world, i, false).await);
                }))
            })
        });
        floor.finish().expect("write the result");

        let tessera = Measurement::new(Record::new(group, key, Subject::Tessera, label));
        let mut i = 0;
        c.bench_function(tessera.id(), |b| {
            b.iter_custom(|iters| {
                rt.block_on(tessera.run_async(iters, async || {
                    i += 1;
                    black_box(authenticate(world, i, true).await);
                }))
            })
        });
        tessera.finish().expect("write the result");
    }
}

async fn authenticate(world: &World, i: u64, with_jwt: bool) -> tessera_api::Authenticated {
    let mut request = Authenticate::new(Credential::Token(world.token(i).to_owned()));
    request.with_jwt = with_jwt;
    world.service.authenticate(request).await.expect("a live session")
}

/// `base64url(header) . base64url(payload)`: the bytes a JWT's signature covers.
fn signing_input(jwt: &SessionJwt) -> String {
    let compact = jwt.expose();
    compact[..compact.rfind('.').expect("a compact JWS")].to_owned()
}
