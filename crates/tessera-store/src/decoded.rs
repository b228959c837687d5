//! Decoded members and organizations, kept between session lookups of the SQL backends.
//!
//! A token lookup reads the session with its member and organization in one joined row; the
//! member and organization columns (names, emails, slugs, JSON metadata, roles, settings) cost
//! more to decode and validate than the rest of the lookup, and they are the same on every
//! lookup of a member's sessions until someone changes them. So each backend keeps the values it
//! decoded, with the raw column values they were decoded from, and reuses one only when the row
//! holds exactly the same bytes: a hit can never be stale, whatever the clock says (two updates
//! within one microsecond included), and a miss decodes as before.
//!
//! Bounded twice: at most `capacity` entries per kind, and at most `byte_budget` bytes of raw
//! columns (a member may carry 16 KiB of metadata, so a count alone would allow hundreds of
//! megabytes). Inserting into a full cache drops arbitrary entries first.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, PoisonError, RwLock},
};

use tessera_core::{Member, MemberId, Organization, OrganizationId};

/// One column's value as the database returned it. Text and bytes stay apart, so that a value
/// in one encoding never matches the same bytes in the other (PostgreSQL answers in text or
/// binary format; SQLite has text and blobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Raw<'a> {
    Null,
    Integer(i64),
    Bytes(&'a [u8]),
    Text(&'a [u8]),
}

/// What a backend keeps: members and organizations, by id.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) members: DecodedCache<MemberId, Member>,
    pub(crate) organizations: DecodedCache<OrganizationId, Organization>,
}

impl Decoded {
    /// Enough for the members signed in at once on a busy node; a typical entry is about a
    /// kilobyte, raw columns and decoded value together.
    pub(crate) const CAPACITY: usize = 4096;
    /// Raw column bytes kept per kind; the decoded values take about as much again.
    pub(crate) const BYTE_BUDGET: usize = 8 << 20;

    pub(crate) fn new() -> Self {
        Self {
            members: DecodedCache::new(Self::CAPACITY, Self::BYTE_BUDGET),
            organizations: DecodedCache::new(Self::CAPACITY, Self::BYTE_BUDGET),
        }
    }
}

/// Values decoded from rows, by key, each with the raw columns it came from.
#[derive(Debug)]
pub(crate) struct DecodedCache<K, V> {
    kept: RwLock<Kept<K, V>>,
    capacity: usize,
    byte_budget: usize,
}

#[derive(Debug)]
struct Kept<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// The sum of the entries' `raw` lengths.
    raw_bytes: usize,
}

#[derive(Debug)]
struct Entry<V> {
    raw: Box<[u8]>,
    value: Arc<V>,
}

impl<K: Eq + Hash + Copy, V> DecodedCache<K, V> {
    pub(crate) fn new(capacity: usize, byte_budget: usize) -> Self {
        Self {
            kept: RwLock::new(Kept { entries: HashMap::new(), raw_bytes: 0 }),
            capacity: capacity.max(1),
            byte_budget,
        }
    }

