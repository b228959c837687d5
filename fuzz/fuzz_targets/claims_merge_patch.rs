//! Custom claims and RFC 7396 JSON Merge Patch (`CustomClaims::patched`, `merge_patch`).
//!
//! Input: up to three JSON documents separated by newlines: the stored claims `t`, a patch `p`,
//! a second patch `q`.
//!
//! Oracles (RFC 7396's properties): never a panic; `merge_patch` equals a reference written
//! from the RFC's pseudo-code, on any target and patch; `patched` refuses a non-object patch
//! and a patch naming a reserved claim, and otherwise succeeds exactly when the reference
//! result fits in 4096 serialized bytes and holds no NUL (which PostgreSQL's `jsonb` cannot
//! store), with exactly that result; every result it returns fits;
//! patching is idempotent (`t⊕p⊕p = t⊕p`); and applying `p` then `q` equals applying their
//! composition once, wherever a single merge patch can express it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tessera_core::{
    ClaimNamespaces, CustomClaims,
    claims::{MAX_CUSTOM_CLAIMS_BYTES, merge_patch},
};
use tessera_fuzz::merge::{compose, reference_merge};

fn reserved_key(patch: &Value, namespaces: &ClaimNamespaces) -> bool {
    patch.as_object().is_some_and(|map| map.keys().any(|k| namespaces.is_reserved(k)))
}

fn fits(value: &Value) -> bool {
    serde_json::to_vec(value).unwrap().len() <= MAX_CUSTOM_CLAIMS_BYTES
}

/// Holds no NUL, in any key or string.
fn storable(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.contains('\0'),
        Value::Array(items) => items.iter().all(storable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.contains('\0') && storable(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

/// `patched`, checked against the reference; its result when it succeeds.
fn checked_patch(
    claims: &CustomClaims,
    patch: &Value,
    ns: &ClaimNamespaces,
) -> Option<CustomClaims> {
    let result = claims.patched(patch, ns);
    if !patch.is_object() || reserved_key(patch, ns) {
        assert!(result.is_err(), "accepted a non-object or reserved patch {patch}");
        return None;
    }
    let current = Value::Object(claims.as_map().clone());
    let expected = reference_merge(Some(&current), patch);
    match result {
        Ok(patched) => {
            let got = Value::Object(patched.as_map().clone());
            assert_eq!(got, expected, "{current} ⊕ {patch}");
            assert!(patched.serialized_len() <= MAX_CUSTOM_CLAIMS_BYTES);
            assert_eq!(patched.serialized_len(), serde_json::to_vec(&got).unwrap().len());
            Some(patched)
        }
        Err(e) => {
            assert!(
                !fits(&expected) || !storable(&expected),
                "refused {current} ⊕ {patch}, whose result fits and is storable: {e}"
            );
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let documents: Vec<Value> =
        text.splitn(3, '\n').map_while(|part| serde_json::from_str(part).ok()).collect();
    let [target, patch, rest @ ..] = documents.as_slice() else { return };
    let ns = ClaimNamespaces::stytch();

    // The free function, on anything.
    let mut merged = target.clone();
    merge_patch(&mut merged, patch);
    assert_eq!(merged, reference_merge(Some(target), patch), "{target} ⊕ {patch}");

    let Ok(claims) = CustomClaims::from_stored(target.clone()) else {
        assert!(
            !target.is_object() || !fits(target) || !storable(target),
            "refused stored claims {target}"
        );
        return;
    };
    let Some(once) = checked_patch(&claims, patch, &ns) else { return };
    // Idempotence.
    assert_eq!(once.patched(patch, &ns).unwrap(), once, "not idempotent: {target} ⊕ {patch}");

    // Patch of a patch.
    let Some(second) = rest.first() else { return };
    let twice = checked_patch(&once, second, &ns);
    if let Some(composed) = compose(patch, second) {
        let at_once = checked_patch(&claims, &composed, &ns);
        if let (Some(twice), Some(at_once)) = (&twice, &at_once) {
            assert_eq!(twice, at_once, "({target} ⊕ {patch}) ⊕ {second} ≠ {target} ⊕ {composed}");
        } else if twice.is_some() && !reserved_key(second, &ns) {
            panic!("{target} ⊕ {composed} refused, but applying {patch} then {second} worked");
        }
    }
});
