//! Session token parsing (`SessionToken::parse`).
//!
//! Oracles: never a panic; an accepted string round-trips exactly (`expose`), has the prefix,
//! 40 + 6 base62 characters, and `Debug`/`Display` never show its secret part; a token
//! generated from the input's bytes always parses, and every single-character substitution of
//! it is refused (the CRC32 checksum catches them all).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::{SeedableRng, rngs::StdRng};
use tessera_core::{
    SessionToken, TokenPrefix,
    token::{BODY_LEN, CHECKSUM_LEN},
};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn check_accepted(token: &SessionToken, input: &str, prefix: &TokenPrefix) {
    assert_eq!(token.expose(), input);
    let rest = input.strip_prefix(prefix.as_str()).expect("an accepted token has the prefix");
    assert_eq!(rest.len(), BODY_LEN + CHECKSUM_LEN);
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    let shown = format!("{token:?} {token}");
    assert!(!shown.contains(rest), "Debug/Display show the secret: {shown}");
    assert_eq!(SessionToken::parse(input, prefix).unwrap().hash(), token.hash());
}

fuzz_target!(|data: &[u8]| {
    let prefix = TokenPrefix::default();
    if let Ok(input) = std::str::from_utf8(data) {
        if let Ok(token) = SessionToken::parse(input, &prefix) {
            check_accepted(&token, input, &prefix);
        }
        // Under another valid prefix too (the first bytes of the input, when they make one).
        if let Some((candidate, _)) = input.split_once('_') {
            if let Ok(other) = TokenPrefix::parse(&format!("{candidate}_")) {
                if let Ok(token) = SessionToken::parse(input, &other) {
                    check_accepted(&token, input, &other);
                }
            }
        }
    }

    // Generated from the input as a seed: parses; any one substituted character does not.
    let mut seed = [0u8; 32];
    for (i, b) in data.iter().take(32).enumerate() {
        seed[i] = *b;
    }
    let token = SessionToken::generate(&prefix, &mut StdRng::from_seed(seed));
    let text = token.expose().to_owned();
    check_accepted(&SessionToken::parse(&text, &prefix).unwrap(), &text, &prefix);
    if let (Some(&at), Some(&with)) = (data.get(32), data.get(33)) {
        let position = prefix.as_str().len() + usize::from(at) % (BODY_LEN + CHECKSUM_LEN);
        let replacement = BASE62[usize::from(with) % BASE62.len()];
        let mut bytes = text.clone().into_bytes();
        if bytes[position] != replacement {
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                SessionToken::parse(&changed, &prefix).is_err(),
                "a one-character change of a token was accepted"
            );
        }
    }
});
