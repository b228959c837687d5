//! Custom claims: a JSON object stored on the session and copied to the top level of its JWT.
//!
//! Updates are JSON Merge Patches (RFC 7396). The result must stay under
//! [`MAX_CUSTOM_CLAIMS_BYTES`] serialized, and must not use a registered JWT claim name or a key
//! in the namespaces the session JWT itself uses.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    error::{Error, echo},
    metadata::{is_storable_map, serialized_len},
};

/// "Total custom claims size cannot exceed four kilobytes" (Stytch).
pub const MAX_CUSTOM_CLAIMS_BYTES: usize = 4096;

/// Registered JWT claims (RFC 7519 §4.1) that Tessera sets itself.
pub const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The JWT claim names under which Tessera puts the session and the organization, and the
/// prefix reserved for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNamespaces {
    pub session: String,
    pub organization: String,
    /// Every custom claim starting with this is refused (Stytch refuses `https://stytch.com/*`).
    pub reserved_prefix: String,
}

impl ClaimNamespaces {
    /// The profile Stytch's SDKs read.
    pub fn stytch() -> Self {
        Self {
            session: "https://stytch.com/session".into(),
            organization: "https://stytch.com/organization".into(),
            reserved_prefix: "https://stytch.com/".into(),
        }
    }

    /// Whether `key` may not be used as a custom claim.
    pub fn is_reserved(&self, key: &str) -> bool {
        REGISTERED_CLAIMS.contains(&key)
            || key == self.session
            || key == self.organization
            || key.starts_with(&self.reserved_prefix)
    }
}

impl Default for ClaimNamespaces {
    fn default() -> Self {
        Self::stytch()
    }
}

/// A valid custom-claims object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomClaims(Map<String, Value>);

impl CustomClaims {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Claims read back from storage: an object, within the size limit. Reserved names are not
    /// re-checked here, since the namespaces are a deployment setting that the stored claims
    /// were already checked against.
    pub fn from_stored(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Self::sized(map),
            _ => Err(Error::InvalidCustomClaims { reason: "custom claims must be a JSON object" }),
        }
    }

    /// Applies a merge patch (RFC 7396) and validates the result. The patch must be an object;
    /// its keys are checked against reserved names even when they delete (`null`), since naming
    /// a reserved claim is always a caller's mistake.
    pub fn patched(&self, patch: &Value, namespaces: &ClaimNamespaces) -> Result<Self, Error> {
        let Value::Object(patch_map) = patch else {
            return Err(Error::InvalidCustomClaims {
                reason: "session_custom_claims must be a JSON object",
            });
        };
        let reserved: Vec<String> =
            patch_map.keys().filter(|k| namespaces.is_reserved(k)).cloned().collect();
        if !reserved.is_empty() {
            return Err(Error::ReservedClaims { keys: listed(reserved) });
        }
        let mut merged = Value::Object(self.0.clone());
        merge_patch(&mut merged, patch);
        match merged {
            Value::Object(map) => Self::sized(map),
            _ => Err(Error::InvalidCustomClaims { reason: "custom claims must be a JSON object" }),
        }
    }

    fn sized(map: Map<String, Value>) -> Result<Self, Error> {
        let size = serialized_len(&map);
        if size > MAX_CUSTOM_CLAIMS_BYTES {
            return Err(Error::CustomClaimsTooLarge { size, limit: MAX_CUSTOM_CLAIMS_BYTES });
        }
        if !is_storable_map(&map) {
            return Err(Error::InvalidCustomClaims {
                reason: "custom claims must not contain NUL characters",
            });
        }
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The serialized size that the limit applies to.
    pub fn serialized_len(&self) -> usize {
        serialized_len(&self.0)
    }
}

/// How many reserved names a refusal lists at most (the patch is the caller's input).
const MAX_LISTED_RESERVED_KEYS: usize = 8;

fn listed(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys.truncate(MAX_LISTED_RESERVED_KEYS);
    keys.iter().map(|key| echo(key)).collect()
}

