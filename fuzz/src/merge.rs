//! RFC 7396 JSON Merge Patch, written again from the RFC's pseudo-code (section 2) as a pure
//! function, to check `tessera_core::claims::merge_patch` against.

use serde_json::{Map, Value};

/// `MergePatch(Target, Patch)` of RFC 7396 §2. `None` is an absent target ("undefined").
pub fn reference_merge(target: Option<&Value>, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut result = match target {
        Some(Value::Object(target)) => target.clone(),
        _ => Map::new(),
    };
    for (name, value) in patch {
        if value.is_null() {
            result.remove(name);
        } else {
            let merged = reference_merge(result.get(name), value);
            result.insert(name.clone(), merged);
        }
    }
    Value::Object(result)
}

/// The one patch that does what applying `first` then `second` does, when there is one.
///
/// For two object patches, `compose(p, q)` is `p` with `q` merged in, where `q`'s nulls are kept
/// (they still delete) and objects on both sides compose recursively. That is exact except where
/// `q` holds an object and `p` a non-object at the same place: applying `p` replaced the
/// target's value there, which no merge patch can say about an object. Those cases give `None`.
pub fn compose(first: &Value, second: &Value) -> Option<Value> {
    let (Value::Object(first), Value::Object(second)) = (first, second) else {
        // A non-object second patch replaces everything whatever came before.
        return (!second.is_object()).then(|| second.clone());
    };
    let mut result = first.clone();
    for (name, value) in second {
        let composed = match (result.get(name), value) {
            (Some(Value::Object(_)), Value::Object(_)) => compose(&result[name], value)?,
            (Some(earlier), Value::Object(_)) if !earlier.is_object() => return None,
            _ => value.clone(),
        };
        result.insert(name.clone(), composed);
    }
    Some(Value::Object(result))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_rfc_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(reference_merge(Some(&target), &patch), expected);
        }
    }
}
