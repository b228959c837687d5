//! Metadata: the free-form JSON objects that organizations and members carry (Stytch's
//! `trusted_metadata` / `untrusted_metadata`, Polar's `metadata`).

use std::{fmt, ops::Deref};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

/// A metadata object: at most [`Metadata::MAX_BYTES`] serialized, and storable everywhere (no
/// NUL character in any key or string, which PostgreSQL's `jsonb` refuses).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    pub const MAX_BYTES: usize = 8192;

    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a metadata object sent for `field` (its name in the error).
    pub fn parse(field: &'static str, map: Map<String, Value>) -> Result<Self, Error> {
        let size = serialized_len(&map);
        if size > Self::MAX_BYTES {
            return Err(Error::MetadataTooLarge { field, size, limit: Self::MAX_BYTES });
        }
        if !is_storable_map(&map) {
            return Err(Error::InvalidMetadata {
                field,
                reason: "must not contain NUL characters",
            });
        }
        Ok(Self(map))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl Deref for Metadata {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TryFrom<Map<String, Value>> for Metadata {
    type Error = Error;
    fn try_from(map: Map<String, Value>) -> Result<Self, Error> {
        Self::parse("metadata", map)
    }
}

impl From<Metadata> for Map<String, Value> {
    fn from(metadata: Metadata) -> Self {
        metadata.0
    }
}

/// Serialized size in bytes, counted without building the string.
pub(crate) fn serialized_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// Whether every key and string in `map` can be stored by every backend: PostgreSQL's text and
/// `jsonb` cannot hold NUL (`\u0000`), so a NUL is refused as bad input instead of failing
/// the write.
pub(crate) fn is_storable_map(map: &Map<String, Value>) -> bool {
    map.iter().all(|(key, value)| !key.contains('\0') && is_storable(value))
}

fn is_storable(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.contains('\0'),
        Value::Array(items) => items.iter().all(is_storable),
        Value::Object(map) => is_storable_map(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorType;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn bounded_and_storable() {
        assert!(Metadata::parse("m", object(json!({"plan": "pro", "seats": [1, 2]}))).is_ok());
        let big = object(json!({"x": "y".repeat(Metadata::MAX_BYTES)}));
        let err = Metadata::parse("trusted_metadata", big).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::MetadataTooLarge);
        assert!(err.to_string().contains("trusted_metadata"), "{err}");
        for nul in [json!({"a\u{0}": 1}), json!({"a": ["\u{0}"]}), json!({"a": {"b": "c\u{0}"}})] {
            let err = Metadata::parse("m", object(nul)).unwrap_err();
            assert_eq!(err.error_type(), ErrorType::MetadataInvalidFormat);
        }
        assert!(serde_json::from_value::<Metadata>(json!({"a": "\u{0}"})).is_err());
    }
}
