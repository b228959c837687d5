//! Email addresses (`EmailAddress::parse`).
//!
//! Oracles: never a panic; an accepted address is the input as given, at most 320 characters,
//! with one `@`-separated local part of 1 to 64 characters and a well-formed domain, no whitespace or
//! control character; parsing is idempotent, serde goes through the same parser, comparison
//! ignores case and is symmetric; error messages are bounded (fixed reasons: a substring check
//! would teach the fuzzer, through its comparison tracing, to copy the message into inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::EmailAddress;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let json = serde_json::to_string(input).unwrap();
    let via_serde = serde_json::from_str::<EmailAddress>(&json).ok();
    match EmailAddress::parse(input) {
        Ok(email) => {
            let s = email.as_str();
            assert_eq!(s, input);
            assert!(s.chars().count() <= EmailAddress::MAX_LEN);
            assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
            let (local, domain) = s.split_once('@').unwrap();
            assert!((1..=64).contains(&local.chars().count()));
            assert!(!domain.is_empty() && !domain.contains('@'));
            assert!(!domain.starts_with('.') && !domain.ends_with('.') && !domain.contains(".."));
            let again = EmailAddress::parse(s).unwrap();
            assert_eq!(again, email);
            assert_eq!(via_serde.as_ref(), Some(&email));
            let upper = EmailAddress::parse(&s.to_uppercase());
            if let Ok(upper) = upper {
                assert_eq!(upper.same_as(&email), email.same_as(&upper));
                if upper.normalized() == email.normalized() {
                    assert!(upper.same_as(&email));
                }
            }
            assert_eq!(email.normalized(), s.to_lowercase());
        }
        Err(e) => {
            assert!(via_serde.is_none());
            let message = e.to_string();
            assert!(message.len() <= 256, "unbounded error: {message}");
        }
    }
});