    /// The value of `key` decoded from `columns` (every column `decode` reads): the kept one if
    /// it was decoded from these very bytes, otherwise `decode()`'s, which is then kept.
    pub(crate) fn get_or_decode<E>(
        &self,
        key: K,
        columns: &[Raw<'_>],
        decode: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        {
            let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = kept.entries.get(&key).filter(|entry| same(&entry.raw, columns)) {
                return Ok(Arc::clone(&entry.value));
            }
        }
        let value = Arc::new(decode()?);
        let raw = encode(columns);
        if raw.len() > self.byte_budget {
            return Ok(value); // too large to keep at all
        }
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        let Kept { entries, raw_bytes } = &mut *kept;
        if let Some(replaced) = entries.remove(&key) {
            *raw_bytes -= replaced.raw.len();
        }
        while entries.len() >= self.capacity || *raw_bytes + raw.len() > self.byte_budget {
            let Some(evicted) = entries.keys().next().copied() else { break };
            if let Some(entry) = entries.remove(&evicted) {
                *raw_bytes -= entry.raw.len();
            }
        }
        *raw_bytes += raw.len();
        entries.insert(key, Entry { raw, value: Arc::clone(&value) });
        Ok(value)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept.read().unwrap_or_else(PoisonError::into_inner).entries.len()
    }

    #[cfg(test)]
    fn raw_bytes(&self) -> usize {
        self.kept.read().unwrap_or_else(PoisonError::into_inner).raw_bytes
    }
}

const NULL: u8 = 0;
const INTEGER: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;

/// The columns as one byte string: per column a tag, then 8 bytes for an integer or a 4-byte
/// length and the bytes or text, so that no two different column lists encode alike.
fn encode(columns: &[Raw<'_>]) -> Box<[u8]> {
    let mut out = Vec::new();
    for column in columns {
        match column {
            Raw::Null => out.push(NULL),
            Raw::Integer(n) => {
                out.push(INTEGER);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Raw::Bytes(bytes) | Raw::Text(bytes) => {
                out.push(if matches!(column, Raw::Text(_)) { TEXT } else { BYTES });
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    out.into_boxed_slice()
}

/// Whether `encoded` is [`encode`] of `columns`, without encoding them.
fn same(encoded: &[u8], columns: &[Raw<'_>]) -> bool {
    let mut rest = encoded;
    for column in columns {
        let Some((&tag, after)) = rest.split_first() else { return false };
        rest = after;
        let expected: &[u8] = match column {
            Raw::Null if tag == NULL => continue,
            Raw::Integer(n) if tag == INTEGER => &n.to_le_bytes(),
            Raw::Bytes(bytes) | Raw::Text(bytes)
                if tag == if matches!(column, Raw::Text(_)) { TEXT } else { BYTES } =>
            {
                let Some((length, after)) = rest.split_first_chunk::<4>() else { return false };
                if u32::from_le_bytes(*length) as usize != bytes.len() {
                    return false;
                }
                rest = after;
                bytes
            }
            _ => return false,
        };
        let Some((value, after)) = rest.split_at_checked(expected.len()) else { return false };
        if value != expected {
            return false;
        }
        rest = after;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn encoding_tells_every_column_list_apart() {
        let lists: [&[Raw<'_>]; 10] = [
            &[],
            &[Raw::Null],
            &[Raw::Bytes(b"")],
            &[Raw::Text(b"")],
            &[Raw::Text(b"ab")],
            &[Raw::Integer(0)],
            &[Raw::Bytes(b"ab")],
            &[Raw::Bytes(b"a"), Raw::Bytes(b"b")],
            &[Raw::Bytes(b"ab"), Raw::Null],
            &[Raw::Integer(1), Raw::Bytes(b"ab")],
        ];
        for (i, a) in lists.iter().enumerate() {
            for (j, b) in lists.iter().enumerate() {
                assert_eq!(same(&encode(a), b), i == j, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_value_is_reused_only_for_the_same_bytes() {
        let cache: DecodedCache<u8, String> = DecodedCache::new(8, 1024);
        let decodes = Cell::new(0);
        let decode = |s: &str| {
            decodes.set(decodes.get() + 1);
            Ok::<_, ()>(s.to_owned())
        };
        let first = cache.get_or_decode(1, &[Raw::Bytes(b"ada")], || decode("ada")).unwrap();
        let again = cache.get_or_decode(1, &[Raw::Bytes(b"ada")], || decode("ada")).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(decodes.get(), 1);
        // Same key, other bytes (the member was updated): decoded again, and kept instead.
        let changed = cache.get_or_decode(1, &[Raw::Bytes(b"bob")], || decode("bob")).unwrap();
        assert_eq!(*changed, "bob");
        assert_eq!(decodes.get(), 2);
        let kept = cache.get_or_decode(1, &[Raw::Bytes(b"bob")], || decode("bob")).unwrap();
        assert!(Arc::ptr_eq(&changed, &kept));
    }

    #[test]
    fn a_failed_decode_keeps_nothing() {
        let cache: DecodedCache<u8, String> = DecodedCache::new(8, 1024);
        assert_eq!(cache.get_or_decode(1, &[Raw::Null], || Err("corrupt")), Err("corrupt"));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache: DecodedCache<u32, u32> = DecodedCache::new(3, 1024);
        for key in 0..10u32 {
            let raw = key.to_le_bytes();
            cache.get_or_decode(key, &[Raw::Bytes(&raw)], || Ok::<_, ()>(key)).unwrap();
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        // Each entry encodes as 1 + 4 + 100 bytes: three fit in 320, a fourth does not.
        let cache: DecodedCache<u32, u32> = DecodedCache::new(100, 320);
        let big = [7u8; 100];
        for key in 0..10u32 {
            cache.get_or_decode(key, &[Raw::Bytes(&big)], || Ok::<_, ()>(key)).unwrap();
            assert!(cache.raw_bytes() <= 320);
            assert_eq!(cache.raw_bytes(), cache.len() * 105);
        }
        assert_eq!(cache.len(), 3);
        // Replacing an entry counts its bytes once.
        cache.get_or_decode(9, &[Raw::Bytes(&[1u8; 10])], || Ok::<_, ()>(9)).unwrap();
        assert_eq!(cache.raw_bytes(), 2 * 105 + 15);
        // Larger than the whole budget: decoded, and not kept.
        let huge = [0u8; 400];
        assert_eq!(*cache.get_or_decode(99, &[Raw::Bytes(&huge)], || Ok::<_, ()>(99)).unwrap(), 99);
        assert_eq!(cache.len(), 3);
    }
}
