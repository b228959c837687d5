//! Session tokens: generate, and parse + hash (what every authenticate does before its
//! lookup), next to their floor, SHA-256 of the same bytes. Run by `cargo xtask bench`.

use std::hint::black_box;

use rand::{TryRngCore, rngs::OsRng};
use sha2::{Digest, Sha256};
use tessera_bench::{
    Measurement, Record, Subject,
    criterion::{Criterion, criterion_group, criterion_main},
};
use tessera_core::{SessionToken, TokenPrefix};

const GROUP: &str = "token";

fn token(c: &mut Criterion) {
    let prefix = TokenPrefix::default();
    let mut os = OsRng.unwrap_err();
    let token = SessionToken::generate(&prefix, &mut os);
    let raw = token.expose().to_owned();
    let bytes = format!("{} bytes", raw.len());

    bench(c, Subject::Floor, "generate", "OS CSPRNG read of 64 bytes (getrandom)", || {
        let mut buf = [0u8; 64];
        OsRng.try_fill_bytes(&mut buf).expect("the OS RNG works");
        black_box(buf);
    });
    bench(c, Subject::Tessera, "generate", "SessionToken::generate (OS CSPRNG)", || {
        black_box(SessionToken::generate(&prefix, &mut os));
    });
    bench(c, Subject::Floor, "parse + hash", &format!("SHA-256 of the token ({bytes})"), || {
        black_box(Sha256::digest(black_box(raw.as_bytes())));
    });
    bench(c, Subject::Tessera, "parse + hash", "SessionToken::parse + hash", || {
        let token = SessionToken::parse(black_box(&raw), &prefix).expect("a valid token");
        black_box(token.hash());
    });
    // What timing each operation costs: subtract it mentally from the p50 of sub-µs rows.
    bench(c, Subject::Floor, "timer", "Instant::now() pair (per-op timing overhead)", || {});
}

fn bench(c: &mut Criterion, subject: Subject, key: &str, label: &str, mut op: impl FnMut()) {
    let measurement = Measurement::new(Record::new(GROUP, key, subject, label));
    c.bench_function(&format!("{GROUP}/{key}/{label}"), |b| {
        b.iter_custom(|iters| measurement.run(iters, &mut op));
    });
    measurement.finish().expect("write the result");
}

criterion_group! { name = benches; config = tessera_bench::config(); targets = token }
criterion_main!(benches);
