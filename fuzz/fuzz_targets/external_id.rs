//! External ids (`ExternalId::parse`, and member references that accept them).
//!
//! Oracles: never a panic; an accepted id is the input unchanged, 1 to 128 characters, no
//! whitespace or control character; serde goes through the same parser; a member reference
//! made from the input names an external id exactly when it is not a member id; error messages
//! are bounded (fixed reasons).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{ExternalId, MemberId, MemberRef};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let json = serde_json::to_string(input).unwrap();
    let via_serde = serde_json::from_str::<ExternalId>(&json).ok();
    match ExternalId::parse(input) {
        Ok(id) => {
            assert_eq!(id.as_str(), input);
            assert!((1..=ExternalId::MAX_LEN).contains(&input.chars().count()));
            assert!(!input.chars().any(|c| c.is_whitespace() || c.is_control()));
            assert_eq!(via_serde.as_ref(), Some(&id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ExternalId>(&json).unwrap(), id);
        }
        Err(e) => {
            assert!(via_serde.is_none());
            let message = e.to_string();
            assert!(message.len() <= 256, "unbounded error: {message}");
        }
    }
    match MemberRef::parse_id_or_external_id(input) {
        Ok(MemberRef::Id(id)) => assert_eq!(MemberId::parse(input).unwrap(), id),
        Ok(MemberRef::ExternalId(id)) => {
            assert_eq!(id.as_str(), input);
            assert!(MemberId::parse(input).is_err());
        }
        Ok(other) => panic!("an id or external id parsed as {other:?}"),
        Err(e) => assert!(e.to_string().len() <= 512, "unbounded error: {e}"),
    }
});