/// RFC 7396 JSON Merge Patch: members with a value replace, members with `null` delete, objects
/// merge recursively, anything else replaces the target whole.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else { unreachable!("made an object just above") };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::error::ErrorType;

    fn ns() -> ClaimNamespaces {
        ClaimNamespaces::stytch()
    }

    /// The examples of RFC 7396 Appendix A, verbatim.
    fn rfc7396_examples() -> Vec<(Value, Value, Value)> {
        vec![
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (json!({"a":"b","b":"c"}), json!({"a":null}), json!({"b":"c"})),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (json!({"a":{"b":"c"}}), json!({"a":{"b":"d","c":null}}), json!({"a":{"b":"d"}})),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (json!({}), json!({"a":{"bb":{"ccc":null}}}), json!({"a":{"bb":{}}})),
        ]
    }

    #[test]
    fn merge_patch_matches_rfc7396_appendix_a() {
        for (target, patch, expected) in rfc7396_examples() {
            let mut result = target.clone();
            merge_patch(&mut result, &patch);
            assert_eq!(result, expected, "target {target} patch {patch}");
        }
    }

    #[test]
    fn patch_sets_deletes_and_merges_nested() {
        let claims = CustomClaims::empty()
            .patched(&json!({"plan": "pro", "flags": {"beta": true, "dark": true}}), &ns())
            .unwrap();
        let claims = claims
            .patched(&json!({"plan": null, "flags": {"dark": null, "new": 1}}), &ns())
            .unwrap();
        assert_eq!(
            Value::Object(claims.as_map().clone()),
            json!({"flags": {"beta": true, "new": 1}})
        );
    }

    #[test]
    fn size_boundary_is_inclusive_at_4096_bytes() {
        // {"k":"…"} is 8 bytes of framing around the value.
        let exactly = json!({ "k": "x".repeat(MAX_CUSTOM_CLAIMS_BYTES - 8) });
        let claims = CustomClaims::empty().patched(&exactly, &ns()).unwrap();
        assert_eq!(claims.serialized_len(), 4096);
        let over = json!({ "k": "x".repeat(MAX_CUSTOM_CLAIMS_BYTES - 7) });
        let err = CustomClaims::empty().patched(&over, &ns()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::CustomClaimsTooLarge);
        assert_eq!(err, Error::CustomClaimsTooLarge { size: 4097, limit: 4096 });
    }

    #[test]
    fn a_rejected_patch_leaves_claims_unchanged() {
        let claims = CustomClaims::empty().patched(&json!({"a": 1}), &ns()).unwrap();
        let before = claims.clone();
        assert!(claims.patched(&json!({"b": "x".repeat(5000)}), &ns()).is_err());
        assert_eq!(claims, before);
    }

    #[test]
    fn reserved_names_are_refused() {
        for key in REGISTERED_CLAIMS {
            let err = CustomClaims::empty().patched(&json!({ key: 1 }), &ns()).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::ReservedClaimsInCustomClaims, "{key}");
        }
        for key in [
            "https://stytch.com/session",
            "https://stytch.com/organization",
            "https://stytch.com/anything",
        ] {
            assert!(CustomClaims::empty().patched(&json!({ key: {} }), &ns()).is_err(), "{key}");
        }
        let err = CustomClaims::empty()
            .patched(&json!({"sub": null, "iss": 1, "ok": 2}), &ns())
            .unwrap_err();
        assert_eq!(err, Error::ReservedClaims { keys: vec!["iss".into(), "sub".into()] });
        // Near misses are fine.
        assert!(
            CustomClaims::empty()
                .patched(&json!({"subject": 1, "https://example.com/x": 2}), &ns())
                .is_ok()
        );
    }

    #[test]
    fn custom_namespaces_are_reserved_too() {
        let custom = ClaimNamespaces {
            session: "https://acme.dev/session".into(),
            organization: "https://acme.dev/org".into(),
            reserved_prefix: "https://acme.dev/".into(),
        };
        assert!(custom.is_reserved("https://acme.dev/session"));
        assert!(custom.is_reserved("https://acme.dev/other"));
        assert!(!custom.is_reserved("https://stytch.com/session"));
    }

    #[test]
    fn non_object_patches_and_rows_are_refused() {
        for patch in [json!([1]), json!("x"), json!(null), json!(3)] {
            let err = CustomClaims::empty().patched(&patch, &ns()).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidCustomClaims, "{patch}");
        }
        assert!(CustomClaims::from_stored(json!([1])).is_err());
        assert!(CustomClaims::from_stored(json!({"a": 1})).is_ok());
    }

    /// Found by the `claims_merge_patch` fuzz target: claims with a NUL anywhere are refused,
    /// stored or patched in (PostgreSQL's `jsonb` cannot hold one), and a patch that removes the
    /// NUL-free rest is unaffected.
    #[test]
    fn a_nul_in_a_key_or_a_string_is_refused() {
        for stored in
            [json!({"a\u{0}b": "me"}), json!({"a": "x\u{0}"}), json!({"a": [{"b\u{0}": 1}]})]
        {
            let err = CustomClaims::from_stored(stored.clone()).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidCustomClaims, "{stored}");
            let err = CustomClaims::empty().patched(&stored, &ns()).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidCustomClaims, "{stored}");
        }
        let claims = CustomClaims::empty().patched(&json!({"a": 1}), &ns()).unwrap();
        assert!(claims.patched(&json!({"b": null}), &ns()).is_ok());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Applying a patch twice is the same as applying it once (RFC 7396 patches are idempotent).
        #[test]
        fn merge_patch_is_idempotent(target in arb_json(), patch in arb_json()) {
            let mut once = target.clone();
            merge_patch(&mut once, &patch);
            let mut twice = once.clone();
            merge_patch(&mut twice, &patch);
            prop_assert_eq!(once, twice);
        }

        /// After a patch, every non-null member of an object patch is present with the patched value
        /// when it is not itself an object, and every null member is gone.
        #[test]
        fn merge_patch_applies_every_member(target in arb_json(), patch in proptest::collection::btree_map("[a-d]", arb_json(), 0..4)) {
            let patch = Value::Object(patch.into_iter().collect());
            let mut result = target;
            merge_patch(&mut result, &patch);
            let result = result.as_object().expect("an object patch yields an object");
            for (key, value) in patch.as_object().unwrap() {
                match value {
                    Value::Null => prop_assert!(!result.contains_key(key)),
                    Value::Object(_) => prop_assert!(result[key].is_object()),
                    other => prop_assert_eq!(&result[key], other),
                }
            }
        }
    }
}
