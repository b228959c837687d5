//! Organization slugs and references (`OrganizationSlug::parse`, `OrganizationRef::parse`).
//!
//! Oracles: never a panic; an accepted slug is the input unchanged, 2 to 128 bytes of
//! `A-Za-z0-9-._~`, not UUID-shaped, and reads back equal through serde; a reference is an id
//! exactly when the input is a UUID, and a slug otherwise; error messages are bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{OrganizationId, OrganizationRef, OrganizationSlug};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    match OrganizationSlug::parse(input) {
        Ok(slug) => {
            assert_eq!(slug.as_str(), input);
            assert!((2..=128).contains(&input.len()));
            assert!(
                input
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
            );
            assert!(OrganizationId::parse(input).is_err(), "a slug that is an id: {input}");
            let json = serde_json::to_string(&slug).unwrap();
            assert_eq!(serde_json::from_str::<OrganizationSlug>(&json).unwrap(), slug);
            assert_eq!(OrganizationRef::parse(input).unwrap(), OrganizationRef::Slug(slug));
        }
        Err(e) => assert!(e.to_string().len() <= 512, "unbounded error: {e}"),
    }
    match OrganizationRef::parse(input) {
        Ok(OrganizationRef::Id(id)) => {
            assert_eq!(OrganizationId::parse(&id.to_string()).unwrap(), id);
            assert!(OrganizationSlug::parse(input).is_err());
        }
        Ok(OrganizationRef::Slug(slug)) => assert_eq!(slug.as_str(), input),
        Err(e) => assert!(e.to_string().len() <= 512, "unbounded error: {e}"),
    }
    // serde goes through the same parser.
    let json = serde_json::to_string(input).unwrap();
    assert_eq!(
        serde_json::from_str::<OrganizationSlug>(&json).ok(),
        OrganizationSlug::parse(input).ok()
    );
});
